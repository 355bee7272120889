"""Tests for mlmlab.published: the chapter-4 models, their cited published values and the side-by-side table.

Only numbers a citable public source prints are stored, each with its source; today the null model's
variance components as HLM prints them (UCLA's annotated HLM output). They are checked against lme4's fit of
the same model on the course's HSB data (tests/reference/lme4.json). No value is stored as the book's
(no public copy of its tables was at hand): values once entered from memory must not come back.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab.published import list_published, published_values, side_by_side

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["models"]

# published model -> lme4 reference fit of the same formula (REML, as in the book)
LME4_ID = {
    "one_way_anova": "hsb_null_reml",
    "means_as_outcomes": "hsb_means_reml",
    "random_coefficient": "hsb_rs_reml",
    "intercepts_slopes_as_outcomes": "hsb_full_reml",
}
# lme4 coefficient names -> patsy term names used by mlmlab.fit
PATSY = {"(Intercept)": "Intercept", "SectorCatholic": "Sector[T.Catholic]",
         "cses:SectorCatholic": "Sector[T.Catholic]:cses"}


class _Fit:
    """A stand-in for a MixedResult, built from one lme4 reference fit."""

    def __init__(self, ref_id):
        ref = REF[ref_id]
        self.fixed = pd.DataFrame(
            {"estimate": [v["estimate"] for v in ref["fixed"].values()],
             "se": [v["se"] for v in ref["fixed"].values()]},
            index=[PATSY.get(k, k) for k in ref["fixed"]])
        self.varcomp = pd.DataFrame(ref["varcomp"])


def test_list_published_formulas_match_lme4_reference_formulas():
    table = list_published()
    assert list(table.columns) == ["model", "formula", "book", "n_published"]
    for model, formula in zip(table["model"], table["formula"]):
        assert formula.replace(" ", "") == REF[LME4_ID[model]]["formula"].replace(" ", "")
    assert table["book"].str.contains("Raudenbush & Bryk \\(2002\\)").all()
    assert table["n_published"].tolist() == [len(published_values(m)) for m in table["model"]]


def test_every_published_value_names_a_citable_source_with_its_address():
    for model in list_published()["model"]:
        values = published_values(model)
        assert list(values.columns) == ["model", "quantity", "estimate", "se", "source"]
        assert values["source"].str.contains("https://").all(), model
    null = published_values("one_way_anova").set_index("quantity")
    assert null["estimate"].to_dict() == {"tau00": 8.61431, "sigma2": 39.14831}
    assert null["source"].str.contains("stats.oarc.ucla.edu/other/hlm/output/annotated-hlm-output").all()


def test_hlm_published_null_model_agrees_with_lme4():
    """HLM's REML variance components for the null model agree with lme4's to HLM's stopping rule (1e-4 relative)."""
    table = side_by_side(_Fit("hsb_null_reml"), "one_way_anova")
    recorded = table.dropna(subset=["published"])
    assert list(recorded.index) == ["tau00", "sigma2"]
    np.testing.assert_allclose(recorded["ours"], recorded["published"], rtol=1e-4)
    assert (recorded["difference"].abs() > 0).any()  # HLM stops a little short of the optimum, lme4 does not


def test_values_entered_from_memory_are_not_stored_as_the_book_s():
    """Two-decimal "book" values (8.61, 39.15, 12.65, 5.86, 2.64, 8.68, 36.70, 2.94 ...) could not be checked."""
    for model in ["means_as_outcomes", "random_coefficient", "intercepts_slopes_as_outcomes"]:
        assert published_values(model).empty
        table = side_by_side(_Fit(LME4_ID[model]), model)
        assert table["published"].isna().all() and table["difference"].isna().all()
        assert table["published_se"].isna().all()
    values = pd.concat([published_values(m) for m in list_published()["model"]])
    assert not values["source"].str.contains("Raudenbush").any()


def test_side_by_side_shows_our_fit_for_every_quantity_of_the_book_s_table():
    model = "intercepts_slopes_as_outcomes"
    table = side_by_side(_Fit(LME4_ID[model]), model)
    assert list(table.index) == ["Intercept", "MEANSES", "Sector[T.Catholic]", "cses", "MEANSES:cses",
                                 "Sector[T.Catholic]:cses", "tau00", "tau11", "tau01", "sigma2"]
    assert table.loc[["Intercept", "MEANSES", "Sector[T.Catholic]", "sigma2"], "ours"].round(2).tolist() == \
        [12.10, 5.33, 1.23, 36.72]
    assert table.loc["Intercept", "ours_se"] > 0 and np.isnan(table.loc["tau00", "ours_se"])


def test_sources_name_the_table_of_chapter_4():
    """Tables 4.2 to 4.5 of chapter 4, numbered as in Miratrix's replication of the chapter (see the module)."""
    book = list_published().set_index("model")["book"]
    for model, table in [("one_way_anova", "4.2"), ("means_as_outcomes", "4.3"), ("random_coefficient", "4.4"),
                         ("intercepts_slopes_as_outcomes", "4.5")]:
        assert f"chapter 4, Table {table}, section" in book[model]


def test_side_by_side_computes_icc_and_differences():
    table = side_by_side(_Fit("hsb_null_reml"), "one_way_anova")
    assert list(table.columns) == ["ours", "published", "difference", "ours_se", "published_se"]
    tau00 = REF["hsb_null_reml"]["varcomp"][0]["vcov"]
    sigma2 = REF["hsb_null_reml"]["varcomp"][1]["vcov"]
    assert table.loc["icc", "ours"] == pytest.approx(tau00 / (tau00 + sigma2))
    np.testing.assert_allclose(table["difference"], table["ours"] - table["published"])
    assert np.isnan(table.loc["tau00", "ours_se"])


def test_side_by_side_reads_slope_variance_and_covariance():
    table = side_by_side(_Fit("hsb_rs_reml"), "random_coefficient")
    assert table.loc["tau11", "ours"] == pytest.approx(0.69399742, rel=1e-6)
    assert round(table.loc["tau01", "ours"], 3) == 0.047


def test_unknown_model_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="The 'model' argument of published_values must be one of "
                                         "'one_way_anova', 'means_as_outcomes'"):
        published_values("table_4_2")


def test_wrong_model_fit_is_rejected_with_the_formula():
    with pytest.raises(ValueError, match=r"has no 'MEANSES'; the book's model is MathAch ~ MEANSES \+ \(1 \| School\)"):
        side_by_side(_Fit("hsb_null_reml"), "means_as_outcomes")


def test_non_result_is_rejected():
    with pytest.raises(TypeError, match="The 'result' argument of side_by_side must be a fitted model from "
                                        "mlmlab.fit. Got 'DataFrame'; it has no .fixed and .varcomp tables"):
        side_by_side(pd.DataFrame({"a": [1]}), "one_way_anova")
