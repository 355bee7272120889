"""mlmlab.studies.design_power: power for designs as they are run (unequal sizes, attrition, random slope,
cross-level interaction), checked against the noncentral t and the known truth of the simulation."""

import numpy as np
import pytest

from mlmlab.studies import cluster_randomised_power, design_power


def _mc_ok(observed, expected, se, k=4.0):
    return abs(observed - expected) <= k * se


@pytest.mark.slow
def test_balanced_binary_programme_power_is_the_noncentral_t():
    R = 1000
    tab = design_power([20], [20], fixed={"w": 0.4}, tau00=0.1, sigma2=0.9, n_reps=R, rng=21,
                       progress=False).set_index("parameter")
    formula = cluster_randomised_power([20], [20], effect=0.4, tau2=0.1, sigma2=0.9).iloc[0]
    power = formula["power"]
    assert _mc_ok(tab.loc["w", "power"], power, np.sqrt(power * (1 - power) / R), k=3)
    assert tab.loc["w", "sd"] == pytest.approx(formula["se"], rel=0.1)
    assert tab.loc["w", "df"] == 18
    assert _mc_ok(tab.loc["w", "coverage"], 0.95, np.sqrt(0.95 * 0.05 / R), k=3)


@pytest.mark.slow
def test_unequal_sizes_and_attrition_cost_power_but_keep_coverage():
    R = 600
    kw = dict(fixed={"w": 0.4}, tau00=0.15, sigma2=0.85, n_reps=R, progress=False)
    planned = design_power([16], [10], rng=2, **kw).set_index("parameter").loc["w"]
    real = design_power([16], [10], size_cv=0.9, attrition=0.4, rng=2, **kw).set_index("parameter").loc["w"]
    assert real["mean_n"] == pytest.approx(160 * 0.6, rel=0.05)      # about 40 % of the units lost
    assert real["sd"] > planned["sd"] * 1.05                          # noisier estimates ...
    assert real["power"] < planned["power"] - 0.04                    # ... and less power
    for row in (planned, real):                                       # yet the t intervals still cover
        assert _mc_ok(row["coverage"], 0.95, np.sqrt(0.95 * 0.05 / R), k=3.5)
        assert abs(row["bias"]) < 4 * row["sd"] / np.sqrt(R)


@pytest.mark.slow
def test_random_slope_and_cross_level_interaction_are_unbiased_and_covered_on_between_df():
    R = 300
    tab = design_power([24], [8], fixed={"x": 0.3, "w": 0.3, "x:w": 0.25}, tau00=0.2, tau11=0.1, tau01=0.03,
                       sigma2=0.7, n_reps=R, rng=9, progress=False).set_index("parameter")
    assert list(tab["df"]) == [22.0, 22.0, 22.0]                      # a varying slope: J - 2 for x and x:w
    for name, truth in (("x", 0.3), ("w", 0.3), ("x:w", 0.25)):
        row = tab.loc[name]
        assert row["truth"] == truth
        assert abs(row["bias"]) < 4 * row["sd"] / np.sqrt(R), name
        assert _mc_ok(row["coverage"], 0.95, np.sqrt(0.95 * 0.05 / R), k=3.5), name
        assert row["mean_se"] == pytest.approx(row["sd"], rel=0.15), name


def test_no_random_slope_means_within_df_for_level1_terms():
    tab = design_power([10], [6], n_reps=20, rng=1, progress=False).set_index("parameter")
    assert tab.loc["x", "df"] == 60 - 10 - 2 and tab.loc["x:w", "df"] == 60 - 10 - 2 and tab.loc["w", "df"] == 8


def test_same_seed_same_table():
    kw = dict(size_cv=0.5, attrition=0.2, tau11=0.05, n_reps=15, progress=False)
    a = design_power([8], [5], rng=4, **kw)
    b = design_power([8], [5], rng=np.random.default_rng(4), **kw)
    assert a.equals(b)


@pytest.mark.parametrize("kwargs, match", [
    ({"tau01": 0.5, "tau11": 0.1}, "'tau01' argument of design_power must be a covariance"),
    ({"attrition": 0.95}, "'attrition' argument of design_power must be a share of units lost"),
    ({"size_cv": -1}, "'size_cv' argument of design_power must be a number ≥ 0"),
    ({"fixed": {"z": 1}}, "'fixed' argument of design_power must be a dict with keys among"),
    ({"level2": "ordinal"}, "level2"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        design_power([10], [5], n_reps=5, progress=False, **kwargs)


def test_too_few_groups_is_named():
    with pytest.raises(ValueError, match="n_groups_values"):
        design_power([3], [5], n_reps=5, progress=False)
