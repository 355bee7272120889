"""mlmlab.influence: leave-one-group-out refits with the engine, checked against lme4, against
independent fits by mlmlab.fit, and against a planted outlier group."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets
from mlmlab.fitting import fit
from mlmlab.influence import cooks_distance, group_influence

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())["models"]
FE_REL, VC_REL = 1e-3, 5e-3


@pytest.fixture(scope="module")
def sleep():
    return datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return fit("Reaction ~ Days + (Days | Subject)", sleep)


@pytest.fixture(scope="module")
def infl(sleep_fit):
    return group_influence(sleep_fit)


def test_layout_and_full_fit_agrees_with_lme4(infl, sleep):
    assert list(infl.columns) == ["level", "n", "parameter", "kind", "full", "dropped", "change", "std_change"]
    levels = list(sleep["Subject"].cat.categories)
    assert infl["level"].unique().tolist() == levels
    assert len(infl) == 18 * 6
    assert (infl["n"] == 10).all()
    first = infl[infl["level"] == levels[0]].set_index("parameter")
    assert first.index.tolist() == ["Intercept", "Days", "tau00", "tau11", "tau01", "sigma2"]
    assert first["kind"].tolist() == ["fixed"] * 2 + ["varcomp"] * 4
    ref = REF["sleepstudy_rs_reml"]
    vc = {(r["var1"], r["var2"]): r["vcov"] for r in ref["varcomp"] if r["grp"] == "Subject"}
    assert first.loc["Intercept", "full"] == pytest.approx(ref["fixed"]["(Intercept)"]["estimate"], rel=FE_REL)
    assert first.loc["Days", "full"] == pytest.approx(ref["fixed"]["Days"]["estimate"], rel=FE_REL)
    assert first.loc["tau00", "full"] == pytest.approx(vc[("(Intercept)", None)], rel=VC_REL)
    assert first.loc["tau11", "full"] == pytest.approx(vc[("Days", None)], rel=VC_REL)
    assert first.loc["tau01", "full"] == pytest.approx(vc[("(Intercept)", "Days")], rel=1e-2)
    assert first.loc["sigma2", "full"] == pytest.approx(ref["sigma"] ** 2, rel=VC_REL)
    np.testing.assert_allclose(infl["change"], infl["dropped"] - infl["full"], rtol=1e-12)
    se = dict(zip(["Intercept", "Days"], [ref["fixed"]["(Intercept)"]["se"], ref["fixed"]["Days"]["se"]]))
    fixed = infl[infl["kind"] == "fixed"]
    np.testing.assert_allclose(fixed["std_change"], fixed["change"] / fixed["parameter"].map(se), rtol=2e-3)
    assert infl.loc[infl["kind"] == "varcomp", "std_change"].isna().all()


@pytest.mark.parametrize("level", ["308", "332"])
def test_dropped_estimates_equal_an_independent_refit(infl, sleep, level):
    rest = sleep[sleep["Subject"] != level]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = fit("Reaction ~ Days + (Days | Subject)", rest)
    got = infl[infl["level"] == level].set_index("parameter")["dropped"]
    np.testing.assert_allclose(got[["Intercept", "Days"]], other.fixed["estimate"], rtol=FE_REL)
    G = other.G["Subject"].to_numpy()
    np.testing.assert_allclose(got[["tau00", "tau11"]], np.diag(G), rtol=VC_REL)
    assert got["tau01"] == pytest.approx(G[0, 1], rel=2e-2, abs=0.05)
    assert got["sigma2"] == pytest.approx(other.sigma2, rel=VC_REL)


def test_cooks_distance_by_hand(sleep_fit, infl):
    cd = cooks_distance(sleep_fit, influence=infl)
    assert list(cd.columns) == ["level", "n", "cooks_d"]
    assert len(cd) == 18 and cd["cooks_d"].is_monotonic_decreasing
    # hand computation for one subject with lme4's covariance of the fixed effects
    level = cd["level"].iloc[0]
    d = infl[(infl["level"] == level) & (infl["kind"] == "fixed")]["change"].to_numpy()
    V = sleep_fit.statsmodels.cov_params().iloc[:2, :2].to_numpy()
    assert cd["cooks_d"].iloc[0] == pytest.approx(d @ np.linalg.solve(V, d) / 2, rel=1e-2)
    pd.testing.assert_frame_equal(cooks_distance(sleep_fit), cd)


def test_planted_outlier_group_is_found():
    rng = np.random.default_rng(7)
    J, n = 25, 8
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    y = 10 + 1.0 * x + rng.normal(0, 1, J)[g] + rng.normal(0, 1, J * n)
    y[g == 11] += 2.5 * x[g == 11] + 8  # group 11: far-off intercept and slope
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    m = fit("y ~ x + (1 | g)", data)
    infl = group_influence(m)
    assert infl["parameter"].unique().tolist() == ["Intercept", "x", "tau00", "sigma2"]
    assert infl["level"].iloc[0] == "0"  # numeric groups in numeric order
    tau = infl[infl["parameter"] == "tau00"]
    assert tau.loc[tau["change"].idxmin(), "level"] == "11"  # dropping it shrinks tau00 most
    assert cooks_distance(m, influence=infl)["level"].iloc[0] == "11"


def test_errors(sleep_fit):
    pen = fit("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin"))
    with pytest.raises(ValueError, match=r"The 'result' argument of group_influence must be a fit with one grouping "
                                         r"factor\. Got '.*'; it has 'plate', 'sample'\. Leave-one-group-out"):
        group_influence(pen)
    uncorr = fit("Reaction ~ Days + (Days || Subject)", datasets.load("sleepstudy"))
    with pytest.raises(ValueError, match=r"The 'result' argument of group_influence must be a fit with one block of "
                                         r"random effects\. Got 'Reaction ~ Days \+ \(Days \|\| Subject\)'; its "
                                         r"random effects of 'Subject' are split into uncorrelated blocks"):
        group_influence(uncorr)
    with pytest.raises(TypeError, match=r"The 'result' argument of group_influence must be a fitted model from "
                                        r"mlmlab\.fit\. Got None"):
        group_influence(None)
    with pytest.raises(ValueError, match=r"The 'influence' argument of cooks_distance must be the output of "
                                         r"group_influence\. Got a DataFrame with 1 rows and 1 columns\."):
        cooks_distance(sleep_fit, influence=pd.DataFrame({"a": [1]}))


def test_needs_three_groups():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"y": rng.normal(size=20) + np.repeat([0.0, 3.0], 10), "g": np.repeat(["a", "b"], 10)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = fit("y ~ 1 + (1 | g)", data)
    with pytest.raises(ValueError, match=r"must be a fit with at least three groups\. Got 'y ~ 1 \+ \(1 \| g\)'; "
                                         r"'g' has 2 groups"):
        group_influence(m)
