"""Command line of the grader: ``python -m mlmlab_grading --assignment 03 --submissions DIR --out DIR2``.

Exit codes: 0 every submission was graded; 1 some could not be graded (listed);
2 grading did not start (bad option, no submissions, unusable output folder, no
sandbox, a master whose solution does not earn full marks), with one line saying
what is wrong and what to do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlmlab_grading.core import NOT_GRADED, STATUSES, GradingError, run

__all__ = ["main"]

PROG = "python -m mlmlab_grading"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise GradingError(f"{message} (see {PROG} --help)")


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Grade a folder of submitted exercise notebooks.")
    p.add_argument("--assignment", required=True, help="assignment number (03) or master stem (03_icc)")
    p.add_argument("--submissions", required=True, help="folder of submitted .ipynb files")
    p.add_argument("--out", required=True, help="output folder for gradebook.csv and feedback/ "
                                                "(an existing gradebook is merged and backed up)")
    p.add_argument("--masters", default=None, help="folder of master notebooks (default: ./solutions)")
    p.add_argument("--time-limit", type=_positive(float), default=600, help="seconds per submission (default 600)")
    p.add_argument("--cell-timeout", type=_positive(float), default=120, help="seconds per cell (default 120)")
    p.add_argument("--max-output", type=_positive(int), default=10_000_000,
                   help="bytes of output per cell (default 1e7)")
    p.add_argument("--memory-limit", type=_positive(int), default=4096, help="MB of memory per kernel (default 4096)")
    p.add_argument("--workers", type=_positive(int), default=None, help="parallel submissions (default: cores)")
    p.add_argument("--lms", choices=["canvas", "moodle"], default=None,
                   help="also write OUT/canvas.csv or OUT/moodle.csv for the LMS's grade import")
    p.add_argument("--roster", default=None, help="with --lms: CSV with a 'student' column and the LMS's "
                                                  "account columns")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code WITHOUT bubblewrap, as you, with your files and network "
                        "(only for submissions you trust)")
    return p


def _export_written(args, report) -> None:
    """The written questions' answers for marking by hand (mlmlab_grading.written), if there are any."""
    import nbformat

    from mlmlab_grading import assign, written

    try:
        masters = Path(args.masters) if args.masters else assign.default_masters_dir()
        master = assign.find_master(args.assignment, masters)
        if not assign.written_questions(nbformat.read(master, as_version=4)):
            return
        build = assign.build(master)
        _, notes = written.export(build, Path(args.submissions), Path(args.out))
        report.notes += [written.summary(build, Path(args.out))] + [f"written answers: {n}" for n in notes]
    except Exception as exc:  # the scores are written already; say what is missing
        report.notes.append(f"written answers NOT exported: {exc}")


def main(argv=None) -> int:
    """Run the command; returns the exit code (0 all graded, 1 some not graded, 2 not started)."""
    try:
        args = _parser().parse_args(argv)
        if args.roster and not args.lms:
            raise GradingError("--roster goes with --lms canvas or --lms moodle.")
        if args.roster and not Path(args.roster).is_file():
            raise GradingError(f"--roster {args.roster} does not exist; pass the roster CSV exported from the LMS.")
        report = run(args.assignment, args.submissions, args.out, masters=args.masters,
                     time_limit=args.time_limit, cell_timeout=args.cell_timeout, max_output=args.max_output,
                     memory_limit=args.memory_limit, workers=args.workers, sandbox=not args.no_sandbox)
    except GradingError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    book = report.graded
    _export_written(args, report)
    if args.lms:
        from mlmlab_grading.export import ExportError, lms_csv

        try:
            table, notes = lms_csv(report.book, args.lms, args.roster)
            table.to_csv(Path(args.out) / f"{args.lms}.csv", index=False, lineterminator="\n")
            report.notes += [f"{args.lms}.csv written ({len(table)} row(s))"] + notes
        except ExportError as exc:
            report.notes.append(f"{args.lms}.csv NOT written: {exc}")
    counts = book["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("ok", "error", "timeout"))
    name = book["assignment"].iloc[0]
    print(f"Sandbox: {report.sandbox}")
    print(f"Graded {len(book)} submission(s) for {name}: {summary}. "
          f"Gradebook ({len(report.book)} row(s)): {Path(args.out) / 'gradebook.csv'}")
    for entry in report.ignored:
        print(f"  ignored (editor backup or hidden file): {entry}")
    for entry, why in report.skipped:
        print(f"  SKIPPED {entry}: {why}")
    for note in report.notes:
        print(f"  note: {note}")
    bad = book[book["status"].isin(NOT_GRADED)]
    for r in bad.itertuples():
        print(f"  NOT GRADED {r.student}: {r.status}", file=sys.stderr)
    if len(bad):
        print(f"{len(bad)} submission(s) could not be graded; see above and their feedback files.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
