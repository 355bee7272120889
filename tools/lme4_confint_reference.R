#!/usr/bin/env Rscript
# Frozen lme4 confidence intervals (Wald, profile and parametric bootstrap percentiles: confint.merMod): writes
# tests/reference/lme4_confint.json for tests/test_intervals.py. The tests never need R.
#
# Run from the repository root:  Rscript tools/lme4_confint_reference.R      (a few minutes: HSB's bootstrap)
# Needs R with lme4 and jsonlite. Data: the CSV files shipped in mlmlab/datasets/data/.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

load_csv <- function(name, factors) {
  classes <- setNames(rep("character", length(factors)), factors)
  d <- utils::read.csv(file.path("mlmlab", "datasets", "data", paste0(name, ".csv")), colClasses = classes,
                       stringsAsFactors = FALSE)
  for (col in factors) d[[col]] <- factor(d[[col]])
  d
}

specs <- list(
  sleepstudy_rs_reml = list(load_csv("sleepstudy", "Subject"), "Reaction ~ Days + (Days | Subject)"),
  dyestuff_reml      = list(load_csv("dyestuff", "Batch"), "Yield ~ 1 + (1 | Batch)"),
  penicillin_reml    = list(load_csv("penicillin", c("plate", "sample")), "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  pastes_reml        = list(load_csv("pastes", c("batch", "cask", "sample")), "strength ~ 1 + (1 | batch/cask)"),
  hsb_rs_reml        = list(load_csv("hsb", c("School", "Minority", "Sex", "Sector", "HIMINTY")),
                            "MathAch ~ cses + (cses | School)")
)

out <- list()
for (id in names(specs)) {
  m <- lmer(as.formula(specs[[id]][[2]]), data = specs[[id]][[1]], REML = TRUE)
  set.seed(20261204)
  boot <- suppressMessages(suppressWarnings(confint(m, method = "boot", nsim = 1000, boot.type = "perc",
                                                    oldNames = FALSE)))
  wald <- confint(m, method = "Wald", oldNames = FALSE)
  prof <- suppressMessages(suppressWarnings(confint(m, method = "profile", oldNames = FALSE)))
  out[[id]] <- list(formula = specs[[id]][[2]], reml = TRUE, nsim = 1000,
                    parameter = I(rownames(boot)), boot_low = I(unname(boot[, 1])), boot_high = I(unname(boot[, 2])),
                    wald_low = I(unname(wald[, 1])), wald_high = I(unname(wald[, 2])),
                    profile_low = I(unname(prof[, 1])), profile_high = I(unname(prof[, 2])))
  print(prof)
  print(boot)
}

result <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), generated_by = "tools/lme4_confint_reference.R",
              notes = paste("confint(m, method = 'boot', nsim = 1000, boot.type = 'perc', oldNames = FALSE) after",
                            "set.seed(20261204); confint(m, method = 'Wald'); NA (null) where Wald gives none;",
                            "confint(m, method = 'profile') (lme4 profiles the ML refit)")),
  models = out
)
path <- file.path("tests", "reference", "lme4_confint.json")
writeLines(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path, useBytes = TRUE)
cat("wrote", path, "\n")
