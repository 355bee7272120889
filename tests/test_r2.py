"""mlmlab.r2: Nakagawa & Schielzeth R², checked by hand from frozen lme4 variance components
(tests/reference/lme4.json) and against a simulation's known truth."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets
from mlmlab.fitting import fit
from mlmlab.r2 import r2_nakagawa, variance_parts

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["models"]
VC_REL = 5e-3  # STYLE.md: variance components, relative


def _vc(model, grp, var1, var2=None):
    for row in REF[model]["varcomp"]:
        if row["grp"] == grp and row["var1"] == var1 and row["var2"] == var2:
            return row["vcov"]
    raise KeyError((model, grp, var1, var2))


def _hand_r2(var_fixed, var_random, var_resid):
    total = var_fixed + var_random + var_resid
    return var_fixed / total, (var_fixed + var_random) / total


@pytest.fixture(scope="module")
def sleep():
    return datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def hsb():
    return datasets.load("hsb")


def test_sleepstudy_random_slope_matches_hand_computation_from_lme4(sleep):
    ref = REF["sleepstudy_rs_reml"]
    days = sleep["Days"].to_numpy(dtype=float)
    b0, b1 = ref["fixed"]["(Intercept)"]["estimate"], ref["fixed"]["Days"]["estimate"]
    var_fixed = np.var(b0 + b1 * days, ddof=1)
    t00 = _vc("sleepstudy_rs_reml", "Subject", "(Intercept)")
    t11 = _vc("sleepstudy_rs_reml", "Subject", "Days")
    t01 = _vc("sleepstudy_rs_reml", "Subject", "(Intercept)", "Days")
    # Johnson (2014): mean over rows of z_i' G z_i with z_i = (1, Days_i)
    var_random = t00 + 2 * t01 * days.mean() + t11 * np.mean(days ** 2)
    sigma2 = ref["sigma"] ** 2
    r2m, r2c = _hand_r2(var_fixed, var_random, sigma2)

    out = r2_nakagawa(fit(ref["formula"], sleep))
    assert list(out.columns) == ["r2_marginal", "r2_conditional", "var_fixed", "var_random", "var_residual"]
    assert len(out) == 1
    row = out.iloc[0]
    assert row["var_fixed"] == pytest.approx(var_fixed, rel=1e-3)
    assert row["var_random"] == pytest.approx(var_random, rel=VC_REL)
    assert row["var_residual"] == pytest.approx(sigma2, rel=VC_REL)
    assert row["r2_marginal"] == pytest.approx(r2m, rel=VC_REL)
    assert row["r2_conditional"] == pytest.approx(r2c, rel=VC_REL)


def test_sleepstudy_uncorrelated_slope(sleep):
    ref = REF["sleepstudy_uncorr_reml"]
    days = sleep["Days"].to_numpy(dtype=float)
    var_fixed = np.var(ref["fixed"]["Days"]["estimate"] * days, ddof=1)
    # lme4 names the second block of (Days || Subject) "Subject.1"
    var_random = (_vc("sleepstudy_uncorr_reml", "Subject", "(Intercept)")
                  + _vc("sleepstudy_uncorr_reml", "Subject.1", "Days") * np.mean(days ** 2))
    r2m, r2c = _hand_r2(var_fixed, var_random, ref["sigma"] ** 2)
    out = r2_nakagawa(fit(ref["formula"], sleep)).iloc[0]
    assert out["r2_marginal"] == pytest.approx(r2m, rel=VC_REL)
    assert out["r2_conditional"] == pytest.approx(r2c, rel=VC_REL)


def test_hsb_random_slope_matches_hand_computation(hsb):
    ref = REF["hsb_rs_reml"]
    cses = hsb["cses"].to_numpy(dtype=float)
    var_fixed = np.var(ref["fixed"]["cses"]["estimate"] * cses, ddof=1)
    var_random = (_vc("hsb_rs_reml", "School", "(Intercept)")
                  + 2 * _vc("hsb_rs_reml", "School", "(Intercept)", "cses") * cses.mean()
                  + _vc("hsb_rs_reml", "School", "cses") * np.mean(cses ** 2))
    r2m, r2c = _hand_r2(var_fixed, var_random, ref["sigma"] ** 2)
    out = r2_nakagawa(fit(ref["formula"], hsb)).iloc[0]
    assert out["r2_marginal"] == pytest.approx(r2m, rel=VC_REL)
    assert out["r2_conditional"] == pytest.approx(r2c, rel=VC_REL)


def test_null_model_conditional_r2_is_the_icc(hsb):
    ref = REF["hsb_null_reml"]
    t00 = _vc("hsb_null_reml", "School", "(Intercept)")
    icc = t00 / (t00 + ref["sigma"] ** 2)
    out = r2_nakagawa(fit(ref["formula"], hsb)).iloc[0]
    assert out["r2_marginal"] == pytest.approx(0.0, abs=1e-12)
    assert out["r2_conditional"] == pytest.approx(icc, rel=VC_REL)


def test_crossed_factors_add_their_variances():
    ref = REF["penicillin_reml"]
    pen = datasets.load("penicillin")
    parts = variance_parts(fit(ref["formula"], pen))
    assert parts["part"].tolist() == ["fixed", "plate", "sample", "residual"]
    got = parts.set_index("part")["variance"]
    assert got["plate"] == pytest.approx(_vc("penicillin_reml", "plate", "(Intercept)"), rel=VC_REL)
    assert got["sample"] == pytest.approx(_vc("penicillin_reml", "sample", "(Intercept)"), rel=VC_REL)
    r2c = r2_nakagawa(fit(ref["formula"], pen)).iloc[0]["r2_conditional"]
    assert r2c == pytest.approx((got["plate"] + got["sample"]) / got.sum(), rel=1e-12)


def test_recovers_simulated_truth():
    # y = 1 + 2 x + u0 + u1 x + e, x ~ N(0, 1), tau00 = 4, tau11 = 1, tau01 = 0.5, sigma2 = 9.
    rng = np.random.default_rng(2024)
    J, n = 300, 20
    G = np.array([[4.0, 0.5], [0.5, 1.0]])
    u = rng.multivariate_normal([0, 0], G, size=J)
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    y = 1 + 2 * x + u[g, 0] + u[g, 1] * x + rng.normal(0, 3, J * n)
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    # true parts: fixed 4 var(x) = 4, random tau00 + tau11 E[x^2] = 5, residual 9
    true_m, true_c = 4 / 18, 9 / 18
    out = r2_nakagawa(fit("y ~ x + (x | g)", data)).iloc[0]
    assert out["r2_marginal"] == pytest.approx(true_m, abs=0.03)
    assert out["r2_conditional"] == pytest.approx(true_c, abs=0.03)
    assert 0 <= out["r2_marginal"] <= out["r2_conditional"] <= 1


def test_rejects_objects_that_are_not_fits():
    with pytest.raises(TypeError, match=r"The 'result' argument of r2_nakagawa must be a fitted model from "
                                        r"mlmlab.fit\. Got 'm'; it has no \.formula, \.data, \.fixef, \.G, "
                                        r"\.sigma2, \.design\. Fit the model first"):
        r2_nakagawa("m")
