"""Benchmark: mlmlab.fit against statsmodels' default fit on the HSB random-slope model.

The course's promise (issue "Foundation"): ``mlmlab.fit("MathAch ~ cses + (cses | School)", hsb)``
is not slower than ``smf.mixedlm(...).fit()`` with statsmodels' default optimizers, although it
runs more than one optimizer and gets the right answer (statsmodels' default stops at
log-likelihood −23457.52 without converging; the optimum is −23357.12).

Run from the repository root:  .venv/bin/python tools/bench_fit.py [--repeats 5]

The two fits alternate so that both see the same machine load; the medians are compared.
Exit status 1 when mlmlab is slower. Not part of the test suite (timings are not unit tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import statsmodels.formula.api as smf

from mlmlab import datasets, fit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    hsb = datasets.load("hsb")
    default_times, mlmlab_times = [], []
    for _ in range(args.repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            sm = smf.mixedlm("MathAch ~ cses", hsb, groups="School", re_formula="~cses").fit()
            default_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ours = fit("MathAch ~ cses + (cses | School)", hsb)
            mlmlab_times.append(time.perf_counter() - t0)
    d, m = statistics.median(default_times), statistics.median(mlmlab_times)
    print(f"statsmodels default fit(): median {d:.2f} s  llf {sm.llf:.2f}  converged={sm.converged}")
    print(f"mlmlab.fit():              median {m:.2f} s  llf {ours.llf:.2f}  converged={ours.converged}  "
          f"optimizer={ours.optimizer}")
    print("OK: mlmlab is not slower" if m <= d else "SLOWER than statsmodels' default")
    return 0 if m <= d else 1


if __name__ == "__main__":
    sys.exit(main())
