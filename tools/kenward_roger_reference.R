#!/usr/bin/env Rscript
# Frozen Kenward-Roger and Type III F-test reference numbers: writes tests/reference/kenward_roger.json for
# tests/test_kenward_roger.py and tests/test_anova.py. The tests never need R.
#
# Run from the repository root:  Rscript tools/kenward_roger_reference.R      (about 20 s; pbkrtest forms
# the dense n x n inverse of V for the HSB models)
# Needs R with lme4, lmerTest, pbkrtest and jsonlite. Data: the CSV files shipped in mlmlab/datasets/data/ with
# factor levels from datasets.json (tools/reference_data.R, as tools/lmertest_reference.R reads them).
#
# Per model:
#   kr      summary(m, ddf = "Kenward-Roger")$coefficients: the adjusted SE (sqrt of pbkrtest::vcovAdj's
#           diagonal), Kenward-Roger df (pbkrtest::Lb_ddf), t and p
#   vcov_adj, vcov   pbkrtest::vcovAdj(m) and vcov(m), rows of a matrix in R's column order
#   anova_satterthwaite, anova_kr   anova(m, type = 3, ddf = ...): NumDF, DenDF, F, p per term
# lmerTest's summary and anova call pbkrtest::vcovAdj once per coefficient or term; for the HSB models this
# script calls it once and applies lmerTest's own formulas (pbkrtest::Lb_ddf for t, pbkrtest's KRmodcomp
# adjustment for F, with lmerTest's Type III hypothesis matrices). For the small models it checks that this
# gives exactly lmerTest's summary and anova.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})

source(file.path("tools", "reference_data.R"))  # load_csv(): the shipped data with their factor levels

# id -> dataset, formula (all REML fits: Kenward-Roger is defined for REML only)
specs <- list(
  dyestuff      = list("dyestuff", "Yield ~ 1 + (1 | Batch)"),
  dyestuff2     = list("dyestuff2", "Yield ~ 1 + (1 | Batch)"),               # singular: tau00 = 0
  sleepstudy_rs = list("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
  sleepstudy_ri = list("sleepstudy", "Reaction ~ Days + (1 | Subject)"),
  penicillin    = list("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  pastes        = list("pastes", "strength ~ 1 + (1 | batch/cask)"),
  pastes_cask   = list("pastes", "strength ~ cask + (1 | batch)"),         # a 3-level factor, 10 groups
  hsb_ri        = list("hsb", "MathAch ~ Sector + cses + (1 | School)"),
  hsb_rs        = list("hsb", "MathAch ~ Sector * cses + (cses | School)"),  # cross-level interaction
  hsb_full      = list("hsb", "MathAch ~ MEANSES*cses + Sector*cses + (cses | School)"),
  hsb_sex       = list("hsb", "MathAch ~ Sector * Sex + (1 | School)"),   # factor x factor
  # a 3-level factor and its interaction with a numeric variable (2 df each); tests/_small_sample.py makes phase
  sleepstudy_phase = list("sleepstudy", "Reaction ~ phase * Days + (Days | Subject)"),
  sleepstudy_phase0 = list("sleepstudy", "Reaction ~ 0 + phase * Days + (Days | Subject)")  # no intercept
)

# columns some models need beyond the shipped ones
add_phase <- function(d) {
  d$phase <- factor(ifelse(d$Days <= 2, "early", ifelse(d$Days <= 5, "middle", "late")),
                    levels = c("early", "middle", "late"))
  d
}
derive <- list(sleepstudy_phase = add_phase, sleepstudy_phase0 = add_phase)

kr_table <- function(m, PhiA, Phi) {
  beta <- fixef(m)
  rows <- lapply(seq_along(beta), function(j) {
    L <- as.numeric(seq_along(beta) == j)
    se <- sqrt(drop(t(L) %*% as.matrix(PhiA) %*% L))
    df <- pbkrtest::Lb_ddf(L = L, V0 = Phi, Vadj = PhiA)
    t <- beta[[j]] / se
    c(estimate = beta[[j]], se = se, df = df, t = t, p = 2 * pt(abs(t), df, lower.tail = FALSE))
  })
  do.call(rbind, rows)
}

kr_anova <- function(m, PhiA, hypotheses) {
  rows <- lapply(hypotheses, function(L) {
    s <- pbkrtest:::.KR_adjust(PhiA, Phi = vcov(m), L = L, beta = fixef(m), betaH = 0)
    c(NumDF = s$ndf, DenDF = s$ddf, F = s$Fstat, p = s$p.value, F_scaling = s$F.scaling)
  })
  do.call(rbind, rows)
}

frame_out <- function(tab, names) {
  c(list(term = I(names)), lapply(as.data.frame(tab), function(x) I(unname(x))))
}

out <- list()
for (id in names(specs)) {
  s <- specs[[id]]
  d <- load_csv(s[[1]])
  if (!is.null(derive[[id]])) d <- derive[[id]](d)
  t0 <- proc.time()[["elapsed"]]
  m <- suppressMessages(suppressWarnings(lmerTest::lmer(as.formula(s[[2]]), data = d, REML = TRUE)))
  Phi <- vcov(m)
  PhiA <- pbkrtest::vcovAdj(m)
  kr <- kr_table(m, PhiA, Phi)
  entry <- list(dataset = s[[1]], formula = s[[2]], reml = TRUE, term = I(names(fixef(m))),
                logLik = as.numeric(logLik(m)),
                estimate = I(unname(kr[, "estimate"])), se = I(unname(kr[, "se"])), df = I(unname(kr[, "df"])),
                t = I(unname(kr[, "t"])), p = I(unname(kr[, "p"])),
                se_unadjusted = I(unname(sqrt(diag(as.matrix(Phi))))),
                vcov_adj = unname(as.matrix(PhiA)), vcov = unname(as.matrix(Phi)))
  terms <- attr(terms(m), "term.labels")
  if (length(terms) >= 1) {
    sat <- anova(m, type = 3, ddf = "Satterthwaite")
    hyp <- attr(sat, "hypotheses")
    krt <- kr_anova(m, PhiA, hyp)
    entry$anova_satterthwaite <- frame_out(cbind(NumDF = sat$NumDF, DenDF = sat$DenDF, F = sat$`F value`,
                                                 p = sat$`Pr(>F)`), rownames(sat))
    entry$anova_kr <- frame_out(krt, names(hyp))
    entry$hypotheses <- lapply(hyp, function(L) list(columns = I(colnames(L)), rows = unname(L)))
  }
  if (nrow(d) < 1000) {  # lmerTest's own summary and anova give the same numbers
    co <- summary(m, ddf = "Kenward-Roger")$coefficients
    stopifnot(isTRUE(all.equal(unname(co[, "df"]), unname(kr[, "df"]), tolerance = 1e-10)),
              isTRUE(all.equal(unname(co[, "Std. Error"]), unname(kr[, "se"]), tolerance = 1e-10)))
    if (length(terms) >= 1) {
      a <- anova(m, type = 3, ddf = "Kenward-Roger")
      stopifnot(isTRUE(all.equal(a$DenDF, unname(krt[, "DenDF"]), tolerance = 1e-10)),
                isTRUE(all.equal(a$`F value`, unname(krt[, "F"]), tolerance = 1e-10)))
    }
    entry$checked_against_lmertest <- TRUE
  }
  out[[id]] <- entry
  cat(sprintf("%-14s KR df %s  (%.0f s)\n", id, paste(sprintf("%.4f", kr[, "df"]), collapse = " "),
              proc.time()[["elapsed"]] - t0))
}

result <- list(
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
              lmerTest = as.character(packageVersion("lmerTest")),
              pbkrtest = as.character(packageVersion("pbkrtest")), generated_by = "tools/kenward_roger_reference.R",
              notes = paste("REML fits; kr = summary(m, ddf = 'Kenward-Roger') (adjusted SE from pbkrtest::vcovAdj,",
                            "df from pbkrtest::Lb_ddf); anova_* = anova(m, type = 3, ddf = ...) with lmerTest's",
                            "Type III hypotheses; rows in R's column order")),
  models = out
)
path <- file.path("tests", "reference", "kenward_roger.json")
writeLines(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), path, useBytes = TRUE)
cat("wrote", path, "\n")
