"""Tests for mlmlab.published: the stored Raudenbush & Bryk values and the side-by-side table.

The published numbers are checked against lme4's fits of the same models on the course's HSB data
(tests/reference/lme4.json): every value recorded as the book's must agree to its printed precision.
Values no fit reproduces and no source at hand shows (Model 4's intercept, MEANSES, Sector and sigma2)
are not recorded as the book's, and neither are lme4's own three-decimal numbers that were once stored
as the book's (the null model's intercept and SE, Model 2's SEs, Model 3's slope variance).
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


def _digits(x):
    """Decimal places printed in the book for the stored value x."""
    text = repr(float(x)).rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def test_list_published_formulas_match_lme4_reference_formulas():
    table = list_published()
    assert list(table.columns) == ["model", "formula", "source"]
    for model, formula in zip(table["model"], table["formula"]):
        assert formula.replace(" ", "") == REF[LME4_ID[model]]["formula"].replace(" ", "")
    assert table["source"].str.contains("Raudenbush & Bryk \\(2002\\)").all()


def test_published_values_have_source_and_columns():
    values = published_values("means_as_outcomes")
    assert list(values.columns) == ["model", "quantity", "estimate", "se", "source"]
    assert values["quantity"].tolist() == ["Intercept", "MEANSES", "tau00", "sigma2"]
    assert values.loc[values.quantity == "MEANSES", "estimate"].item() == 5.86


@pytest.mark.parametrize("model", list(LME4_ID))
def test_published_agree_with_lme4_to_printed_precision(model):
    table = side_by_side(_Fit(LME4_ID[model]), model)
    recorded = table.dropna(subset=["published"])
    assert len(recorded) >= 3
    for quantity, row in recorded.iterrows():
        tol = 10.0 ** -_digits(row["published"]) / 2 + 1e-9
        assert abs(row["difference"]) <= tol, (model, quantity, row.to_dict())
        if not math.isnan(row["published_se"]):
            se_tol = 10.0 ** -_digits(row["published_se"]) / 2 + 1e-9
            assert abs(row["ours_se"] - row["published_se"]) <= se_tol, (model, quantity)


def test_model4_values_no_fit_reproduces_are_not_recorded_as_the_book_s():
    """12.11, 5.34, 1.22 and 36.70 are not stored: lme4 gives 12.10, 5.33, 1.23 and 36.72 for the book's model."""
    model = "intercepts_slopes_as_outcomes"
    recorded = published_values(model)["quantity"].tolist()
    assert recorded == ["cses", "MEANSES:cses", "Sector[T.Catholic]:cses", "tau00"]
    table = side_by_side(_Fit(LME4_ID[model]), model)
    missing = ["Intercept", "MEANSES", "Sector[T.Catholic]", "sigma2"]
    assert table.loc[missing, "published"].isna().all() and table.loc[missing, "difference"].isna().all()
    assert table.loc[missing, "ours"].round(2).tolist() == [12.10, 5.33, 1.23, 36.72]
    assert list(table.index) == ["Intercept", "MEANSES", "Sector[T.Catholic]", "cses", "MEANSES:cses",
                                 "Sector[T.Catholic]:cses", "tau00", "sigma2"]
    assert table.loc["Intercept", "ours_se"] > 0 and np.isnan(table.loc["Intercept", "published_se"])


def test_lme4s_three_decimal_numbers_are_not_recorded_as_the_book_s():
    """12.637 (SE 0.244), 0.149, 0.361 and 0.694 are lme4's fits at three decimals: our fit alone is shown."""
    null = side_by_side(_Fit("hsb_null_reml"), "one_way_anova")
    assert np.isnan(null.loc["Intercept", ["published", "published_se"]].astype(float)).all()
    assert round(null.loc["Intercept", "ours"], 3) == 12.637 and round(null.loc["Intercept", "ours_se"], 3) == 0.244
    means = side_by_side(_Fit("hsb_means_reml"), "means_as_outcomes")
    assert means["published_se"].isna().all()
    assert means.loc[["Intercept", "MEANSES"], "published"].tolist() == [12.65, 5.86]
    slopes = side_by_side(_Fit("hsb_rs_reml"), "random_coefficient")
    assert np.isnan(slopes.loc["tau11", "published"]) and round(slopes.loc["tau11", "ours"], 3) == 0.694
    assert "tau11" not in published_values("random_coefficient")["quantity"].tolist()


def test_sources_name_the_table_of_chapter_4():
    """Tables 4.2 to 4.5 of chapter 4, numbered as in Miratrix's replication of the chapter (see the module)."""
    sources = list_published().set_index("model")["source"]
    for model, table in [("one_way_anova", "4.2"), ("means_as_outcomes", "4.3"), ("random_coefficient", "4.4"),
                         ("intercepts_slopes_as_outcomes", "4.5")]:
        assert f"chapter 4, Table {table}, section" in sources[model]


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
    assert "tau01" not in table.index  # the book's value is not stored, so not compared


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
