"""Growth plots for longitudinal data: each person's trajectory over time.

Taught in lesson 11.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_column, check_data, check_numeric_column, check_positive_int

__all__ = ["plot_growth", "plot_growth_panels"]


def _checked(data, time, y, group, func):
    data = check_data(data, func)
    check_numeric_column(data, time, func, "time")
    check_numeric_column(data, y, func, "y")
    check_column(data, group, func, "group")
    return data


def _levels(data, group) -> list:
    col = data[group]
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col)
        return [c for c in col.cat.categories if c in present]
    return list(pd.unique(col))


def plot_growth(data, *, time, y, group, mean=True, ax=None):
    """Draw every group's trajectory (one line per person) and, optionally, the mean at each time.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per measurement occasion.
    time : str
        Numeric column with the time of each measurement (e.g. ``"Days"``).
    y : str
        Numeric outcome column.
    group : str
        Column identifying the person (the level-2 unit).
    mean : bool, default=True
        Overlay the mean of ``y`` at each distinct time.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MlmlabInputError
        If a column is missing or ``time``/``y`` are not numeric.

    Examples
    --------
    >>> from mlmlab import datasets
    >>> ax = plot_growth(datasets.load("sleepstudy"), time="Days", y="Reaction", group="Subject")
    >>> len(ax.lines)
    19

    Taught in lesson 11.
    """
    data = _checked(data, time, y, group, "plot_growth")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    levels = _levels(data, group)
    for level in levels:
        part = data[data[group] == level].sort_values(time)
        ax.plot(part[time], part[y], color="0.6", lw=0.9, alpha=0.8)
    if mean:
        means = data.groupby(time, observed=True)[y].mean()
        ax.plot(means.index, means.to_numpy(), color="C3", lw=3, marker="o", label=f"mean {y} by {time}")
        ax.legend(frameon=False, loc="upper left")
    ax.set_xlabel(time)
    ax.set_ylabel(y)
    ax.set_title(f"{len(levels)} trajectories, one per {group}")
    return ax


def _check_fitted(result, data, func):
    for name in ("fitted", "predict", "data"):
        if not hasattr(result, name):
            raise argument_error(func, "result", "a fitted model from mlmlab.fit", result,
                                 fix="Fit the model first: result = mlmlab.fit('y ~ time + (time | id)', data).",
                                 kind=TypeError)
    if len(result.data) != len(data) or not result.data.index.equals(data.index):
        raise argument_error(func, "result", "a fit to the same rows as data", result,
                             detail=f"the fit used {len(result.data)} rows, data has {len(data)}",
                             fix="Pass the data the model was fitted to (result.data).")


def plot_growth_panels(data, *, time, y, group, result=None, ncols=6, max_groups=None, fig=None):
    """Small multiples: one panel per person with their measurements and, optionally, model lines.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per measurement occasion.
    time, y, group : str
        Columns for time (numeric), outcome (numeric) and person.
    result : MixedResult, optional
        A fit from :func:`mlmlab.fit` to ``data``. Adds the person's fitted line (fixed effects
        plus their predicted random effects, solid) and the population line (fixed effects
        only, dashed) to every panel.
    ncols : int, default=6
        Panels per row.
    max_groups : int, optional
        Draw only the first ``max_groups`` groups (in level order).
    fig : matplotlib.figure.Figure, optional
        Figure to draw on; a new one is made when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        One Axes per panel drawn (row by row), sharing both axes.

    Raises
    ------
    MlmlabInputError
        If a column is missing, ``time``/``y`` are not numeric, ``ncols``/``max_groups`` are not
        positive whole numbers, or ``result`` was fitted to other rows.
    TypeError
        If ``result`` is not a fitted model.

    Examples
    --------
    >>> from mlmlab import datasets
    >>> axes = plot_growth_panels(datasets.load("sleepstudy"), time="Days", y="Reaction",
    ...                           group="Subject", max_groups=4, ncols=2)
    >>> axes.shape, axes[0].get_title()
    ((4,), 'Subject 308')

    Taught in lesson 11.
    """
    data = _checked(data, time, y, group, "plot_growth_panels")
    ncols = check_positive_int(ncols, "plot_growth_panels", "ncols")
    levels = _levels(data, group)
    if max_groups is not None:
        levels = levels[: check_positive_int(max_groups, "plot_growth_panels", "max_groups")]
    if result is not None:
        _check_fitted(result, data, "plot_growth_panels")
        lines = pd.DataFrame({"own": np.asarray(result.fitted, dtype=float),
                              "population": np.asarray(result.predict(include_re=False), dtype=float)},
                             index=data.index)
    ncols = min(ncols, len(levels))
    nrows = math.ceil(len(levels) / ncols)
    if fig is None:
        fig = plt.figure(figsize=(2.0 * ncols + 1, 1.8 * nrows + 0.8))
    grid = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for ax in grid.ravel()[len(levels):]:
        ax.set_visible(False)
    axes = grid.ravel()[: len(levels)]
    for ax, level in zip(axes, levels):
        part = data[data[group] == level].sort_values(time)
        ax.scatter(part[time], part[y], s=10, color="C0")
        if result is not None:
            ax.plot(part[time], lines.loc[part.index, "own"], color="C3", lw=1.5)
            ax.plot(part[time], lines.loc[part.index, "population"], color="0.3", lw=1, ls="--")
        ax.set_title(f"{group} {level}", fontsize=9)
    for col in range(ncols):
        visible = [ax for ax in grid[:, col] if ax.get_visible()]
        visible[-1].xaxis.set_tick_params(labelbottom=True)
        visible[-1].set_xlabel(time)
    for ax in grid[:, 0]:
        ax.set_ylabel(y)
    if result is not None:
        fig.legend(handles=axes[0].lines, labels=["person's fitted line", "population line (fixed effects)"],
                   loc="upper center", ncol=2, frameon=False)
    return axes
