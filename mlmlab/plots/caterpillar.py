"""Caterpillar plot: every group's predicted random effect (BLUP) with an interval, sorted.

Taught in lesson 02.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_choice, check_column, check_data

__all__ = ["plot_caterpillar"]

_COLUMNS = ("grp", "level", "term", "estimate", "se")


def _ranef_table(result) -> pd.DataFrame:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "ranef", None)
    if not isinstance(table, pd.DataFrame):
        raise argument_error(
            "plot_caterpillar", "result", "a fitted model from mlmlab.fit or its .ranef table", result,
            fix="Fit the model first: result = mlmlab.fit('y ~ x + (1 | group)', data).", kind=TypeError,
        )
    check_data(table, "plot_caterpillar", "result")
    for col in _COLUMNS:
        check_column(table, col, "plot_caterpillar", "result")
    return table


def _select(table: pd.DataFrame, term: str, group) -> pd.DataFrame:
    groups = list(pd.unique(table["grp"]))
    if group is None:
        if len(groups) > 1:
            raise argument_error(
                "plot_caterpillar", "group", "given when the model has several grouping factors", None,
                detail="grouping factors are: " + ", ".join(map(str, groups)),
                fix=f"Pass group={groups[0]!r}, say.",
            )
        group = groups[0]
    check_choice(group, groups, "plot_caterpillar", "group")
    part = table[table["grp"] == group]
    check_choice(term, list(pd.unique(part["term"])), "plot_caterpillar", "term")
    return part[part["term"] == term].sort_values("estimate").reset_index(drop=True)


def _check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise argument_error("plot_caterpillar", "level", "a coverage between 0 and 1", level,
                             fix="Pass e.g. level=0.95.")
    return float(level)


def plot_caterpillar(result, *, term="(Intercept)", group=None, level=0.95, ax=None):
    """Draw sorted random effects (BLUPs) with ``level`` prediction intervals.

    Parameters
    ----------
    result : MixedResult or pandas.DataFrame
        A fit from :func:`mlmlab.fit`, or its ``ranef`` table (columns grp, level, term,
        estimate, se).
    term : str, default="(Intercept)"
        Which random effect to draw, e.g. ``"(Intercept)"`` for u0j or ``"cses"`` for a slope.
    group : str, optional
        Grouping factor to draw; needed only when the model has more than one.
    level : float, default=0.95
        Coverage of the intervals estimate ± z·se.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. Groups whose interval excludes 0 are drawn in a second colour.

    Raises
    ------
    MlmlabInputError
        If ``term`` or ``group`` is not in the table, or ``level`` is not in (0, 1).
    TypeError
        If ``result`` is neither a fit nor a random-effects table.

    Notes
    -----
    The intervals use the conditional standard errors of the BLUPs; they describe how
    precisely each group's effect is predicted, not a test per group.

    Examples
    --------
    >>> table = pd.DataFrame({"grp": "school", "level": ["a", "b", "c"],
    ...                       "term": "(Intercept)", "estimate": [1.0, -2.0, 0.5], "se": 0.4})
    >>> ax = plot_caterpillar(table)
    >>> ax.get_xlabel()
    'school (sorted by predicted effect)'

    Taught in lesson 02.
    """
    table = _select(_ranef_table(result), term, group)
    level = _check_level(level)
    z = stats.norm.ppf(0.5 + level / 2)
    low, high = table["estimate"] - z * table["se"], table["estimate"] + z * table["se"]
    away = ((low > 0) | (high < 0)).to_numpy()
    rank = np.arange(len(table))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for mask, color, label in ((~away, "0.55", f"{level:.0%} interval covers 0"),
                               (away, "C3", f"{level:.0%} interval excludes 0")):
        if mask.any():
            ax.errorbar(rank[mask], table["estimate"][mask],
                        yerr=[(table["estimate"] - low)[mask], (high - table["estimate"])[mask]],
                        fmt="o", ms=3, lw=1, color=color, label=label)
    ax.axhline(0, color="black", lw=0.8)
    name = table["grp"].iloc[0]
    ax.set_xlabel(f"{name} (sorted by predicted effect)")
    symbol = "u0j" if term == "(Intercept)" else f"u1j ({term})"
    ax.set_ylabel(f"predicted random effect {symbol}")
    ax.set_title(f"Caterpillar plot: {len(table)} levels of {name}")
    ax.legend(frameon=False, loc="upper left")
    return ax
