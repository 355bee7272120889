"""Spaghetti plot: one regression line per group, to see intercepts and slopes vary.

Taught in lesson 04.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mlmlab._checks import (
    argument_error,
    check_column,
    check_data,
    check_numeric_column,
    check_positive_int,
    check_random_state,
)

__all__ = ["group_lines", "plot_spaghetti"]


def group_lines(data, *, x, y, group, result=None):
    """One straight line per group: its intercept, slope and the range of ``x`` it covers.

    Without ``result`` each line is that group's own least-squares fit of ``y`` on ``x``
    (no pooling). With ``result`` each line is the fitted model's prediction for the group,
    fixed effects plus that group's predicted random effects (partial pooling), evaluated at
    the ends of the group's ``x`` range.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per level-1 unit.
    x : str
        Numeric column on the horizontal axis (the level-1 predictor).
    y : str
        Numeric outcome column.
    group : str
        Grouping column (one line per level).
    result : MixedResult, optional
        A fit from :func:`mlmlab.fit` on ``data``. Other predictors in its formula are held at
        the value of the group's first row, so use it with group-level covariates (such as a
        school's sector) and the one level-1 predictor ``x``.

    Returns
    -------
    pandas.DataFrame
        One row per group with columns ``group`` (the level), ``n`` (rows in the group),
        ``x_min``, ``x_max``, ``intercept`` and ``slope`` (the line ``intercept + slope * x``).
        Groups with fewer than two distinct ``x`` values get NaN intercept and slope when
        ``result`` is omitted.

    Raises
    ------
    MlmlabInputError
        If a column is missing or ``x``/``y`` are not numeric.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3,
    ...                    "x": [0.0, 1.0, 2.0] * 2,
    ...                    "y": [1.0, 2.0, 3.0, 4.0, 3.0, 2.0]})
    >>> group_lines(df, x="x", y="y", group="g")[["group", "intercept", "slope"]].round(3)
      group  intercept  slope
    0     a        1.0    1.0
    1     b        4.0   -1.0

    Taught in lesson 04.
    """
    data = check_data(data, "group_lines")
    check_numeric_column(data, x, "group_lines", "x")
    check_numeric_column(data, y, "group_lines", "y")
    check_column(data, group, "group_lines", "group")
    grouped = data.groupby(group, observed=True, sort=True)
    table = grouped[x].agg(n="size", x_min="min", x_max="max").reset_index()
    table = table.rename(columns={group: "group"})
    if result is None:
        coefs = [_ols_line(part[x].to_numpy(float), part[y].to_numpy(float)) for _, part in grouped]
        table["intercept"] = [c[0] for c in coefs]
        table["slope"] = [c[1] for c in coefs]
        return table
    return _model_lines(table, grouped, x, result)


def _ols_line(xv: np.ndarray, yv: np.ndarray) -> tuple[float, float]:
    if np.unique(xv).size < 2:
        return (np.nan, np.nan)
    slope, intercept = np.polyfit(xv, yv, 1)
    return (float(intercept), float(slope))


def _model_lines(table: pd.DataFrame, grouped, x: str, result) -> pd.DataFrame:
    if not hasattr(result, "predict"):
        raise argument_error("group_lines", "result", "a fitted model from mlmlab.fit", result,
                             fix="Fit first: result = mlmlab.fit('y ~ x + (x | group)', data).", kind=TypeError)
    first = grouped.head(1)
    low, high = first.copy(), first.copy()
    low[x] = table["x_min"].to_numpy()
    high[x] = table["x_max"].to_numpy()
    # The ends of a one-point group coincide; move one end so the slope is still defined.
    high[x] = np.where(high[x].to_numpy() > low[x].to_numpy(), high[x], low[x] + 1.0)
    y_low = np.asarray(result.predict(low, include_re=True), dtype=float)
    y_high = np.asarray(result.predict(high, include_re=True), dtype=float)
    slope = (y_high - y_low) / (high[x].to_numpy(float) - low[x].to_numpy(float))
    table = table.copy()
    table["slope"] = slope
    table["intercept"] = y_low - slope * low[x].to_numpy(float)
    return table[["group", "n", "x_min", "x_max", "intercept", "slope"]]


def plot_spaghetti(data, *, x, y, group, result=None, hue=None, max_groups=None, rng=None,
                   points=False, ax=None):
    """Draw one regression line per group ("spaghetti"), over the range of ``x`` in that group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per level-1 unit.
    x, y : str
        Numeric predictor and outcome columns.
    group : str
        Grouping column; one line per level.
    result : MixedResult, optional
        Draw the model's lines (fixed effects plus each group's predicted random effects, see
        :func:`group_lines`) instead of each group's own least-squares line. The fixed-effects
        line (no random effects) is drawn thick.
    hue : str, optional
        A group-level column (constant within each group, e.g. ``"Sector"``) to colour lines by.
    max_groups : int, optional
        Draw only this many groups, chosen at random with ``rng`` (for readability).
    rng : None, int or numpy.random.Generator, optional
        Randomness for choosing groups when ``max_groups`` is given.
    points : bool, default=False
        Also draw the data points (small, transparent).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; one ``Line2D`` per group, plus one thick overall line per ``hue`` level
        (or one in total).

    Raises
    ------
    MlmlabInputError
        If a column is missing, ``x``/``y`` are not numeric, ``hue`` varies within a group, or
        ``max_groups`` is not a positive integer.

    Notes
    -----
    Each thin line is :math:`\\hat y = a_j + b_j x` for group :math:`j`. Without ``result`` the
    thick line is the pooled least-squares fit over all rows (complete pooling); with ``result``
    it is the fixed part of the model (random effects set to 0), averaged over the groups of
    each ``hue`` level, i.e. :math:`\\hat\\gamma_{00} + \\hat\\gamma_{10} x` when ``x`` is the only predictor.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3,
    ...                    "x": [0.0, 1.0, 2.0] * 2,
    ...                    "y": [1.0, 2.0, 3.0, 0.0, -1.0, -2.0]})
    >>> ax = plot_spaghetti(df, x="x", y="y", group="g")
    >>> len(ax.get_lines())  # two groups and the pooled line
    3

    Taught in lesson 04.
    """
    data = check_data(data, "plot_spaghetti")
    check_column(data, group, "plot_spaghetti", "group")
    if hue is not None:
        _check_hue(data, hue, group)
    if max_groups is not None:
        check_positive_int(max_groups, "plot_spaghetti", "max_groups")
        data = _subset_groups(data, group, max_groups, check_random_state(rng))
    lines = group_lines(data, x=x, y=y, group=group, result=result)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    levels, colours = _hue_levels(data, group, hue)
    if points:
        ax.scatter(data[x], data[y], s=4, alpha=0.15, color="0.4", linewidths=0)
    for _, row in lines.iterrows():
        xs = np.array([row["x_min"], row["x_max"]])
        level = levels.get(row["group"], None)
        ax.plot(xs, row["intercept"] + row["slope"] * xs, lw=0.8, alpha=0.5, color=colours[level])
    _draw_overall(ax, data, x, y, group, hue, result, colours)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    what = "model-predicted lines" if result is not None else "least-squares line per group"
    ax.set_title(f"{len(lines)} groups of {group}: {what}")
    return ax


def _check_hue(data: pd.DataFrame, hue: str, group: str) -> None:
    check_column(data, hue, "plot_spaghetti", "hue")
    varying = data.groupby(group, observed=True)[hue].nunique(dropna=False)
    if (varying > 1).any():
        raise argument_error("plot_spaghetti", "hue", "constant within each group", hue,
                             detail=f"it varies within {int((varying > 1).sum())} groups of {group}",
                             fix="Colour by a group-level column such as a school's sector.")


def _subset_groups(data: pd.DataFrame, group: str, max_groups: int, rng) -> pd.DataFrame:
    levels = pd.unique(data[group].dropna())
    if max_groups >= len(levels):
        return data
    keep = rng.choice(len(levels), size=max_groups, replace=False)
    return data[data[group].isin(levels[np.sort(keep)])]


def _hue_levels(data: pd.DataFrame, group: str, hue):
    if hue is None:
        return {}, {None: "C0"}
    per_group = data.groupby(group, observed=True)[hue].first()
    values = list(pd.unique(per_group))
    if isinstance(data[hue].dtype, pd.CategoricalDtype):
        values = [v for v in data[hue].cat.categories if v in values]
    colours = {v: f"C{i}" for i, v in enumerate(values)}
    return per_group.to_dict(), colours


def _draw_overall(ax, data, x, y, group, hue, result, colours) -> None:
    subsets = [(None, data)] if hue is None else [(v, data[data[hue] == v]) for v in colours]
    for value, part in subsets:
        xs = np.linspace(part[x].min(), part[x].max(), 2)
        if result is None:
            slope, intercept = np.polyfit(part[x].to_numpy(float), part[y].to_numpy(float), 1)
            ys = intercept + slope * xs
            label = "pooled least squares"
        else:
            # Fixed part only, averaged over the groups (their group-level covariates differ).
            first = part.groupby(group, observed=True, sort=True).head(1)
            ys = []
            for x_value in xs:
                grid = first.copy()
                grid[x] = x_value
                ys.append(float(np.mean(np.asarray(result.predict(grid, include_re=False), dtype=float))))
            label = "fixed effects (average group)"
        if value is not None:
            label = f"{value}: {label}"
        ax.plot(xs, ys, lw=3, color="black" if value is None else colours[value], label=label)
    ax.legend(frameon=False)
