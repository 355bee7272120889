import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmlab.widgets import design_effect_update, design_effect_widget, draw_design_effect


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_update_values():
    row = design_effect_update(0.18, 45, n_groups=160).iloc[0]
    assert row["design_effect"] == pytest.approx(1 + 44 * 0.18)
    assert row["effective_n"] == pytest.approx(7200 / (1 + 44 * 0.18))
    assert row["se_ratio"] == pytest.approx(np.sqrt(1 + 44 * 0.18))


def test_no_clustering_means_nominal_rate():
    row = design_effect_update(0.0, 30).iloc[0]
    assert row["design_effect"] == 1
    assert row["false_positive_rate"] == pytest.approx(0.05)
    assert design_effect_update(0.0, 30, alpha=0.01)["false_positive_rate"].iloc[0] == pytest.approx(0.01)


def test_false_positive_rate_matches_simulated_naive_test():
    # the naive z is the correct one times sqrt(deff): check the formula by simulation
    deff = design_effect_update(0.1, 20).iloc[0]["design_effect"]
    z = np.random.default_rng(5).standard_normal(200_000) * np.sqrt(deff)
    simulated = np.mean(np.abs(z) > stats.norm.ppf(0.975))
    assert design_effect_update(0.1, 20)["false_positive_rate"].iloc[0] == pytest.approx(simulated, abs=0.005)


def test_rate_grows_with_icc_and_group_size():
    rates = [design_effect_update(r, n)["false_positive_rate"].iloc[0] for r, n in [(0.02, 10), (0.1, 10), (0.1, 50)]]
    assert rates[0] < rates[1] < rates[2]


def test_draw_marks_point_and_study():
    study = pd.DataFrame({"icc": [0.1, 0.1], "group_size": [30, 10], "variance_ratio": [3.7, 1.8]})
    ax = draw_design_effect(0.1, 30, study=study)
    assert ax.get_title() == "n̄ = 30, ρ = 0.10: deff = 3.90, effective n = 385 of 1500"
    marker = ax.get_lines()[-1]
    assert marker.get_xydata().tolist() == [[0.1, pytest.approx(3.9)]]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0.1, 3.7]])  # only n̄ = 30 drawn


def test_widget_redraws_and_reports():
    w = design_effect_widget()
    first_image, first_note = w.image.value, w.note.value
    w.controls["group_size"].value = 80
    assert w.image.value != first_image
    assert w.note.value != first_note
    assert f"{np.sqrt(1 + 79 * 0.1):.2f}× too small" in w.note.value


def test_bad_inputs():
    with pytest.raises(ValueError, match="The 'icc' argument of design_effect_update must be a number between 0 and 1. Got 1.2"):
        design_effect_update(1.2, 10)
    with pytest.raises(ValueError, match="The 'group_size' argument of design_effect_update must be a whole number of at least 1. Got 0"):
        design_effect_update(0.1, 0)
    with pytest.raises(ValueError, match="The 'alpha' argument of design_effect_update must be a level between 0 and 1"):
        design_effect_update(0.1, 10, alpha=5)
