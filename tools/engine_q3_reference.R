#!/usr/bin/env Rscript
# Frozen lme4 reference for mlmlab.engine with three random effects per group: writes tests/reference/engine_q3.json.
#
# Run from the repository root:  Rscript tools/engine_q3_reference.R
# Needs R with lme4, nlme and jsonlite (Debian: apt-get install r-base-core r-cran-lme4 r-cran-nlme r-cran-jsonlite).
# The tests never need R: the JSON holds the data too.
#
# Data: nlme's Oxboys (heights of 26 boys measured on 9 occasions, Goldstein 1987; age is centred and
# scaled to [-1, 1]). Model: height ~ age + I(age^2) + (age + I(age^2) | Subject), a correlated 3 x 3 G, fitted
# by REML and by ML with lme4's defaults. Subject labels are written as integers (their character form);
# rows in nlme's order.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

data(Oxboys, package = "nlme")
d <- data.frame(Subject = as.integer(as.character(Oxboys$Subject)), age = Oxboys$age,
                height = Oxboys$height, Occasion = as.integer(as.character(Oxboys$Occasion)))
d$Subject_f <- factor(d$Subject)

fit_one <- function(reml) {
  m <- lmer(height ~ age + I(age^2) + (age + I(age^2) | Subject_f), data = d, REML = reml)
  fe <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(
    reml = reml,
    logLik = as.numeric(logLik(m)),
    theta = unname(getME(m, "theta")),
    sigma = sigma(m),
    fixed = setNames(lapply(rownames(fe), function(t) list(estimate = fe[t, "Estimate"], se = fe[t, "Std. Error"])),
                     rownames(fe)),
    varcomp = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], var1 = vc$var1[i],
                                                        var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
                                                        vcov = vc$vcov[i])),
    singular = isSingular(m),
    optimizer_messages = m@optinfo$conv$lme4$messages,
    nobs = nobs(m)
  )
}

out <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
              nlme = as.character(packageVersion("nlme")), Matrix = as.character(packageVersion("Matrix")),
              jsonlite = as.character(packageVersion("jsonlite")), generated_by = "tools/engine_q3_reference.R",
              data = "nlme::Oxboys (Goldstein 1987, Multilevel Models in Educational and Social Research), all 234 rows in nlme's order",
              model = "height ~ age + I(age^2) + (age + I(age^2) | Subject)",
              notes = "theta in lme4's order (lower triangle of the relative Cholesky factor, column by column); varcomp rows as as.data.frame(VarCorr(m)), vcov a variance or covariance"),
  data = list(Subject = d$Subject, age = d$age, height = d$height, Occasion = d$Occasion),
  fits = list(reml = fit_one(TRUE), ml = fit_one(FALSE))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           file.path("tests", "reference", "engine_q3.json"))
