"""Residual plots of a mixed model: level 1 (residuals vs fitted, QQ) and level 2 (QQ of the BLUPs).

Taught in lesson 10.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from statsmodels.nonparametric.smoothers_lowess import lowess

from mlmlab._checks import argument_error, check_choice, check_result
from mlmlab.diagnostics import qq_points

_NEEDS_RESID = ("fitted", "resid", "design")

__all__ = ["qq_points", "plot_resid_fitted", "plot_resid_qq", "plot_ranef_qq"]


def _outcome_labels(result, func: str, outcome, units):
    """Axis labels on the outcome's scale: ("fitted <outcome> (<units>)", "level-1 residual (<units>)")."""
    if outcome is None:
        outcome = result.design.outcome
    for arg, value in (("outcome", outcome), ("units", units)):
        if value is not None and not isinstance(value, str):
            raise argument_error(func, arg, "a string", value,
                                 fix="Pass text, e.g. outcome='math achievement', units='points'.", kind=TypeError)
    if units:
        return f"fitted {outcome} ({units})", f"level-1 residual ({units})"
    return f"fitted {outcome}", f"level-1 residual of {outcome}"


def _qq_plot(values, *, ylabel, title, color="C0", ax=None):
    """Normal QQ plot of ``values`` with the quartile line, labelled and titled (new 5 × 4.5 figure if no ax)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    pts = qq_points(values)
    ax.scatter(pts["theoretical"], pts["sample"], s=12, color=color, alpha=0.7)
    ax.plot(pts["theoretical"], pts["line"], color="black", lw=1, label="line through the quartiles")
    ax.set_xlabel("standard normal quantile")
    ax.legend(frameon=False, loc="upper left")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def plot_resid_fitted(result, *, smooth=True, outcome=None, units=None, ax=None):
    """Level-1 residuals against fitted values (fixed part plus the group's BLUPs).

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.
    smooth : bool, default=True
        Add a lowess curve; it should stay close to 0 when the mean structure is right.
    outcome : str, optional
        What the outcome measures, for the axis labels (e.g. ``"math achievement"``); defaults to
        the outcome's column name in the formula.
    units : str, optional
        The outcome's units (e.g. ``"points"``); the labels then read "fitted <outcome> (<units>)"
        and "level-1 residual (<units>)".
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``result`` is not a fitted model, or ``outcome``/``units`` is not a string.

    Notes
    -----
    The residuals are e_ij = y_ij − x_ijᵀγ̂ − z_ijᵀû_j. Look for a funnel (variance growing with
    the fitted value) and for curvature (a missing term).

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> ax = plot_resid_fitted(m, outcome="reaction time", units="ms")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('fitted reaction time (ms)', 'level-1 residual (ms)')
    >>> plot_resid_fitted(m).get_xlabel()
    'fitted Reaction'

    Taught in lesson 10.
    """
    check_result(result, "plot_resid_fitted", needs=_NEEDS_RESID)
    xlabel, ylabel = _outcome_labels(result, "plot_resid_fitted", outcome, units)
    fitted, resid = np.asarray(result.fitted, dtype=float), np.asarray(result.resid, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(fitted, resid, s=12, alpha=0.6, color="C0")
    ax.axhline(0, color="black", lw=0.8)
    if smooth:
        curve = lowess(resid, fitted, frac=2 / 3, return_sorted=True)
        ax.plot(curve[:, 0], curve[:, 1], color="C3", lw=2, label="lowess smooth")
        ax.legend(frameon=False, loc="upper left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Level 1: residuals vs fitted values (with random effects)")
    return ax


def plot_resid_qq(result, *, outcome=None, units=None, ax=None):
    """Normal QQ plot of the level-1 residuals.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.
    outcome : str, optional
        What the outcome measures; used in the y label when ``units`` is not given (defaults to the
        outcome's column name in the formula).
    units : str, optional
        The outcome's units (e.g. ``"points"``); the y label then reads "level-1 residual (<units>)".
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``result`` is not a fitted model, or ``outcome``/``units`` is not a string.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> ax = plot_resid_qq(m, units="ms")
    >>> ax.get_title(), ax.get_ylabel()
    ('Level 1: normal QQ plot of residuals', 'level-1 residual (ms)')

    Taught in lesson 10.
    """
    check_result(result, "plot_resid_qq", needs=_NEEDS_RESID)
    _, ylabel = _outcome_labels(result, "plot_resid_qq", outcome, units)
    return _qq_plot(result.resid, ylabel=ylabel, title="Level 1: normal QQ plot of residuals", ax=ax)


def plot_ranef_qq(result, *, term="(Intercept)", group=None, ylabel=None, ax=None):
    """Normal QQ plot of the predicted random effects (BLUPs) of one term.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.
    term : str, default="(Intercept)"
        Which random effect: ``"(Intercept)"`` for u0j, or a slope's name.
    group : str, optional
        Grouping factor; needed only when the model has several.
    ylabel : str, optional
        Label of the y axis; say what the effect is and its unit (an intercept effect is in the
        outcome's units, a slope effect in outcome units per unit of x). Defaults to
        "predicted random effect, <term> (<group>)".
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MlmlabInputError
        If ``term`` or ``group`` is not in the model.
    TypeError
        If ``result`` is not a fitted model.

    Notes
    -----
    BLUPs are shrunken towards 0, most for small or noisy groups, and the shrinkage pulls them
    towards the normal shape the model assumes. A straight QQ plot of BLUPs is therefore weak
    evidence that the true u_j are normal; a clearly bent one is a stronger signal.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> plot_ranef_qq(m, term="Days").get_ylabel()
    'predicted random effect, Days (Subject)'
    >>> plot_ranef_qq(m, term="Days", ylabel="subject's slope effect (ms per day)").get_ylabel()
    "subject's slope effect (ms per day)"

    Taught in lesson 10.
    """
    check_result(result, "plot_ranef_qq", needs=("ranef",))
    table = result.ranef
    groups = list(pd.unique(table["grp"]))
    if group is None:
        if len(groups) > 1:
            raise argument_error("plot_ranef_qq", "group", "given when the model has several grouping factors",
                                 None, detail="grouping factors are: " + ", ".join(map(str, groups)),
                                 fix=f"Pass group={groups[0]!r}, say.")
        group = groups[0]
    check_choice(group, groups, "plot_ranef_qq", "group")
    part = table[table["grp"] == group]
    check_choice(term, list(pd.unique(part["term"])), "plot_ranef_qq", "term")
    values = part.loc[part["term"] == term, "estimate"]
    return _qq_plot(values, color="C2",
                    ylabel=ylabel if ylabel is not None else f"predicted random effect, {term} ({group})",
                    title=f"Level 2: normal QQ plot of {len(values)} BLUPs", ax=ax)
