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
* ``answers.json``: the answers shown on the pages, so that a later export of a few students (a regrade)
  still shows everyone's;
* ``marks.csv``: one row per student and written question (``student, assignment, question, max_points,
  answered, points, status``) with ``points`` empty and ``status`` ``pending``, to fill in.

``python -m mlmlab_grading`` (the grading command) runs this export too when the assignment has written
questions. The submitted files are only read (no notebook runs), so no sandbox is needed. Exporting again
(a regrade) keeps the points already filled in ``marks.csv`` and the rows of students not exported this time.

Once the points are filled in, merge them into the gradebook::

    python -m mlmlab_grading.written merge --out graded [--marks graded/written/marks.csv] \\
        [--lms canvas|moodle [--roster roster.csv]]

checks the whole marks file first (:func:`read_marks`; any problem raises :class:`MarksError` and nothing
is written), then rewrites ``graded/gradebook.csv`` (:func:`merge`): one column per written question with
its mark, ``score`` including them, ``max_score`` the assignment's full points, ``written_pending`` the
points still unmarked. The LMS file and the class statistics are rewritten from it. Merging the same
marks again changes nothing; a later regrade keeps the merged marks.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlmlab_grading import assign as _assign
from mlmlab_grading import core as _core

PROG = "python -m mlmlab_grading.written"
COLUMNS = ["student", "assignment", "question", "max_points", "answered", "points", "status"]
ANSWERS = "answers.json"  # every exported student's written answers, kept across regrades


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
    exported = set(answers)
    answers = _keep_answers(folder / ANSWERS, answers, build, notes)
    _core._write_text(folder / ANSWERS, json.dumps({"assignment": build.name, "answers": answers},
                                                   indent=1, sort_keys=True, ensure_ascii=False))
    files = []
    for q in build.manual:
        path = folder / f"{q}.html"
        path.write_text(page(build, q, answers), encoding="utf-8")
        files.append(path)
    marks = pd.DataFrame(
        [{"student": s, "assignment": build.name, "question": q, "max_points": w.points,
          "answered": bool(answers[s].get(q, "").strip()), "points": None, "status": "pending"}
         for s in sorted(exported) for q, w in build.manual.items()], columns=COLUMNS)
    marks = _keep_filled(folder / "marks.csv", marks, build)
    _core._write_csv(marks, folder / "marks.csv")
    files.append(folder / "marks.csv")
    return files, notes


def _keep_answers(path: Path, answers: dict[str, dict[str, str]], build: _assign.Build,
                  notes: list[str]) -> dict[str, dict[str, str]]:
    """``answers`` plus the answers of students an earlier export saw and this one did not.

    A regrade often exports a few students only; the marking pages must still show everyone's answer.
    The answers are kept in ``answers.json`` beside the pages; one that cannot be read is copied to
    ``answers.json.bak`` (with a note) and the pages show this export's students only.
    """
    if not path.exists():
        return answers
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        earlier = old["answers"] if old.get("assignment") == build.name else {}
        if not all(isinstance(a, dict) for a in earlier.values()):
            raise ValueError("not a table of answers")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        notes.append(f"{path.name} could not be read ({exc}; kept as {path.name}.bak); the pages show this "
                     "export's students only")
        return answers
    return {**{s: {q: str(t) for q, t in a.items()} for s, a in earlier.items()}, **answers}


def _keep_filled(path: Path, marks: pd.DataFrame, build: _assign.Build) -> pd.DataFrame:
    """``marks`` with the points already filled in ``path`` and the rows of students not in ``marks``.

    A regrade exports again (often for a few students only): the instructor's marks must survive it.
    A previous file that cannot be read is copied to ``marks.csv.bak`` before it is replaced.
    """
    if not path.exists():
        return marks
    try:
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        if not set(COLUMNS) <= set(old.columns):
            raise ValueError("columns missing")
    except Exception:
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        return marks
    old = old[old["assignment"] == build.name]
    filled = old[old["points"].str.strip() != ""].drop_duplicates(["student", "question"], keep="last")
    keep = filled.set_index(["student", "question"])[["points", "status"]]
    for i, (student, q) in enumerate(zip(marks["student"], marks["question"])):
        if (student, q) in keep.index:
            marks.loc[i, ["points", "status"]] = keep.loc[(student, q)].tolist()
    others = old[~old["student"].isin(set(marks["student"]))]
    both = pd.concat([marks.astype(object), others[COLUMNS]], ignore_index=True)
    return both.sort_values(["student"], kind="stable").reset_index(drop=True)


def summary(build: _assign.Build, out: Path) -> str:
    """One line for the grading command's output."""
    names = ", ".join(f"{q} ({w.points:g})" for q, w in build.manual.items())
    return (f"written questions {names}: {build.manual_points:g} point(s) per student pending, marked by hand "
            f"(not in the gradebook's score); answers in {Path(out) / 'written'}/, marks to "
            f"{Path(out) / 'written' / 'marks.csv'}, then {PROG} merge --out {out}")


# ---- merging the filled-in marks into the gradebook -----------------------------------------------

class MarksError(ValueError):
    """The marks cannot be merged: what is wrong (each problem with its row) and how to fix it."""


@dataclass
class MergeReport:
    """What :func:`merge` did.

    Attributes
    ----------
    book : pandas.DataFrame
        The gradebook with the marks (as written).
    marked : int
        Student-question pairs with a mark in the gradebook now.
    pending : int
        Student-question pairs still unmarked (empty in the marks file, or no row for them).
    changed : bool
        False when the gradebook already held these marks (nothing was written).
    files : list of Path
        The files written.
    notes : list of str
        Remarks for the instructor.
    """

    book: pd.DataFrame
    marked: int
    pending: int
    changed: bool
    files: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _problems_error(path, problems: list[str]) -> MarksError:
    shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
    return MarksError(f"{path}: {len(problems)} problem(s), nothing was merged:\n  " + "\n  ".join(shown)
                      + "\nCorrect the marks file and run the merge again.")


def read_marks(path, build: _assign.Build, students) -> pd.DataFrame:
    """The filled-in marks of ``path``, checked against the assignment and the gradebook's students.

    Every row is checked before anything is returned, and all problems are reported at once.

    Parameters
    ----------
    path : str or Path
        A ``marks.csv`` as :func:`export` writes it, with ``points`` filled in (empty: not marked yet).
    build : Build
        The assignment, built from its master (the written questions and their points).
    students : iterable of str
        The students in the gradebook.

    Returns
    -------
    pandas.DataFrame
        ``student, question, points`` for the rows with a mark (``points`` a float).

    Raises
    ------
    MarksError
        The file is missing or unreadable, or is of another assignment; or a row names a student not in
        the gradebook or a question that is not written, has a mark that is not a number, is negative or
        above the question's points, or repeats a student and question.
    """
    path = Path(path)
    if not path.is_file():
        raise MarksError(f"{path} does not exist; export the answers first ({PROG} --assignment ... "
                         "--submissions ... --out ...) and fill in its 'points' column.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise MarksError(f"{path} cannot be read as CSV ({type(exc).__name__}: {exc}); save it as CSV "
                         "(comma-separated, UTF-8) from your spreadsheet.") from None
    missing = [c for c in ("student", "assignment", "question", "points") if c not in table.columns]
    if missing:
        raise MarksError(f"{path} has no column {', '.join(missing)} (its columns: {', '.join(table.columns)}); "
                         f"use the marks.csv that {PROG} wrote, with its columns unchanged.")
    others = sorted(set(table["assignment"].str.strip()) - {build.name, ""})
    if others:
        raise MarksError(f"{path} holds marks of {', '.join(others)}, not {build.name} (the gradebook's "
                         f"assignment); pass the marks file of {build.name}.")
    students, problems, rows, seen = set(students), [], [], {}
    for i, r in enumerate(table.itertuples(index=False), start=2):
        student, q, text = r.student.strip(), r.question.strip(), r.points.strip()
        where = f"line {i} ({student}, {q})"
        if student not in students:
            problems.append(f"{where}: student {student!r} is not in the gradebook; check the id "
                            "(the submission's file name) or remove the row")
            continue
        if q not in build.manual:
            problems.append(f"{where}: {q!r} is not a written question of {build.name} (those are: "
                            f"{', '.join(build.manual)}); correct the question or remove the row")
            continue
        if (student, q) in seen:
            problems.append(f"{where}: a second row for {student} and {q} (the first is line {seen[student, q]}); "
                            "keep one")
            continue
        seen[student, q] = i
        if not text:
            continue
        top = build.manual[q].points
        try:
            points = float(text)
        except ValueError:
            hint = f" (use a decimal point: {text.replace(',', '.')})" if "," in text else ""
            problems.append(f"{where}: the mark {text!r} is not a number{hint}; write the points, "
                            "or leave the cell empty if not marked yet")
            continue
        if not math.isfinite(points) or points < 0 or points > top:
            problems.append(f"{where}: the mark {text} is outside 0 to {top:g} ({q}'s points); correct it")
            continue
        rows.append({"student": student, "question": q, "points": points})
    if problems:
        raise _problems_error(path, problems)
    return pd.DataFrame(rows, columns=["student", "question", "points"])


def _points(build: _assign.Build) -> dict[str, float]:
    """The written questions' points."""
    return {q: w.points for q, w in build.manual.items()}


def with_marks(book: pd.DataFrame, build: _assign.Build) -> pd.DataFrame:
    """The gradebook's totals recomputed from its question columns, written marks included.

    ``score`` is the sum of the test questions' points and the written marks, ``max_score`` the
    assignment's full points (tests and written), ``written_pending`` the points of the written questions
    without a mark (an empty cell in their column). Recomputing from the columns, never adding to
    ``score``, makes it safe to apply any number of times.

    Parameters
    ----------
    book : pandas.DataFrame
        A gradebook of ``build``'s assignment (written question columns may be absent: all pending).
    build : Build

    Returns
    -------
    pandas.DataFrame
        A new gradebook; the columns ordered ``student … status``, test questions, written questions,
        ``written_pending``, then any others.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> b = SimpleNamespace(questions=["q1"], manual={"q2": SimpleNamespace(points=2.0)},
    ...                     max_score=3.0, manual_points=2.0)
    >>> book = pd.DataFrame({"student": ["ada", "bo"], "assignment": "90_fixture", "score": [3.0, 1.0],
    ...                      "max_score": 3.0, "status": "ok", "q1": [3.0, 1.0], "q2": [1.5, None]})
    >>> with_marks(book, b)[["student", "score", "max_score", "q2", "written_pending"]]
      student  score  max_score   q2  written_pending
    0     ada    4.5        5.0  1.5              0.0
    1      bo    1.0        5.0  NaN              2.0
    """
    missing = [q for q in build.questions if q not in book.columns]
    if missing:
        raise MarksError(f"the gradebook has no column {', '.join(missing)}: it was graded with another version "
                         "of the master; grade again with the current one, then merge.")
    book = book.copy()
    for q in build.manual:
        book[q] = pd.to_numeric(book[q], errors="coerce") if q in book.columns else float("nan")
    marks = book[list(build.manual)]
    tests = book[build.questions].apply(pd.to_numeric, errors="coerce").fillna(0.0).sum(axis=1)
    book["score"] = (tests + marks.fillna(0.0).sum(axis=1)).round(4)
    book["max_score"] = round(build.max_score + build.manual_points, 4)
    unmarked = marks.isna() * pd.Series(_points(build))
    book[_core.WRITTEN_PENDING] = unmarked.sum(axis=1).round(4)
    columns = _core.GRADEBOOK_COLUMNS + build.questions + list(build.manual) + [_core.WRITTEN_PENDING]
    return book[columns + [c for c in book.columns if c not in columns]]


def apply_marks(book: pd.DataFrame, build: _assign.Build, marks: pd.DataFrame) -> pd.DataFrame:
    """The gradebook with ``marks`` (from :func:`read_marks`) in its written question columns.

    A mark replaces the one in the gradebook (so the same marks twice give the same gradebook); a
    question without a mark keeps what an earlier merge put there.
    """
    book = book.copy()
    for q in build.manual:
        if q not in book.columns:
            book[q] = float("nan")
        book[q] = pd.to_numeric(book[q], errors="coerce")
    where = {s: i for i, s in enumerate(book["student"])}
    for r in marks.itertuples(index=False):
        book.iloc[where[r.student], book.columns.get_loc(r.question)] = float(r.points)
    return with_marks(book, build)


def carry_marks(previous: pd.DataFrame, book: pd.DataFrame, build: _assign.Build,
                regraded) -> tuple[pd.DataFrame, list[str]]:
    """After a regrade: the marks merged earlier put back into the regraded students' rows.

    Returns the gradebook (totals recomputed by :func:`with_marks`; unchanged if no marks were ever
    merged) and the regraded students whose marks were kept.
    """
    columns = [q for q in build.manual if q in previous.columns]
    if not columns:
        return book, []
    old = previous.set_index("student")[columns].apply(pd.to_numeric, errors="coerce")
    book = book.copy()
    kept = []
    for i, student in enumerate(book["student"]):
        if student in regraded and student in old.index:
            book.loc[i, columns] = old.loc[student].to_numpy()
            kept += [student] if old.loc[student].notna().any() else []
    return with_marks(book, build), sorted(kept)


def marked_feedback(text: str, row, build: _assign.Build) -> str:
    """A student's feedback ``text`` with the score and written marks of their gradebook ``row``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> b = SimpleNamespace(manual={"q4": SimpleNamespace(points=2.0)})
    >>> text = ("Score: 5 / 5    Status: ok\\n\\n"
    ...         "q4: 2 points, a written answer marked by hand: pending (not in the score above)\\n")
    >>> print(marked_feedback(text, {"score": 6.5, "max_score": 7.0, "q4": 1.5}, b), end="")
    Score: 6.5 / 7    Status: ok
    <BLANKLINE>
    q4: 1.5 / 2 points, a written answer marked by hand
    """
    score = f"Score: {_core._fmt(row['score'])} / {_core._fmt(row['max_score'])}"
    text = re.sub(r"^Score: \S+ / \S+(?=    Status: )", lambda _: score, text, count=1, flags=re.M)
    for q, w in build.manual.items():
        mark = pd.to_numeric(row.get(q), errors="coerce")
        line = _core._written_line(q, w.points, None if pd.isna(mark) else float(mark))
        text = re.sub(rf"^{re.escape(q)}: .*a written answer marked by hand.*$", lambda _: line, text, flags=re.M)
    return text


def _update_feedback(out: Path, book: pd.DataFrame, build: _assign.Build) -> list[Path]:
    """Rewrite the feedback files in ``out/feedback/`` with the gradebook's marks; returns the files."""
    from mlmlab_grading import export as _export

    files = []
    for _, row in book.iterrows():
        path = out / "feedback" / f"{_core._feedback_name(row['student'])}.txt"
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        new = marked_feedback(text, row, build)
        if new != text:
            _core._write_text(path, new)
            _core._write_text(path.with_suffix(".html"), _export.feedback_html(new, row["student"]))
            files.append(path)
    return files


_LMS = ("canvas", "moodle")


def merge(out, build: _assign.Build, marks=None, *, lms: str | None = None, roster=None) -> MergeReport:
    """Merge the filled-in marks of the written questions into ``out/gradebook.csv``.

    Everything is checked before anything is written; each file is written to a temporary file and
    then moved into place. When the gradebook changes, the previous one is copied to ``out/backups/``,
    the class statistics are rewritten, and so is the LMS file: ``out/<lms>.csv`` when ``lms`` is
    given; an LMS file already in ``out`` without ``lms`` is refused (it would disagree with the
    gradebook).

    Parameters
    ----------
    out : str or Path
        The grading output folder (with ``gradebook.csv``).
    build : Build
        The assignment, built from its master.
    marks : str or Path, optional
        The filled-in marks; default ``out/written/marks.csv``.
    lms : {"canvas", "moodle"}, optional
        Rewrite ``out/<lms>.csv`` from the merged gradebook.
    roster : str or Path, optional
        With ``lms``: the roster it was written with (see :func:`mlmlab_grading.export.lms_csv`).

    Returns
    -------
    MergeReport

    Raises
    ------
    MarksError
        No gradebook, a gradebook or marks file of another assignment, a bad row in the marks file
        (see :func:`read_marks`), or an LMS file that would go stale; nothing is written then.
    """
    from mlmlab_grading import export as _export

    out = Path(out)
    marks = Path(marks) if marks is not None else out / "written" / "marks.csv"
    if not build.manual:
        raise MarksError(f"{build.name} has no written questions: there are no marks to merge.")
    try:
        book = _core._read_previous(out, None)
    except _core.GradingError as exc:
        raise MarksError(str(exc)) from None
    if book is None:
        raise MarksError(f"{out / 'gradebook.csv'} does not exist; grade first (python -m mlmlab_grading "
                         f"--assignment {build.name} ... --out {out}), then merge the marks.")
    names = sorted(set(book["assignment"]))
    if names != [build.name]:
        raise MarksError(f"{out / 'gradebook.csv'} holds grades of {', '.join(names) or 'no assignment'}, "
                         f"not {build.name}; pass the --out folder graded for {build.name}.")
    if lms is not None and lms not in _LMS:
        raise MarksError(f"lms must be canvas or moodle, not {lms!r}.")
    merged = apply_marks(book, build, read_marks(marks, build, book["student"]))
    changed = merged.to_csv(index=False, lineterminator="\n") != (out / "gradebook.csv").read_text(
        encoding="utf-8", errors="replace")
    stale = [f"{name}.csv" for name in _LMS if name != lms and (out / f"{name}.csv").exists()]
    if changed and stale:
        raise MarksError(f"{out / stale[0]} was written from the gradebook without these marks and would "
                         f"disagree with it: pass --lms {stale[0][:-4]} (with the --roster it was written "
                         "with) to rewrite it, or delete it.")
    table, notes = None, []
    if lms is not None:
        try:
            table, notes = _export.lms_csv(merged, lms, roster)
        except _export.ExportError as exc:
            raise MarksError(f"{lms}.csv cannot be written: {exc}") from None
    files = []
    if changed:
        notes.append(f"the previous gradebook is in {_core._backup(out)}")
        _core._write_csv(merged, out / "gradebook.csv")
        files.append(out / "gradebook.csv")
    if table is not None:
        _core._write_csv(table, out / f"{lms}.csv")
        files.append(out / f"{lms}.csv")
    if changed:
        updated = _update_feedback(out, merged, build)
        if updated:
            notes.append(f"feedback updated with the marks for {len(updated)} student(s) in {out / 'feedback'}")
        try:
            files += _export.write_class_stats(merged, out, {**build.points, **_points(build)})
        except Exception as exc:  # a convenience: never lose a merge over it
            notes.append(f"class statistics could not be written ({type(exc).__name__}: {exc})")
    values = merged[list(build.manual)]
    pending_students = sorted(merged["student"][values.isna().any(axis=1)])
    if pending_students:
        notes.append(f"still pending for {len(pending_students)} student(s): {', '.join(pending_students[:20])}"
                     + (" ..." if len(pending_students) > 20 else ""))
    return MergeReport(book=merged, marked=int(values.notna().sum().sum()), pending=int(values.isna().sum().sum()),
                       changed=changed, files=files, notes=notes)


def merge_main(argv=None) -> int:
    """``python -m mlmlab_grading.written merge``: exit 0, or 2 with what is wrong and how to fix it."""
    p = argparse.ArgumentParser(prog=f"{PROG} merge",
                                description="Merge the filled-in marks of the written questions into the gradebook.")
    p.add_argument("--out", required=True, help="the grading output folder (with gradebook.csv)")
    p.add_argument("--marks", default=None, help="the filled-in marks (default: OUT/written/marks.csv)")
    p.add_argument("--masters", default=None, help="folder of masters (default: ./solutions)")
    p.add_argument("--lms", choices=list(_LMS), default=None, help="also rewrite OUT/canvas.csv or OUT/moodle.csv")
    p.add_argument("--roster", default=None, help="with --lms: CSV with a 'student' column and the LMS's "
                                                  "account columns")
    args = p.parse_args(argv)
    try:
        if args.roster and not args.lms:
            raise MarksError("--roster goes with --lms canvas or --lms moodle.")
        book = _core._read_previous(Path(args.out), None)
        if book is None or book.empty:
            raise MarksError(f"{Path(args.out) / 'gradebook.csv'} does not exist or is empty; grade first.")
        masters = Path(args.masters) if args.masters else _assign.default_masters_dir()
        build = _assign.build(_assign.find_master(str(book["assignment"].iloc[0]), masters))
        report = merge(args.out, build, args.marks, lms=args.lms, roster=args.roster)
    except ValueError as exc:  # MarksError, GradingError, and a master that cannot be found or built
        print(f"{PROG} merge: error: {exc}", file=sys.stderr)
        return 2
    total = report.marked + report.pending
    print(f"{build.name}: {report.marked} of {total} written mark(s) in the gradebook, {report.pending} pending"
          + ("" if report.changed else "; the gradebook already held these marks (unchanged)"))
    for f in report.files:
        print(f"  wrote {f}")
    for note in report.notes:
        print(f"  note: {note}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                epilog=f"Then, with the points filled in: {PROG} merge --out DIR (see {PROG} merge -h)")
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
