"""mlmlab.simulate: designs, reproducibility, recovery of the true parameters, input errors."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmlab import engine
from mlmlab.simulate import (Replicates, Truth, simulate_crossed, simulate_three_level, simulate_two_level,
                             simulate_two_level_many)


# ----------------------------------------------------------------------------- two levels
def test_two_level_shape_columns_truth():
    df = simulate_two_level(30, 20, fixed={"Intercept": 50, "x": 2}, G=4.0, sigma=6.0, rng=1)
    assert list(df.columns) == ["group", "x", "y"] and df.shape == (600, 3)
    assert df["group"].nunique() == 30 and (df.groupby("group").size() == 20).all()
    truth = df.attrs["truth"]
    assert isinstance(truth, Truth)
    assert truth.fixed == {"Intercept": 50.0, "x": 2.0}
    assert truth.sigma2 == 36.0 and truth.icc == pytest.approx(0.1) and truth.random == ("Intercept",)
    np.testing.assert_array_equal(truth.G, [[4.0]])


def test_two_level_reproducible_and_rng_matters():
    kw = dict(fixed={"Intercept": 1}, G=1.0, sigma=1.0)
    a = simulate_two_level(5, 4, rng=7, **kw)
    b = simulate_two_level(5, 4, rng=7, **kw)
    c = simulate_two_level(5, 4, rng=8, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["y"], c["y"])
    g = np.random.default_rng(7)
    pd.testing.assert_frame_equal(simulate_two_level(5, 4, rng=g, **kw), a)


def test_unbalanced_sizes_array_callable_distribution():
    kw = dict(fixed={"Intercept": 0}, G=1.0, sigma=1.0, rng=3)
    df = simulate_two_level(4, [1, 2, 3, 10], **kw)
    assert df.groupby("group").size().tolist() == [1, 2, 3, 10]
    df = simulate_two_level(50, lambda rng, n: rng.integers(2, 6, n), **kw)
    sizes = df.groupby("group").size()
    assert sizes.between(2, 5).all() and sizes.nunique() > 1
    df = simulate_two_level(50, stats.poisson(8, loc=1), **kw)
    sizes = df.groupby("group").size()
    assert sizes.min() >= 1 and sizes.nunique() > 3 and abs(sizes.mean() - 9) < 1.5


def test_level2_predictor_is_constant_within_groups_and_slopes():
    df = simulate_two_level(20, 5, fixed={"Intercept": 0, "x": 1, "w": -1}, G=[[1, 0.2], [0.2, 0.5]],
                            sigma=1, predictors={"x": "level1", "w": "level2"}, rng=4)
    assert list(df.columns) == ["group", "x", "w", "y"]
    assert (df.groupby("group")["w"].nunique() == 1).all()
    assert (df.groupby("group")["x"].nunique() == 5).all()
    assert df.attrs["truth"].random == ("Intercept", "x")


def test_many_matches_single_and_shapes():
    kw = dict(fixed={"Intercept": 2, "x": 0.5}, G=[[1.0, 0.1], [0.1, 0.2]], sigma=1.5)
    reps = simulate_two_level_many(8, [2, 3, 4, 5, 2, 3, 4, 5], n_reps=10, rng=11, **kw)
    assert isinstance(reps, Replicates)
    assert reps.Y.shape == (10, 28) and reps.X.shape == (28, 2) and reps.Z.shape == (28, 2)
    assert list(reps.data.columns) == ["group", "x"] and reps.groups.shape == (28,)
    single = simulate_two_level(8, [2, 3, 4, 5, 2, 3, 4, 5], rng=11, **kw)
    one = simulate_two_level_many(8, [2, 3, 4, 5, 2, 3, 4, 5], n_reps=1, rng=11, **kw)
    np.testing.assert_allclose(one.Y[0], single["y"])
    pd.testing.assert_frame_equal(one.frame(0), single)
    assert one.frame(0).attrs["truth"] == single.attrs["truth"]
    # the design columns are those of the frame
    np.testing.assert_array_equal(reps.X[:, 1], reps.data["x"])
    np.testing.assert_array_equal(reps.groups, reps.data["group"])


def test_singular_G_is_allowed():
    df = simulate_two_level(10, 5, fixed=[0, 1], G=[[1, 1], [1, 1]], sigma=1, rng=0)  # correlation 1
    assert df.shape == (50, 3)
    df = simulate_two_level(10, 5, fixed=[0, 1], G=0.0, sigma=1, rng=0)
    assert df.attrs["truth"].icc == 0.0


def test_two_level_recovers_parameters_random_intercepts():
    df = simulate_two_level(400, 25, fixed={"Intercept": 10, "x": 2, "w": -1}, G=3.0, sigma=2.0,
                            predictors={"x": "level1", "w": "level2"}, rng=12)
    X = np.column_stack([np.ones(len(df)), df["x"], df["w"]])
    res = engine.fit(df["y"], X, np.ones(len(df)), df["group"])
    np.testing.assert_allclose(res.beta, [10, 2, -1], atol=4 * res.se.max())
    assert res.G[0, 0] == pytest.approx(3.0, rel=0.15)  # SE of τ00 with 400 groups is about 7 %
    assert res.sigma2 == pytest.approx(4.0, rel=0.03)


def test_two_level_recovers_random_slope_covariance():
    G = np.array([[2.0, -0.4], [-0.4, 0.5]])
    reps = simulate_two_level_many(300, 30, fixed={"Intercept": 5, "x": 1}, G=G, sigma=1.0, n_reps=4, rng=13)
    res = engine.fit_many(reps.Y, reps.X, reps.Z, reps.groups)
    # averaged over 4 replicates of 300 groups: SEs ≈ 0.17/√4, 0.05/√4, 0.045/√4
    np.testing.assert_allclose(res.G.mean(axis=0), G, atol=0.15)
    assert res.sigma2.mean() == pytest.approx(1.0, rel=0.02)
    np.testing.assert_allclose(res.beta.mean(axis=0), [5, 1], atol=0.15)


def test_many_spread_matches_the_model():
    """Across replicates, a group mean varies by τ00 + σ²/n_j around the fixed intercept."""
    reps = simulate_two_level_many(10, 4, fixed={"Intercept": 1.0}, G=0.5, sigma=1.0, n_reps=4000, rng=5,
                                   predictors={})
    means = reps.Y.reshape(4000, 10, 4).mean(axis=2)
    assert means.mean() == pytest.approx(1.0, abs=0.03)
    assert means.var() == pytest.approx(0.5 + 1.0 / 4, rel=0.05)


# ----------------------------------------------------------------------------- crossed
def test_crossed_design_and_recovery_by_anova_moments():
    a, b, m = 150, 100, 1
    df = simulate_crossed((a, b), fixed={"Intercept": 3}, G={"student": 2.0, "rater": 0.5}, sigma=1.0,
                          n_per_cell=m, predictors={}, rng=21)
    assert list(df.columns) == ["student", "rater", "y"] and len(df) == a * b * m
    assert (df.groupby(["student", "rater"]).size() == m).all()
    y = df["y"].to_numpy()
    grand = y.mean()
    ma = df.groupby("student")["y"].mean().to_numpy()
    mb = df.groupby("rater")["y"].mean().to_numpy()
    ms_a = b * m * np.sum((ma - grand) ** 2) / (a - 1)
    ms_b = a * m * np.sum((mb - grand) ** 2) / (b - 1)
    resid = y - ma[df["student"] - 1] - mb[df["rater"] - 1] + grand
    ms_e = np.sum(resid ** 2) / (a * b * m - a - b + 1)
    assert ms_e == pytest.approx(1.0, rel=0.05)
    # sampling SDs of these moment estimates: 12 % (150 students) and 14 % (100 raters): 3 SDs allowed
    assert (ms_a - ms_e) / (b * m) == pytest.approx(2.0, rel=0.4)
    assert (ms_b - ms_e) / (a * m) == pytest.approx(0.5, rel=0.45)
    assert grand == pytest.approx(3.0, abs=0.5)
    truth = df.attrs["truth"]
    assert truth.G == {"student": 2.0, "rater": 0.5} and truth.icc["student"] == pytest.approx(2 / 3.5)


def test_crossed_predictor_levels_and_reproducible():
    kw = dict(fixed={"Intercept": 0, "x": 1, "z": 1}, G=(1.0, 1.0), sigma=1.0,
              predictors={"x": "level1", "z": "rater"})
    df = simulate_crossed((5, 4), rng=2, **kw)
    assert (df.groupby("rater")["z"].nunique() == 1).all()
    pd.testing.assert_frame_equal(df, simulate_crossed((5, 4), rng=2, **kw))


# ----------------------------------------------------------------------------- three levels
def test_three_level_design_and_recovery_by_nested_anova():
    S, C, P = 200, 4, 10
    df = simulate_three_level(S, C, P, fixed={"Intercept": 0}, G={"school": 2.0, "class": 1.0}, sigma=1.5,
                              predictors={}, rng=31)
    assert list(df.columns) == ["school", "class", "y"] and len(df) == S * C * P
    assert df["class"].nunique() == S * C
    assert (df.groupby("class")["school"].nunique() == 1).all()
    y = df["y"].to_numpy()
    mc = df.groupby("class")["y"].transform("mean").to_numpy()
    ms = df.groupby("school")["y"].transform("mean").to_numpy()
    ms_w = np.sum((y - mc) ** 2) / (S * C * (P - 1))
    ms_c = np.sum((mc - ms) ** 2) / (S * (C - 1))
    ms_s = np.sum((ms - y.mean()) ** 2) / (S - 1)
    # sampling SDs: 1.7 %, 5.5 % and 13 % (checked over 40 seeds); about 3 SDs allowed
    assert ms_w == pytest.approx(2.25, rel=0.05)
    assert (ms_c - ms_w) / P == pytest.approx(1.0, rel=0.17)
    assert (ms_s - ms_c) / (C * P) == pytest.approx(2.0, rel=0.4)
    assert df.attrs["truth"].icc == {"school": 2.0 / 5.25, "class": 3.0 / 5.25}


def test_three_level_unbalanced_and_predictor_levels():
    df = simulate_three_level(3, [1, 2, 3], lambda rng, n: np.arange(1, n + 1), fixed=[0, 1, 1, 1], G=(1, 1),
                              sigma=1, predictors={"x": "level1", "c": "level2", "s": "level3"}, rng=5)
    assert df.groupby("school")["class"].nunique().tolist() == [1, 2, 3]
    assert df.groupby("class").size().tolist() == [1, 2, 3, 4, 5, 6]
    assert (df.groupby("class")["c"].nunique() == 1).all() and (df.groupby("school")["s"].nunique() == 1).all()


# ----------------------------------------------------------------------------- input errors
KW = dict(fixed={"Intercept": 0}, G=1.0, sigma=1.0)


def test_error_n_groups_and_sizes():
    with pytest.raises(ValueError, match=r"The 'n_groups' argument of simulate_two_level must be a whole number "
                                         r"of at least 1\. Got 0\."):
        simulate_two_level(0, 5, **KW)
    with pytest.raises(ValueError, match=r"The 'group_size' argument of simulate_two_level must be whole numbers "
                                         r"of at least 1\. Got \[3, 0\]; got sizes from 0 to 3\."):
        simulate_two_level(2, [3, 0], **KW)
    with pytest.raises(ValueError, match=r"The 'group_size' argument of simulate_two_level must be an int, "
                                         r"3 sizes, or a distribution of sizes\. Got \[1, 2\]\. Pass group_size=20"):
        simulate_two_level(3, [1, 2], **KW)
    with pytest.raises(ValueError, match=r"must be a distribution returning 3 sizes\. .*it returned shape \(2,\)"):
        simulate_two_level(3, lambda rng, n: [1, 2], **KW)


def test_error_sigma_fixed_G():
    with pytest.raises(ValueError, match=r"The 'sigma' argument of simulate_two_level must be a positive number "
                                         r"\(the level-1 standard deviation σ\)\. Got -1\."):
        simulate_two_level(3, 2, fixed={"Intercept": 0}, G=1.0, sigma=-1)
    with pytest.raises(ValueError, match=r"The 'fixed' argument of simulate_two_level must be a dict whose keys "
                                         r"are Intercept or predictor names\. .*unknown: w; terms are: Intercept, x\. "
                                         r"Add the predictor with predictors"):
        simulate_two_level(3, 2, fixed={"Intercept": 0, "w": 1}, G=1.0, sigma=1)
    with pytest.raises(TypeError, match=r"The 'fixed' argument of simulate_two_level must be a dict or 2 numbers"):
        simulate_two_level(3, 2, fixed=[1, 2, 3], G=1.0, sigma=1)
    with pytest.raises(ValueError, match=r"The 'G' argument of simulate_two_level must be a covariance matrix "
                                         r"\(symmetric, positive semi-definite\).*eigenvalues.*Build it from SDs"):
        simulate_two_level(3, 2, fixed=[0, 0], G=[[1, 2], [2, 1]], sigma=1)
    with pytest.raises(ValueError, match=r"The 'slopes' argument of simulate_two_level must be 2 level-1 "
                                         r"predictor name\(s\) for G of size 3×3.*level-1 predictors are: x\."):
        simulate_two_level(3, 2, fixed=[0, 0], G=np.eye(3), sigma=1)


def test_error_predictors_and_rng():
    with pytest.raises(ValueError, match=r"predictor 'w' has level 'group'; levels are: level1, level2"):
        simulate_two_level(3, 2, predictors={"w": "group"}, **KW)
    with pytest.raises(TypeError, match=r"The 'predictors' argument of simulate_two_level must be a dict"):
        simulate_two_level(3, 2, predictors=["x"], **KW)
    with pytest.raises(TypeError, match=r"The 'rng' argument of check_random_state must be None, an int seed"):
        simulate_two_level(3, 2, rng="seed", **KW)
    with pytest.raises(ValueError, match=r"The 'n_reps' argument of simulate_two_level_many must be a whole "
                                         r"number of at least 1"):
        simulate_two_level_many(3, 2, n_reps=0, **KW)


def test_error_crossed_and_three_level():
    with pytest.raises(TypeError, match=r"The 'n_levels' argument of simulate_crossed must be a pair of ints.*"
                                        r"For example n_levels=\(40, 8\)\."):
        simulate_crossed(40, fixed={"Intercept": 0}, G=(1, 1), sigma=1)
    with pytest.raises(ValueError, match=r"The 'G' argument of simulate_crossed must be a dict with one variance "
                                         r"per factor\..*factors are: student, rater"):
        simulate_crossed((4, 4), fixed={"Intercept": 0}, G={"student": 1}, sigma=1)
    with pytest.raises(ValueError, match=r"The 'G' argument of simulate_three_level must be non-negative variances"):
        simulate_three_level(3, 2, 2, fixed={"Intercept": 0}, G=(1, -1), sigma=1)
    with pytest.raises(ValueError, match=r"The 'n_pupils' argument of simulate_three_level must be an int, 6 sizes"):
        simulate_three_level(3, 2, [2, 2], fixed={"Intercept": 0}, G=(1, 1), sigma=1)
