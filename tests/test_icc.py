"""ICC with profile and bootstrap intervals, design effect, effective n (against lme4 numbers)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets, design_effect, effective_n, fit, icc
from mlmlab.icc import _deviance_fn, _random_intercept_parts

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())
CI = REF["extra"]["hsb_null_reml_icc_ci"]


@pytest.fixture(scope="module")
def hsb():
    return datasets.load("hsb")


@pytest.fixture(scope="module")
def null(hsb):
    return fit("MathAch ~ 1 + (1 | School)", hsb)


def test_hsb_null_icc_and_profile_interval(null):
    out = icc(null)
    assert list(out.columns) == ["icc", "ci_low", "ci_high", "method"] and len(out) == 1
    row = out.iloc[0]
    assert abs(row["icc"] - REF["icc"]["hsb_null_reml"]["icc"]) < 1e-4       # 0.1804
    assert abs(row["ci_low"] - CI["profile"]["ci_low"]) < 5e-4               # 0.1472
    assert abs(row["ci_high"] - CI["profile"]["ci_high"]) < 5e-4             # 0.2210
    assert row["method"] == "profile"


def test_profiled_criterion_is_the_fits_loglik(null, hsb):
    parts = _random_intercept_parts(null)
    dev = _deviance_fn(parts)
    assert np.isclose(dev(np.sqrt(parts["tau"] / parts["sigma2"])), -2 * null.llf, rtol=0, atol=1e-6)
    ml = null.refit(reml=False)
    parts = _random_intercept_parts(ml)
    assert np.isclose(_deviance_fn(parts)(np.sqrt(parts["tau"] / parts["sigma2"])), -2 * ml.llf, atol=1e-6)


def test_data_first_call_fits_the_null_model(hsb, null):
    a, b = icc(hsb, y="MathAch", group="School"), icc(null)
    pd.testing.assert_frame_equal(a, b)


def test_bootstrap_interval_matches_lme4s_bootmer(null):
    out = icc(null, method="bootstrap", rng=20240501, n_boot=500).iloc[0]
    assert out["method"] == "bootstrap"
    # Different random numbers than R's: the percentile limits agree to Monte Carlo error (sd of ICC* ≈ 0.018).
    assert abs(out["ci_low"] - CI["bootstrap"]["ci_low"]) < 0.01
    assert abs(out["ci_high"] - CI["bootstrap"]["ci_high"]) < 0.01
    assert out["ci_low"] < out["icc"] < out["ci_high"]


def test_bootstrap_is_reproducible_with_rng(null):
    a = icc(null, method="bootstrap", rng=5, n_boot=50)
    b = icc(null, method="bootstrap", rng=np.random.default_rng(5), n_boot=50)
    pd.testing.assert_frame_equal(a, b)
    assert not icc(null, method="bootstrap", rng=6, n_boot=50).equals(a)


def test_wider_level_gives_wider_interval(null):
    narrow, wide = icc(null, ci=0.8).iloc[0], icc(null, ci=0.99).iloc[0]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["icc"] < narrow["ci_high"] < wide["ci_high"]


def test_conditional_icc_with_covariates(hsb):
    m = fit("MathAch ~ cses + (1 | School)", hsb)
    vc = m.varcomp
    tau, s2 = vc.loc[0, "vcov"], vc.loc[1, "vcov"]
    assert np.isclose(icc(m).loc[0, "icc"], tau / (tau + s2))


def test_simulation_truth_inside_interval():
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(60), 15)
    y = 5 + rng.normal(0, 1, 60)[g] + rng.normal(0, 2, 900)      # true ICC = 1 / 5 = 0.2
    out = icc(pd.DataFrame({"y": y, "g": g}), y="y", group="g").iloc[0]
    assert out["ci_low"] < 0.2 < out["ci_high"]


def test_zero_variance_gives_zero_lower_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff2"))
    out = icc(m).iloc[0]
    assert out["icc"] < 1e-6 and out["ci_low"] == 0.0 and 0 < out["ci_high"] < 1


def test_design_effect_and_effective_n_for_hsb():
    ref = REF["extra"]["hsb_design_effect"]
    assert np.isclose(design_effect(ref["icc"], ref["mean_group_size"]), ref["design_effect"])
    assert np.isclose(effective_n(7185, ref["icc"], ref["mean_group_size"]), ref["effective_n"])


def test_design_effect_is_vectorised():
    out = design_effect(np.array([0.0, 0.1, 1.0]), 11)
    np.testing.assert_allclose(out, [1.0, 2.0, 11.0])
    np.testing.assert_allclose(design_effect(0.1, [1, 11, 21]), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(effective_n(1000, [0.0, 0.1], 11), [1000.0, 500.0])


def test_refuses_random_slopes_and_several_factors(hsb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rs = fit("MathAch ~ cses + (cses | School)", hsb)
        pen = fit("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin"))
    msg = r"must be a random-intercept model with one grouping factor. Got 'MathAch ~ cses \+ \(cses \| School\)'; " \
          r"its random effects are School: \(Intercept\), cses. With random slopes or several grouping factors"
    with pytest.raises(ValueError, match=msg):
        icc(rs)
    with pytest.raises(ValueError, match=r"its random effects are plate: \(Intercept\); sample: \(Intercept\)"):
        icc(pen)
