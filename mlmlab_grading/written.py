"""Written answers for marking by hand: one page per written question with every student's answer.

A written question in a master is an otter manual question (``manual: true`` and ``points:`` in its
``# BEGIN QUESTION`` cell, a markdown prompt, the model answer in markdown between ``# BEGIN SOLUTION`` and
``# END SOLUTION``). Tests cannot mark it, so the grader leaves its points out of the score and this export
collects the answers::

    python -m mlmlab_grading.written --assignment 10 --submissions submitted --out graded

writes, in ``graded/written/``,

* ``q6.html`` (one per written question): the question, the model answer and its points, then every
  student's answer (as the student formatted it; any HTML in it is shown as text, never run), with an
  anchor per student;
* ``marks.csv``: one row per student and written question (``student, assignment, question, max_points,
  answered, points, status``) with ``points`` empty and ``status`` ``pending``, to fill in.

``python -m mlmlab_grading`` (the grading command) runs this export too when the assignment has written
questions. The submitted files are only read (no notebook runs), so no sandbox is needed.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import pandas as pd

from mlmlab_grading import assign as _assign
from mlmlab_grading import core as _core

PROG = "python -m mlmlab_grading.written"
COLUMNS = ["student", "assignment", "question", "max_points", "answered", "points", "status"]


def _render(markdown_text: str) -> str:
    """Markdown as HTML, with any HTML in the text escaped (a student's answer is never run)."""
    import mistune

    return mistune.create_markdown(escape=True)(markdown_text)


def collect_answers(build: _assign.Build, submissions: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Each student's written answers, and notes on the submissions that were left out.

    Parameters
    ----------
    build : Build
        The assignment, built from its master.
    submissions : Path
        The folder of submitted notebooks (laid out as for grading).

    Returns
    -------
    answers : dict
        student -> {question: answer text ("" when not answered)}.
    notes : list of str
    """
    subs, skipped, _ = _core.collect(Path(submissions))
    answers, notes = {}, [f"{entry}: {why}" for entry, why in skipped]
    for sub in subs:
        nb = _core._read_notebook(sub.path.read_bytes())
        if nb is None:
            notes.append(f"{sub.student}: not a readable notebook, no written answers")
            continue
        other = _core.assignment_of(nb)
        if other is not None and other != build.name:
            notes.append(f"{sub.student}: a notebook of {other}, not {build.name}")
            continue
        answers[sub.student] = _assign.written_answers(build, nb)
    return answers, notes


def page(build: _assign.Build, question: str, answers: dict[str, dict[str, str]]) -> str:
    """The marking page of one written question: prompt, model answer, every student's answer."""
    w = build.manual[question]
    esc = html.escape
    rows = []
    for student in sorted(answers):
        text = answers[student].get(question, "")
        body = _render(text) if text.strip() else "<p><em>(no answer)</em></p>"
        rows.append(f'<section id="{esc(student)}"><h3>{esc(student)}</h3>\n{body}</section>')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(build.name)} {esc(question)}: written answers</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;line-height:1.45}"
        "section{border-top:1px solid #ccc;padding:.3em 0}.model{background:#f3f7f0;padding:.2em 1em}</style>",
        "</head><body>",
        f"<h1>{esc(build.name)} · {esc(question)} ({w.points:g} points, marked by hand)</h1>",
        f"<h2>Question</h2>\n{_render(w.prompt)}",
        f'<h2>Model answer</h2>\n<div class="model">{_render(w.model_answer)}</div>',
        f"<h2>Answers ({len(answers)} students)</h2>",
        *rows,
        "</body></html>", "",
    ])


def export(build: _assign.Build, submissions: Path, out: Path) -> tuple[list[Path], list[str]]:
    """Write ``out/written/<question>.html`` and ``out/written/marks.csv``; return the files and notes.

    Parameters
    ----------
    build : Build
    submissions : Path
    out : Path
        The grading output folder.

    Returns
    -------
    files : list of Path
    notes : list of str
    """
    if not build.manual:
        return [], []
    answers, notes = collect_answers(build, submissions)
    folder = Path(out) / "written"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for q in build.manual:
        path = folder / f"{q}.html"
        path.write_text(page(build, q, answers), encoding="utf-8")
        files.append(path)
    marks = pd.DataFrame(
        [{"student": s, "assignment": build.name, "question": q, "max_points": w.points,
          "answered": bool(answers[s].get(q, "").strip()), "points": None, "status": "pending"}
         for s in sorted(answers) for q, w in build.manual.items()], columns=COLUMNS)
    marks.to_csv(folder / "marks.csv", index=False, lineterminator="\n")
    files.append(folder / "marks.csv")
    return files, notes


def summary(build: _assign.Build, out: Path) -> str:
    """One line for the grading command's output."""
    names = ", ".join(f"{q} ({w.points:g})" for q, w in build.manual.items())
    return (f"written questions {names}: {build.manual_points:g} point(s) per student pending, marked by hand "
            f"(not in the gradebook's score); answers in {Path(out) / 'written'}/, marks to "
            f"{Path(out) / 'written' / 'marks.csv'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--assignment", required=True, help="number (10) or master stem (10_diagnostics_...)")
    p.add_argument("--submissions", required=True, help="folder of submitted notebooks")
    p.add_argument("--out", required=True, help="output folder (the grading command's --out)")
    p.add_argument("--masters", default=None, help="folder of masters (default: ./solutions)")
    args = p.parse_args(argv)
    try:
        masters = Path(args.masters) if args.masters else _assign.default_masters_dir()
        build = _assign.build(_assign.find_master(args.assignment, masters))
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if not Path(args.submissions).is_dir():
        print(f"{PROG}: error: --submissions {args.submissions} is not a folder", file=sys.stderr)
        return 2
    if not build.manual:
        print(f"{build.name} has no written questions; nothing to export.")
        return 0
    files, notes = export(build, Path(args.submissions), Path(args.out))
    print(summary(build, Path(args.out)))
    for f in files:
        print(f"  wrote {f}")
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
