"""How long grading takes per submission: ``python -m mlmlab_grading.bench [N] [--workers W] [--assignment NN]``.

Grades N copies (default 8) of a correct submission and prints the wall time of the whole run, of the
master check alone, and per submission. By default the submission is the fixture's correct notebook for
the fixture assignment in ``tests/fixtures``; with ``--assignment NN`` it is the worked solution of the
course's assignment NN from ``solutions/`` (its real fits and tests). Run from the course's root folder.
The goals: at most 10 s per submission on 2 cores, and a class of 40 with two workers in at most 5 min.
A measurement, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from mlmlab_grading import assign, core


def main(argv=None) -> int:
    """Run the benchmark; prints one line per measurement."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", nargs="?", type=int, default=8, help="number of submissions (default 8)")
    p.add_argument("--workers", type=int, default=2, help="parallel submissions (default 2)")
    p.add_argument("--no-sandbox", action="store_true", help="measure without bubblewrap")
    p.add_argument("--assignment", help="a course assignment (e.g. 09) instead of the fixture")
    args = p.parse_args(argv)
    masters = Path("solutions") if args.assignment else Path("tests/fixtures/masters")
    if not masters.is_dir():
        print(f"error: run from the course's root folder ({masters} not found)", file=sys.stderr)
        return 2
    try:
        master = assign.find_master(args.assignment or "90", masters)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    build = assign.build(master)
    with tempfile.TemporaryDirectory() as tmp:
        solved = Path(tmp) / "solved.ipynb"
        nbformat.write(build.autograder, solved)
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        subs.mkdir()
        for i in range(args.n):
            shutil.copy(solved, subs / f"s{i:03d}.ipynb")
        one = Path(tmp) / "one"
        one.mkdir()
        shutil.copy(solved, one / "only.ipynb")
        kw = dict(masters=masters, workers=args.workers, sandbox=not args.no_sandbox)
        start = time.perf_counter()
        core.run(build.name, one, Path(tmp) / "out1", **kw)
        single = time.perf_counter() - start  # build + master check + one submission
        start = time.perf_counter()
        report = core.run(build.name, subs, out, **kw)
        total = time.perf_counter() - start
    bad = int((report.graded["score"] != build.max_score).sum())
    print(f"assignment: {build.name}")
    print(f"sandbox: {report.sandbox}")
    print(f"one submission (with build and master check): {single:.1f} s")
    print(f"{args.n} submissions, {args.workers} workers: {total:.1f} s in all (build and master check "
          f"included), {total / args.n:.1f} s per submission; {bad} wrongly scored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
