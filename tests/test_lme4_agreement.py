"""mlmlab.fit against frozen lme4 numbers (tests/reference/lme4.json, made by tools/lme4_reference.R).

Tolerances (STYLE.md section 6): log-likelihood ±0.01; fixed effects and standard errors relative
1e-3; variance components relative 5e-3 (correlations absolute 5e-3).
"""

import functools
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from mlmlab import datasets, fit

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())
MODELS = sorted(REF["models"])


@functools.lru_cache(maxsize=None)
def _fit(model_id):
    ref = REF["models"][model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(ref["formula"], datasets.load(ref["dataset"]), reml=ref["reml"])


def _r_name(patsy_name: str) -> str:
    """patsy's 'Sector[T.Catholic]' / 'Intercept' -> R's 'SectorCatholic' / '(Intercept)'."""
    if patsy_name == "Intercept":
        return "(Intercept)"
    return re.sub(r"\[T\.([^\]]+)\]", r"\1", patsy_name)


def _key(r_name: str) -> str:
    """Interactions are named in a different order by R and patsy ('cses:SectorCatholic')."""
    return ":".join(sorted(r_name.split(":")))


def _close(a, b, rel):
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def test_reference_covers_the_issue_models():
    for needed in ["hsb_null_reml", "hsb_ri_reml", "hsb_rs_reml", "hsb_full_reml", "hsb_full_ml",
                   "sleepstudy_rs_reml", "sleepstudy_rs_ml", "dyestuff_reml", "dyestuff_ml", "dyestuff2_reml",
                   "penicillin_reml", "pastes_reml"]:
        assert needed in REF["models"]


@pytest.mark.parametrize("model_id", MODELS)
def test_loglik_and_criteria(model_id):
    ref, m = REF["models"][model_id], _fit(model_id)
    assert m.reml == ref["reml"]
    assert abs(m.llf - ref["logLik"]) <= 0.01
    assert abs(m.deviance - ref["deviance"]) <= 0.02
    assert m.npar == ref["npar"]
    assert abs(m.aic - ref["AIC"]) <= 0.02
    assert abs(m.bic - ref["BIC"]) <= 0.02
    assert m.nobs == ref["nobs"]
    assert m.ngroups == ref["ngroups"]
    assert m.converged


@pytest.mark.parametrize("model_id", MODELS)
def test_fixed_effects_and_standard_errors(model_id):
    ref, m = REF["models"][model_id], _fit(model_id)
    fixed = m.fixed.rename(index=lambda t: _key(_r_name(t)))
    assert set(fixed.index) == {_key(t) for t in ref["fixed"]}
    for term, want in ref["fixed"].items():
        assert _close(fixed.loc[_key(term), "estimate"], want["estimate"], 1e-3), term
        assert _close(fixed.loc[_key(term), "se"], want["se"], 1e-3), term


@pytest.mark.parametrize("model_id", MODELS)
def test_variance_components(model_id):
    ref, m = REF["models"][model_id], _fit(model_id)
    ours = m.varcomp
    assert list(ours.columns) == ["grp", "var1", "var2", "vcov", "sdcor"]
    assert len(ours) == len(ref["varcomp"])
    assert ours["grp"].iloc[-1] == "Residual"
    resid = ref["varcomp"][-1]["vcov"]
    for (_, row), want in zip(ours.iterrows(), ref["varcomp"]):
        assert (row["grp"], row["var1"], row["var2"]) == (want["grp"], want["var1"], want["var2"])
        if want["var2"] is None:
            # A variance: relative 5e-3, or (for a zero variance, a singular fit) absolute 5e-3 relative to σ².
            assert abs(row["vcov"] - want["vcov"]) <= 5e-3 * max(want["vcov"], 1e-3 * resid), row.to_dict()
        else:
            assert abs(row["sdcor"] - want["sdcor"]) <= 5e-3, row.to_dict()
            scale = math.sqrt(abs(want["vcov"] / want["sdcor"])) if want["sdcor"] else 1.0
            assert abs(row["vcov"] - want["vcov"]) <= 5e-3 * scale ** 2


@pytest.mark.parametrize("model_id", MODELS)
def test_singular_flag(model_id):
    ref, m = REF["models"][model_id], _fit(model_id)
    assert m.singular == ref["singular"]
    if ref["singular"]:
        assert any("Singular fit" in msg for msg in m.messages)


@pytest.mark.parametrize("model_id", MODELS)
def test_random_effects_blups(model_id):
    ref, m = REF["models"][model_id], _fit(model_id)
    ranef = m.ranef
    for grp, want in ref["ranef"].items():
        for term, values in want.items():
            if term in ("levels", "se"):
                continue
            got = ranef[(ranef.grp == grp) & (ranef.term == term)].set_index("level")
            # Tolerance: 5e-3 of the spread of the BLUPs (1e-4 of the residual SD when they are all ~0).
            sd = max(got["estimate"].std(), 1e-4 * math.sqrt(m.sigma2))
            for level, value, se in zip(want["levels"], values, want["se"][term]):
                assert abs(got.loc[level, "estimate"] - value) <= 5e-3 * sd, (grp, term, level)
                assert abs(got.loc[level, "se"] - se) <= 5e-3 * max(se, 1e-2 * math.sqrt(m.sigma2)), (grp, term, level)
