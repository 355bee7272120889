"""Tests for mlmlab.widgets.lrt_null: LR statistics simulated under H0: tau00 = 0."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from mlmlab.studies import lrt_null_distribution
from mlmlab.widgets.lrt_null import draw_lrt_null, lrt_null_update, lrt_null_widget


def test_update_matches_the_study_it_wraps():
    table = lrt_null_update(25, 8, method="ML", n_reps=300, rng=5)
    lr = lrt_null_distribution(25, 8, n_reps=300, methods=("ML",), rng=5, progress=False)["lr"].to_numpy()
    assert table["critical_value"].tolist() == pytest.approx([stats.chi2.ppf(0.95, 1), stats.chi2.ppf(0.90, 1)])
    assert table["rejection_rate"].iloc[0] == pytest.approx(np.mean(lr >= stats.chi2.ppf(0.95, 1)))
    assert table["rejection_rate"].iloc[1] == pytest.approx(np.mean(lr >= stats.chi2.ppf(0.90, 1)))
    assert table["share_zero"].iloc[0] == pytest.approx(np.mean(lr == 0))


def test_naive_test_is_conservative_and_mixture_is_about_right():
    """Known truth: under H0 the naive chi2(1) test rejects about alpha/2, the mixture about alpha
    (asymptotically; with REML and 60 groups it is within a percentage point)."""
    table = lrt_null_update(60, 10, method="REML", n_reps=3000, rng=11)
    naive, mixture = table["rejection_rate"]
    mc = np.sqrt(0.05 * 0.95 / 3000)
    assert naive < 0.05 - 3 * mc
    assert abs(mixture - 0.05) < 0.01
    assert abs(table["share_zero"].iloc[0] - 0.5) < 0.05


def test_same_seed_same_numbers():
    a = lrt_null_update(10, 4, n_reps=100, rng=3)
    b = lrt_null_update(10, 4, n_reps=100, rng=3)
    assert a.equals(b)


def test_draw_titles_with_the_design():
    ax = draw_lrt_null(15, 6, n_reps=100, rng=1)
    assert ax.get_title().startswith("J = 15 groups of 6, REML:")
    assert ax.get_xlabel().startswith("likelihood-ratio statistic")
    plt.close(ax.figure)


def test_widget_redraws_and_reports_when_a_slider_moves():
    w = lrt_null_widget(n_reps=150, rng=4)
    assert set(w.controls) == {"n_groups", "group_size"}
    before_image, before_note = w.image.value, w.note.value
    assert before_note.startswith("Rejecting at 5 %: naive χ²(1) test")
    w.controls["group_size"].value = 40
    assert w.image.value != before_image
    expected = lrt_null_update(30, 40, n_reps=150, rng=4)["rejection_rate"].iloc[1]
    assert f"mixture test {expected:.1%}" in w.note.value


def test_bad_method_is_rejected():
    with pytest.raises(ValueError, match="The 'method' argument of lrt_null_update must be one of 'REML', 'ML'"):
        lrt_null_update(10, 5, method="reml")


def test_generator_rng_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="The 'rng' argument of lrt_null_update must be None or an int seed.*Pass an int"):
        lrt_null_update(10, 5, rng=np.random.default_rng(1))


def test_too_few_reps_is_rejected():
    with pytest.raises(ValueError, match="The 'n_reps' argument of draw_lrt_null must be a whole number of at least 20"):
        draw_lrt_null(10, 5, n_reps=5)
