"""The worked-solutions view (tools/make_exercises.py --worked): answers and reasons, no tests.

Generated from the masters like the exercises; the explanations (markdown cells beginning **Why.**) are in
the view and never in the student notebooks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from mlmlab_grading import assign
from mlmlab_grading.worked import is_explanation, solution_code, worked_notebook

REPO = Path(__file__).resolve().parents[1]
MASTERS = assign.list_masters(REPO / "solutions")


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def test_solution_code_drops_the_prompt_and_the_markers():
    src = ('""" # BEGIN PROMPT\nx = ...\n""" # END PROMPT\n# BEGIN SOLUTION NO PROMPT\nx = 1\n# END SOLUTION')
    assert solution_code(src) == "x = 1"
    assert solution_code('q5_answer = "c"  # SOLUTION') == 'q5_answer = "c"'


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem[:2])
def test_the_view_shows_answers_and_reasons_and_no_tests(master):
    nb = nbformat.read(master, as_version=4)
    view = worked_notebook(nb)
    text = "\n".join(_source(c) for c in view.cells)
    assert view.cells[0].source.startswith("# Worked solutions ") and "grader.check" not in text
    for marker in ("BEGIN TEST CONFIG", "BEGIN SOLUTION", "END SOLUTION", "BEGIN PROMPT", "# SOLUTION",
                   "BEGIN QUESTION", "ASSIGNMENT CONFIG", "def test_"):
        assert marker not in text, marker
    code = "\n".join(_source(c) for c in view.cells if c.cell_type == "code")
    solved = [ln.strip() for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in _source(c)
              for ln in solution_code(_source(c)).splitlines() if len(ln.strip()) >= 8]
    assert solved and all(line in code for line in solved)
    explanations = [_source(c) for c in nb.cells if is_explanation(c)]
    assert [_source(c) for c in view.cells if is_explanation(c)] == explanations
    exercise = (REPO / "exercises" / master.name).read_text(encoding="utf-8")
    for paragraph in explanations:
        for line in (ln.strip() for ln in paragraph.splitlines()):
            if len(line) >= 25:
                assert line not in exercise, f"{master.stem}: an explanation leaks into the exercise: {line}"
    for w in assign.written_questions(nb).values():
        assert w.model_answer in text


def test_make_exercises_writes_the_view(tmp_path):
    spec = importlib.util.spec_from_file_location("make_exercises", REPO / "tools" / "make_exercises.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    masters = tmp_path / "solutions"
    masters.mkdir()
    (masters / "90_fixture.ipynb").write_bytes((REPO / "tests/fixtures/masters/90_fixture.ipynb").read_bytes())
    made = tool.worked(masters, tmp_path / "worked")
    assert [p.name for p in made] == ["90_fixture.ipynb"]
    first = made[0].read_text()
    tool.worked(masters, tmp_path / "worked")
    assert made[0].read_text() == first  # byte-stable


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem[:2])
def test_every_question_says_why(master):
    """Each question graded by tests carries an explanation; a written question, its model answer."""
    import yaml

    current, explained, graded = None, set(), []
    for cell in nbformat.read(master, as_version=4).cells:
        src = _source(cell)
        if cell.cell_type == "raw" and src.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(src.split("\n", 1)[1])
            current = config["name"]
            if not config.get("manual"):
                graded.append(current)
        elif is_explanation(cell):
            explained.add(current)
    assert graded and set(graded) <= explained, sorted(set(graded) - explained)
