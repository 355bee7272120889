"""Tests for mlmlab.plots.lrt: boundary-mixture p-values and the null-distribution plot."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from mlmlab.boundary import mixture_critical_value, mixture_pvalue
from mlmlab.plots.lrt import plot_lrt_null

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())


@pytest.mark.parametrize("key", ["hsb_ri_vs_rs_reml", "sleepstudy_ri_vs_rs_reml"])
def test_mixture_pvalue_matches_frozen_lme4_boundary_p(key):
    row = REF["anova"][key]
    assert mixture_pvalue(row["chisq"], int(row["df"]) - 1) == pytest.approx(row["p_boundary"], rel=1e-6)
    # and it is smaller than the naive chi-square p-value lme4 prints
    assert mixture_pvalue(row["chisq"], int(row["df"]) - 1) < row["p"]


def test_mixture_pvalue_df1_is_half_the_naive_p_and_one_at_zero():
    lr = np.array([0.5, 1.0, 3.84, 10.0])
    assert np.allclose(mixture_pvalue(lr, 0), 0.5 * stats.chi2.sf(lr, 1))
    assert mixture_pvalue(0.0, 0) == pytest.approx(1.0)
    assert mixture_pvalue(0.0, 1) == pytest.approx(1.0)


def test_mixture_pvalue_agrees_with_a_simulated_mixture():
    rng = np.random.default_rng(7)
    n = 200_000
    draws = np.where(rng.random(n) < 0.5, rng.chisquare(1, n), rng.chisquare(2, n))
    for c in (1.0, 3.0, 6.0):
        assert mixture_pvalue(c, 1) == pytest.approx(np.mean(draws >= c), abs=0.004)


@pytest.mark.parametrize("df", [1, 2, 3])
def test_critical_value_inverts_the_tail(df):
    c = mixture_critical_value(0.05, q=df - 1)
    assert mixture_pvalue(c, df - 1) == pytest.approx(0.05, abs=1e-9)
    assert c < stats.chi2.ppf(0.95, df)


def test_critical_value_df1_is_chi2_at_twice_alpha():
    assert mixture_critical_value(0.05, q=0) == pytest.approx(stats.chi2.ppf(0.90, 1), rel=1e-8)


@pytest.mark.parametrize("alpha", [0, 0.5, 0.7, -0.1, "0.05", True])
def test_critical_value_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="The 'alpha' argument of mixture_critical_value must be a level between 0 and 0.5"):
        mixture_critical_value(alpha)


def test_critical_value_rejects_bad_q():
    with pytest.raises(ValueError, match="The 'q' argument of mixture_critical_value must be a whole number of at "
                                         "least 0"):
        mixture_critical_value(0.05, q=-1)


def _null_sample(n=600, seed=3):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, 0.0, rng.chisquare(1, n))


def test_plot_draws_histogram_and_both_curves():
    lr = _null_sample()
    ax = plot_lrt_null(lr, bins=20)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["naive χ²(1)", "mixture: ½ point mass at 0 + ½ χ²(1)"]
    assert len(ax.patches) == 20
    share_zero = np.mean(lr == 0)
    assert f"{share_zero:.0%} are exactly 0" in ax.get_title()
    assert ax.get_xlabel().startswith("likelihood-ratio statistic")
    assert ax.get_ylabel()
    plt.close(ax.figure)


def test_histogram_area_is_share_of_positive_samples():
    lr = _null_sample()
    ax = plot_lrt_null(lr, bins=25)
    area = sum(p.get_width() * p.get_height() for p in ax.patches)
    assert area == pytest.approx(np.mean(lr > 0), rel=1e-9)
    plt.close(ax.figure)


def test_mixture_curve_is_half_the_naive_curve_for_df1_and_not_for_df2():
    ax = plot_lrt_null(_null_sample())
    naive, mix = ax.get_lines()
    assert np.allclose(mix.get_ydata(), 0.5 * naive.get_ydata())
    plt.close(ax.figure)
    ax = plot_lrt_null(_null_sample(), df=2)
    naive, mix = ax.get_lines()
    x = naive.get_xdata()
    assert np.allclose(mix.get_ydata(), 0.5 * stats.chi2.pdf(x, 1) + 0.5 * stats.chi2.pdf(x, 2))
    assert mix.get_label() == "mixture: ½ χ²(1) + ½ χ²(2)"
    plt.close(ax.figure)


def test_plot_uses_given_axes():
    fig, ax = plt.subplots()
    assert plot_lrt_null(_null_sample(), ax=ax) is ax
    plt.close(fig)


def test_plot_rejects_negative_statistics_with_a_hint():
    with pytest.raises(ValueError, match="must be non-negative .* Check the order"):
        plot_lrt_null([1.0, -3.0, 2.0])


@pytest.mark.parametrize("bad", [[1.0], [np.nan, 1.0], "lr"])
def test_plot_rejects_too_few_or_non_finite(bad):
    with pytest.raises(ValueError, match="The 'lr' argument of plot_lrt_null must be at least two finite"):
        plot_lrt_null(bad)
