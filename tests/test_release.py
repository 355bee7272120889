"""`make release` (tools/release.py): the student-facing course, with no solutions and no hidden tests."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("release", REPO / "tools" / "release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel") / "course"
    done = subprocess.run([sys.executable, "tools/release.py", str(out)], cwd=str(REPO),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_release_has_the_course_and_nothing_for_instructors(released):
    top = {p.name for p in released.iterdir()}
    assert {"notebooks", "exercises", "mlmlab", "README.md", "pyproject.toml"} <= top
    assert not top & {"solutions", "tests", "tools", "mlmlab_grading", "docs", ".ci", "Makefile"}
    assert (released / "mlmlab" / "datasets").is_dir()
    assert any((released / "mlmlab" / "datasets" / "data").glob("*.csv"))
    assert sorted(p.name for p in (released / "exercises").glob("*.ipynb")) == \
        sorted(p.name for p in (REPO / "exercises").glob("*.ipynb"))
    assert not list(released.rglob("*grading*")) and not list(released.rglob("_assign.py"))


def test_release_readme_has_no_link_to_a_file_it_leaves_out(released):
    readme = (released / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local and all((released / t).exists() for t in local), [t for t in local if not (released / t).exists()]
    assert "docs/instructors.md in the full course repository" in readme  # named, not linked
    assert "(docs/instructors.md)" in (REPO / "README.md").read_text(encoding="utf-8")  # the course keeps its link


def test_release_holds_no_solution_and_no_hidden_test(released):
    tool = _tool()
    hidden = tool.hidden_tests(REPO / "solutions")
    assert len(hidden) >= len(list((REPO / "solutions").glob("*.ipynb"))), "every master has hidden tests"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in released.rglob("*") if p.is_file())
    for marker in ["BEGIN SOLUTION", "# SOLUTION", "BEGIN TESTS", "hidden=True", "hidden: true",
                   "ASSIGNMENT CONFIG"]:
        assert marker not in text, marker
    for master, lines, _ in hidden:
        for line in lines:
            assert line not in text, f"hidden test of {master} in the release: {line}"
    assert tool.leaks(released, REPO / "solutions") == []


def test_the_check_catches_a_leak(released, tmp_path):
    tool = _tool()
    master, lines, _ = next(h for h in tool.hidden_tests(REPO / "solutions") if h[1])
    planted = released / "exercises" / "planted.py"
    planted.write_text(f"# BEGIN SOLUTION\n{lines[0]}\n")
    try:
        problems = tool.leaks(released, REPO / "solutions")
    finally:
        planted.unlink()
    assert "exercises/planted.py: contains 'BEGIN SOLUTION'" in problems
    assert any(re.match(rf"exercises/planted\.py: holds a hidden test line of {master}", p) for p in problems)


def test_release_refuses_a_folder_inside_the_course(tmp_path):
    done = subprocess.run([sys.executable, "tools/release.py", str(REPO / "exercises" / "release-test")],
                          cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("release: error:") and "overlaps the course's own folders" in done.stderr
    assert not (REPO / "exercises" / "release-test").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    done = subprocess.run([sys.executable, "tools/release.py", str(tmp_path / "full")],
                          cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "is not an empty folder" in done.stderr
