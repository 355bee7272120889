"""The design-effect curve: how much clustering inflates the variance of a mean.

Taught in lesson 01.
"""

from __future__ import annotations

import numbers

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_column, check_data
from mlmlab.icc import design_effect

__all__ = ["plot_design_effect"]


def _as_group_sizes(group_size) -> list[float]:
    values = [group_size] if isinstance(group_size, numbers.Real) else list(group_size)
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 1 for v in values):
        raise argument_error(
            "plot_design_effect", "group_size", "a group size of at least 1, or a list of them", group_size,
            fix="Pass e.g. group_size=20 or group_size=[5, 20, 50].",
        )
    return [float(v) for v in values]


def _as_icc_grid(icc) -> np.ndarray:
    grid = np.linspace(0.0, 0.5, 101) if icc is None else np.asarray(icc, dtype=float).ravel()
    if grid.size < 2 or np.any(~np.isfinite(grid)) or np.any(grid < 0) or np.any(grid > 1):
        raise argument_error(
            "plot_design_effect", "icc", "at least two values between 0 and 1", icc,
            fix="Pass e.g. icc=np.linspace(0, 0.5, 101), or leave it out.",
        )
    return np.sort(grid)


def _label(size: float) -> str:
    return f"n̄ = {size:g}"


def plot_design_effect(group_size=(5, 20, 50), *, icc=None, study=None, y="variance_ratio", ax=None):
    """Draw the design effect 1 + (n̄ − 1)ρ against the ICC, one curve per group size.

    Parameters
    ----------
    group_size : float or sequence of float, default=(5, 20, 50)
        Average group size(s) n̄; one curve each.
    icc : array-like of float, optional
        ICC values (between 0 and 1) for the x axis. Default: 101 values from 0 to 0.5.
    study : pandas.DataFrame, optional
        Simulation results to draw as points over the curves. Needs the columns ``icc``,
        ``group_size`` and the column named by ``y``. Points whose group size matches a curve
        take that curve's colour.
    y : str, default="variance_ratio"
        Column of ``study`` to draw: a simulated variance ratio (true sampling variance of an
        estimate divided by the variance that ignores clustering), which the design effect predicts.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with the curves.

    Raises
    ------
    MlmlabInputError
        If a group size is below 1, an ICC is outside [0, 1], or ``study`` lacks a column.

    Notes
    -----
    With groups of size n̄ and intraclass correlation ρ, the variance of a mean (or of a
    level-2 effect) is deff = 1 + (n̄ − 1)ρ times what a formula assuming independence gives;
    the effective sample size is n / deff.

    Examples
    --------
    >>> ax = plot_design_effect([10, 30])
    >>> ax.get_legend_handles_labels()[1]
    ['n̄ = 10', 'n̄ = 30']
    >>> float(ax.get_lines()[1].get_ydata()[-1])  # rho = 0.5, n = 30
    15.5

    Taught in lesson 01.
    """
    sizes = _as_group_sizes(group_size)
    grid = _as_icc_grid(icc)
    if study is not None:
        check_data(study, "plot_design_effect", "study")
        for col in ("icc", "group_size", y):
            check_column(study, col, "plot_design_effect", "study" if col != y else "y")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    colors = {}
    for size in sizes:
        (line,) = ax.plot(grid, design_effect(grid, size), lw=2, label=_label(size))
        colors[size] = line.get_color()
    if study is not None:
        _draw_study(ax, study, y, colors)
    ax.axhline(1, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("intraclass correlation ρ")
    ax.set_ylabel("design effect (variance inflation, ×)")
    ax.set_title("Design effect 1 + (n̄ − 1)ρ")
    ax.legend(title="group size", frameon=False)
    return ax


def _draw_study(ax, study: pd.DataFrame, y: str, colors: dict) -> None:
    for size, part in study.groupby("group_size", sort=True):
        color = colors.get(float(size), "0.3")
        ax.scatter(part["icc"], part[y], color=color, edgecolor="black", s=40, zorder=3)
    ax.scatter([], [], color="white", edgecolor="black", s=40, label="simulation")
