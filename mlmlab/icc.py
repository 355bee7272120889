"""Intraclass correlation, design effect and effective sample size.

For a random-intercept model y_ij = γ00 + u0j + e_ij with Var(u0j) = τ00 and Var(e_ij) = σ²,
the intraclass correlation is

    ρ = τ00 / (τ00 + σ²),

the correlation between two units of the same group, and the share of the outcome's variance
that lies between groups. With groups of average size n̄, a cluster sample carries the information
of a simple random sample of n / deff units, where deff = 1 + (n̄ − 1)ρ is the design effect.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mlmlab import engine
from mlmlab._checks import (
    argument_error, check_choice, check_column, check_data, check_numeric_column, check_positive_int,
    check_random_state,
)
from mlmlab.fitting import fit
from mlmlab.result import MixedResult

__all__ = ["icc", "design_effect", "effective_n"]


def icc(result_or_data, *, y=None, group=None, ci=0.95, method="profile", rng=None, n_boot=500):
    """Intraclass correlation ρ = τ00 / (τ00 + σ²) with a confidence interval.

    Parameters
    ----------
    result_or_data : MixedResult or pandas.DataFrame
        A random-intercept fit from :func:`mlmlab.fit` (one grouping factor, no random slopes),
        or data, in which case the null model ``y ~ 1 + (1 | group)`` is fitted (REML).
    y, group : str, optional
        Outcome and grouping columns; needed (only) when data are given.
    ci : float, default=0.95
        Confidence level of the interval.
    method : {"profile", "bootstrap"}, default="profile"
        ``"profile"``: profile-likelihood interval (the fit's REML or ML criterion, profiled over
        θ = √τ00 / σ, cut at the χ²₁ quantile; ρ = θ² / (1 + θ²) is monotone in θ).
        ``"bootstrap"``: parametric bootstrap percentile interval (``n_boot`` data sets simulated
        from the fit and refitted).
    rng : None, int or numpy.random.Generator, default=None
        Randomness for ``method="bootstrap"``.
    n_boot : int, default=500
        Number of bootstrap replicates.

    Returns
    -------
    pandas.DataFrame
        One row with columns ``icc``, ``ci_low``, ``ci_high``, ``method``.

    Raises
    ------
    ValueError
        A model with random slopes or several grouping factors (its ICC is not one number), bad
        columns, ``ci`` outside (0, 1), an unknown method.
    TypeError
        ``result_or_data`` is neither a MixedResult nor a DataFrame.

    Notes
    -----
    For a null model ρ is the share of the outcome's variance between groups. For a model with
    covariates it is the *conditional* (residual) ICC: the share of the variance left after the
    fixed effects that lies between groups.

    Examples
    --------
    >>> from mlmlab import icc, datasets
    >>> icc(datasets.load("hsb"), y="MathAch", group="School").round(3)
         icc  ci_low  ci_high   method
    0  0.18   0.147    0.221  profile

    Taught in lesson 03.
    """
    if isinstance(result_or_data, pd.DataFrame):
        data = check_data(result_or_data, "icc", "result_or_data")
        if y is None or group is None:
            raise argument_error("icc", "y" if y is None else "group", "a column name when data are given",
                                 None, fix="Call icc(data, y='outcome', group='cluster').")
        check_numeric_column(data, y, "icc", "y")
        check_column(data, group, "icc", "group")
        result = fit(f"{y} ~ 1 + (1 | {group})", data)
    elif isinstance(result_or_data, MixedResult):
        result = result_or_data
    else:
        raise argument_error("icc", "result_or_data", "a MixedResult from mlmlab.fit or a DataFrame",
                             result_or_data, kind=TypeError)
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 1:
        raise argument_error("icc", "ci", "a confidence level between 0 and 1, such as 0.95", ci)
    check_choice(method, ["profile", "bootstrap"], "icc", "method")
    parts = _random_intercept_parts(result)
    tau, sigma2 = parts["tau"], parts["sigma2"]
    rho = tau / (tau + sigma2)
    if method == "profile":
        low, high = _profile_interval(parts, ci)
    else:
        n_boot = check_positive_int(n_boot, "icc", "n_boot", minimum=20)
        low, high = _bootstrap_interval(parts, ci, check_random_state(rng), n_boot)
    return pd.DataFrame({"icc": [rho], "ci_low": [low], "ci_high": [high], "method": [method]})


def design_effect(icc, group_size):
    """Design effect deff = 1 + (n̄ − 1)·ρ of a cluster sample.

    Parameters
    ----------
    icc : float or array-like
        Intraclass correlation ρ, between 0 and 1.
    group_size : float or array-like
        Average group size n̄, at least 1.

    Returns
    -------
    float or ndarray
        The factor by which clustering inflates the variance of a mean (broadcast over inputs).

    Raises
    ------
    ValueError
        ``icc`` outside [0, 1] or ``group_size`` below 1.

    Examples
    --------
    >>> design_effect(0.18, 45)
    8.92
    >>> design_effect([0.05, 0.1], 20).round(2)
    array([1.95, 2.9 ])

    Taught in lesson 01.
    """
    rho = _as_array(icc, "design_effect", "icc")
    n = _as_array(group_size, "design_effect", "group_size")
    if np.any((rho < 0) | (rho > 1)):
        raise argument_error("design_effect", "icc", "between 0 and 1", icc)
    if np.any(n < 1):
        raise argument_error("design_effect", "group_size", "at least 1 (units per group)", group_size)
    out = 1.0 + (n - 1.0) * rho
    return float(out) if out.ndim == 0 else out


def effective_n(n, icc, group_size):
    """Effective sample size n / deff of a cluster sample.

    Parameters
    ----------
    n : float or array-like
        Total number of units.
    icc : float or array-like
        Intraclass correlation ρ, between 0 and 1.
    group_size : float or array-like
        Average group size n̄, at least 1.

    Returns
    -------
    float or ndarray
        The size of a simple random sample with the same precision for a mean.

    Examples
    --------
    >>> round(effective_n(7185, 0.1804, 7185 / 160), 1)
    805.4

    Taught in lesson 01.
    """
    total = _as_array(n, "effective_n", "n")
    if np.any(total <= 0):
        raise argument_error("effective_n", "n", "a positive number of units", n)
    out = total / design_effect(icc, group_size)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------- helpers

def _as_array(value, func, arg):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise argument_error(func, arg, "a number or an array of numbers", value, kind=TypeError) from None
    if not np.all(np.isfinite(arr)):
        raise argument_error(func, arg, "finite numbers", value)
    return arr


def _random_intercept_parts(result) -> dict:
    blocks = result.design.blocks
    if len(blocks) != 1 or blocks[0].names != ("(Intercept)",):
        terms = "; ".join(f"{b.term.group}: {', '.join(b.names)}" for b in blocks)
        raise argument_error(
            "icc", "result_or_data", "a random-intercept model with one grouping factor", result.formula,
            detail=f"its random effects are {terms}",
            fix="With random slopes or several grouping factors the ICC is not a single number; fit "
                "y ~ ... + (1 | g) for it.",
        )
    b = blocks[0]
    return {
        "tau": float(result.G[b.factor].iloc[0, 0]), "sigma2": result.sigma2, "reml": result.reml,
        "y": result.design.y, "X": result.design.X.to_numpy(dtype=float),
        "codes": b.codes, "n_groups": len(b.levels), "beta": result.fixef.to_numpy(float),
        "llf": result.llf,
    }


def _group_sums(codes, n_groups, A):
    out = np.zeros((n_groups,) + A.shape[1:])
    np.add.at(out, codes, A)
    return out


def _deviance_fn(parts):
    """Profiled (REML or ML) deviance of a random-intercept model as a function of θ = √τ00/σ."""
    y, X, codes, J = parts["y"], parts["X"], parts["codes"], parts["n_groups"]
    n, p = X.shape
    nj = np.bincount(codes, minlength=J).astype(float)
    sx, sy = _group_sums(codes, J, X), _group_sums(codes, J, y)
    XtX, Xty, yty = X.T @ X, X.T @ y, y @ y

    def dev(theta):
        t2 = theta * theta
        w = t2 / (1.0 + t2 * nj)
        xwx = XtX - (sx * w[:, None]).T @ sx
        xwy = Xty - (sx * w[:, None]).T @ sy
        ywy = yty - np.sum(w * sy * sy)
        beta = np.linalg.solve(xwx, xwy)
        r2 = ywy - beta @ xwy
        logdet_v = np.sum(np.log1p(t2 * nj))
        if parts["reml"]:
            m = n - p
            return logdet_v + np.linalg.slogdet(xwx)[1] + m * (1.0 + np.log(2 * np.pi * r2 / m))
        return logdet_v + n * (1.0 + np.log(2 * np.pi * r2 / n))

    return dev


def _profile_interval(parts, level):
    dev = _deviance_fn(parts)
    theta_hat = np.sqrt(parts["tau"] / parts["sigma2"])
    # Refine the optimum on the profiled criterion itself (it equals -2 llf at the fit).
    res = optimize.minimize_scalar(dev, bounds=(0.0, max(4 * theta_hat, 1.0)), method="bounded",
                                   options={"xatol": 1e-10})
    theta_hat, dmin = (res.x, res.fun) if res.fun < dev(theta_hat) else (theta_hat, dev(theta_hat))
    crit = stats.chi2.ppf(level, 1)
    f = lambda t: dev(t) - dmin - crit  # noqa: E731
    low = 0.0 if f(0.0) <= 0 else optimize.brentq(f, 0.0, theta_hat, xtol=1e-12)
    hi_end = max(2 * theta_hat, 0.1)
    while f(hi_end) < 0:
        hi_end *= 2
        if hi_end > 1e6:
            return _to_icc(low), 1.0
    high = optimize.brentq(f, theta_hat, hi_end, xtol=1e-12)
    return _to_icc(low), _to_icc(high)


def _to_icc(theta):
    return float(theta * theta / (1.0 + theta * theta))


def _bootstrap_interval(parts, level, rng, n_boot):
    n, J = len(parts["y"]), parts["n_groups"]
    mean = parts["X"] @ parts["beta"]
    u = rng.normal(0.0, np.sqrt(parts["tau"]), size=(n_boot, J))
    e = rng.normal(0.0, np.sqrt(parts["sigma2"]), size=(n_boot, n))
    Y = mean[None, :] + u[:, parts["codes"]] + e
    fits = engine.fit_many(Y, parts["X"], np.ones(n), parts["codes"], reml=parts["reml"])
    tau = fits.G[:, 0, 0]
    rho = tau / (tau + fits.sigma2)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(rho, [alpha, 1.0 - alpha])
    return float(low), float(high)
