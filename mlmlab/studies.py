"""Ready-made simulation studies for the lessons.

Each study simulates many data sets whose truth is known, fits them all at once with
:func:`mlmlab.engine.fit_many` (or its one-design-per-replicate variant), and returns a tidy DataFrame:
one row per condition (and, where it helps, per parameter or method), never printed or rounded.
Where the model has predictors, every data set gets its own draw of them (new groups every time), so
the Monte Carlo results average over designs as well as outcomes.

* :func:`ols_vs_mlm` — what ignoring clustering does to standard errors and type-I error;
* :func:`ml_vs_reml_bias` — ML underestimates variances with few groups, REML much less;
* :func:`lrt_null_distribution` — the likelihood-ratio statistic for τ00 = 0 is a 50:50 mixture of
  χ²₀ and χ²₁, so the naive χ²₁ p-value is too large; :func:`lrt_rejection_rates` summarises it;
* :func:`sample_size_study` — bias, CI coverage and power by number of groups and group size, for a
  continuous level-2 predictor or a 0/1 programme given to half of the groups;
* :func:`cluster_randomised_power` — the exact power of the level-2 t test for such a programme (a
  cluster-randomised design), by the noncentral t distribution: the formula the simulation is checked against;
* :func:`design_power` — power and coverage for designs as they are run: unequal cluster sizes, attrition,
  a random slope and a cross-level interaction.

All take ``rng`` (None, an int, or a Generator: the same int gives the same table) and show a
notebook-aware progress bar (``tqdm.auto``) when they run longer than a second; ``progress=False``
turns it off.

Tests of fixed effects in the multilevel model use t distributions with the *between-within*
degrees of freedom of R's nlme: J − 1 − (number of level-2 predictors) for a level-2 predictor,
n − J − (number of level-1 predictors) for a level-1 predictor. For a balanced random-intercept
design the level-2 test is then exact.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from mlmlab import engine
from mlmlab._checks import argument_error, check_choice, check_positive_int, check_random_state
from mlmlab.boundary import mixture_pvalue
from mlmlab.simulate import simulate_two_level_many

__all__ = ["ols_vs_mlm", "ml_vs_reml_bias", "lrt_null_distribution", "lrt_rejection_rates", "sample_size_study",
           "cluster_randomised_power", "design_power"]

_CHUNK = 250  # replicates simulated and fitted per batch (one progress-bar step)


# ----------------------------------------------------------------------------- helpers
_RNG_PROGRESS = """rng : None, int or numpy.random.Generator, default=None
    Source of randomness.
progress : bool, default=True
    Show a progress bar (only if the study takes more than a second)."""


def _shared_params(study):
    """Write the parameters every study shares (``rng``, ``progress``) into its docstring.

    The text takes the indentation of the ``{rng_progress}`` line, so it lines up both where the docstring
    keeps its indentation (Python ≤ 3.12) and where the compiler strips it (Python ≥ 3.13).
    """
    doc = study.__doc__
    if doc:
        for line in doc.splitlines():
            if line.strip() == "{rng_progress}":
                indent = line[: len(line) - len(line.lstrip())]
                block = "\n".join(indent + text if text else text for text in _RNG_PROGRESS.splitlines())
                doc = doc.replace(line, block)
        study.__doc__ = doc
    return study


def _progress(n_conditions, n_reps, progress, desc):
    """One bar step per block of replicates of every condition."""
    return tqdm(total=n_conditions * len(_chunks(n_reps)), disable=not progress, desc=desc, delay=1.0, leave=False)


def _collect(n_reps, bar, one_block):
    """Run ``one_block(size)`` on the replicates block by block; join its dict of arrays along replicates."""
    parts = []
    for size in _chunks(n_reps):
        parts.append(one_block(size))
        bar.update()
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _check_values(values, func, arg, *, integer=False, low=None, high=None, low_open=False, high_open=False,
                  fix=""):
    """A non-empty 1-D list of numbers within bounds (``fix``: the next step, added to a bounds error)."""
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise argument_error(func, arg, "a non-empty list of numbers", values, kind=TypeError)
    out = []
    for v in arr:
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.number)):
            raise argument_error(func, arg, "a list of numbers", values, kind=TypeError)
        if integer and v != int(v):
            raise argument_error(func, arg, "a list of whole numbers", values)
        bad_low = low is not None and (v <= low if low_open else v < low)
        bad_high = high is not None and (v >= high if high_open else v > high)
        if bad_low or bad_high:
            lo = "" if low is None else f"{'>' if low_open else '≥'} {low}"
            hi = "" if high is None else f"{'<' if high_open else '≤'} {high}"
            rng_txt = " and ".join(t for t in (lo, hi) if t)
            raise argument_error(func, arg, f"a list of numbers {rng_txt}", values, detail=f"{v!r} is not", fix=fix)
        out.append(int(v) if integer else float(v))
    return out


def _check_alpha(alpha, func):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise argument_error(func, "alpha", "a number between 0 and 1", alpha)
    return float(alpha)


def _check_variance(v, func, arg, *, positive=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0 or (positive and v == 0):
        raise argument_error(func, arg, "a positive number" if positive else "a non-negative number", v)
    return float(v)


def _check_fixed(fixed, func, keys):
    """The true fixed effects as a dict over ``keys`` (missing ones 0; default Intercept 0, x 0.3, w 0.3)."""
    if fixed is None:
        fixed = {"Intercept": 0.0, "x": 0.3, "w": 0.3}
    if not isinstance(fixed, dict) or any(k not in keys for k in fixed):
        raise argument_error(func, "fixed", f"a dict with keys among {', '.join(keys)}", fixed,
                             fix="For example fixed={'Intercept': 0, 'x': 0.3, 'w': 0.3}.")
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) for v in fixed.values()):
        raise argument_error(func, "fixed", "a dict whose values are finite numbers", fixed, kind=TypeError)
    return {k: float(fixed.get(k, 0.0)) for k in keys}


def _chunks(n_reps):
    full, rest = divmod(n_reps, _CHUNK)
    return [_CHUNK] * full + ([rest] if rest else [])


def _ols_fit(Y, X):
    """Least squares for every row of Y: coefficients (R, p), residual sums of squares (R,) and XᵀX.

    X is (n, p), shared by the rows of Y (XᵀX is then (p, p)), or (R, n, p), one design per row
    (XᵀX is (R, p, p)).
    """
    if X.ndim == 3:
        XtX = np.swapaxes(X, 1, 2) @ X
        B = np.linalg.solve(XtX, np.einsum("rn,rnp->rp", Y, X)[..., None])[..., 0]
        resid = Y - np.einsum("rnp,rp->rn", X, B)
    else:
        XtX = X.T @ X
        B = Y @ X @ np.linalg.inv(XtX)
        resid = Y - B @ X.T
    return B, np.einsum("rn,rn->r", resid, resid), XtX


def _ols(Y, X):
    """OLS for every row of Y at once: coefficients (R, p) and their usual SEs (R, p); X as in _ols_fit."""
    n, p = X.shape[-2:]
    B, rss, XtX = _ols_fit(Y, X)
    s2 = rss / (n - p)
    return B, np.sqrt(s2[:, None] * np.diagonal(np.linalg.inv(XtX), axis1=-2, axis2=-1))


def _ols_llf(Y, X, reml):
    """Log-likelihood of the model without random effects (the engine's θ = 0), every row of Y.

    X is (n, p), shared by the rows of Y, or (R, n, p), one design per row.
    """
    n, p = X.shape[-2:]
    _, rss, XtX = _ols_fit(Y, X)
    k = n - p if reml else n
    dev = k * (1 + np.log(2 * np.pi * rss / k))
    if reml:
        dev = dev + np.linalg.slogdet(XtX)[1]
    return -0.5 * dev


def _simulate_designs(J, m, levels, beta, tau2, sigma2, R, rng, *, level2="normal"):
    """R data sets y = Xβ + u0j + e, each with its own fixed-effects design (new groups every time).

    X has an intercept column, then one predictor per entry of ``levels``: 1 draws it per unit
    (N(0, 1)), 2 per group (constant within the group): N(0, 1) for ``level2="normal"``, or 0/1 with
    exactly J // 2 groups, chosen at random, set to 1 for ``level2="binary"``. Returns Y (R, n),
    X (R, n, 1 + len(levels)) and the group codes (n,), shared by the replicates (J groups of m units).
    """
    codes = np.repeat(np.arange(J), m)
    n = codes.size
    columns = [np.ones((R, n))]
    for level in levels:
        if level == 1:
            columns.append(rng.standard_normal((R, n)))
        elif level2 == "binary":
            columns.append(_balanced_binary(J, R, rng)[:, codes])
        else:
            columns.append(rng.standard_normal((R, J))[:, codes])
    X = np.stack(columns, axis=2)
    u = np.sqrt(tau2) * rng.standard_normal((R, J))[:, codes]
    e = np.sqrt(sigma2) * rng.standard_normal((R, n))
    Y = X @ np.asarray(beta, dtype=float) + u + e
    return Y, X, codes


def _balanced_binary(J, R, rng):
    """(R, J) array of 0/1: in every row J // 2 groups, chosen at random, are 1 (the treated half)."""
    ranks = np.argsort(rng.random((R, J)), axis=1)
    return (ranks < J // 2).astype(float)


def _between_within_df(n, J, level):
    """nlme's denominator degrees of freedom: per fixed-effect column, given its level (1 or 2)."""
    level = np.asarray(level)
    n2, n1 = int(np.sum(level == 2)), int(np.sum(level == 1))
    return np.where(level == 2, J - 1 - n2, n - J - n1)


def _two_sided_p(est, se, df):
    return 2 * stats.t.sf(np.abs(est / se), df)


def _fit_designs(Y, X, codes, *, reml=True):
    """Random-intercept fits of every replicate, each with its own design X[r]."""
    return engine._fit_many_designs(Y, X, _intercept(Y), codes, reml=reml)


def _intercept(Y):
    """Z of the random-intercept model: a column of ones, one row per unit."""
    return np.ones((Y.shape[1], 1))


def _lr_random_intercept(fits, Y, X, reml):
    """LR = 2(ℓ_mixed − ℓ_no-groups) for H0: τ00 = 0, exactly 0 where the fit sits on the boundary."""
    lr = 2 * (fits.llf - _ols_llf(Y, X, reml))
    return np.where(fits.theta[:, 0] == 0, 0.0, np.maximum(lr, 0.0))


def _estimate_summary(est, truth):
    """Columns truth, mean, bias, relative_bias (NaN for a truth of 0) and sd of one parameter's estimates."""
    mean = est.mean()
    return {"truth": truth, "mean": mean, "bias": mean - truth,
            "relative_bias": (mean - truth) / truth if truth != 0 else np.nan, "sd": est.std(ddof=1)}


# ----------------------------------------------------------------------------- OLS vs MLM
@_shared_params
def ols_vs_mlm(icc_values, group_sizes, *, n_groups=30, n_reps=500, effect=0.0, alpha=0.05, rng=None,
               progress=True):
    """Type-I error and standard errors when clustering is ignored (OLS) or modelled (MLM).

    For every ICC ρ and group size n, ``n_reps`` data sets of ``n_groups`` groups are simulated from
    y_ij = γ00 + γ01 w_j + γ10 x_ij + u0j + e_ij with τ00 = ρ and σ² = 1 − ρ (total variance 1),
    w a level-2 and x a level-1 predictor (both N(0, 1)), γ01 = γ10 = ``effect``. Each is fitted by
    OLS (``y ~ w + x``) and by the random-intercept model (REML, :func:`mlmlab.engine.fit_many`),
    and both predictors' coefficients are tested at level ``alpha``.

    Parameters
    ----------
    icc_values : list of float
        Intraclass correlations ρ in [0, 1).
    group_sizes : list of int
        Units per group n (at least 2).
    n_groups : int, default=30
        Number of groups J.
    n_reps : int, default=500
        Simulated data sets per condition.
    effect : float, default=0.0
        True value of γ01 and γ10; 0 makes the rejection rates type-I error rates.
    alpha : float, default=0.05
        Significance level.
    {rng_progress}

    Returns
    -------
    DataFrame
        One row per ICC, group size and predictor, with columns ``icc``, ``group_size``,
        ``n_groups``, ``predictor`` ("w" or "x"), ``level`` (2 or 1), ``design_effect``
        (1 + (n − 1)ρ), ``sd_ols`` (empirical SD of the OLS estimates), ``se_ols`` (mean OLS SE),
        ``se_mlm`` (mean multilevel SE), ``se_ratio`` (se_mlm / se_ols), ``variance_inflation``
        ((sd_ols / se_ols)², the true over the claimed variance of OLS), ``type1_ols`` and
        ``type1_mlm`` (rejection rates; power when ``effect`` ≠ 0), ``mc_se`` (Monte Carlo SE of a
        rejection rate equal to ``alpha``), ``n_reps``.

    Notes
    -----
    For a level-2 predictor the OLS variance is too small by about the design effect
    1 + (n − 1)ρ, so ``variance_inflation`` and ``se_ratio``² track it and ``type1_ols`` grows with
    ρ and n; for a level-1 predictor the inflation stays near (or below) 1. The multilevel tests use
    t with between-within degrees of freedom (module notes). Both predictors are drawn afresh for
    every data set, so ``sd_ols`` is the spread over designs as well as outcomes; averaged over
    designs, ``variance_inflation`` runs slightly above the design effect (Jensen's inequality over
    the designs, and OLS's residual variance missing part of τ00): about 3 % for 30 groups of 10 at
    ρ = 0.2, more with fewer groups.

    Examples
    --------
    >>> tab = ols_vs_mlm([0.0, 0.2], [10], n_reps=500, rng=1, progress=False)
    >>> tab[["icc", "predictor", "design_effect", "variance_inflation", "type1_ols", "type1_mlm"]].round(2)
       icc predictor  design_effect  variance_inflation  type1_ols  type1_mlm
    0  0.0         w            1.0                0.90       0.05       0.03
    1  0.0         x            1.0                1.04       0.06       0.06
    2  0.2         w            2.8                2.72       0.24       0.03
    3  0.2         x            2.8                1.00       0.05       0.05

    Taught in lesson 01.
    """
    func = "ols_vs_mlm"
    iccs = _check_values(icc_values, func, "icc_values", low=0.0, high=1.0, high_open=True)
    sizes = _check_values(group_sizes, func, "group_sizes", integer=True, low=2)
    J = check_positive_int(n_groups, func, "n_groups", minimum=3)
    R = check_positive_int(n_reps, func, "n_reps")
    if isinstance(effect, bool) or not isinstance(effect, numbers.Real):
        raise argument_error(func, "effect", "a number", effect, kind=TypeError)
    alpha = _check_alpha(alpha, func)
    rng = check_random_state(rng)
    rows = []
    with _progress(len(iccs) * len(sizes), R, progress, func) as bar:
        for icc in iccs:
            for m in sizes:
                res = _collect(R, bar, lambda size: _ols_vs_mlm_block(J, m, icc, effect, alpha, size, rng))
                for k, (name, level) in enumerate((("w", 2), ("x", 1))):
                    sd = np.std(res["est"][:, k], ddof=1)
                    se_ols, se_mlm = res["se_ols"][:, k].mean(), res["se_mlm"][:, k].mean()
                    rows.append({
                        "icc": icc, "group_size": m, "n_groups": J, "predictor": name, "level": level,
                        "design_effect": 1 + (m - 1) * icc, "sd_ols": sd, "se_ols": se_ols, "se_mlm": se_mlm,
                        "se_ratio": se_mlm / se_ols, "variance_inflation": (sd / se_ols) ** 2,
                        "type1_ols": res["rej_ols"][:, k].mean(), "type1_mlm": res["rej_mlm"][:, k].mean(),
                        "mc_se": np.sqrt(alpha * (1 - alpha) / R), "n_reps": R,
                    })
    return pd.DataFrame(rows)


def _ols_vs_mlm_block(J, m, icc, effect, alpha, size, rng):
    """OLS and REML estimates, SEs and rejections for w and x (columns 0, 1) in ``size`` new data sets."""
    Y, X, codes = _simulate_designs(J, m, (2, 1), (0.0, effect, effect), icc, 1 - icc, size, rng)
    n = Y.shape[1]
    b_ols, s_ols = _ols(Y, X)
    fits = _fit_designs(Y, X, codes)
    cols = [1, 2]  # w, x
    return {"est": b_ols[:, cols], "se_ols": s_ols[:, cols], "se_mlm": fits.se[:, cols],
            "rej_ols": _two_sided_p(b_ols[:, cols], s_ols[:, cols], n - 3) < alpha,
            "rej_mlm": _two_sided_p(fits.beta[:, cols], fits.se[:, cols], _between_within_df(n, J, [2, 1])) < alpha}


# ----------------------------------------------------------------------------- ML vs REML
@_shared_params
def ml_vs_reml_bias(n_groups_values, *, group_size=10, tau2=0.5, sigma2=1.0, n_reps=500, rng=None, progress=True):
    """Bias of ML and REML estimates of τ00 and σ² across the number of groups.

    Each data set follows y_ij = γ00 + γ10 x_ij + u0j + e_ij (γ = 0, x ~ N(0, 1) at level 1, drawn
    afresh for every data set) and is fitted twice, by ML and by REML, with :func:`mlmlab.engine.fit_many`.

    Parameters
    ----------
    n_groups_values : list of int
        Numbers of groups J (at least 2) to compare.
    group_size : int, default=10
        Units per group.
    tau2 : float, default=0.5
        True random-intercept variance τ00.
    sigma2 : float, default=1.0
        True level-1 variance σ².
    n_reps : int, default=500
        Data sets per number of groups.
    {rng_progress}

    Returns
    -------
    DataFrame
        One row per number of groups, method and parameter: ``n_groups``, ``group_size``,
        ``method`` ("ML"/"REML"), ``parameter`` ("tau2"/"sigma2"), ``truth``, ``mean`` (of the
        estimates), ``bias``, ``relative_bias`` (bias / truth), ``sd`` (of the estimates),
        ``mc_se`` (Monte Carlo SE of the bias, sd/√n_reps), ``share_singular`` (singular fits, τ̂00 ≈ 0),
        ``n_reps``.

    Notes
    -----
    ML ignores the degrees of freedom spent on β, so for balanced data its τ̂00 is too small by
    about (τ00 + σ²/n)/J; REML removes this. REML estimates are truncated at 0, which adds a small
    positive bias when τ00 is small relative to σ²/n.

    Examples
    --------
    >>> tab = ml_vs_reml_bias([5, 50], n_reps=1000, rng=2, progress=False)
    >>> tab.query("parameter == 'tau2'")[["n_groups", "method", "bias", "mc_se"]].round(3)
       n_groups method   bias  mc_se
    0         5     ML -0.129  0.010
    2         5   REML -0.012  0.013
    4        50     ML -0.018  0.004
    6        50   REML -0.006  0.004

    Taught in lesson 05.
    """
    func = "ml_vs_reml_bias"
    Js = _check_values(n_groups_values, func, "n_groups_values", integer=True, low=2)
    m = check_positive_int(group_size, func, "group_size", minimum=2)
    tau2 = _check_variance(tau2, func, "tau2")
    sigma2 = _check_variance(sigma2, func, "sigma2", positive=True)
    R = check_positive_int(n_reps, func, "n_reps")
    rng = check_random_state(rng)
    rows = []
    with _progress(len(Js), R, progress, func) as bar:
        for J in Js:
            res = _collect(R, bar, lambda size: _ml_vs_reml_block(J, m, tau2, sigma2, size, rng))
            for meth in ("ML", "REML"):
                for par, truth in (("tau2", tau2), ("sigma2", sigma2)):
                    summary = _estimate_summary(res[meth, par], truth)
                    rows.append({"n_groups": J, "group_size": m, "method": meth, "parameter": par, **summary,
                                 "mc_se": summary["sd"] / np.sqrt(R),
                                 "share_singular": res[meth, "singular"].mean(), "n_reps": R})
    return pd.DataFrame(rows)


def _ml_vs_reml_block(J, m, tau2, sigma2, size, rng):
    """τ̂00, σ̂² and singular flags by ML and by REML for ``size`` new data sets."""
    Y, X, codes = _simulate_designs(J, m, (1,), (0.0, 0.0), tau2, sigma2, size, rng)
    out = {}
    for meth, reml in (("ML", False), ("REML", True)):
        fits = _fit_designs(Y, X, codes, reml=reml)
        out[meth, "tau2"], out[meth, "sigma2"], out[meth, "singular"] = fits.G[:, 0, 0], fits.sigma2, fits.singular
    return out


# ----------------------------------------------------------------------------- LRT null distribution
@_shared_params
def lrt_null_distribution(n_groups, group_size, *, n_reps=1000, methods=("REML", "ML"), alpha=0.05, rng=None,
                          progress=True):
    """Likelihood-ratio statistics for H0: τ00 = 0 on data simulated without any group effect.

    Each data set is pure noise (y_ij = γ00 + e_ij, σ² = 1); the random-intercept model is compared
    with the model without random effects (same fixed part) by LR = 2(ℓ_mixed − ℓ_no-groups).

    Parameters
    ----------
    n_groups : int
        Number of groups J.
    group_size : int
        Units per group.
    n_reps : int, default=1000
        Simulated data sets.
    methods : sequence of {"REML", "ML"}, default=("REML", "ML")
        Likelihoods to compare (both models are fitted with the same one).
    alpha : float, default=0.05
        Significance level of the rejection flags.
    {rng_progress}

    Returns
    -------
    DataFrame
        One row per replicate and method: ``rep``, ``method``, ``lr`` (exactly 0 when τ̂00 = 0),
        ``p_naive`` (P(χ²₁ ≥ LR)), ``p_mixture`` (the 50:50 χ²₀/χ²₁ mixture: P(χ²₁ ≥ LR)/2 for
        LR > 0, else 1), ``reject_naive``, ``reject_mixture`` (p < ``alpha``).
        :func:`lrt_rejection_rates` summarises it.

    Notes
    -----
    Under H0 the variance sits on the edge of its parameter space, so in about half of the data
    sets τ̂00 = 0 and LR = 0; otherwise LR behaves like χ²₁ (Self & Liang 1987; Stram & Lee 1994).
    The naive χ²₁ test therefore rejects at about alpha/2; halving its p-value fixes it. In finite
    samples a little more than half of the LRs are 0 (for balanced data exactly the probability
    that the between-group mean square is below the within-group one, an F probability, for REML),
    so even the mixture test is slightly conservative.

    Examples
    --------
    >>> tab = lrt_null_distribution(20, 10, n_reps=1000, rng=3, progress=False)
    >>> lrt_rejection_rates(tab)[["method", "share_zero", "reject_naive", "reject_mixture"]].round(3)
      method  share_zero  reject_naive  reject_mixture
    0     ML       0.611         0.020           0.036
    1   REML       0.542         0.025           0.045

    Taught in lesson 06.
    """
    func = "lrt_null_distribution"
    J = check_positive_int(n_groups, func, "n_groups", minimum=2)
    m = check_positive_int(group_size, func, "group_size", minimum=2)
    R = check_positive_int(n_reps, func, "n_reps")
    if isinstance(methods, str):
        methods = (methods,)
    methods = [check_choice(meth, ("REML", "ML"), func, "methods") for meth in methods]
    alpha = _check_alpha(alpha, func)
    rng = check_random_state(rng)
    with _progress(1, R, progress, func) as bar:
        lrs = _collect(R, bar, lambda size: _lrt_null_block(J, m, methods, size, rng))
    frames = []
    for meth in methods:
        lr = lrs[meth]
        p_naive = stats.chi2.sf(lr, 1)
        p_mix = mixture_pvalue(np.where(np.isfinite(lr), lr, 0.0), 0)  # a failed replicate counts as p = 1
        frames.append(pd.DataFrame({"rep": np.arange(R), "method": meth, "lr": lr, "p_naive": p_naive,
                                    "p_mixture": p_mix, "reject_naive": p_naive < alpha,
                                    "reject_mixture": p_mix < alpha}))
    return pd.concat(frames, ignore_index=True)


def _lrt_null_block(J, m, methods, size, rng):
    """LR for τ00 = 0 by each method on ``size`` pure-noise data sets (intercept only: one shared design)."""
    reps = simulate_two_level_many(J, m, fixed={"Intercept": 0.0}, G=0.0, sigma=1.0, predictors={}, n_reps=size,
                                   rng=rng)
    out = {}
    for meth in methods:
        reml = meth == "REML"
        fits = engine.fit_many(reps.Y, reps.X, reps.Z, reps.groups, reml=reml)
        out[meth] = _lr_random_intercept(fits, reps.Y, reps.X, reml)
    return out


def lrt_rejection_rates(table):
    """Summarise :func:`lrt_null_distribution`: share of LR = 0 and rejection rates per method.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`lrt_null_distribution`.

    Returns
    -------
    DataFrame
        One row per method: ``method``, ``n_reps``, ``share_zero`` (share of LR = 0, about 0.5),
        ``reject_naive``, ``reject_mixture`` (rejection rates at the study's alpha), ``mc_se``
        (binomial Monte Carlo SE of a rate of 0.05).

    Examples
    --------
    >>> tab = lrt_null_distribution(10, 5, n_reps=50, methods="ML", rng=0, progress=False)
    >>> list(lrt_rejection_rates(tab).columns)
    ['method', 'n_reps', 'share_zero', 'reject_naive', 'reject_mixture', 'mc_se']

    Taught in lesson 06.
    """
    need = ["method", "lr", "reject_naive", "reject_mixture"]
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in need):
        raise argument_error("lrt_rejection_rates", "table", "the DataFrame returned by lrt_null_distribution",
                             table, detail="it needs columns " + ", ".join(need), kind=TypeError)
    g = table.groupby("method", sort=True)
    out = pd.DataFrame({
        "n_reps": g.size(),
        "share_zero": g["lr"].apply(lambda s: float(np.mean(s == 0))),
        "reject_naive": g["reject_naive"].mean(),
        "reject_mixture": g["reject_mixture"].mean(),
    }).reset_index()
    out["mc_se"] = np.sqrt(0.05 * 0.95 / out["n_reps"])
    return out


# ----------------------------------------------------------------------------- sample size
_LEVEL2 = ("normal", "binary")


def _check_level2(level2, func):
    if not isinstance(level2, str) or level2 not in _LEVEL2:
        raise argument_error(func, "level2", "one of 'normal', 'binary'", level2,
                             fix="Use level2='binary' for a 0/1 programme given to half of the groups, or "
                                 "level2='normal' for a continuous group characteristic drawn N(0, 1).")
    return level2


@_shared_params
def sample_size_study(n_groups_values, group_size_values, *, fixed=None, tau2=0.25, sigma2=1.0, level2="normal",
                      n_reps=500, alpha=0.05, test="t", rng=None, progress=True):
    """Bias, confidence-interval coverage and power by number of groups and group size.

    Data follow y_ij = γ00 + γ10 x_ij + γ01 w_j + u0j + e_ij with x a level-1 predictor (N(0, 1)),
    w a level-2 predictor, u0j ~ N(0, τ00), e_ij ~ N(0, σ²); each data set is fitted by REML with
    :func:`mlmlab.engine.fit_many`. The level-2 predictor is either a continuous group
    characteristic, N(0, 1) (``level2="normal"``: γ01 is the effect *per SD of w*), or a programme
    given to half of the groups, 0/1 (``level2="binary"``: γ01 is the difference between treated
    and untreated groups). The two are different things: the same γ01 is detected far more often
    for the first (see Notes).

    Parameters
    ----------
    n_groups_values : list of int
        Numbers of groups J (at least 3).
    group_size_values : list of int
        Units per group (at least 2).
    fixed : dict, default={"Intercept": 0, "x": 0.3, "w": 0.3}
        True fixed effects (keys Intercept, x, w; missing ones are 0), in units of y: per SD of x,
        and per SD of w or treated minus untreated, as ``level2`` says.
    tau2 : float, default=0.25
        True random-intercept variance τ00 (positive).
    sigma2 : float, default=1.0
        True level-1 variance σ².
    level2 : {"normal", "binary"}, default="normal"
        The level-2 predictor w. ``"normal"``: drawn N(0, 1) for every group. ``"binary"``: 0/1,
        with exactly J // 2 groups, chosen at random in every data set, set to 1 (a balanced
        cluster-randomised design; :func:`cluster_randomised_power` gives its power by formula).
    n_reps : int, default=500
        Data sets per condition.
    alpha : float, default=0.05
        1 − confidence level, and the level of the tests.
    test : {"t", "z"}, default="t"
        Reference distribution for the fixed effects: t with between-within degrees of freedom
        (module notes) or the standard normal (a Wald z test, what a plain summary table implies).
    {rng_progress}

    Returns
    -------
    DataFrame
        One row per J, group size and parameter ("x", "w", "tau2"): ``n_groups``, ``group_size``,
        ``parameter``, ``level`` (1, 2, or "variance"), ``truth``, ``mean``, ``bias``,
        ``relative_bias``, ``sd`` (empirical SD of the estimates), ``mean_se`` (mean reported SE;
        for tau2 the delta-method SE τ̂ · SE(log τ̂), over non-singular fits), ``coverage`` (share of
        (1 − alpha) intervals containing the truth, out of all data sets: t or z intervals for x and w,
        profile-likelihood intervals for tau2, see Notes), ``miss_low`` (share of intervals entirely
        below the truth; the other misses, 1 − coverage − miss_low, lie above it), ``share_lower_zero``
        (tau2: share of intervals whose lower limit is 0; NaN for x and w), ``power`` (share rejecting
        "parameter = 0"; for tau2 the LRT with the 50:50 χ²₀/χ²₁ mixture), ``share_singular`` (share
        of singular REML fits: τ̂00 = 0, or θ < 1e-4 as lme4 flags it), ``n_reps``.

    Raises
    ------
    ValueError
        For numbers of groups below 3, group sizes below 2, a ``level2`` other than "normal" or
        "binary", and the other bad values named in the message.

    Notes
    -----
    Intervals for τ00 are profile-likelihood intervals, those of lme4's ``confint(m, method =
    "profile")`` and of ``mlmlab.confint(m, method="profile")`` (squared: they are computed for
    the SD √τ00). As there, the *ML* deviance is profiled, though the estimates are REML: the SD of
    the random intercept is held at a value and the ML deviance minimised over σ² and β, and the
    interval holds every τ00 whose profiled deviance is within χ²₁,₁₋alpha (3.84 for alpha = 0.05)
    of the ML minimum. Such an interval can reach 0: its lower limit is 0 whenever the model without
    a group variance is within that cut-off, as it is for every singular fit. Each data set's
    interval is computed exactly (to about 1e-6), without a refit: for a random-intercept model with
    equal groups the profile has a closed form in one parameter. With few groups the intervals still
    miss more often than alpha, mostly by lying below the truth (``miss_low``): ML underestimates
    τ00 with few groups (:func:`ml_vs_reml_bias`) and the χ²₁ cut-off is a large-sample rule.

    The level-2 effect is estimated from the J group means, each with variance τ00 + σ²/n, so
    Var(γ̂01) ≈ (τ00 + σ²/n) / Σ_j (w_j − w̄)². For ``level2="normal"`` w is drawn afresh for
    every data set, so ``sd`` is the spread over designs as well as outcomes: close to
    √((τ00 + σ²/n) / (J − 3)), the average over draws of w (Σ_j (w_j − w̄)² ~ χ²_{J−1}).
    For ``level2="binary"``, Σ_j (w_j − w̄)² = J/4 in every data set (even J): a 0/1 variable split
    in half has SD 1/2, so ``sd`` is close to √(4 (τ00 + σ²/n) / J), about twice as large, and
    ``power`` for w is close to :func:`cluster_randomised_power` (the level-1 predictor x aside,
    which changes it very little).

    Examples
    --------
    >>> tab = sample_size_study([10, 50], [5], n_reps=500, rng=4, progress=False)
    >>> tab[["n_groups", "parameter", "bias", "coverage", "power"]].round(2)
       n_groups parameter  bias  coverage  power
    0        10         x -0.00      0.94   0.50
    1        10         w  0.01      0.97   0.19
    2        10      tau2  0.01      0.89   0.43
    3        50         x -0.00      0.96   0.99
    4        50         w -0.00      0.95   0.82
    5        50      tau2 -0.00      0.95   0.98

    With 10 groups of 5 most intervals for τ00 reach 0, every singular fit's among them; the misses
    are mostly intervals below the truth:

    >>> tab.query("parameter == 'tau2'")[["n_groups", "coverage", "miss_low", "share_lower_zero",
    ...                                   "share_singular"]].round(2)
       n_groups  coverage  miss_low  share_lower_zero  share_singular
    2        10      0.89      0.10              0.75           0.13
    5        50      0.95      0.04              0.06           0.00

    A programme given to 10 of 20 schools, effect 0.4 (total variance τ00 + σ² = 1), by simulation
    (Monte Carlo SE of the power about 0.015) and by formula:

    >>> prog = sample_size_study([20], [20], fixed={"w": 0.4}, tau2=0.1, sigma2=0.9, level2="binary",
    ...                          n_reps=1000, rng=5, progress=False)
    >>> prog.query("parameter == 'w'")[["n_groups", "sd", "power"]].round(2)
       n_groups    sd  power
    1        20  0.17   0.63
    >>> cluster_randomised_power([20], [20], effect=0.4, tau2=0.1, sigma2=0.9)[["se", "power"]].round(2)
         se  power
    0  0.17    0.6

    Taught in lesson 08.
    """
    func = "sample_size_study"
    Js = _check_values(n_groups_values, func, "n_groups_values", integer=True, low=3)
    ms = _check_values(group_size_values, func, "group_size_values", integer=True, low=2)
    fixed = _check_fixed(fixed, func, ("Intercept", "x", "w"))
    tau2 = _check_variance(tau2, func, "tau2", positive=True)
    sigma2 = _check_variance(sigma2, func, "sigma2", positive=True)
    level2 = _check_level2(level2, func)
    R = check_positive_int(n_reps, func, "n_reps")
    alpha = _check_alpha(alpha, func)
    test = check_choice(test, ("t", "z"), func, "test")
    rng = check_random_state(rng)
    z = stats.norm.ppf(1 - alpha / 2)
    beta_true = (fixed["Intercept"], fixed["x"], fixed["w"])
    rows = []
    with _progress(len(Js) * len(ms), R, progress, func) as bar:
        for J in Js:
            for m in ms:
                res = _collect(R, bar, lambda size: _sample_size_block(J, m, beta_true, tau2, sigma2, level2, size,
                                                                       1 - alpha, rng))
                beta, se, singular = res["beta"], res["se"], res["singular"]
                df = _between_within_df(J * m, J, [1, 2])
                if test == "t":
                    crit, pval = stats.t.ppf(1 - alpha / 2, df), _two_sided_p(beta, se, df)
                else:
                    crit, pval = np.full(2, z), 2 * stats.norm.sf(np.abs(beta / se))
                for k, (name, level) in enumerate((("x", 1), ("w", 2))):
                    gamma = fixed[name]
                    lo, hi = beta[:, k] - crit[k] * se[:, k], beta[:, k] + crit[k] * se[:, k]
                    rows.append(_summary_row(J, m, name, level, gamma, beta[:, k], se[:, k],
                                             (lo <= gamma) & (gamma <= hi), hi < gamma, pval[:, k] < alpha, singular,
                                             np.zeros(R, bool), R))
                t2, se_log = res["tau2"], res["se_log"]
                lo, hi = res["tau2_low"], res["tau2_high"]
                p_boundary = mixture_pvalue(np.where(np.isfinite(res["lr"]), res["lr"], 0.0), 0)
                rows.append(_summary_row(J, m, "tau2", "variance", tau2, t2, t2 * se_log, (lo <= tau2) & (tau2 <= hi),
                                         hi < tau2, p_boundary < alpha, singular, singular, R, lower_zero=lo == 0))
    return pd.DataFrame(rows)


def _sample_size_block(J, m, beta_true, tau2, sigma2, level2, size, level, rng):
    """REML estimates and SEs of γ10, γ01 (x, w), τ̂00 with its log-scale SE and its profile-likelihood interval
    (confidence ``level``), and the LR, for ``size`` data sets."""
    Y, X, codes = _simulate_designs(J, m, (1, 2), beta_true, tau2, sigma2, size, rng, level2=level2)
    fits = _fit_designs(Y, X, codes)
    low, high = _tau2_profile_intervals(Y, X, J, m, level)
    return {"beta": fits.beta[:, 1:], "se": fits.se[:, 1:], "tau2": fits.G[:, 0, 0], "singular": fits.singular,
            "se_log": engine._log_variance_se_designs(Y, X, _intercept(Y), codes, fits)[:, 0],
            "tau2_low": low, "tau2_high": high, "lr": _lr_random_intercept(fits, Y, X, True)}


def _summary_row(J, m, name, level, truth, est, se, cover, miss_low, reject, singular, se_missing, R,
                 lower_zero=None):
    """One row of sample_size_study.

    ``cover`` and ``miss_low`` flag the intervals that contain the truth and those that lie below it;
    ``singular`` flags the singular fits; ``mean_se`` averages the SEs of the fits not flagged in ``se_missing``
    (the singular ones for tau2, none for fixed effects); ``lower_zero`` flags the intervals that reach 0 (tau2).
    """
    return {
        "n_groups": J, "group_size": m, "parameter": name, "level": level, **_estimate_summary(est, truth),
        "mean_se": np.nanmean(np.where(se_missing, np.nan, se)) if (~se_missing).any() else np.nan,
        "coverage": cover.mean(), "miss_low": miss_low.mean(),
        "share_lower_zero": np.nan if lower_zero is None else lower_zero.mean(),
        "power": reject.mean(), "share_singular": singular.mean(), "n_reps": R,
    }


# ----------------------------------------------------------------------------- profile intervals for τ00
# Relative variances v = m τ00/σ² (= m θ² for groups of m, θ lme4's relative SD) at which the ML deviance and its
# profile are first evaluated: 0 (the model without groups), then from 1e-8 to 1e8 in steps of a factor 2.15; the
# minimum and the interval's limits are then found between two neighbours.
_V_GRID = np.concatenate([[0.0], np.geomspace(1e-8, 1e8, 49)])


def _ri_pieces(Y, X, J, m):
    """What the ML deviance of the random-intercept model needs, for every replicate (J groups of m, in order).

    With W the within-group and B the between-group (group means) projection and w = σ²/(σ² + m τ00), the
    residual sum of squares left after generalised least squares is Q(w) = min_β (y − Xβ)ᵀ(W + wB)(y − Xβ).
    With XᵀX = LLᵀ and L⁻¹ XᵀWX L⁻ᵀ = U diag(ν) Uᵀ it is yᵀWy + w yᵀBy − Σ_k (c0_k + w c1_k)² / (ν_k + w (1 − ν_k)),
    c0 = UᵀL⁻¹XᵀWy and c1 = UᵀL⁻¹XᵀBy: a handful of numbers per replicate from which Q and its derivative
    follow at any w without solving a system again.
    """
    R, n = Y.shape
    p = X.shape[2]
    Ybar = Y.reshape(R, J, m).mean(axis=2)
    Xbar = X.reshape(R, J, m, p).mean(axis=2)
    Yw = (Y.reshape(R, J, m) - Ybar[:, :, None]).reshape(R, n)
    Xw = (X.reshape(R, J, m, p) - Xbar[:, :, None, :]).reshape(R, n, p)
    XwT, XbT = np.swapaxes(Xw, 1, 2), np.swapaxes(Xbar, 1, 2)
    A_within = XwT @ Xw
    Li = np.linalg.inv(np.linalg.cholesky(A_within + m * (XbT @ Xbar)))
    nu, U = np.linalg.eigh(Li @ A_within @ np.swapaxes(Li, 1, 2))
    T = np.swapaxes(U, 1, 2) @ Li
    return {"yWy": np.einsum("rn,rn->r", Yw, Yw), "yBy": m * np.einsum("rj,rj->r", Ybar, Ybar),
            "nu": np.clip(nu, 0.0, 1.0), "c0": (T @ (XwT @ Yw[:, :, None]))[:, :, 0],
            "c1": m * (T @ (XbT @ Ybar[:, :, None]))[:, :, 0], "n": n, "J": J, "m": m}


def _ri_q(pc, v):
    """Q(w) and dQ/dw (see _ri_pieces) at the relative variances v, shape (R, G), and w = 1/(1 + v)."""
    w = 1.0 / (1.0 + v)
    nu, c0, c1 = (pc[k][:, None, :] for k in ("nu", "c0", "c1"))
    a = c0 + w[..., None] * c1
    d = nu + w[..., None] * (1.0 - nu)
    ad = a / d
    q = pc["yWy"][:, None] + w * pc["yBy"][:, None] - np.sum(a * ad, axis=2)
    dq = pc["yBy"][:, None] - np.sum(ad * (2 * c1 - ad * (1.0 - nu)), axis=2)
    return q, dq, w


def _ri_ml_deviance(pc, v, q=None):
    """ML deviance (without n log 2π) at v with σ² at its best, n log(Q/n) + n + J log(1 + v), and its v-derivative.

    ``q``: the output of _ri_q at v, if already computed."""
    n, J = pc["n"], pc["J"]
    q, dq, w = _ri_q(pc, v) if q is None else q
    return n * np.log(q / n) + n + J * np.log1p(v), -n * dq * w * w / q + J / (1.0 + v)


def _ri_profile(pc, v, q=None):
    """The profile of the ML deviance over the random-intercept SD, traced by v: (deviance, τ00).

    For τ00 held at a value the deviance is minimised over σ² (and β); at the minimum v = m τ00/σ² satisfies
    σ² = (Q − w(1 − w) Q′) / (n − J(1 − w)), so every v gives one point of the profile, τ00 = σ² v / m, with
    deviance n log σ² + J log(1 + v) + Q/σ². ``q``: the output of _ri_q at v, if already computed.
    """
    n, J, m = pc["n"], pc["J"], pc["m"]
    q, dq, w = _ri_q(pc, v) if q is None else q
    s2 = (q - w * (1.0 - w) * dq) / (n - J * (1.0 - w))
    return n * np.log(s2) + J * np.log1p(v) + q / s2, s2 * v / m


def _illinois(f, a, b, fa, fb, *, tol=1e-12, iters=100):
    """Roots of f (vectorised over rows) in the brackets [a, b], fa and fb of opposite signs (Illinois method).

    A row whose bracket holds no sign change returns b."""
    a = np.where(fa * fb <= 0, a, b)
    for _ in range(iters):
        denom = fb - fa
        x = np.where(denom != 0, b - fb * (b - a) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        x = np.clip(x, np.minimum(a, b), np.maximum(a, b))
        fx = f(x)
        flip = fx * fb < 0
        a, fa = np.where(flip, b, a), np.where(flip, fb, 0.5 * fa)
        b, fb = x, fx
        if np.all((np.abs(b - a) <= tol * np.maximum(np.abs(b), 1e-300)) | (fx == 0)):
            break
    return b


def _tau2_profile_intervals(Y, X, J, m, level):
    """Profile-likelihood intervals for τ00 of the random-intercept model, one per replicate: (low, high).

    As ``mlmlab.confint(m, method="profile")`` and lme4's ``confint(method = "profile")``, the *ML* deviance is
    profiled (also for REML fits): the SD of the random intercept is held at a value and the deviance minimised over
    σ and β, and the interval holds every SD whose profile deviance stays within the χ²₁ quantile ``level`` of the
    ML minimum; squared, it is the interval for τ00. Where the profile at τ00 = 0 (the model without groups) stays
    within that cut-off, as for every singular ML fit, the lower limit is 0. Data: J groups of m units, in order.
    """
    pc = _ri_pieces(Y, X, J, m)
    R = Y.shape[0]
    crit = stats.chi2.ppf(level, 1)
    grid = np.broadcast_to(_V_GRID, (R, _V_GRID.size))
    idx = np.arange(R)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # the ML fit: the v that minimises the deviance (σ² and β at their best), 0 for a singular fit
        q_grid = _ri_q(pc, grid)
        dev, slope = _ri_ml_deviance(pc, grid, q_grid)
        k = np.argmin(np.where(np.isfinite(dev), dev, np.inf), axis=1)
        lo_k, hi_k = np.maximum(k - 1, 0), np.minimum(k + 1, _V_GRID.size - 1)
        a, b = _V_GRID[lo_k], _V_GRID[hi_k]
        fa, fb = slope[idx, lo_k], slope[idx, hi_k]
        bracket = (fa < 0) & (fb > 0)
        root = _illinois(lambda x: _ri_ml_deviance(pc, x[:, None])[1][:, 0], a, b, fa, fb)
        v_hat = np.where(bracket, root, np.where((k == 0) & (slope[:, 0] >= 0), 0.0, _V_GRID[k]))
        d_min = _ri_ml_deviance(pc, v_hat[:, None])[0][:, 0]
        # the profile along the grid; at v = 0 it is the deviance of the model without groups
        prof, _ = _ri_profile(pc, grid, q_grid)
        prof[:, 0] = dev[:, 0]
        excess = np.maximum(prof - d_min[:, None], 0.0)
        over = excess > crit

        def g(r):  # signed distance from the cut-off on lme4's square-root scale, at v = r²; r: (R, 2)
            return np.sqrt(np.maximum(_ri_profile(pc, r * r)[0] - d_min[:, None], 0.0)) - np.sqrt(crit)

        gx = np.sqrt(excess) - np.sqrt(crit)
        # upper limit: between the last grid point within the cut-off (or v̂) and the first one beyond it
        above = over & (_V_GRID > v_hat[:, None])
        has_up = above.any(axis=1)
        j = np.where(has_up, np.argmax(above, axis=1), 1)
        # lower limit: 0 if the model without groups is within the cut-off, else between the last grid point
        # beyond it below v̂ and the next one (or v̂)
        below = over & (_V_GRID < v_hat[:, None])
        has_low = below.any(axis=1)
        i = np.where(has_low, _V_GRID.size - 1 - np.argmax(below[:, ::-1], axis=1), 0)
        i1 = np.minimum(i + 1, _V_GRID.size - 1)
        # both roots at once: column 0 the lower limit, column 1 the upper
        a = np.sqrt(np.column_stack([_V_GRID[i], np.maximum(_V_GRID[j - 1], v_hat)]))
        b = np.sqrt(np.column_stack([np.minimum(_V_GRID[i1], v_hat), _V_GRID[j]]))
        fa = np.column_stack([gx[idx, i], np.where(_V_GRID[j - 1] > v_hat, gx[idx, j - 1], -np.sqrt(crit))])
        fb = np.column_stack([np.where(_V_GRID[i1] < v_hat, gx[idx, i1], -np.sqrt(crit)), gx[idx, j]])
        r = _illinois(g, a, b, fa, fb, tol=1e-10)
        limits = _ri_profile(pc, r * r)[1]
    high = np.where(has_up, limits[:, 1], np.inf)
    low = np.where(has_low, limits[:, 0], 0.0)
    return low, high


# ----------------------------------------------------------------------------- power by formula
def cluster_randomised_power(n_groups_values, group_size_values, *, effect, tau2=0.25, sigma2=1.0, alpha=0.05):
    """Power of the t test for a programme given to half of the groups (a cluster-randomised design).

    The model is y_ij = γ00 + γ01 w_j + u0j + e_ij, u0j ~ N(0, τ00), e_ij ~ N(0, σ²), with n units
    in each of J groups and w_j = 1 (treated) in J1 = J // 2 groups, 0 in the other J0 = J − J1.
    The test of γ01 = 0 is the level-2 t test with J − 2 degrees of freedom (what
    :func:`sample_size_study` runs); its power follows from the noncentral t distribution.

    Parameters
    ----------
    n_groups_values : list of int
        Numbers of groups J (at least 3: the test has J − 2 degrees of freedom).
    group_size_values : list of int
        Units per group n (at least 1).
    effect : float
        The programme's effect γ01, treated minus untreated, in units of y. With τ00 + σ² = 1 it is
        a standardised effect: a difference in SDs of the outcome (the total SD).
    tau2 : float, default=0.25
        Random-intercept variance τ00 (0 or more).
    sigma2 : float, default=1.0
        Level-1 variance σ² (positive).
    alpha : float, default=0.05
        Level of the two-sided test.

    Returns
    -------
    DataFrame
        One row per J and n: ``n_groups``, ``group_size``, ``effect``, ``design_effect``
        (1 + (n − 1)ρ with ρ = τ00 / (τ00 + σ²)), ``se`` (the true SE of γ̂01), ``df`` (J − 2),
        ``noncentrality`` (effect / se), ``power``.

    Raises
    ------
    ValueError
        If a number of groups is below 3, a group size below 1, τ00 negative, σ² not positive, or
        ``alpha`` outside (0, 1).
    TypeError
        If ``effect`` is not a number.

    Notes
    -----
    Each group mean has variance τ00 + σ²/n, and γ̂01 is the difference between the average group
    means of the two arms, so

        SE(γ̂01) = √((τ00 + σ²/n) (1/J1 + 1/J0)),  which is √(4 (τ00 + σ²/n) / J) for even J,

    the same as √(4 (τ00 + σ²) · deff / (J n)): the SE of comparing two halves of J n independent
    units, inflated by the design effect deff = 1 + (n − 1)ρ. The estimated SE pools the variance of
    the group means around their arm's average (J − 2 degrees of freedom), so
    T = γ̂01 / SÊ ~ t_{J−2}(δ), noncentral with δ = effect / SE, and

        power = P(T > t_{1−α/2, J−2}) + P(T < −t_{1−α/2, J−2}).

    For balanced data REML's estimate and SE of γ01 are exactly these whenever τ̂00 > 0. A level-2
    predictor with variance 1 over the groups (Σ_j (w_j − w̄)² = J) would have SE
    √((τ00 + σ²/n) / J), half as large: a 0/1 variable split in half has SD 1/2. An effect of d
    *per SD* of a continuous predictor and a programme effect of d are different things; the
    programme's power equals that of a per-SD effect of d/2.

    Examples
    --------
    A programme expected to raise scores by 0.4 SD, ρ = 0.1 (τ00 = 0.1, σ² = 0.9), classes of 20:

    >>> cluster_randomised_power([10, 20, 30, 40], [20], effect=0.4, tau2=0.1, sigma2=0.9).round(3)
       n_groups  group_size  effect  design_effect     se  df  noncentrality  power
    0        10          20     0.4            2.9  0.241   8          1.661  0.310
    1        20          20     0.4            2.9  0.170  18          2.349  0.604
    2        30          20     0.4            2.9  0.139  28          2.877  0.793
    3        40          20     0.4            2.9  0.120  38          3.322  0.899

    Taught in lesson 08.
    """
    func = "cluster_randomised_power"
    Js = _check_values(n_groups_values, func, "n_groups_values", integer=True, low=3,
                       fix="The t test of a programme has J − 2 degrees of freedom, so it needs 3 groups or more "
                           "(and at least one in each arm).")
    ns = _check_values(group_size_values, func, "group_size_values", integer=True, low=1,
                       fix="Give the number of units in each group, e.g. [20].")
    if isinstance(effect, bool) or not isinstance(effect, numbers.Real) or not np.isfinite(effect):
        raise argument_error(func, "effect", "a finite number", effect, kind=TypeError,
                             fix="Give the programme's effect in units of the outcome, e.g. effect=0.4.")
    tau2 = _check_variance(tau2, func, "tau2")
    sigma2 = _check_variance(sigma2, func, "sigma2", positive=True)
    alpha = _check_alpha(alpha, func)
    rows = []
    for J in Js:
        J1 = J // 2
        df = J - 2
        crit = stats.t.ppf(1 - alpha / 2, df)
        for n in ns:
            se = float(np.sqrt((tau2 + sigma2 / n) * (1 / J1 + 1 / (J - J1))))
            delta = float(effect) / se
            power = stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)
            rows.append({"n_groups": J, "group_size": n, "effect": float(effect),
                         "design_effect": 1 + (n - 1) * tau2 / (tau2 + sigma2), "se": se, "df": df,
                         "noncentrality": delta, "power": float(power)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- power for real designs
_DESIGN_TERMS = ("Intercept", "x", "w", "x:w")


@_shared_params
def design_power(n_groups_values, group_size_values, *, fixed=None, tau00=0.25, tau11=0.0, tau01=0.0,
                 sigma2=1.0, level2="binary", size_cv=0.0, attrition=0.0, n_reps=500, alpha=0.05, rng=None,
                 progress=True):
    """Power, bias and interval coverage of the fixed effects for designs as they are run, not as planned.

    Data follow y_ij = γ00 + γ10 x_ij + γ01 w_j + γ11 x_ij w_j + u0j + u1j x_ij + e_ij: x a level-1
    predictor (N(0, 1)), w a level-2 predictor (a programme given to half of the groups, or N(0, 1)), a
    cross-level interaction x·w, a random intercept and, when ``tau11 > 0``, a random slope of x. Beyond
    :func:`sample_size_study` the design can have unequal cluster sizes and lose units (attrition). Each
    data set is fitted by REML (:func:`mlmlab.engine.fit`), with a random slope exactly when ``tau11 > 0``.

    Parameters
    ----------
    n_groups_values : list of int
        Numbers of groups J (at least 4).
    group_size_values : list of int
        Mean units per group as planned (at least 2).
    fixed : dict, default={"Intercept": 0, "x": 0.3, "w": 0.3, "x:w": 0}
        True fixed effects (keys among Intercept, x, w, x:w; missing ones are 0).
    tau00, tau11, tau01 : float, default=0.25, 0, 0
        True intercept variance (positive), slope variance (0: no random slope) and their covariance.
    sigma2 : float, default=1.0
        True level-1 variance σ².
    level2 : {"binary", "normal"}, default="binary"
        w as 0/1 with exactly J // 2 groups treated (chosen at random in every data set), or N(0, 1).
    size_cv : float, default=0.0
        Coefficient of variation of the cluster sizes: sizes are drawn from a gamma distribution with the
        planned mean and this CV (rounded, at least 1); 0 gives equal sizes.
    attrition : float, default=0.0
        Share of units lost, each independently and completely at random (a group that loses every unit
        drops out), in [0, 0.9].
    n_reps : int, default=500
        Data sets per condition.
    alpha : float, default=0.05
        1 − confidence level, and the level of the two-sided tests.
    {rng_progress}

    Returns
    -------
    DataFrame
        One row per J, planned group size and parameter ("x", "w", "x:w"): ``n_groups``, ``group_size``,
        ``parameter``, ``df`` (the tests' degrees of freedom, averaged over data sets), ``truth``, ``mean``, ``bias``, ``relative_bias``, ``sd`` (of the estimates),
        ``mean_se``, ``coverage`` of the (1 − alpha) t intervals, ``power`` (share rejecting "= 0"),
        ``mean_n`` (units analysed, after attrition), ``share_singular`` and ``n_reps``.

    Raises
    ------
    ValueError
        For fewer than 4 groups, group sizes below 2, a negative or non-numeric variance, a slope covariance
        that makes the covariance matrix not positive semi-definite, ``size_cv`` below 0, ``attrition`` outside
        [0, 0.9], and the other bad values named in the message.

    Notes
    -----
    The tests use t with between-within degrees of freedom as :func:`sample_size_study` does, except that a
    random slope makes x and x·w group-level quantities: their γ's are the intercept and the w coefficient of
    the J group slopes, so they get J − 2 df, like w. Unequal sizes cost power: for a random-intercept
    model the design effect of a cluster mean grows from 1 + (n̄ − 1)ρ to about 1 + ((CV² + 1) n̄ − 1)ρ
    (Eldridge et al. 2006). Attrition shrinks every group, and a binary programme estimated from J group
    means each with variance τ00 + σ²/n is detected far less often than a continuous w of the same γ01
    (see :func:`sample_size_study`).

    Examples
    --------
    A programme given to 10 of 20 schools of 20 pupils, effect 0.4 (τ00 + σ² = 1): the simulation's power
    is within Monte Carlo error of the noncentral t's; unequal sizes (CV 0.6) and 30 % attrition lower it:

    >>> kw = dict(fixed={"w": 0.4}, tau00=0.1, sigma2=0.9, n_reps=200, rng=8, progress=False)
    >>> planned = design_power([20], [20], **kw)
    >>> real = design_power([20], [20], size_cv=0.6, attrition=0.3, **kw)
    >>> float(planned.query("parameter == 'w'")["power"].iloc[0]) > float(real.query("parameter == 'w'")["power"].iloc[0])
    True
    >>> round(float(cluster_randomised_power([20], [20], effect=0.4, tau2=0.1, sigma2=0.9)["power"].iloc[0]), 2)
    0.6

    Taught in lesson 08.
    """
    func = "design_power"
    Js = _check_values(n_groups_values, func, "n_groups_values", integer=True, low=4)
    ms = _check_values(group_size_values, func, "group_size_values", integer=True, low=2)
    beta = np.array(list(_check_fixed(fixed, func, _DESIGN_TERMS).values()))
    tau00 = _check_variance(tau00, func, "tau00", positive=True)
    tau11 = _check_variance(tau11, func, "tau11")
    if isinstance(tau01, bool) or not isinstance(tau01, numbers.Real) or not np.isfinite(tau01):
        raise argument_error(func, "tau01", "a finite number", tau01, kind=TypeError)
    if tau01 ** 2 > tau00 * tau11:
        raise argument_error(func, "tau01", f"a covariance with tau01² ≤ tau00·tau11 = {tau00 * tau11:g}", tau01,
                             fix="Lower |tau01| (a correlation beyond ±1 is not a covariance matrix).")
    sigma2 = _check_variance(sigma2, func, "sigma2", positive=True)
    level2 = check_choice(level2, ("binary", "normal"), func, "level2")
    size_cv = _check_share(size_cv, func, "size_cv", "a number ≥ 0 (0: equal cluster sizes)", high=np.inf)
    attrition = _check_share(attrition, func, "attrition", "a share of units lost between 0 and 0.9", high=0.9)
    R = check_positive_int(n_reps, func, "n_reps")
    alpha = _check_alpha(alpha, func)
    rng = check_random_state(rng)
    G = np.array([[tau00, tau01], [tau01, tau11]]) if tau11 > 0 else np.array([[tau00]])
    rows = []
    with tqdm(total=len(Js) * len(ms) * R, disable=not progress, desc=func, delay=1.0, leave=False) as bar:
        for J in Js:
            for m in ms:
                est, se, n_used, j_used, singular = [], [], [], [], []
                for _ in range(R):
                    y, X, Z, g = _draw_design(J, m, beta, G, sigma2, level2, size_cv, attrition, rng)
                    f = engine.fit(y, X, Z, g, reml=True)
                    est.append(f.beta)
                    se.append(f.se)
                    n_used.append(len(y))
                    j_used.append(len(np.unique(g)))
                    singular.append(f.singular)
                    bar.update()
                est, se, n_used, j_used = np.array(est), np.array(se), np.array(n_used), np.array(j_used)
                for k, name in ((1, "x"), (2, "w"), (3, "x:w")):
                    # per data set: J − 2 between groups; n − J − 2 within (nlme: level-1 terms x and x:w)
                    df = j_used - 2 if name == "w" or tau11 > 0 else n_used - j_used - 2
                    crit = stats.t.ppf(1 - alpha / 2, df)
                    truth = beta[k]
                    lo, hi = est[:, k] - crit * se[:, k], est[:, k] + crit * se[:, k]
                    rows.append({"n_groups": J, "group_size": m, "parameter": name, "df": float(np.mean(df)),
                                 **_estimate_summary(est[:, k], truth), "mean_se": se[:, k].mean(),
                                 "coverage": np.mean((lo <= truth) & (truth <= hi)),
                                 "power": np.mean(_two_sided_p(est[:, k], se[:, k], df) < alpha),
                                 "mean_n": float(np.mean(n_used)), "share_singular": float(np.mean(singular)),
                                 "n_reps": R})
    return pd.DataFrame(rows)


def _check_share(value, func, arg, expected, *, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= high:
        raise argument_error(func, arg, expected, value)
    return float(value)


def _cluster_sizes(J, m, size_cv, rng):
    """J cluster sizes with mean m: equal, or gamma-distributed with coefficient of variation ``size_cv``."""
    if size_cv == 0:
        return np.full(J, m)
    shape = 1.0 / size_cv ** 2
    return np.maximum(1, np.rint(rng.gamma(shape, m / shape, size=J))).astype(int)


def _draw_design(J, m, beta, G, sigma2, level2, size_cv, attrition, rng):
    """One data set of :func:`design_power`: outcome, X (1, x, w, x·w), Z (1 or 1, x), group codes."""
    sizes = _cluster_sizes(J, m, size_cv, rng)
    codes = np.repeat(np.arange(J), sizes)
    w_group = _balanced_binary(J, 1, rng)[0] if level2 == "binary" else rng.standard_normal(J)
    x = rng.standard_normal(codes.size)
    u = rng.standard_normal((J, G.shape[0])) @ np.linalg.cholesky(G).T
    X = np.column_stack([np.ones_like(x), x, w_group[codes], x * w_group[codes]])
    Z = X[:, :G.shape[0]]
    y = X @ beta + np.sum(Z * u[codes], axis=1) + np.sqrt(sigma2) * rng.standard_normal(codes.size)
    if attrition > 0:
        keep = rng.random(codes.size) >= attrition
        y, X, Z, codes = y[keep], X[keep], Z[keep], codes[keep]
    return y, X, Z, codes
