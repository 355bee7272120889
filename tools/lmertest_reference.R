#!/usr/bin/env Rscript
# Frozen lmerTest reference numbers (Satterthwaite df, t and p of fixed effects): writes
# tests/reference/lmertest.json for tests/test_satterthwaite.py. The tests never need R.
#
# Run from the repository root:  Rscript tools/lmertest_reference.R
# Needs R with lme4, lmerTest and jsonlite. The data are the CSV files shipped in mlmlab/datasets/data/, with
# factor levels from datasets.json, read as tools/lme4_reference.R reads them, so R and Python see the same data.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

source(file.path("tools", "reference_data.R"))  # load_csv(name): the shipped CSV files, factor levels as in Python

# id -> dataset, formula, REML (TRUE) or ML (FALSE) fits
specs <- list(
  sleepstudy_rs   = list("sleepstudy", "Reaction ~ Days + (Days | Subject)", c(TRUE, FALSE)),
  sleepstudy_ri   = list("sleepstudy", "Reaction ~ Days + (1 | Subject)", TRUE),
  dyestuff        = list("dyestuff", "Yield ~ 1 + (1 | Batch)", TRUE),
  dyestuff2       = list("dyestuff2", "Yield ~ 1 + (1 | Batch)", TRUE),  # singular: tau00 = 0
  hsb_sector      = list("hsb", "MathAch ~ Sector + cses + (1 | School)", TRUE),
  hsb_full        = list("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (cses | School)", c(TRUE, FALSE)),
  penicillin      = list("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", TRUE),
  pastes          = list("pastes", "strength ~ 1 + (1 | batch/cask)", TRUE),
  schools50_rs    = list("schools50", "math ~ ses + (ses | school)", TRUE)
)

out <- list()
for (id in names(specs)) {
  s <- specs[[id]]
  d <- load_csv(s[[1]])
  for (reml in s[[3]]) {
    key <- paste0(id, if (reml) "_reml" else "_ml")
    m <- suppressMessages(suppressWarnings(lmerTest::lmer(as.formula(s[[2]]), data = d, REML = reml)))
    co <- summary(m, ddf = "Satterthwaite")$coefficients
    out[[key]] <- list(
      dataset = s[[1]], formula = s[[2]], reml = reml,
      logLik = as.numeric(logLik(m)), singular = isSingular(m),
      term = I(rownames(co)), estimate = I(unname(co[, "Estimate"])), se = I(unname(co[, "Std. Error"])),
      df = I(unname(co[, "df"])), t = I(unname(co[, "t value"])), p = I(unname(co[, "Pr(>|t|)"])),
      vcov_varpar = unname(m@vcov_varpar)  # asymptotic covariance of (theta, sigma), rows of a matrix
    )
    cat(sprintf("%-22s df %s\n", key, paste(sprintf("%.4f", co[, "df"]), collapse = " ")))
  }
}

# A contrast: the mean reaction time at day 5 (intercept + 5 x slope), lmerTest's contest1D.
m <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), data = load_csv("sleepstudy"))
ct <- contest1D(m, c(1, 5))
out$sleepstudy_rs_reml$contrast_day5 <- list(weights = I(c(1, 5)), estimate = ct$Estimate, se = ct$`Std. Error`,
                                             df = ct$df, t = ct$`t value`, p = ct$`Pr(>|t|)`)

result <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
              lmerTest = as.character(packageVersion("lmerTest")), generated_by = "tools/lmertest_reference.R",
              notes = paste("summary(lmerTest::lmer(...), ddf = 'Satterthwaite')$coefficients, rows in R's column",
                            "order; vcov_varpar = m@vcov_varpar, lmerTest's covariance of (theta, sigma)")),
  models = out
)
path <- file.path("tests", "reference", "lmertest.json")
writeLines(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), path, useBytes = TRUE)
cat("wrote", path, "\n")
