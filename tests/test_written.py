"""Written questions (otter's manual questions), marked by hand; explanations stay in the master.

The master's written question reaches the student as a prompt and an empty answer cell, never with its
model answer; tests leave its points out of the score; the export gives the marker one page per question
with every student's answer (their HTML shown as text) and a marks sheet with the points pending.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from mlmlab_grading import assign, written

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "masters" / "90_fixture.ipynb"
WHY = "**Why.** The grand mean weighs every observation equally, which is what the question asks for."
MODEL = "Batches of raw material differ in purity, so their yields differ beyond the measurement error."


def _cell(kind, source):
    make = {"raw": nbformat.v4.new_raw_cell, "markdown": nbformat.v4.new_markdown_cell}[kind]
    return make(source)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("masters")
    nb = nbformat.read(FIXTURE, as_version=4)
    end_q1 = next(i for i, c in enumerate(nb.cells) if c.cell_type == "raw" and c.source.strip() == "# END SOLUTION")
    nb.cells.insert(end_q1 + 1, _cell("markdown", WHY))
    nb.cells += [_cell("raw", "# BEGIN QUESTION\nname: q4\npoints: 2\nmanual: true"),
                 _cell("markdown", "**Question 4 · In words.** Why do the batches differ? Two or three sentences."),
                 _cell("raw", "# BEGIN SOLUTION"), _cell("markdown", MODEL), _cell("raw", "# END SOLUTION"),
                 _cell("raw", "# END QUESTION")]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    nbformat.write(nb, folder / FIXTURE.name)
    return assign.build(folder / FIXTURE.name)


def _answered(b, text):
    nb = copy.deepcopy(b.student)
    for c in nb.cells:
        if c.cell_type == "markdown" and "otter_answer_cell" in c.metadata.get("tags", []):
            c.source = text
    return nb


def test_a_written_question_is_marked_by_hand_and_its_model_answer_stays_in_the_master(build):
    assert list(build.manual) == ["q4"] and build.manual["q4"].points == 2.0
    assert build.manual_points == 2.0 and "q4" not in build.points and build.max_score == 5.0
    text = assign.student_bytes(build)
    assert "Why do the batches differ?" in text and MODEL not in text
    assert "The grand mean weighs" not in text and "The grand mean weighs" not in nbformat.writes(build.autograder)
    assert assign.written_answers(build, build.student) == {"q4": ""}  # otter's placeholder is no answer


def test_the_export_lists_every_answer_for_the_marker(build, tmp_path):
    subs = tmp_path / "submitted"
    subs.mkdir()
    nbformat.write(_answered(build, "Raw material <script>alert(1)</script> **differs**."), subs / "ada.ipynb")
    nbformat.write(build.student, subs / "bo.ipynb")
    other = copy.deepcopy(build.student)
    other.metadata["otter"]["assignment_name"] = "03_icc"
    nbformat.write(other, subs / "cy.ipynb")
    files, notes = written.export(build, subs, tmp_path / "out")
    assert [f.name for f in files] == ["q4.html", "marks.csv"]
    page = (tmp_path / "out" / "written" / "q4.html").read_text()
    assert MODEL in page and "Why do the batches differ?" in page
    assert "&lt;script&gt;" in page and "<script>" not in page and "<strong>differs</strong>" in page
    assert 'id="bo"' in page and "(no answer)" in page and 'id="cy"' not in page
    assert notes == ["cy: a notebook of 03_icc, not 90_fixture"]
    marks = pd.read_csv(tmp_path / "out" / "written" / "marks.csv")
    assert list(marks.columns) == written.COLUMNS
    assert marks[["student", "question", "max_points", "answered", "status"]].values.tolist() == [
        ["ada", "q4", 2.0, True, "pending"], ["bo", "q4", 2.0, False, "pending"]]
    assert marks["points"].isna().all()
    assert "2 point(s) per student pending" in written.summary(build, tmp_path / "out")


def test_a_regrade_of_one_student_keeps_everyone_s_answers_on_the_pages(build, tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    first.mkdir(), again.mkdir()
    nbformat.write(_answered(build, "Purity differs."), first / "ada.ipynb")
    nbformat.write(_answered(build, "Suppliers differ."), first / "bo.ipynb")
    written.export(build, first, tmp_path / "out")
    nbformat.write(_answered(build, "Purity and moisture differ."), again / "ada.ipynb")  # ada resubmits
    written.export(build, again, tmp_path / "out")
    page = (tmp_path / "out" / "written" / "q4.html").read_text()
    assert 'id="bo"' in page and "Suppliers differ." in page  # not regraded, still shown
    assert "Purity and moisture differ." in page and "Purity differs." not in page  # the new answer replaces the old
    assert "Answers (2 students)" in page
    marks = pd.read_csv(tmp_path / "out" / "written" / "marks.csv")
    assert marks["student"].tolist() == ["ada", "bo"]
    (tmp_path / "out" / "written" / "answers.json").write_text("{not json")
    _, notes = written.export(build, again, tmp_path / "out")
    assert any("answers.json could not be read" in n for n in notes)
    assert (tmp_path / "out" / "written" / "answers.json.bak").read_text() == "{not json"
    assert 'id="bo"' not in (tmp_path / "out" / "written" / "q4.html").read_text()


def test_the_export_command(build, tmp_path):
    masters = tmp_path / "masters"
    masters.mkdir()
    shutil.copy(build.master, masters / build.master.name)
    subs = tmp_path / "submitted"
    subs.mkdir()
    nbformat.write(_answered(build, "Purity."), subs / "ada.ipynb")
    assert written.main(["--assignment", "90", "--submissions", str(subs), "--out", str(tmp_path / "out"),
                         "--masters", str(masters)]) == 0
    assert "Purity." in (tmp_path / "out" / "written" / "q4.html").read_text()


@pytest.mark.parametrize("master", assign.list_masters(REPO / "solutions"), ids=lambda p: p.stem[:2])
def test_the_course_written_questions_have_points_and_a_model_answer_that_does_not_leak(master):
    questions = assign.written_questions(nbformat.read(master, as_version=4))
    assert questions, f"{master.stem} has no written question"
    exercise = (REPO / "exercises" / master.name).read_text(encoding="utf-8")
    for w in questions.values():
        assert w.points > 0
        for line in (ln.strip() for ln in w.model_answer.splitlines()):
            if len(line) >= 25:
                assert line not in exercise, f"{master.stem} {w.name}: the model answer leaks: {line}"


def test_the_gradebook_and_the_feedback_show_the_written_points_as_pending(build):
    from mlmlab_grading import core, export

    graded = {"student": "ada", "status": "ok", "results": {}, "events": []}
    row = core._row(build, graded)
    assert row["score"] == 0.0 and row["max_score"] == 5.0 and row[core.WRITTEN_PENDING] == 2.0
    book = pd.DataFrame([row], columns=core._columns(build))
    assert list(book.columns)[-1] == core.WRITTEN_PENDING
    assert export._questions(book) == ["q1", "q2", "q3"]  # class statistics leave the pending points out
    feedback = core._feedback("ada", build, graded, 0.0)
    assert "q4: 2 points, a written answer marked by hand: pending" in feedback


def test_tests_are_named_after_what_they_check():
    src = ('@test_case(points=1, hidden=False, \n    failure_message="x (a number) is off.")\ndef test_q3_value(x):\n'
           '    assert x\n\n@test_case(name="kept", points=1)\ndef test_q3_other(x):\n    assert x\n')
    named = assign.name_test_cases(src, "q3")
    assert '@test_case(name="q3 · value", points=1, hidden=False, \n    failure_message="x (a number) is off.")' in named
    assert '@test_case(name="kept", points=1)' in named


def test_an_answer_whose_question_was_deleted_counts_as_unanswered(build):
    nb = _answered(build, "Purity.")
    nb.cells = [c for c in nb.cells if "Why do the batches differ?" not in c.source]
    assert assign.written_answers(build, nb) == {"q4": ""}
