"""The public checks recognise the common wrong answers, and say which mistake it is.

For each assignment, a table of (question, wrong answer, expected hint): the master's code runs in-process
(set-up cells and worked solutions; its test cells are skipped), the wrong answer overwrites the
question's variables, and the question's public tests — read from the student notebook in exercises/,
exactly what `grader.check` runs — must fail with that hint. The worked solution itself passes every
public check. No failure shows the right value.

Only the assignments listed here are covered; a master that is not listed is not checked here.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# (question, wrong answer: code run after the worked solution, a substring of the hint the check must give)
MISTAKES: dict[str, list[tuple[str, str, str]]] = {
    "01_why_multilevel": [
        ("q1", "n_rows = 30", "counts schools or pupils per school"),
        ("q1", "ybar = float(mlmlab.simulate_two_level(30, 20, fixed={'Intercept': 50, 'x': 0}, G=4.0, sigma=8.0, "
               "predictors={'x': 'level2'}, rng=np.random.default_rng(101))['y'].mean())", "G is the variance"),
        ("q1", "ybar = float(mlmlab.simulate_two_level(30, 20, fixed={'Intercept': 50, 'x': 0}, G=16.0, sigma=64.0, "
               "predictors={'x': 'level2'}, rng=np.random.default_rng(101))['y'].mean())", "sigma is the level-1 standard deviation"),
        ("q2", "se_ols, se_mlm = se_mlm, se_ols", "swapped"),
        ("q2", "se_ols = float(ols.bse['Intercept'])", "standard error of the intercept"),
        ("q2", "se_mlm = float(mlmlab.fit('y ~ x + (1 | group)', sim, reml=False).fixed.loc['x', 'se'])", "ML fit"),
        ("q3", "p_ols, p_mlm = p_ols / 2, p_mlm / 2", "one-sided"),
        ("q3", "p_ols, p_mlm, reject_ols, reject_mlm = p_mlm, p_ols, reject_mlm, reject_ols", "swapped"),
        ("q4", "deff = 1 + (40 - 1) * 0.15", "number of classes"),
        ("q4", "deff = 1 + 25 * 0.15", "instead of n-bar - 1"),
        ("q4", "n_eff = 1000 * (1 - 0.15)", "divided by the design effect"),
        ("q5", "q5_answer = 'a'", "not biased by the clustering"),
        ("q5", "q5_answer = 'b'", "which one is smaller"),
        ("q5", "q5_answer = 'd'", "much less information"),
        ("q6", "more_pupils_worse = False", "more pupils per school do not add schools"),
    ],
    "02_random_intercepts": [
        ("q1", "tau00 = float(ri.varcomp['sdcor'].iloc[0])", "looks like a standard deviation"),
        ("q1", "tau00 = float(mlmlab.fit('MathAch ~ SES + (1 | School)', hsb, reml=False).varcomp['vcov'].iloc[0])",
         "looks like the ML estimate"),
        ("q1", "sigma2 = float(ri.sigma2) ** 0.5 * 1.0", "sigma2 looks like a standard deviation"),
        ("q1", "import numpy as np; gamma10 = float(np.polyfit(hsb['SES'], hsb['MathAch'], 1)[0])", "OLS slope"),
        ("q2", "lam_8367 = tau00 / (tau00 + sigma2)", "sigma2 / n_j"),
        ("q2", "lam_8367 = 1 - tau00 / (tau00 + sigma2 / n_8367)", "1 - lambda"),
        ("q2", "lam_8367 = tau00 ** 0.5 / (tau00 ** 0.5 + sigma2 ** 0.5 / n_8367)", "standard deviations"),
        ("q2", "n_8367 = int(hsb['School'].nunique())", "counts the schools"),
        ("q2", "u_8367 = float((hsb.MathAch - ri.predict(hsb, include_re=False))[hsb.School == '8367'].mean())",
         "raw mean residual"),
        ("q2", "u_8367 = -u_8367", "wrong sign"),
        ("q2", "u_8367_56 = u_8367", "BLUP for 14 students"),
        ("q2", "u_8367_56 = u_8367 / lam_8367", "raw mean residual itself"),
        ("q2", "u_8367_56 = 4 * u_8367", "four times the BLUP"),
        ("q2", "u_8367_56 = tau00 / (tau00 + sigma2 / 56) * u_8367", "a second time"),
        ("q2", "u_8367_56 = tau00 / (tau00 + sigma2) * u_8367 / lam_8367", "sigma2 itself in the weight"),
        ("q3", "pred_new = float(ri.fixed.loc['Intercept', 'estimate'])", "leaves out gamma10 * SES"),
        ("q3", "pred_8367 = pred_new + float((hsb.MathAch - ri.predict(hsb, include_re=False))[hsb.School == '8367'].mean())",
         "raw mean residual"),
        ("q4", "q4_answer = 'b'", "does not make predict() add the random effects"),
        ("q4", "q4_answer = 'c'", "does not average raw scores"),
        ("q4", "q4_answer = 'd'", "runs without error"),
        ("q5", "half_width = 1.96 * tau00", "multiplies the variance tau00"),
        ("q5", "half_width = 1.96 * sigma2 ** 0.5", "spread of students within a school"),
        ("q5", "half_width = 1.96 * (tau00 / 160) ** 0.5", "standard error"),
    ],
    "03_icc": [
        ("q1", "tau00, sigma2 = (float(m0.varcomp['sdcor'].iloc[i]) for i in (0, 1)); rho = tau00 / (tau00 + sigma2)",
         "looks like a standard deviation"),
        ("q1", "tau00 = float(mlmlab.fit('MathAch ~ 1 + (1 | School)', hsb, reml=False).varcomp['vcov'].iloc[0]); "
               "rho = tau00 / (tau00 + sigma2)", "looks like the ML estimate"),
        ("q1", "tau00, sigma2 = sigma2, tau00; rho = tau00 / (tau00 + sigma2)", "swapped"),
        ("q1", "rho = tau00 / sigma2", "ratio of the two parts"),
        ("q1", "rho = (tau00 / (tau00 + sigma2)) ** 0.5", "looks like a square root"),
        ("q1", "rho = sigma2 / (tau00 + sigma2)", "within-school share"),
        ("q1", "sd_t, sd_s = m0.varcomp['sdcor'].iloc[0], m0.varcomp['sdcor'].iloc[1]; rho = float(sd_t / (sd_t + sd_s))",
         "built from standard deviations"),
        ("q1", "vc_ml = mlmlab.fit('MathAch ~ 1 + (1 | School)', hsb, reml=False).varcomp['vcov']; "
               "rho = float(vc_ml.iloc[0] / vc_ml.sum())", "comes from the ML fit"),
        ("q2", "deff_hsb = 1 + n_bar * rho; n_eff_hsb = len(hsb) / deff_hsb", "instead of n-bar - 1"),
        ("q2", "deff_hsb = 1 + (160 - 1) * rho; n_eff_hsb = len(hsb) / deff_hsb", "number of schools"),
        ("q3", "rho_naive = rho_naive ** 0.5", "ratio of standard deviations"),
        ("q3", "rho_naive = float(school_means.var(ddof=0) / hsb['MathAch'].var(ddof=0))", "ddof = 0"),
        ("q3", "rho_naive = rho", "the model's ICC"),
        ("q4", "q4_answer = 'a'", "it has a direction"),
        ("q4", "q4_answer = 'b'", "which one is larger"),
        ("q4", "q4_answer = 'c'", "corrects for the degrees of freedom"),
        ("q5", "tau00_ses = float(m1.varcomp['sdcor'].iloc[0])", "looks like a standard deviation"),
        ("q5", "share_explained = (tau00 - tau00_ses) / tau00_ses", "divides by the new tau00"),
        ("q5", "rho_cond = tau00_ses / (tau00_ses + sigma2)", "mixes the two models"),
        ("q5", "rho_cond = rho", "null model's ICC"),
        ("q6", "ols_is_fine = True", "not a small problem"),
    ],
    "04_random_slopes": [
        ("q1", "tau11 = slope_sd; slope_sd = tau11 ** 0.5", "standard deviation of the slopes"),
        ("q1", "tau11 = float(m_rs.G['Subject'].iloc[0, 0]); slope_sd = tau11 ** 0.5", "intercept variance"),
        ("q1", "tau11 = float(mlmlab.fit('Reaction ~ Days + (Days | Subject)', sleep, reml=False).G['Subject'].iloc[1, 1]); "
               "slope_sd = tau11 ** 0.5", "ML estimate"),
        ("q2", "slope_low, slope_high = gamma10 - 1.96 * tau11, gamma10 + 1.96 * tau11", "multiplies the variance"),
        ("q2", "se = float(m_rs.fixed.loc['Days', 'se']); slope_low, slope_high = gamma10 - 1.96 * se, gamma10 + 1.96 * se",
         "confidence interval for the average slope"),
        ("q2", "blup_sd = float(m_rs.ranef.query(\"term == 'Days'\")['estimate'].std()); "
               "slope_low, slope_high = gamma10 - 1.96 * blup_sd, gamma10 + 1.96 * blup_sd", "spread of the BLUP slopes"),
        ("q3", "tau00_mid, tau01_mid = float(G.iloc[0, 0]), float(G.iloc[0, 1])", "old intercept variance"),
        ("q3", "tau00_mid = float(G.iloc[0, 0] - 9 * G.iloc[0, 1] + 20.25 * G.iloc[1, 1]); "
               "tau01_mid = float(G.iloc[0, 1] - 4.5 * G.iloc[1, 1])",
         "c = -4.5"),
        ("q3", "tau00_mid = float(G.iloc[0, 0] + 4.5 * G.iloc[0, 1] + 4.5 ** 2 * G.iloc[1, 1])", "covariance term once"),
        ("q3", "tau01_mid = float(G.iloc[0, 1])", "old covariance"),
        ("q4", "within_effect, contextual_effect = contextual_effect, within_effect", "swapped"),
        ("q4", "contextual_effect = float(mlmlab.fit('MathAch ~ cses + MEANSES + (1 | School)', hsb).fixed.loc['MEANSES', "
               "'estimate']); between_effect = within_effect + contextual_effect", "that is the between effect"),
        ("q5", "q5_answer = 'a'", "not an optimiser failure"),
        ("q5", "q5_answer = 'b'", "not a finding"),
        ("q5", "q5_answer = 'd'", "about the random part"),
        ("q6", "tau01_changes = False", "depends on where x = 0 is"),
    ],
    "05_estimation": [
        ("q1", "ms_between = float(groups.mean().var(ddof=1)); tau_reml_hand = (ms_between - ms_within) / n; "
               "tau_ml_hand = ((J - 1) / J * ms_between - ms_within) / n", "multiply it by n"),
        ("q1", "ms_within = float(groups.var(ddof=0).mean()); tau_reml_hand = (ms_between - ms_within) / n; "
               "tau_ml_hand = ((J - 1) / J * ms_between - ms_within) / n", "ddof = 0"),
        ("q1", "ms_within = float(data['y'].var()); tau_reml_hand = (ms_between - ms_within) / n; "
               "tau_ml_hand = ((J - 1) / J * ms_between - ms_within) / n", "variance of all 32 values"),
        ("q1", "tau_reml_hand = ms_between - ms_within", "estimates n times tau00"),
        ("q1", "tau_reml_hand = ms_between / n", "leaves out MS_W"),
        ("q1", "tau_reml_hand = (ms_between - ms_within) / J", "divides by J, the number of batches"),
        ("q1", "tau_reml_hand, tau_ml_hand = tau_ml_hand, tau_reml_hand", "looks like the ML estimate"),
        ("q1", "tau_ml_hand = tau_reml_hand", "equals the REML estimate"),
        ("q1", "tau_ml_hand = (J / (J - 1) * ms_between - ms_within) / n", "makes MS_B larger"),
        ("q1", "tau_ml_hand = (J - 1) / J * tau_reml_hand", "rescales the whole REML estimate"),
        ("q2", "tau_reml, tau_ml = tau_reml ** 0.5, tau_ml ** 0.5", "looks like a standard deviation"),
        ("q2", "sigma2_reml, tau_reml = tau_reml, sigma2_reml; tau_ml = tau_reml / 2", "swapped"),
        ("q3", "J_needed = 22", "rounded down"),
        ("q3", "J_needed = 20", "leaves out sigma2 / n"),
        ("q3", "J_needed = 60", "instead of sigma2 / n"),
        ("q4", "q4_answer = 'b'", "does not make its likelihoods comparable"),
        ("q4", "q4_answer = 'c'", "same criterion"),
        ("q4", "q4_answer = 'd'", "are possible"),
        ("q5", "trust_first_fit = True", "compare the two values"),
        ("q6", "rhat_b = float(az.rhat(run_a))", "R-hat of run_a"),
        ("q6", "rhat_b = float(az.rhat(run_b.T))", "columns as chains"),
        ("q6", "ess_a = float(run_a.size)", "counts the draws"),
        ("q6", "ess_a = float(az.ess(run_a[0]))", "one chain only"),
        ("q6", "ess_a = float(az.ess(run_a, method='tail'))", "tail ESS"),
        ("q6", "run_b_usable = True", "above 1.01"),
        ("q6", "tau00_mean = float(np.mean(run_a)) ** 2", "mean of a square"),
        ("q6", "tau00_mean = float(np.mean(run_a))", "tau00 is its square"),
        ("q6", "tau00_mean = float(np.mean(run_b ** 2))", "summarises run_b"),
        ("q6", "hdi_low, hdi_high = (float(v) for v in np.quantile(run_a, [0.03, 0.97]))", "equal-tailed"),
        ("q6", "hdi_low, hdi_high = (float(v) for v in az.hdi(run_a.ravel(), hdi_prob=0.95))", "hdi_prob=0.94"),
    ],
    "06_model_comparison": [
        ("q1", "lr_slope = -2 * (mlmlab.fit('Reaction ~ Days + (1 | Subject)', sleep, reml=False).llf "
               "- mlmlab.fit('Reaction ~ Days + (Days | Subject)', sleep, reml=False).llf); "
               "p_naive = float(stats.chi2.sf(lr_slope, df_slope)); "
               "p_mixture = float(0.5 * stats.chi2.sf(lr_slope, 1) + 0.5 * stats.chi2.sf(lr_slope, 2))", "compares ML fits"),
        ("q1", "lr_slope = m_rs.llf - m_ri.llf; p_naive = float(stats.chi2.sf(lr_slope, df_slope))", "factor 2"),
        ("q1", "df_slope = 1; p_naive = float(stats.chi2.sf(lr_slope, 1))", "covariance"),
        ("q1", "p_mixture = p_naive / 2", "one variance alone"),
        ("q1", "p_mixture = float(0.5 * stats.chi2.sf(lr_slope, 2) + 0.5 * stats.chi2.sf(lr_slope, 3))", "chi2(2) and chi2(3)"),
        ("q2", "lr_days = -2 * (mlmlab.fit('Reaction ~ 1 + (1 | Subject)', sleep).llf "
               "- mlmlab.fit('Reaction ~ Days + (1 | Subject)', sleep).llf); p_days = float(stats.chi2.sf(lr_days, 1))",
         "REML likelihoods are not comparable"),
        ("q2", "p_days = p_days / 2", "boundary correction is for variances"),
        ("q2", "lr_days = lr_days / 2; p_days = float(stats.chi2.sf(lr_days, 1))", "factor 2"),
        ("q3", "p_boundary = 0.08", "naive p-value"),
        ("q3", "p_boundary = 0.16", "doubles"),
        ("q3", "p_boundary = float(0.5 * stats.chi2.sf(stats.chi2.isf(0.08, 1), 1) + 0.5 * stats.chi2.sf(stats.chi2.isf(0.08, 1), 2))",
         "adding a random slope"),
        ("q4", "reject_naive = 0.05", "nominal rate"),
        ("q4", "reject_naive = float(null_table['reject_mixture'].mean())", "boundary-corrected cut-off"),
        ("q4", "share_zero = 1 - share_zero", "above 0"),
        ("q4", "share_zero, reject_naive = reject_naive, share_zero", "swapped"),
        ("q4", "t = studies.lrt_null_distribution(20, 5, n_reps=1000, rng=606, progress=False); "
               "share_zero = float((t['lr'] == 0).mean()); reject_naive = float(t['reject_naive'].mean())", "methods='REML'"),
        ("q4", "share_zero = 0.5", "in theory"),
        ("q5", "q5_answer = 'a'", "REML likelihoods are comparable too"),
        ("q5", "q5_answer = 'c'", "bias in the variance estimates"),
        ("q5", "q5_answer = 'd'", "boundary correction"),
        ("q6", "p_boot = float(boot['p_chisq'].iloc[0])", "naive chi2(2) p-value"),
        ("q6", "p_boot = float(boot['p_boundary'].iloc[0])", "mixture p-value"),
        ("q6", "p_boot = float(np.mean(null_lr >= boot['lr'].iloc[0]))", "leaves out the +1"),
        ("q6", "crit_boot = float(stats.chi2.ppf(0.95, 2))", "table cut-off"),
        ("q6", "crit_boot = float(mlmlab.boundary.mixture_critical_value(0.05, q=1))", "cut-off of the chi2 mixture"),
        ("q6", "crit_boot = float(np.quantile(null_lr, 0.05))", "5th percentile"),
        ("q6", "naive_size = 0.05", "nominal rate"),
        ("q6", "naive_size = float(np.mean(null_lr < stats.chi2.ppf(0.95, 2)))", "below the cut-off"),
        ("q6", "naive_size = float(np.mean(null_lr >= stats.chi2.ppf(0.95, 1)))", "chi2(1) cut-off"),
    ],
    "07_crossed_and_nested": [
        ("q1", "tau_plate, tau_sample = (float(pen_fit.varcomp.set_index('grp').loc[g, 'sdcor']) for g in ('plate', 'sample'))",
         "looks like a standard deviation"),
        ("q1", "tau_plate, tau_sample = tau_sample, tau_plate", "swapped"),
        ("q1", "share_sample = tau_sample / (tau_plate + tau_sample)", "leaves the residual variance out"),
        ("q1", "share_sample = tau_plate / float(pen_fit.varcomp['vcov'].sum())", "plate variance's share"),
        ("q2", "q2_answer = 'a'", "crossed with batches"),
        ("q2", "q2_answer = 'b'", "puts batches inside casks"),
        ("q2", "q2_answer = 'c'", "leaves out the batches"),
        ("q3", "vx = mlmlab.fit('strength ~ 1 + (1 | batch) + (1 | cask)', pastes).varcomp.set_index('grp')['vcov']; "
               "tau_cask, tau_batch = float(vx['cask']), float(vx['batch'])", "from the crossed formula"),
        ("q3", "tau_cask, tau_batch = tau_batch, tau_cask", "swapped"),
        ("q4", "rho_same_cask = tau_cask / total", "also share its batch"),
        ("q4", "rho_same_batch = tau_batch / (tau_batch + tau_cask)", "leaves the residual variance out"),
        ("q5", "sm_tau_sample = float(sm_fit.vcomp[0])", "alphabetical order"),
        ("q5", "sm_tau_sample = float(smf.mixedlm('diameter ~ 1', pen, groups='everything', re_formula='0', "
               "vc_formula={'plate': '0 + C(plate)', 'sample': '0 + C(sample)'}).fit(reml=False).vcomp[1])", "ML fit"),
    ],
    "08_sample_size": [
        ("q1", "coverage_5 = float(tau.loc[5, 'share_lower_zero'])", "share_lower_zero column"),
        ("q1", "coverage_5, coverage_30 = coverage_30, coverage_5", "swapped"),
        ("q1", "coverage_5 = 1 - coverage_5", "share of intervals that miss"),
        ("q1", "coverage_5 = float(study[study['parameter'] == 'x'].set_index('n_groups').loc[5, 'coverage'])", "fixed effect"),
        ("q1", "singular_5 = float(tau.loc[30, 'share_singular'])", "design with 30 groups"),
        ("q1", "singular_5 = float(tau.loc[5, 'share_singular'] * 200)", "not a count"),
        ("q2", "sd_w = (0.25 + 1.0 / 10) / 20", "looks like a variance"),
        ("q2", "sd_w = np.sqrt((0.25 + 1.0) / 20)", "does not divide sigma2 by n"),
        ("q2", "sd_w = np.sqrt((0.25 + 1.0) / (20 * 10))", "as if they were independent"),
        ("q2", "sd_w = np.sqrt(0.25 + 1.0 / 10 / 20)", "tau00 is divided by J too"),
        ("q2", "sd_w_huge = np.sqrt((0.25 + 1.0 / 100) / 20)", "n = 100"),
        ("q3", "bigger_schools_fix_it = True", "the tau00 / J part stays"),
        ("q4", "best_n_groups = 10", "the fewest, biggest schools"),
        ("q4", "best_n_groups = 20", "an even split"),
        ("q4", "best_n_groups = 40", "every one of the four splits"),
        ("q5", "min_schools, power_at_min = 20, 0.885", "standard-normal school characteristic"),
        ("q6", "best_n = 2", "each school costs 600 euros"),
        ("q6", "best_n = 60", "the fewest, biggest schools"),
        ("q6", "best_n = best_design(per_school, tau00=0.9, sigma2=0.1)[0]", "swapped"),
        ("q6", "best_J = budget / (per_school + per_student * best_n)", "whole number of schools"),
        ("q6", "best_J = budget // (per_student * best_n)", "cost of recruiting the schools"),
        ("q6", "best_se = best_se ** 2", "looks like a variance"),
        ("q6", "best_se = float(np.sqrt((0.1 + 0.9 / best_n) / (budget / (per_school + per_student * best_n))))", "fractional number"),
        ("q6", "best_se = float(np.sqrt((0.1 + 0.9) / best_J))", "does not divide sigma2 by n"),
        ("q6", "best_n_cheap = best_n", "depends on what a school costs"),
        ("q6", "best_n_cheap = 2", "even at 60 euros"),
    ],
    "09_worked_example_schools": [
        ("q1", "gamma01 = float(np.polyfit(hsb['MEANSES'], hsb['MathAch'], 1)[0])", "OLS slope"),
        ("q1", "tau00_means = float(m_means.varcomp.set_index('grp').loc['School', 'sdcor'])", "standard deviation"),
        ("q1", "tau00_means = tau00_null; share_explained = 0.5", "null model's School variance"),
        ("q1", "share_explained = (tau00_null - tau00_means) / tau00_means", "divides by the new tau00"),
        ("q2", "tau11 = float(vc.loc[(vc['var1'] == 'cses') & vc['var2'].isna(), 'sdcor'].iloc[0])", "standard deviation"),
        ("q2", "slope_low, slope_high = gamma10 - 1.96 * tau11, gamma10 + 1.96 * tau11", "multiplies the variance"),
        ("q2", "se = float(m_rc.fixed.loc['cses', 'se']); slope_low, slope_high = gamma10 - 1.96 * se, gamma10 + 1.96 * se",
         "confidence interval for the average slope"),
        ("q3", "slope_catholic = float(fx['cses'])", "public school"),
        ("q3", "slope_catholic = float(fx['cses'] + fx['Sector[T.Catholic]:cses'] + fx['MEANSES:cses'])", "drops out"),
        ("q4", "q4_answer = 'a'", "does not make its likelihoods comparable"),
        ("q4", "q4_answer = 'b'", "same data are not enough"),
        ("q4", "q4_answer = 'd'", "nested"),
        ("q5", "icc_s50 = 18.3 / (18.3 + 52.1)", "tutorial's numbers"),
        ("q5", "icc_s50 = float(v['school'] / v['Residual'])", "divides by sigma2 only"),
        ("q5", "sd = m_s50.varcomp.set_index('grp')['sdcor']; icc_s50 = float(sd['school'] / (sd['school'] + sd['Residual']))",
         "standard deviations"),
        ("q6", "positive_variance_is_evidence = True", "noise alone"),
    ],
    "10_diagnostics_prediction_reporting": [
        ("q1", "var_fixed = float(np.var(np.asarray(fixed['Intercept'] + fixed['Days'] * sleep['Days'])))", "ddof=0"),
        ("q1", "var_fixed = float(sleep['Reaction'].var())", "observed Reaction"),
        ("q1", "var_random = float(m_ri.varcomp.set_index('grp').loc['Subject', 'sdcor'])", "looks like a standard deviation"),
        ("q1", "var_random = float(mlmlab.fit('Reaction ~ Days + (1 | Subject)', sleep, reml=False).varcomp.set_index('grp')"
               ".loc['Subject', 'vcov'])", "ML estimate"),
        ("q1", "r2_marginal = var_fixed / (var_fixed + var_random)", "leaves sigma2 out"),
        ("q1", "r2_marginal, r2_conditional = r2_conditional, r2_marginal", "swapped"),
        ("q1", "r2_conditional = var_random / total", "only the random part"),
        ("q2", "i = influence[influence['parameter'] == 'Intercept']; most_influential = str(i.loc[i['change'].abs().idxmax(), 'level'])",
         "moves the Intercept"),
        ("q2", "most_influential = str(days.loc[days['change'].idxmin(), 'level'])", "most negative"),
        ("q2", "slope_change = -slope_change", "wrong sign"),
        ("q2", "slope_change = float(row['dropped'])", "slope without the subject"),
        ("q2", "slope_change = float(row['std_change'])", "standardised change"),
        ("q3", "pred_new = pred_308", "has no BLUPs"),
        ("q3", "pred_308 = pred_new", "leaves out subject 308's random effects"),
        ("q3", "pred_308 = pred_new + float(m_rs.ranef.set_index(['level', 'term']).loc[('308', '(Intercept)'), 'estimate'])",
         "not 5 times his random slope"),
        ("q3", "pred_308 = float(m_ri.predict(new_rows.iloc[:1]).iloc[0])", "random-intercept model"),
        ("q3", "pred_308 = float(sleep[(sleep['Subject'] == '308') & (sleep['Days'] == 5)]['Reaction'].iloc[0])", "observed reaction time"),
        ("q4", "q4_answer = 'a'", "does not add the random effects"),
        ("q4", "q4_answer = 'c'", "evaluates the fitted formula"),
        ("q4", "q4_answer = 'd'", "not the data"),
        ("q5", "blup_var_ratio = float(blup_slopes.var(ddof=1) / tau11 ** 0.5)", "divides by the SD"),
        ("q5", "blup_var_ratio = float(blup_slopes.var(ddof=0) / tau11)", "ddof=0"),
        ("q5", "blup_var_ratio = float(tau11 / blup_slopes.var(ddof=1))", "upside down"),
        ("q5", "blups_understate_tau11 = False", "shrunken towards 0"),
    ],
    "11_longitudinal": [
        ("q1", "gamma10 = float(growth.fixed.loc['Intercept', 'estimate'])", "is the intercept"),
        ("q1", "sd_slope = sd_slope ** 2", "looks like the variance tau11"),
        ("q1", "sd_slope = float(mlmlab.fit('Reaction ~ Days + (Days | Subject)', sleep, reml=False).G['Subject'].iloc[1, 1]) ** 0.5",
         "ML estimate"),
        ("q1", "corr_int_slope = float(growth.G['Subject'].iloc[0, 1])", "covariance tau01"),
        ("q1", "se = float(growth.fixed.loc['Days', 'se']); slope_low, slope_high = gamma10 - 1.96 * se, gamma10 + 1.96 * se",
         "confidence interval for the average slope"),
        ("q1", "slope_low, slope_high = gamma10 - 1.96 * sd_slope ** 2, gamma10 + 1.96 * sd_slope ** 2", "multiplies the variance"),
        ("q2", "tau00_end = float(growth.G['Subject'].iloc[0, 0])", "old intercept variance"),
        ("q2", "g = mlmlab.fit('Reaction ~ Days_end + (Days_end | Subject)', sleep.assign(Days_end=sleep['Days'] + 9)).G['Subject']; "
               "tau00_end = float(g.iloc[0, 0]); corr_end = float(g.iloc[0, 1] / (g.iloc[0, 0] * g.iloc[1, 1]) ** 0.5)", "Days = -9"),
        ("q2", "G = growth.G['Subject']; tau00_end = float(G.iloc[0, 0] + 9 * G.iloc[0, 1] + 81 * G.iloc[1, 1])", "covariance term once"),
        ("q2", "tau00_end = tau00_end ** 0.5", "looks like a standard deviation"),
        ("q2", "corr_end = float(G_end.iloc[0, 1])", "looks like the covariance"),
        ("q2", "corr_end = corr_int_slope", "old correlation"),
        ("q3", "q3_answer = 'a'", "not more precision"),
        ("q3", "q3_answer = 'c'", "not equally valid"),
        ("q3", "q3_answer = 'd'", "far from 0"),
        ("q4", "gamma_within, gamma_between = gamma_between, gamma_within", "swapped"),
        ("q4", "d = diary.assign(hours_gc=diary['hours'] - diary['hours'].mean()); "
               "gamma_between = float(mlmlab.fit('mood ~ hours_gc + hours_mean + (1 | person)', d).fixed.loc['hours_mean', 'estimate'])",
         "contextual effect"),
        ("q4", "gamma_within = float(mlmlab.fit('mood ~ hours + (1 | person)', diary).fixed.loc['hours', 'estimate'])", "raw hours"),
        ("q4", "fe_estimate = float(smf.ols('mood ~ hours', diary).fit().params['hours'])", "pooled OLS"),
        ("q5", "gamma_naive = float(smf.ols('mood ~ hours', diary).fit().params['hours'])", "OLS slope"),
        ("q5", "gamma_naive = gamma_within", "within coefficient of question 4"),
        ("q5", "gamma_naive = float(mlmlab.fit('mood ~ hours + (1 | person)', diary, reml=False).fixed.loc['hours', 'estimate'])",
         "ML estimate"),
        ("q5", "naive_is_within = True", "mixes the within-person"),
        ("q6", "slope_untutored = float(unconditional.fixed.loc['wave', 'estimate'])", "unconditional model's average slope"),
        ("q6", "slope_untutored, slope_tutored = slope_tutored, slope_untutored", "swapped"),
        ("q6", "slope_tutored = float(fx['wave:tutored'])", "interaction wave:tutored alone"),
        ("q6", "slope_tutored = float(fx['wave'] + fx['tutored'])", "difference in level at wave 0"),
        ("q6", "slope_tutored = slope_untutored", "cross-level interaction"),
        ("q6", "share_tau11_explained = (tau11_unconditional ** 0.5 - tau11_conditional ** 0.5) / tau11_unconditional ** 0.5",
         "compares standard deviations"),
        ("q6", "share_tau11_explained = (tau11_unconditional - tau11_conditional) / tau11_conditional", "divides by the conditional"),
        ("q6", "share_tau11_explained = float(1 - conditional.G['child'].iloc[0, 0] / unconditional.G['child'].iloc[0, 0])",
         "intercept variance tau00"),
        ("q6", "share_tau11_explained = float(1 - conditional.sigma2 / unconditional.sigma2)", "residual variance"),
    ],
}


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


_SOLVED: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def _remembered_fits():
    """Within this module, mlmlab.fit remembers its results (as the grader's test runs do): every wrong
    answer's check refits the same reference models, and a fit is a deterministic function of its inputs."""
    import mlmlab
    from mlmlab_grading import memo

    real = mlmlab.fit
    memo.install()
    yield
    mlmlab.fit = real


def _solved(stem: str) -> dict:
    """Namespace after running the master's code cells (set-up and solutions, not its tests)."""
    if stem not in _SOLVED:
        nb = nbformat.read(REPO / "solutions" / f"{stem}.ipynb", as_version=4)
        ns: dict = {"__name__": "__main__"}
        for cell in nb.cells:
            src = _source(cell)
            if cell.cell_type != "code" or src.lstrip().startswith('""" # BEGIN TEST CONFIG'):
                continue
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                exec(compile(src, f"<{stem}>", "exec"), ns)
        _SOLVED[stem] = ns
    return _SOLVED[stem]


def _public_check(stem: str, question: str, env: dict):
    """The question's public tests, run as grader.check runs them (from the student notebook's metadata)."""
    from otter.test_files import ExceptionTestFile

    student = nbformat.read(REPO / "exercises" / f"{stem}.ipynb", as_version=4)
    test_file = ExceptionTestFile.from_metadata(student.metadata["otter"]["tests"][question], question)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        test_file.run(env)
    return test_file


def _shown_values(value) -> set[str]:
    """How a right numeric answer could appear in a message (a few roundings)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or float(value).is_integer():
        return set()
    v = float(value)
    return {f"{v:.3g}", f"{v:.4g}", f"{v:.2f}", f"{v:.3f}"} - {"0.00", "0.000", "-0.00", "-0.000"}


CASES = [pytest.param(stem, q, wrong, hint, id=f"{stem[:2]}-{q}-{i}")
         for stem, rows in MISTAKES.items() for i, (q, wrong, hint) in enumerate(rows)]


@pytest.mark.parametrize("stem", sorted(MISTAKES))
def test_the_worked_solution_passes_every_public_check(stem):
    ns = _solved(stem)
    student = nbformat.read(REPO / "exercises" / f"{stem}.ipynb", as_version=4)
    for question in student.metadata["otter"]["tests"]:
        result = _public_check(stem, question, dict(ns))
        assert result.passed_all, result.summary()


@pytest.mark.parametrize("stem", sorted(MISTAKES))
def test_every_question_has_a_known_mistake(stem):
    student = nbformat.read(REPO / "exercises" / f"{stem}.ipynb", as_version=4)
    covered = {q for q, _, _ in MISTAKES[stem]}
    assert set(student.metadata["otter"]["tests"]) <= covered


@pytest.mark.parametrize("stem, question, wrong, hint", CASES)
def test_a_common_mistake_fails_with_its_hint(stem, question, wrong, hint):
    env = dict(_solved(stem))
    right = dict(env)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        exec(compile(wrong, f"<wrong answer {stem} {question}>", "exec"), env)
    changed = [k for k in env if k in right and env[k] is not right[k] and not k.startswith("_")]
    assert changed, f"the wrong answer {wrong!r} changes no variable"
    result = _public_check(stem, question, env)
    assert not result.passed_all, f"{stem} {question}: the public check passes {wrong!r}"
    shown = result.summary()
    assert hint in shown, f"{stem} {question}: {wrong!r} should fail with a hint containing {hint!r}; got:\n{shown}"
    # the feedback never shows the right value of an answer the tests read
    names = {n for tc in result.test_cases for n in tc.body._get_func_params()}
    for name in names:
        for text in _shown_values(right.get(name)):
            assert not re.search(rf"(?<![\d.]){re.escape(text)}(?!\d)", shown), \
                f"{stem} {question}: the feedback for {wrong!r} shows the right value of {name} ({text}):\n{shown}"

