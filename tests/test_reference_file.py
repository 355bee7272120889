"""Checks of the frozen lme4 reference file tests/reference/lme4.json (made by tools/lme4_reference.R).

The file is what other tests compare mlmlab against, so it is checked here for completeness,
internal consistency (AIC/BIC/deviance/LR recomputed from the stored log-likelihoods) and against
published numbers at their published rounding.
"""

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from mlmlab import datasets

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "reference" / "lme4.json").read_text(encoding="utf-8"))
MODELS = REF["models"]

FORMULAS = {
    "hsb_null": ("hsb", "MathAch ~ 1 + (1 | School)"),
    "hsb_means": ("hsb", "MathAch ~ MEANSES + (1 | School)"),
    "hsb_ri": ("hsb", "MathAch ~ cses + (1 | School)"),
    "hsb_rs": ("hsb", "MathAch ~ cses + (cses | School)"),
    "hsb_full": ("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (cses | School)"),
    "sleepstudy_rs": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "sleepstudy_uncorr": ("sleepstudy", "Reaction ~ Days + (Days || Subject)"),
    "sleepstudy_ri": ("sleepstudy", "Reaction ~ Days + (1 | Subject)"),
    "dyestuff": ("dyestuff", "Yield ~ 1 + (1 | Batch)"),
    "dyestuff2": ("dyestuff2", "Yield ~ 1 + (1 | Batch)"),
    "penicillin": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "pastes": ("pastes", "strength ~ 1 + (1 | batch/cask)"),
    "schools50_null": ("schools50", "math ~ 1 + (1 | school)"),
    "schools50_ri": ("schools50", "math ~ ses + (1 | school)"),
    "schools50_rs": ("schools50", "math ~ ses + (ses | school)"),
}
REML_ONLY = {"sleepstudy_uncorr", "dyestuff2"}
IDS = sorted(f"{base}_{kind}" for base in FORMULAS for kind in (("reml",) if base in REML_ONLY else ("reml", "ml")))

# The models the lessons and assignment masters fit (section lesson_models; tests/test_lme4_lessons.py):
# base id -> (data set, formula, fits, derived columns). Data sets not shipped with mlmlab are the ones the
# notebooks simulate, exported to tests/reference/data/ by tools/export_lesson_data.py.
LESSON = REF["lesson_models"]
LESSON_SPECS = {
    "hsb_sector_cses_ri": ("hsb", "MathAch ~ Sector + cses + (1 | School)", ("reml",), {}),
    "hsb_ses_ri": ("hsb", "MathAch ~ SES + (1 | School)", ("reml",), {}),
    "hsb_ses_ri_checks": ("hsb", "MathAch ~ SES + (1 | School)", ("ml",), {}),
    "hsb_cses_means_ri": ("hsb", "MathAch ~ cses + MEANSES + (1 | School)", ("reml",), {}),
    "hsb_ses_means_ri": ("hsb", "MathAch ~ SES + MEANSES + (1 | School)", ("reml",), {}),
    "hsb_ses_rs": ("hsb", "MathAch ~ SES + (SES | School)", ("reml",), {}),
    "hsb_ses_plus1_rs": ("hsb", "MathAch ~ SES_plus1 + (SES_plus1 | School)", ("reml",), {"SES_plus1": "SES + 1"}),
    "hsb_means100_ri": ("hsb", "MathAch ~ MEANSES_100 + (1 | School)", ("reml", "ml"), {"MEANSES_100": "MEANSES * 100"}),
    "hsb_full_ri": ("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (1 | School)", ("reml",), {}),
    "hsb_sesm_rs": ("hsb", "MathAch ~ ses_m + (ses_m | School)", ("reml",), {"ses_m": "SES - MEANSES"}),
    "hsb_full_sesm_rs": ("hsb", "MathAch ~ MEANSES*ses_m + Sector*ses_m + (ses_m | School)", ("reml",),
                         {"ses_m": "SES - MEANSES"}),
    "pastes_crossed_labels": ("pastes", "strength ~ 1 + (1 | batch) + (1 | cask)", ("reml",), {}),
    "pastes_unique_labels": ("pastes", "strength ~ 1 + (1 | batch) + (1 | sample)", ("reml",), {}),
    "sleepstudy_mid_rs": ("sleepstudy", "Reaction ~ Days_c + (Days_c | Subject)", ("reml",), {"Days_c": "Days - 4.5"}),
    "sleepstudy_end_rs": ("sleepstudy", "Reaction ~ Days_end + (Days_end | Subject)", ("reml",), {"Days_end": "Days - 9"}),
    "sleepstudy_null": ("sleepstudy", "Reaction ~ 1 + (1 | Subject)", ("ml",), {}),
    "sleepstudy_quad": ("sleepstudy", "Reaction ~ Days + Days2 + (Days | Subject)", ("ml",), {"Days2": "Days * Days"}),
    "sleepstudy_knot": ("sleepstudy", "Reaction ~ Days + after + (Days | Subject)", ("ml",),
                        {"after": "(Days - 2) * (Days > 2)"}),
    "lesson03_tutorial_null": ("lesson03_tutorial", "Y ~ 1 + (1 | school)", ("reml",), {}),
    "lesson03_tutorial_ri": ("lesson03_tutorial", "Y ~ X + (1 | school)", ("reml",), {}),
    "lesson04_slope_sim_rs": ("lesson04_slope_sim", "Y ~ X + (X | school)", ("reml",), {}),
    "lesson04_slope_sim_ri": ("lesson04_slope_sim", "Y ~ X + (1 | school)", ("reml",), {}),
    "lesson06_tutorial_sim_ri": ("lesson06_tutorial_sim", "Y ~ X + (1 | school)", ("reml", "ml"), {}),
    "lesson06_tutorial_sim_rs": ("lesson06_tutorial_sim", "Y ~ X + (X | school)", ("reml",), {}),
    "lesson07_ratings": ("lesson07_ratings", "y ~ 1 + (1 | student) + (1 | rater)", ("reml",), {}),
    "lesson07_three_level": ("lesson07_three_level", "y ~ 1 + (1 | school/class)", ("reml",), {}),
    "lesson07_three_level_schools": ("lesson07_three_level", "y ~ 1 + (1 | school)", ("reml",), {}),
    "lesson10_skewed_5": ("lesson10_skewed_5", "y ~ 1 + (1 | g)", ("reml",), {}),
    "lesson10_skewed_100": ("lesson10_skewed_100", "y ~ 1 + (1 | g)", ("reml",), {}),
    "lesson11_coffee_naive": ("lesson11_coffee", "rt ~ cups + (1 | person)", ("reml",), {}),
    "lesson11_coffee_rewb": ("lesson11_coffee", "rt ~ cups_within + cups_mean + (1 | person)", ("reml",), {}),
    "lesson11_coffee_mundlak": ("lesson11_coffee", "rt ~ cups + cups_mean + (1 | person)", ("reml",), {}),
    "lesson11_trial_means": ("lesson11_trial", "score ~ 1 + (1 | person)", ("reml",), {}),
    "lesson11_trial_growth": ("lesson11_trial", "score ~ week + (week | person)", ("reml",), {}),
    "lesson11_trial_conditional": ("lesson11_trial", "score ~ week * treated + (week | person)", ("reml",), {}),
    "assignment01_sim_ri": ("assignment01_sim", "y ~ x + (1 | group)", ("reml", "ml"), {}),
    "assignment05_batches": ("assignment05_batches", "y ~ 1 + (1 | batch)", ("reml", "ml"), {}),
    "assignment11_diary_rewb": ("assignment11_diary", "mood ~ hours_within + hours_mean + (1 | person)", ("reml",), {}),
    "assignment11_diary_naive": ("assignment11_diary", "mood ~ hours + (1 | person)", ("reml", "ml"), {}),
    "assignment11_reading_growth": ("assignment11_reading", "score ~ wave + (wave | child)", ("reml",), {}),
    "assignment11_reading_conditional": ("assignment11_reading", "score ~ wave * tutored + (wave | child)", ("reml",), {}),
}
LESSON_IDS = sorted(f"{base}_{kind}" for base, spec in LESSON_SPECS.items() for kind in spec[2])
ALL = {**MODELS, **LESSON}
DATA_DIR = ROOT / "tests" / "reference" / "data"
DATA_META = json.loads((DATA_DIR / "lesson_data.json").read_text(encoding="utf-8"))


def _load(name):
    """A shipped data set, or a simulated one as R read it: its CSV with the factor levels of lesson_data.json."""
    if name not in DATA_META:
        return datasets.load(name)
    meta = DATA_META[name]
    data = pd.read_csv(DATA_DIR / meta["file"], dtype={col: str for col in meta["factors"]})
    for col, levels in meta["factors"].items():
        data[col] = pd.Categorical(data[col], categories=levels)
        assert not data[col].isna().any(), (name, col)
    return data


def _vc(model_id, grp, var1=None, var2=None):
    rows = [r for r in MODELS[model_id]["varcomp"]
            if r["grp"] == grp and r["var1"] == var1 and r["var2"] == var2]
    assert len(rows) == 1, (model_id, grp, var1, var2)
    return rows[0]


def _fixed(model_id, term):
    return MODELS[model_id]["fixed"][term]


def test_meta_records_versions():
    meta = REF["meta"]
    assert meta["R"].startswith("R version 4.")
    assert meta["lme4"] == "1.1.31"
    assert meta["lmerTest"] and meta["Matrix"] and meta["jsonlite"]
    assert meta["generated_by"] == "tools/lme4_reference.R"
    assert (ROOT / meta["generated_by"]).is_file()


def test_all_models_present_with_their_formula():
    assert sorted(MODELS) == IDS
    for model_id, m in MODELS.items():
        base, kind = model_id.rsplit("_", 1)
        assert (m["dataset"], m["formula"]) == FORMULAS[base]
        assert m["reml"] is (kind == "reml")


@pytest.mark.parametrize("model_id", IDS + LESSON_IDS)
def test_information_criteria_are_consistent(model_id):
    m = ALL[model_id]
    ll, k, n = m["logLik"], m["npar"], m["nobs"]
    assert m["deviance"] == pytest.approx(-2 * ll, rel=1e-12)
    assert m["AIC"] == pytest.approx(-2 * ll + 2 * k, rel=1e-12)
    assert m["BIC"] == pytest.approx(-2 * ll + k * math.log(n), rel=1e-12)
    assert m["npar"] == len(m["fixed"]) + len(m["varcomp"])
    if not m["reml"]:
        assert m["REMLcrit_or_deviance"] == pytest.approx(-2 * ll, rel=1e-10)


@pytest.mark.parametrize("model_id", IDS + LESSON_IDS)
def test_nobs_and_groups_match_the_shipped_data(model_id):
    m = ALL[model_id]
    data = _load(m["dataset"])
    assert m["nobs"] == len(data)
    for grp, count in m["ngroups"].items():
        if ":" in grp:  # lme4 names the nested factor inner:outer, e.g. cask:batch
            inner, outer = grp.split(":")
            assert data.groupby([inner, outer], observed=True).ngroups == count
        else:
            assert data[grp].nunique() == count


@pytest.mark.parametrize("model_id", IDS + LESSON_IDS)
def test_varcomp_layout_like_as_data_frame_varcorr(model_id):
    m = ALL[model_id]
    rows = m["varcomp"]
    assert rows[-1]["grp"] == "Residual" and rows[-1]["var1"] is None and rows[-1]["var2"] is None
    assert rows[-1]["vcov"] == pytest.approx(m["sigma"] ** 2, rel=1e-10)
    sds = {}
    for r in rows:
        if r["var2"] is None:
            assert r["vcov"] >= 0
            assert r["sdcor"] == pytest.approx(math.sqrt(r["vcov"]), rel=1e-10, abs=1e-12)
            sds[(r["grp"], r["var1"])] = r["sdcor"]
        else:
            assert -1 <= r["sdcor"] <= 1
            sd1, sd2 = sds[(r["grp"], r["var1"])], sds[(r["grp"], r["var2"])]
            assert r["vcov"] == pytest.approx(r["sdcor"] * sd1 * sd2, rel=1e-8)
    for term, fe in m["fixed"].items():
        assert fe["se"] > 0, term


def test_only_dyestuff2_is_singular():
    assert [k for k, m in MODELS.items() if m["singular"]] == ["dyestuff2_reml"]
    assert _vc("dyestuff2_reml", "Batch", "(Intercept)")["vcov"] == 0
    assert any("singular" in msg for msg in MODELS["dyestuff2_reml"]["messages"])


def test_lme4_names_of_terms_and_groups():
    # The names mlmlab has to map its own (patsy) names onto.
    assert list(MODELS["hsb_full_reml"]["fixed"]) == [
        "(Intercept)", "MEANSES", "cses", "SectorCatholic", "MEANSES:cses", "cses:SectorCatholic"]
    assert [(r["grp"], r["var1"], r["var2"]) for r in MODELS["hsb_rs_reml"]["varcomp"]] == [
        ("School", "(Intercept)", None), ("School", "cses", None), ("School", "(Intercept)", "cses"),
        ("Residual", None, None)]
    assert [r["grp"] for r in MODELS["pastes_reml"]["varcomp"]] == ["cask:batch", "batch", "Residual"]
    assert MODELS["pastes_reml"]["ngroups"] == {"cask:batch": 30, "batch": 10}
    assert [(r["grp"], r["var1"]) for r in MODELS["sleepstudy_uncorr_reml"]["varcomp"]] == [
        ("Subject", "(Intercept)"), ("Subject.1", "Days"), ("Residual", None)]
    assert [r["grp"] for r in MODELS["penicillin_reml"]["varcomp"]] == ["plate", "sample", "Residual"]


@pytest.mark.parametrize("model_id", IDS + LESSON_IDS)
def test_ranef_blocks(model_id):
    m = ALL[model_id]
    assert set(m["ranef"]) == set(m["ngroups"])
    data = _load(m["dataset"])
    for grp, block in m["ranef"].items():
        levels = block["levels"]
        assert len(levels) == min(10, m["ngroups"][grp])
        if ":" not in grp:
            assert levels == list(data[grp].cat.categories[:10])
        terms = [t for t in block if t not in ("levels", "se")]
        assert terms and set(block["se"]) == set(terms)
        for t in terms:
            assert len(block[t]) == len(levels) == len(block["se"][t])
            assert all(s >= 0 for s in block["se"][t])


@pytest.mark.parametrize("anova_id", sorted(REF["anova"]))
def test_anova_lr_is_twice_the_loglik_difference(anova_id):
    a = REF["anova"][anova_id]
    small, big = (MODELS[i] for i in a["models"])
    lr = -2 * (small["logLik"] - big["logLik"])
    assert a["chisq"] == pytest.approx(lr, rel=1e-8)
    assert a["df"] == big["npar"] - small["npar"]
    assert a["p"] == pytest.approx(stats.chi2.sf(lr, a["df"]), rel=1e-8)
    for row, model_id in zip(a["table"], a["models"]):
        assert row["model"] == model_id
        assert row["logLik"] == pytest.approx(MODELS[model_id]["logLik"], abs=1e-6)
        assert row["npar"] == MODELS[model_id]["npar"]
    if "p_boundary" in a:
        mix = 0.5 * stats.chi2.sf(lr, a["df"] - 1) + 0.5 * stats.chi2.sf(lr, a["df"])
        assert a["p_boundary"] == pytest.approx(mix, rel=1e-8)
    assert a["refit"] is (not small["reml"])


def test_anova_published_values():
    a = REF["anova"]["hsb_ri_vs_rs_reml"]
    assert round(a["chisq"], 2) == 9.76 and a["df"] == 2
    assert round(a["p"], 4) == 0.0076 and round(a["p_boundary"], 4) == 0.0047
    assert set(REF["anova"]) == {"hsb_ri_vs_rs_reml", "hsb_null_vs_means_ml", "sleepstudy_ri_vs_rs_reml"}
    assert "p_boundary" in REF["anova"]["sleepstudy_ri_vs_rs_reml"]


def test_hsb_frozen_numbers_are_the_ones_the_lessons_quote():
    # lme4's HSB fits as lessons 02-05 and 09 quote them (Raudenbush & Bryk's Tables 4.2 and 4.4 are these models;
    # mlmlab.published stores only numbers a citable source prints: HLM's 8.61431 and 39.14831 for the null model).
    assert round(_fixed("hsb_null_reml", "(Intercept)")["estimate"], 3) == 12.637
    assert round(_vc("hsb_null_reml", "School", "(Intercept)")["vcov"], 2) == 8.61
    assert round(_vc("hsb_null_reml", "Residual")["vcov"], 2) == 39.15
    assert round(_vc("hsb_rs_reml", "School", "(Intercept)")["vcov"], 2) == 8.68
    assert round(_vc("hsb_rs_reml", "School", "cses")["vcov"], 3) == 0.694
    assert round(_vc("hsb_rs_reml", "Residual")["vcov"], 2) == 36.70
    assert round(MODELS["hsb_rs_reml"]["logLik"], 2) == -23357.12
    # statsmodels' bse_fe differs here (0.2996); lme4 reports 0.2989 (issue 2).
    assert round(_fixed("hsb_full_reml", "MEANSES:cses")["se"], 4) == 0.2989


def test_lme4_book_examples():
    # Bates, lme4: Mixed-effects modeling with R (Dyestuff, Penicillin, Pastes, sleepstudy chapters).
    assert round(_vc("dyestuff_reml", "Batch", "(Intercept)")["vcov"], 2) == 1764.05
    assert round(_vc("dyestuff_ml", "Batch", "(Intercept)")["vcov"], 2) == 1388.33
    assert round(_vc("dyestuff_reml", "Residual")["vcov"], 1) == 2451.2
    assert round(_fixed("dyestuff_reml", "(Intercept)")["estimate"], 1) == 1527.5
    assert round(_vc("penicillin_reml", "plate", "(Intercept)")["vcov"], 4) == 0.7169
    assert round(_vc("penicillin_reml", "sample", "(Intercept)")["vcov"], 4) == 3.7311
    assert round(_vc("pastes_reml", "cask:batch", "(Intercept)")["vcov"], 3) == 8.434
    assert round(_vc("pastes_reml", "batch", "(Intercept)")["vcov"], 3) == 1.657
    assert round(_vc("sleepstudy_rs_reml", "Subject", "(Intercept)")["vcov"], 2) == 612.10
    assert round(_vc("sleepstudy_rs_reml", "Subject", "Days")["vcov"], 2) == 35.07
    assert round(_vc("sleepstudy_rs_reml", "Residual")["vcov"], 2) == 654.94
    assert round(_fixed("sleepstudy_rs_reml", "Days")["estimate"], 3) == 10.467
    assert round(MODELS["sleepstudy_rs_reml"]["logLik"] * -2, 1) == 1743.6  # REML criterion


def test_icc_and_its_intervals():
    icc = REF["icc"]["hsb_null_reml"]
    tau00 = _vc("hsb_null_reml", "School", "(Intercept)")["vcov"]
    sigma2 = _vc("hsb_null_reml", "Residual")["vcov"]
    assert icc["icc"] == pytest.approx(tau00 / (tau00 + sigma2), rel=1e-12)
    assert round(icc["icc"], 4) == 0.1804
    ci = REF["extra"]["hsb_null_reml_icc_ci"]
    prof, boot = ci["profile"], ci["bootstrap"]
    for lo_hi in (prof, boot):
        assert lo_hi["ci_low"] < icc["icc"] < lo_hi["ci_high"]
        assert lo_hi["method"]
    assert round(prof["ci_low"], 3) == 0.147 and round(prof["ci_high"], 3) == 0.221
    theta = prof["theta_hat"]
    assert theta ** 2 / (1 + theta ** 2) == pytest.approx(icc["icc"], rel=1e-5)
    assert prof["ci_low"] == pytest.approx(prof["theta_low"] ** 2 / (1 + prof["theta_low"] ** 2), rel=1e-12)
    assert boot["nsim"] == 500
    assert boot["ci_low"] == pytest.approx(prof["ci_low"], abs=0.01)
    assert boot["ci_high"] == pytest.approx(prof["ci_high"], abs=0.01)


def test_design_effect_entry():
    d = REF["extra"]["hsb_design_effect"]
    assert d["mean_group_size"] == 7185 / 160
    assert d["design_effect"] == pytest.approx(1 + (7185 / 160 - 1) * d["icc"], rel=1e-12)
    assert round(d["design_effect"], 1) == 8.9
    assert d["effective_n"] == pytest.approx(7185 / d["design_effect"], rel=1e-12)


def test_schools50_fit_lands_near_the_worked_example():
    m = "schools50_rs_reml"
    assert abs(_fixed(m, "(Intercept)")["estimate"] - 72.5) < 0.5
    assert abs(_fixed(m, "ses")["estimate"] - 3.2) < 0.2
    assert 15 <= _vc(m, "school", "(Intercept)")["vcov"] <= 17
    assert abs(_vc(m, "school", "ses")["vcov"] - 2.4) < 0.3
    assert abs(_vc(m, "Residual")["vcov"] - 45) < 1.5


# ------------------------------------------------------------------------------ lesson_models
def _lvc(model_id, grp, var1=None, var2=None, field="vcov"):
    rows = [r for r in LESSON[model_id]["varcomp"]
            if r["grp"] == grp and r["var1"] == var1 and r["var2"] == var2]
    assert len(rows) == 1, (model_id, grp, var1, var2)
    return rows[0][field]


def test_all_lesson_models_present_with_their_formula_and_data():
    assert sorted(LESSON) == LESSON_IDS
    assert not set(LESSON) & set(MODELS)
    for model_id, m in LESSON.items():
        base, kind = model_id.rsplit("_", 1)
        dataset, formula, _, derive = LESSON_SPECS[base]
        assert (m["dataset"], m["formula"], m["derive"]) == (dataset, formula, derive)
        assert m["reml"] is (kind == "reml")
        assert m["used_in"] and all((ROOT / path).is_file() for path in m["used_in"])
    simulated = {m["dataset"] for m in LESSON.values()} - {dataset for dataset, _ in FORMULAS.values()}
    assert simulated == set(DATA_META)
    for name, meta in DATA_META.items():
        assert (DATA_DIR / meta["file"]).is_file()
        assert meta["used_in"] and meta["factors"]


def test_meta_describes_the_lesson_data():
    assert "tools/export_lesson_data.py" in REF["meta"]["lesson_data"]
    assert (ROOT / "tools" / "export_lesson_data.py").is_file()


def test_lesson_singular_fits_are_the_two_boundary_examples():
    # Lessons 04 and 06 fit a random slope to data simulated with random intercepts only.
    singular = sorted(k for k, m in LESSON.items() if m["singular"])
    assert singular == ["lesson04_slope_sim_rs_reml", "lesson06_tutorial_sim_rs_reml"]
    for model_id in singular:
        assert any("singular" in msg for msg in LESSON[model_id]["messages"])
        corr = _lvc(model_id, "school", "(Intercept)", "X", field="sdcor")
        assert abs(corr) == pytest.approx(1.0, abs=1e-6) or _lvc(model_id, "school", "X") < 1e-6


def test_numbers_the_lessons_quote_from_lme4():
    # Lesson 04: blended, within, between and contextual SES effects; moving the origin of SES.
    assert round(LESSON["hsb_ses_ri_reml"]["fixed"]["SES"]["estimate"], 2) == 2.39
    assert round(LESSON["hsb_cses_means_ri_reml"]["fixed"]["cses"]["estimate"], 3) == 2.191
    assert round(LESSON["hsb_ses_means_ri_reml"]["fixed"]["SES"]["estimate"], 3) == 2.191
    assert round(LESSON["hsb_cses_means_ri_reml"]["fixed"]["MEANSES"]["estimate"], 3) == 5.866
    assert round(LESSON["hsb_ses_means_ri_reml"]["fixed"]["MEANSES"]["estimate"], 3) == 3.675
    raw, shifted = "hsb_ses_rs_reml", "hsb_ses_plus1_rs_reml"
    assert round(_lvc(raw, "School", "(Intercept)"), 3) == 4.829
    assert round(_lvc(shifted, "School", "(Intercept)"), 3) == 5.550
    assert round(_lvc(raw, "School", "SES"), 3) == round(_lvc(shifted, "School", "SES_plus1"), 3) == 0.413
    assert round(_lvc(raw, "School", "(Intercept)", "SES"), 3) == -0.154
    assert round(_lvc(shifted, "School", "(Intercept)", "SES_plus1"), 3) == -0.567
    assert round(_lvc(raw, "School", "(Intercept)", "SES", "sdcor"), 3) == -0.109
    assert round(_lvc(shifted, "School", "(Intercept)", "SES_plus1", "sdcor"), 3) == -0.375
    assert round(LESSON[raw]["logLik"], 2) == round(LESSON[shifted]["logLik"], 2) == -23320.20
    # tau00(c) = tau00 + 2c tau01 + c^2 tau11 with c = -1: the shifted fit is the same model.
    tau = {k: _lvc(raw, "School", *k) for k in [("(Intercept)",), ("SES",), ("(Intercept)", "SES")]}
    moved = tau[("(Intercept)",)] - 2 * tau[("(Intercept)", "SES")] + tau[("SES",)]
    assert moved == pytest.approx(_lvc(shifted, "School", "(Intercept)"), rel=1e-3)
    # Lesson 04's singular example: slope SD 0.0102, correlation 1.000.
    assert round(_lvc("lesson04_slope_sim_rs_reml", "school", "X", field="sdcor"), 4) == 0.0102
    # Assignment 02: tau00 4.768, sigma2 37.034, slope 2.390.
    assert round(_lvc("hsb_ses_ri_reml", "School", "(Intercept)"), 3) == 4.768
    assert round(_lvc("hsb_ses_ri_reml", "Residual"), 3) == 37.034
    # Lesson 11: the random-intercept-only model's SE of Days, and time centred at 4.5 (same fit, same slope).
    assert round(MODELS["sleepstudy_ri_reml"]["fixed"]["Days"]["se"], 3) == 0.804
    assert LESSON["sleepstudy_mid_rs_reml"]["logLik"] == pytest.approx(MODELS["sleepstudy_rs_reml"]["logLik"], abs=1e-6)
    assert round(_lvc("sleepstudy_mid_rs_reml", "Subject", "(Intercept)", "Days_c", "sdcor"), 3) == 0.753
    # Lesson 06: REML log-likelihoods change with the scale of a predictor, ML ones do not.
    assert round(LESSON["hsb_means100_ri_reml"]["logLik"], 3) == -23485.248
    assert LESSON["hsb_means100_ri_ml"]["logLik"] == pytest.approx(MODELS["hsb_means_ml"]["logLik"], abs=1e-6)


def test_dyestuff_profile_interval():
    # Bates, lme4 book ch. 1 (confint of the profiled Dyestuff fit): .sig01 12.19854 to 84.06305; lesson 05: 12.2 to 84.1.
    ci = REF["extra"]["dyestuff_profile_ci"]
    assert ci["level"] == 0.95 and ci["method"]
    for kind in ("reml", "ml"):
        sd = ci[kind]["sd_(Intercept)|Batch"]
        assert round(sd["ci_low"], 5) == 12.19854 and round(sd["ci_high"], 5) == 84.06305
        assert round(sd["ci_low"], 1) == 12.2 and round(sd["ci_high"], 1) == 84.1
        assert sd["ci_low"] < math.sqrt(_vc(f"dyestuff_{kind}", "Batch", "(Intercept)")["vcov"]) < sd["ci_high"]
        sigma = ci[kind]["sigma"]
        assert sigma["ci_low"] < MODELS[f"dyestuff_{kind}"]["sigma"] < sigma["ci_high"]
        mean = ci[kind]["(Intercept)"]
        assert mean["ci_low"] < _fixed(f"dyestuff_{kind}", "(Intercept)")["estimate"] < mean["ci_high"]
