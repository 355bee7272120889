"""How long grading takes per submission: ``python -m mlmlab_grading.bench [N] [--workers W]``.

Grades N copies (default 8) of the fixture's correct submission for the fixture assignment in
``tests/fixtures`` (run from the course's root folder) and prints the wall time of the whole run,
of the master check alone, and per submission. The goal is at most 10 s per submission on 2 cores.
A measurement, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mlmlab_grading import core


def main(argv=None) -> int:
    """Run the benchmark; prints one line per measurement."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", nargs="?", type=int, default=8, help="number of submissions (default 8)")
    p.add_argument("--workers", type=int, default=2, help="parallel submissions (default 2)")
    p.add_argument("--no-sandbox", action="store_true", help="measure without bubblewrap")
    args = p.parse_args(argv)
    fixtures = Path("tests/fixtures")
    if not (fixtures / "masters").is_dir():
        print("error: run from the course's root folder (tests/fixtures/masters not found)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        subs.mkdir()
        for i in range(args.n):
            shutil.copy(fixtures / "submissions" / "correct.ipynb", subs / f"s{i:03d}.ipynb")
        one = Path(tmp) / "one"
        one.mkdir()
        shutil.copy(fixtures / "submissions" / "correct.ipynb", one / "only.ipynb")
        kw = dict(masters=fixtures / "masters", workers=args.workers, sandbox=not args.no_sandbox)
        start = time.perf_counter()
        core.run("90", one, Path(tmp) / "out1", **kw)
        single = time.perf_counter() - start  # build + master check + one submission
        start = time.perf_counter()
        report = core.run("90", subs, out, **kw)
        total = time.perf_counter() - start
    bad = int((report.graded["score"] != 5).sum())
    print(f"sandbox: {report.sandbox}")
    print(f"one submission (with build and master check): {single:.1f} s")
    print(f"{args.n} submissions, {args.workers} workers: {total:.1f} s in all (build and master check "
          f"included), {total / args.n:.1f} s per submission; {bad} wrongly scored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
