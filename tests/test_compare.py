"""compare(): lme4 anova()-style likelihood-ratio tests, boundary p-values, REML/ML rules."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from mlmlab import compare, datasets, fit
from mlmlab.compare import mixture_pvalue

ANOVA = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["anova"]
COLUMNS = ["npar", "aic", "bic", "llf", "deviance", "chisq", "df", "p", "p_boundary"]


@pytest.fixture(scope="module")
def hsb():
    return datasets.load("hsb")


@pytest.fixture(scope="module")
def hsb_fits(hsb):
    return {
        "ri": fit("MathAch ~ cses + (1 | School)", hsb),
        "rs": fit("MathAch ~ cses + (cses | School)", hsb),
        "null": fit("MathAch ~ 1 + (1 | School)", hsb),
        "means": fit("MathAch ~ MEANSES + (1 | School)", hsb),
    }


@pytest.fixture(scope="module")
def sleep_fits():
    s = datasets.load("sleepstudy")
    return {"ri": fit("Reaction ~ Days + (1 | Subject)", s), "rs": fit("Reaction ~ Days + (Days | Subject)", s),
            "uncorr": fit("Reaction ~ Days + (Days || Subject)", s)}


def _check_against(table, ref):
    assert list(table.columns) == COLUMNS
    for (_, row), want in zip(table.iterrows(), ref["table"]):
        assert row["npar"] == want["npar"]
        assert abs(row["llf"] - want["logLik"]) < 0.01
        assert abs(row["aic"] - want["AIC"]) < 0.02 and abs(row["bic"] - want["BIC"]) < 0.02
        assert abs(row["deviance"] - want["deviance"]) < 0.02
    last = table.iloc[-1]
    assert abs(last["chisq"] - ref["chisq"]) < 0.02
    assert last["df"] == ref["df"]
    assert np.isclose(last["p"], ref["p"], rtol=5e-3)


def test_hsb_random_slope_lrt_with_boundary_p(hsb_fits):
    table = compare(hsb_fits["ri"], hsb_fits["rs"], names=["ri", "rs"])
    _check_against(table, ANOVA["hsb_ri_vs_rs_reml"])
    last = table.loc["rs"]
    assert round(last["chisq"], 2) == 9.76 and round(last["p"], 4) == 0.0076
    assert np.isclose(last["p_boundary"], ANOVA["hsb_ri_vs_rs_reml"]["p_boundary"], rtol=5e-3)   # 0.0047
    assert np.isnan(table.loc["ri", "chisq"])
    assert table.attrs["notes"][0].startswith("All fits use REML and share their fixed effects")


def test_sleepstudy_random_slope_lrt(sleep_fits):
    table = compare(sleep_fits["ri"], sleep_fits["rs"])
    ref = ANOVA["sleepstudy_ri_vs_rs_reml"]
    _check_against(table, ref)
    assert np.isclose(table["p_boundary"].iloc[-1], ref["p_boundary"], rtol=5e-3)
    assert list(table.index) == ["Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"]


def test_rows_are_ordered_by_npar(sleep_fits):
    a = compare(sleep_fits["rs"], sleep_fits["ri"], names=["rs", "ri"])
    assert list(a.index) == ["ri", "rs"]


def test_new_independent_random_effect_uses_chi2_0_1_mixture(sleep_fits):
    table = compare(sleep_fits["ri"], sleep_fits["uncorr"], sleep_fits["rs"], names=["ri", "uncorr", "rs"])
    lr = table.loc["uncorr", "chisq"]
    assert np.isclose(table.loc["uncorr", "p_boundary"], 0.5 * table.loc["uncorr", "p"])
    assert np.isclose(table.loc["uncorr", "p_boundary"], mixture_pvalue(lr, 0))
    # Adding a correlation is not a boundary problem: no mixture p-value.
    assert np.isnan(table.loc["rs", "p_boundary"]) and table.loc["rs", "df"] == 1


def test_different_fixed_effects_are_refit_with_ml(hsb_fits):
    with pytest.warns(UserWarning, match=r"These fits use REML and differ in their fixed effects, so their likelihoods "
                                         r"are not comparable. compare\(\) refitted the REML fits with maximum "
                                         r"likelihood \(reml=False\), as lme4's anova\(\) does."):
        table = compare(hsb_fits["null"], hsb_fits["means"], names=["null", "means"])
    _check_against(table, ANOVA["hsb_null_vs_means_ml"])
    assert np.isnan(table.loc["means", "p_boundary"])
    assert "refitted the REML fits with maximum likelihood" in table.attrs["notes"][0]


def test_refit_false_refuses_with_the_fix(hsb_fits):
    with pytest.raises(ValueError, match=r"^These fits use REML and differ in their fixed effects, so their likelihoods "
                                         r"are not comparable. Refit both with reml=False, or let compare\(\) do it "
                                         r"with refit=True.$"):
        compare(hsb_fits["null"], hsb_fits["means"], refit=False)


def test_mixing_reml_and_ml(hsb_fits):
    ml_null = hsb_fits["null"].refit(reml=False)
    with pytest.raises(ValueError, match=r"^Some fits use REML and some ML, so their likelihoods are not comparable. "
                                         r"Refit both with reml=False"):
        compare(ml_null, hsb_fits["means"], refit=False)
    with pytest.warns(UserWarning, match=r"Some fits use REML and some ML"):
        table = compare(ml_null, hsb_fits["means"], names=["null", "means"])
    _check_against(table, ANOVA["hsb_null_vs_means_ml"])


def test_ml_fits_are_compared_as_they_are(hsb_fits):
    a, b = hsb_fits["null"].refit(reml=False), hsb_fits["means"].refit(reml=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = compare(a, b)
    assert table.attrs["notes"] == ["All fits use maximum likelihood (ML)."]


def test_different_data_are_refused(hsb, hsb_fits):
    fewer = fit("MathAch ~ cses + (cses | School)", hsb.iloc[:3000])
    with pytest.raises(ValueError, match=r"The 'results' argument of compare must be fits to the same rows of data. "
                                         r"Got 'b'; it uses 3000 rows and 'a' uses 7185. Fit every model to the same "
                                         r"data"):
        compare(hsb_fits["ri"], fewer, names=["a", "b"])
    shifted = hsb.assign(MathAch=hsb["MathAch"] + 1)
    other = fit("MathAch ~ cses + (1 | School)", shifted)
    with pytest.raises(ValueError, match=r"it uses other rows \(or other values of 'MathAch'\) than 'a'"):
        compare(hsb_fits["ri"], other, names=["a", "b"])
    ses = fit("SES ~ 1 + (1 | School)", hsb)
    with pytest.raises(ValueError, match=r"must be fits of the same outcome. Got 'b'; it models 'SES' but 'a' models "
                                         r"'MathAch'"):
        compare(hsb_fits["ri"], ses, names=["a", "b"])


def test_argument_checks(hsb_fits):
    with pytest.raises(TypeError, match=r"The 'results' argument of compare must be fits returned by mlmlab.fit. "
                                        r"Got .*; argument 2 is a str."):
        compare(hsb_fits["ri"], "rs")
    with pytest.raises(ValueError, match=r"must be at least two fitted models. Got 1. Pass the models to compare"):
        compare(hsb_fits["ri"])
    with pytest.raises(ValueError, match=r"The 'names' argument of compare must be a list of 2 labels, one per model"):
        compare(hsb_fits["ri"], hsb_fits["rs"], names=["only one"])
    with pytest.raises(ValueError, match=r"The 'names' argument of compare must be distinct labels"):
        compare(hsb_fits["ri"], hsb_fits["rs"], names=["a", "a"])


def test_mixture_pvalue_values():
    assert np.isclose(mixture_pvalue(9.76165657360252, 1), 0.00468630844002413, rtol=1e-6)
    assert mixture_pvalue(0.0, 0) == 1.0
    np.testing.assert_allclose(mixture_pvalue([3.84, 0.0], 0), [0.5 * 0.050043, 1.0], rtol=1e-4)
    with pytest.raises(ValueError, match=r"The 'lr' argument of mixture_pvalue must be finite and non-negative"):
        mixture_pvalue(-1.0, 1)
    with pytest.raises(ValueError, match=r"The 'q' argument of mixture_pvalue must be a whole number of at least 0"):
        mixture_pvalue(1.0, -1)
