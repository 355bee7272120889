"""Grade a folder of submitted exercise notebooks without Docker.

Command line (also ``make grade ASSIGNMENT=NN SUBMISSIONS=DIR OUT=DIR2``)::

    python -m mlmlab.grading --assignment 03 --submissions submitted/ --out graded/

Every ``*.ipynb`` in the submissions folder is one student (the file stem is the
student id). Each is graded in its own process, several at a time:

1. the notebook is copied to a scratch folder and run top to bottom in a fresh
   kernel, with a time limit per cell and per submission and a cap on printed
   output (:mod:`mlmlab._grading_worker`); after every cell the answer variables
   named by the tests are exported as plain data;
2. the assignment's public *and* hidden tests, built from the master by
   ``otter assign`` into private memory before any submission runs, are run on
   those plain values in a new Python process (:mod:`mlmlab._grading_runner`).

Nothing a submission does inside its kernel (patching ``numpy.isclose``,
otter or mlmlab, writing test files, exiting, looping, printing without end)
reaches the tests: they never see the student's live objects.

Output: ``OUT/gradebook.csv`` (one row per student, sorted, no timestamps) and
``OUT/feedback/<student>.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from mlmlab import _assign
from mlmlab._checks import argument_error, check_positive_int

__all__ = ["grade", "main", "GRADEBOOK_COLUMNS", "STATUSES"]

GRADEBOOK_COLUMNS = ["student", "assignment", "score", "max_score", "status"]
STATUSES = ("ok", "error", "timeout", "invalid")

_HERE = Path(__file__).resolve().parent
_RUNNER = _HERE / "_grading_runner.py"
_RUNNER_SECONDS = 120
_GRACE_SECONDS = 60


def _fmt(x: float) -> str:
    return f"{round(float(x), 4):g}"


def _read_notebook(raw: bytes):
    """The notebook in ``raw`` (repaired if Jupyter could open it), or None if it is not one."""
    import nbformat

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception:
        pass
    # Hand-edited or produced by another tool: keep it if it still has cells with sources.
    try:
        data = json.loads(text)
    except ValueError:
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    nb = nbformat.v4.new_notebook(metadata=data.get("metadata") if isinstance(data.get("metadata"), dict) else {})
    for cell in cells:
        if not isinstance(cell, dict):
            return None
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            return None
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}.get(
            cell.get("cell_type"), nbformat.v4.new_raw_cell)
        nb.cells.append(make(source))
    return nb


def _kill_group(pid) -> None:
    if not pid:
        return
    try:
        os.killpg(os.getpgid(int(pid)), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _execute(nb_path: Path, workdir: Path, progress: Path, names, limits) -> dict:
    request = {"notebook": str(nb_path), "workdir": str(workdir), "progress": str(progress),
               "names": names, **limits}
    proc = subprocess.Popen([sys.executable, "-m", "mlmlab._grading_worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(progress.parent))
    killed = False
    try:
        proc.communicate(json.dumps(request).encode(), timeout=limits["time_limit"] + _GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        killed = True
        _kill_group(proc.pid)
        proc.wait()
    state = {"answers": "{}", "events": [], "cells_run": 0, "kernel_pid": None, "finished": False}
    if progress.exists():
        try:
            state.update(json.loads(progress.read_text()))
        except ValueError:
            pass
    _kill_group(state.get("kernel_pid"))
    if killed:
        state["events"].append({"kind": "time_limit", "cell": state["cells_run"] + 1})
    elif not state.get("finished"):
        state["events"].append({"kind": "grader_crash", "cell": state["cells_run"] + 1})
    return state


def _run_tests(tests: dict, answers: dict[str, str], scratch: Path) -> dict:
    """Results per student from one fresh ``python -I`` process (empty dict if it failed)."""
    if not answers:
        return {}
    scratch.mkdir()
    try:
        done = subprocess.run([sys.executable, "-I", str(_RUNNER)], cwd=str(scratch),
                              input=json.dumps({"tests": tests, "submissions": answers}).encode(),
                              capture_output=True, timeout=_RUNNER_SECONDS + 5 * len(answers))
    except subprocess.TimeoutExpired:
        return {}
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        return {}
    return json.loads(lines[-1])


def _status(events: list[dict]) -> str:
    kinds = {e["kind"] for e in events}
    if kinds & {"cell_timeout", "time_limit"}:
        return "timeout"
    if kinds:
        return "error"
    return "ok"


def _event_line(e: dict) -> str:
    where = f"code cell {e['cell']}" + (f" ({e['line']})" if e.get("line") else "")
    kind = e["kind"]
    if kind == "error":
        evalue = " ".join(str(e.get("evalue", "")).split())[:300]
        return f"{where} raised {e.get('ename', 'an error')}: {evalue}"
    if kind == "cell_timeout":
        return f"{where} was still running after {e['seconds']:g} s and was interrupted (an endless loop?)"
    if kind == "time_limit":
        return f"the time limit for the whole notebook ran out at code cell {e['cell']}; later cells did not run"
    if kind == "output_limit":
        return f"{where} printed more than {e['bytes']} bytes and was stopped"
    if kind == "kernel_died":
        return f"the kernel died in {where} (exit() or os._exit()?); later cells did not run"
    if kind == "kernel_stopped":
        return f"the kernel could not be stopped cleanly after {where}; later cells did not run"
    return f"the notebook could not be run past code cell {e['cell']}"


def _feedback(student, b: _assign.Build, status, results, events, score) -> str:
    lines = [f"Assignment {b.name}: feedback for {student}",
             f"Score: {_fmt(score)} / {_fmt(b.max_score)}    Status: {status}", ""]
    if status == "invalid":
        lines += ["This file is not a readable Jupyter notebook, so nothing could be graded.",
                  "Open it in JupyterLab, save it, and submit the .ipynb file again."]
        return "\n".join(lines) + "\n"
    if events:
        lines.append("What happened when your notebook ran:")
        lines += [f"  - {_event_line(e)}" for e in events]
        lines.append("")
    for q in b.questions:
        r = (results or {}).get(q)
        earned = r["score"] if r else 0.0
        lines.append(f"{q}: {_fmt(earned)} / {_fmt(b.points[q])} points")
        if r is None:
            lines.append("  not graded: the tests could not be run")
            continue
        for note in r.get("notes", []):
            lines.append(f"  note: {note}")
        for case in r["cases"]:
            tag = " (hidden test)" if case["hidden"] else ""
            mark = "passed" if case["passed"] else "FAILED"
            lines.append(f"  {mark}: {case['name']}{tag}, {_fmt(case['points'])} pt")
            if case["passed"]:
                continue
            if case["failure_message"]:
                lines.append(f"      {case['failure_message']}")
            if case["message"]:
                lines.append(f"      {case['message'][:500]}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _execute_one(path: Path, b: _assign.Build, limits: dict, scratch_root: Path) -> dict:
    import nbformat

    student = path.stem
    scratch = Path(tempfile.mkdtemp(prefix="s-", dir=scratch_root))
    try:
        nb = _read_notebook(path.read_bytes())
        if nb is None:
            return {"student": student, "status": "invalid", "answers": None, "events": []}
        workdir = scratch / "work"
        workdir.mkdir()
        # otter.Notebook(...) in the init cell looks for the notebook under the master's name.
        nb_path = workdir / f"{b.name}.ipynb"
        nbformat.write(nb, nb_path)
        state = _execute(nb_path, workdir, scratch / "progress.json", b.answer_names, limits)
        events = list(state["events"])
        return {"student": student, "status": _status(events), "answers": state["answers"],
                "events": events}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _row(b: _assign.Build, graded: dict) -> dict:
    results = graded["results"] or {}
    per_q = {q: float(results[q]["score"]) if q in results else 0.0 for q in b.questions}
    return {"student": graded["student"], "assignment": b.name, "score": round(sum(per_q.values()), 4),
            "max_score": round(b.max_score, 4), "status": graded["status"],
            **{q: round(v, 4) for q, v in per_q.items()}}


def grade(assignment, submissions, out, *, masters=None, time_limit=600, cell_timeout=120,
          max_output=10_000_000, memory_limit=4096, workers=None) -> pd.DataFrame:
    """Grade every ``*.ipynb`` in ``submissions`` and write the gradebook and feedback to ``out``.

    Parameters
    ----------
    assignment : str or int
        Assignment number (``3``, ``"03"``) or master stem (``"03_icc"``).
    submissions : str or Path
        Folder of submitted notebooks; each file stem is a student id. Files are only read.
    out : str or Path
        Output folder; gets ``gradebook.csv`` and ``feedback/<student>.txt``.
    masters : str or Path, optional
        Folder of master notebooks; default the course's ``solutions/``.
    time_limit : float, default=600
        Seconds a whole submission may run (kernel start included).
    cell_timeout : float, default=120
        Seconds one cell may run before it is interrupted.
    max_output : int, default=10_000_000
        Bytes of output one cell may print before it is stopped.
    memory_limit : int, default=4096
        Megabytes of address space for a submission's kernel (beyond: MemoryError).
    workers : int, optional
        Submissions graded at once; default the number of CPU cores.

    Returns
    -------
    pandas.DataFrame
        The gradebook: ``student, assignment, score, max_score, status`` and one column of
        points per question, one row per student sorted by student. ``status`` is ``ok``,
        ``error`` (a cell raised, the kernel died or printed too much), ``timeout`` (a cell or
        the whole notebook ran out of time) or ``invalid`` (not a readable notebook).

    Examples
    --------
    >>> import tempfile
    >>> empty, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> book = grade("01", empty, out)
    >>> list(book.columns[:5])
    ['student', 'assignment', 'score', 'max_score', 'status']
    >>> len(book)
    0

    Used to grade the course's exercises; see docs/instructors.md.
    """
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise argument_error("grade", "submissions", "a folder of .ipynb files", str(submissions),
                             fix="Collect the notebooks into one folder and pass its path.")
    workers = check_positive_int(workers if workers is not None else (os.cpu_count() or 1),
                                 "grade", "workers")
    for name, value in (("time_limit", time_limit), ("cell_timeout", cell_timeout), ("max_output", max_output),
                        ("memory_limit", memory_limit)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise argument_error("grade", name, "a positive number", value)
    b = _assign.build(_assign.find_master(assignment, masters))
    paths = sorted(p for p in submissions.glob("*.ipynb") if p.is_file())
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise argument_error("grade", "submissions", "a folder with one notebook per student", str(submissions),
                             detail=f"repeated ids: {', '.join(dupes)}")
    limits = {"time_limit": float(time_limit), "cell_timeout": float(cell_timeout),
              "max_output": int(max_output), "memory_limit": int(memory_limit)}
    with tempfile.TemporaryDirectory(prefix="mlmlab-grading-") as scratch_root:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            graded = list(pool.map(lambda p: _execute_one(p, b, limits, Path(scratch_root)), paths))
        results = _run_tests(b.tests, {g["student"]: g["answers"] for g in graded if g["answers"] is not None},
                             Path(scratch_root) / "tests")
    for g in graded:
        g["results"] = results.get(g["student"]) if g["status"] != "invalid" else None
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for g in graded:
        row = _row(b, g)
        rows.append(row)
        text = _feedback(g["student"], b, g["status"], g["results"], g["events"], row["score"])
        (feedback_dir / f"{g['student']}.txt").write_text(text, encoding="utf-8")
    book = pd.DataFrame(rows, columns=GRADEBOOK_COLUMNS + b.questions)
    book = book.sort_values("student", kind="stable").reset_index(drop=True)
    book.to_csv(out / "gradebook.csv", index=False, lineterminator="\n")
    return book


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mlmlab.grading", description=__doc__.split("\n\n")[0])
    p.add_argument("--assignment", required=True, help="assignment number (03) or master stem (03_icc)")
    p.add_argument("--submissions", required=True, help="folder of submitted .ipynb files")
    p.add_argument("--out", required=True, help="output folder for gradebook.csv and feedback/")
    p.add_argument("--masters", default=None, help="folder of master notebooks (default: solutions/)")
    p.add_argument("--time-limit", type=float, default=600, help="seconds per submission (default 600)")
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    p.add_argument("--max-output", type=int, default=10_000_000, help="bytes of output per cell (default 1e7)")
    p.add_argument("--memory-limit", type=int, default=4096, help="MB of memory per kernel (default 4096)")
    p.add_argument("--workers", type=int, default=None, help="parallel submissions (default: cores)")
    return p


def main(argv=None) -> int:
    """Command-line entry point; prints a one-line summary per status."""
    args = _parser().parse_args(argv)
    book = grade(args.assignment, args.submissions, args.out, masters=args.masters,
                 time_limit=args.time_limit, cell_timeout=args.cell_timeout,
                 max_output=args.max_output, memory_limit=args.memory_limit, workers=args.workers)
    counts = book["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(f"Graded {len(book)} submission(s) for {args.assignment}: {summary}. "
          f"Gradebook: {Path(args.out) / 'gradebook.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
