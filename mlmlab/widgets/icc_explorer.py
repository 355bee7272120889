"""ICC explorer: choose τ00 and σ², see simulated groups and the ICC estimated from them.

Taught in lesson 03.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mlmlab._checks import argument_error, check_positive_int, check_random_state
from mlmlab.widgets._figure import slider_figure

__all__ = ["icc_explorer_data", "icc_explorer_update", "draw_icc_explorer", "icc_explorer_widget"]


def _check_variance(value, arg: str, *, positive: bool) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or (value <= 0 if positive else value < 0):
        raise argument_error("icc_explorer_data", arg, "a positive number" if positive else "a number ≥ 0", value)
    return float(value)


def icc_explorer_data(tau00, sigma2, *, n_groups=12, group_size=15, rng=0) -> pd.DataFrame:
    """Simulate y_ij = u0j + e_ij with u0j ~ N(0, τ00) and e_ij ~ N(0, σ²).

    The standard-normal draws depend only on ``rng``, ``n_groups`` and ``group_size``, so moving
    τ00 or σ² rescales the same data instead of drawing new data.

    Parameters
    ----------
    tau00 : float
        Between-group variance τ00 (≥ 0).
    sigma2 : float
        Within-group variance σ² (> 0).
    n_groups : int, default=12
        Number of groups J.
    group_size : int, default=15
        Units per group n.
    rng : None, int or numpy.random.Generator, default=0
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Columns group (Categorical "1" … "J") and y; J·n rows.

    Raises
    ------
    MlmlabInputError
        If a variance is negative (σ² must be positive) or a count is below 2.

    Examples
    --------
    >>> data = icc_explorer_data(4.0, 1.0, n_groups=3, group_size=2, rng=1)
    >>> data.shape, list(data["group"].cat.categories)
    ((6, 2), ['1', '2', '3'])

    Taught in lesson 03.
    """
    tau00 = _check_variance(tau00, "tau00", positive=False)
    sigma2 = _check_variance(sigma2, "sigma2", positive=True)
    n_groups = check_positive_int(n_groups, "icc_explorer_data", "n_groups", minimum=2)
    group_size = check_positive_int(group_size, "icc_explorer_data", "group_size", minimum=2)
    gen = check_random_state(rng)
    z_group = gen.standard_normal(n_groups)
    z_unit = gen.standard_normal((n_groups, group_size))
    y = np.sqrt(tau00) * z_group[:, None] + np.sqrt(sigma2) * z_unit
    labels = [str(j) for j in range(1, n_groups + 1)]
    group = pd.Categorical(np.repeat(labels, group_size), categories=labels)
    return pd.DataFrame({"group": group, "y": y.ravel()})


def icc_explorer_update(tau00, sigma2, *, n_groups=12, group_size=15, rng=0) -> pd.DataFrame:
    """True ICC of the chosen variances and the ICC estimated (REML, profile CI) from simulated data.

    Parameters
    ----------
    tau00, sigma2, n_groups, group_size, rng
        As for :func:`icc_explorer_data`.

    Returns
    -------
    pandas.DataFrame
        One row: tau00, sigma2, true_icc (τ00 / (τ00 + σ²)), icc, ci_low, ci_high
        (from :func:`mlmlab.icc` on the simulated data).

    Examples
    --------
    >>> row = icc_explorer_update(3.0, 1.0, rng=2).iloc[0]
    >>> float(row["true_icc"]), bool(row["ci_low"] < row["icc"] < row["ci_high"])
    (0.75, True)

    Taught in lesson 03.
    """
    from mlmlab.icc import icc as estimate_icc

    data = icc_explorer_data(tau00, sigma2, n_groups=n_groups, group_size=group_size, rng=rng)
    est = estimate_icc(data, y="y", group="group").iloc[0]
    return pd.DataFrame({"tau00": [float(tau00)], "sigma2": [float(sigma2)],
                         "true_icc": [tau00 / (tau00 + sigma2)], "icc": [est["icc"]],
                         "ci_low": [est["ci_low"]], "ci_high": [est["ci_high"]]})


def draw_icc_explorer(tau00, sigma2, *, n_groups=12, group_size=15, rng=0, ax=None):
    """Boxplots of the simulated groups, titled with the true and the estimated ICC.

    Parameters
    ----------
    tau00, sigma2, n_groups, group_size, rng
        As for :func:`icc_explorer_data`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = draw_icc_explorer(1.0, 1.0, n_groups=5, group_size=10)
    >>> ax.get_title().startswith("true ρ = 0.50")
    True

    Taught in lesson 03.
    """
    data = icc_explorer_data(tau00, sigma2, n_groups=n_groups, group_size=group_size, rng=rng)
    row = icc_explorer_update(tau00, sigma2, n_groups=n_groups, group_size=group_size, rng=rng).iloc[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    order = data.groupby("group", observed=True)["y"].mean().sort_values().index
    sns.boxplot(data=data, x="group", y="y", order=order, color="C0", fill=False, width=0.6, ax=ax)
    _draw_points(ax, data, order)
    ax.axhline(data["y"].mean(), color="black", lw=0.8, ls="--")
    ax.set_xlabel("group (sorted by its mean)")
    ax.set_ylabel("outcome y (simulated units)")
    ax.set_title(f"true ρ = {row['true_icc']:.2f};  estimated ρ = {row['icc']:.2f} "
                 f"(95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f})")
    return ax


def _draw_points(ax, data, order, *, spread=0.15):
    """Overlay the observations on the boxes with an even (not random) horizontal spread.

    seaborn's stripplot jitters with numpy's global generator, which would make the picture change
    from run to run; evenly spaced offsets keep it reproducible.
    """
    for position, label in enumerate(order):
        y = np.sort(data.loc[data["group"] == label, "y"].to_numpy())
        offsets = np.linspace(-spread, spread, y.size) if y.size > 1 else np.zeros(1)
        ax.scatter(position + offsets, y, s=6, color="C1", alpha=0.6, zorder=3)


def icc_explorer_widget(*, n_groups=12, group_size=15, rng=0):
    """Sliders for τ00 and σ² that redraw :func:`draw_icc_explorer`.

    Parameters
    ----------
    n_groups, group_size, rng
        As for :func:`icc_explorer_data` (fixed while the sliders move).

    Returns
    -------
    ipywidgets.VBox
        Sliders (``.controls``: ``tau00``, ``sigma2``) above the figure (``.image``).

    Examples
    --------
    >>> w = icc_explorer_widget()
    >>> sorted(w.controls)
    ['sigma2', 'tau00']

    Taught in lesson 03.
    """
    import ipywidgets as widgets

    controls = {
        "tau00": widgets.FloatSlider(value=2.0, min=0.0, max=10.0, step=0.25, description="τ00",
                                     continuous_update=False),
        "sigma2": widgets.FloatSlider(value=8.0, min=0.25, max=10.0, step=0.25, description="σ²",
                                      continuous_update=False),
    }

    def draw(tau00, sigma2):
        return draw_icc_explorer(tau00, sigma2, n_groups=n_groups, group_size=group_size, rng=rng)

    return slider_figure(draw, controls)
