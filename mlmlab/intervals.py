"""Confidence intervals for every parameter of a fitted model: Wald for fixed effects, parametric bootstrap for all.

:func:`confint` returns one tidy row per parameter in lme4's order and naming (``confint(m, oldNames =
FALSE)``): the standard deviations and correlations of each grouping factor's random effects, ``sigma``, then
the fixed effects. ``method="wald"`` gives estimate ± z·SE for fixed effects (and, as lme4, nothing for the
variance parameters, whose sampling distributions are skewed and bounded at 0); ``method="boot"`` gives
percentile intervals from refits to data sets simulated from the fit (lme4's ``bootMer``), which can reach 0
for a standard deviation.

Taught in lesson 10 (reporting) and lesson 06 (the parametric bootstrap).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_choice, check_positive_int, check_random_state, check_result
from mlmlab.resample import refit_outcomes, simulate_outcomes

__all__ = ["confint"]


def _variance_rows(design, covariances, sigma2) -> list:
    """(name, value) of lme4's variance parameters from block covariances: per block the SDs and correlations
    in the order of lme4's θ (lower triangle, column by column: sd1, cor21, ..., sd2, ...), then sigma."""
    rows = []
    for b, cov in zip(design.blocks, covariances):
        t = len(b.names)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        for j in range(t):
            rows.append((f"sd_{b.names[j]}|{b.group}", sd[j]))
            for i in range(j + 1, t):
                corr = cov[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else np.nan
                rows.append((f"cor_{b.names[i]}.{b.names[j]}|{b.group}", corr))
    rows.append(("sigma", np.sqrt(sigma2)))
    return rows


def _block_covariances(result) -> list:
    return [result.G[b.factor].loc[list(b.names), list(b.names)].to_numpy(dtype=float) for b in result.design.blocks]


def confint(result, *, method="wald", level=0.95, n=1000, rng=None, progress=False) -> pd.DataFrame:
    """Confidence intervals for a fitted model's parameters, as lme4's ``confint``.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.
    method : {"wald", "boot"}, default="wald"
        ``"wald"``: estimate ± z·SE for the fixed effects (none for variance parameters). ``"boot"``:
        parametric bootstrap percentiles for every parameter (slower; uses ``n`` and ``rng``).
    level : float, default=0.95
        Confidence level, between 0 and 1.
    n : int, default=1000
        Bootstrap data sets (``method="boot"``), at least 100.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the bootstrap.
    progress : bool, default=False
        Progress bar for bootstrap refits that are not done by the fast engine.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, indexed by lme4's name (``sd_(Intercept)|Subject``,
        ``cor_Days.(Intercept)|Subject``, ``sigma``, then the fixed effects as in ``result.fixed``), columns
        ``estimate``, ``ci_low``, ``ci_high`` and ``method``. For ``"boot"``, ``attrs["n_boot"]`` is the number
        of refits that succeeded.

    Raises
    ------
    MlmlabInputError
        An unknown method, a level outside (0, 1), ``n`` below 100.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> confint(m).round(2)[["estimate", "ci_low", "ci_high"]]
                                  estimate  ci_low  ci_high
    parameter
    sd_(Intercept)|Subject           24.74     NaN      NaN
    cor_Days.(Intercept)|Subject      0.07     NaN      NaN
    sd_Days|Subject                   5.92     NaN      NaN
    sigma                            25.59     NaN      NaN
    Intercept                       251.41  238.03   264.78
    Days                             10.47    7.44    13.50
    >>> boot = confint(m, method="boot", n=200, rng=1)
    >>> bool(boot.loc["sd_Days|Subject", "ci_low"] > 0)
    True
    """
    check_result(result, "confint")
    check_choice(method, ["wald", "boot"], "confint", "method")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise argument_error("confint", "level", "a confidence level between 0 and 1, such as 0.95", level)
    design = result.design
    names_est = _variance_rows(design, _block_covariances(result), result.sigma2)
    fixed = result.fixed
    names = [name for name, _ in names_est] + list(fixed.index)
    estimate = np.array([v for _, v in names_est] + list(fixed["estimate"].to_numpy(dtype=float)))
    low, high = np.full(len(names), np.nan), np.full(len(names), np.nan)
    k = len(names_est)
    if method == "wald":
        z = stats.norm.ppf(0.5 + level / 2)
        se = fixed["se"].to_numpy(dtype=float)
        low[k:], high[k:] = estimate[k:] - z * se, estimate[k:] + z * se
        n_boot = None
    else:
        n = check_positive_int(n, "confint", "n", minimum=100)
        Y = simulate_outcomes(result, n, check_random_state(rng))
        refits = refit_outcomes(result, Y, progress=progress)
        draws = np.full((n, len(names)), np.nan)
        for r in np.flatnonzero(refits.ok):
            covs = [c[r] for c in refits.covariances]
            draws[r, :k] = [v for _, v in _variance_rows(design, covs, refits.sigma2[r])]
            draws[r, k:] = refits.beta[r]
        alpha = (1 - level) / 2
        kept = draws[refits.ok]
        low, high = np.nanquantile(kept, alpha, axis=0), np.nanquantile(kept, 1 - alpha, axis=0)
        n_boot = int(refits.ok.sum())
    out = pd.DataFrame({"estimate": estimate, "ci_low": low, "ci_high": high, "method": method},
                       index=pd.Index(names, name="parameter"))
    if n_boot is not None:
        out.attrs["n_boot"] = n_boot
    return out
