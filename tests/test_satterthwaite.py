"""Satterthwaite t-tests of fixed effects against lmerTest (frozen by tools/lmertest_reference.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets, fit
from mlmlab.satterthwaite import satterthwaite, varpar_covariance

REF = json.loads((Path(__file__).parent / "reference" / "lmertest.json").read_text())["models"]


def _fit(entry):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(entry["formula"], datasets.load(entry["dataset"]), reml=entry["reml"])


@pytest.fixture(scope="module")
def fits():
    return {key: _fit(entry) for key, entry in REF.items()}


def _matched(ours: pd.DataFrame, entry) -> tuple:
    """lmerTest's rows in our order (R and patsy order factor columns differently): matched by estimate."""
    theirs = pd.DataFrame({k: entry[k] for k in ("term", "estimate", "se", "df", "t", "p")})
    order = [int(np.argmin(np.abs(theirs["estimate"].to_numpy() - e))) for e in ours["estimate"]]
    assert sorted(order) == list(range(len(theirs))), "estimates do not pair up one to one"
    theirs = theirs.iloc[order].reset_index(drop=True)
    np.testing.assert_allclose(ours["estimate"].to_numpy(), theirs["estimate"], rtol=1e-4, atol=1e-6)
    return ours.reset_index(drop=True), theirs


@pytest.mark.parametrize("source", ["satterthwaite(m)", "m.fixed"])
@pytest.mark.parametrize("key", sorted(REF))
def test_df_t_and_p_match_lmertest(key, fits, source):
    """lmerTest's summary(m): the same df, t and p from mlmlab.satterthwaite and from every fit's .fixed table."""
    m = fits[key]
    ours, theirs = _matched(satterthwaite(m) if source == "satterthwaite(m)" else m.fixed, REF[key])
    np.testing.assert_allclose(ours["df"], theirs["df"], rtol=1e-3)
    np.testing.assert_allclose(ours["se"], theirs["se"], rtol=1e-4)
    np.testing.assert_allclose(ours["t"], theirs["t"], rtol=1e-4)
    np.testing.assert_allclose(ours["p"], theirs["p"], atol=1e-4)


@pytest.mark.parametrize("key", ["dyestuff_reml", "sleepstudy_rs_reml", "sleepstudy_rs_ml", "schools50_rs_reml",
                                 "penicillin_reml"])
def test_covariance_of_the_variance_parameters_matches_lmertest(key, fits):
    """lmerTest's vcov_varpar: 2 x the pseudo-inverse of the deviance's Hessian in (theta, sigma)."""
    ours = varpar_covariance(fits[key]).to_numpy()
    theirs = np.array(REF[key]["vcov_varpar"], dtype=float)
    scale = np.sqrt(np.outer(np.diag(theirs), np.diag(theirs)))
    np.testing.assert_allclose(ours / scale, theirs / scale, atol=2e-3)


def test_a_balanced_one_way_design_has_j_minus_1_df(fits):
    """Dyestuff: 6 batches of 5, intercept only; the intercept's t has J - 1 = 5 df exactly."""
    assert satterthwaite(fits["dyestuff_reml"]).loc["Intercept", "df"] == pytest.approx(5.0, rel=1e-5)


def test_a_singular_fit_falls_back_to_n_minus_1(fits):
    """Dyestuff2: the batch variance is 0, so the model is one sample of 30 rows: 29 df (lmerTest says so too)."""
    assert fits["dyestuff2_reml"].singular
    assert satterthwaite(fits["dyestuff2_reml"]).loc["Intercept", "df"] == pytest.approx(29.0, rel=1e-5)


def test_a_level_2_slope_gets_group_df_and_a_level_1_slope_row_df(fits):
    """Sector varies between schools (160): about 150 df; cses within them: about 7,000."""
    s = satterthwaite(fits["hsb_sector_reml"])
    assert 140 < s.loc["Sector[T.Catholic]", "df"] < 160
    assert s.loc["cses", "df"] > 7000


def test_a_contrast_matches_lmertests_contest1d(fits):
    ref = REF["sleepstudy_rs_reml"]["contrast_day5"]
    out = satterthwaite(fits["sleepstudy_rs_reml"], {"day 5": {"Intercept": 1.0, "Days": 5.0}})
    row = out.loc["day 5"]
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-5)
    assert row["se"] == pytest.approx(ref["se"], rel=1e-4)
    assert row["df"] == pytest.approx(ref["df"], rel=1e-3)
    assert row["p"] == pytest.approx(ref["p"], abs=1e-4)


def test_a_unit_contrast_is_the_terms_own_test(fits):
    m = fits["sleepstudy_rs_reml"]
    alone = satterthwaite(m).loc["Days"]
    as_contrast = satterthwaite(m, pd.DataFrame({"Days": [1.0]}, index=["slope"])).loc["slope"]
    np.testing.assert_allclose(as_contrast.to_numpy(), alone.to_numpy(), rtol=1e-12)


def test_contrasts_must_name_fixed_effects(fits):
    with pytest.raises(ValueError, match=r"The 'contrasts' argument of satterthwaite must be weights over the "
                                         r"model's fixed effects.*unknown term\(s\) 'day'"):
        satterthwaite(fits["sleepstudy_rs_reml"], {"c": {"day": 1.0}})
    with pytest.raises(TypeError, match="The 'contrasts' argument of satterthwaite must be a DataFrame or dict"):
        satterthwaite(fits["sleepstudy_rs_reml"], [1, 5])


def test_it_needs_a_fit():
    with pytest.raises(TypeError, match="The 'result' argument of satterthwaite must be a fitted model"):
        satterthwaite("m")
