"""Type III F tests of fixed-effect terms against lmerTest's anova(m, type = 3, ddf = ...) (frozen by
tools/kenward_roger_reference.R): a 3-level factor and its interaction with a numeric variable (sleepstudy's
phases, with and without an intercept), a cross-level interaction (HSB Sector * cses), a factor-by-factor interaction (HSB Sector * Sex) and a
3-level factor alone (Pastes' casks)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from _lme4 import key
from _small_sample import DERIVED, REF, reference_fit
from mlmlab import datasets, fit
from mlmlab.anova import anova, type3_hypotheses
from mlmlab.exceptions import MlmlabInputError
from mlmlab.satterthwaite import satterthwaite

MODELS = ["sleepstudy_phase", "sleepstudy_phase0", "hsb_rs", "hsb_sex", "pastes_cask"]


def _ours_in_r_order(ours: pd.DataFrame, r_terms) -> pd.DataFrame:
    """Our rows in lmerTest's order (patsy and R order terms and the variables of an interaction differently)."""
    by_key = {key(t): t for t in ours.index}
    return ours.loc[[by_key[key(t)] for t in r_terms]]


@pytest.mark.parametrize("method, ref", [("satterthwaite", "anova_satterthwaite"), ("kenward-roger", "anova_kr")])
@pytest.mark.parametrize("model", MODELS)
def test_f_num_df_den_df_and_p_match_lmertest(model, method, ref):
    theirs = REF[model][ref]
    ours = _ours_in_r_order(anova(reference_fit(model), ddf=method), theirs["term"])
    assert list(ours["num_df"]) == theirs["NumDF"]
    np.testing.assert_allclose(ours["F"], theirs["F"], rtol=1e-3)
    np.testing.assert_allclose(ours["den_df"], theirs["DenDF"], rtol=1e-3)
    np.testing.assert_allclose(ours["p"], theirs["p"], atol=1e-4)


def _r_column(name: str) -> str:
    """patsy's 'phase[T.late]' (treatment) or 'phase[late]' (every level, no intercept) -> R's 'phaselate'."""
    return "(Intercept)" if name == "Intercept" else key(re.sub(r"\[(?:T\.)?([^\]]+)\]", r"\1", name))


def _projection(L: np.ndarray) -> np.ndarray:
    return L.T @ np.linalg.solve(L @ L.T, L)


@pytest.mark.parametrize("model", MODELS)
def test_the_hypotheses_are_lmertests(model):
    """The Type III L of every term, row for row, as attr(anova(m), "hypotheses"). With a single term lmerTest
    tests it with its Type I basis (from a Doolittle factorisation of X'X): the same hypothesis, other rows."""
    ours = type3_hypotheses(reference_fit(model))
    for term, h in REF[model]["hypotheses"].items():
        (mine,) = [L for t, L in ours.items() if key(t) == key(term)]
        theirs = np.array(h["rows"], dtype=float).reshape(-1, len(h["columns"]))
        mine = mine.rename(columns=_r_column)[[key(c) for c in h["columns"]]].to_numpy()
        if len(REF[model]["hypotheses"]) > 1:
            np.testing.assert_allclose(mine, theirs, atol=1e-9)
        else:
            np.testing.assert_allclose(_projection(mine), _projection(theirs), atol=1e-9)


def test_a_contained_term_is_averaged_and_a_numeric_one_is_not():
    """HSB Sector * cses: cses (contained in Sector:cses) is the slope averaged over the two sectors, so its F
    is not the square of the public-school slope's t; Sector (Sector:cses adds a numeric variable, so it is not
    contained) is tested at cses = 0, its own t-test; the interaction is its own t-test."""
    m = reference_fit("hsb_rs")
    table, t = anova(m), satterthwaite(m)
    assert type3_hypotheses(m)["cses"].to_numpy().tolist() == [[0.0, 0.0, 1.0, 0.5]]
    assert table.loc["cses", "F"] != pytest.approx(t.loc["cses", "t"] ** 2, rel=1e-3)
    for term, column in (("Sector", "Sector[T.Catholic]"), ("Sector:cses", "Sector[T.Catholic]:cses")):
        assert table.loc[term, "F"] == pytest.approx(t.loc[column, "t"] ** 2, rel=1e-6)
        assert table.loc[term, "den_df"] == pytest.approx(t.loc[column, "df"], rel=1e-6)


def test_the_tests_do_not_depend_on_the_coding():
    """lmerTest builds Type III hypotheses in treatment coding and maps them onto the model's: with sum-to-zero
    (or Helmert) coding of phase, the same F, df and p as with treatment coding."""
    data = DERIVED["sleepstudy_phase"](datasets.load("sleepstudy"))
    treatment = anova(reference_fit("sleepstudy_phase"))
    for coding in ("Sum", "Helmert"):
        m = fit(f"Reaction ~ C(phase, {coding}) * Days + (Days | Subject)", data)
        other = anova(m).rename(index=lambda t: t.replace(f"C(phase, {coding})", "phase"))
        np.testing.assert_allclose(other.loc[treatment.index].to_numpy(dtype=float),
                                   treatment.to_numpy(dtype=float), rtol=1e-4)
        hypothesis = type3_hypotheses(m)[f"C(phase, {coding}):Days"]
        assert hypothesis.shape == (2, 6)


def test_a_single_term_does_not_depend_on_the_coding():
    d = datasets.load("pastes")
    treatment = anova(reference_fit("pastes_cask")).iloc[0]
    summed = anova(fit("strength ~ C(cask, Sum) + (1 | batch)", d)).iloc[0]
    np.testing.assert_allclose(summed.to_numpy(dtype=float), treatment.to_numpy(dtype=float), rtol=1e-4)


def test_an_intercept_only_model_has_no_terms_to_test():
    table = anova(reference_fit("dyestuff"))
    assert table.empty and list(table.columns) == ["F", "num_df", "den_df", "p"]


def test_bad_input_is_named_with_the_fix():
    m = reference_fit("pastes_cask")
    with pytest.raises(MlmlabInputError, match=r"The 'ddf' argument of anova must be one of 'satterthwaite', "
                                               r"'kenward-roger'\. Got 'kr'"):
        anova(m, ddf="KR")
    ml = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"), reml=False)
    with pytest.raises(MlmlabInputError, match=r"must be a REML fit.*m\.refit\(reml=True\)"):
        anova(ml, ddf="Kenward-Roger")


def test_a_restriction_of_nothing_gives_no_test():
    """lmerTest's contestMD: L beta with no estimable part is not tested (0 numerator df)."""
    from mlmlab.satterthwaite import f_tests

    row = f_tests(reference_fit("sleepstudy_phase"), {"none": np.zeros((2, 6))})["none"]
    assert row["num_df"] == 0 and np.isnan(row["F"]) and np.isnan(row["p"])
