"""What the grader writes besides the gradebook: LMS upload files, class statistics, HTML feedback.

Command line (reads an existing ``OUT/gradebook.csv``; nothing is regraded)::

    python -m mlmlab_grading.export graded/ --lms canvas [--roster roster.csv]
    python -m mlmlab_grading.export graded/ --lms moodle [--roster roster.csv]

* ``OUT/canvas.csv`` / ``OUT/moodle.csv``: one row per student, ready for the LMS's grade import.
  A roster (CSV with a ``student`` column holding the ids used as file names, plus the LMS's own
  columns: Canvas ``Student, ID, SIS User ID, SIS Login ID, Section``; Moodle ``ID number`` or
  ``Email address``) maps ids to LMS accounts; students on the roster without a submission get an
  empty grade, and graded students missing from the roster are reported.
* ``OUT/class_stats.csv`` and ``OUT/class_stats.png`` (written by every grading run): per question
  the mean, median, share of full and of zero marks; the distribution of total scores.
* ``OUT/feedback/<student>.html`` (written by every grading run): the text feedback as a page.
  Like the text, it carries each failed test's message, never the test's code.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import pandas as pd

__all__ = ["lms_csv", "class_stats", "feedback_html", "main"]

_CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_MOODLE_KEYS = ["ID number", "Email address", "Username"]


class ExportError(ValueError):
    """The export cannot be written (one line: what and how to fix it)."""


def _questions(book: pd.DataFrame) -> list[str]:
    from mlmlab_grading.core import GRADEBOOK_COLUMNS, WRITTEN_PENDING

    return [c for c in book.columns if c not in GRADEBOOK_COLUMNS and c != WRITTEN_PENDING]


def _read_roster(roster) -> pd.DataFrame:
    try:
        table = pd.read_csv(roster, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ExportError(f"the roster {roster} cannot be read as CSV ({type(exc).__name__}: {exc}).") from None
    if "student" not in table.columns:
        raise ExportError(f"the roster {roster} has no 'student' column (the ids used as submission file "
                          f"names); its columns are: {', '.join(table.columns)}.")
    dupes = sorted(set(table["student"][table["student"].duplicated()]))
    if dupes:
        raise ExportError(f"the roster {roster} lists these students twice: {', '.join(dupes)}.")
    return table


def lms_csv(book: pd.DataFrame, lms: str, roster=None, column: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The grade-import table for ``lms`` and the remarks for the instructor.

    Parameters
    ----------
    book : pandas.DataFrame
        A gradebook (``gradebook.csv``).
    lms : {"canvas", "moodle"}
    roster : str or Path, optional
        CSV with a ``student`` column and the LMS's account columns.
    column : str, optional
        Name of the grade column; default the assignment name.

    Returns
    -------
    table : pandas.DataFrame
    notes : list of str
    """
    if lms not in ("canvas", "moodle"):
        raise ExportError(f"--lms must be canvas or moodle, not {lms!r}.")
    if book.empty:
        raise ExportError("the gradebook is empty: nothing to export.")
    column = column or str(book["assignment"].iloc[0])
    scores = book.set_index("student")["score"]
    notes = []
    if roster is None:
        people = pd.DataFrame({"student": list(scores.index)})
        if lms == "canvas":
            people["Student"] = people["student"]
            people["SIS Login ID"] = people["student"]
        else:
            people["ID number"] = people["student"]
        notes.append("no roster: the student ids were used as LMS ids (SIS Login ID / ID number)")
    else:
        people = _read_roster(roster)
        missing = sorted(set(scores.index) - set(people["student"]))
        if missing:
            notes.append(f"graded but not on the roster (left out): {', '.join(missing)}")
        absent = sorted(set(people["student"]) - set(scores.index))
        if absent:
            notes.append(f"on the roster without a submission (empty grade): {', '.join(absent)}")
    grades = people["student"].map(lambda s: "" if s not in scores.index else f"{float(scores[s]):g}")
    if lms == "canvas":
        if "Student" not in people.columns or not {"ID", "SIS Login ID", "SIS User ID"} & set(people.columns):
            raise ExportError("a Canvas roster needs a 'Student' column and one of 'ID', 'SIS User ID', "
                              "'SIS Login ID' (export them from Canvas's gradebook).")
        table = pd.DataFrame({c: people[c] if c in people.columns else "" for c in _CANVAS_COLUMNS})
        table[column] = grades
        possible = pd.DataFrame([{**{c: "" for c in _CANVAS_COLUMNS}, "Student": "    Points Possible",
                                  column: f"{float(book['max_score'].iloc[0]):g}"}])
        table = pd.concat([possible, table], ignore_index=True)
    else:
        keys = [k for k in _MOODLE_KEYS if k in people.columns]
        if not keys:
            raise ExportError(f"a Moodle roster needs one of the columns {', '.join(_MOODLE_KEYS)} "
                              "(to match students in Moodle's grade import).")
        table = people[keys].copy()
        table[column] = grades
    return table, notes


def class_stats(book: pd.DataFrame) -> pd.DataFrame:
    """Per question (and in total): points, mean, median, standard deviation, share full and zero.

    Rows of submissions that could not be graded (``invalid``, ``wrong_assignment``, ``failed``)
    are left out.
    """
    from mlmlab_grading.core import NOT_GRADED

    graded = book[~book["status"].isin(NOT_GRADED)]
    rows = []
    maxima = graded.attrs.get("points", {})
    for q in [*_questions(book), "score"]:
        values = pd.to_numeric(graded[q], errors="coerce").dropna()
        top = float(book["max_score"].iloc[0]) if q == "score" else float(maxima.get(q, values.max() if len(values) else 0))
        rows.append({"question": "total" if q == "score" else q, "points": top, "n": len(values),
                     "mean": round(values.mean(), 4) if len(values) else None,
                     "median": round(values.median(), 4) if len(values) else None,
                     "sd": round(values.std(ddof=1), 4) if len(values) > 1 else None,
                     "share_full": round(float((values >= top).mean()), 4) if len(values) and top else None,
                     "share_zero": round(float((values == 0).mean()), 4) if len(values) else None})
    return pd.DataFrame(rows)


def write_class_stats(book: pd.DataFrame, out: Path, points: dict[str, float]) -> list[Path]:
    """``class_stats.csv`` and ``class_stats.png`` in ``out``; returns the files written."""
    book = book.copy()
    book.attrs["points"] = points
    stats = class_stats(book)
    stats.to_csv(out / "class_stats.csv", index=False, lineterminator="\n")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from mlmlab_grading.core import NOT_GRADED

    graded = book[~book["status"].isin(NOT_GRADED)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.hist(pd.to_numeric(graded["score"], errors="coerce").dropna(), bins=20,
              range=(0, float(book["max_score"].iloc[0]) or 1), color="#4c72b0")
    left.set(xlabel="total score", ylabel="students", title=f"{book['assignment'].iloc[0]}: scores (n={len(graded)})")
    per_q = stats[stats["question"] != "total"]
    shares = [(m or 0) / p if p else 0 for m, p in zip(per_q["mean"], per_q["points"])]
    right.bar(per_q["question"], shares, color="#55a868")
    right.set(ylim=(0, 1), ylabel="mean share of points", title="per question")
    fig.tight_layout()
    fig.savefig(out / "class_stats.png", dpi=100)
    plt.close(fig)
    return [out / "class_stats.csv", out / "class_stats.png"]


def feedback_html(text: str, student: str) -> str:
    """The text feedback as a small standalone HTML page (escaped; no test code is ever in it)."""
    lines = text.rstrip("\n").split("\n")
    body = []
    for line in lines[1:]:
        cls = ""
        stripped = line.strip()
        if stripped.startswith("FAILED"):
            cls = ' class="failed"'
        elif stripped.startswith("passed"):
            cls = ' class="passed"'
        elif stripped.startswith("note:") or stripped.startswith("- "):
            cls = ' class="note"'
        body.append(f"<div{cls}>{html.escape(line) or '&nbsp;'}</div>")
    title = html.escape(lines[0] if lines else f"Feedback for {student}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
            "div{white-space:pre-wrap;font-family:monospace}.failed{color:#a00}.passed{color:#070}"
            ".note{color:#555}</style></head>\n<body>\n"
            f"<h1>{title}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


def main(argv=None) -> int:
    """Write OUT/canvas.csv or OUT/moodle.csv from OUT/gradebook.csv; exit 0, or 2 with one line."""
    p = argparse.ArgumentParser(prog="python -m mlmlab_grading.export", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the grading output folder (with gradebook.csv)")
    p.add_argument("--lms", required=True, choices=["canvas", "moodle"], help="which LMS's import format")
    p.add_argument("--roster", default=None, help="CSV with a 'student' column and the LMS's account columns")
    p.add_argument("--column", default=None, help="grade column name (default: the assignment name)")
    args = p.parse_args(argv)
    out = Path(args.out)
    try:
        if not (out / "gradebook.csv").is_file():
            raise ExportError(f"{out / 'gradebook.csv'} does not exist; grade first (make grade ... OUT={out}).")
        book = pd.read_csv(out / "gradebook.csv", dtype={"student": str}, keep_default_na=False)
        table, notes = lms_csv(book, args.lms, args.roster, args.column)
    except ExportError as exc:
        print(f"python -m mlmlab_grading.export: error: {exc}", file=sys.stderr)
        return 2
    target = out / f"{args.lms}.csv"
    table.to_csv(target, index=False, lineterminator="\n")
    print(f"Wrote {target} ({len(table)} row(s)).")
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
