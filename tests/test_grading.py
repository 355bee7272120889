"""The grading command: fixture submissions (correct, broken, hostile) give the expected gradebook.

The fixture assignment ``tests/fixtures/masters/90_fixture.ipynb`` is tiny (three questions on the
Dyestuff data, public and hidden tests). ``tests/fixtures/submissions/`` holds one notebook per way a
submission can go right or wrong; each row of the gradebook below is what that notebook has earned.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import _assign, _plain, grading
from mlmlab._grading_runner import run as run_tests

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
MASTERS = FIXTURES / "masters"
LIMITS = ["--cell-timeout", "10", "--time-limit", "120", "--max-output", "1000000", "--workers", "2"]

# student: (score, status, q1, q2, q3); max score 5 (q1: 2, q2: 1, q3: 2 points).
EXPECTED = {
    "blank": (0, "ok", 0, 0, 0),
    "correct": (5, "ok", 2, 1, 2),
    # q3's answer comes after a loop printing ~100 MB: the cell is stopped, q3 never assigned.
    "huge_print": (3, "error", 2, 1, 0),
    # the endless loop is interrupted after the cell time limit; the cells after it still run.
    "infinite_loop": (5, "timeout", 2, 1, 2),
    # os._exit(0) after q1: q1 was exported before the kernel died, the rest never ran.
    "kernel_exit": (2, "error", 2, 0, 0),
    # asks for 64 GB: a MemoryError under the kernel's memory cap, and the rest still runs.
    "memory_hog": (5, "error", 2, 1, 2),
    "not_a_notebook": (0, "invalid", 0, 0, 0),
    # q2 wrong letter (public test passes: 0.5), q3 medians instead of means (public test passes: 1).
    "partial": (3.5, "ok", 2, 0.5, 1),
    # a loop that ignores SIGINT: the kernel is killed; only q1 (answered before) counts.
    "stubborn_loop": (2, "timeout", 2, 0, 0),
    # q2's cell does not parse; q1 and q3 still count.
    "syntax_error": (4, "error", 2, 0, 2),
    # patches numpy.isclose/allclose, otter's check and test runner, mlmlab, plants test files,
    # answers with objects equal to everything: all of that stays in its kernel. Nothing earned.
    "tampering": (0, "ok", 0, 0, 0),
}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _grade(submissions: Path, out: Path, scratch: Path) -> subprocess.CompletedProcess:
    """Run the grading command with its scratch folders under ``scratch`` (TMPDIR)."""
    cmd = [sys.executable, "-m", "mlmlab.grading", "--assignment", "90", "--masters", str(MASTERS),
           "--submissions", str(submissions), "--out", str(out), *LIMITS]
    scratch.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(scratch)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=str(REPO), env=env)


def _orphan_kernels(scratch: Path) -> list[int]:
    """Kernels still running in a scratch folder of our grading run (there must be none)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if b"ipykernel" in cmd and cwd.startswith(str(scratch)):
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    scratch = tmp_path_factory.mktemp("scratch")
    before = _digest(SUBMISSIONS)
    done = _grade(SUBMISSIONS, out, scratch)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"out": out, "stdout": done.stdout, "before": before, "after": _digest(SUBMISSIONS),
            "scratch": scratch}


@pytest.mark.slow
def test_fixture_gradebook_rows(graded):
    book = pd.read_csv(graded["out"] / "gradebook.csv")
    assert list(book.columns) == ["student", "assignment", "score", "max_score", "status", "q1", "q2", "q3"]
    assert list(book["student"]) == sorted(EXPECTED)
    assert set(book["assignment"]) == {"90_fixture"}
    assert set(book["max_score"]) == {5}
    got = {r.student: (r.score, r.status, r.q1, r.q2, r.q3) for r in book.itertuples()}
    assert got == EXPECTED
    assert f"{len(EXPECTED)} submission(s)" in graded["stdout"]


@pytest.mark.slow
def test_submissions_are_never_modified(graded):
    assert graded["after"] == graded["before"]


@pytest.mark.slow
def test_no_kernel_outlives_the_grading(graded):
    assert _orphan_kernels(graded["scratch"]) == []
    assert list(graded["scratch"].iterdir()) == [], "the grader removes its scratch folders"


@pytest.mark.slow
def test_feedback_explains_what_happened(graded):
    fb = {p.stem: p.read_text() for p in (graded["out"] / "feedback").glob("*.txt")}
    assert set(fb) == set(EXPECTED)
    assert "Score: 5 / 5    Status: ok" in fb["correct"]
    assert "FAILED" not in fb["correct"]
    assert "not a readable Jupyter notebook" in fb["not_a_notebook"]
    assert "raised SyntaxError" in fb["syntax_error"]
    assert "(while True:) was still running after 10 s and was interrupted" in fb["infinite_loop"]
    assert "the kernel could not be stopped cleanly" in fb["stubborn_loop"]
    assert "the kernel died in code cell" in fb["kernel_exit"]
    assert "printed more than 1000000 bytes and was stopped" in fb["huge_print"]
    assert "raised MemoryError" in fb["memory_hog"]
    assert "q2_choice still holds ... (not answered yet)" in fb["blank"]
    # hidden tests report their failure message (with the tolerance), never their source or the answer
    assert "mean_yield is not the mean Yield (tolerance 0.01)." in fb["tampering"]
    for text in fb.values():
        assert "1527.5" not in text and "np.isclose" not in text


@pytest.mark.slow
def test_grading_twice_gives_the_same_gradebook(graded, tmp_path):
    subset = tmp_path / "subset"
    subset.mkdir()
    for name in ["correct", "partial", "blank", "not_a_notebook"]:
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", subset)
    out = tmp_path / "again"
    done = _grade(subset, out, tmp_path / "scratch")
    assert done.returncode == 0, done.stderr[-3000:]
    first = pd.read_csv(graded["out"] / "gradebook.csv").set_index("student")
    again = pd.read_csv(out / "gradebook.csv").set_index("student")
    pd.testing.assert_frame_equal(again, first.loc[again.index])
    for name in again.index:
        assert (out / "feedback" / f"{name}.txt").read_text() == \
            (graded["out"] / "feedback" / f"{name}.txt").read_text()


def test_make_grade_is_a_thin_wrapper():
    done = subprocess.run(["make", "-n", "grade", "ASSIGNMENT=03", "SUBMISSIONS=in", "OUT=out"],
                          capture_output=True, text=True, cwd=str(REPO))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].endswith(
        "-m mlmlab.grading --assignment 03 --submissions in --out out")


# ---- the pieces, without kernels -------------------------------------------------------------

def test_plain_round_trip_keeps_data():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, np.nan]}, index=["r1", "r2"])
    ns = {"f": np.float64(2.5), "i": np.int64(3), "b": np.bool_(True), "s": "b", "n": None,
          "t": (1, "a"), "l": [1.0, [2, 3]], "d": {1: "x", "k": [1.0]}, "st": {1, 2},
          "arr": np.arange(6).reshape(2, 3) / 2, "ser": frame["a"], "df": frame, "dots": ...}
    back = _plain.loads(_plain.dumps(ns, list(ns)))
    assert back["f"] == 2.5 and type(back["f"]) is float
    assert back["i"] == 3 and type(back["i"]) is int
    assert back["b"] is True and back["s"] == "b" and back["n"] is None
    assert back["t"] == (1, "a") and back["l"] == [1.0, [2, 3]]
    assert back["d"] == {1: "x", "k": [1.0]} and back["st"] == {1, 2}
    np.testing.assert_array_equal(back["arr"], ns["arr"])
    pd.testing.assert_series_equal(back["ser"], frame["a"])
    pd.testing.assert_frame_equal(back["df"], frame)
    assert back["dots"] is Ellipsis


def test_plain_export_strips_clever_objects():
    class Liar(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    class LiarStr(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    back = _plain.loads(_plain.dumps({"x": Liar(1.0), "y": LiarStr("z"), "fn": len, "big": np.zeros(300_000)},
                                     ["x", "y", "fn", "big", "missing"]))
    assert type(back["x"]) is float and back["x"] != 1527.5
    assert type(back["y"]) is str and back["y"] != "b"
    assert isinstance(back["fn"], _plain.NotPlain) and back["fn"].reason == "not plain data"
    assert isinstance(back["big"], _plain.NotPlain) and back["big"].reason == "too large"
    assert "missing" not in back


def test_runner_scores_public_and_hidden_cases():
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    right = _plain.dumps({"mean_yield": 1527.5, "q2_choice": "c",
                          "batch_means": pd.Series([0.0] * 6, index=list("ABCDEF"))},
                         b.answer_names)
    res = run_tests(b.tests, right)
    assert {q: r["score"] for q, r in res.items()} == {"q1": 2.0, "q2": 0.5, "q3": 1.0}
    q3 = res["q3"]["cases"]
    assert [c["hidden"] for c in q3] == [False, True]
    assert q3[1]["message"] == "AssertionError: some batch means are off"
    assert "tolerance 0.01" in q3[1]["failure_message"]


def test_build_reads_points_hidden_cases_and_manifest():
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    assert b.questions == ["q1", "q2", "q3"]
    assert b.points == {"q1": 2.0, "q2": 1.0, "q3": 2.0} and b.max_score == 5.0
    assert b.manifest == {"q1": ["mean_yield"], "q2": ["q2_choice"], "q3": ["batch_means"]}
    assert b.hidden_counts == {"q1": 1, "q2": 1, "q3": 1}
    public = "".join(b.public_tests.values())
    assert "hidden=False" in public and "hidden=True" not in public


def test_find_master_accepts_number_or_stem():
    assert _assign.find_master(90, MASTERS).name == "90_fixture.ipynb"
    assert _assign.find_master("90", MASTERS) == _assign.find_master("90_fixture", MASTERS)
    with pytest.raises(ValueError, match=r"The 'assignment' argument of grade must be the number or name "
                                         r"of a master notebook\. Got '7'; masters are: 90_fixture\."):
        _assign.find_master("7", MASTERS)


def test_tests_may_only_read_named_answers():
    src = "from otter.test_files import test_case\n@test_case(hidden=False)\ndef t(env):\n    pass\n"
    with pytest.raises(ValueError, match=r"A test of question q9 takes 'env'"):
        _assign.answer_names_of(src, "q9")


def test_grade_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"The 'submissions' argument of grade must be a folder of \.ipynb files"):
        grading.grade("90", tmp_path / "nope", tmp_path / "out", masters=MASTERS)
    with pytest.raises(ValueError, match=r"The 'workers' argument of grade"):
        grading.grade("90", tmp_path, tmp_path / "out", masters=MASTERS, workers=0)
    with pytest.raises(ValueError, match=r"The 'cell_timeout' argument of grade must be a positive number"):
        grading.grade("90", tmp_path, tmp_path / "out", masters=MASTERS, cell_timeout=-1)


def test_what_counts_as_a_notebook():
    minimal = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
               "cells": [{"cell_type": "code", "source": ["x = ", "1"]}]}
    nb = grading._read_notebook(json.dumps(minimal).encode())
    assert [c.source for c in nb.cells] == ["x = 1"]
    for raw in [b"", b"{}", b'{"cells": "x"}', b"[1, 2]", b"\xff\xfe", b"my answers: 1527.5",
                b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 3}]}']:
        assert grading._read_notebook(raw) is None, raw


def test_empty_folder_gives_an_empty_gradebook(tmp_path):
    book = grading.grade("90", tmp_path, tmp_path / "out", masters=MASTERS)
    assert book.empty
    assert (tmp_path / "out" / "gradebook.csv").read_text().strip() == \
        "student,assignment,score,max_score,status,q1,q2,q3"
