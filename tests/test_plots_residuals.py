import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmlab import datasets
from mlmlab.fitting import fit
from mlmlab.plots.residuals import plot_ranef_qq, plot_resid_fitted, plot_resid_qq, qq_points


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sleep_fit():
    return fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


def _ppoints(n):  # R's ppoints, written out
    a = 3 / 8 if n <= 10 else 1 / 2
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


@pytest.mark.parametrize("n", [5, 40])
def test_qq_points_follow_r(n):
    rng = np.random.default_rng(n)
    x = rng.normal(3, 2, n)
    pts = qq_points(x)
    np.testing.assert_allclose(pts["sample"], np.sort(x))
    np.testing.assert_allclose(pts["theoretical"], stats.norm.ppf(_ppoints(n)))
    # R's qqline: the line passes through the sample quartiles at the normal quartiles
    slope = np.polyfit(pts["theoretical"], pts["line"], 1)[0]
    q1, q3 = np.quantile(x, [0.25, 0.75])
    assert slope == pytest.approx((q3 - q1) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25)))
    line_at_q1 = np.interp(stats.norm.ppf(0.25), pts["theoretical"], pts["line"])
    assert line_at_q1 == pytest.approx(q1)


def test_qq_points_slope_estimates_the_sd():
    x = np.random.default_rng(1).normal(0, 4, 5000)
    slope = np.polyfit(*qq_points(x)[["theoretical", "line"]].to_numpy().T, 1)[0]
    assert slope == pytest.approx(4, rel=0.05)


def test_qq_points_drops_nan_and_needs_three_values():
    assert len(qq_points([1.0, np.nan, 2.0, 5.0])) == 3
    with pytest.raises(ValueError, match=r"The 'values' argument of qq_points must be at least three finite "
                                         r"numbers\. Got \[1\.0, nan\]\."):
        qq_points([1.0, np.nan])


def test_resid_vs_fitted_draws_the_model_residuals(sleep_fit):
    ax = plot_resid_fitted(sleep_fit)
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               np.column_stack([sleep_fit.fitted, sleep_fit.resid]))
    # without a description the labels fall back on the formula's outcome column
    assert ax.get_ylabel() == "level-1 residual of Reaction"
    assert ax.get_xlabel() == "fitted Reaction"
    assert [line.get_label() for line in ax.lines if line.get_label() == "lowess smooth"] == ["lowess smooth"]
    # residuals are y minus fitted (fixed part plus BLUPs)
    y = sleep_fit.data["Reaction"].to_numpy()
    np.testing.assert_allclose(sleep_fit.resid, y - sleep_fit.fitted)
    fig, own = plt.subplots()
    assert plot_resid_fitted(sleep_fit, smooth=False, ax=own) is own
    assert own.get_legend() is None


def test_resid_qq(sleep_fit):
    ax = plot_resid_qq(sleep_fit)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], np.sort(sleep_fit.resid))
    assert ax.get_title() == "Level 1: normal QQ plot of residuals"
    assert ax.get_xlabel() == "standard normal quantile"


def test_ranef_qq_uses_the_blups(sleep_fit):
    ax = plot_ranef_qq(sleep_fit, term="Days")
    ranef = sleep_fit.ranef
    blups = ranef.loc[ranef["term"] == "Days", "estimate"]
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], np.sort(blups))
    assert ax.get_title() == "Level 2: normal QQ plot of 18 BLUPs"
    assert ax.get_ylabel() == "predicted random effect, Days (Subject)"


def test_ranef_qq_errors(sleep_fit):
    with pytest.raises(ValueError, match=r"The 'term' argument of plot_ranef_qq must be one of '\(Intercept\)', "
                                         r"'Days'\. Got 'days'\."):
        plot_ranef_qq(sleep_fit, term="days")

    class TwoFactors:
        ranef = pd.DataFrame({"grp": ["a", "a", "a", "b", "b", "b"], "level": list("xyzuvw"),
                              "term": "(Intercept)", "estimate": [1.0, 2, 3, 4, 5, 6], "se": 1.0})

    with pytest.raises(ValueError, match=r"The 'group' argument of plot_ranef_qq must be given when the model has "
                                         r"several grouping factors\. Got None; grouping factors are: a, b\. "
                                         r"Pass group='a', say\."):
        plot_ranef_qq(TwoFactors())
    ax = plot_ranef_qq(TwoFactors(), group="b")
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [4, 5, 6])
    with pytest.raises(TypeError, match=r"The 'result' argument of plot_resid_fitted must be a fitted model from "
                                        r"mlmlab\.fit\. Got 'm'; it has no \.fitted, \.resid, \.design\."):
        plot_resid_fitted("m")
    with pytest.raises(TypeError, match=r"The 'result' argument of plot_ranef_qq must be a fitted model"):
        plot_ranef_qq(3)


def test_residual_labels_name_the_quantity_and_its_units(sleep_fit):
    ax = plot_resid_fitted(sleep_fit, outcome="reaction time", units="ms")
    assert ax.get_xlabel() == "fitted reaction time (ms)"
    assert ax.get_ylabel() == "level-1 residual (ms)"
    assert ax.get_title() == "Level 1: residuals vs fitted values (with random effects)"
    assert plot_resid_qq(sleep_fit, outcome="reaction time", units="ms").get_ylabel() == "level-1 residual (ms)"
    assert plot_resid_qq(sleep_fit, outcome="reaction time").get_ylabel() == "level-1 residual of reaction time"
    assert plot_resid_fitted(sleep_fit, units="ms").get_xlabel() == "fitted Reaction (ms)"
    ax = plot_ranef_qq(sleep_fit, term="Days", ylabel="subject's slope effect (ms per day)")
    assert ax.get_ylabel() == "subject's slope effect (ms per day)"


def test_residual_labels_must_be_text(sleep_fit):
    with pytest.raises(TypeError, match=r"The 'units' argument of plot_resid_fitted must be a string\. Got 3\. "
                                        r"Pass text, e\.g\. outcome='math achievement', units='points'\."):
        plot_resid_fitted(sleep_fit, units=3)
    with pytest.raises(TypeError, match=r"The 'outcome' argument of plot_resid_qq must be a string\. Got \['y'\]"):
        plot_resid_qq(sleep_fit, outcome=["y"])
