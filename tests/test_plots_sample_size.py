import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.plots.sample_size import plot_sample_size
from mlmlab.studies import sample_size_study


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def study():
    return sample_size_study([5, 10, 30], [5, 20], n_reps=60, rng=3, progress=False)


def test_one_line_per_group_size_with_the_study_values(study):
    ax = plot_sample_size(study, metric="coverage", parameters="tau2")
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("n = ")]
    assert [ln.get_label() for ln in lines] == ["n = 5", "n = 20"]
    expected = study.query("parameter == 'tau2' and group_size == 20").sort_values("n_groups")
    np.testing.assert_allclose(lines[1].get_xydata(), expected[["n_groups", "coverage"]].to_numpy())
    assert ax.get_ylabel() == "coverage of the 95% interval"
    assert ax.get_title() == "Coverage of the 95% interval: intercept variance τ00"
    assert ax.get_xscale() == "log"


def test_reference_lines_follow_the_metric(study):
    heights = {}
    for metric in ("coverage", "power", "relative_bias"):
        ax = plot_sample_size(study, metric=metric, parameters="w")
        ref = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        heights[metric] = ref[0].get_ydata()[0]
    assert heights == {"coverage": 0.95, "power": 0.8, "relative_bias": 0.0}
    ax = plot_sample_size(study, metric="sd", parameters="w")
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    ax = plot_sample_size(study, metric="power", parameters="w", reference=0.9)
    assert [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"][0].get_ydata()[0] == 0.9


def test_several_parameters_get_line_styles_and_long_labels(study):
    ax = plot_sample_size(study, metric="power", parameters=["x", "w"])
    labels = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert labels == ["level-1 effect γ10, n = 5", "level-1 effect γ10, n = 20",
                      "level-2 effect γ01, n = 5", "level-2 effect γ01, n = 20"]
    styles = {ln.get_label().split(",")[0]: ln.get_linestyle() for ln in ax.get_lines()
              if not ln.get_label().startswith("_")}
    assert styles["level-1 effect γ10"] != styles["level-2 effect γ01"]


def test_draws_on_given_axes(study):
    fig, ax = plt.subplots()
    assert plot_sample_size(study, metric="power", parameters="x", ax=ax) is ax


def test_bad_inputs(study):
    with pytest.raises(ValueError, match="The 'metric' argument of plot_sample_size must be one of 'relative_bias', 'bias', 'coverage', 'power'"):
        plot_sample_size(study, metric="accuracy")
    with pytest.raises(ValueError, match="The 'parameters' argument of plot_sample_size must be parameters present "
                                         "in the study. Got 'gamma'; the study has: x, w, tau2"):
        plot_sample_size(study, parameters="gamma")
    with pytest.raises(ValueError, match="The 'study' argument of plot_sample_size must be a column of data. "
                                         "Got 'power'"):
        plot_sample_size(study.drop(columns="power"), metric="power")
    with pytest.raises(TypeError, match="The 'study' argument of plot_sample_size must be a DataFrame"):
        plot_sample_size([1, 2, 3])
