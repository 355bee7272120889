#!/usr/bin/env Rscript
# Frozen lme4 confidence intervals (Wald and parametric bootstrap percentiles, confint.merMod): writes
# tests/reference/bootmer.json for tests/test_intervals.py. The tests never need R.
#
# Run from the repository root:  Rscript tools/bootmer_reference.R      (about a minute)
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
  dyestuff_reml      = list(load_csv("dyestuff", "Batch"), "Yield ~ 1 + (1 | Batch)")
)

out <- list()
for (id in names(specs)) {
  m <- lmer(as.formula(specs[[id]][[2]]), data = specs[[id]][[1]], REML = TRUE)
  set.seed(20261204)
  boot <- suppressMessages(suppressWarnings(confint(m, method = "boot", nsim = 1000, boot.type = "perc",
                                                    oldNames = FALSE)))
  wald <- confint(m, method = "Wald", oldNames = FALSE)
  out[[id]] <- list(formula = specs[[id]][[2]], reml = TRUE, nsim = 1000,
                    parameter = I(rownames(boot)), boot_low = I(unname(boot[, 1])), boot_high = I(unname(boot[, 2])),
                    wald_low = I(unname(wald[, 1])), wald_high = I(unname(wald[, 2])))
  print(boot)
}

result <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), generated_by = "tools/bootmer_reference.R",
              notes = paste("confint(m, method = 'boot', nsim = 1000, boot.type = 'perc', oldNames = FALSE) after",
                            "set.seed(20261204); confint(m, method = 'Wald'); NA (null) where Wald gives none")),
  models = out
)
path <- file.path("tests", "reference", "bootmer.json")
writeLines(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path, useBytes = TRUE)
cat("wrote", path, "\n")
