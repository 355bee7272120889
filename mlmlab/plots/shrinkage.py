"""Shrinkage plot: how far partial pooling pulls each group's estimate towards the overall mean.

Taught in lesson 02.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import ticker

from mlmlab._checks import check_column, check_data, check_numeric_column

__all__ = ["plot_shrinkage"]


def plot_shrinkage(data, *, raw="no_pooling", shrunk="partial_pooling", group_size="n", center=None,
                   ylabel="group estimate", ax=None):
    """Draw each group's no-pooling estimate, its partially pooled estimate, and the move between them.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group.
    raw : str, default="no_pooling"
        Column with the estimate from the group's own data (e.g. its sample mean).
    shrunk : str, default="partial_pooling"
        Column with the multilevel (partially pooled) estimate, e.g. γ00 + u0j.
    group_size : str, default="n"
        Column with the group sizes n_j, used for the x axis (on a log scale when the largest
        group is at least ten times the smallest).
    center : float, optional
        The value the partially pooled estimates are pulled towards, drawn as a dashed line: γ̂00 in a
        random-intercept model without predictors (a precision-weighted mean of the groups, not the
        complete-pooling mean of all observations).
    ylabel : str, default="group estimate"
        Label of the y axis; say what the estimate is and its unit.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: open circles for the raw estimates, filled dots for the shrunk ones, a grey
        segment joining the two for every group. The legend sits outside the axes, to the right,
        so that it hides no point.

    Raises
    ------
    MlmlabInputError
        If a named column is missing or not numeric.

    Notes
    -----
    In a random-intercept model without predictors the shrunk estimate is
    γ00 + λ_j (ȳ_j − γ00) with λ_j = τ00 / (τ00 + σ²/n_j): small groups (small n_j) move furthest.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"n": [5, 50], "no_pooling": [20.0, 15.0], "partial_pooling": [14.0, 14.6]})
    >>> ax = plot_shrinkage(table, center=12.6)
    >>> ax.get_xscale()
    'log'

    Taught in lesson 02.
    """
    check_data(data, "plot_shrinkage")
    for arg, col in (("raw", raw), ("shrunk", shrunk), ("group_size", group_size)):
        check_numeric_column(data, col, "plot_shrinkage", arg)
    check_column(data, group_size, "plot_shrinkage", "group_size")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    x = data[group_size].to_numpy(dtype=float)
    ax.vlines(x, data[raw], data[shrunk], color="0.6", lw=1, zorder=1)
    ax.scatter(x, data[raw], facecolor="none", edgecolor="C0", s=30, label="no pooling (own data)", zorder=2)
    ax.scatter(x, data[shrunk], color="C1", s=18, label="partial pooling (multilevel)", zorder=3)
    if center is not None:
        ax.axhline(center, color="black", lw=1, ls="--", label="pulled towards (center)")
    logx = x.max() >= 10 * x.min()
    if logx:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("group size n_j" + (" (log scale)" if logx else ""))
    ax.set_ylabel(ylabel)
    ax.set_title("Shrinkage: the smallest groups are pulled in furthest")
    # Outside the axes, to the right: the points fill the whole panel, so any spot inside hides some.
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
