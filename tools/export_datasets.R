#!/usr/bin/env Rscript
# Export the course's real datasets from R packages to mlmlab/datasets/data/*.csv.
#
# Run from the repository root:  Rscript tools/export_datasets.R
# Needs R with nlme and lme4 (used only to (re)produce these frozen files; the course never needs R).
#
# hsb = nlme::MathAchieve (row order kept) joined with nlme::MathAchSchool by School, plus
# cses = SES minus the exact mean of SES in that school over these 7,185 rows.
# MEANSES is taken from MathAchieve (MathAchSchool's MEANSES differs slightly; see the README).
# Numbers are written with 15 significant digits (write.csv's default), which reproduces every
# stored value of the source data exactly; no row names, factors written as their labels.

suppressPackageStartupMessages({
  library(nlme)
  library(lme4)
})

out <- file.path("mlmlab", "datasets", "data")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write_csv <- function(df, name) {
  df <- as.data.frame(df)
  for (j in seq_along(df)) {
    if (is.factor(df[[j]])) df[[j]] <- as.character(df[[j]])
  }
  path <- file.path(out, paste0(name, ".csv"))
  utils::write.csv(df, path, row.names = FALSE, quote = TRUE, na = "", fileEncoding = "UTF-8", eol = "\n")
  cat(sprintf("%-11s %5d rows  -> %s\n", name, nrow(df), path))
}

## High School and Beyond -------------------------------------------------
data("MathAchieve", package = "nlme")
data("MathAchSchool", package = "nlme")
ma <- as.data.frame(MathAchieve)
ms <- as.data.frame(MathAchSchool)
ma$School <- as.character(ma$School)
ms$School <- as.character(ms$School)
idx <- match(ma$School, ms$School)
stopifnot(!anyNA(idx))
hsb <- data.frame(
  School   = ma$School,
  Minority = as.character(ma$Minority),
  Sex      = as.character(ma$Sex),
  SES      = ma$SES,
  MathAch  = ma$MathAch,
  MEANSES  = ma$MEANSES,
  Size     = ms$Size[idx],
  Sector   = as.character(ms$Sector[idx]),
  PRACAD   = ms$PRACAD[idx],
  DISCLIM  = ms$DISCLIM[idx],
  HIMINTY  = as.character(ms$HIMINTY[idx]),
  stringsAsFactors = FALSE
)
school_mean <- ave(hsb$SES, hsb$School, FUN = mean)
hsb$cses <- hsb$SES - school_mean
stopifnot(nrow(hsb) == 7185, length(unique(hsb$School)) == 160)

# The MEANSES versions issue, reported for the README.
ms_meanses <- ms$MEANSES[idx]
cat(sprintf("max |MathAchieve MEANSES - MathAchSchool MEANSES| = %.6g\n", max(abs(hsb$MEANSES - ms_meanses))))
cat(sprintf("max |MathAchieve MEANSES - school mean of SES|     = %.6g\n", max(abs(hsb$MEANSES - school_mean))))
cat(sprintf("max |MathAchSchool MEANSES - school mean of SES|   = %.6g\n", max(abs(ms_meanses - school_mean))))
write_csv(hsb, "hsb")

## lme4's classic examples ------------------------------------------------
write_csv(lme4::sleepstudy, "sleepstudy")
write_csv(lme4::Dyestuff, "dyestuff")
write_csv(lme4::Dyestuff2, "dyestuff2")
write_csv(lme4::Penicillin, "penicillin")
write_csv(lme4::Pastes, "pastes")
