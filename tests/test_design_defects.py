"""Defects a stress test of fit()'s model design found (issue "One model design"), each pinned.

Fits are checked against the `design_models` section of tests/reference/lme4.json (tools/lme4_reference.R,
`Rscript tools/lme4_reference.R --only design_models`) or, where the data are a relabelling of a shipped
data set, against the frozen entry of that data set. Tolerances as in tests/_lme4.py.
"""

import warnings

import numpy as np
import pandas as pd
import patsy
import pytest

from _lme4 import (REF, check_fixed_effects, check_loglik_and_criteria, check_random_effects_blups,
                   check_variance_components)
from mlmlab import Control, datasets, estimation, fit, r2_nakagawa
from mlmlab.design import build_design
from mlmlab.formula import EVAL_ENV, for_patsy, parse_formula, user_name

DESIGN = REF["design_models"]
MODELS = REF["models"]


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


@pytest.fixture(scope="module")
def sleep():
    return datasets.load("sleepstudy")


def _check_against_lme4(ref, m, rename=None):
    """Log-likelihood, criteria, fixed effects, variance components and BLUPs against one frozen entry."""
    if rename:
        ref = {**ref, "fixed": {rename.get(k, k): v for k, v in ref["fixed"].items()}}
    check_loglik_and_criteria(ref, m)
    check_fixed_effects(ref, m)
    check_variance_components(ref, m)
    check_random_effects_blups(ref, m)


def _relabelled(ref, names):
    """A frozen entry with grouping factors and random-effect terms renamed (old name -> new name)."""
    def n(x):
        return names.get(x, x)
    ranef = {n(g): {(n(k) if k not in ("levels", "se") else k): (v if k != "se" else {n(t): e for t, e in v.items()})
                    for k, v in want.items()} for g, want in ref["ranef"].items()}
    varcomp = [{**r, "grp": n(r["grp"]), "var1": n(r["var1"]), "var2": n(r["var2"])} for r in ref["varcomp"]]
    return {**ref, "ngroups": {n(g): k for g, k in ref["ngroups"].items()}, "ranef": ranef, "varcomp": varcomp}


# ----------------------------------------------------------------------------- 1. I(x^2) is a power

def test_power_inside_I_is_a_power_not_xor():
    """patsy reads I(age^2) as Python's XOR: ages 8, 10, 12, 14 became 10, 8, 14, 12."""
    ages = pd.DataFrame({"age": [8, 10, 12, 14], "agef": [8.0, 10.0, 12.0, 14.0]})
    for col in ("age", "agef"):
        p = for_patsy(parse_formula(f"y ~ I({col}^2) + ({col} | g)"))
        X = patsy.dmatrix(p.fixed, ages, eval_env=patsy.EvalEnvironment([EVAL_ENV]))
        assert np.asarray(X)[:, 1].tolist() == [64.0, 100.0, 144.0, 196.0]
    # ^ outside I() keeps its formula meaning (interactions up to that order), as in R.
    assert for_patsy(parse_formula("y ~ (a + b)^2 + I(a^3) + (1 | g)")).fixed == "(a + b)^2 + I(a**3)"


def test_quadratic_growth_matches_lme4(sleep):
    m = _quiet_fit("Reaction ~ Days + I(Days^2) + (1 | Subject)", sleep)
    assert list(m.fixed.index) == ["Intercept", "Days", "I(Days ^ 2)"]
    _check_against_lme4(DESIGN["sleepstudy_quadratic_reml"], m, rename={"I(Days^2)": "I(Days ^ 2)"})


# ----------------------------------------------------------------------------- 2. scale() is R's

def test_scale_divides_by_the_n_minus_1_sd(sleep):
    X = patsy.dmatrix("0 + scale(Days)", sleep, eval_env=patsy.EvalEnvironment([EVAL_ENV]))
    days = sleep["Days"].to_numpy(dtype=float)
    np.testing.assert_allclose(np.asarray(X)[:, 0], (days - days.mean()) / days.std(ddof=1), rtol=1e-12)
    m = _quiet_fit("Reaction ~ scale(Days) + (1 | Subject)", sleep)
    _check_against_lme4(DESIGN["sleepstudy_scale_reml"], m)
    # predict() reuses the fitted mean and SD (a stateful transform), not those of the new rows.
    new = sleep.iloc[[0, 1]]
    np.testing.assert_allclose(m.predict(new, include_re=False), m.predict(include_re=False).iloc[[0, 1]], rtol=1e-12)


# ----------------------------------------------------------------------------- 3. predict matches groups by value

def test_predict_matches_groups_by_value_not_by_text(sleep):
    """A group column that held NaN is float (labels '308.0'); integer newdata (308) is the same group."""
    data = sleep.assign(sid=sleep["Subject"].astype(int).astype(float))
    data.loc[0, "sid"] = np.nan
    with pytest.warns(UserWarning, match="dropped 1 of 180 rows"):
        m = fit("Reaction ~ Days + (Days | sid)", data)
    new = data.iloc[1:20].assign(sid=lambda d: d["sid"].astype(int))
    assert new["sid"].dtype.kind == "i"
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no false "groups not seen in the fit"
        got = m.predict(new)
    np.testing.assert_allclose(got.to_numpy(), m.fitted.loc[new.index].to_numpy(), rtol=1e-10)
    with pytest.warns(UserWarning, match="1 of 1 rows belong to groups not seen"):
        m.predict(new.iloc[[0]].assign(sid=1))


# ----------------------------------------------------------------------------- 4. duplicated index

def test_duplicated_index_fits_and_reports_on_the_users_rows(sleep):
    data = pd.concat([sleep.iloc[:90], sleep.iloc[90:].reset_index(drop=True)])   # labels 0..89 twice
    assert not data.index.is_unique
    m = _quiet_fit("Reaction ~ Days + (Days | Subject)", data)
    _check_against_lme4(MODELS["sleepstudy_rs_reml"], m)
    assert m.data.index.equals(data.index) and m.fitted.index.equals(data.index)
    unique = _quiet_fit("Reaction ~ Days + (Days | Subject)", sleep)
    np.testing.assert_allclose(m.fitted.to_numpy(), unique.fitted.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.predict(data).to_numpy(), m.fitted.to_numpy(), rtol=1e-10)
    r2_nakagawa(m)   # rebuilds the design from m.data


# ----------------------------------------------------------------------------- 5. badly scaled random slope

@pytest.fixture(scope="module")
def sim_x10():
    from pathlib import Path
    data = pd.read_csv(Path(__file__).parent / "reference" / "data" / "lesson06_tutorial_sim.csv")
    return data.assign(X10=data["X"] * 10, school=data["school"].astype(str))


def test_zero_variance_slope_on_a_covariate_with_sd_10_matches_lme4(sim_x10):
    m = _quiet_fit("Y ~ X10 + (X10 || school)", sim_x10)
    _check_against_lme4(DESIGN["lesson06_tutorial_sim_x10_uncorr_reml"], m)
    assert m.singular


def test_when_every_optimizer_fails_on_the_given_scale_the_rescaled_fit_reaches_the_optimum(sim_x10, monkeypatch):
    """The stress test's failure (every optimizer stops with SVD/singular-matrix errors on a zero-variance slope of
    a covariate with SD about 10) is simulated here: runs on the model as given fail the way it reported, runs on
    the rescaled model do not. The old code warned and returned a fit far from the optimum, or raised FitError."""
    real_run = estimation._run

    def failing_on_the_given_scale(model, method, **kwargs):
        given_scale = estimation._rms(model.exog_vc.mats[0][0])[0] > 3
        if given_scale and "rescaled" not in (kwargs.get("label") or ""):
            run = estimation._Run(tuple(method), label=kwargs.get("label"))
            run.error = "LinAlgError: SVD did not converge"
            return run
        return real_run(model, method, **kwargs)

    monkeypatch.setattr(estimation, "_run", failing_on_the_given_scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no "No optimizer converged"
        m = fit("Y ~ X10 + (X10 || school)", sim_x10, control=Control(engine="statsmodels"))
    assert m.converged and m.optimizer.startswith("rescaled start→lbfgs")
    assert m.messages[0].startswith("Every optimizer failed on the random-effect columns as given")
    _check_against_lme4(DESIGN["lesson06_tutorial_sim_x10_uncorr_reml"], m)
    assert m.singular


def test_rescaling_is_tried_only_for_badly_scaled_columns(sim_x10):
    for column, tried in (("X", False), ("X10", True)):
        model, _ = estimation.statsmodels_model(build_design(f"Y ~ {column} + ({column} || school)", sim_x10))
        run = estimation._rescaled_run(model, reml=True)
        assert (run is not None) == tried
        if tried:
            assert run.ok and abs(run.llf - DESIGN["lesson06_tutorial_sim_x10_uncorr_reml"]["logLik"]) <= 0.01


# ----------------------------------------------------------------------------- 6. awkward column names

def test_keyword_and_dotted_column_names_fit_as_in_r(sleep):
    data = sleep.rename(columns={"Reaction": "y.val", "Days": "class", "Subject": "yield"})
    m = _quiet_fit("y.val ~ class + (class | yield)", data)
    _check_against_lme4(_relabelled(MODELS["sleepstudy_rs_reml"], {"Subject": "yield", "Days": "class"}), m,
                        rename={"Days": "class"})
    assert list(m.fixed.index) == ["Intercept", "class"]
    assert list(m.G["yield"].index) == ["(Intercept)", "class"]
    np.testing.assert_allclose(m.predict(data.iloc[:5]).to_numpy(), m.fitted.iloc[:5].to_numpy(), rtol=1e-10)
    r2_nakagawa(m)


def test_dotted_slope_and_function_named_group_with_a_power(sleep):
    data = sleep.rename(columns={"Days": "x.c", "Subject": "log"})
    m = _quiet_fit("Reaction ~ x.c + I(x.c^2) + (1 | log)", data)
    assert list(m.fixed.index) == ["Intercept", "x.c", "I(x.c ^ 2)"]
    _check_against_lme4(_relabelled(DESIGN["sleepstudy_quadratic_reml"], {"Subject": "log"}), m,
                        rename={"Days": "x.c", "I(Days^2)": "I(x.c ^ 2)"})


def test_columns_named_like_functions(sleep):
    """'scale' and 'log' as plain columns used to be taken for the functions ('Number of rows mismatch')."""
    data = sleep.rename(columns={"Days": "scale", "Reaction": "log"})
    m = _quiet_fit("log ~ scale + (scale | Subject)", data)
    _check_against_lme4(_relabelled(MODELS["sleepstudy_rs_reml"], {"Days": "scale"}), m, rename={"Days": "scale"})
    assert list(m.fixed.index) == ["Intercept", "scale"]
    assert list(m.varcomp["var1"][:2]) == ["(Intercept)", "scale"]
    # A function call keeps its meaning next to a column of the same name.
    p = parse_formula("log ~ log(scale) + scale + (1 | g)")
    assert p.variables() == ["log", "scale", "g"]
    assert for_patsy(p).fixed_formula == "Q('log') ~ log(Q('scale')) + Q('scale')"
    assert user_name("log(Q('scale'))", p) == "log(scale)"


# ----------------------------------------------------------------------------- 7. non-finite values

@pytest.mark.parametrize("column, value, formula", [
    ("Reaction", np.inf, "Reaction ~ Days + (1 | Subject)"),
    ("Days", -np.inf, "Reaction ~ Days + (1 | Subject)"),
    ("Days", np.inf, "Reaction ~ 1 + (Days || Subject)"),
])
def test_infinite_values_are_named_with_the_fix(sleep, column, value, formula):
    data = sleep.astype({"Days": float})
    data.loc[7, column] = value
    with pytest.raises(ValueError, match=rf"The 'data' argument of fit must be a DataFrame of finite numbers in the "
                                         rf"model's columns\. Got a DataFrame with 180 rows and 3 columns; column "
                                         rf"'{column}' holds an infinite value \(inf or -inf\) in 1 row \(index 7\)\. "
                                         rf"Drop or fix those rows first, e\.g\. data = "
                                         rf"data\[np\.isfinite\(data\['{column}'\]\)\]"):
        fit(formula, data)


def test_infinite_values_made_by_the_formula_are_named(sleep):
    with pytest.raises(ValueError, match=r"must be a model whose columns hold finite numbers\. Got 'Reaction ~ "
                                         r"log\(Days\) \+ \(1 \| Subject\)'; the fixed-effect column 'log\(Days\)' is "
                                         r"infinite or undefined \(nan\) in 18 rows \(index 0, 10, 20, 30, 40, \.\.\.\)\. "
                                         r"A transformation in the formula"):
        fit("Reaction ~ log(Days) + (1 | Subject)", sleep)


def test_new_level_of_a_fixed_factor_in_predict_is_named():
    hsb = datasets.load("hsb")
    m = _quiet_fit("MathAch ~ Sector + (1 | School)", hsb)
    new = pd.DataFrame({"Sector": ["Public", "Charter"], "School": ["1224", "1224"]})
    with pytest.raises(ValueError, match=r"The 'newdata' argument of predict must be a DataFrame whose categorical "
                                         r"predictors take levels seen in the fit\. Got a DataFrame with 2 rows and 2 "
                                         r"columns; column 'Sector' has the level 'Charter' that the fit never saw "
                                         r"\(it knows 'Catholic', 'Public'\)\. A fixed effect has no estimate"):
        m.predict(new)


# ----------------------------------------------------------------------------- 8. large magnitudes

def test_predictor_times_1e14_matches_lme4(sleep):
    m = _quiet_fit("Reaction ~ Days_1e14 + (1 | Subject)", sleep.assign(Days_1e14=sleep["Days"] * 1e14))
    _check_against_lme4(DESIGN["sleepstudy_days_1e14_reml"], m)


def test_nanosecond_timestamps_match_lme4(sleep):
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(sleep["Days"], unit="D")
    t_ns = stamps.astype("datetime64[ns]").astype("int64")
    assert t_ns.dtype == np.int64 and t_ns.iloc[0] == 1704067200 * 10**9
    m = _quiet_fit("Reaction ~ t_ns + (1 | Subject)", sleep.assign(t_ns=t_ns))
    _check_against_lme4(DESIGN["sleepstudy_days_ns_reml"], m)


def test_collinear_columns_are_still_refused(sleep):
    data = sleep.assign(big=sleep["Days"] * 1e14, big2=sleep["Days"] * 3e14)
    with pytest.raises(ValueError, match=r"'big2' is a linear combination of the columns before it"):
        fit("Reaction ~ big + big2 + (1 | Subject)", data)
