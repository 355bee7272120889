"""mlmlab.report: the journal-style table, checked against frozen lme4 numbers (tests/reference/lme4.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmlab import datasets
from mlmlab.fitting import fit
from mlmlab.r2 import r2_nakagawa
from mlmlab.report import format_report, report_table

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["models"]
LLF_ABS, FE_REL, VC_REL = 0.01, 1e-3, 5e-3  # STYLE.md tolerances


@pytest.fixture(scope="module")
def sleep_fit():
    return fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def sleep_ri():
    return fit("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def table(sleep_ri, sleep_fit):
    return report_table(sleep_ri, sleep_fit, names=["Intercept only", "Intercept and slope"])


def test_layout(table):
    assert table.index.names == ["section", "term"]
    assert table.columns.names == ["model", "stat"]
    assert list(dict.fromkeys(table.index.get_level_values("section"))) == ["Fixed effects", "Random effects",
                                                                             "Model fit"]
    assert table.columns.tolist() == [(m, s) for m in ["Intercept only", "Intercept and slope"]
                                      for s in ["estimate", "se", "ci_low", "ci_high"]]
    assert table.loc["Fixed effects"].index.tolist() == ["Intercept", "Days"]
    assert table.loc["Random effects"].index.tolist() == [
        "Subject: (Intercept) variance", "Subject: (Intercept) SD", "Subject: Days variance", "Subject: Days SD",
        "Subject: correlation (Intercept), Days", "Residual: variance", "Residual: SD",
    ]
    # a term the first model does not have is missing, not zero
    assert np.isnan(table.loc[("Random effects", "Subject: Days variance"), ("Intercept only", "estimate")])
    # only fixed effects carry a standard error and an interval
    others = table.drop(index="Fixed effects", level="section")
    assert others.xs("se", axis=1, level="stat").isna().all().all()


def test_numbers_agree_with_lme4(table):
    ref = REF["sleepstudy_rs_reml"]
    col = table["Intercept and slope"]
    for term, lme4_term in [("Intercept", "(Intercept)"), ("Days", "Days")]:
        assert col.loc[("Fixed effects", term), "estimate"] == pytest.approx(
            ref["fixed"][lme4_term]["estimate"], rel=FE_REL)
        assert col.loc[("Fixed effects", term), "se"] == pytest.approx(ref["fixed"][lme4_term]["se"], rel=FE_REL)
    vc = {(r["grp"], r["var1"], r["var2"]): r for r in ref["varcomp"]}
    est = col["estimate"]
    assert est[("Random effects", "Subject: (Intercept) variance")] == pytest.approx(
        vc[("Subject", "(Intercept)", None)]["vcov"], rel=VC_REL)
    assert est[("Random effects", "Subject: Days SD")] == pytest.approx(
        vc[("Subject", "Days", None)]["sdcor"], rel=VC_REL)
    assert est[("Random effects", "Subject: correlation (Intercept), Days")] == pytest.approx(
        vc[("Subject", "(Intercept)", "Days")]["sdcor"], abs=0.005)
    assert est[("Random effects", "Residual: variance")] == pytest.approx(ref["sigma"] ** 2, rel=VC_REL)
    assert est[("Model fit", "N (observations)")] == ref["nobs"]
    assert est[("Model fit", "N groups (Subject)")] == ref["ngroups"]["Subject"]


def test_fit_statistics_are_ml_by_default(table, sleep_fit):
    # the REML fits are refitted with ML for these rows: lme4's ML values
    for name, key in [("Intercept only", "sleepstudy_ri_ml"), ("Intercept and slope", "sleepstudy_rs_ml")]:
        est = table[(name, "estimate")]
        ref = REF[key]
        assert est[("Model fit", "log-likelihood (ML)")] == pytest.approx(ref["logLik"], abs=LLF_ABS)
        assert est[("Model fit", "deviance (ML)")] == pytest.approx(ref["deviance"], abs=2 * LLF_ABS)
        assert est[("Model fit", "AIC (ML)")] == pytest.approx(ref["AIC"], abs=2 * LLF_ABS)
        assert est[("Model fit", "BIC (ML)")] == pytest.approx(ref["BIC"], abs=2 * LLF_ABS)
        assert est[("Model fit", "parameters")] == ref["npar"]
    as_fitted = report_table(sleep_fit, fit_stats="as_fitted")
    assert as_fitted.loc[("Model fit", "log-likelihood (REML)"), ("Model 1", "estimate")] == pytest.approx(
        REF["sleepstudy_rs_reml"]["logLik"], abs=LLF_ABS)
    assert ("Model fit", "AIC (ML)") not in as_fitted.index


def test_r2_and_icc_rows(table, sleep_ri):
    est = table[("Intercept only", "estimate")]
    r2 = r2_nakagawa(sleep_ri).iloc[0]
    assert est[("Model fit", "R² marginal")] == r2["r2_marginal"]
    assert est[("Model fit", "R² conditional")] == r2["r2_conditional"]
    # random intercept only: the adjusted ICC is tau00 / (tau00 + sigma2), here from lme4's numbers
    ref = REF["sleepstudy_ri_reml"]
    tau00 = ref["varcomp"][0]["vcov"]
    assert est[("Model fit", "ICC (adjusted)")] == pytest.approx(tau00 / (tau00 + ref["sigma"] ** 2), rel=VC_REL)


def test_interval_coverage(sleep_fit):
    t95 = report_table(sleep_fit)   # t intervals on Satterthwaite's df, as m.fixed
    fx = sleep_fit.fixed
    np.testing.assert_allclose(t95.loc["Fixed effects", ("Model 1", "ci_low")], fx["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(t95.loc["Fixed effects", ("Model 1", "ci_high")], fx["ci_high"], rtol=1e-12)
    t90 = report_table(sleep_fit, ci=0.90, fit_stats="as_fitted", ddf="z")
    half = t90.loc["Fixed effects", ("Model 1", "ci_high")] - t90.loc["Fixed effects", ("Model 1", "estimate")]
    np.testing.assert_allclose(half, stats.norm.ppf(0.95) * fx["se"], rtol=1e-12)
    with pytest.raises(ValueError, match="ddf"):
        report_table(sleep_fit, ddf="kr")


def test_kenward_roger_intervals_use_the_adjusted_se_and_df(sleep_fit):
    kr = sleep_fit.fixed_table("kenward-roger")
    table = report_table(sleep_fit, ddf="kenward-roger").loc["Fixed effects"]
    np.testing.assert_allclose(table[("Model 1", "se")], kr["se"], rtol=1e-12)
    np.testing.assert_allclose(table[("Model 1", "ci_low")], kr["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(table[("Model 1", "ci_high")], kr["ci_high"], rtol=1e-12)
    assert (kr["se"] >= sleep_fit.fixed["se"] - 1e-12).all()  # KR's adjustment never shrinks an SE here
    ml = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
    with pytest.raises(ValueError, match="(?i)REML"):
        report_table(ml, ddf="kenward-roger")


def test_format_report(table):
    text = format_report(table)
    assert text.columns.tolist() == ["Intercept only", "Intercept and slope"]
    fx = table.loc[("Fixed effects", "Days"), "Intercept and slope"]
    assert text.loc[("Fixed effects", "Days"), "Intercept and slope"] == f"{fx['estimate']:.2f} ({fx['se']:.2f})"
    assert text.loc[("Model fit", "N (observations)"), "Intercept only"] == "180"
    assert text.loc[("Random effects", "Subject: Days SD"), "Intercept only"] == ""
    ci = format_report(table, interval="ci", digits=1)
    assert ci.loc[("Fixed effects", "Days"), "Intercept and slope"] == \
        f"{fx['estimate']:.1f} [{fx['ci_low']:.1f}, {fx['ci_high']:.1f}]"
    bare = format_report(table, interval="none", digits=3)
    assert bare.loc[("Fixed effects", "Days"), "Intercept and slope"] == f"{fx['estimate']:.3f}"
    assert "Days" in text.to_latex()


def test_errors(sleep_fit):
    with pytest.raises(ValueError, match=r"The 'results' argument of report_table must be one or more fitted "
                                         r"models\. Got \(\)\. Pass fits from mlmlab\.fit"):
        report_table()
    with pytest.raises(TypeError, match=r"The 'results' argument of report_table must be a fitted model from "
                                        r"mlmlab\.fit\. Got 3\.5; it has no \.formula"):
        report_table(sleep_fit, 3.5)
    with pytest.raises(ValueError, match=r"The 'names' argument of report_table must be a list of 2 names "
                                         r"\(one per result\)\. Got \['a'\]; got 1 names for 2 results\."):
        report_table(sleep_fit, sleep_fit, names=["a"])
    with pytest.raises(TypeError, match=r"The 'names' argument of report_table must be a list of model names"):
        report_table(sleep_fit, names="a")
    with pytest.raises(ValueError, match=r"The 'names' argument of report_table must be a list of distinct names"):
        report_table(sleep_fit, sleep_fit, names=["a", "a"])
    with pytest.raises(ValueError, match=r"The 'ci' argument of report_table must be a coverage between 0 and 1\. "
                                         r"Got 95\. Pass e\.g\. ci=0\.95\."):
        report_table(sleep_fit, ci=95)
    with pytest.raises(ValueError, match=r"The 'fit_stats' argument of report_table must be one of 'ml', "
                                         r"'as_fitted'\. Got 'aic'\."):
        report_table(sleep_fit, fit_stats="aic")


def test_mixing_reml_and_ml_as_fitted_is_refused(sleep_fit):
    ml = sleep_fit.refit(reml=False)
    with pytest.raises(ValueError, match=r"The 'fit_stats' argument of report_table must be 'ml' when the models "
                                         r"mix REML and ML fits\. Got 'as_fitted'; their log-likelihoods, AIC and "
                                         r"BIC are on different scales\. Use fit_stats='ml'"):
        report_table(sleep_fit, ml, fit_stats="as_fitted")
    both = report_table(sleep_fit, ml)  # the default reports ML for both: identical rows
    fit_rows = both.loc["Model fit"].xs("estimate", axis=1, level="stat")
    np.testing.assert_allclose(fit_rows.loc["AIC (ML)", "Model 1"], fit_rows.loc["AIC (ML)", "Model 2"], atol=0.02)


def test_format_report_errors(table):
    with pytest.raises(TypeError, match=r"The 'table' argument of format_report must be the output of "
                                        r"report_table\. Got a DataFrame with 1 rows and 1 columns\."):
        format_report(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match=r"The 'interval' argument of format_report must be one of 'se', 'ci', "
                                         r"'none'\. Got 'sd'\."):
        format_report(table, interval="sd")
    with pytest.raises(ValueError, match=r"The 'digits' argument of format_report must be a whole number of at "
                                         r"least 0\. Got -1\."):
        format_report(table, digits=-1)
