"""The null distribution of a likelihood-ratio statistic for a variance component.

When the null hypothesis puts a variance on the edge of its range (τ = 0), the LR statistic is
not χ² with the naive degrees of freedom: about half of the samples give LR = 0, and the rest
follow the next χ². This module draws simulated LR statistics against both references (the p-values
and critical values are computed in :mod:`mlmlab.boundary`).

Taught in lesson 06.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from mlmlab._checks import argument_error, check_positive_int

__all__ = ["plot_lrt_null"]

_ZERO = 1e-6  # LR values below this are "exactly 0" (the optimiser stops at the boundary)


def _check_stats(lr) -> np.ndarray:
    values = np.asarray(lr, dtype=float).ravel() if not isinstance(lr, str) else np.array([])
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise argument_error("plot_lrt_null", "lr", "at least two finite likelihood-ratio statistics", lr,
                             fix="Pass the 'lr' column of mlmlab.studies.lrt_null_distribution(...).")
    if np.any(values < -1e-6):
        raise argument_error("plot_lrt_null", "lr", "non-negative (LR = -2 (llf_reduced - llf_full))", lr,
                             detail=f"smallest value is {values.min():.3g}",
                             fix="Check the order: the reduced model's log-likelihood comes first.")
    return np.clip(values, 0.0, None)


def plot_lrt_null(lr, *, df=1, bins=30, ax=None):
    """Histogram of simulated LR statistics against χ²(df) and the 50:50 boundary mixture.

    Parameters
    ----------
    lr : array-like
        Likelihood-ratio statistics simulated under the null hypothesis (variance = 0), e.g.
        the ``lr`` column of :func:`mlmlab.studies.lrt_null_distribution`.
    df : int, default=1
        Parameters the full model adds; the naive reference is χ²(df), the mixture is
        ½χ²(df − 1) + ½χ²(df).
    bins : int, default=30
        Number of histogram bins over the positive values.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: bars scaled so their area is the share of all samples (so the bars of LR > 0
        sum to the share that is not 0), the naive χ²(df) density and the mixture density.
        The title reports the share of samples with LR = 0.

    Raises
    ------
    MlmlabInputError
        If ``lr`` holds fewer than two finite values or negative values, or ``df`` is not a
        positive integer.

    Notes
    -----
    For ``df=1`` the mixture puts mass ½ at exactly 0 and spreads the other half as
    ½ f_{χ²₁}(x); the naive χ²₁ curve is twice as high, which is why naive p-values are too big.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> lr = np.where(rng.random(400) < 0.5, 0.0, rng.chisquare(1, 400))
    >>> ax = plot_lrt_null(lr)
    >>> ax.get_xlabel()
    'likelihood-ratio statistic LR = -2(ℓ reduced − ℓ full)'

    Taught in lesson 06.
    """
    values = _check_stats(lr)
    df = check_positive_int(df, "plot_lrt_null", "df")
    bins = check_positive_int(bins, "plot_lrt_null", "bins")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    zero = values < _ZERO
    positive = values[~zero]
    top = max(float(np.quantile(values, 0.995)), stats.chi2.ppf(0.99, df))
    edges = np.linspace(0.0, top, bins + 1)
    if positive.size:
        weights = np.full(positive.size, 1.0 / (values.size * (edges[1] - edges[0])))
        ax.hist(np.minimum(positive, top), bins=edges, weights=weights, color="0.75",
                edgecolor="white", label="simulated LR > 0")
    grid = np.linspace(top / 400, top, 400)
    ax.plot(grid, stats.chi2.pdf(grid, df), color="C3", lw=2, ls="--", label=f"naive χ²({df})")
    mix = 0.5 * stats.chi2.pdf(grid, df) + (0.5 * stats.chi2.pdf(grid, df - 1) if df > 1 else 0.0)
    name = "½ point mass at 0 + ½ χ²(1)" if df == 1 else f"½ χ²({df - 1}) + ½ χ²({df})"
    ax.plot(grid, mix, color="C0", lw=2, label=f"mixture: {name}")
    ax.set_ylim(0, min(ax.get_ylim()[1], 1.5))
    ax.set_xlim(0, top)
    ax.set_xlabel("likelihood-ratio statistic LR = -2(ℓ reduced − ℓ full)")
    ax.set_ylabel("density (share of all samples per unit)")
    ax.set_title(f"{values.size} LR statistics under the null: {zero.mean():.0%} are exactly 0")
    ax.legend(frameon=False)
    return ax
