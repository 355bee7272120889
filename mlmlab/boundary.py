"""Testing a variance on the boundary of its range: the 50:50 χ² mixture (Self & Liang 1987; Stram & Lee 1994).

When the null hypothesis puts a variance at 0, the edge of its range, the likelihood-ratio statistic is not
χ² with the naive degrees of freedom: about half of the samples give LR = 0, and the rest follow the next χ².
:func:`mixture_pvalue` gives the corrected p-value (the ``p_boundary`` column of :func:`mlmlab.compare`),
:func:`mixture_critical_value` the matching critical value. Plots and widgets draw these; they do not compute
them.

Taught in lesson 06.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from mlmlab._checks import argument_error

__all__ = ["mixture_pvalue", "mixture_critical_value"]


def mixture_pvalue(lr, q):
    """p-value of the 50:50 mixture 0.5·χ²_q + 0.5·χ²_{q+1} (χ²_0 is a point mass at 0).

    Parameters
    ----------
    lr : float or array-like
        Likelihood-ratio statistic(s), 2 × (llf₁ − llf₀) ≥ 0.
    q : int
        Number of correlated random effects in the smaller model's block (0 when the larger
        model adds a new single random effect).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(mixture_pvalue(9.7617, 1), 4)
    0.0047
    >>> round(mixture_pvalue(3.84, 0), 3)  # half the naive χ²_1 p-value
    0.025

    Taught in lesson 06.
    """
    lr = np.asarray(lr, dtype=float)
    if np.any(lr < 0) or np.any(~np.isfinite(lr)):
        raise argument_error("mixture_pvalue", "lr", "finite and non-negative", lr)
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 0:
        raise argument_error("mixture_pvalue", "q", "a whole number of at least 0", q)
    low = np.where(lr > 0, 0.0, 1.0) if q == 0 else stats.chi2.sf(lr, q)
    p = 0.5 * low + 0.5 * stats.chi2.sf(lr, q + 1)
    return float(p) if p.ndim == 0 else p


def mixture_critical_value(alpha=0.05, q=0):
    """Critical value c with ``mixture_pvalue(c, q) = alpha``: smaller than the naive χ²_{q+1} one.

    Parameters
    ----------
    alpha : float, default=0.05
        Significance level, in (0, 0.5).
    q : int, default=0
        As in :func:`mixture_pvalue` (0: the larger model adds one new variance).

    Returns
    -------
    float

    Raises
    ------
    MlmlabInputError
        If ``alpha`` is not in (0, 0.5) or ``q`` is not a whole number of at least 0.

    Examples
    --------
    >>> round(mixture_critical_value(0.05), 3)  # the chi2(1) value at alpha = 0.10
    2.706

    Taught in lesson 06.
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 0:
        raise argument_error("mixture_critical_value", "q", "a whole number of at least 0", q)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 0.5:
        raise argument_error("mixture_critical_value", "alpha", "a level between 0 and 0.5", alpha,
                             fix="Pass e.g. alpha=0.05.")
    return float(optimize.brentq(lambda c: mixture_pvalue(c, q) - alpha, 1e-12, 200.0, xtol=1e-12))
