"""mlmlab.fit against lme4 for the models the lessons and the assignment masters fit.

The frozen numbers are the `lesson_models` section of tests/reference/lme4.json (tools/lme4_reference.R).
Each entry names its data: a shipped data set, with columns derived as the notebook derives them
(`derive`, e.g. SES_plus1 = SES + 1), or a data set a notebook simulates, which
tools/export_lesson_data.py rebuilds with the notebook's own seeded code (R fitted its CSV export under
tests/reference/data/). Tolerances as in tests/test_lme4_agreement.py (shared checks in tests/_lme4.py):
log-likelihood ±0.01; fixed effects and standard errors relative 1e-3; variance components relative 5e-3;
correlations absolute 5e-3; the singular flag.
"""

import functools
import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from _lme4 import (REF, check_fixed_effects, check_loglik_and_criteria, check_random_effects_blups,
                   check_singular_flag, check_variance_components)
from mlmlab import datasets, fit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import export_lesson_data  # noqa: E402

LESSON = REF["lesson_models"]
IDS = sorted(LESSON)
DATA_DIR = ROOT / "tests" / "reference" / "data"
DATA_META = json.loads((DATA_DIR / "lesson_data.json").read_text(encoding="utf-8"))
SHIPPED = set(datasets.list_datasets()["name"])


@functools.lru_cache(maxsize=None)
def _data(name):
    """The data set `name` as the notebook has it (before any derived column)."""
    return datasets.load(name) if name in SHIPPED else export_lesson_data.make(name)


def _model_data(ref):
    data = _data(ref["dataset"])
    derived = {col: data.eval(expr) for col, expr in ref["derive"].items()}
    return data.assign(**derived) if derived else data


@functools.lru_cache(maxsize=None)
def _fit(model_id):
    ref = LESSON[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(ref["formula"], _model_data(ref), reml=ref["reml"])


@pytest.mark.parametrize("model_id", IDS)
def test_loglik_and_criteria(model_id):
    check_loglik_and_criteria(LESSON[model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", IDS)
def test_fixed_effects_and_standard_errors(model_id):
    check_fixed_effects(LESSON[model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", IDS)
def test_variance_components(model_id):
    check_variance_components(LESSON[model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", IDS)
def test_singular_flag(model_id):
    check_singular_flag(LESSON[model_id], _fit(model_id))


@pytest.mark.parametrize("model_id", IDS)
def test_random_effects_blups(model_id):
    check_random_effects_blups(LESSON[model_id], _fit(model_id))


def test_derived_columns_are_the_lessons():
    # The expressions R evaluated are the notebooks' own arithmetic on the shipped columns.
    hsb, sleep = datasets.load("hsb"), datasets.load("sleepstudy")
    want = {"SES_plus1": hsb["SES"] + 1, "MEANSES_100": hsb["MEANSES"] * 100,
            "Days_c": sleep["Days"] - 4.5, "Days_end": sleep["Days"] - 9,
            "ses_m": hsb["SES"] - hsb["MEANSES"],
            "Days2": sleep["Days"] * sleep["Days"], "after": (sleep["Days"] - 2) * (sleep["Days"] > 2)}
    seen = set()
    for ref in LESSON.values():
        for col, expr in ref["derive"].items():
            got = _data(ref["dataset"]).eval(expr)
            assert np.array_equal(got.to_numpy(), want[col].to_numpy()), col
            assert re.search(rf"\b{col}\b", ref["formula"]), (col, ref["formula"])
            seen.add(col)
    assert seen == set(want)


# ------------------------------------------------------------------------------ the exported data
def test_every_simulated_data_set_is_exported_and_fitted():
    assert set(DATA_META) == set(export_lesson_data.DATASETS)
    simulated = {ref["dataset"] for ref in LESSON.values()} - SHIPPED
    assert simulated == set(DATA_META)


def test_regenerating_lesson_data_json_changes_nothing():
    meta = {name: export_lesson_data.describe(name, _data(name)) for name in export_lesson_data.DATASETS}
    assert (DATA_DIR / "lesson_data.json").read_text(encoding="utf-8") == export_lesson_data.meta_text(meta)


@pytest.mark.parametrize("name", sorted(export_lesson_data.DATASETS))
def test_export_reproduces_the_csv_r_fitted(name):
    """The notebook's seeded code still gives exactly the data in the CSV (so R fitted the lesson's data)."""
    data = _data(name)
    path = DATA_DIR / DATA_META[name]["file"]
    assert path.read_text(encoding="utf-8") == export_lesson_data.csv_text(data)  # regenerating changes nothing
    csv = pd.read_csv(path)
    assert list(csv.columns) == list(data.columns)
    for col in data.columns:
        ours = np.asarray(data[col], dtype=float)
        assert np.array_equal(ours, csv[col].to_numpy(dtype=float)), col  # exact: floats are written round-trip


def test_export_matches_what_the_notebooks_print():
    # Spot checks against the outputs stored in the notebooks (head() tables, fitted numbers they print).
    tut = _data("lesson03_tutorial")
    assert tut[["Y", "X"]].iloc[0].round(3).tolist() == [2.973, -0.602]
    coffee = _data("lesson11_coffee")
    assert coffee["rt"].iloc[:2].round(3).tolist() == [332.180, 332.286]
    assert _data("assignment01_sim")["y"].mean() == pytest.approx(49.93195, abs=1e-5)
    three = _data("lesson07_three_level")
    assert three["y"].iloc[0].round(3) == 57.017


# ------------------------------------------------------------------------------ coverage
_FIT_CALL = re.compile(r"""mlmlab\.fit\(\s*["']([^"']+)["']([^\n]*)""")


def _norm(formula):
    return re.sub(r"\s+", "", formula)


def _fitted_in_notebooks():
    """(formula, reml, notebook) for every mlmlab.fit call in the code cells of the lessons and masters."""
    calls = []
    for path in sorted([*ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"), *ROOT.glob("solutions/[0-9][0-9]_*.ipynb")]):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            for formula, rest in _FIT_CALL.findall("".join(cell["source"])):
                calls.append((_norm(formula), "reml=False" not in rest.replace(" ", ""),
                              path.relative_to(ROOT).as_posix()))
    return calls


def test_every_model_the_notebooks_fit_has_an_lme4_reference():
    references = {(_norm(m["formula"]), m["reml"]) for section in ("models", "lesson_models") for m in REF[section].values()}
    calls = _fitted_in_notebooks()
    assert len(calls) > 50
    missing = sorted({(f, reml, where) for f, reml, where in calls if (f, reml) not in references})
    assert not missing, ("fitted in a notebook but not in tests/reference/lme4.json; add them to lesson_specs "
                         f"in tools/lme4_reference.R: {missing}")


def test_used_in_names_notebooks_that_fit_the_formula():
    calls = _fitted_in_notebooks()
    refitting = {path.relative_to(ROOT).as_posix() for folder in ("notebooks", "solutions")
                 for path in ROOT.glob(f"{folder}/[0-9][0-9]_*.ipynb")
                 if ".refit(reml=False)" in path.read_text(encoding="utf-8")}
    for model_id, ref in LESSON.items():
        assert ref["used_in"], model_id
        for where in ref["used_in"]:
            formula = _norm(ref["formula"])
            direct = (formula, ref["reml"], where) in calls
            ml_refit = not ref["reml"] and where in refitting and (formula, True, where) in calls
            assert direct or ml_refit, (model_id, where)


# ------------------------------------------------------------------------------ Dyestuff profile interval
def _dyestuff_ml_profile():
    """-2 log-likelihood of the balanced one-way model, profiled over sigma (and the mean), by batch SD."""
    dye = datasets.load("dyestuff")
    groups = dye.groupby("Batch", observed=True)["Yield"]
    J, n = groups.ngroups, int(groups.size().iloc[0])
    assert (groups.size() == n).all()  # balanced: the mean is the grand mean for every variance
    means = groups.mean().to_numpy()
    ssw = float(((dye["Yield"] - groups.transform("mean")) ** 2).sum())
    ssb = float(n * ((means - means.mean()) ** 2).sum())

    def deviance(sd_batch, log_s2):
        s2 = np.exp(log_s2)
        lam = s2 + n * sd_batch ** 2
        return (J * n * np.log(2 * np.pi) + J * (n - 1) * np.log(s2) + J * np.log(lam)
                + ssw / s2 + ssb / lam)

    def profiled(sd_batch):
        return optimize.minimize_scalar(lambda ls2: deviance(sd_batch, ls2), bounds=(0.0, 15.0),
                                        method="bounded", options={"xatol": 1e-10}).fun

    return profiled


def test_dyestuff_profile_interval_of_the_batch_sd():
    ci = REF["extra"]["dyestuff_profile_ci"]
    lo, hi = ci["ml"]["sd_(Intercept)|Batch"]["ci_low"], ci["ml"]["sd_(Intercept)|Batch"]["ci_high"]
    for kind in ("reml", "ml"):  # lme4 profiles the likelihood for both fits
        assert ci[kind]["sd_(Intercept)|Batch"]["ci_low"] == pytest.approx(lo, rel=1e-6)
        assert ci[kind]["sd_(Intercept)|Batch"]["ci_high"] == pytest.approx(hi, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"), reml=False)
    profiled = _dyestuff_ml_profile()
    sd_hat = float(np.sqrt(ml.G["Batch"].iloc[0, 0]))
    dev_min = profiled(sd_hat)
    assert dev_min == pytest.approx(-2 * ml.llf, abs=0.02)  # the closed form is mlmlab's ML likelihood
    cut = stats.chi2.ppf(0.95, 1)
    ours_lo = optimize.brentq(lambda s: profiled(s) - dev_min - cut, 1e-3, sd_hat, xtol=1e-10)
    ours_hi = optimize.brentq(lambda s: profiled(s) - dev_min - cut, sd_hat, 10 * sd_hat, xtol=1e-10)
    assert ours_lo == pytest.approx(lo, rel=5e-3)
    assert ours_hi == pytest.approx(hi, rel=5e-3)
