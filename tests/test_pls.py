"""mlmlab.pls (lme4's penalised least-squares engine) against the frozen lme4 numbers of tests/reference/lme4.json.

Every model of the `models` and `lesson_models` sections (one factor, crossed Penicillin and lesson 07's
ratings, nested Pastes and lesson 07's three levels, correlated and uncorrelated slopes, REML and ML, singular
fits): the log-likelihood is at least lme4's minus 1e-6, θ within 2e-3 (of max(1, |θ|)), fixed effects and their
standard errors relative 1e-3, σ relative 1e-3; for the `models` section also the conditional modes and
conditional SDs (lme4's ranef(condVar = TRUE)), as tests/_lme4.py checks them for mlmlab.fit.
"""

import functools
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _lme4 import REF, key, r_name
from mlmlab import datasets, pls
from mlmlab.design import build_design
from mlmlab.deviance import Deviance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import export_lesson_data  # noqa: E402

SHIPPED = set(datasets.list_datasets()["name"])
CASES = [("models", k) for k in sorted(REF["models"])] + [("lesson_models", k) for k in sorted(REF["lesson_models"])]


@functools.lru_cache(maxsize=None)
def _data(name):
    return datasets.load(name) if name in SHIPPED else export_lesson_data.make(name)


def _data_for(section, model_id):
    """The data of a frozen entry, with the columns it derives (e.g. SES_plus1 = SES + 1)."""
    ref = REF[section][model_id]
    data = _data(ref["dataset"])
    derived = {col: data.eval(expr) for col, expr in ref.get("derive", {}).items()}
    return data.assign(**derived) if derived else data


@functools.lru_cache(maxsize=None)
def _design(section, model_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_design(REF[section][model_id]["formula"], _data_for(section, model_id))


@functools.lru_cache(maxsize=None)
def _fit(section, model_id):
    return pls.fit(_design(section, model_id), reml=REF[section][model_id]["reml"])


@pytest.mark.parametrize("section,model_id", CASES)
def test_optimum_at_least_as_good_as_lme4_and_the_same_parameters(section, model_id):
    ref, r = REF[section][model_id], _fit(section, model_id)
    assert r.llf >= ref["logLik"] - 1e-6
    assert r.converged
    assert r.singular == ref["singular"]
    theta = np.atleast_1d(np.asarray(ref["theta"], dtype=float))
    assert np.all(np.abs(r.theta - theta) <= 2e-3 * np.maximum(1.0, np.abs(theta))), (r.theta, theta)
    assert math.isclose(math.sqrt(r.sigma2), ref["sigma"], rel_tol=1e-3)
    names = [key(r_name(c)) for c in _design(section, model_id).X.columns]
    se = np.sqrt(np.diag(r.cov_beta))
    for name, est, s in zip(names, r.beta, se):
        want = next(v for t, v in ref["fixed"].items() if key(t) == name)
        assert math.isclose(est, want["estimate"], rel_tol=1e-3, abs_tol=1e-9), name
        assert math.isclose(s, want["se"], rel_tol=1e-3), name


@pytest.mark.parametrize("model_id", sorted(REF["models"]))
def test_conditional_modes_and_variances(model_id):
    ref, r = REF["models"][model_id], _fit("models", model_id)
    design = _design("models", model_id)
    for b, est, var in zip(design.blocks, r.ranef, r.ranef_var):
        want = ref["ranef"][b.factor]
        pos = {lab: i for i, lab in enumerate(b.labels)}
        rows = [pos[lev] for lev in want["levels"]]
        for j, term in enumerate(b.names):
            got, sd = est[rows, j], np.sqrt(var[rows, j])
            spread = max(np.std(est[:, j], ddof=1), 1e-4 * math.sqrt(r.sigma2))
            assert np.all(np.abs(got - np.asarray(want[term])) <= 5e-3 * spread), (b.factor, term)
            se = np.asarray(want["se"][term])
            assert np.all(np.abs(sd - se) <= 5e-3 * np.maximum(se, 1e-2 * math.sqrt(r.sigma2))), (b.factor, term)


@pytest.mark.parametrize("model_id", ["penicillin_reml", "pastes_ml", "sleepstudy_rs_reml", "hsb_rs_ml"])
def test_profiled_deviance_equals_the_deviance_at_the_profiled_sigma(model_id):
    """At any θ, d(θ) is the (θ, σ) deviance of mlmlab.deviance at σ̂(θ): two independent implementations."""
    design = _design("models", model_id)
    reml = REF["models"][model_id]["reml"]
    engine, full = pls.PLS(design, reml=reml), Deviance(design, reml=reml)
    rng = np.random.default_rng(16)
    for _ in range(3):
        theta = engine.canonical(rng.uniform(0.1, 2.0, engine.n_theta))
        est = engine.estimates(theta, condvar=False)
        phi = np.append(theta, math.sqrt(est["sigma2"]))
        assert engine.deviance(theta) == pytest.approx(full.deviance(phi), abs=1e-7)
        assert est["cov_beta"] == pytest.approx(full.cov_beta(phi), rel=1e-7)


def test_a_column_of_lambda_may_change_sign():
    design = _design("models", "sleepstudy_rs_reml")
    engine = pls.PLS(design, reml=True)
    theta = np.array([0.9, 0.02, 0.2])
    flipped = np.array([-0.9, -0.02, 0.2])   # the first column of Λ negated: the same ΛΛᵀ
    assert engine.deviance(flipped) == pytest.approx(engine.deviance(theta), abs=1e-9)
    assert engine.canonical(flipped) == pytest.approx(theta)
    assert engine.canonical([0.9, 0.02, -0.2]) == pytest.approx(theta)


def test_three_crossed_factors_recover_the_simulation_truth():
    """A simulated InstEval-like design (three crossed factors, 4,000 rows): the estimates are near the truth, and
    the three ways of forming and factorising the Schur complement (intercepts-only map, sparse products with a
    dense Cholesky, sparse LU) and mlmlab.deviance give the same deviance at the optimum."""
    rng = np.random.default_rng(2016)
    n, sizes, sds, sigma = 4000, {"s": 400, "d": 150, "dept": 12}, {"s": 0.8, "d": 0.5, "dept": 0.3}, 1.0
    codes = {f: rng.integers(0, k, n) for f, k in sizes.items()}
    x = rng.normal(size=n)
    y = 2.0 + 0.5 * x + sum(rng.normal(0, sds[f], sizes[f])[codes[f]] for f in sizes) + rng.normal(0, sigma, n)
    data = pd.DataFrame({"y": y, "x": x, **{f: pd.Categorical(c) for f, c in codes.items()}})
    design = build_design("y ~ x + (1 | s) + (1 | d) + (1 | dept)", data)
    r = pls.fit(design, reml=True)
    assert r.converged and not r.singular
    assert r.beta[1] == pytest.approx(0.5, abs=0.05)
    sd = {b.factor: math.sqrt(c[0, 0]) for b, c in zip(design.blocks, r.covariances)}
    assert sd["s"] == pytest.approx(0.8, rel=0.15) and sd["d"] == pytest.approx(0.5, rel=0.2)
    assert sd["dept"] == pytest.approx(0.3, rel=0.6) and math.sqrt(r.sigma2) == pytest.approx(1.0, rel=0.05)
    engine = pls.PLS(design, reml=True)
    assert engine.scalar  # random intercepts only: the fixed map from the first factor's weights to S
    fast = engine.deviance(r.theta)
    engine.scalar = False
    assert engine.deviance(r.theta) == pytest.approx(fast, abs=1e-7)
    engine.dense = False
    assert engine.deviance(r.theta) == pytest.approx(fast, abs=1e-7)
    assert fast == pytest.approx(Deviance(design, reml=True).deviance(np.append(r.theta, math.sqrt(r.sigma2))),
                                 abs=1e-6)


def test_bad_arguments_are_refused():
    design = _design("models", "penicillin_reml")
    with pytest.raises(TypeError, match="reml"):
        pls.fit(design, reml="yes")
    with pytest.raises(ValueError, match="a finite vector of length 2"):
        pls.fit(design, start=[1.0])
    with pytest.raises(ValueError, match="a finite vector of length 2"):
        pls.fit(design, start=[1.0, np.nan])


def test_correlated_slopes_on_two_crossed_factors_agree_with_the_dense_deviance():
    """(x | s) + (x | d): blocks of two columns in the first factor and in the Schur complement, on the dense-array,
    dense-Cholesky and sparse-LU paths alike, equal mlmlab.deviance's (θ, σ) deviance at σ̂(θ)."""
    rng = np.random.default_rng(7)
    n = 600
    s, d, x = rng.integers(0, 40, n), rng.integers(0, 15, n), rng.normal(size=n)
    y = 1.0 + x + rng.normal(0, 0.7, 40)[s] + 0.3 * x * rng.normal(size=15)[d] + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "x": x, "s": s, "d": d})
    design = build_design("y ~ x + (x | s) + (x | d)", data)
    full = Deviance(design, reml=False)
    theta = np.array([0.7, 0.1, 0.3, 0.2, -0.1, 0.4])
    values = []
    for small, dense in ((True, True), (False, True), (False, False)):
        engine = pls.PLS(design, reml=False)
        if not small and engine.small:
            engine.B0, engine.C0 = pls.sparse.csr_array(engine.B0), pls.sparse.csr_array(engine.C0)
        engine.small, engine.dense = small, dense
        sigma = math.sqrt(engine.estimates(theta, condvar=False)["sigma2"])
        values.append(engine.deviance(theta))
        assert values[-1] == pytest.approx(full.deviance(np.append(theta, sigma)), abs=1e-7)
    r = pls.fit(design, reml=False)
    assert r.converged and r.llf >= -0.5 * min(values)


def test_a_crossed_design_with_thousands_of_levels_fits_within_its_memory_goal():
    """12,000 rows, 3,000 students × 600 instructors × 12 departments (over 3,500 random effects, crossed): the fit,
    design included, allocates at most 200 MB at its peak (numpy/scipy allocations, traced). The issue's goal is
    2 GB for 70,000 rows and 4,014 levels; a dense q × q matrix of this design alone would take 104 MB, dense Z
    (rows × q) 347 MB, and statsmodels' dense crossed fit far more."""
    import tracemalloc

    from mlmlab.bench import crossed_data

    data = crossed_data(12_000, {"s": 3000, "d": 600, "dept": 12}, rng=16)
    tracemalloc.start()
    try:
        design = build_design("y ~ x + (1 | s) + (1 | d) + (1 | dept)", data)
        r = pls.fit(design, reml=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(len(b.levels) for b in design.blocks) > 3500  # a few students drew no row
    assert r.converged and peak < 200 * 2 ** 20, peak / 2 ** 20
    assert r.beta[1] == pytest.approx(0.3, abs=0.05)


# --------------------------------------------------------------------------- mlmlab.fit on the engine (its default)

from _lme4 import (check_fixed_effects, check_loglik_and_criteria, check_random_effects_blups,  # noqa: E402
                   check_singular_flag, check_variance_components)
from mlmlab import Control, fit  # noqa: E402

PLS_CONTROL = Control(engine="pls")
SM_CONTROL = Control(engine="statsmodels")


@functools.lru_cache(maxsize=None)
def _mlmlab_fit(section, model_id, engine="pls"):
    ref = REF[section][model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows dropped etc., as in tests/test_lme4_agreement.py
        return fit(ref["formula"], _data_for(section, model_id), reml=ref["reml"],
                   control=PLS_CONTROL if engine == "pls" else SM_CONTROL)


@pytest.mark.parametrize("section,model_id", CASES)
def test_mlmlab_fit_on_the_engine_reaches_lme4s_optimum_or_better(section, model_id):
    """tests/test_lme4_agreement.py and tests/test_lme4_lessons.py check the default fit (the engine) against lme4;
    here, its log-likelihood is at least lme4's minus 1e-6 on every frozen model."""
    ref, m = REF[section][model_id], _mlmlab_fit(section, model_id)
    assert m.optimizer.startswith("mlmlab.pls: ")
    assert m.llf >= ref["logLik"] - 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("section,model_id", CASES)
def test_the_guarded_statsmodels_path_passes_every_lme4_agreement_check(section, model_id):
    """Control(engine="statsmodels") stays a supported way to fit (lesson 05 takes it apart): the same checks as
    tests/test_lme4_agreement.py and tests/test_lme4_lessons.py, and the two engines agree."""
    ref, m = REF[section][model_id], _mlmlab_fit(section, model_id, "statsmodels")
    assert not m.optimizer.startswith("mlmlab.pls")
    check_loglik_and_criteria(ref, m)
    assert abs(m.llf - _mlmlab_fit(section, model_id).llf) < 0.01
    check_fixed_effects(ref, m)
    check_variance_components(ref, m)
    check_singular_flag(ref, m)
    if "ranef" in ref:
        check_random_effects_blups(ref, m)


def test_statsmodels_stays_reachable_and_agrees_on_a_crossed_and_a_nested_model():
    pen = _mlmlab_fit("models", "penicillin_reml")
    assert pen._statsmodels is None  # made on first use only
    sm = pen.statsmodels
    assert sm.model.k_re == 0 and sorted(sm.model.exog_vc.names) == ["plate", "sample"]
    assert sm.llf == pytest.approx(pen.llf, abs=1e-4)
    pas = _mlmlab_fit("models", "pastes_ml")
    assert pas.statsmodels.llf == pytest.approx(pas.llf, abs=1e-4)
    assert "lme4's penalised least squares" in pas.summary().splitlines()[0]


def test_pls_is_the_default_for_every_design_and_statsmodels_is_opt_in():
    sleep = datasets.load("sleepstudy")
    one = fit("Reaction ~ Days + (1 | Subject)", sleep)
    assert one.optimizer.startswith("mlmlab.pls")
    two = fit("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin"))
    assert two.optimizer.startswith("mlmlab.pls")
    sm = fit("Reaction ~ Days + (1 | Subject)", sleep, control=Control(engine="statsmodels"))
    assert not sm.optimizer.startswith("mlmlab.pls") and sm._statsmodels is not None
    assert sm.llf == pytest.approx(one.llf, abs=1e-6)
    with pytest.raises(ValueError, match="'pls' or 'statsmodels'"):
        Control(engine="lme4")
    with pytest.raises(ValueError, match="Add engine='statsmodels'"):
        Control(optimizers=(("lbfgs",),))


def test_the_engine_path_refuses_what_statsmodels_cannot_express_without_building_statsmodels():
    """m.statsmodels must exist for every fit, so engine='pls' keeps the supported set of models; the check does not
    build statsmodels' dense crossed matrices (70,000 rows would take 3 GB)."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"y": rng.normal(size=200), "x": rng.normal(size=200), "s": rng.integers(0, 20, 200),
                         "d": rng.integers(0, 8, 200)})
    with pytest.raises(ValueError, match="supported only for the outermost grouping factor"):
        fit("y ~ x + (x | s) + (x | d)", data, control=PLS_CONTROL)
