"""Benchmark: small-sample inference on the HSB random-slope model, against the course's speed goals.

Times, on ``MathAch ~ cses + (cses | School)`` (7,185 pupils in 160 schools), one run each of

* Satterthwaite df, t and p for the fixed effects (goal: at most 1 s);
* Kenward–Roger adjusted SEs and df;
* profile-likelihood intervals for every parameter, ``mlmlab.confint(m, method="profile")`` (goal: 10 s);
* 1,000 parametric-bootstrap replicates of the LRT of the random slope against the random-intercept model,
  ``mlmlab.bootstrap_lrt`` (goal: 10 s);

and, when ``Rscript`` with lmerTest is on the PATH, lmerTest's ``summary`` and lme4's profile ``confint`` on the
same model, for comparison. Run from the repository root:  .venv/bin/python tools/bench_inference.py

A measurement, not a test: the numbers depend on the machine and its load. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import mlmlab

GOALS = {"Satterthwaite df": 1.0, "profile intervals": 10.0, "bootstrap LRT, 1,000 replicates": 10.0}
R_SCRIPT = r"""
suppressMessages({library(lme4); library(lmerTest)})
hsb <- read.csv(commandArgs(TRUE)[1])
hsb$cses <- hsb$SES - ave(hsb$SES, hsb$School)
m <- lmer(MathAch ~ cses + (cses | School), hsb)
t0 <- proc.time()[["elapsed"]]; s <- summary(m); t1 <- proc.time()[["elapsed"]]
ci <- suppressMessages(confint(m, method = "profile", oldNames = FALSE)); t2 <- proc.time()[["elapsed"]]
cat(sprintf("%.3f %.3f\n", t1 - t0, t2 - t1))
"""


def _timed(label, func):
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    goal = GOALS.get(label)
    verdict = "" if goal is None else (f"  (goal <= {goal:g} s: {'met' if seconds <= goal else 'MISSED'})")
    print(f"{label:34s} {seconds:7.2f} s{verdict}")
    return goal is None or seconds <= goal


def _r_timings(hsb) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "hsb.csv", Path(tmp) / "bench.R"
        hsb[["School", "MathAch", "SES"]].to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        done = subprocess.run(["Rscript", str(script), str(data)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return None
    sat, prof = (float(v) for v in done.stdout.split())
    return sat, prof


def main() -> int:
    warnings.simplefilter("ignore")
    hsb = mlmlab.datasets.load("hsb")
    ri = mlmlab.fit("MathAch ~ cses + (1 | School)", hsb)
    rs = mlmlab.fit("MathAch ~ cses + (cses | School)", hsb)
    satterthwaite = importlib.import_module("mlmlab.satterthwaite").satterthwaite
    kenward_roger = importlib.import_module("mlmlab.kenward_roger").kenward_roger
    print("HSB: MathAch ~ cses + (cses | School), REML")
    ok = [
        _timed("Satterthwaite df", lambda: satterthwaite(rs)),
        _timed("Kenward-Roger SEs and df", lambda: kenward_roger(rs)),
        _timed("profile intervals", lambda: mlmlab.confint(rs, method="profile")),
        _timed("bootstrap LRT, 1,000 replicates", lambda: mlmlab.bootstrap_lrt(ri, rs, n=1000, rng=1,
                                                                                  progress=False)),
    ]
    r = _r_timings(hsb)
    if r is None:
        print("R (lmerTest) not found: no comparison with R")
    else:
        print(f"{'R: lmerTest summary (Satterthwaite)':34s} {r[0]:7.2f} s")
        print(f"{'R: lme4 confint(method = profile)':34s} {r[1]:7.2f} s")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
