"""mlmlab.studies: reproducible, well-formed, and right where the answer is known."""

import inspect

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmlab import engine
from mlmlab.simulate import simulate_two_level_many
from mlmlab.studies import (_ols_llf, cluster_randomised_power, lrt_null_distribution, lrt_rejection_rates,
                            ml_vs_reml_bias, ols_vs_mlm, sample_size_study)


def _mc_ok(observed, expected, se, k=4.0):
    """|observed − expected| within k Monte Carlo standard errors."""
    return abs(observed - expected) <= k * se


def _spy_on_designs(monkeypatch):
    """Record (X, reml) of every call to engine._fit_many_designs, the one-design-per-replicate path."""
    seen = []
    real = engine._fit_many_designs

    def spy(Y, X, Z, groups, *, reml=True):
        seen.append((np.array(X), reml))
        return real(Y, X, Z, groups, reml=reml)

    monkeypatch.setattr(engine, "_fit_many_designs", spy)
    return seen


def _assert_new_design_every_replicate(X, J, m, *, level1=(), level2=()):
    """X (R, n, p): an intercept, then predictors (columns by level) that differ in every replicate.

    A level-2 column must also be constant within each of the J groups of m units.
    """
    R = X.shape[0]
    assert X.shape[1] == J * m and np.all(X[:, :, 0] == 1)
    for c in level2:
        w = X[:, :, c].reshape(R, J, m)
        assert np.all(w == w[:, :, :1])  # one value per group: a level-2 predictor
        assert len(np.unique(w[:, :, 0].round(12), axis=0)) == R  # new groups in every replicate
    for c in level1:
        assert len(np.unique(X[:, :, c].round(12), axis=0)) == R


# ----------------------------------------------------------------------------- OLS vs MLM
def test_ols_vs_mlm_shape_columns_reproducible():
    kw = dict(n_groups=10, n_reps=30, rng=5, progress=False)
    tab = ols_vs_mlm([0.0, 0.1, 0.3], [4, 8], **kw)
    assert tab.shape[0] == 3 * 2 * 2
    assert list(tab.columns) == ["icc", "group_size", "n_groups", "predictor", "level", "design_effect", "sd_ols",
                                 "se_ols", "se_mlm", "se_ratio", "variance_inflation", "type1_ols", "type1_mlm",
                                 "mc_se", "n_reps"]
    assert set(tab["predictor"]) == {"w", "x"} and (tab["n_reps"] == 30).all()
    np.testing.assert_allclose(tab["design_effect"], 1 + (tab["group_size"] - 1) * tab["icc"])
    pd.testing.assert_frame_equal(tab, ols_vs_mlm([0.0, 0.1, 0.3], [4, 8], **kw))
    assert not tab.equals(ols_vs_mlm([0.0, 0.1, 0.3], [4, 8], n_groups=10, n_reps=30, rng=6, progress=False))


def _ols_inflation_over_designs(J, m, icc):
    """E(variance_inflation) for the level-2 predictor when every data set draws its own w.

    Given the design, Var(γ̂01, OLS) = (τ00 + σ²/m) / S with S = Σ_j (w_j − w̄)² ~ χ²_{J−1}, while
    OLS claims s² / (m S) with E(s²) = σ² + τ00 (n − 2m − 1)/(n − 3) (the intercept and w each absorb
    about m of the n units' worth of τ00, x about one). Averaging over designs,
    (SD / mean SE)² = deff · E(1/S) / E(S^(−1/2))² · (τ00 + σ²) / E(s²): slightly above the
    design effect, by Jensen's inequality.
    """
    from scipy.special import gammaln

    k, n, tau2, sigma2 = J - 1, J * m, icc, 1 - icc
    inv_sqrt = np.exp(gammaln((k - 1) / 2) - gammaln(k / 2)) / np.sqrt(2)  # E(χ²_k^(−1/2))
    s2 = sigma2 + tau2 * (n - 2 * m - 1) / (n - 3)
    return (1 + (m - 1) * icc) * (1 / (k - 2)) / inv_sqrt ** 2 * (tau2 + sigma2) / s2


def test_ols_vs_mlm_known_answers():
    """Level-2 predictor: OLS variance too small by the design effect, OLS type-I inflated, MLM at 5 %."""
    J, m, icc, R = 30, 10, 0.2, 2000
    tab = ols_vs_mlm([icc], [m], n_groups=J, n_reps=R, rng=11, progress=False).set_index("predictor")
    w, x = tab.loc["w"], tab.loc["x"]
    deff = 1 + (m - 1) * icc
    # (SD of the OLS estimates / mean OLS SE)² estimates the design effect (times a small Jensen
    # factor, 1.03 here, as designs vary); over designs γ̂ is a normal scale mixture with kurtosis
    # κ = 3 (J − 3)/(J − 5), so the relative MC error of SD² is √((κ − 1)/R)
    expected = _ols_inflation_over_designs(J, m, icc)
    assert deff < expected < 1.05 * deff
    kappa = 3 * (J - 3) / (J - 5)
    assert _mc_ok(w["variance_inflation"], expected, expected * np.sqrt((kappa - 1) / R))
    # the multilevel SE is the honest one: close to the empirical SD of the (here identical) estimates
    assert w["se_mlm"] == pytest.approx(w["sd_ols"], rel=4 * np.sqrt(1 / (2 * R)) + 0.02)
    assert w["se_ratio"] ** 2 == pytest.approx(deff, rel=0.1)
    se5 = np.sqrt(0.05 * 0.95 / R)
    assert _mc_ok(w["type1_mlm"], 0.05, se5)
    assert w["type1_ols"] > 0.15  # about 0.25 for a design effect of 2.8
    # the level-1 predictor is not inflated, and both tests hold their level
    assert x["variance_inflation"] < 1.15
    assert _mc_ok(x["type1_mlm"], 0.05, se5) and _mc_ok(x["type1_ols"], 0.05, se5, k=5)


def test_ols_vs_mlm_draws_new_schools_for_every_replicate(monkeypatch):
    """Each data set gets its own level-2 predictor w and level-1 x, not one design per block."""
    seen = _spy_on_designs(monkeypatch)
    J, m, R = 6, 4, 40
    ols_vs_mlm([0.2], [m], n_groups=J, n_reps=R, rng=5, progress=False)
    X = np.concatenate([X for X, _ in seen])
    assert X.shape == (R, J * m, 3)
    _assert_new_design_every_replicate(X, J, m, level2=[1], level1=[2])  # columns Intercept, w, x
    assert all(reml for _, reml in seen)  # the multilevel fits use REML


def test_ols_vs_mlm_level2_sd_matches_theory_over_random_designs():
    """With new schools (a new w) in every data set, SD(γ̂01, OLS) ≈ √((τ00 + σ²/m)/(J − 3)).

    As for sample_size_study: Var = E[(τ00 + σ²/m) / Σ(w_j − w̄)²] and E[1/χ²_{J−1}] = 1/(J − 3); the
    MC SE of the SD is SD · √((κ − 1)/(4R)) with κ = 3 (J − 3)/(J − 5). With one design per block of
    250 replicates (8 designs here) the SD misses this by several MC SEs at about half of the seeds,
    this one among them (6.4 SEs); with a design per replicate it lies within 2 SEs at every seed tried.
    """
    J, m, icc, R = 8, 10, 0.2, 2000
    tab = ols_vs_mlm([icc], [m], n_groups=J, n_reps=R, rng=21, progress=False).set_index("predictor")
    theory = np.sqrt((icc + (1 - icc) / m) / (J - 3))
    kappa = 3 * (J - 3) / (J - 5)
    assert _mc_ok(tab.loc["w", "sd_ols"], theory, theory * np.sqrt((kappa - 1) / (4 * R)))


def test_ols_vs_mlm_power_with_an_effect():
    tab = ols_vs_mlm([0.1], [10], n_groups=30, n_reps=200, effect=0.5, rng=2, progress=False)
    assert (tab["type1_mlm"] > 0.9).all()  # with an effect the rejection rate is power


# ----------------------------------------------------------------------------- ML vs REML
def test_ml_vs_reml_shape_and_reproducible():
    kw = dict(group_size=5, n_reps=40, rng=7, progress=False)
    tab = ml_vs_reml_bias([4, 8], **kw)
    assert tab.shape == (2 * 2 * 2, 12)
    assert list(tab.columns) == ["n_groups", "group_size", "method", "parameter", "truth", "mean", "bias",
                                 "relative_bias", "sd", "mc_se", "share_singular", "n_reps"]
    pd.testing.assert_frame_equal(tab, ml_vs_reml_bias([4, 8], **kw))


def test_ml_underestimates_tau2_reml_does_not():
    """Balanced data: E(τ̂00, ML) ≈ τ00 − (τ00 + σ²/n)/J; REML is (nearly) unbiased."""
    J, m, tau2, sigma2, R = 8, 10, 1.0, 1.0, 2000
    tab = ml_vs_reml_bias([J], group_size=m, tau2=tau2, sigma2=sigma2, n_reps=R, rng=3, progress=False)
    t = tab.set_index(["method", "parameter"])
    ml, reml = t.loc[("ML", "tau2")], t.loc[("REML", "tau2")]
    assert ml["bias"] < -3 * ml["mc_se"]
    assert _mc_ok(ml["bias"], -(tau2 + sigma2 / m) / J, ml["mc_se"])
    assert _mc_ok(reml["bias"], 0.0, reml["mc_se"])
    # σ² is estimated well by both (n − J − 1 = 71 within-group degrees of freedom)
    assert _mc_ok(t.loc[("REML", "sigma2"), "bias"], 0.0, t.loc[("REML", "sigma2"), "mc_se"])


def test_ml_vs_reml_draws_a_new_x_for_every_replicate(monkeypatch):
    seen = _spy_on_designs(monkeypatch)
    J, m, R = 5, 4, 30
    ml_vs_reml_bias([J], group_size=m, n_reps=R, rng=6, progress=False)
    assert [reml for _, reml in seen] == [False, True]  # ML and REML fits of the same data sets
    X_ml, X_reml = seen[0][0], seen[1][0]
    np.testing.assert_array_equal(X_ml, X_reml)
    assert X_ml.shape == (R, J * m, 2)
    _assert_new_design_every_replicate(X_ml, J, m, level1=[1])


# ----------------------------------------------------------------------------- LRT
def test_lrt_null_shape_and_summary():
    tab = lrt_null_distribution(10, 5, n_reps=60, rng=1, progress=False)
    assert tab.shape == (120, 7) and set(tab["method"]) == {"REML", "ML"}
    assert list(tab.columns) == ["rep", "method", "lr", "p_naive", "p_mixture", "reject_naive", "reject_mixture"]
    assert (tab["lr"] >= 0).all()
    zero = tab["lr"] == 0
    assert (tab.loc[zero, "p_mixture"] == 1).all()
    np.testing.assert_allclose(tab.loc[~zero, "p_mixture"], tab.loc[~zero, "p_naive"] / 2)
    rates = lrt_rejection_rates(tab)
    assert list(rates.columns) == ["method", "n_reps", "share_zero", "reject_naive", "reject_mixture", "mc_se"]
    assert rates["n_reps"].tolist() == [60, 60]
    pd.testing.assert_frame_equal(tab, lrt_null_distribution(10, 5, n_reps=60, rng=1, progress=False))


def test_lrt_null_matches_exact_boundary_probability():
    """Balanced one-way data: τ̂00 = 0 exactly when MSB/MSW ≤ 1 (REML) or ≤ J/(J − 1) (ML), an F event."""
    J, m, R = 15, 6, 3000
    tab = lrt_null_distribution(J, m, n_reps=R, rng=4, progress=False)
    rates = lrt_rejection_rates(tab).set_index("method")
    p_reml = stats.f.cdf(1.0, J - 1, J * (m - 1))
    p_ml = stats.f.cdf(J / (J - 1), J - 1, J * (m - 1))
    assert _mc_ok(rates.loc["REML", "share_zero"], p_reml, np.sqrt(p_reml * (1 - p_reml) / R))
    assert _mc_ok(rates.loc["ML", "share_zero"], p_ml, np.sqrt(p_ml * (1 - p_ml) / R))
    # the naive χ²₁ test is conservative (about alpha / 2), the mixture close to alpha
    for method in ("REML", "ML"):
        assert rates.loc[method, "reject_naive"] < 0.035
        assert rates.loc[method, "reject_mixture"] > rates.loc[method, "reject_naive"]


def test_lr_uses_the_engines_boundary_likelihood():
    """The no-random-effect log-likelihood is the engine's at θ = 0 (a singular fit)."""
    reps = simulate_two_level_many(6, 4, fixed={"Intercept": 1.0, "x": 1.0}, G=0.0, sigma=1.0, n_reps=200, rng=9)
    for reml in (True, False):
        fits = engine.fit_many(reps.Y, reps.X, reps.Z, reps.groups, reml=reml)
        zero = fits.theta[:, 0] == 0
        assert zero.any()
        np.testing.assert_allclose(fits.llf[zero], _ols_llf(reps.Y[zero], reps.X, reml), rtol=1e-12)
        assert np.all(fits.llf >= _ols_llf(reps.Y, reps.X, reml) - 1e-9)


# ----------------------------------------------------------------------------- sample size
def test_sample_size_shape_columns_reproducible():
    kw = dict(n_reps=25, rng=8, progress=False)
    tab = sample_size_study([5, 10], [3, 6], **kw)
    assert tab.shape == (2 * 2 * 3, 16)
    assert list(tab.columns) == ["n_groups", "group_size", "parameter", "level", "truth", "mean", "bias",
                                 "relative_bias", "sd", "mean_se", "coverage", "miss_low", "share_lower_zero",
                                 "power", "share_singular", "n_reps"]
    assert tab["parameter"].tolist()[:3] == ["x", "w", "tau2"]
    pd.testing.assert_frame_equal(tab, sample_size_study([5, 10], [3, 6], **kw))


def test_sample_size_coverage_and_bias_known_answers():
    R = 1500
    tab = sample_size_study([40], [10], fixed={"x": 0.2, "w": 0.0}, tau2=0.5, sigma2=1.0, n_reps=R, rng=12,
                            progress=False).set_index("parameter")
    se_cov = np.sqrt(0.95 * 0.05 / R)
    for p in ("x", "w"):
        assert _mc_ok(tab.loc[p, "coverage"], 0.95, se_cov)
        assert _mc_ok(tab.loc[p, "bias"], 0.0, tab.loc[p, "sd"] / np.sqrt(R))
        # reported SEs match the spread of the estimates
        assert tab.loc[p, "mean_se"] == pytest.approx(tab.loc[p, "sd"], rel=0.08)
    assert _mc_ok(tab.loc["w", "power"], 0.05, se_cov)  # γ01 = 0: power is the type-I error
    expected = stats.norm.sf(1.96 - 0.2 / tab.loc["x", "sd"])  # power of a z test with the true SE
    assert _mc_ok(tab.loc["x", "power"], expected, np.sqrt(expected * (1 - expected) / R) + 0.005)
    # τ00 with 40 groups: profile-likelihood interval close to nominal, REML nearly unbiased
    assert abs(tab.loc["tau2", "coverage"] - 0.95) < 0.03
    assert _mc_ok(tab.loc["tau2", "bias"], 0.0, tab.loc["tau2", "sd"] / np.sqrt(R))
    assert tab.loc["tau2", "share_singular"] == 0


def test_sample_size_draws_a_new_design_for_every_replicate(monkeypatch):
    """Each data set gets its own level-2 predictor w (and level-1 x), not one design per block."""
    seen = _spy_on_designs(monkeypatch)
    J, m, R = 6, 4, 40
    sample_size_study([J], [m], n_reps=R, rng=5, progress=False)
    assert seen, "sample_size_study must fit through engine._fit_many_designs"
    X = np.concatenate([X for X, _ in seen])
    assert X.shape == (R, J * m, 3)
    _assert_new_design_every_replicate(X, J, m, level1=[1], level2=[2])  # columns Intercept, x, w


def test_sample_size_level2_sd_matches_theory_over_random_designs():
    """With w ~ N(0, 1) drawn per data set, SD(γ̂01) ≈ √((τ00 + σ²/n)/(J − 3)).

    Var(γ̂01) ≈ E[(τ00 + σ²/n) / Σ(w_j − w̄)²] with Σ(w_j − w̄)² ~ χ²_{J−1}, and E[1/χ²_k] = 1/(k − 2).

    γ̂01 is then a normal scale mixture with kurtosis κ = 3 (J − 3)/(J − 5), so the Monte Carlo SE
    of the empirical SD is SD · √((κ − 1)/(4R)). One design per block of replicates would add
    the noise of a few draws of Σ(w_j − w̄)² on top, several times larger.
    """
    J, m, R, tau2, sigma2 = 20, 10, 2000, 0.25, 1.0
    tab = sample_size_study([J], [m], tau2=tau2, sigma2=sigma2, n_reps=R, rng=15,
                            progress=False).set_index("parameter")
    theory = np.sqrt((tau2 + sigma2 / m) / (J - 3))
    kappa = 3 * (J - 3) / (J - 5)
    assert _mc_ok(tab.loc["w", "sd"], theory, theory * np.sqrt((kappa - 1) / (4 * R)))
    assert _mc_ok(tab.loc["w", "coverage"], 0.95, np.sqrt(0.95 * 0.05 / R))


def test_ols_llf_with_one_design_per_replicate_matches_shared_design():
    rng = np.random.default_rng(16)
    X = np.stack([np.column_stack([np.ones(30), rng.normal(size=30)]) for _ in range(3)])
    Y = rng.normal(size=(3, 30))
    for reml in (True, False):
        batched = _ols_llf(Y, X, reml)
        for r in range(3):
            assert batched[r] == pytest.approx(_ols_llf(Y[r:r + 1], X[r], reml)[0], rel=1e-12)


def test_few_groups_hurt_tau2_more_than_fixed_effects():
    tab = sample_size_study([5, 50], [10], n_reps=300, rng=13, progress=False)
    t = tab.set_index(["n_groups", "parameter"])
    assert t.loc[(5, "tau2"), "coverage"] < t.loc[(50, "tau2"), "coverage"]
    assert t.loc[(5, "w"), "power"] < t.loc[(50, "w"), "power"]
    assert t.loc[(5, "tau2"), "sd"] > 2 * t.loc[(50, "tau2"), "sd"]


def test_z_test_undercovers_with_few_groups():
    kw = dict(fixed={"x": 0.0, "w": 0.0}, n_reps=1000, rng=14, progress=False)
    t = sample_size_study([5], [10], test="t", **kw).set_index("parameter")
    z = sample_size_study([5], [10], test="z", **kw).set_index("parameter")
    assert z.loc["w", "coverage"] < t.loc["w", "coverage"] - 0.03  # t(3) vs normal quantiles


# ----------------------------------------------------------------------------- errors and progress
def _profile_cases():
    """(J, m, seed, replicate) of simulated data sets: intervals with a lower limit above 0, one at 0 from a fit
    that is not singular, two from singular fits, from 5 groups of 10 to 30 groups of 20."""
    return [(5, 10, 2, 0), (5, 10, 2, 3), (5, 10, 2, 4), (5, 10, 2, 7), (10, 5, 1, 0), (10, 5, 1, 5),
            (30, 20, 5, 0)]


@pytest.mark.parametrize("J, m, seed, r", _profile_cases())
def test_tau2_profile_interval_matches_confint(J, m, seed, r):
    """The study's τ00 interval of each data set is mlmlab.confint's profile interval for the SD, squared.

    confint(method="profile") is checked against lme4's confint (tests/test_intervals.py); both profile the ML
    deviance. A singular fit's interval starts at exactly 0.
    """
    import mlmlab
    from mlmlab.studies import _fit_designs, _simulate_designs, _tau2_profile_intervals

    Y, X, codes = _simulate_designs(J, m, (1, 2), (0.0, 0.3, 0.3), 0.25, 1.0, 8, np.random.default_rng(seed))
    low, high = _tau2_profile_intervals(Y, X, J, m, 0.95)
    data = pd.DataFrame({"y": Y[r], "x": X[r, :, 1], "w": X[r, :, 2], "g": codes})
    ci = mlmlab.confint(mlmlab.fit("y ~ x + w + (1 | g)", data), method="profile").loc["sd_(Intercept)|g"]
    assert low[r] == pytest.approx(ci["ci_low"] ** 2, abs=1e-3)
    assert high[r] == pytest.approx(ci["ci_high"] ** 2, abs=1e-3)
    if _fit_designs(Y, X, codes).singular[r]:
        assert low[r] == 0.0 and ci["ci_low"] == 0.0


def test_tau2_profile_interval_cases_cover_singular_and_both_kinds_of_lower_limit():
    """The cases above include singular fits, a lower limit of 0 from a fit that is not singular, and lower
    limits above 0."""
    from mlmlab.studies import _fit_designs, _simulate_designs, _tau2_profile_intervals

    kinds = set()
    for J, m, seed, r in _profile_cases():
        Y, X, codes = _simulate_designs(J, m, (1, 2), (0.0, 0.3, 0.3), 0.25, 1.0, 8, np.random.default_rng(seed))
        low, _ = _tau2_profile_intervals(Y, X, J, m, 0.95)
        kinds.add("singular" if _fit_designs(Y, X, codes).singular[r] else "zero" if low[r] == 0 else "positive")
    assert kinds == {"singular", "zero", "positive"}


def test_tau2_profile_coverage_near_nominal_with_many_groups():
    R = 800
    tab = sample_size_study([50], [10], n_reps=R, rng=21, progress=False).set_index("parameter")
    assert _mc_ok(tab.loc["tau2", "coverage"], 0.95, np.sqrt(0.95 * 0.05 / R))
    assert tab.loc["tau2", "share_singular"] == 0


def test_tau2_profile_intervals_reach_zero_so_singular_fits_no_longer_all_miss():
    """With 5 groups of 5 about 30 % of the fits are singular. A log-scale Wald interval could cover at most
    1 − share_singular of the time; the profile interval of a singular fit is [0, upper] and often covers."""
    from mlmlab.studies import _fit_designs, _simulate_designs, _tau2_profile_intervals

    R = 400
    few = sample_size_study([5], [5], n_reps=R, rng=22, progress=False).set_index("parameter").loc["tau2"]
    assert few["share_singular"] > 0.15
    assert few["share_lower_zero"] >= few["share_singular"]
    assert few["coverage"] > 1 - few["share_singular"] + 4 * np.sqrt(0.25 / R)
    assert few["coverage"] + few["miss_low"] <= 1
    # every singular fit's interval starts at 0 and reaches above it
    Y, X, codes = _simulate_designs(5, 5, (1, 2), (0.0, 0.3, 0.3), 0.25, 1.0, 300, np.random.default_rng(23))
    low, high = _tau2_profile_intervals(Y, X, 5, 5, 0.95)
    singular = _fit_designs(Y, X, codes).singular
    assert singular.sum() > 30
    assert np.all(low[singular] == 0) and np.all(high[singular] > 0)
    assert np.all(np.isfinite(high)) and np.all(low <= high)
    covered = (low <= 0.25) & (0.25 <= high)
    assert covered[singular].mean() > 0.5


# ----------------------------------------------------------------------------- a 0/1 programme
def _nct_power(effect, J, n, tau2, sigma2, alpha=0.05):
    """Power of the two-sided t test, by scipy's noncentral t, written out independently."""
    J1 = J // 2
    se = np.sqrt((tau2 + sigma2 / n) * (1 / J1 + 1 / (J - J1)))
    crit = stats.t.ppf(1 - alpha / 2, J - 2)
    return stats.nct.sf(crit, J - 2, effect / se) + stats.nct.cdf(-crit, J - 2, effect / se)


def test_cluster_randomised_power_hand_values():
    """ρ = 0.1 (τ00 = 0.1, σ² = 0.9), classes of 20: SE = √(4 (0.1 + 0.9/20) / J), df = J − 2."""
    kw = dict(tau2=0.1, sigma2=0.9)
    tab = cluster_randomised_power([20, 30], [20], effect=0.4, **kw).set_index("n_groups")
    assert list(tab.reset_index().columns) == ["n_groups", "group_size", "effect", "design_effect", "se", "df",
                                               "noncentrality", "power"]
    assert tab.loc[20, "se"] == pytest.approx(np.sqrt(4 * 0.145 / 20), rel=1e-12)  # 0.1703
    assert tab.loc[20, "df"] == 18 and tab.loc[30, "df"] == 28
    assert tab.loc[20, "design_effect"] == pytest.approx(1 + 19 * 0.1)
    assert tab.loc[20, "power"] == pytest.approx(0.6036, abs=5e-4)
    assert tab.loc[30, "power"] == pytest.approx(0.7930, abs=5e-4)
    small = cluster_randomised_power([20], [20], effect=0.3, **kw)
    assert small["power"].iloc[0] == pytest.approx(0.3852, abs=5e-4)
    for J, d in ((20, 0.4), (30, 0.4), (20, 0.3)):
        assert cluster_randomised_power([J], [20], effect=d, **kw)["power"].iloc[0] == pytest.approx(
            _nct_power(d, J, 20, **kw), rel=1e-12)
    # d = 0.3 needs more than 50 schools: 53 is the first J with power ≥ 0.8 (54 among even J)
    grid = cluster_randomised_power(range(20, 61), [20], effect=0.3, **kw).set_index("n_groups")["power"]
    assert grid.loc[50] < 0.8 and grid.loc[52] < 0.8 <= grid.loc[53]
    assert int(grid[grid >= 0.8].index.min()) == 53
    # an odd J: J // 2 treated groups, SE from 1/J1 + 1/J0; no effect: power is alpha
    odd = cluster_randomised_power([7], [4], effect=0.0, tau2=0.2, sigma2=1.0).iloc[0]
    assert odd["se"] == pytest.approx(np.sqrt((0.2 + 0.25) * (1 / 3 + 1 / 4)), rel=1e-12)
    assert odd["power"] == pytest.approx(0.05, rel=1e-9)


def test_cluster_randomised_power_matches_a_t_test_on_simulated_group_means():
    """The formula against its definition: a two-sample t test on the J group means (no mixed model)."""
    J, n, d, tau2, sigma2, R = 12, 10, 0.5, 0.2, 0.8, 20000
    rng = np.random.default_rng(30)
    w = np.arange(J) < J // 2
    means = d * w + rng.normal(0, np.sqrt(tau2 + sigma2 / n), (R, J))
    p = stats.ttest_ind(means[:, w], means[:, ~w], axis=1).pvalue
    expected = cluster_randomised_power([J], [n], effect=d, tau2=tau2, sigma2=sigma2)["power"].iloc[0]
    assert _mc_ok(np.mean(p < 0.05), expected, np.sqrt(expected * (1 - expected) / R), k=3)


@pytest.mark.parametrize("J, n, effect, tau2, sigma2", [(20, 20, 0.4, 0.1, 0.9), (10, 20, 0.4, 0.1, 0.9),
                                                       (30, 5, 0.3, 0.25, 1.0)])
def test_binary_level2_power_matches_the_noncentral_t(J, n, effect, tau2, sigma2):
    R = 1500
    tab = sample_size_study([J], [n], fixed={"x": 0.2, "w": effect}, tau2=tau2, sigma2=sigma2, level2="binary",
                            n_reps=R, rng=J + n, progress=False).set_index("parameter")
    formula = cluster_randomised_power([J], [n], effect=effect, tau2=tau2, sigma2=sigma2).iloc[0]
    assert _mc_ok(tab.loc["w", "power"], formula["power"], np.sqrt(formula["power"] * (1 - formula["power"]) / R),
                  k=3)
    assert tab.loc["w", "sd"] == pytest.approx(formula["se"], rel=0.08)  # MC SE of an SD: about 1.8 % here
    assert _mc_ok(tab.loc["w", "coverage"], 0.95, np.sqrt(0.95 * 0.05 / R), k=3)


def test_binary_level2_halves_the_groups_and_lowers_power(monkeypatch):
    seen = _spy_on_designs(monkeypatch)
    J, m, R = 7, 3, 40
    sample_size_study([J], [m], level2="binary", n_reps=R, rng=5, progress=False)
    X = np.concatenate([X for X, _ in seen])
    _assert_new_design_every_replicate(X, J, m, level1=[1])
    groups = X[:, :, 2].reshape(R, J, m)
    assert np.all(groups == groups[:, :, :1])  # one value per group
    w = groups[:, :, 0]
    assert set(np.unique(w)) == {0.0, 1.0} and np.all(w.sum(axis=1) == J // 2)  # 3 of 7 groups treated
    assert len(np.unique(w, axis=0)) > 15  # the treated groups are drawn anew (35 ways to pick 3 of 7)
    # the same effect per SD of a continuous predictor is detected far more often than as a 0/1 programme
    kw = dict(fixed={"x": 0.0, "w": 0.4}, tau2=0.1, sigma2=0.9, n_reps=300, rng=22, progress=False)
    per_sd = sample_size_study([20], [20], **kw).set_index("parameter").loc["w"]
    programme = sample_size_study([20], [20], level2="binary", **kw).set_index("parameter").loc["w"]
    assert per_sd["power"] > programme["power"] + 0.2
    assert programme["sd"] == pytest.approx(2 * np.sqrt(0.145 / 20), rel=0.15)


def test_default_level2_is_the_normal_predictor():
    kw = dict(n_reps=20, rng=3, progress=False)
    pd.testing.assert_frame_equal(sample_size_study([6], [4], **kw), sample_size_study([6], [4], level2="normal", **kw))


def test_power_and_level2_errors_are_pinned():
    with pytest.raises(ValueError, match=r"The 'n_groups_values' argument of cluster_randomised_power must be a list "
                                         r"of numbers ≥ 3\. Got \[2, 10\]; 2 is not\. The t test of a programme has "
                                         r"J − 2 degrees of freedom, so it needs 3 groups or more"):
        cluster_randomised_power([2, 10], [20], effect=0.4)
    with pytest.raises(ValueError, match=r"The 'group_size_values' argument of cluster_randomised_power must be a "
                                         r"list of numbers ≥ 1\. Got \[0\]; 0 is not\. Give the number of units in "
                                         r"each group, e\.g\. \[20\]\."):
        cluster_randomised_power([20], [0], effect=0.4)
    with pytest.raises(TypeError, match=r"The 'effect' argument of cluster_randomised_power must be a finite number\. "
                                        r"Got '0\.4'\. Give the programme's effect in units of the outcome"):
        cluster_randomised_power([20], [20], effect="0.4")
    with pytest.raises(ValueError, match=r"The 'tau2' argument of cluster_randomised_power must be a non-negative "
                                         r"number\. Got -0\.1\."):
        cluster_randomised_power([20], [20], effect=0.4, tau2=-0.1)
    with pytest.raises(ValueError, match=r"The 'level2' argument of sample_size_study must be one of 'normal', "
                                         r"'binary'\. Got 'dummy'\. Use level2='binary' for a 0/1 programme given to "
                                         r"half of the groups, or level2='normal' for a continuous group "
                                         r"characteristic drawn N\(0, 1\)\."):
        sample_size_study([5], [5], level2="dummy", progress=False)
    with pytest.raises(ValueError, match=r"The 'level2' argument of sample_size_study must be one of"):
        sample_size_study([5], [5], level2=None, progress=False)


def test_errors_are_pinned():
    with pytest.raises(ValueError, match=r"The 'icc_values' argument of ols_vs_mlm must be a list of numbers "
                                         r"≥ 0\.0 and < 1\.0\. Got \[0\.1, 1\.0\]; 1\.0 is not\."):
        ols_vs_mlm([0.1, 1.0], [5], progress=False)
    with pytest.raises(ValueError, match=r"The 'group_sizes' argument of ols_vs_mlm must be a list of whole "
                                         r"numbers\."):
        ols_vs_mlm([0.1], [2.5], progress=False)
    with pytest.raises(TypeError, match=r"The 'n_groups_values' argument of ml_vs_reml_bias must be a list of "
                                        r"numbers\. Got \['a'\]\."):
        ml_vs_reml_bias(["a"], progress=False)
    with pytest.raises(ValueError, match=r"The 'tau2' argument of sample_size_study must be a positive number\. "
                                         r"Got 0\."):
        sample_size_study([5], [5], tau2=0, progress=False)
    with pytest.raises(ValueError, match=r"The 'methods' argument of lrt_null_distribution must be one of "
                                         r"'REML', 'ML'\. Got 'OLS'\."):
        lrt_null_distribution(5, 5, methods=["OLS"], progress=False)
    with pytest.raises(ValueError, match=r"The 'fixed' argument of sample_size_study must be a dict with keys "
                                         r"among Intercept, x, w"):
        sample_size_study([5], [5], fixed={"z": 1}, progress=False)
    with pytest.raises(TypeError, match=r"The 'fixed' argument of sample_size_study must be a dict whose values "
                                        r"are finite numbers\. Got \{'w': 'big'\}\."):
        sample_size_study([5], [5], fixed={"w": "big"}, progress=False)
    with pytest.raises(ValueError, match=r"The 'alpha' argument of ols_vs_mlm must be a number between 0 and 1"):
        ols_vs_mlm([0.1], [5], alpha=5, progress=False)
    with pytest.raises(TypeError, match=r"The 'table' argument of lrt_rejection_rates must be the DataFrame "
                                        r"returned by lrt_null_distribution"):
        lrt_rejection_rates(pd.DataFrame({"lr": [0.0]}))


def test_progress_bar_can_be_shown(capsys):
    # a bar with delay 1 s only appears for slow runs; here the run is quick, so nothing is printed
    tab = ml_vs_reml_bias([4], group_size=3, n_reps=10, rng=0, progress=True)
    assert len(tab) == 4
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("study", [ols_vs_mlm, ml_vs_reml_bias, lrt_null_distribution, sample_size_study])
def test_shared_parameters_are_written_into_every_docstring(study):
    # Python 3.13 strips docstring indentation at compile time; cleandoc gives one form on every version.
    doc = inspect.cleandoc(study.__doc__)
    assert "{" + "rng_progress}" not in doc
    assert "\nrng : None, int or numpy.random.Generator, default=None\n    Source of randomness.\n" in doc
    assert "\nprogress : bool, default=True\n    Show a progress bar" in doc
    assert doc.index("progress : bool") < doc.index("Returns\n-------")
    # the inserted lines are indented like the parameters around them
    params = doc[doc.index("Parameters\n----------"):doc.index("Returns\n-------")]
    assert all(not line.startswith(" ") or line.startswith("    ") and not line.startswith("     ")
               for line in params.splitlines() if line.strip())
