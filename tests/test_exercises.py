"""The assignments: masters in solutions/, generated student notebooks in exercises/.

Every master is checked the same way, so a new lesson's master is covered as soon as it lands:
exercises/ is exactly what the masters generate; the masters follow the course's conventions; no
solution and no hidden test leaks into exercises/; the worked solution earns full marks through the
real grading command (`grader.check` in a live kernel: tests/test_exercises_live.py); the unedited
student notebook runs without errors and earns less than full marks.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from mlmlab_grading import assign as _assign
from mlmlab_grading import core as grading

REPO = Path(__file__).resolve().parents[1]
MASTERS_DIR = REPO / "solutions"
EXERCISES_DIR = REPO / "exercises"
MASTERS = _assign.list_masters(MASTERS_DIR)
STEMS = [m.stem for m in MASTERS]


def _tool():
    spec = importlib.util.spec_from_file_location("make_exercises", REPO / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builds():
    return {m.stem: _assign.build(m) for m in MASTERS}


def _exercises_text() -> str:
    """Everything a learner downloads from exercises/ (all files, any depth)."""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted((REPO / "exercises").rglob("*")) if p.is_file())


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def test_the_first_assignments_exist():
    assert {"01_why_multilevel", "03_icc"} <= set(STEMS)


def test_exercises_are_what_the_masters_generate():
    assert _tool().check(MASTERS_DIR, EXERCISES_DIR) == []


@pytest.mark.parametrize("stem", STEMS)
def test_generation_is_deterministic(stem, builds):
    again = _assign.build(MASTERS_DIR / f"{stem}.ipynb")
    assert _assign.student_bytes(again) == _assign.student_bytes(builds[stem])
    assert again.tests == builds[stem].tests


@pytest.mark.parametrize("stem", STEMS)
def test_master_follows_the_conventions(stem, builds):
    b = builds[stem]
    master = nbformat.read(b.master, as_version=4)
    config = next(yaml.safe_load(_source(c)) for c in master.cells
                  if c.cell_type == "raw" and _source(c).lstrip().lower().startswith("# assignment config"))
    assert config["name"] == stem
    assert all(not c.get("outputs") for c in master.cells if c.cell_type == "code"), "clear the master's outputs"
    assert len(b.questions) >= 4
    hidden = [q for q in b.questions if b.hidden_counts[q] > 0]
    assert 2 * len(hidden) >= len(b.questions), "hidden tests on at least half of the questions"
    for q in b.questions:
        assert q in b.public_tests, f"{q} needs a public test, so grader.check gives feedback"
        tree = ast.parse(b.tests[q])
        for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            kwargs = {k.arg for d in fn.decorator_list if isinstance(d, ast.Call) for k in d.keywords}
            assert "failure_message" in kwargs, f"{q}: test {fn.name} needs a failure_message"
    # every answer the tests read is assigned in the master
    assigned = {node.id for c in master.cells if c.cell_type == "code"
                for node in ast.walk(ast.parse(_source(c)))
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    assert set(b.answer_names) <= assigned


def _split_master_code(master: nbformat.NotebookNode) -> tuple[list[str], set[str]]:
    """(solution code otter strips from the student version, code the learner is given)."""
    solution, given, in_block = [], set(), False
    for cell in master.cells:
        if cell.cell_type != "code":
            continue
        prompt = False
        for line in _source(cell).splitlines():
            stripped = line.strip()
            if stripped.endswith("# BEGIN PROMPT"):
                prompt = True
            elif stripped.endswith("# END PROMPT"):
                prompt = False
            elif stripped.startswith("# BEGIN SOLUTION"):
                in_block = True
            elif stripped.endswith("# END SOLUTION"):
                in_block = False
            elif in_block or re.search(r"# ?SOLUTION\s*$", stripped):
                solution.append(re.sub(r"# ?SOLUTION\s*$", "", stripped).strip())
            else:
                given.add(stripped)
    return [ln for ln in solution if len(ln) >= 8 and ln not in given], given


def _student_code(stem: str) -> str:
    nb = nbformat.read(REPO / "exercises" / f"{stem}.ipynb", as_version=4)
    return "\n".join(_source(c) for c in nb.cells if c.cell_type == "code")


def _significant_digits(value: float) -> int:
    mantissa = re.sub(r"e.*$", "", repr(abs(value))).replace(".", "")
    return len(mantissa.strip("0"))


def _hidden_tests(test_source: str) -> list[tuple[list[str], list[float]]]:
    """Body lines and non-integer numeric literals of each hidden test function."""
    tree = ast.parse(test_source)
    found = []
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        hidden = any(k.arg == "hidden" and getattr(k.value, "value", False)
                     for d in fn.decorator_list if isinstance(d, ast.Call) for k in d.keywords)
        if not hidden:
            continue
        lines = [ast.get_source_segment(test_source, stmt) for stmt in fn.body]
        numbers = [n.value for n in ast.walk(fn) if isinstance(n, ast.Constant)
                   and isinstance(n.value, float) and not float(n.value).is_integer()]
        found.append(([ln for ln in lines if ln and len(ln) >= 10], numbers))
    return found


@pytest.mark.parametrize("stem", STEMS)
def test_no_solution_and_no_hidden_test_in_exercises(stem, builds):
    text = _exercises_text()
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "# SOLUTION", "BEGIN PROMPT",
                   "BEGIN TESTS", "hidden=True"]:
        assert marker not in text, marker
    master = nbformat.read(builds[stem].master, as_version=4)
    solution, _ = _split_master_code(master)
    assert solution, "the master has no solution code?"
    code = _student_code(stem)
    for line in solution:
        assert line not in code, f"solution line leaked into exercises/{stem}.ipynb: {line}"
    hidden = [h for src in builds[stem].tests.values() for h in _hidden_tests(src)]
    assert hidden
    for lines, numbers in hidden:
        for line in lines:
            assert line not in text, f"hidden test leaked into exercises/: {line}"
        for value in [v for v in numbers if _significant_digits(v) >= 3]:
            for shown in {t for t in (repr(value), f"{value:.4g}") if "." in t}:
                assert shown not in text, f"a hidden test's number appears in exercises/: {shown}"


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_solution_scores_full_marks_and_blank_scores_less(stem, builds, tmp_path):
    # The grader first grades the master's worked solution exactly as a submission (same export, sandbox
    # and tests) and refuses to grade anything unless it earns full marks; the report says it did.
    b = builds[stem]
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    shutil.copy(REPO / "exercises" / f"{stem}.ipynb", submitted / "unedited.ipynb")
    report = grading.run(stem, submitted, tmp_path / "out", masters=MASTERS_DIR, cell_timeout=120,
                         time_limit=300)
    assert report.master_check == (b.max_score, b.max_score)
    blank = report.book.set_index("student").loc["unedited"]
    assert blank["status"] == "ok"
    assert blank["score"] < blank["max_score"] == b.max_score
    feedback = (tmp_path / "out" / "feedback" / "unedited.txt").read_text()
    assert "still holds ... (not answered yet)" in feedback


def test_make_exercises_writes_and_checks(tmp_path):
    masters, exercises = tmp_path / "solutions", tmp_path / "exercises"
    masters.mkdir()
    shutil.copy(REPO / "tests" / "fixtures" / "masters" / "90_fixture.ipynb", masters)
    tool = _tool()
    assert tool.check(masters, exercises) == ["missing: exercises/90_fixture.ipynb"]
    assert tool.main(["--masters", str(masters), "--exercises", str(exercises)]) == 0
    assert tool.main(["--check", "--masters", str(masters), "--exercises", str(exercises)]) == 0
    target = exercises / "90_fixture.ipynb"
    target.write_text(target.read_text().replace("Grader fixture", "Edited by hand"))
    (exercises / "77_orphan.ipynb").write_text("{}")
    assert tool.check(masters, exercises) == ["no master for: exercises/77_orphan.ipynb",
                                              "out of date: exercises/90_fixture.ipynb"]
    assert tool.main(["--check", "--masters", str(masters), "--exercises", str(exercises)]) == 1
    tool.main(["--masters", str(masters), "--exercises", str(exercises)])
    assert tool.check(masters, exercises) == [] and not (exercises / "77_orphan.ipynb").exists()


@pytest.mark.slow
def test_a_renamed_copy_of_the_student_notebook_still_checks(tmp_path):
    """Problem 8: otter's init cell named the file; a copy saved as "03_icc (1).ipynb" raised
    FileNotFoundError there and NameError: grader at every check."""
    from nbclient import NotebookClient

    b = _assign.build(REPO / "tests" / "fixtures" / "masters" / "90_fixture.ipynb")
    nb = b.student
    init = _source(nb.cells[1])
    assert "_this_notebook(\"90_fixture.ipynb\", \"90_fixture\")" in init
    copy = tmp_path / "90_fixture (1).ipynb"
    nbformat.write(nb, copy)
    (tmp_path / "other.ipynb").write_text("{}")  # not a notebook of this assignment: passed over
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any cell error
    checks = [c for c in nb.cells if c.cell_type == "code" and _source(c).startswith("grader.check(")]
    shown = "".join(o.get("data", {}).get("text/plain", "") for c in checks for o in c.outputs)
    assert "q1 results" in shown


def test_every_student_notebook_finds_a_renamed_copy_of_itself():
    for stem in STEMS:
        nb = nbformat.read(REPO / "exercises" / f"{stem}.ipynb", as_version=4)
        title, init = (_source(c) for c in nb.cells[:2])
        assert nb.cells[0].cell_type == "markdown" and title.startswith(f"# Exercises {stem[:2]} · ")
        assert f'grader = otter.Notebook(_this_notebook("{stem}.ipynb", "{stem}"))' in init


def test_a_failed_check_shows_its_hint_and_not_the_check_code(tmp_path):
    """The generated init cell makes grader.check print the failing test's message, not its assert line."""
    import subprocess

    init = _source(nbformat.read(REPO / "exercises" / f"{STEMS[0]}.ipynb", as_version=4).cells[1])
    script = tmp_path / "check.py"
    script.write_text(init.split("import glob, json, os")[0] + "\n" + init.split("grader = otter.Notebook(")[1].split("\n", 1)[1]
                      + "\nfrom otter.test_files import ExceptionTestFile\n"
                      "t = ExceptionTestFile.from_string('from otter.test_files import test_case\\nname = \"q1\"\\n"
                      "@test_case(points=1)\\ndef test_q1(x):\\n    assert x == 2, \"x should be the number of groups\"\\n', 'q1')\n"
                      "t.run({'x': 3})\nprint(t.summary())\n")
    shown = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert "AssertionError: x should be the number of groups" in shown
    assert "assert x == 2" not in shown and "Error at line" not in shown
