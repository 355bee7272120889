import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.studies import sample_size_study
from mlmlab.widgets.sample_size import draw_sample_size, sample_size_update, sample_size_widget


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def study():
    return sample_size_study([5, 10, 40], [5, 20], n_reps=120, rng=8, progress=False)


def test_update_returns_the_rows_of_that_design(study):
    row = sample_size_update(study, 10, 20)
    assert list(row.index) == ["x", "w", "tau2"]
    expected = study.query("n_groups == 10 and group_size == 20").set_index("parameter")
    pd.testing.assert_series_equal(row["power"], expected["power"])
    assert list(row.columns) == ["truth", "relative_bias", "sd", "coverage", "power", "share_singular"]


def test_update_shows_what_few_groups_do(study):
    # Known direction of the effects the lesson teaches (120 reps is plenty for these gaps).
    few, many = sample_size_update(study, 5, 5), sample_size_update(study, 40, 5)
    assert few.loc["tau2", "sd"] > 2 * many.loc["tau2", "sd"]  # τ00 much less precise
    assert few.loc["tau2", "share_singular"] > many.loc["tau2", "share_singular"]
    assert few.loc["w", "power"] < many.loc["w", "power"]
    # the level-1 effect gains power from bigger groups at fixed J; the level-2 effect hardly does
    small, big = sample_size_update(study, 10, 5), sample_size_update(study, 10, 20)
    assert big.loc["x", "power"] - small.loc["x", "power"] > 0.3
    assert big.loc["w", "power"] - small.loc["w", "power"] < 0.3


def test_draw_marks_the_design_and_titles_it(study):
    axes = draw_sample_size(study, 10, 20)
    assert len(axes) == 3
    row = sample_size_update(study, 10, 20)
    title = axes[0].figure._suptitle.get_text()
    assert title.startswith("J = 10 groups of n = 20 (N = 200): ")
    assert f"power {row.loc['x', 'power']:.2f} (level 1) vs {row.loc['w', 'power']:.2f} (level 2)" in title
    for ax in axes:
        marks = [ln for ln in ax.get_lines() if ln.get_color() == "C3"]
        assert marks and marks[-1].get_xdata()[0] == 10
    # only the chosen group size is drawn
    coverage_lines = [ln for ln in axes[1].get_lines() if "n = " in ln.get_label()]
    assert {ln.get_label().split("n = ")[1] for ln in coverage_lines} == {"20"}


def test_widget_redraws_when_a_slider_moves(study):
    w = sample_size_widget(study)
    assert list(w.controls["n_groups"].options) == [5, 10, 40]
    image, note = w.image.value, w.note.value
    w.controls["n_groups"].value = 40
    assert w.image.value != image and w.note.value != note
    assert "J = 40, n = 5" in w.note.value
    w.controls["group_size"].value = 20
    row = sample_size_update(study, 40, 20)
    assert f"{row.loc['w', 'power']:.0%} for the level-2 effect" in w.note.value


def test_bad_inputs(study):
    with pytest.raises(ValueError, match="The 'n_groups' argument of sample_size_update must be one of the study's "
                                         "values of n_groups. Got 7; the study has: 5, 10, 40"):
        sample_size_update(study, 7, 5)
    with pytest.raises(ValueError, match="The 'group_size' argument of draw_sample_size must be one of the study's "
                                         "values of group_size. Got 50"):
        draw_sample_size(study, 5, 50)
    with pytest.raises(TypeError, match="The 'study' argument of sample_size_widget must be a DataFrame"):
        sample_size_widget("study")
    with pytest.raises(ValueError, match="The 'study' argument of sample_size_update must be a column of data. "
                                         "Got 'coverage'"):
        sample_size_update(study.drop(columns="coverage"), 5, 5)
