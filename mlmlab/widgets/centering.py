"""Widget: move the origin of x and watch the random-effects covariance matrix G change.

In a random-slope model the "random intercept" u0j is a group's deviation *at x = 0*. Moving
the origin of x to c (using x − c as the predictor) changes what the intercept means, so τ00
and τ01 change; the slope variance τ11 does not. The change is exact algebra:

    τ00(c) = τ00 + 2 c τ01 + c² τ11,    τ01(c) = τ01 + c τ11,    τ11(c) = τ11.

Taught in lesson 04.
"""

from __future__ import annotations

import numbers

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_data
from mlmlab.widgets._figure import slider_figure

__all__ = ["shift_origin", "centering_table", "centering_update", "draw_centering", "centering_widget"]


def _as_G(G, func: str) -> pd.DataFrame:
    if isinstance(G, pd.DataFrame):
        frame = G
    else:
        try:
            frame = pd.DataFrame(np.asarray(G, dtype=float), index=["(Intercept)", "x"], columns=["(Intercept)", "x"])
        except (TypeError, ValueError):
            frame = None
    if frame is None or frame.shape != (2, 2):
        raise argument_error(func, "G", "a 2 x 2 covariance matrix of (random intercept, random slope)", G,
                             fix="Pass result.G['School'] from a fit with (x | School), say.")
    values = frame.to_numpy(dtype=float)
    if not np.allclose(values, values.T) or np.any(np.diag(values) < 0) or not np.all(np.isfinite(values)):
        raise argument_error(func, "G", "a symmetric matrix with non-negative variances on the diagonal", G)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _as_shift(shift, func: str) -> float:
    if isinstance(shift, bool) or not isinstance(shift, numbers.Real) or not np.isfinite(shift):
        raise argument_error(func, "shift", "a finite number (the new origin of x)", shift, kind=TypeError)
    return float(shift)


def shift_origin(G, shift):
    """The covariance matrix G after the predictor x is replaced by x − ``shift``.

    Parameters
    ----------
    G : pandas.DataFrame or array-like
        2 × 2 covariance matrix of (u0j, u1j): τ00, τ01 / τ01, τ11, for the predictor x.
    shift : float
        The new origin c: the intercept now describes a group at x = c.

    Returns
    -------
    pandas.DataFrame
        The 2 × 2 matrix for the predictor x − c, with the labels of ``G``.

    Raises
    ------
    MlmlabInputError
        If ``G`` is not a symmetric 2 × 2 matrix with non-negative variances.
    TypeError
        If ``shift`` is not a number.

    Notes
    -----
    With x' = x − c, u0j + u1j x = (u0j + c u1j) + u1j x', so the new random intercept is
    u0j + c u1j and

    .. math:: \\tau_{00}(c) = \\tau_{00} + 2c\\tau_{01} + c^2\\tau_{11},\\quad
              \\tau_{01}(c) = \\tau_{01} + c\\tau_{11},\\quad \\tau_{11}(c) = \\tau_{11}.

    Examples
    --------
    >>> G = [[4.83, -0.154], [-0.154, 0.413]]
    >>> shift_origin(G, -1.0).round(3)
                 (Intercept)      x
    (Intercept)        5.551 -0.567
    x                 -0.567  0.413

    Taught in lesson 04.
    """
    frame = _as_G(G, "shift_origin")
    c = _as_shift(shift, "shift_origin")
    A = np.array([[1.0, c], [0.0, 1.0]])
    return pd.DataFrame(A @ frame.to_numpy() @ A.T, index=frame.index, columns=frame.columns)


def centering_table(G, shifts):
    """τ00, τ01, τ11 and the intercept–slope correlation for several origins of x.

    Parameters
    ----------
    G : pandas.DataFrame or array-like
        2 × 2 covariance matrix of (u0j, u1j) for the predictor x.
    shifts : float or array-like of float
        Origins c to tabulate (the predictor becomes x − c).

    Returns
    -------
    pandas.DataFrame
        One row per shift with columns ``shift``, ``tau00``, ``tau01``, ``tau11`` and ``corr``
        (τ01 / √(τ00 τ11)).

    Raises
    ------
    MlmlabInputError
        If ``G`` is not a valid 2 × 2 covariance matrix.

    Examples
    --------
    >>> centering_table([[4.0, -1.0], [-1.0, 1.0]], [0.0, 1.0]).round(3)
       shift  tau00  tau01  tau11  corr
    0    0.0    4.0   -1.0    1.0  -0.5
    1    1.0    3.0    0.0    1.0   0.0

    Taught in lesson 04.
    """
    frame = _as_G(G, "centering_table")
    rows = []
    for c in np.atleast_1d(np.asarray(shifts, dtype=float)):
        g = shift_origin(frame, float(c)).to_numpy()
        denom = np.sqrt(g[0, 0] * g[1, 1])
        rows.append({"shift": float(c), "tau00": g[0, 0], "tau01": g[0, 1], "tau11": g[1, 1],
                     "corr": g[0, 1] / denom if denom > 0 else np.nan})
    return pd.DataFrame(rows)


def centering_update(shift, *, lines, G):
    """G at the new origin, and how far apart the groups' lines are there.

    The pure update function behind :func:`centering_widget` (tests call it with slider values).

    Parameters
    ----------
    shift : float
        The new origin c of x.
    lines : pandas.DataFrame
        One line per group with columns ``intercept``, ``slope``, ``x_min``, ``x_max``, e.g.
        from :func:`mlmlab.plots.group_lines` with ``result=``.
    G : pandas.DataFrame or array-like
        2 × 2 covariance matrix of (u0j, u1j) for x (origin 0).

    Returns
    -------
    pandas.DataFrame
        One row: the :func:`centering_table` row for ``shift`` plus ``spread_at_shift``, the
        standard deviation of the lines' heights at x = c (the spread that the new τ00
        describes; smaller than √τ00 when the lines are shrunken predictions).

    Raises
    ------
    MlmlabInputError
        If ``lines`` lacks a column or ``G`` is not a valid 2 × 2 covariance matrix.

    Examples
    --------
    >>> lines = pd.DataFrame({"intercept": [0.0, 1.0], "slope": [1.0, -1.0],
    ...                       "x_min": [-1.0, -1.0], "x_max": [1.0, 1.0]})
    >>> row = centering_update(0.5, lines=lines, G=[[0.5, -0.5], [-0.5, 2.0]])
    >>> row[["shift", "tau00", "tau01", "spread_at_shift"]].round(3)
       shift  tau00  tau01  spread_at_shift
    0    0.5    0.5    0.5              0.0

    Taught in lesson 04.
    """
    lines = _check_lines(lines, "centering_update")
    c = _as_shift(shift, "centering_update")
    row = centering_table(G, [c])
    heights = lines["intercept"].to_numpy(float) + lines["slope"].to_numpy(float) * c
    row["spread_at_shift"] = float(np.std(heights, ddof=1)) if len(heights) > 1 else np.nan
    return row


def _check_lines(lines, func: str) -> pd.DataFrame:
    lines = check_data(lines, func, "lines")
    missing = [col for col in ("intercept", "slope", "x_min", "x_max") if col not in lines.columns]
    if missing:
        raise argument_error(func, "lines", "a table with columns intercept, slope, x_min, x_max", lines,
                             detail="missing: " + ", ".join(missing),
                             fix="Make it with mlmlab.plots.group_lines(data, x=..., y=..., group=..., result=fit).")
    return lines


def draw_centering(shift, *, lines, G, x_label="x", ax=None):
    """Draw the groups' lines with the new origin x = c marked, and G there in the title.

    Parameters
    ----------
    shift, lines, G
        As for :func:`centering_update`.
    x_label : str, default="x"
        Name of the predictor, for the axis label.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: one thin line per group, a vertical line at x = c and a dot where each group's
        line crosses it (the groups' "intercepts" for this origin).

    Examples
    --------
    >>> lines = pd.DataFrame({"intercept": [0.0, 1.0], "slope": [1.0, -1.0],
    ...                       "x_min": [-1.0, -1.0], "x_max": [1.0, 1.0]})
    >>> ax = draw_centering(1.0, lines=lines, G=[[0.5, -0.5], [-0.5, 2.0]])
    >>> ax.get_title()
    'origin at x = 1.00: τ00 = 1.50, τ01 = 1.50, τ11 = 2.00, corr = 0.87'

    Taught in lesson 04.
    """
    row = centering_update(shift, lines=lines, G=G).iloc[0]
    c = row["shift"]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    lo, hi = float(lines["x_min"].min()), float(lines["x_max"].max())
    xs = np.array([min(lo, c), max(hi, c)])
    for a, b in zip(lines["intercept"], lines["slope"]):
        ax.plot(xs, a + b * xs, color="C0", lw=0.7, alpha=0.35)
    heights = lines["intercept"].to_numpy(float) + lines["slope"].to_numpy(float) * c
    ax.axvline(c, color="C3", lw=1.5)
    ax.scatter(np.full(heights.size, c), heights, color="C3", s=10, zorder=3)
    ax.set_title(f"origin at {x_label} = {c:.2f}: τ00 = {row['tau00']:.2f}, τ01 = {row['tau01']:.2f}, "
                 f"τ11 = {row['tau11']:.2f}, corr = {row['corr']:.2f}")
    ax.set_xlabel(x_label)
    ax.set_ylabel("predicted outcome (one line per group)")
    return ax


def centering_widget(lines, G, *, x_label="x", value=0.0, step=0.1):
    """Slider for the origin of x that redraws :func:`draw_centering`.

    Parameters
    ----------
    lines : pandas.DataFrame
        Group lines (columns ``intercept``, ``slope``, ``x_min``, ``x_max``), e.g.
        ``mlmlab.plots.group_lines(data, x=..., y=..., group=..., result=result)``.
    G : pandas.DataFrame or array-like
        2 × 2 covariance matrix of (u0j, u1j), e.g. ``result.G["School"]``.
    x_label : str, default="x"
        Name of the predictor.
    value : float, default=0.0
        Starting origin (kept inside the range of x).
    step : float, default=0.1
        Slider step.

    Returns
    -------
    ipywidgets.VBox
        The slider (also in ``.controls["shift"]``) above a line of text with τ00, τ01, τ11 and
        the correlation (``.note``) and the figure (``.image``, a PNG redrawn on every move).

    Examples
    --------
    >>> lines = pd.DataFrame({"intercept": [0.0, 1.0], "slope": [1.0, -1.0],
    ...                       "x_min": [-1.0, -1.0], "x_max": [1.0, 1.0]})
    >>> w = centering_widget(lines, [[0.5, -0.5], [-0.5, 2.0]])
    >>> before = w.image.value
    >>> w.controls["shift"].value = 1.0
    >>> w.image.value != before
    True

    Taught in lesson 04.
    """
    import ipywidgets as widgets

    lines = _check_lines(lines, "centering_widget")
    _as_G(G, "centering_widget")
    lo, hi = float(lines["x_min"].min()), float(lines["x_max"].max())
    controls = {"shift": widgets.FloatSlider(value=float(np.clip(value, lo, hi)), min=lo, max=hi, step=step,
                                             description=f"origin of {x_label}", continuous_update=False,
                                             style={"description_width": "initial"})}

    def draw(shift):
        _, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
        return draw_centering(shift, lines=lines, G=G, x_label=x_label, ax=ax)

    def text(shift):
        r = centering_update(shift, lines=lines, G=G).iloc[0]
        sign = "−" if shift >= 0 else "+"
        return (f"<b>{x_label} {sign} {abs(shift):.2f}</b> as predictor: τ00 = {r['tau00']:.3f}, "
                f"τ01 = {r['tau01']:.3f}, τ11 = {r['tau11']:.3f}, correlation = {r['corr']:.3f}")

    return slider_figure(draw, controls, text=text)
