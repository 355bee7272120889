"""mlmlab.engine against frozen lme4 values, against statsmodels, and against itself."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlmlab import datasets, engine

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["models"]


def _design(data, fixed, random):
    """X and Z with lme4's column names from lists of columns (or (name, function) pairs)."""
    def build(cols):
        out = {"(Intercept)": np.ones(len(data))}
        for c in cols:
            name, fn = c if isinstance(c, tuple) else (c, lambda d, c=c: d[c].to_numpy(float))
            out[name] = fn(data)
        return pd.DataFrame(out)
    return build(fixed), build(random)


_catholic = ("SectorCatholic", lambda d: (d["Sector"] == "Catholic").to_numpy(float))
# model id -> (dataset, outcome, group, fixed columns, random columns (besides the intercept))
MODELS = {
    "hsb_null": ("hsb", "MathAch", "School", [], []),
    "hsb_means": ("hsb", "MathAch", "School", ["MEANSES"], []),
    "hsb_ri": ("hsb", "MathAch", "School", ["cses"], []),
    "hsb_rs": ("hsb", "MathAch", "School", ["cses"], ["cses"]),
    "hsb_full": ("hsb", "MathAch", "School",
                 ["MEANSES", "cses", _catholic,
                  ("MEANSES:cses", lambda d: (d["MEANSES"] * d["cses"]).to_numpy(float)),
                  ("cses:SectorCatholic", lambda d: (d["cses"] * (d["Sector"] == "Catholic")).to_numpy(float))],
                 ["cses"]),
    "sleepstudy_rs": ("sleepstudy", "Reaction", "Subject", ["Days"], ["Days"]),
    "sleepstudy_ri": ("sleepstudy", "Reaction", "Subject", ["Days"], []),
    "dyestuff": ("dyestuff", "Yield", "Batch", [], []),
    "dyestuff2": ("dyestuff2", "Yield", "Batch", [], []),
    "schools50_null": ("schools50", "math", "school", [], []),
    "schools50_ri": ("schools50", "math", "school", ["ses"], []),
    "schools50_rs": ("schools50", "math", "school", ["ses"], ["ses"]),
}
CASES = [(f"{k}_{m}", k) for k in MODELS for m in ("reml", "ml") if f"{k}_{m}" in REF]


def _fit_reference_model(model_id, key):
    name, y, group, fixed, random = MODELS[key]
    data = datasets.load(name)
    X, Z = _design(data, fixed, random)
    res = engine.fit(data[y].to_numpy(float), X, Z, data[group], reml=REF[model_id]["reml"])
    return res, X, Z


def test_reference_cases_cover_the_brief():
    ids = {c[0] for c in CASES}
    assert {"hsb_null_reml", "hsb_ri_reml", "hsb_rs_reml", "hsb_rs_ml", "sleepstudy_rs_reml",
            "dyestuff_ml", "dyestuff2_reml"} <= ids
    assert len(ids) >= 20


@pytest.mark.parametrize("model_id,key", CASES, ids=[c[0] for c in CASES])
def test_engine_matches_lme4(model_id, key):
    ref = REF[model_id]
    res, X, Z = _fit_reference_model(model_id, key)
    q = Z.shape[1]
    # log-likelihood: 1e-6 for random intercepts, 1e-4 with random slopes
    assert res.llf == pytest.approx(ref["logLik"], abs=1e-6 if q == 1 else 1e-4)
    assert res.singular == ref["singular"]
    assert res.converged
    assert res.nobs == ref["nobs"]
    # fixed effects and their standard errors, relative 1e-4
    for j, term in enumerate(X.columns):
        assert res.beta[j] == pytest.approx(ref["fixed"][term]["estimate"], rel=1e-4, abs=1e-9)
        assert res.se[j] == pytest.approx(ref["fixed"][term]["se"], rel=1e-4)
    # the engine's optimum is never worse than lme4's
    assert res.llf >= ref["logLik"] - 1e-8
    # variance components relative 1e-4: element-wise for one random effect; for a G matrix relative
    # to its largest variance (lme4 stops early along flat directions: in hsb_full its slope variance,
    # 1/20 of the intercept variance, differs by 2e-4 relative while the engine's logLik is higher)
    names = list(Z.columns)
    scale = np.max(np.diag(res.G)) if q > 1 else None
    for row in ref["varcomp"]:
        if row["grp"] == "Residual":
            assert res.sigma2 == pytest.approx(row["vcov"], rel=1e-4)
            continue
        i = names.index(row["var1"])
        j = i if row["var2"] is None else names.index(row["var2"])
        tol = 1e-4 * (scale if q > 1 else abs(row["vcov"])) + 1e-10
        assert abs(res.G[i, j] - row["vcov"]) <= tol, (row, res.G)
    assert np.allclose(res.theta, ref["theta"], rtol=1e-3, atol=2e-5)


def test_singular_fit_is_on_the_boundary():
    res, _, _ = _fit_reference_model("dyestuff2_reml", "dyestuff2")
    assert res.singular and res.theta[0] == 0.0 and res.G[0, 0] == 0.0
    # with G = 0 the model is ordinary regression: σ² is the usual residual variance
    y = datasets.load("dyestuff2")["Yield"].to_numpy()
    assert res.sigma2 == pytest.approx(np.var(y, ddof=1), rel=1e-12)


def test_fit_many_rows_equal_single_fits():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(12), rng.integers(2, 9, 12))
    n = g.size
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    Y = 1 + 0.5 * x + rng.normal(0, 0.8, (6, 12))[:, g] + rng.normal(size=(6, n))
    for Z in (np.ones(n), X):
        many = engine.fit_many(Y, X, Z, g)
        q = 1 if Z.ndim == 1 else Z.shape[1]
        assert many.beta.shape == (6, 2) and many.G.shape == (6, q, q)
        assert len(many) == 6
        for r in range(6):
            one = engine.fit(Y[r], X, Z, g)
            assert one.llf == pytest.approx(many.llf[r], abs=1e-8)
            np.testing.assert_allclose(one.beta, many.beta[r], rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(one.G, many.G[r], rtol=1e-4, atol=1e-7)
            assert one.sigma2 == pytest.approx(many.sigma2[r], rel=1e-6)
            assert one.singular == many.singular[r]


def test_fit_many_shapes_and_random_slopes():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(25), 8)
    x = np.tile(np.linspace(-1, 1, 8), 25)
    X = np.column_stack([np.ones(200), x])
    U = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=(40, 25))
    Y = 2 + x + U[:, :, 0][:, g] + U[:, :, 1][:, g] * x + rng.normal(0, 0.5, (40, 200))
    res = engine.fit_many(Y, X, X, g, reml=False)
    assert res.beta.shape == (40, 2) and res.G.shape == (40, 2, 2) and res.theta.shape == (40, 3)
    assert res.se.shape == (40, 2) and res.cov_beta.shape == (40, 2, 2)
    assert res.converged.all()
    # G is a covariance matrix: symmetric, positive semi-definite
    assert np.allclose(res.G, np.swapaxes(res.G, 1, 2))
    assert np.all(np.linalg.eigvalsh(res.G) > -1e-10)
    # averaged over replicates the estimates are near the truth
    assert res.G[:, 0, 0].mean() == pytest.approx(1.0, abs=0.25)
    assert res.G[:, 1, 1].mean() == pytest.approx(0.5, abs=0.15)


def test_ml_and_reml_agree_on_fixed_effects_in_balanced_random_intercepts():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(10), 6)
    y = rng.normal(size=10)[g] + rng.normal(size=60)
    ml, reml = engine.fit(y, np.ones(60), np.ones(60), g, reml=False), engine.fit(y, np.ones(60), np.ones(60), g)
    assert ml.beta[0] == pytest.approx(y.mean()) and reml.beta[0] == pytest.approx(y.mean())
    assert ml.G[0, 0] < reml.G[0, 0]  # ML shrinks the between-group variance
    assert ml.deviance == pytest.approx(-2 * ml.llf)


def test_start_values_hook():
    data = datasets.load("sleepstudy")
    X, Z = _design(data, ["Days"], ["Days"])
    sv = engine.start_values_for(data["Reaction"], X, Z, data["Subject"])
    ref = REF["sleepstudy_rs_reml"]
    assert sv["llf"] == pytest.approx(ref["logLik"], abs=1e-4)
    np.testing.assert_allclose(sv["cov_re"], sv["G"] / sv["sigma2"])
    assert sv["cov_re"].shape == (2, 2)


# ----------------------------------------------------------------------------- input errors
def _ok():
    g = np.repeat([0, 1, 2], 4)
    return np.arange(12.0) % 5, np.ones(12), np.ones(12), g


def test_error_length_mismatch():
    y, X, Z, g = _ok()
    with pytest.raises(ValueError, match=r"The 'X' argument of engine.fit must be an array with one row "
                                         r"per observation \(n × columns\)\. Got an array of shape \(11, 1\); "
                                         r"the outcome has n = 12 values\."):
        engine.fit(y, X[:11], Z, g)
    with pytest.raises(ValueError, match=r"The 'groups' argument of engine.fit must be a 1-D array with one "
                                         r"label per observation"):
        engine.fit(y, X, Z, g[:5])


def test_error_nan():
    y, X, Z, g = _ok()
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"The 'y' argument of engine.fit must be free of missing \(NaN\) and "
                                         r"infinite values\. .*; 1 such values\. Drop the incomplete rows"):
        engine.fit(y, X, Z, g)
    y, X, Z, g = _ok()
    Z = Z.copy()
    Z[0] = np.inf
    with pytest.raises(ValueError, match=r"The 'Z' argument of engine.fit_many must be free of missing"):
        engine.fit_many(y[None], X, Z, g)
    g = g.astype(float)
    g[2] = np.nan
    with pytest.raises(ValueError, match=r"The 'groups' argument of engine.fit must be free of missing labels"):
        engine.fit(_ok()[0], X, _ok()[2], g)


def test_error_too_few_rows_for_the_random_effects():
    y, X, Z, g = _ok()
    with pytest.raises(ValueError, match=r"The 'groups' argument of engine.fit must be fewer than n / q = 12/1 "
                                         r"groups\. Got '12 groups'; 12 rows cannot separate 12 random effects"):
        engine.fit(y, X, Z, np.arange(12))


def test_error_one_group():
    y, X, Z, _ = _ok()
    with pytest.raises(ValueError, match=r"must be labels of at least two groups\. .*all rows are in one group\. "
                                         r"A variance between groups needs several groups"):
        engine.fit(y, X, Z, np.zeros(12))


def test_error_collinear_and_shapes():
    y, X, Z, g = _ok()
    with pytest.raises(ValueError, match=r"The 'X' argument of engine.fit must be an array whose columns are "
                                         r"not collinear.*Remove a redundant column"):
        engine.fit(y, np.column_stack([X, 2 * X]), Z, g)
    with pytest.raises(ValueError, match=r"The 'y' argument of engine.fit must be a 1-D array"):
        engine.fit(np.ones((2, 12)), X, Z, g)
    with pytest.raises(ValueError, match=r"The 'Y' argument of engine.fit_many must be a 2-D array with one "
                                         r"replicate per row"):
        engine.fit_many(np.ones((2, 3, 12)), X, Z, g)
    with pytest.raises(TypeError, match=r"The 'reml' argument of engine.fit must be True or False\. Got 'yes'"):
        engine.fit(y, X, Z, g, reml="yes")
    with pytest.raises(ValueError, match=r"The 'Z' argument of engine.fit must be an array without all-zero"):
        engine.fit(y, X, np.zeros(12), g)
    with pytest.raises(TypeError, match=r"The 'y' argument of engine.fit must be numeric"):
        engine.fit(["a"] * 12, X, Z, g)


# ----------------------------------------------------------------------------- the likelihood, computed densely
class _Dense:
    """The (RE)ML likelihood by dense algebra, independent of the engine's per-group sums: V = σ² V₀ with
    V₀ = I + Z C Zᵀ block-diagonal, factorised block by block (the groups of one size at a time)."""

    def __init__(self, y, X, Z, g):
        self.y, self.X, self.Z = np.asarray(y, float), np.asarray(X, float), np.asarray(Z, float)
        _, codes = np.unique(np.asarray(g), return_inverse=True)
        sizes = np.bincount(codes)
        self.blocks = [np.stack([np.flatnonzero(codes == j) for j in np.flatnonzero(sizes == m)])
                       for m in np.unique(sizes)]  # (J_m, m) row indices per group size m

    def sums(self, C):
        """log|V₀|, XᵀV₀⁻¹X, XᵀV₀⁻¹y, yᵀV₀⁻¹y."""
        p = self.X.shape[1]
        logdet, XtVX, XtVy, ytVy = 0.0, np.zeros((p, p)), np.zeros(p), 0.0
        for rows in self.blocks:
            Zs, Xs, ys = self.Z[rows], self.X[rows], self.y[rows]
            L = np.linalg.cholesky(np.eye(rows.shape[1]) + Zs @ C @ np.swapaxes(Zs, 1, 2))
            A = np.linalg.solve(L, Xs)
            b = np.linalg.solve(L, ys[..., None])[..., 0]
            logdet += 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))
            XtVX += np.einsum("jnp,jnr->pr", A, A)
            XtVy += np.einsum("jnp,jn->p", A, b)
            ytVy += np.sum(b * b)
        return logdet, XtVX, XtVy, ytVy

    def llf(self, G, sigma2, reml):
        """(RE)ML log-likelihood (lme4's constants) at the variance components G, σ², β at its GLS estimate."""
        n, p = self.X.shape
        logdet, XtVX, XtVy, ytVy = self.sums(np.atleast_2d(G) / sigma2)
        beta = np.linalg.solve(XtVX, XtVy)
        r2 = ytVy - beta @ XtVy
        ll = -0.5 * (n * np.log(2 * np.pi * sigma2) + logdet + r2 / sigma2)
        if reml:
            ll += -0.5 * (np.linalg.slogdet(XtVX)[1] - p * np.log(sigma2)) + 0.5 * p * np.log(2 * np.pi)
        return ll

    def deviance(self, theta, reml):
        """−2 log L at θ (lme4's order) with β and σ² at their closed-form optima (Bates et al. 2015, sec. 3)."""
        n, p = self.X.shape
        q = self.Z.shape[1]
        lam = np.zeros((q, q))
        cols, rows = np.triu_indices(q)
        lam[rows, cols] = theta
        try:
            logdet, XtVX, XtVy, ytVy = self.sums(lam @ lam.T)
        except np.linalg.LinAlgError:  # a wild θ of a search: I + ZΛΛᵀZᵀ no longer factorises in floating point
            return 1e300
        r2 = ytVy - XtVy @ np.linalg.solve(XtVX, XtVy)
        dof = n - p if reml else n
        dev = logdet + dof * (1 + np.log(2 * np.pi * r2 / dof))
        return dev + np.linalg.slogdet(XtVX)[1] if reml else dev


def _exact_llf(y, X, Z, g, G, sigma2, reml):
    return _Dense(y, X, Z, g).llf(G, sigma2, reml)


def _brute_force_optimum(y, X, Z, g, reml, *, starts=8, seed=0):
    """Best log-likelihood (and θ) of a multi-start BFGS search (central-difference gradients) of the dense
    profiled deviance over all θ (a column of Λ and its negative give the same deviance, so no bound is needed)."""
    from scipy.optimize import minimize

    dense = _Dense(y, X, Z, g)
    q = dense.Z.shape[1]
    cols, rows = np.triu_indices(q)
    diag = rows == cols
    spread = np.sqrt(np.mean(dense.Z ** 2, axis=0))[rows]
    rng = np.random.default_rng(seed)
    best = (np.inf, None)
    for k in range(starts):
        x0 = np.where(diag, np.exp(rng.uniform(np.log(0.05), np.log(20.0), diag.size)),
                      rng.normal(0.0, 1.0, diag.size)) / spread
        if k == 0:
            x0 = np.where(diag, 1.0, 0.0) / spread
        res = minimize(dense.deviance, x0, args=(reml,), method="BFGS", jac="3-point",
                       options={"gtol": 1e-7, "maxiter": 5000})
        if res.fun < best[0]:
            best = (res.fun, res.x)
    return -0.5 * best[0], best[1]


def test_dense_reference_likelihood_matches_lme4():
    """The dense helpers above reproduce lme4's logLik (so they are a fair bar for the engine)."""
    for model_id, key in (("sleepstudy_rs_reml", "sleepstudy_rs"), ("sleepstudy_rs_ml", "sleepstudy_rs"),
                          ("dyestuff_ml", "dyestuff")):
        ref = REF[model_id]
        name, y, group, fixed, random = MODELS[key]
        data = datasets.load(name)
        X, Z = _design(data, fixed, random)
        args = (data[y].to_numpy(float), X.to_numpy(float), Z.to_numpy(float), data[group].to_numpy())
        dev = _Dense(*args).deviance(np.asarray(ref["theta"], float), ref["reml"])
        assert -0.5 * dev == pytest.approx(ref["logLik"], abs=1e-7)


# ----------------------------------------------------------------------------- property tests
def _statsmodels_best(y, X, Z, g, reml):
    """statsmodels MixedLM, best log-likelihood over its optimisers."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    model = MixedLM(y, X, g, exog_re=Z)
    best = None
    for method in ("lbfgs", "bfgs", "cg", "powell", "nm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = model.fit(reml=reml, method=method)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(r.llf) and (best is None or r.llf > best.llf):
            best = r
    return best


@st.composite
def _designs(draw):
    J = draw(st.integers(3, 12))
    sizes = draw(st.lists(st.integers(1, 9), min_size=J, max_size=J))
    seed = draw(st.integers(0, 2**32 - 1))
    q = draw(st.sampled_from([1, 1, 2]))
    tau = draw(st.sampled_from([0.0, 0.3, 1.0, 3.0]))
    reml = draw(st.booleans())
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), sizes)
    n = g.size
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    Z = np.ones((n, 1)) if q == 1 else X
    u = rng.normal(0, tau, (J, q))
    y = 1 + 0.5 * x + np.sum(Z * u[g], axis=1) + rng.normal(size=n)
    return y, X, Z, g, reml


@pytest.mark.slow  # five statsmodels optimisers per example
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_designs())
def test_engine_at_least_as_good_as_statsmodels(design):
    """The engine's optimum is at least as high as statsmodels' and as a brute-force multi-start search's.

    statsmodels' own ``llf`` is not used as the bar: next to a singular G (an eigenvalue of G/σ² near 1e-9)
    it reports up to ~2e-6 more than the likelihood of its own estimates (its formulas invert G). Its
    estimates are scored instead by the exact (RE)ML log-likelihood computed densely here.
    """
    y, X, Z, g, reml = design
    if y.size < g.max() * Z.shape[1] + X.shape[1] + 3 or np.linalg.matrix_rank(X) < X.shape[1]:
        return  # too few rows to separate the variances: σ² may run to 0 and the likelihood is unbounded
    res = engine.fit(y, X, Z, g, reml=reml)
    assert res.converged
    # the engine's log-likelihood is the exact one at its estimates
    assert res.llf == pytest.approx(_exact_llf(y, X, Z, g, res.G, res.sigma2, reml), abs=1e-8)
    best, _ = _brute_force_optimum(y, X, Z, g, reml, starts=4)
    assert res.llf >= best - 1e-8
    sm = _statsmodels_best(y, X, Z, g, reml)
    if sm is None:
        return
    sm_G = np.atleast_2d(sm.cov_re)
    assert res.llf >= _exact_llf(y, X, Z, g, sm_G, sm.scale, reml) - 1e-8
    # estimates agree when both are clearly inside the parameter space and equally good
    if (not res.singular and abs(res.llf - sm.llf) < 1e-6 and np.min(np.linalg.eigvalsh(res.G)) > 1e-3
            and np.min(np.linalg.eigvalsh(sm_G)) > 1e-3):
        np.testing.assert_allclose(res.beta, sm.fe_params, rtol=1e-2, atol=1e-3)
        np.testing.assert_allclose(res.sigma2, sm.scale, rtol=1e-2)


@settings(max_examples=15, deadline=None)
@given(_designs(), st.integers(2, 5))
def test_fit_many_row_equals_fit_property(design, R):
    y, X, Z, g, reml = design
    if y.size <= (g.max() + 1) * Z.shape[1]:
        return
    rng = np.random.default_rng(int(abs(y[0]) * 1e6) % 2**32)
    Y = y + rng.normal(0, 0.5, (R, y.size))
    many = engine.fit_many(Y, X, Z, g, reml=reml)
    for r in range(R):
        one = engine.fit(Y[r], X, Z, g, reml=reml)
        assert one.llf == pytest.approx(many.llf[r], abs=1e-7)


# ----------------------------------------------------------------------------- log-scale SEs
def test_log_variance_se_matches_balanced_anova_theory():
    """Balanced one-way data: Var(τ̂00) ≈ 2/m² [(σ² + mτ00)²/(J − 1) + σ⁴/(J(m − 1))], Var(σ̂²) ≈ 2σ⁴/(n − J)."""
    rng = np.random.default_rng(21)
    J, m = 60, 8
    g = np.repeat(np.arange(J), m)
    ones = np.ones(J * m)
    Y = rng.normal(0, np.sqrt(0.6), (300, J))[:, g] + rng.normal(0, 1, (300, J * m))
    for reml in (True, False):
        res = engine.fit_many(Y, ones, ones, g, reml=reml)
        se = engine.log_variance_se(Y, ones, ones, g, res)
        t, s2 = res.G[:, 0, 0], res.sigma2
        theory_tau = np.sqrt(2 / m**2 * ((s2 + m * t) ** 2 / (J - 1) + s2**2 / (J * (m - 1)))) / t
        ok = ~res.singular
        np.testing.assert_allclose(se[ok, 0], theory_tau[ok], rtol=0.05)
        np.testing.assert_allclose(se[:, 1], np.sqrt(2 / (J * m - J)), rtol=0.03)
        # and they describe the actual spread of the estimates across replicates
        assert np.std(np.log(t[ok])) == pytest.approx(np.mean(se[ok, 0]), rel=0.15)


def test_log_variance_se_singular_and_errors():
    y = datasets.load("dyestuff2")["Yield"].to_numpy()
    g = datasets.load("dyestuff2")["Batch"]
    res = engine.fit(y, np.ones(30), np.ones(30), g)
    assert np.isnan(engine.log_variance_se(y, np.ones(30), np.ones(30), g, res)).all()
    with pytest.raises(ValueError, match=r"The 'Z' argument of engine.log_variance_se must be one column"):
        engine.log_variance_se(y, np.ones(30), np.ones((30, 2)), g, res)
    with pytest.raises(TypeError, match=r"The 'result' argument of engine.log_variance_se must be the output "
                                        r"of engine.fit or engine.fit_many"):
        engine.log_variance_se(y, np.ones(30), np.ones(30), g, {"G": 1})
    with pytest.raises(ValueError, match=r"must be fits of the 2 replicates in Y\. .*it holds 1"):
        engine.log_variance_se(np.vstack([y, y]), np.ones(30), np.ones(30), g, res)


# ----------------------------------------------------------------------------- one design per replicate
def test_fit_many_designs_rows_equal_single_fits_with_their_own_design():
    """The private path for simulation studies: X of shape (R, n, p), row r fitted with X[r]."""
    rng = np.random.default_rng(31)
    J, R = 10, 5
    g = np.repeat(np.arange(J), rng.integers(3, 8, J))  # unbalanced: several pooled group sizes
    n = g.size
    X = np.stack([np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=J)[g]]) for _ in range(R)])
    assert not np.allclose(X[0], X[1])
    Y = X @ np.array([1.0, 0.3, 0.3]) + rng.normal(0, 0.7, (R, J))[:, g] + rng.normal(size=(R, n))
    for Z in (np.ones(n), np.column_stack([np.ones(n), rng.normal(size=n)])):
        for reml in (True, False):
            many = engine._fit_many_designs(Y, X, Z, g, reml=reml)
            for r in range(R):
                one = engine.fit(Y[r], X[r], Z, g, reml=reml)
                assert one.llf == pytest.approx(many.llf[r], abs=1e-7)
                np.testing.assert_allclose(one.beta, many.beta[r], rtol=1e-6, atol=1e-8)
                np.testing.assert_allclose(one.cov_beta, many.cov_beta[r], rtol=1e-4, atol=1e-9)
                np.testing.assert_allclose(one.G, many.G[r], rtol=1e-4, atol=1e-7)
            if Z.ndim == 1:
                se = engine._log_variance_se_designs(Y, X, Z, g, many)
                for r in range(R):
                    np.testing.assert_allclose(se[r], engine.log_variance_se(Y[r], X[r], Z, g, many[r])[0],
                                               rtol=1e-6)


def test_fit_many_designs_errors():
    g = np.repeat(np.arange(4), 3)
    Y = np.random.default_rng(0).normal(size=(2, 12))
    with pytest.raises(ValueError, match=r"The 'X' argument of engine._fit_many_designs must be an array of "
                                         r"shape \(R, n, p\): one design per replicate\. Got an array of shape "
                                         r"\(12,\); Y has R = 2 replicates of n = 12 values\."):
        engine._fit_many_designs(Y, np.ones(12), np.ones(12), g)
    X = np.ones((2, 12, 2))
    X[0, :, 1] = np.arange(12)  # replicate 1 has a second intercept
    with pytest.raises(ValueError, match=r"must be an array whose columns are not collinear\. .*replicate 1 has "
                                         r"collinear columns"):
        engine._fit_many_designs(Y, X, np.ones(12), g)


# ----------------------------------------------------------------------------- three random effects per group
OXBOYS = json.loads((Path(__file__).parent / "reference" / "engine_q3.json").read_text())
OX_TERMS = ["(Intercept)", "age", "I(age^2)"]


def _oxboys():
    """nlme's Oxboys (frozen in engine_q3.json): height, X = Z = [1, age, age²], integer subject labels."""
    d = pd.DataFrame(OXBOYS["data"])
    age = d["age"].to_numpy(float)
    X = np.column_stack([np.ones(len(d)), age, age ** 2])
    return d["height"].to_numpy(float), X, d["Subject"].to_numpy()


def _label_variants(labels, rng):
    """The same grouping as int, str, 'S'-prefixed str and categorical labels (categories in a shuffled order)."""
    strs = labels.astype(str)
    cats = pd.Categorical(strs, categories=rng.permutation(np.unique(strs)))
    return {"int": labels, "str": strs, "prefixed": np.char.add("S", strs), "categorical": cats}


@pytest.mark.parametrize("which", ["reml", "ml"])
def test_three_effects_match_lme4_oxboys(which):
    """height ~ age + I(age^2) + (age + I(age^2) | Subject): a correlated 3 × 3 G, lme4's optimum or better."""
    ref = OXBOYS["fits"][which]
    y, X, labels = _oxboys()
    res = engine.fit(y, X, X, labels, reml=ref["reml"])
    assert res.converged and res.singular == ref["singular"] and res.nobs == ref["nobs"] == 234
    assert res.llf >= ref["logLik"] - 1e-8  # never short of lme4 (the old engine: −317.33 or −321.71 by REML)
    assert res.llf == pytest.approx(ref["logLik"], abs=1e-6)
    for j, term in enumerate(OX_TERMS):
        assert res.beta[j] == pytest.approx(ref["fixed"][term]["estimate"], rel=1e-5)
        assert res.se[j] == pytest.approx(ref["fixed"][term]["se"], rel=1e-4)
    assert res.sigma2 == pytest.approx(ref["sigma"] ** 2, rel=1e-4)
    scale = np.max(np.diag(res.G))
    for row in ref["varcomp"]:
        if row["grp"] == "Residual":
            continue
        i = OX_TERMS.index(row["var1"])
        j = i if row["var2"] is None else OX_TERMS.index(row["var2"])
        assert abs(res.G[i, j] - row["vcov"]) <= 1e-4 * scale, (row, res.G)
    np.testing.assert_allclose(res.theta, ref["theta"], rtol=1e-3)


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
def test_three_effects_same_fit_whatever_labels_and_row_order(reml):
    """The Oxboys fit does not depend on the dtype of the labels (which orders the groups) or on the row order."""
    y, X, labels = _oxboys()
    rng = np.random.default_rng(7)
    fits = {name: engine.fit(y, X, X, lab, reml=reml) for name, lab in _label_variants(labels, rng).items()}
    for k in range(3):
        perm = rng.permutation(y.size)
        fits[f"rows{k}"] = engine.fit(y[perm], X[perm], X[perm], labels[perm].astype(str), reml=reml)
    llf = np.array([f.llf for f in fits.values()])
    assert all(f.converged for f in fits.values())
    assert np.ptp(llf) <= 1e-8, dict(zip(fits, llf))
    ref = fits["int"]
    for name, f in fits.items():
        np.testing.assert_allclose(f.theta, ref.theta, rtol=1e-5, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(f.beta, ref.beta, rtol=1e-8, err_msg=name)
        assert f.sigma2 == pytest.approx(ref.sigma2, rel=1e-6)


# an Oxboys-like truth: G and σ² near the Oxboys REML estimates (heights in cm, age in [-1, 1])
OX_LIKE = {"beta": np.array([149.0, 6.5, 0.75]), "sigma2": 0.23,
           "G": np.array([[64.0, 8.3, 1.4], [8.3, 2.9, 0.9], [1.4, 0.9, 0.67]])}


def _oxboys_like(seed, J=26, m=9):
    """Simulated growth curves with the truth OX_LIKE: J subjects × m occasions, ages centred."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), m)
    age = np.tile(np.linspace(-1, 1, m), J) + rng.normal(0, 0.02, J * m)
    X = np.column_stack([np.ones(J * m), age, age ** 2])
    U = rng.multivariate_normal(np.zeros(3), OX_LIKE["G"], size=J)
    y = X @ OX_LIKE["beta"] + np.sum(X * U[g], axis=1) + rng.normal(0, np.sqrt(OX_LIKE["sigma2"]), J * m)
    return y, X, g


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 4, 5])  # data sets on which the old optimiser stopped short
@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
def test_three_effects_simulated_reach_the_optimum(seed, reml):
    """Oxboys-like simulations: the engine's optimum is at least that of a brute-force multi-start search of the
    same (densely computed) profiled deviance, of statsmodels (powell then lbfgs), and of the true parameters;
    and it does not move with the labels' dtype or the row order."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    y, X, g = _oxboys_like(seed)
    res = engine.fit(y, X, X, g, reml=reml)
    assert res.converged
    assert res.llf == pytest.approx(_exact_llf(y, X, X, g, res.G, res.sigma2, reml), abs=1e-8)
    best, _ = _brute_force_optimum(y, X, X, g, reml, starts=4, seed=seed)
    assert res.llf >= best - 1e-8
    assert res.llf >= _exact_llf(y, X, X, g, OX_LIKE["G"], OX_LIKE["sigma2"], reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = MixedLM(y, X, g, exog_re=X).fit(reml=reml, method=["powell", "lbfgs"])
    assert res.llf >= _exact_llf(y, X, X, g, sm.cov_re, sm.scale, reml) - 1e-8
    rng = np.random.default_rng(seed)
    perm = rng.permutation(y.size)
    others = [engine.fit(y, X, X, lab, reml=reml) for lab in _label_variants(g, rng).values()]
    others.append(engine.fit(y[perm], X[perm], X[perm], g[perm], reml=reml))
    assert all(o.converged for o in others)
    assert max(abs(o.llf - res.llf) for o in others) <= 1e-8


def _small_slopes_design(seed):
    """A small random-intercept-and-slope data set (4 to 7 groups of 2 to 6 rows, large group effects)."""
    shape = np.random.default_rng(10_000 + seed)
    J = int(shape.integers(4, 8))
    g = np.repeat(np.arange(J), shape.integers(2, 7, J))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=g.size)
    X = np.column_stack([np.ones(g.size), x])
    u = rng.normal(0, 3.0, (J, 2))
    y = 1 + 0.5 * x + np.sum(X * u[g], axis=1) + rng.normal(size=g.size)
    return y, X, g


@pytest.mark.parametrize("seed,reml", [(941, True), (1632, True), (2688, False)])
def test_converged_is_never_reported_short_of_the_optimum(seed, reml):
    """On these the old optimiser reported converged = True 0.14 to 0.46 below the optimum: its Newton polish
    counted "no step lowers the deviance" as convergence (its steps overshot along a nearly flat direction
    and were clipped at θ_kk = 0). The engine now checks the Newton decrement at the end."""
    y, X, g = _small_slopes_design(seed)
    res = engine.fit(y, X, X, g, reml=reml)
    best, _ = _brute_force_optimum(y, X, X, g, reml, starts=8)
    assert res.converged
    assert res.llf == pytest.approx(best, abs=1e-7)
    assert res.llf >= best - 1e-8
