"""The parametric bootstrap LRT against pbkrtest's PBmodcomp (frozen by tools/pbkrtest_reference.R)."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mlmlab import datasets, fit
from mlmlab.compare import bootstrap_lrt

compare_module = importlib.import_module("mlmlab.compare")  # the module (mlmlab.compare is the function)
resample_module = importlib.import_module("mlmlab.resample")
REF = json.loads((Path(__file__).parent / "reference" / "pbkrtest.json").read_text())["pairs"]


def _fit(formula, data, reml=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, reml=reml)


@pytest.fixture(scope="module")
def sleep():
    return datasets.load("sleepstudy")


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(REF))
def test_null_distribution_and_p_match_pbkrtest(key, sleep):
    ref = REF[key]
    small, large = _fit(ref["small"], sleep, reml=False), _fit(ref["large"], sleep, reml=False)
    out = bootstrap_lrt(small, large, n=1000, rng=1)
    row = out.iloc[0]
    assert row["lr"] == pytest.approx(ref["lr"], abs=1e-3)
    assert row["df"] == ref["df"]
    assert row["p_chisq"] == pytest.approx(ref["p_chisq"], rel=1e-3)
    null, theirs = out.attrs["null"], np.array(ref["ref"])
    assert len(null) == 1000 and row["n_failed"] == 0
    # Same distribution: a two-sample Kolmogorov-Smirnov test does not tell them apart, and the means agree
    # within Monte Carlo error.
    assert stats.ks_2samp(null, theirs).pvalue > 0.001
    se = np.sqrt(null.var() / len(null) + theirs.var() / len(theirs))
    assert abs(null.mean() - theirs.mean()) < 4 * se
    # Neither simulation comes near the observed LR: the smallest p-value 1/(n + 1), as PBmodcomp's
    assert row["p_boot"] == pytest.approx(1 / 1001) and ref["p_boot"] == pytest.approx(1 / 1001, rel=0.01)


@pytest.mark.slow
def test_engine_and_general_refits_give_the_same_null(sleep, monkeypatch):
    """One-factor models are refitted by the engine; anything else by the guarded optimisers on the designs.
    On the same simulated data sets both give the same LRs, to the guarded optimisers' agreement tolerance
    (two runs within 0.01 in log-likelihood, so 0.02 in LR)."""
    ri = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    rs = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    fast = bootstrap_lrt(ri, rs, n=20, rng=7)
    monkeypatch.setattr(resample_module, "engine_ready", lambda result: False)
    slow = bootstrap_lrt(ri, rs, n=20, rng=7)
    np.testing.assert_allclose(slow.attrs["null"], fast.attrs["null"], atol=0.025)
    assert np.median(np.abs(slow.attrs["null"] - fast.attrs["null"])) < 1e-4
    assert slow.iloc[0]["p_boot"] == fast.iloc[0]["p_boot"]


def test_reml_fits_with_the_same_fixed_effects_are_compared_by_reml(sleep):
    ri = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    rs = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    out = bootstrap_lrt(ri, rs, n=20, rng=3)
    assert out.iloc[0]["lr"] == pytest.approx(2 * (rs.llf - ri.llf))
    assert out.iloc[0]["p_boundary"] == pytest.approx(compare_module.compare(ri, rs).iloc[1]["p_boundary"])


@pytest.mark.slow
def test_crossed_factors_use_the_general_path(tmp_path):
    pen = datasets.load("penicillin")
    one = _fit("diameter ~ 1 + (1 | plate)", pen)
    two = _fit("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
    out = bootstrap_lrt(one, two, n=20, rng=2)
    row = out.iloc[0]
    assert row["n_boot"] + row["n_failed"] == 20 and row["n_boot"] >= 18
    assert np.all(out.attrs["null"] >= 0)
    assert row["lr"] > out.attrs["null"].max()  # the sample variance is huge: no simulated LR comes near
    assert row["p_boot"] == pytest.approx(1 / (1 + row["n_boot"]))


def test_same_seed_same_answer(sleep):
    ri = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    rs = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    a, b = bootstrap_lrt(ri, rs, n=30, rng=11), bootstrap_lrt(ri, rs, n=30, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(a.attrs["null"], b.attrs["null"])


def test_bad_input_is_named(sleep):
    ri = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    rs = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    with pytest.raises(ValueError, match="The 'full' argument of bootstrap_lrt must be the larger of two nested "
                                         "models.*Pass the simpler model first"):
        bootstrap_lrt(rs, ri, n=20)
    with pytest.raises(ValueError, match="The 'n' argument of bootstrap_lrt must be"):
        bootstrap_lrt(ri, rs, n=5)
    with pytest.raises(TypeError, match="The 'reduced' argument of bootstrap_lrt must be a fit"):
        bootstrap_lrt("ri", rs)
    other = _fit("Reaction ~ Days + (Days | Subject)", sleep.iloc[:170])
    with pytest.raises(ValueError, match="same rows"):
        bootstrap_lrt(ri, other, n=20)


def test_models_that_are_not_nested_or_not_alike_are_refused(sleep):
    days_ri = _fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
    days2_rs = _fit("Reaction ~ I(Days**2) + (Days | Subject)", sleep, reml=False)
    with pytest.raises(ValueError, match=r"must be a model that contains the reduced one \(nested models\).*"
                                         r"the reduced model has fixed effect 'Days' and the full model does not"):
        bootstrap_lrt(days_ri, days2_rs, n=20)
    null_reml = _fit("Reaction ~ 1 + (Days | Subject)", sleep)
    days_reml = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    with pytest.raises(ValueError, match=r"REML fits differ in their fixed effects.*bootstrap_lrt\(reduced.refit\("
                                         r"reml=False\), full.refit\(reml=False\)\)"):
        bootstrap_lrt(null_reml, days_reml, n=20)
    with pytest.raises(ValueError, match="one model is fitted by REML and the other by ML"):
        bootstrap_lrt(days_ri, days_reml, n=20)
