"""The grading command: fixture submissions (correct, broken, hostile) give the expected gradebook.

The fixture assignment ``tests/fixtures/masters/90_fixture.ipynb`` is tiny (three questions on the
Dyestuff data, public and hidden tests). ``tests/fixtures/submissions/`` holds one notebook per way a
submission can go right or wrong; each row of the gradebook below is what that notebook has earned.
All of them are graded in one run, so a row that is right also shows that no other submission in
the batch could change it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from mlmlab_grading import assign as _assign
from mlmlab_grading import core as grading
from mlmlab_grading import plain as _plain
from mlmlab_grading import sandbox as _sandbox
from mlmlab_grading.runner import run as _run_tests

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
MASTERS = FIXTURES / "masters"
LIMITS = ["--cell-timeout", "10", "--time-limit", "120", "--max-output", "1000000", "--workers", "2"]
PLAIN_SOURCE = (REPO / "mlmlab_grading" / "plain.py").read_text()
MEMO_SOURCE = (REPO / "mlmlab_grading" / "memo.py").read_text()
# Skipped on a machine without a working bubblewrap, except in CI (CI=true), where that is a failure.
needs_sandbox = pytest.mark.skipif(isinstance(_sandbox.probe(), str) and os.environ.get("CI") != "true",
                                   reason=f"no sandbox here: {_sandbox.probe()}")


def run_tests(tests, answers):
    return _run_tests(tests, answers, PLAIN_SOURCE)

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
    # problem 1: q2_choice = {frozenset({"b"})} cannot be rebuilt naively (a set of sets); it used to
    # crash the one test process of the batch and give everyone 0. Now only q2 is lost.
    "unhashable_set": (4, "ok", 2, 0, 2),
    # problem 1: replaces json.dumps in its kernel with one that forges the export of the answers
    # (which used to crash the batch's one test process: everyone 0). The grader's exporter was built
    # before the student's first cell and does not use it: the real answers are graded.
    "patched_json": (5, "ok", 2, 1, 2),
    # replaces json.dumps with garbage after q1, which breaks its own kernel's messaging: q1 counts,
    # the later cells cannot run, and nobody else notices.
    "broken_kernel": (2, "error", 2, 0, 0),
    # problem 7: a numpy bytes array in q2_choice used to make every later export fail (q1 and q3
    # then scored 0, "not defined"); now it is exported as data and only q2 is wrong.
    "bytes_answer": (4, "ok", 2, 0, 2),
    # problem 5: one policy with otter's own grading (Gradescope, the bundle): a checked question is
    # graded on the values its last grader.check saw. mean_yield is set to 0 after its check (q1
    # keeps 2 points; the final state would give 1); q2 is changed to "c" and checked again (0.5).
    "changed_after_check": (4.5, "ok", 2, 0.5, 2),
    # problem 8: a notebook of assignment 01 is not graded as this one
    "other_assignment": (0, "wrong_assignment", 0, 0, 0),
    # problem 8: shouty.IPYNB is graded; so is a folder holding one notebook (nbgrader's layout)
    "shouty": (5, "ok", 2, 1, 2),
    "nested_student": (3.5, "ok", 2, 0.5, 1),
}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _grade(submissions: Path, out: Path, scratch: Path, *extra, masters=MASTERS) -> subprocess.CompletedProcess:
    """Run the grading command with its scratch folders under ``scratch`` (TMPDIR)."""
    cmd = [sys.executable, "-m", "mlmlab_grading", "--assignment", "90", "--masters", str(masters),
           "--submissions", str(submissions), "--out", str(out), *LIMITS, *extra]
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
    # not_a_notebook and other_assignment could not be graded: the command says so and exits 1
    assert done.returncode == 1, done.stderr[-3000:]
    return {"out": out, "stdout": done.stdout, "stderr": done.stderr, "before": before,
            "after": _digest(SUBMISSIONS), "scratch": scratch}


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
def test_the_run_reports_what_it_skipped_ignored_and_could_not_grade(graded):
    out, err = graded["stdout"], graded["stderr"]
    assert out.startswith("Sandbox: bubblewrap")
    assert "SKIPPED saved_as_text.ipynb.txt: a notebook saved as .txt" in out
    assert "ignored (editor backup or hidden file): .~lock.partial.ipynb#" in out
    assert "shouty: extension .IPYNB graded as .ipynb" in out
    assert "NOT GRADED not_a_notebook: invalid" in err
    assert "NOT GRADED other_assignment: wrong_assignment" in err
    assert "2 submission(s) could not be graded" in err
    assert "Traceback" not in out + err


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
    assert "This notebook is assignment 01_why_multilevel, not 90_fixture" in fb["other_assignment"]
    assert "not defined" not in fb["bytes_answer"]
    assert "stopped answering Jupyter properly after code cell 5" in fb["broken_kernel"]
    assert ('note: graded on the value(s) of mean_yield when grader.check("q1") last ran; changed later '
            'without checking again') in fb["changed_after_check"]
    assert "grader.check(\"q2\") last ran" not in fb["changed_after_check"]
    # hidden tests report their failure message (with the tolerance), never their source or the answer
    assert "mean_yield is not the mean Yield (tolerance 0.01)." in fb["tampering"]
    for text in fb.values():
        assert "1527.5" not in text and "np.isclose" not in text


@pytest.mark.slow
def test_grading_twice_gives_the_same_gradebook(graded, tmp_path):
    subset = tmp_path / "subset"
    subset.mkdir()
    for name in ["correct", "partial", "blank", "tampering"]:
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


@pytest.mark.slow
def test_regrade_merges_by_student_and_keeps_a_backup(graded, tmp_path):
    """Problems 3 and 4: a regrade into an existing OUT replaces only the regraded rows; a Latin-1
    file name from an LMS zip is graded, not a crash after all the work."""
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    before = (out / "gradebook.csv").read_bytes()
    (out / "feedback" / "blank.old").write_text("stale")
    (out / "feedback" / "correct.old").write_text("not regraded: stays")
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", again / "blank.ipynb")  # blank resubmits, now correct
    shutil.copy(SUBMISSIONS / "partial.ipynb", os.path.join(os.fsencode(again), b"l\xe9a.ipynb"))
    done = _grade(again, out, tmp_path / "scratch")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    book = pd.read_csv(out / "gradebook.csv", keep_default_na=False).set_index("student")
    assert set(book.index) == set(EXPECTED) | {"léa"}
    assert book.loc["blank", "score"] == 5 and book.loc["léa", "score"] == 3.5
    old = pd.read_csv(graded["out"] / "gradebook.csv", keep_default_na=False).set_index("student")
    pd.testing.assert_frame_equal(book.drop(index=["blank", "léa"]), old.drop(index=["blank"]))
    assert (out / "backups" / "gradebook-001.csv").read_bytes() == before
    assert "backups/gradebook-001.csv" in done.stdout and "is not UTF-8" in done.stdout
    fb = out / "feedback"
    assert "Score: 5 / 5" in (fb / "blank.txt").read_text()
    assert "Score: 3.5 / 5" in (fb / "léa.txt").read_text(encoding="utf-8")
    assert not (fb / "blank.old").exists() and (fb / "correct.old").read_text() == "not regraded: stays"


def _a_home_entry() -> Path:
    """Something in the grader's home folder that the sandbox does not need (not the Python install)."""
    base = Path(sys.base_prefix).resolve()
    entries = [p for p in sorted(Path.home().iterdir()) if not base.is_relative_to(p.resolve())]
    if not entries:
        pytest.skip("the home folder holds nothing but the Python installation")
    return entries[0]


@pytest.mark.slow
@needs_sandbox
def test_sandbox_keeps_a_submission_to_itself(tmp_path):
    """Problems 2 and 9: a submission cannot read the masters, another submission or OUT, write
    outside its own folder, reach the grading package, or open a network connection; the
    submission next to it is graded as usual."""
    subs, out, outside = tmp_path / "subs", tmp_path / "out", tmp_path / "outside"
    subs.mkdir()
    outside.mkdir()
    out.mkdir()
    (out / "private.txt").write_text("instructor notes")
    shutil.copy(SUBMISSIONS / "correct.ipynb", subs / "neighbour.ipynb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    master = MASTERS / "90_fixture.ipynb"
    attempts = {
        "master": f"mean_yield = open({str(master)!r}).read()",
        "repo_master": f"open({str(REPO / 'solutions' / '03_icc.ipynb')!r}).read()",
        "neighbour": f"q2_choice = open({str(subs / 'neighbour.ipynb')!r}).read()",
        "out": f"open({str(out / 'private.txt')!r}).read()",
        "write": f"open({str(outside / 'planted.txt')!r}, 'w').write('x')",
        "write_repo": f"open({str(REPO / 'planted_by_student.txt')!r}, 'w').write('x')",
        "write_tmp": "open('/tmp/planted.txt', 'w').write('x')",
        "home": f"import os; os.stat({str(_a_home_entry())!r})",
        "package": "import mlmlab_grading",
        "library": "import mlmlab._assign",
        "socket": f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)",
        "internet": "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)",
    }
    nb = nbformat.read(SUBMISSIONS / "blank.ipynb", as_version=4)
    for i, (key, code) in enumerate(attempts.items()):
        nb.cells.insert(3 + i, nbformat.v4.new_code_cell(f"# attempt: {key}\n{code}"))
    nbformat.write(nb, subs / "intruder.ipynb")
    try:
        done = _grade(subs, out, tmp_path / "scratch")
    finally:
        thread.join()
        listener.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert accepted == [], "the submission reached a socket on the grader's machine"
    assert not (outside / "planted.txt").exists() and not (REPO / "planted_by_student.txt").exists()
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    assert book.loc["neighbour", "score"] == 5 and book.loc["neighbour", "status"] == "ok"
    assert book.loc["intruder", "score"] == 0
    feedback = (out / "feedback" / "intruder.txt").read_text()
    raised = [ln for ln in feedback.splitlines() if ln.startswith("  - code cell") and " raised " in ln]
    assert len(raised) == len(attempts), feedback  # every attempt failed (no other cell raises)


@pytest.mark.slow
def test_a_wrong_master_stops_grading_with_the_failing_test(tmp_path):
    """Problem 6: a typo in a hidden value would mis-grade everyone; the master is graded first."""
    masters = tmp_path / "masters"
    masters.mkdir()
    text = (MASTERS / "90_fixture.ipynb").read_text()
    assert "1527.5" in text
    (masters / "90_fixture.ipynb").write_text(text.replace("1527.5", "1572.5"))
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", subs)
    done = _grade(subs, tmp_path / "out", tmp_path / "scratch", masters=masters)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "earns 4 / 5" in lines[0] and "test q1 · value (hidden) failed: AssertionError: mean_yield is off" in lines[0]
    assert "nothing was graded" in lines[0]
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_make_grade_is_a_thin_wrapper():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "-n", "grade", "ASSIGNMENT=03", "SUBMISSIONS=my subs", "OUT=out dir"],
                          capture_output=True, text=True, cwd=str(REPO), env=env)
    assert done.returncode == 0, done.stderr
    words = shlex.split(done.stdout.strip().splitlines()[-1])
    assert words[1:] == ["-m", "mlmlab_grading", "--assignment", "03", "--submissions", "my subs",
                         "--out", "out dir"]


def test_import_mlmlab_carries_no_grading_machinery():
    """Problems 2 and 4: the statistics library has no assignment code a student's kernel could
    use to load the masters, and importing it loads neither the grader nor otter."""
    code = ("import importlib.util, sys, mlmlab\n"
            "print(sorted(m for m in sys.modules if m.startswith(('mlmlab_grading', 'otter'))))\n"
            "print([n for n in ('mlmlab._assign', 'mlmlab.grading', 'mlmlab._grading_worker', "
            "'mlmlab._grading_runner') if importlib.util.find_spec(n) is not None])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_cwd()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "[]"]


def tmp_cwd() -> Path:
    import tempfile

    return Path(tempfile.gettempdir())


def test_masters_are_an_argument_not_a_path_inside_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"there is no solutions/ folder in .*\. Run from the course's root folder, "
                                         r"or pass --masters DIR"):
        _assign.default_masters_dir()
    assert not hasattr(_assign, "MASTERS_DIR")


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlmlab_grading", *args], capture_output=True, text=True,
                          cwd=str(REPO), env=env, timeout=300)


def test_bad_options_give_one_line_and_no_traceback(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", subs)
    base = ["--masters", str(MASTERS), "--submissions", str(subs)]
    cases = {
        "must be the number or name of a master notebook. Got '7'; masters are: 90_fixture":
            ["--assignment", "7", *base, "--out", str(tmp_path / "o")],
        "argument --workers: '0' must be positive": ["--assignment", "90", *base, "--out", str(tmp_path / "o"),
                                                     "--workers", "0"],
        "overlaps --submissions": ["--assignment", "90", *base, "--out", str(subs / "graded")],
        "the following arguments are required: --out": ["--assignment", "90", *base],
    }
    for expected, args in cases.items():
        done = _cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (subs / "graded").exists() and not (tmp_path / "o" / "gradebook.csv").exists()


def test_no_sandbox_means_no_grading_unless_asked(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", subs)
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on PATH
    done = _cli("--assignment", "90", "--masters", str(MASTERS), "--submissions", str(subs),
                "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 2
    assert "No sandbox: bubblewrap (bwrap) is not installed" in done.stderr and "--no-sandbox" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_output_folder_is_checked_before_grading(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", subs)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(grading.GradingError, match=r"--out .*afile is a file, not a folder"):
        grading.grade("90", subs, tmp_path / "afile", masters=MASTERS)
    other = tmp_path / "other"
    other.mkdir()
    (other / "gradebook.csv").write_text("student,assignment,score,max_score,status\nada,03_icc,1,2,ok\n")
    with pytest.raises(grading.GradingError, match=r"holds grades of 03_icc, not 90_fixture; choose another --out"):
        grading.grade("90", subs, other, masters=MASTERS)


def test_zero_submissions_is_an_error_that_lists_what_was_skipped(tmp_path):
    (tmp_path / "notes.ipynb.txt").write_text("{}")
    (tmp_path / ".~lock.a.ipynb#").write_text("lock")
    with pytest.raises(grading.GradingError, match=r"No submissions to grade in .*: notes\.ipynb\.txt "
                                                   r"\(a notebook saved as \.txt"):
        grading.grade("90", tmp_path, tmp_path.parent / "out-zero", masters=MASTERS)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(grading.GradingError, match=r"the folder is empty"):
        grading.grade("90", empty, tmp_path.parent / "out-zero2", masters=MASTERS)


def test_collect_names_students_and_lists_the_rest(tmp_path):
    for name in ["ada.ipynb", "BO.IPYNB", "notes.ipynb.txt", ".~lock.ada.ipynb#", "ada.ipynb~", ".hidden.ipynb"]:
        (tmp_path / name).write_text("{}")
    (tmp_path / "cy" / "03_icc").mkdir(parents=True)
    (tmp_path / "cy" / "03_icc" / "03_icc.ipynb").write_text("{}")
    (tmp_path / "cy" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "cy" / ".ipynb_checkpoints" / "03_icc-checkpoint.ipynb").write_text("{}")
    (tmp_path / "two" / "a.ipynb").parent.mkdir()
    (tmp_path / "two" / "a.ipynb").write_text("{}")
    (tmp_path / "two" / "b.ipynb").write_text("{}")
    (tmp_path / os.fsdecode(b"l\xe9a.ipynb")).write_text("{}")
    subs, skipped, ignored = grading.collect(tmp_path)
    assert sorted(s.student for s in subs) == ["BO", "ada", "cy", "léa"]
    assert dict(skipped) == {"notes.ipynb.txt": "a notebook saved as .txt: rename it to .ipynb to grade it",
                             "two/": "a folder with 2 notebooks (a student's folder must hold exactly one)"}
    assert sorted(ignored) == [".hidden.ipynb", ".~lock.ada.ipynb#", "ada.ipynb~"]


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


def test_plain_one_bad_answer_never_costs_the_others():
    """Problems 1 and 7, without kernels: bytes arrays and sets of sets are exported and rebuilt;
    an export that cannot be rebuilt loses that answer only."""
    ns = {"b": np.array([b"b", b"\xff"]), "s": {frozenset({"b"})}, "x": 1.5}
    back = _plain.loads(_plain.dumps(ns, ["b", "s", "x"]))
    assert list(back["b"]) == [b"b", b"\xff"] and back["s"] == {frozenset({"b"})} and back["x"] == 1.5
    forged = '{"x": 2.0, "s": {"__set__": [{"__set__": [[1]]}]}, "d": {"__dataframe__": 1}}'
    back = _plain.loads(forged)
    assert back["x"] == 2.0 and isinstance(back["d"], _plain.NotPlain)
    assert _plain.loads("not json") == {} and _plain.loads("[1]") == {}


def test_runner_grades_a_checked_question_on_its_checked_values():
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    final = _plain.dumps({"mean_yield": 0.0, "q2_choice": "b"}, b.answer_names)
    at_q1 = _plain.dumps({"mean_yield": 1527.5, "q2_choice": "a"}, b.answer_names)
    res = _run_tests(b.tests, final, PLAIN_SOURCE, {"q1": at_q1})
    assert res["q1"]["score"] == 2.0 and res["q2"]["score"] == 1.0
    assert res["q1"]["notes"] == ['graded on the value(s) of mean_yield when grader.check("q1") last ran; '
                                  'changed later without checking again']
    assert run_tests(b.tests, final)["q1"]["score"] == 1.0  # unchecked: the final state


def test_runner_survives_an_unrebuildable_answer():
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    answers = '{"mean_yield": 1527.5, "q2_choice": {"__dict__": [[{"__dataframe__": 1}, 1]]}, "batch_means": 3}'
    res = run_tests(b.tests, answers)
    assert res["q1"]["score"] == 2.0 and res["q2"]["score"] == 0.0
    assert any("could not be rebuilt" in n for n in res["q2"]["notes"])


def test_runner_remembers_a_fit_within_one_submission(monkeypatch):
    """The tests of one submission often fit the same model as another test: the runner fits it once (the
    result is the same object), and a changed data set, another formula or reml gets its own fit."""
    import mlmlab
    from mlmlab_grading import runner

    calls = []
    real = mlmlab.fit
    monkeypatch.setattr(mlmlab, "fit", lambda *a, **k: calls.append(a) or real(*a, **k))
    runner._memoise_fits({"q1": "import mlmlab"}, MEMO_SOURCE)
    dye = mlmlab.datasets.load("dyestuff")
    first = mlmlab.fit("Yield ~ 1 + (1 | Batch)", dye)
    assert mlmlab.fit("Yield ~ 1 + (1 | Batch)", dye.copy()) is first and len(calls) == 1
    changed = dye.assign(Yield=dye["Yield"] * 2.0)  # (a shift would not do: the intercept absorbs it)
    assert mlmlab.fit("Yield ~ 1 + (1 | Batch)", changed).llf != first.llf
    assert mlmlab.fit("Yield ~ 1 + (1 | Batch)", dye, reml=False).reml is False
    assert len(calls) == 3
    assert first.llf == pytest.approx(real("Yield ~ 1 + (1 | Batch)", dye).llf, abs=0)


def test_runner_does_not_import_the_library_for_tests_that_never_use_it(monkeypatch):
    import mlmlab
    from mlmlab_grading import runner

    before = mlmlab.fit
    runner._memoise_fits({"q1": "assert mean_yield > 0"}, MEMO_SOURCE)
    assert mlmlab.fit is before


def test_the_kernel_remembers_fits_and_a_memory_never_changes_a_fit():
    """The graded kernel's preload makes mlmlab.fit remember (a worked solution's fits are not fitted again by
    its checks); positional, keyword and unkeyable calls behave as an ordinary fit, errors included."""
    from mlmlab_grading import worker

    code = worker._preload_code(PLAIN_SOURCE, MEMO_SOURCE) + (
        "import mlmlab\n"
        "dye = mlmlab.datasets.load('dyestuff')\n"
        "a = mlmlab.fit('Yield ~ 1 + (1 | Batch)', dye)\n"
        "same = mlmlab.fit('Yield ~ 1 + (1 | Batch)', data=dye.copy(), reml=True) is a\n"
        "ml = mlmlab.fit('Yield ~ 1 + (1 | Batch)', dye, reml=False)\n"
        "odd = dye.assign(tag=[[1]] * len(dye))\n"
        "plain = mlmlab.fit('Yield ~ 1 + (1 | Batch)', odd)\n"
        "again = mlmlab.fit('Yield ~ 1 + (1 | Batch)', odd) is not plain\n"
        "try:\n"
        "    mlmlab.fit('Yield ~ 1 + (1 | Nope)', dye)\n"
        "    error = ''\n"
        "except Exception as exc:\n"
        "    error = 'value-error' if isinstance(exc, ValueError) and 'Nope' in str(exc) else repr(exc)\n"
        "print(same, ml is not a, ml.reml, plain.llf == a.llf, again, error, mlmlab.fit.__doc__ == mlmlab.fitting.fit.__doc__)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "False", "True", "True", "value-error", "True"]


def test_kernel_preload_skips_jsonschemas_iri_grammar_and_notebooks_still_validate():
    """The preload leaves out rfc3987_syntax (a second of grammar building per submission); nbformat's
    validation, which otter and the grader rely on, works without it."""
    from mlmlab_grading import worker

    preload = worker._preload_code(PLAIN_SOURCE).split("import importlib as __mlmlab_il")[0]
    code = preload + (
        "import nbformat, sys\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
        "nbformat.validate(nb)\n"
        "print(sys.modules.get('rfc3987_syntax') is None)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


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
    with pytest.raises(grading.GradingError,
                       match=r"The 'submissions' argument of grade must be a folder of \.ipynb files"):
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




# ---- exports: LMS files, class statistics, HTML feedback -----------------------------------------

from mlmlab_grading import export as _export  # noqa: E402


def _book() -> pd.DataFrame:
    return pd.DataFrame({"student": ["ada", "bo", "cy"], "assignment": "90_fixture", "score": [5.0, 2.5, 0.0],
                         "max_score": 5.0, "status": ["ok", "error", "invalid"], "q1": [2.0, 2.0, 0.0],
                         "q2": [1.0, 0.5, 0.0], "q3": [2.0, 0.0, 0.0]})


def test_canvas_export_follows_the_roster(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "ada,Lovelace Ada,11,s1,ada,A\nbo,Bo Li,12,s2,bo,A\ndee,Dee Dee,13,s3,dee,B\n")
    table, notes = _export.lms_csv(_book(), "canvas", roster)
    assert list(table.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "90_fixture"]
    assert table.iloc[0].tolist() == ["    Points Possible", "", "", "", "", "5"]
    assert table.iloc[1:].values.tolist() == [["Lovelace Ada", "11", "s1", "ada", "A", "5"],
                                              ["Bo Li", "12", "s2", "bo", "A", "2.5"],
                                              ["Dee Dee", "13", "s3", "dee", "B", ""]]
    assert notes == ["graded but not on the roster (left out): cy",
                     "on the roster without a submission (empty grade): dee"]


def test_moodle_export_and_roster_errors(tmp_path):
    table, notes = _export.lms_csv(_book(), "moodle")
    assert table.values.tolist() == [["ada", "5"], ["bo", "2.5"], ["cy", "0"]]
    assert list(table.columns) == ["ID number", "90_fixture"] and notes
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nada,a@x\n")
    with pytest.raises(_export.ExportError, match=r"has no 'student' column .*; its columns are: name, email"):
        _export.lms_csv(_book(), "moodle", bad)
    bad.write_text("student,name\nada,Ada\n")
    with pytest.raises(_export.ExportError, match=r"a Moodle roster needs one of the columns ID number"):
        _export.lms_csv(_book(), "moodle", bad)


def test_class_stats_leave_out_ungraded_rows(tmp_path):
    _export.write_class_stats(_book(), tmp_path, {"q1": 2.0, "q2": 1.0, "q3": 2.0})
    stats = pd.read_csv(tmp_path / "class_stats.csv").set_index("question")
    assert stats.loc["total", "n"] == 2 and stats.loc["total", "mean"] == 3.75
    assert stats.loc["q1", "share_full"] == 1.0 and stats.loc["q3", "share_zero"] == 0.5
    assert (tmp_path / "class_stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_feedback_escapes_and_keeps_the_text():
    text = "Assignment 90: feedback for <ada>\nScore: 1 / 5\n  FAILED: q1 - 2 (hidden test), 1 pt\n      x < 1\n"
    page = _export.feedback_html(text, "<ada>")
    assert "<title>Assignment 90: feedback for &lt;ada&gt;</title>" in page
    assert '<div class="failed">  FAILED: q1 - 2 (hidden test), 1 pt</div>' in page and "x &lt; 1" in page


@pytest.mark.slow
def test_a_grading_run_writes_html_feedback_and_class_stats(graded):
    out = graded["out"]
    pages = {p.stem: p.read_text() for p in (out / "feedback").glob("*.html")}
    assert set(pages) == set(EXPECTED)
    for page in pages.values():
        assert "def test_" not in page and "assert " not in page and "1527.5" not in page
    stats = pd.read_csv(out / "class_stats.csv").set_index("question")
    assert list(stats.index) == ["q1", "q2", "q3", "total"]
    assert stats.loc["total", "n"] == len(EXPECTED) - 2  # invalid and wrong_assignment left out
    assert (out / "class_stats.png").exists()


def test_only_real_grader_check_calls_count():
    from mlmlab_grading.worker import _checked_questions

    assert _checked_questions('x = 1\ngrader.check("q1")\nprint(grader.check("q2"))') == ["q1", "q2"]
    assert _checked_questions('x = 0  # changed after grader.check("q1")\ns = \'grader.check("q3")\'') == []
    assert _checked_questions("grader.check(") == []


def test_a_grader_failure_costs_one_row_and_is_reported(monkeypatch, tmp_path):
    """Problem 1: whatever goes wrong while grading one submission gives that row status 'failed'
    (and the command a non-zero exit), never an exception that loses the others."""
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    ctx = grading._Context(b, {"time_limit": 10.0, "cell_timeout": 5.0, "max_output": 1000, "memory_limit": 512},
                           tmp_path, _sandbox.Sandbox(None, False, "none"), [], PLAIN_SOURCE)

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(grading, "_execute", boom)
    got = grading._grade_one(grading.Submission("ada", SUBMISSIONS / "correct.ipynb"), ctx)
    assert got["status"] == "failed" and "grader error RuntimeError: disk full" in got["problem"]
    text = grading._feedback("ada", b, got, 0.0)
    assert "could not be graded because of a problem on the grading side" in text
    monkeypatch.setattr(grading, "_execute", lambda *a: {"answers": "{}", "at_check": {}, "events": []})
    monkeypatch.setattr(grading, "_run_tests", lambda *a: (None, "the test process failed (exit code 1: x)"))
    got = grading._grade_one(grading.Submission("bo", SUBMISSIONS / "correct.ipynb"), ctx)
    assert got["status"] == "failed" and got["problem"].startswith("the test process failed")
    assert list(tmp_path.iterdir()) == []  # scratch folders removed


# ---- version stamps ------------------------------------------------------------------------------

def test_every_exercise_carries_the_version_it_was_made_from():
    """``make exercises`` stamps each student notebook with the fingerprint of what it shows."""
    for path in sorted((REPO / "exercises").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["mlmlab"]["assignment"] == path.stem
        assert _assign.version_of(nb) == _assign.assignment_version(nb), path.name


def test_the_version_changes_with_what_students_see_only():
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    assert _assign.version_of(b.student) == _assign.version_of(b.autograder) == b.version
    assert len(b.version) == 12 and int(b.version, 16) >= 0
    assert _assign.build(MASTERS / "90_fixture.ipynb").version == b.version  # stable across builds
    edited = nbformat.from_dict(json.loads(json.dumps(b.student)))
    edited.cells[-1].source += "\n# one more line"
    assert _assign.assignment_version(edited) != b.version
    tests_changed = nbformat.from_dict(json.loads(json.dumps(b.student)))
    q = next(iter(tests_changed.metadata["otter"]["tests"]))
    tests_changed.metadata["otter"]["tests"][q] += "\n# a changed public check"
    assert _assign.assignment_version(tests_changed) != b.version
    assert _assign.version_of({"metadata": {}}) is None
    assert _assign.version_of({"metadata": {"mlmlab": {"version": 3}}}) is None


def test_the_fixture_submissions_carry_the_current_stamp():
    """Fixtures stand for students who worked on the current fixture exercise (tools/stamp_fixtures.py)."""
    done = subprocess.run([sys.executable, "tools/stamp_fixtures.py", "--check"], cwd=str(REPO),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"run python tools/stamp_fixtures.py: {done.stdout}{done.stderr}"


@pytest.mark.parametrize("stamp, expected", [
    ("current", None),
    ("0123456789ab", "made from an earlier version of assignment 90_fixture (0123456789ab; the current"),
    (None, "carries no version stamp of assignment 90_fixture"),
])
def test_feedback_flags_a_notebook_of_another_version(monkeypatch, tmp_path, stamp, expected):
    b = _assign.build(MASTERS / "90_fixture.ipynb")
    ctx = grading._Context(b, {"time_limit": 10.0, "cell_timeout": 5.0, "max_output": 1000, "memory_limit": 512},
                           tmp_path, _sandbox.Sandbox(None, False, "none"), [], PLAIN_SOURCE)
    nb = json.loads((SUBMISSIONS / "correct.ipynb").read_text())
    if stamp is None:
        del nb["metadata"]["mlmlab"]
    elif stamp != "current":
        nb["metadata"]["mlmlab"]["version"] = stamp
    sub = tmp_path / "ada.ipynb"
    sub.write_text(json.dumps(nb))
    results = {q: {"score": b.points[q], "notes": [], "cases": []} for q in b.questions}
    monkeypatch.setattr(grading, "_execute", lambda *a: {"answers": "{}", "at_check": {}, "events": []})
    monkeypatch.setattr(grading, "_run_tests", lambda *a: (results, ""))
    got = grading._grade_one(grading.Submission("ada", sub), ctx)
    assert got["status"] == "ok"
    text = grading._feedback("ada", b, got, b.max_score)
    notes = grading._version_notes(b, [got])
    if expected is None:
        assert "Note:" not in text and notes == []
    else:
        assert expected in " ".join(text.split()), text
        assert "It was graded" in text
        assert len(notes) == 1 and notes[0].endswith(": ada")


def test_the_sandbox_probe_keeps_a_course_folder_under_tmp(monkeypatch):
    """A course (and its venv) cloned under /tmp: the probe mounts an empty /tmp as a submission's
    sandbox does, so it must keep the Python and the library reachable, or grading refuses to run."""
    if isinstance(_sandbox.probe(), str):
        pytest.skip("no bubblewrap here")
    kept = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        kept.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(_sandbox, "_exposed", lambda: [Path("/tmp/course/.venv"), Path("/usr")])
    monkeypatch.setattr(_sandbox.subprocess, "run", spy)
    _sandbox.probe.__wrapped__()  # the uncached probe
    probe_cmd = next(c for c in kept if "--tmpfs" in c)
    i = probe_cmd.index("--tmpfs")
    assert probe_cmd[i + 1] == "/tmp"
    assert probe_cmd[i + 2:i + 5] == ["--ro-bind", "/tmp/course/.venv", "/tmp/course/.venv"]
    assert "/usr" not in probe_cmd[i + 2:]
