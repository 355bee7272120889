"""Confidence intervals for every parameter of a fitted model: Wald for fixed effects, parametric bootstrap for all.

:func:`confint` returns one tidy row per parameter in lme4's order and naming (``confint(m, oldNames =
FALSE)``): the standard deviations and correlations of each grouping factor's random effects, ``sigma``, then
the fixed effects. ``method="wald"`` gives estimate ± z·SE for fixed effects (and, as lme4, nothing for the
variance parameters, whose sampling distributions are skewed and bounded at 0); ``method="profile"`` inverts the
likelihood-ratio test of each parameter (lme4's default); ``method="boot"`` gives
percentile intervals from refits to data sets simulated from the fit (lme4's ``bootMer``), which can reach 0
for a standard deviation.

Taught in lesson 10 (reporting) and lesson 06 (the parametric bootstrap).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mlmlab._checks import argument_error, check_choice, check_positive_int, check_random_state, check_result
from mlmlab.deviance import Deviance
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


def confint(result, *, method="wald", level=0.95, n=1000, rng=None, progress=False) -> pd.DataFrame:
    """Confidence intervals for a fitted model's parameters, as lme4's ``confint``.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.
    method : {"wald", "profile", "boot"}, default="wald"
        ``"wald"``: estimate ± z·SE for the fixed effects (none for variance parameters). ``"profile"``:
        profile-likelihood intervals for every parameter, lme4's default (of the ML fit, as lme4). ``"boot"``:
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
        ``estimate`` (the fit's own, REML or ML), ``ci_low``, ``ci_high`` and ``method``. For ``"boot"``,
        ``attrs["n_boot"]`` is the number of refits that succeeded. Profile intervals are those of the ML fit,
        as lme4's, and agree with lme4's to about 1e-4 of their width.

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
    check_choice(method, ["wald", "profile", "boot"], "confint", "method")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise argument_error("confint", "level", "a confidence level between 0 and 1, such as 0.95", level)
    design = result.design
    names_est = _variance_rows(design, result.covariances, result.sigma2)
    fixed = result.fixed_table("z")  # Wald: estimate ± z·SE, as lme4
    names = [name for name, _ in names_est] + list(fixed.index)
    estimate = np.array([v for _, v in names_est] + list(fixed["estimate"].to_numpy(dtype=float)))
    low, high = np.full(len(names), np.nan), np.full(len(names), np.nan)
    k = len(names_est)
    if method == "wald":
        z = stats.norm.ppf(0.5 + level / 2)
        se = fixed["se"].to_numpy(dtype=float)
        low[k:], high[k:] = estimate[k:] - z * se, estimate[k:] + z * se
        n_boot = None
    elif method == "profile":
        bounds = _profile_intervals(result, level)
        low, high = bounds[:, 0], bounds[:, 1]
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


# --------------------------------------------------------------------------- profile likelihood

def _minimise(f, x0, bounds):
    """(argmin, min) of f from x0 within box bounds (L-BFGS-B with tight tolerances).

    Where the deviance cannot be evaluated (a variance so large that XᵀV⁻¹X is numerically singular) it counts as
    very large, which keeps the search away from there."""
    def safe(x):
        try:
            value = f(x)
        except (np.linalg.LinAlgError, RuntimeError, ValueError, FloatingPointError):
            return 1e12
        return value if np.isfinite(value) else 1e12

    res = optimize.minimize(safe, x0, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-11, "gtol": 1e-7, "maxiter": 500})
    return res.x, float(res.fun)


def _safe(f, x) -> float:
    """f(x), or a very large deviance where it cannot be evaluated."""
    try:
        value = f(x)
    except (np.linalg.LinAlgError, RuntimeError, ValueError, FloatingPointError):
        return 1e12
    return value if np.isfinite(value) else 1e12


def _sdcor_bounds(dev):
    """Box bounds on lme4's profile scale: SDs at least 0, correlations in [-1, 1], sigma positive."""
    bounds = []
    for rows, cols in dev.tri:
        for i, j in zip(rows, cols):
            bounds.append((0.0, None) if i == j else (-1.0, 1.0))
    bounds.append((1e-8, None))
    return bounds


def _profile_intervals(result, level: float) -> np.ndarray:
    """Profile-likelihood intervals (rows: lme4's variance parameters, then the fixed effects; columns: low, high).

    As lme4, the ML fit is profiled (a REML fit is refitted by ML first): for each parameter held at a value the
    deviance is minimised over all the others, and the interval is where it stays within the χ²₁ quantile of its
    minimum. Variance parameters are held on lme4's scale (SDs, correlations, σ), a fixed effect by moving it into
    the outcome. An SD whose profile stays below the cut-off down to 0 gets the limit 0.
    """
    ml = result.refit(reml=False) if result.reml else result
    dev = Deviance.of(ml, reml=False)
    v_hat = dev.sdcor_from_phi(dev.phi_hat)
    f_full = lambda v: dev.deviance(dev.phi_from_sdcor(v))
    bounds = _sdcor_bounds(dev)
    v_hat, d_min = _minimise(f_full, v_hat, bounds)
    crit = stats.chi2.ppf(level, 1)
    out = []
    # variance parameters
    for k in range(len(v_hat)):
        others = [i for i in range(len(v_hat)) if i != k]
        state = {"x": v_hat[others].copy()}

        def zeta(value):
            def g(w):
                v = v_hat.copy(); v[others] = w; v[k] = value
                return f_full(v)
            w, d = _minimise(g, state["x"], [bounds[i] for i in others]) if others else (np.zeros(0), _safe(g, np.zeros(0)))
            state["x"] = w
            return d - d_min - crit

        lo_b, hi_b = bounds[k]
        low = _root(zeta, v_hat[k], lo_b if lo_b is not None else -np.inf, down=True, crit=crit)
        state["x"] = v_hat[others].copy()
        high = _root(zeta, v_hat[k], hi_b if hi_b is not None else np.inf, down=False, crit=crit)
        out.append((low, high))
    # fixed effects: hold gamma_j at a value by moving it into the outcome
    X = dev.X
    beta_hat = ml.fixef.to_numpy(dtype=float)
    se = ml.fixed_table("z")["se"].to_numpy(dtype=float)
    # (σ is profiled out analytically here: the minimum over θ alone)
    root_crit_se = np.sqrt(crit)  # the Wald limit is the first guess
    theta_bounds = [(0.0, None) if i == j else (None, None) for rows, cols in dev.tri for i, j in zip(rows, cols)]
    for j in range(X.shape[1]):
        keep = [c for c in range(X.shape[1]) if c != j]
        state = {"x": dev.phi_hat[:-1].copy()}

        def zeta(value):
            d_j = Deviance(ml.design, reml=False, X=X[:, keep], y=dev.y - value * X[:, j])
            x, d = _minimise(d_j.profiled, state["x"], theta_bounds)
            state["x"] = x
            return d - d_min - crit

        low = _root(zeta, beta_hat[j], -np.inf, down=True, crit=crit, step=root_crit_se * se[j])
        state["x"] = dev.phi_hat[:-1].copy()
        high = _root(zeta, beta_hat[j], np.inf, down=False, crit=crit, step=root_crit_se * se[j])
        out.append((low, high))
    return np.array(out, dtype=float)


def _root(zeta, at, limit, *, down, crit, step=None):
    """The value between ``at`` and ``limit`` where the profile reaches the cut-off; the limit if it never does.

    ``zeta(x)`` is the profiled deviance at x minus its minimum minus ``crit`` (negative at ``at``). The search
    runs on lme4's signed square-root scale, √(deviance − minimum) − √crit, which is close to linear in x (exactly
    so for a fixed effect with known variances): each step extrapolates the line through the last two points
    (at most four times as far as the last step), and Brent's method finishes in the bracket found.
    """
    sign = -1.0 if down else 1.0
    root_crit = np.sqrt(crit)
    # Each value is computed once: the inner minimisation is warm-started from the last point, so computing it
    # again from elsewhere can differ in the last digits, and Brent's method must see the bracket's signs as found.
    seen = {at: -root_crit}

    def r(x):
        if x not in seen:
            seen[x] = np.sqrt(max(zeta(x) + crit, 0.0)) - root_crit
        return seen[x]

    h = step if step is not None else max(abs(at), 1e-3) * 0.5
    x0, r0 = at, -root_crit
    x1 = at + sign * h
    for _ in range(100):
        if np.isfinite(limit) and sign * (x1 - limit) >= 0:
            x1 = limit
        r1 = r(x1)
        if r1 >= 0:
            break
        if x1 == limit:
            return float(limit)
        last = x1 - x0
        slope = (r1 - r0) / last
        ahead = -r1 / slope if slope * sign > 0 else 4 * last  # the line's root, or further if the line won't do
        ahead = float(np.clip(abs(ahead), 0.1 * abs(last), 4 * abs(last)))
        x0, r0, x1 = x1, r1, x1 + sign * ahead
        if abs(x1 - at) > 1e8 * max(h, 1.0):
            return float(sign * np.inf)
    else:
        return float(sign * np.inf)
    lo, hi = (x1, x0) if down else (x0, x1)
    return float(optimize.brentq(r, lo, hi, xtol=1e-5 * h, rtol=1e-8))
