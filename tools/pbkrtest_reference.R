#!/usr/bin/env Rscript
# Frozen pbkrtest reference distributions (parametric bootstrap LRT, PBmodcomp): writes
# tests/reference/pbkrtest.json for tests/test_bootstrap_lrt.py. The tests never need R.
#
# Run from the repository root:  Rscript tools/pbkrtest_reference.R      (about a minute)
# Needs R with lme4, pbkrtest and jsonlite. Data: the CSV files shipped in mlmlab/datasets/data/.

suppressPackageStartupMessages({
  library(lme4)
  library(pbkrtest)
  library(jsonlite)
})

d <- utils::read.csv(file.path("mlmlab", "datasets", "data", "sleepstudy.csv"),
                     colClasses = c(Subject = "character"), stringsAsFactors = FALSE)
d$Subject <- factor(d$Subject)

# id -> small model, large model (both fitted by ML, as PBmodcomp does)
pairs <- list(
  sleepstudy_slope_variance = c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
  sleepstudy_days_effect    = c("Reaction ~ 1 + (Days | Subject)", "Reaction ~ Days + (Days | Subject)")
)

out <- list()
for (id in names(pairs)) {
  small <- lmer(as.formula(pairs[[id]][1]), data = d, REML = FALSE)
  large <- lmer(as.formula(pairs[[id]][2]), data = d, REML = FALSE)
  set.seed(20261204)
  pb <- suppressWarnings(PBmodcomp(large, small, nsim = 1000))
  ref <- as.numeric(pb$ref)
  out[[id]] <- list(small = pairs[[id]][1], large = pairs[[id]][2], reml = FALSE,
                    lr = unname(pb$LRTstat[["tobs"]]), df = unname(pb$LRTstat[["df"]]),
                    p_chisq = unname(pb$test$p.value[1]), p_boot = unname(pb$test$p.value[2]),
                    nsim = length(ref), ref = I(sort(ref)))
  cat(sprintf("%-28s LR %.4f  p_PB %.4f  mean(ref) %.4f\n", id, out[[id]]$lr, out[[id]]$p_boot, mean(ref)))
}

result <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
              pbkrtest = as.character(packageVersion("pbkrtest")), generated_by = "tools/pbkrtest_reference.R",
              notes = "PBmodcomp(large, small, nsim = 1000) after set.seed(20261204); ref = the simulated LR statistics"),
  pairs = out
)
path <- file.path("tests", "reference", "pbkrtest.json")
writeLines(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), path, useBytes = TRUE)
cat("wrote", path, "\n")
