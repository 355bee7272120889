#!/usr/bin/env Rscript
# Frozen lme4 reference numbers for mlmlab's tests: writes tests/reference/lme4.json.
#
# Run from the repository root:  Rscript tools/lme4_reference.R
# Needs R with lme4, lmerTest (version recorded only) and jsonlite. The tests never need R.
#
# The data are read from the CSV files shipped in mlmlab/datasets/data/ (not R's own copies), with
# factor levels taken from mlmlab/datasets/data/datasets.json, so R and Python see identical data.
# The section lesson_models (fits the lessons and assignments make) also uses the data sets the notebooks
# simulate: run `.venv/bin/python tools/export_lesson_data.py` first, which writes them (and their factor
# levels, lesson_data.json) to tests/reference/data/.
#
# Reproducibility: with lme4 1.1.31 the fits with crossed random effects (penicillin, pastes with
# (1 | batch) + (1 | cask), the lesson 07 ratings) come out differently from one run to the next in about
# the tenth significant digit. Everything else is identical from run to run. Far below any test tolerance.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

source(file.path("tools", "reference_data.R"))  # load_csv(name): the shipped CSV files, factor levels as in Python

datasets <- list()
for (name in c("hsb", "sleepstudy", "dyestuff", "dyestuff2", "penicillin", "pastes", "schools50")) {
  datasets[[name]] <- load_csv(name)
}

# id -> dataset, formula, which fits (REML and/or ML)
specs <- list(
  hsb_null   = list("hsb", "MathAch ~ 1 + (1 | School)", c(TRUE, FALSE)),
  hsb_means  = list("hsb", "MathAch ~ MEANSES + (1 | School)", c(TRUE, FALSE)),
  hsb_ri     = list("hsb", "MathAch ~ cses + (1 | School)", c(TRUE, FALSE)),
  hsb_rs     = list("hsb", "MathAch ~ cses + (cses | School)", c(TRUE, FALSE)),
  hsb_full   = list("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (cses | School)", c(TRUE, FALSE)),
  sleepstudy_rs     = list("sleepstudy", "Reaction ~ Days + (Days | Subject)", c(TRUE, FALSE)),
  sleepstudy_uncorr = list("sleepstudy", "Reaction ~ Days + (Days || Subject)", TRUE),
  sleepstudy_ri     = list("sleepstudy", "Reaction ~ Days + (1 | Subject)", c(TRUE, FALSE)),
  dyestuff   = list("dyestuff", "Yield ~ 1 + (1 | Batch)", c(TRUE, FALSE)),
  dyestuff2  = list("dyestuff2", "Yield ~ 1 + (1 | Batch)", TRUE),
  penicillin = list("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", c(TRUE, FALSE)),
  pastes     = list("pastes", "strength ~ 1 + (1 | batch/cask)", c(TRUE, FALSE)),
  schools50_null = list("schools50", "math ~ 1 + (1 | school)", c(TRUE, FALSE)),
  schools50_ri   = list("schools50", "math ~ ses + (1 | school)", c(TRUE, FALSE)),
  schools50_rs   = list("schools50", "math ~ ses + (ses | school)", c(TRUE, FALSE))
)

na_null <- function(x) if (is.na(x)) NULL else x

describe <- function(m, dataset, formula) {
  ll <- logLik(m)
  fe <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  fixed <- lapply(seq_along(fe), function(i) list(estimate = unname(fe[i]), se = unname(se[i])))
  names(fixed) <- names(fe)
  vc <- as.data.frame(VarCorr(m))
  varcomp <- lapply(seq_len(nrow(vc)), function(i) list(
    grp = vc$grp[i], var1 = na_null(vc$var1[i]), var2 = na_null(vc$var2[i]),
    vcov = vc$vcov[i], sdcor = vc$sdcor[i]))
  re_list <- ranef(m, condVar = TRUE)
  re <- as.data.frame(re_list)
  ranef_out <- list()
  for (g in names(re_list)) {
    sub <- re[re$grpvar == g, ]
    # the first 10 levels in lme4's own order (the rows of ranef(m)[[g]], i.e. the grouping factor's levels)
    lev <- head(rownames(re_list[[g]]), 10)
    entry <- list(levels = lev)
    se_entry <- list()
    for (term in unique(as.character(sub$term))) {
      rows <- sub[sub$term == term, ]
      rows <- rows[match(lev, as.character(rows$grp)), ]
      entry[[term]] <- rows$condval
      se_entry[[term]] <- rows$condsd
    }
    entry$se <- se_entry
    ranef_out[[g]] <- entry
  }
  msgs <- c(m@optinfo$conv$lme4$messages, m@optinfo$warnings)
  list(
    dataset = dataset, formula = formula, reml = isREML(m),
    logLik = as.numeric(ll), AIC = AIC(m), BIC = BIC(m), deviance = -2 * as.numeric(ll),
    REMLcrit_or_deviance = unname(if (isREML(m)) REMLcrit(m) else deviance(m)),
    npar = as.integer(attr(ll, "df")), nobs = nobs(m),
    ngroups = as.list(ngrps(m)),
    sigma = sigma(m),
    fixed = fixed, varcomp = varcomp, singular = isSingular(m),
    theta = unname(getME(m, "theta")),
    optimizer = m@optinfo$optimizer,
    messages = I(as.character(unlist(msgs))),
    ranef = ranef_out
  )
}

## Models of the design checks (tests/test_design_defects.py) ---------------------------------------
## Formulas written as in R whose Python reading used to differ (I(x^2), scale(x)) and predictors of large
## magnitude. Columns in `derive` are computed from the shipped data (Python computes the same doubles).
## `Rscript tools/lme4_reference.R --only design_models` recomputes just this section and writes it into the
## existing tests/reference/lme4.json, leaving every other entry as it is.
design_specs <- list(
  sleepstudy_quadratic = list("sleepstudy", "Reaction ~ Days + I(Days^2) + (1 | Subject)", TRUE),
  sleepstudy_scale     = list("sleepstudy", "Reaction ~ scale(Days) + (1 | Subject)", TRUE),
  sleepstudy_days_1e14 = list("sleepstudy", "Reaction ~ Days_1e14 + (1 | Subject)", TRUE,
                              c(Days_1e14 = "Days * 1e14")),
  sleepstudy_days_ns   = list("sleepstudy", "Reaction ~ t_ns + (1 | Subject)", TRUE,
                              c(t_ns = "1704067200e9 + Days * 86400e9")),
  # an uncorrelated random slope on a covariate with SD about 10 whose variance is zero at the optimum
  lesson06_tutorial_sim_x10_uncorr = list("lesson06_tutorial_sim", "Y ~ X10 + (X10 || school)", TRUE,
                                          c(X10 = "X * 10"))
)

# The data sets a notebook simulates (tests/reference/data/, see lesson_models below), read the same way.
design_data <- function(name) {
  if (!is.null(datasets[[name]])) return(datasets[[name]])
  info <- jsonlite::fromJSON(file.path("tests", "reference", "data", "lesson_data.json"), simplifyVector = TRUE)[[name]]
  classes <- setNames(rep("character", length(info$factors)), names(info$factors))
  d <- utils::read.csv(file.path("tests", "reference", "data", info$file), colClasses = classes,
                       stringsAsFactors = FALSE)
  for (col in names(info$factors)) d[[col]] <- factor(d[[col]], levels = info$factors[[col]])
  d
}

design_section <- function() {
  out <- list()
  for (id in names(design_specs)) {
    s <- design_specs[[id]]
    derive <- if (length(s) >= 4) s[[4]] else character(0)
    d <- design_data(s[[1]])
    for (col in names(derive)) d[[col]] <- eval(parse(text = derive[[col]]), d)
    for (reml in s[[3]]) {
      key <- paste0(id, if (reml) "_reml" else "_ml")
      m <- lmer(as.formula(s[[2]]), data = d, REML = reml)
      entry <- describe(m, s[[1]], s[[2]])
      derived <- if (length(derive)) as.list(derive) else setNames(list(), character(0))  # {} in the JSON
      out[[key]] <- append(entry, list(derive = derived), after = 3)
      cat(sprintf("%-36s logLik %12.4f  singular %s\n", key, as.numeric(logLik(m)), isSingular(m)))
    }
  }
  out
}

write_reference <- function(out, path) {
  writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
             path, useBytes = TRUE)
  cat("wrote", path, "\n")
}

# Splice (or replace) the design_models section, the last one, into the existing file as text: every other
# entry keeps its bytes (a read_json/toJSON round trip would re-box length-1 arrays).
if (identical(commandArgs(trailingOnly = TRUE), c("--only", "design_models"))) {
  path <- file.path("tests", "reference", "lme4.json")
  old <- readLines(path, warn = FALSE)
  start <- grep('^  "design_models": \\{', old)
  keep <- if (length(start)) old[seq_len(start - 1)] else old[-length(old)]  # drop the old section or the final "}"
  keep[length(keep)] <- sub(",?$", ",", keep[length(keep)])
  section <- strsplit(jsonlite::toJSON(list(design_models = design_section()), auto_unbox = TRUE, digits = NA,
                                       null = "null", na = "null", pretty = TRUE), "\n")[[1]]
  writeLines(c(keep, section[-1]), path, useBytes = TRUE)
  cat("wrote the design_models section of", path, "\n")
  quit(save = "no")
}

fits <- list()
models <- list()
for (id in names(specs)) {
  s <- specs[[id]]
  for (reml in s[[3]]) {
    key <- paste0(id, if (reml) "_reml" else "_ml")
    m <- lmer(as.formula(s[[2]]), data = datasets[[s[[1]]]], REML = reml)
    fits[[key]] <- m
    models[[key]] <- describe(m, s[[1]], s[[2]])
    cat(sprintf("%-24s logLik %12.4f  singular %s\n", key, as.numeric(logLik(m)), isSingular(m)))
  }
}

mixture_p <- function(lr, df) {
  0.5 * pchisq(lr, df - 1, lower.tail = FALSE) + 0.5 * pchisq(lr, df, lower.tail = FALSE)
}

anova_entry <- function(a, ids, refit, note, boundary_df = NULL) {
  tab <- as.data.frame(a)
  out <- list(
    models = ids, refit = refit,
    table = lapply(seq_len(nrow(tab)), function(i) list(
      model = ids[i], npar = tab$npar[i], AIC = tab$AIC[i], BIC = tab$BIC[i],
      logLik = tab$logLik[i], deviance = tab$deviance[i])),
    chisq = tab$Chisq[2], df = tab$Df[2], p = tab[["Pr(>Chisq)"]][2], note = note)
  if (!is.null(boundary_df)) {
    out$p_boundary <- mixture_p(tab$Chisq[2], tab$Df[2])
    out$p_boundary_note <- sprintf("0.5*P(chisq_%d > LR) + 0.5*P(chisq_%d > LR) (Self & Liang; Stram & Lee)",
                                   tab$Df[2] - 1, tab$Df[2])
  }
  out
}

anovas <- list(
  hsb_ri_vs_rs_reml = anova_entry(
    anova(fits$hsb_ri_reml, fits$hsb_rs_reml, refit = FALSE), c("hsb_ri_reml", "hsb_rs_reml"), FALSE,
    "anova(hsb_ri_reml, hsb_rs_reml, refit = FALSE): REML fits, same fixed effects", boundary_df = TRUE),
  hsb_null_vs_means_ml = anova_entry(
    anova(fits$hsb_null_reml, fits$hsb_means_reml), c("hsb_null_ml", "hsb_means_ml"), TRUE,
    "anova(hsb_null_reml, hsb_means_reml) with lme4's default refit = TRUE: both refitted with ML"),
  sleepstudy_ri_vs_rs_reml = anova_entry(
    anova(fits$sleepstudy_ri_reml, fits$sleepstudy_rs_reml, refit = FALSE),
    c("sleepstudy_ri_reml", "sleepstudy_rs_reml"), FALSE,
    "anova(sleepstudy_ri_reml, sleepstudy_rs_reml, refit = FALSE)", boundary_df = TRUE)
)

## ICC of the HSB null model --------------------------------------------------
m0 <- fits$hsb_null_reml
vc0 <- as.data.frame(VarCorr(m0))
tau00 <- vc0$vcov[1]
sigma2 <- vc0$vcov[2]
icc <- tau00 / (tau00 + sigma2)

# Profile likelihood: theta = tau00^(1/2) / sigma and ICC = theta^2 / (1 + theta^2) is one-to-one,
# and lme4's deviance function profiles out beta and sigma. The interval is where the profiled
# REML criterion is within qchisq(0.95, 1) of its minimum.
devf <- lmer(MathAch ~ 1 + (1 | School), data = datasets$hsb, REML = TRUE, devFunOnly = TRUE)
theta_hat <- getME(m0, "theta")[[1]]
crit_min <- devf(theta_hat)
cut <- qchisq(0.95, 1)
g <- function(th) devf(th) - crit_min - cut
th_lo <- uniroot(g, c(1e-6, theta_hat), tol = 1e-12)$root
th_hi <- uniroot(g, c(theta_hat, 10 * theta_hat), tol = 1e-12)$root
to_icc <- function(th) th^2 / (1 + th^2)

# Parametric bootstrap (percentile), seeded.
set.seed(20240501)
boot <- bootMer(m0, function(m) { v <- as.data.frame(VarCorr(m))$vcov; v[1] / (v[1] + v[2]) },
                nsim = 500, type = "parametric", use.u = FALSE)
boot_ci <- unname(quantile(boot$t[, 1], c(0.025, 0.975), type = 7))

icc_out <- list(hsb_null_reml = list(icc = icc, tau00 = tau00, sigma2 = sigma2,
                                     note = "tau00/(tau00+sigma2)"))

nbar <- nobs(m0) / ngrps(m0)[["School"]]
extra <- list(
  hsb_null_reml_icc_ci = list(
    profile = list(ci_low = to_icc(th_lo), ci_high = to_icc(th_hi), level = 0.95,
                   method = paste("profile likelihood: ICC = theta^2/(1+theta^2) with theta = sd(School)/sigma;",
                                  "limits where lme4's profiled REML criterion (devFunOnly) exceeds its minimum by qchisq(0.95, 1)"),
                   theta_low = th_lo, theta_high = th_hi, theta_hat = theta_hat),
    bootstrap = list(ci_low = boot_ci[1], ci_high = boot_ci[2], level = 0.95,
                     method = "parametric bootstrap, lme4::bootMer(nsim = 500, use.u = FALSE), percentile interval (quantile type 7), set.seed(20240501) with R's default RNG",
                     nsim = 500L, mean = mean(boot$t[, 1]), sd = sd(boot$t[, 1]))
  ),
  hsb_design_effect = list(icc = icc, mean_group_size = nbar, design_effect = 1 + (nbar - 1) * icc,
                           effective_n = nobs(m0) / (1 + (nbar - 1) * icc),
                           note = "deff = 1 + (nbar - 1) * icc with nbar = 7185/160; effective n = N / deff"),
  dyestuff_batch_variance = list(reml = as.data.frame(VarCorr(fits$dyestuff_reml))$vcov[1],
                                 ml = as.data.frame(VarCorr(fits$dyestuff_ml))$vcov[1])
)

## Dyestuff: profile-likelihood intervals (lesson 05 quotes the batch SD's) ----------------------
profile_ci <- function(m) {
  ci <- suppressMessages(confint(m, method = "profile", level = 0.95, oldNames = FALSE))
  lapply(setNames(seq_len(nrow(ci)), rownames(ci)),
         function(i) list(ci_low = unname(ci[i, 1]), ci_high = unname(ci[i, 2])))
}
extra$dyestuff_profile_ci <- list(
  reml = profile_ci(fits$dyestuff_reml),
  ml = profile_ci(fits$dyestuff_ml),
  level = 0.95,
  method = paste("confint(m, method = \"profile\", oldNames = FALSE) for the REML fit (reml) and the ML fit (ml);",
                 "lme4 profiles the ML deviance for a REML fit too, so both give the same limits (to about 1e-9);",
                 "rows as lme4 names them: sd_(Intercept)|Batch is the batch SD, sigma the residual SD")
)

## Models the lessons and assignments fit that are not among `specs` ---------------------------
## Checked against mlmlab by tests/test_lme4_lessons.py. The data are either a shipped data set, with
## columns derived by the expressions in `derive` exactly as the notebook derives them, or a data set a
## notebook simulates, exported by tools/export_lesson_data.py to tests/reference/data/ (factor levels
## from lesson_data.json, as datasets.json gives them for the shipped data).
lesson_data_dir <- file.path("tests", "reference", "data")
lesson_meta <- jsonlite::fromJSON(file.path(lesson_data_dir, "lesson_data.json"), simplifyVector = TRUE)

load_lesson_csv <- function(name) {
  factors <- lesson_meta[[name]]$factors
  classes <- setNames(rep("character", length(factors)), names(factors))
  d <- utils::read.csv(file.path(lesson_data_dir, lesson_meta[[name]]$file), colClasses = classes,
                       stringsAsFactors = FALSE)
  stopifnot(nrow(d) == lesson_meta[[name]]$nrow, identical(names(d), lesson_meta[[name]]$columns))
  for (col in names(factors)) {
    d[[col]] <- factor(d[[col]], levels = factors[[col]])
    stopifnot(!anyNA(d[[col]]))
  }
  d
}
for (name in names(lesson_meta)) {
  datasets[[name]] <- load_lesson_csv(name)
}

nb <- function(n) {
  paths <- c(`01` = "notebooks/01_why_multilevel.ipynb", `03` = "notebooks/03_icc.ipynb",
             `04` = "notebooks/04_random_slopes.ipynb", `06` = "notebooks/06_model_comparison.ipynb",
             `07` = "notebooks/07_crossed_and_nested.ipynb", `09` = "notebooks/09_worked_example_schools.ipynb",
             `10` = "notebooks/10_diagnostics_prediction_reporting.ipynb", `11` = "notebooks/11_longitudinal.ipynb")
  unname(paths[n])
}
sol <- function(n) {
  paths <- c(`01` = "solutions/01_why_multilevel.ipynb", `02` = "solutions/02_random_intercepts.ipynb",
             `03` = "solutions/03_icc.ipynb", `04` = "solutions/04_random_slopes.ipynb",
             `05` = "solutions/05_estimation.ipynb", `06` = "solutions/06_model_comparison.ipynb",
             `11` = "solutions/11_longitudinal.ipynb")
  unname(paths[n])
}

# id -> dataset, formula, which fits (REML and/or ML), where it is fitted, derived columns (name = R/pandas expression)
lesson_specs <- list(
  hsb_sector_cses_ri = list("hsb", "MathAch ~ Sector + cses + (1 | School)", TRUE, nb("01")),
  hsb_ses_ri       = list("hsb", "MathAch ~ SES + (1 | School)", TRUE, c(nb("04"), sol("02"), sol("03"))),
  hsb_ses_ri_checks = list("hsb", "MathAch ~ SES + (1 | School)", FALSE, c(sol("02"), sol("03"))),
  hsb_cses_means_ri = list("hsb", "MathAch ~ cses + MEANSES + (1 | School)", TRUE, c(nb("03"), nb("04"))),
  hsb_ses_means_ri = list("hsb", "MathAch ~ SES + MEANSES + (1 | School)", TRUE, c(nb("04"), sol("04"))),
  hsb_ses_rs       = list("hsb", "MathAch ~ SES + (SES | School)", TRUE, nb("04")),
  hsb_ses_plus1_rs = list("hsb", "MathAch ~ SES_plus1 + (SES_plus1 | School)", TRUE, nb("04"),
                          c(SES_plus1 = "SES + 1")),
  hsb_means100_ri  = list("hsb", "MathAch ~ MEANSES_100 + (1 | School)", c(TRUE, FALSE), nb("06"),
                          c(MEANSES_100 = "MEANSES * 100")),
  hsb_full_ri      = list("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (1 | School)", TRUE, nb("09")),
  hsb_sesm_rs      = list("hsb", "MathAch ~ ses_m + (ses_m | School)", TRUE, nb("09"), c(ses_m = "SES - MEANSES")),
  hsb_full_sesm_rs = list("hsb", "MathAch ~ MEANSES*ses_m + Sector*ses_m + (ses_m | School)", TRUE, nb("09"),
                          c(ses_m = "SES - MEANSES")),
  pastes_crossed_labels = list("pastes", "strength ~ 1 + (1 | batch) + (1 | cask)", TRUE, nb("07")),
  pastes_unique_labels  = list("pastes", "strength ~ 1 + (1 | batch) + (1 | sample)", TRUE, nb("07")),
  sleepstudy_mid_rs = list("sleepstudy", "Reaction ~ Days_c + (Days_c | Subject)", TRUE, nb("11"),
                           c(Days_c = "Days - 4.5")),
  sleepstudy_end_rs = list("sleepstudy", "Reaction ~ Days_end + (Days_end | Subject)", TRUE, sol("11"),
                           c(Days_end = "Days - 9")),
  sleepstudy_null  = list("sleepstudy", "Reaction ~ 1 + (1 | Subject)", FALSE, sol("06")),
  sleepstudy_quad  = list("sleepstudy", "Reaction ~ Days + Days2 + (Days | Subject)", FALSE, nb("11"),
                          c(Days2 = "Days * Days")),
  sleepstudy_knot  = list("sleepstudy", "Reaction ~ Days + after + (Days | Subject)", FALSE, nb("11"),
                          c(after = "(Days - 2) * (Days > 2)")),
  lesson03_tutorial_null = list("lesson03_tutorial", "Y ~ 1 + (1 | school)", TRUE, nb("03")),
  lesson03_tutorial_ri   = list("lesson03_tutorial", "Y ~ X + (1 | school)", TRUE, nb("03")),
  lesson04_slope_sim_rs  = list("lesson04_slope_sim", "Y ~ X + (X | school)", TRUE, nb("04")),
  lesson04_slope_sim_ri  = list("lesson04_slope_sim", "Y ~ X + (1 | school)", TRUE, nb("04")),
  lesson06_tutorial_sim_ri = list("lesson06_tutorial_sim", "Y ~ X + (1 | school)", c(TRUE, FALSE), nb("06")),
  lesson06_tutorial_sim_rs = list("lesson06_tutorial_sim", "Y ~ X + (X | school)", TRUE, nb("06")),
  lesson07_ratings       = list("lesson07_ratings", "y ~ 1 + (1 | student) + (1 | rater)", TRUE, nb("07")),
  lesson07_three_level   = list("lesson07_three_level", "y ~ 1 + (1 | school/class)", TRUE, nb("07")),
  lesson07_three_level_schools = list("lesson07_three_level", "y ~ 1 + (1 | school)", TRUE, nb("07")),
  lesson10_skewed_5      = list("lesson10_skewed_5", "y ~ 1 + (1 | g)", TRUE, nb("10")),
  lesson10_skewed_100    = list("lesson10_skewed_100", "y ~ 1 + (1 | g)", TRUE, nb("10")),
  lesson11_coffee_naive  = list("lesson11_coffee", "rt ~ cups + (1 | person)", TRUE, nb("11")),
  lesson11_coffee_rewb   = list("lesson11_coffee", "rt ~ cups_within + cups_mean + (1 | person)", TRUE, nb("11")),
  lesson11_coffee_mundlak = list("lesson11_coffee", "rt ~ cups + cups_mean + (1 | person)", TRUE, nb("11")),
  lesson11_trial_means   = list("lesson11_trial", "score ~ 1 + (1 | person)", TRUE, nb("11")),
  lesson11_trial_growth  = list("lesson11_trial", "score ~ week + (week | person)", TRUE, nb("11")),
  lesson11_trial_conditional = list("lesson11_trial", "score ~ week * treated + (week | person)", TRUE, nb("11")),
  assignment01_sim_ri    = list("assignment01_sim", "y ~ x + (1 | group)", c(TRUE, FALSE), sol("01")),
  assignment05_batches   = list("assignment05_batches", "y ~ 1 + (1 | batch)", c(TRUE, FALSE), sol("05")),
  assignment11_diary_rewb  = list("assignment11_diary", "mood ~ hours_within + hours_mean + (1 | person)", TRUE, sol("11")),
  assignment11_diary_naive = list("assignment11_diary", "mood ~ hours + (1 | person)", c(TRUE, FALSE), sol("11")),
  assignment11_reading_growth = list("assignment11_reading", "score ~ wave + (wave | child)", TRUE, sol("11")),
  assignment11_reading_conditional = list("assignment11_reading", "score ~ wave * tutored + (wave | child)", TRUE, sol("11"))
)

lesson_models <- list()
for (id in names(lesson_specs)) {
  s <- lesson_specs[[id]]
  derive <- if (length(s) >= 5) s[[5]] else character(0)
  d <- datasets[[s[[1]]]]
  for (col in names(derive)) d[[col]] <- eval(parse(text = derive[[col]]), d)
  for (reml in s[[3]]) {
    key <- paste0(id, if (reml) "_reml" else "_ml")
    m <- lmer(as.formula(s[[2]]), data = d, REML = reml)
    entry <- describe(m, s[[1]], s[[2]])
    derived <- if (length(derive)) as.list(derive) else setNames(list(), character(0))  # {} in the JSON
    lesson_models[[key]] <- append(entry, list(derive = derived, used_in = I(s[[4]])), after = 3)
    cat(sprintf("%-36s logLik %12.4f  singular %s\n", key, as.numeric(logLik(m)), isSingular(m)))
  }
}

out <- list(
  meta = list(
    R = R.version.string,
    lme4 = as.character(packageVersion("lme4")),
    lmerTest = as.character(packageVersion("lmerTest")),
    Matrix = as.character(packageVersion("Matrix")),
    jsonlite = as.character(packageVersion("jsonlite")),
    generated_by = "tools/lme4_reference.R",
    data = "mlmlab/datasets/data/*.csv with factor levels from datasets.json",
    notes = paste("logLik, AIC, BIC are lme4's (REML criterion based for REML fits); deviance = -2 logLik;",
                  "REMLcrit_or_deviance is lme4's REMLcrit() for REML fits and deviance() for ML fits;",
                  "npar counts fixed effects, variance parameters and sigma;",
                  "fixed-effect se = sqrt(diag(vcov(m)));",
                  "varcomp rows as as.data.frame(VarCorr(m)) (sdcor is a correlation when var2 is set);",
                  "ranef: first 10 levels (in level order) of each grouping factor, conditional modes and condVar SDs"),
    lesson_data = paste("lesson_models: shipped data, with the columns in `derive` computed from them, or the data sets",
                        "the notebooks simulate, tests/reference/data/*.csv (tools/export_lesson_data.py);",
                        "used_in names the notebooks that fit each model")
  ),
  models = models,
  anova = anovas,
  icc = icc_out,
  extra = extra,
  lesson_models = lesson_models,
  design_models = design_section()
)

path <- file.path("tests", "reference", "lme4.json")
dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
write_reference(out, path)
