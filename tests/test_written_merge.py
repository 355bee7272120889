"""Merging the hand marks of written questions back into the gradebook (and the LMS file).

The gradebook is made as the grading command makes its rows (``core._row``), the marks sheet by the real
export from submitted notebooks (no notebook runs), so the merge is tested on the files an instructor has.
Only the last test grades for real (slow): a regrade after the merge keeps the marks.
"""

from __future__ import annotations

import shutil

import nbformat
import pandas as pd
import pytest
from test_written import _answered, build  # noqa: F401  (build: the fixture master with written q4, 2 points)

from mlmlab_grading import core, written
from mlmlab_grading.written import MarksError

TESTS = {"ada": "full", "bo": 1.0, "cy": 0.0}  # points per test question: full marks, 1 each, nothing


def _gradebook(build, out, students=TESTS):
    rows = []
    for student, each in students.items():
        results = {q: {"score": p if each == "full" else min(each, p)} for q, p in build.points.items()}
        rows.append(core._row(build, {"student": student, "status": "ok", "results": results}))
    out.mkdir(parents=True, exist_ok=True)
    core._write_csv(pd.DataFrame(rows, columns=core._columns(build)), out / "gradebook.csv")


def _submit(build, folder, students=TESTS):
    folder.mkdir(parents=True, exist_ok=True)
    for student in students:
        nbformat.write(_answered(build, f"{student}'s answer: purity differs."), folder / f"{student}.ipynb")


@pytest.fixture
def out(build, tmp_path):
    """A graded folder: gradebook.csv and written/marks.csv (all pending) for ada, bo and cy."""
    folder = tmp_path / "graded"
    _gradebook(build, folder)
    _submit(build, tmp_path / "submitted")
    written.export(build, tmp_path / "submitted", folder)
    return folder


def _fill(out, marks, path=None, **columns):
    """Fill ``{(student, question): text}`` into the marks sheet (optionally overwriting whole columns)."""
    path = path or out / "written" / "marks.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for (student, q), text in marks.items():
        table.loc[(table["student"] == student) & (table["question"] == q), "points"] = text
    for name, value in columns.items():
        table[name] = value
    table.to_csv(path, index=False, lineterminator="\n")
    return path


def _book(out):
    return pd.read_csv(out / "gradebook.csv", dtype={"student": str}).set_index("student")


def test_marks_enter_the_totals_and_unmarked_ones_stay_pending(build, out):
    tests_ada = float(_book(out).loc["ada", "score"])
    assert tests_ada == build.max_score == 5.0 and build.manual_points == 2.0
    _fill(out, {("ada", "q4"): "1.5", ("cy", "q4"): "0"})
    report = written.merge(out, build)
    book = _book(out)
    assert book.loc["ada", "score"] == 6.5 and book.loc["ada", "q4"] == 1.5 and book.loc["ada", "written_pending"] == 0
    assert book.loc["cy", "score"] == 0 and book.loc["cy", "q4"] == 0 and book.loc["cy", "written_pending"] == 0
    bo_tests = sum(min(1.0, p) for p in build.points.values())
    assert book.loc["bo", "score"] == bo_tests and pd.isna(book.loc["bo", "q4"])
    assert book.loc["bo", "written_pending"] == 2
    assert set(book["max_score"]) == {7.0}  # tests and written points: the assignment's full marks
    assert list(book.columns[-2:]) == ["q4", "written_pending"]
    assert (report.marked, report.pending, report.changed) == (2, 1, True)
    assert any("still pending for 1 student(s): bo" in n for n in report.notes)
    assert (out / "backups" / "gradebook-001.csv").exists()
    stats = pd.read_csv(out / "class_stats.csv").set_index("question")
    assert stats.loc["q4", "n"] == 2 and stats.loc["total", "points"] == 7.0


def test_the_feedback_shows_the_marks(build, out):
    (out / "feedback").mkdir()
    for student in ("ada", "bo"):
        graded = {"student": student, "status": "ok", "results": {}, "events": []}
        (out / "feedback" / f"{student}.txt").write_text(core._feedback(student, build, graded, 0.0))
    _fill(out, {("ada", "q4"): "1.5"})
    report = written.merge(out, build)
    ada, bo = ((out / "feedback" / f"{s}.txt").read_text() for s in ("ada", "bo"))
    assert "Score: 6.5 / 7    Status: ok" in ada and "q4: 1.5 / 2 points, a written answer marked by hand\n" in ada
    assert "pending" not in ada and "q4: 1.5 / 2 points" in (out / "feedback" / "ada.html").read_text()
    assert "Score: 3 / 7" in bo and "q4: 2 points, a written answer marked by hand: pending" in bo
    assert any("feedback updated with the marks for 2 student(s)" in n for n in report.notes)


def test_merging_again_never_adds_twice(build, out):
    _fill(out, {("ada", "q4"): "1.5"})
    written.merge(out, build)
    first = (out / "gradebook.csv").read_bytes()
    again = written.merge(out, build)
    assert not again.changed and again.files == []
    assert (out / "gradebook.csv").read_bytes() == first
    assert not (out / "backups" / "gradebook-002.csv").exists()
    _fill(out, {("ada", "q4"): "2"})  # a mark corrected: it replaces the earlier one
    written.merge(out, build)
    assert _book(out).loc["ada", "score"] == 7.0


def test_an_empty_cell_keeps_a_mark_merged_earlier(build, out, tmp_path):
    _fill(out, {("ada", "q4"): "1.5"})
    written.merge(out, build)
    fresh = tmp_path / "fresh.csv"
    _fill(out, {("ada", "q4"): ""}, path=shutil.copy(out / "written" / "marks.csv", fresh))
    report = written.merge(out, build, fresh)
    assert _book(out).loc["ada", "score"] == 6.5 and not report.changed


@pytest.mark.parametrize("marks, columns, message", [
    ({("ada", "q4"): "two"}, {}, r"line 2 \(ada, q4\): the mark 'two' is not a number"),
    ({("ada", "q4"): "1,5"}, {}, r"not a number \(use a decimal point: 1\.5\)"),
    ({("ada", "q4"): "-1"}, {}, r"the mark -1 is outside 0 to 2 \(q4's points\)"),
    ({("ada", "q4"): "2.5"}, {}, r"the mark 2\.5 is outside 0 to 2"),
    ({("ada", "q4"): "nan"}, {}, r"the mark nan is outside 0 to 2"),
    ({}, {"assignment": "03_icc"}, r"holds marks of 03_icc, not 90_fixture .* pass the marks file of 90_fixture"),
], ids=["word", "comma", "negative", "above", "nan", "other-assignment"])
def test_a_bad_mark_stops_the_merge_before_anything_is_written(build, out, marks, columns, message):
    before = (out / "gradebook.csv").read_bytes()
    _fill(out, marks, **columns)
    with pytest.raises(MarksError, match=message):
        written.merge(out, build)
    assert (out / "gradebook.csv").read_bytes() == before and not (out / "backups").exists()


def _add_rows(out, *rows):
    path = out / "written" / "marks.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = pd.DataFrame([dict(zip(["student", "question", "points"], r), assignment="90_fixture") for r in rows])
    pd.concat([table, extra], ignore_index=True).fillna("").to_csv(path, index=False, lineterminator="\n")


@pytest.mark.parametrize("rows, message", [
    ([("dee", "q4", "1")], r"line 5 \(dee, q4\): student 'dee' is not in the gradebook"),
    ([("ada", "q9", "1")], r"'q9' is not a written question of 90_fixture \(those are: q4\)"),
    ([("ada", "q1", "1")], r"'q1' is not a written question"),
    ([("ada", "q4", "1")], r"line 5 \(ada, q4\): a second row for ada and q4 \(the first is line 2\); keep one"),
], ids=["unknown-student", "unknown-question", "test-question", "duplicate"])
def test_rows_that_do_not_fit_the_gradebook_are_refused(build, out, rows, message):
    before = (out / "gradebook.csv").read_bytes()
    _add_rows(out, *rows)
    with pytest.raises(MarksError, match=message):
        written.merge(out, build)
    assert (out / "gradebook.csv").read_bytes() == before


def test_every_problem_is_reported_at_once(build, out):
    _fill(out, {("ada", "q4"): "x", ("bo", "q4"): "9"})
    _add_rows(out, ("zed", "q4", "1"))
    with pytest.raises(MarksError, match=r"3 problem\(s\), nothing was merged") as info:
        written.merge(out, build)
    assert all(f"line {n}" in str(info.value) for n in (2, 3, 5))
    assert "Correct the marks file and run the merge again." in str(info.value)


def test_missing_files_say_what_to_do_first(build, out, tmp_path):
    with pytest.raises(MarksError, match=r"does not exist; export the answers first"):
        written.merge(out, build, tmp_path / "nowhere.csv")
    with pytest.raises(MarksError, match=r"gradebook.csv does not exist; grade first"):
        written.merge(tmp_path / "empty", build)
    (out / "written" / "marks.csv").write_text("who,what\nada,1\n")
    with pytest.raises(MarksError, match=r"has no column student, assignment, question, points"):
        written.merge(out, build)


def test_the_lms_file_is_rewritten_or_the_merge_refuses(build, out):
    from mlmlab_grading.export import lms_csv

    core._write_csv(lms_csv(pd.read_csv(out / "gradebook.csv"), "canvas")[0], out / "canvas.csv")
    before = (out / "gradebook.csv").read_bytes()
    _fill(out, {("ada", "q4"): "1.5"})
    with pytest.raises(MarksError, match=r"canvas.csv was written from the gradebook without these marks.*--lms"):
        written.merge(out, build)
    assert (out / "gradebook.csv").read_bytes() == before
    report = written.merge(out, build, lms="canvas")
    assert out / "canvas.csv" in report.files
    canvas = pd.read_csv(out / "canvas.csv", dtype=str, keep_default_na=False).set_index("Student")
    assert canvas.loc["ada", "90_fixture"] == "6.5" and canvas.loc["    Points Possible", "90_fixture"] == "7"
    with pytest.raises(MarksError, match=r"a Canvas roster needs a 'Student' column"):
        roster = out / "roster.csv"
        roster.write_text("student,Email\nada,a@x\n")
        _fill(out, {("bo", "q4"): "1"})
        written.merge(out, build, lms="canvas", roster=roster)


def test_a_regrade_keeps_the_merged_marks(build, out, tmp_path):
    """What the grading command does with an existing gradebook (core.run: _merge, then carry_marks),
    and the export it runs again for the regraded students only."""
    _fill(out, {("ada", "q4"): "1.5", ("bo", "q4"): "1"})
    written.merge(out, build)
    previous = core._read_previous(out, build.name)
    regraded = pd.DataFrame([core._row(build, {"student": "ada", "status": "ok", "results": {}})],
                            columns=core._columns(build))
    book, kept = written.carry_marks(previous, core._merge(previous, regraded, build), build, {"ada"})
    assert kept == ["ada"]
    book = book.set_index("student")
    assert book.loc["ada", "score"] == 1.5 and book.loc["ada", "q4"] == 1.5 and book.loc["ada", "written_pending"] == 0
    assert book.loc["bo", "q4"] == 1 and book.loc["cy", "written_pending"] == 2 and set(book["max_score"]) == {7.0}
    _submit(build, tmp_path / "late", {"ada": None})
    written.export(build, tmp_path / "late", out)
    marks = pd.read_csv(out / "written" / "marks.csv", dtype=str, keep_default_na=False)
    assert marks[["student", "points"]].values.tolist() == [["ada", "1.5"], ["bo", "1"], ["cy", ""]]


def test_the_merge_command(build, out, capsys):
    masters = ["--masters", str(build.master.parent)]
    _fill(out, {("ada", "q4"): "2"})
    assert written.main(["merge", "--out", str(out), *masters]) == 0
    said = capsys.readouterr().out
    assert "90_fixture: 1 of 3 written mark(s) in the gradebook, 2 pending" in said and "wrote" in said
    assert written.main(["merge", "--out", str(out), *masters]) == 0
    assert "already held these marks (unchanged)" in capsys.readouterr().out
    _fill(out, {("bo", "q4"): "3"})
    assert written.main(["merge", "--out", str(out), *masters]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m mlmlab_grading.written merge: error: ") and "outside 0 to 2" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_regrading_for_real_keeps_the_merged_marks(build, tmp_path):
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    _submit(build, subs, {"ada": None})
    report = core.run("90", subs, out, masters=build.master.parent, sandbox=False, workers=2)
    written.export(build, subs, out)  # what the grading command does after run()
    _fill(out, {("ada", "q4"): "1.5"})
    written.merge(out, build)
    score = float(_book(out).loc["ada", "score"])
    assert score == float(report.book.loc[0, "score"]) + 1.5
    report = core.run("90", subs, out, masters=build.master.parent, sandbox=False, workers=2)
    written.export(build, subs, out)
    assert any("written marks merged earlier kept for regraded ada" in n for n in report.notes)
    feedback = (out / "feedback" / "ada.txt").read_text()
    assert f"Score: {score:g} / 7" in feedback and "q4: 1.5 / 2 points" in feedback
    book = _book(out)
    assert book.loc["ada", "score"] == score and book.loc["ada", "q4"] == 1.5
    assert book.loc["ada", "written_pending"] == 0
    assert written.merge(out, build).changed is False
