"""Confidence intervals against lme4's confint (Wald, and bootMer percentiles; tools/lme4_confint_reference.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets, fit
from mlmlab.intervals import confint

REF = json.loads((Path(__file__).parent / "reference" / "lme4_confint.json").read_text())["models"]
DATA = {"sleepstudy_rs_reml": "sleepstudy", "dyestuff_reml": "dyestuff", "penicillin_reml": "penicillin",
        "pastes_reml": "pastes", "hsb_rs_reml": "hsb"}


@pytest.fixture(scope="module")
def fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {k: fit(REF[k]["formula"], datasets.load(DATA[k])) for k in REF}


def _lme4_name(name: str) -> str:
    return "(Intercept)" if name == "Intercept" else name


@pytest.mark.parametrize("key", sorted(REF))
def test_rows_are_lme4s_parameters_in_lme4s_order(key, fits):
    assert [_lme4_name(n) for n in confint(fits[key]).index] == REF[key]["parameter"]


@pytest.mark.parametrize("key", sorted(REF))
def test_wald_intervals_are_lme4s(key, fits):
    ours, ref = confint(fits[key]), REF[key]
    for i, name in enumerate(ref["parameter"]):
        if ref["wald_low"][i] is None:  # lme4 gives none for variance parameters
            assert np.isnan(ours["ci_low"].iloc[i]) and np.isnan(ours["ci_high"].iloc[i])
        else:
            assert ours["ci_low"].iloc[i] == pytest.approx(ref["wald_low"][i], rel=1e-5)
            assert ours["ci_high"].iloc[i] == pytest.approx(ref["wald_high"][i], rel=1e-5)


@pytest.mark.parametrize("key", sorted(REF))
def test_profile_intervals_are_lme4s(key, fits):
    """lme4 profiles the ML refit and interpolates its profile with splines; we find each limit by root finding.
    They agree to 1e-3 of the interval's width (an SD's limit of exactly 0 included)."""
    ours, ref = confint(fits[key], method="profile"), REF[key]
    for i, name in enumerate(ref["parameter"]):
        width = ref["profile_high"][i] - ref["profile_low"][i]
        assert ours["ci_low"].iloc[i] == pytest.approx(ref["profile_low"][i], abs=1e-3 * width), name
        assert ours["ci_high"].iloc[i] == pytest.approx(ref["profile_high"][i], abs=1e-3 * width), name


@pytest.mark.slow
@pytest.mark.parametrize("key", ["dyestuff_reml", "sleepstudy_rs_reml"])  # engine refits: 1,000 in seconds
def test_bootstrap_percentiles_agree_with_bootmer_within_monte_carlo_error(key, fits):
    """Both sides use 1,000 simulated data sets: a 2.5 % percentile then has a Monte Carlo SE of about 3 % of
    the interval's width for the difference of two runs; 15 % is five such SEs."""
    ours, ref = confint(fits[key], method="boot", n=1000, rng=1), REF[key]
    assert ours.attrs["n_boot"] >= 990
    for i, name in enumerate(ref["parameter"]):
        width = ref["boot_high"][i] - ref["boot_low"][i]
        assert abs(ours["ci_low"].iloc[i] - ref["boot_low"][i]) < 0.15 * width, name
        assert abs(ours["ci_high"].iloc[i] - ref["boot_high"][i]) < 0.15 * width, name
        assert ours["ci_low"].iloc[i] <= ours["estimate"].iloc[i] <= ours["ci_high"].iloc[i] or name.startswith("cor")


def test_a_standard_deviation_interval_can_reach_zero(fits):
    """Dyestuff: many bootstrap refits put the batch variance at 0, as bootMer's do (its lower limit is 0)."""
    boot = confint(fits["dyestuff_reml"], method="boot", n=200, rng=3)
    assert REF["dyestuff_reml"]["boot_low"][0] == 0
    assert boot.loc["sd_(Intercept)|Batch", "ci_low"] == 0


def test_level_and_seed(fits):
    m = fits["sleepstudy_rs_reml"]
    narrow, wide = confint(m, level=0.5), confint(m, level=0.99)
    assert (narrow["ci_high"] - narrow["ci_low"]).iloc[-1] < (wide["ci_high"] - wide["ci_low"]).iloc[-1]
    a, b = confint(m, method="boot", n=100, rng=5), confint(m, method="boot", n=100, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a["ci_low"].to_numpy(), b["ci_low"].to_numpy())


def test_bad_input_is_named(fits):
    m = fits["dyestuff_reml"]
    with pytest.raises(ValueError, match="The 'method' argument of confint must be one of"):
        confint(m, method="profile-ish")
    with pytest.raises(ValueError, match="The 'level' argument of confint must be a confidence level"):
        confint(m, level=95)
    with pytest.raises(ValueError, match="The 'n' argument of confint must be"):
        confint(m, method="boot", n=10)
    with pytest.raises(TypeError, match="The 'result' argument of confint must be a fitted model"):
        confint("m")


def test_the_result_method_is_the_function(fits):
    """m.confint(...) is mlmlab.confint(m, ...): lme4's confint(m, method = ...) as a method of the fit."""
    m = fits["dyestuff_reml"]
    for method in ("wald", "profile"):
        pd.testing.assert_frame_equal(m.confint(method), confint(m, method=method))
    ref = REF["dyestuff_reml"]
    assert m.confint("profile", level=0.95)["ci_low"].iloc[0] == pytest.approx(ref["profile_low"][0], rel=1e-3)


def test_profile_intervals_of_small_random_intercept_fits_never_lose_their_bracket():
    """On some small data sets the inner minimisation, warm-started from the last point, gave a bracket end a
    value with the other sign when Brent's method evaluated it again (ValueError: f(a) and f(b) must have different
    signs); three of these 24 data sets did. Each value is now computed once."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(5), 5)
    for r in range(24):
        y = rng.normal(0, 0.5, 5)[g] + rng.normal(size=25)
        if r not in (9, 21, 23):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = fit("y ~ 1 + (1 | g)", pd.DataFrame({"y": y, "g": g.astype(str)}))
            ci = m.confint("profile")
        assert np.all(np.isfinite(ci[["ci_low", "ci_high"]].to_numpy())), (r, ci)
        assert np.all(ci["ci_low"] <= ci["estimate"] + 1e-9) and np.all(ci["estimate"] <= ci["ci_high"] + 1e-9), (r, ci)
