"""Design-effect widget: ICC and group size → variance inflation, effective n, OLS false positives.

Taught in lesson 01.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_positive_int
from mlmlab.icc import design_effect
from mlmlab.plots.design_effect import plot_design_effect
from mlmlab.widgets._figure import slider_figure

__all__ = ["design_effect_update", "draw_design_effect", "design_effect_widget"]


def _check_icc(icc) -> float:
    if isinstance(icc, bool) or not isinstance(icc, numbers.Real) or not 0 <= icc <= 1:
        raise argument_error("design_effect_update", "icc", "a number between 0 and 1", icc)
    return float(icc)


def design_effect_update(icc, group_size, *, n_groups=50, alpha=0.05) -> pd.DataFrame:
    """What clustering does to a clustered sample, for one slider setting.

    Parameters
    ----------
    icc : float
        Intraclass correlation ρ, between 0 and 1.
    group_size : int
        Number of units per group, n̄ (at least 1).
    n_groups : int, default=50
        Number of groups J; the sample has n = J·n̄ units.
    alpha : float, default=0.05
        Nominal level of a test that ignores the clustering.

    Returns
    -------
    pandas.DataFrame
        One row with columns n (units), design_effect (1 + (n̄ − 1)ρ), effective_n
        (n / design_effect), se_ratio (√design_effect: how many times too small an
        independence-based SE of a group-level effect is) and false_positive_rate (the rate at which
        such a test at level ``alpha`` rejects a true null, by the normal approximation).

    Raises
    ------
    MlmlabInputError
        If ``icc`` is outside [0, 1] or a count is not a whole number ≥ 1.

    Notes
    -----
    The naive z statistic is the correct one times √deff, so it exceeds the critical value
    z_{1−α/2} with probability 2·Φ(−z_{1−α/2} / √deff).

    Examples
    --------
    >>> design_effect_update(0.2, 20).round(3)
          n  design_effect  effective_n  se_ratio  false_positive_rate
    0  1000            4.8      208.333     2.191                0.371

    Taught in lesson 01.
    """
    icc = _check_icc(icc)
    group_size = check_positive_int(group_size, "design_effect_update", "group_size")
    n_groups = check_positive_int(n_groups, "design_effect_update", "n_groups")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise argument_error("design_effect_update", "alpha", "a level between 0 and 1", alpha)
    deff = design_effect(icc, group_size)
    n = n_groups * group_size
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({"n": [n], "design_effect": [deff], "effective_n": [n / deff],
                         "se_ratio": [np.sqrt(deff)], "false_positive_rate": [2 * stats.norm.sf(z / np.sqrt(deff))]})


def draw_design_effect(icc, group_size, *, study=None, y="variance_ratio", ax=None):
    """Draw the design-effect curve for ``group_size`` with the point for ``icc`` marked.

    Parameters
    ----------
    icc : float
        Current ICC ρ.
    group_size : int
        Current group size n̄.
    study : pandas.DataFrame, optional
        Simulation results (columns icc, group_size and ``y``); the rows for this group size are
        drawn as points.
    y : str, default="variance_ratio"
        Column of ``study`` to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = draw_design_effect(0.1, 30)
    >>> ax.get_title()
    'n̄ = 30, ρ = 0.10: deff = 3.90, effective n = 385 of 1500'

    Taught in lesson 01.
    """
    row = design_effect_update(icc, group_size).iloc[0]
    part = None
    if study is not None:
        part = study[study["group_size"] == group_size]
        part = part if len(part) else None
    ax = plot_design_effect([group_size], icc=np.linspace(0, 0.5, 101), study=part, y=y, ax=ax)
    ax.plot([icc], [row["design_effect"]], "o", color="C3", ms=10, zorder=4)
    ax.set_ylim(0, max(1 + (group_size - 1) * 0.5, 2) * 1.05)
    ax.set_title(f"n̄ = {group_size}, ρ = {icc:.2f}: deff = {row['design_effect']:.2f}, "
                 f"effective n = {row['effective_n']:.0f} of {row['n']:.0f}")
    return ax


def _summary(icc, group_size) -> str:
    row = design_effect_update(icc, group_size).iloc[0]
    return (f"<b>Standard errors that ignore the groups are {row['se_ratio']:.2f}× too small.</b> "
            f"A test at the 5% level would reject a true null {row['false_positive_rate']:.0%} of the time.")


def design_effect_widget(*, study=None, y="variance_ratio"):
    """Sliders for ρ and n̄ that redraw :func:`draw_design_effect` and report the consequences.

    Parameters
    ----------
    study : pandas.DataFrame, optional
        Simulation results to draw as points (see :func:`draw_design_effect`).
    y : str, default="variance_ratio"
        Column of ``study`` to draw.

    Returns
    -------
    ipywidgets.VBox
        Sliders (``.controls``: ``icc``, ``group_size``), a sentence (``.note``) and the figure
        (``.image``), redrawn whenever a slider moves.

    Examples
    --------
    >>> w = design_effect_widget()
    >>> w.controls["icc"].value = 0.3
    >>> "2.59× too small" in w.note.value
    True

    Taught in lesson 01.
    """
    import ipywidgets as widgets

    controls = {
        "icc": widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="ICC ρ",
                                   continuous_update=False),
        "group_size": widgets.IntSlider(value=20, min=2, max=100, description="group size n̄",
                                        continuous_update=False),
    }

    def draw(icc, group_size):
        return draw_design_effect(icc, group_size, study=study, y=y)

    return slider_figure(draw, controls, text=_summary)
