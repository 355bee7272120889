"""Shrinkage: how far a group's estimate is pulled towards the overall mean.

The partially pooled estimate of a group's mean is γ00 + λ_j (ȳ_j − γ00), with the reliability
λ_j = τ00 / (τ00 + σ²/n_j) of the group's own mean. The shrinkage widget and plot draw it; this module
computes it.

Taught in lesson 02.
"""

from __future__ import annotations

import numpy as np

from mlmlab._checks import argument_error

__all__ = ["shrinkage_factor"]


def _check_nonnegative(value, func: str, arg: str, *, positive: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float) if not isinstance(value, bool) else np.asarray(np.nan)
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0)
    if arr.dtype.kind != "f" or np.any(bad):
        must = "a positive number" if positive else "a number of at least 0"
        raise argument_error(func, arg, must, value)
    return arr


def shrinkage_factor(tau00, sigma2, group_size):
    """Reliability λ_j = τ00 / (τ00 + σ²/n_j) of a group's mean.

    Parameters
    ----------
    tau00 : float or array-like
        Between-group (random-intercept) variance τ00, at least 0.
    sigma2 : float or array-like
        Within-group (residual) variance σ², positive.
    group_size : float or array-like
        Group size(s) n_j, positive.

    Returns
    -------
    float or numpy.ndarray
        λ_j in [0, 1): the weight the group's own mean gets in its partially pooled estimate
        γ00 + λ_j (ȳ_j − γ00). 1 − λ_j is how far it is shrunk towards γ00.

    Raises
    ------
    MlmlabInputError
        If a variance is negative (σ² must be positive) or a group size is not positive.

    Examples
    --------
    >>> round(shrinkage_factor(8.61, 39.15, 45), 3)
    0.908
    >>> shrinkage_factor(1.0, 4.0, [1, 4, 36]).round(2)
    array([0.2, 0.5, 0.9])

    Taught in lesson 02.
    """
    tau = _check_nonnegative(tau00, "shrinkage_factor", "tau00")
    sig = _check_nonnegative(sigma2, "shrinkage_factor", "sigma2", positive=True)
    n = _check_nonnegative(group_size, "shrinkage_factor", "group_size", positive=True)
    lam = tau / (tau + sig / n)
    return float(lam) if lam.ndim == 0 else lam
