"""Small linear-algebra helpers shared by the result and the inference modules."""

from __future__ import annotations

import numpy as np

__all__ = ["psd_cholesky"]


def psd_cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite matrix, with zero columns where it degenerates.

    lme4's relative covariance factor θ is this factor of G / σ²; a zero on its diagonal is a boundary
    (singular) fit.

    Examples
    --------
    >>> psd_cholesky(np.array([[4.0, 2.0], [2.0, 1.0]]))  # rank 1: the second column is 0
    array([[2., 0.],
           [1., 0.]])
    """
    n = a.shape[0]
    L = np.zeros_like(a, dtype=float)
    for j in range(n):
        d = a[j, j] - L[j, :j] @ L[j, :j]
        L[j, j] = np.sqrt(d) if d > 0 else 0.0
        for i in range(j + 1, n):
            L[i, j] = (a[i, j] - L[i, :j] @ L[j, :j]) / L[j, j] if L[j, j] > 0 else 0.0
    return L
