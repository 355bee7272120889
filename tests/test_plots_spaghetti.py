"""Tests for mlmlab.plots.spaghetti: per-group lines (own least squares or model-predicted)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlmlab
from mlmlab.datasets import load
from mlmlab.plots.spaghetti import group_lines, plot_spaghetti

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())


@pytest.fixture(scope="module")
def sleep():
    return load("sleepstudy")


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return mlmlab.fit("Reaction ~ Days + (Days | Subject)", sleep)


def test_group_lines_are_each_groups_least_squares_fit(sleep):
    lines = group_lines(sleep, x="Days", y="Reaction", group="Subject").set_index("group")
    assert len(lines) == 18
    for subject in ["308", "335", "372"]:
        part = sleep[sleep["Subject"] == subject]
        slope, intercept = np.polyfit(part["Days"], part["Reaction"], 1)
        assert lines.loc[subject, "slope"] == pytest.approx(slope, rel=1e-10)
        assert lines.loc[subject, "intercept"] == pytest.approx(intercept, rel=1e-10)
        assert lines.loc[subject, "n"] == 10
        assert (lines.loc[subject, "x_min"], lines.loc[subject, "x_max"]) == (0, 9)


def test_group_with_one_x_value_gets_nan_line():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 1.0, 0.0, 2.0], "y": [1.0, 2.0, 0.0, 4.0]})
    lines = group_lines(df, x="x", y="y", group="g").set_index("group")
    assert np.isnan(lines.loc["a", "slope"]) and np.isnan(lines.loc["a", "intercept"])
    assert lines.loc["b", "slope"] == pytest.approx(2.0)


def test_model_lines_are_fixed_effects_plus_lme4_blups(sleep, sleep_fit):
    ref = REF["models"]["sleepstudy_rs_reml"]
    lines = group_lines(sleep, x="Days", y="Reaction", group="Subject", result=sleep_fit).set_index("group")
    blups = ref["ranef"]["Subject"]
    for k, level in enumerate(blups["levels"]):
        expected_slope = ref["fixed"]["Days"]["estimate"] + blups["Days"][k]
        expected_icpt = ref["fixed"]["(Intercept)"]["estimate"] + blups["(Intercept)"][k]
        assert lines.loc[level, "slope"] == pytest.approx(expected_slope, rel=5e-3)
        assert lines.loc[level, "intercept"] == pytest.approx(expected_icpt, rel=1e-3)


def test_model_lines_are_shrunk_towards_the_average(sleep, sleep_fit):
    own = group_lines(sleep, x="Days", y="Reaction", group="Subject")
    model = group_lines(sleep, x="Days", y="Reaction", group="Subject", result=sleep_fit)
    assert model["slope"].std() < own["slope"].std()


def test_plot_draws_one_line_per_group_plus_pooled(sleep):
    ax = plot_spaghetti(sleep, x="Days", y="Reaction", group="Subject")
    lines = ax.get_lines()
    assert len(lines) == 19
    assert lines[-1].get_label() == "pooled least squares"
    slope, intercept = np.polyfit(sleep["Days"], sleep["Reaction"], 1)
    xs, ys = lines[-1].get_data()
    assert np.allclose(ys, intercept + slope * np.asarray(xs))
    assert ax.get_title() == "18 groups of Subject: least-squares line per group"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Days", "Reaction")
    plt.close(ax.figure)


def test_plot_with_result_draws_fixed_effects_line(sleep, sleep_fit):
    fig, ax = plt.subplots()
    assert plot_spaghetti(sleep, x="Days", y="Reaction", group="Subject", result=sleep_fit, ax=ax) is ax
    xs, ys = ax.get_lines()[-1].get_data()
    g00, g10 = sleep_fit.fixed["estimate"]
    assert np.allclose(ys, g00 + g10 * np.asarray(xs))
    assert ax.get_title().endswith("model-predicted lines")
    plt.close(fig)


def test_hue_colours_lines_by_a_group_level_column():
    hsb = load("hsb")
    ax = plot_spaghetti(hsb, x="cses", y="MathAch", group="School", hue="Sector", max_groups=20, rng=3)
    labels = [line.get_label() for line in ax.get_lines()[-2:]]
    assert labels == ["Public: pooled least squares", "Catholic: pooled least squares"]
    thin = ax.get_lines()[:-2]
    assert len(thin) == 20
    assert {line.get_color() for line in thin} == {"C0", "C1"}
    plt.close(ax.figure)


def test_max_groups_is_reproducible_with_rng(sleep):
    a = plot_spaghetti(sleep, x="Days", y="Reaction", group="Subject", max_groups=5, rng=1)
    b = plot_spaghetti(sleep, x="Days", y="Reaction", group="Subject", max_groups=5, rng=1)
    ya = [tuple(line.get_ydata()) for line in a.get_lines()]
    yb = [tuple(line.get_ydata()) for line in b.get_lines()]
    assert len(ya) == 6 and ya == yb
    plt.close("all")


def test_hue_must_be_constant_within_groups():
    hsb = load("hsb")
    with pytest.raises(ValueError, match="The 'hue' argument of plot_spaghetti must be constant within each group"):
        plot_spaghetti(hsb, x="cses", y="MathAch", group="School", hue="Sex")


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="The 'group' argument of plot_spaghetti must be a column of data. Got 'school'"):
        plot_spaghetti(load("sleepstudy"), x="Days", y="Reaction", group="school")


def test_non_numeric_x_is_rejected():
    with pytest.raises(ValueError, match="The 'x' argument of group_lines .* column 'Subject'"):
        group_lines(load("sleepstudy"), x="Subject", y="Reaction", group="Subject")


def test_result_must_be_a_fit(sleep):
    with pytest.raises(TypeError, match="The 'result' argument of group_lines must be a fitted model"):
        group_lines(sleep, x="Days", y="Reaction", group="Subject", result="m1")


def test_max_groups_must_be_positive(sleep):
    with pytest.raises(ValueError, match="The 'max_groups' argument of plot_spaghetti must be a whole number"):
        plot_spaghetti(sleep, x="Days", y="Reaction", group="Subject", max_groups=0)
