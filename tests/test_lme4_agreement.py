"""mlmlab.fit against frozen lme4 numbers (tests/reference/lme4.json, made by tools/lme4_reference.R).

Tolerances (STYLE.md section 6): log-likelihood ±0.01; fixed effects and standard errors relative
1e-3; variance components relative 5e-3 (correlations absolute 5e-3). The checks themselves live in
tests/_lme4.py, shared with tests/test_lme4_lessons.py.
"""

import functools
import warnings

import pytest

from _lme4 import (REF, check_fixed_effects, check_loglik_and_criteria, check_random_effects_blups,
                   check_singular_flag, check_variance_components)
from mlmlab import datasets, fit

MODELS = sorted(REF["models"])


@functools.lru_cache(maxsize=None)
def _fit(model_id):
    ref = REF["models"][model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(ref["formula"], datasets.load(ref["dataset"]), reml=ref["reml"])


def test_reference_covers_the_issue_models():
    for needed in ["hsb_null_reml", "hsb_ri_reml", "hsb_rs_reml", "hsb_full_reml", "hsb_full_ml",
                   "sleepstudy_rs_reml", "sleepstudy_rs_ml", "dyestuff_reml", "dyestuff_ml", "dyestuff2_reml",
                   "penicillin_reml", "pastes_reml"]:
        assert needed in REF["models"]


@pytest.mark.parametrize("model_id", MODELS)
def test_loglik_and_criteria(model_id):
    check_loglik_and_criteria(REF["models"][model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", MODELS)
def test_fixed_effects_and_standard_errors(model_id):
    check_fixed_effects(REF["models"][model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", MODELS)
def test_variance_components(model_id):
    check_variance_components(REF["models"][model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", MODELS)
def test_singular_flag(model_id):
    check_singular_flag(REF["models"][model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", MODELS)
def test_random_effects_blups(model_id):
    check_random_effects_blups(REF["models"][model_id], _fit(model_id))
