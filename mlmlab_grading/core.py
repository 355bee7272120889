"""Grade a folder of submitted exercise notebooks (see the package docstring)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlmlab._checks import argument_error, check_positive_int
from mlmlab_grading import assign as _assign
from mlmlab_grading import export as _export
from mlmlab_grading import sandbox as _sandbox

__all__ = ["grade", "run", "Report", "GradingError", "GRADEBOOK_COLUMNS", "STATUSES", "NOT_GRADED"]

GRADEBOOK_COLUMNS = ["student", "assignment", "score", "max_score", "status"]
# Points of the written questions (marked by hand, not in score): a column of assignments that have them.
WRITTEN_PENDING = "written_pending"
STATUSES = ("ok", "error", "timeout", "invalid", "wrong_assignment", "failed")
# Statuses of submissions that could not be graded: the command exits non-zero when one occurs.
NOT_GRADED = ("invalid", "wrong_assignment", "failed")

_PACKAGE = Path(__file__).resolve().parent  # the grader's own code (worker, runner, plain), never masters
_RUNNER_SECONDS = 120
_GRACE_SECONDS = 60
_EVENT_KINDS = {"error", "cell_timeout", "time_limit", "output_limit", "kernel_died", "kernel_stopped",
                "kernel_broken", "grader_crash"}
# Editor lock files, backups, hidden files and OS debris: never a student.
_IGNORED_RE = re.compile(r"^(\.|~\$|__MACOSX$)|~$|#$|\.bak$|\.swp$")
_INIT_RE = re.compile(r"otter\.Notebook\(\s*(?:_this_notebook\(\s*)?['\"]([^'\"]+?)(?:\.ipynb)?['\"]")
_ASSIGNMENT_RE = re.compile(r"^\d{2}_[a-z0-9_]+$")


class GradingError(ValueError):
    """Grading cannot start (bad option, bad folder, broken master). The message is one clear line."""


@dataclass
class Submission:
    """One student's notebook: the id, the file, and a note for the instructor (or "")."""

    student: str
    path: Path
    note: str = ""


@dataclass
class Report:
    """What one grading run did.

    Attributes
    ----------
    book : pandas.DataFrame
        The whole gradebook as written (earlier rows of students not regraded included).
    graded : pandas.DataFrame
        The rows of this run only.
    skipped : list of (str, str)
        Entries of the submissions folder that were not graded, with the reason.
    ignored : list of str
        Editor backups and hidden files that were left out on purpose.
    notes : list of str
        Remarks for the instructor (renamed ids, grader problems, backups made).
    sandbox : str
        Which sandbox ran the submissions.
    master_check : tuple of float
        ``(score, max_score)`` the master's worked solution earned when graded as a submission before
        the class (grading goes on only when they are equal).
    """

    book: pd.DataFrame
    graded: pd.DataFrame
    skipped: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    sandbox: str = ""
    master_check: tuple = ()


def _fmt(x: float) -> str:
    return f"{round(float(x), 4):g}"


# ---- collecting submissions ------------------------------------------------------------------

def _student_id(stem: str) -> tuple[str, str]:
    """The id for a file stem, decoding a non-UTF-8 name (say Latin-1 from an LMS zip)."""
    raw = os.fsencode(stem)
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text, f"file name {raw!r} is not UTF-8; read as Windows/Latin-1: {text}"


def _is_ignored(name: str) -> bool:
    return bool(_IGNORED_RE.search(name)) or name.startswith(".~lock")


def _notebooks_in(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _is_ignored(d) and d != ".ipynb_checkpoints")
        found += [Path(root) / f for f in sorted(files)
                  if f.lower().endswith(".ipynb") and not _is_ignored(f)]
    return found


def collect(submissions: Path) -> tuple[list[Submission], list[tuple[str, str]], list[str]]:
    """Submissions in a folder, with what was skipped (and why) and what was ignored.

    A ``*.ipynb`` file (any case of the extension) is one student, named by the file stem. A folder
    holding exactly one notebook (at any depth, as nbgrader lays submissions out) is one student,
    named by the folder. Editor backups (``.~lock…``, ``…~``), hidden files and checkpoint folders
    are ignored; anything else is skipped and reported.

    Parameters
    ----------
    submissions : Path
        The submissions folder.

    Returns
    -------
    subs : list of Submission
    skipped : list of (str, str)
        Entry name and reason.
    ignored : list of str
    """
    subs, skipped, ignored = [], [], []
    for entry in sorted(submissions.iterdir(), key=lambda p: os.fsencode(p.name)):
        shown = os.fsencode(entry.name).decode("utf-8", "backslashreplace")
        if _is_ignored(entry.name) or entry.name == ".ipynb_checkpoints":
            ignored.append(shown)
            continue
        if entry.is_dir():
            books = _notebooks_in(entry)
            if len(books) == 1:
                student, note = _student_id(entry.name)
                subs.append(Submission(student, books[0], note))
            else:
                skipped.append((shown + "/", f"a folder with {len(books)} notebooks (a student's folder "
                                             "must hold exactly one)"))
            continue
        if entry.suffix.lower() == ".ipynb" and entry.is_file():
            student, note = _student_id(entry.stem)
            if entry.suffix != ".ipynb":
                note = "; ".join(filter(None, [note, f"extension {entry.suffix} graded as .ipynb"]))
            subs.append(Submission(student, entry, note))
            continue
        reason = "not a .ipynb file"
        if entry.name.lower().endswith(".ipynb.txt"):
            reason = "a notebook saved as .txt: rename it to .ipynb to grade it"
        skipped.append((shown, reason))
    return subs, skipped, ignored


# ---- reading notebooks ---------------------------------------------------------------------------

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


def assignment_of(nb) -> str | None:
    """The assignment a student notebook belongs to (otter's metadata, else its init cell), or None."""
    meta = nb.get("metadata", {}).get("otter", {})
    name = meta.get("assignment_name") if isinstance(meta, dict) else None
    if isinstance(name, str) and _ASSIGNMENT_RE.match(name):
        return name
    for cell in nb.cells[:5]:
        if cell.get("cell_type") == "code":
            match = _INIT_RE.search(cell.get("source", "") if isinstance(cell.get("source"), str) else "")
            if match and _ASSIGNMENT_RE.match(Path(match.group(1)).name):
                return Path(match.group(1)).name
    return None


# ---- running one submission ----------------------------------------------------------------------

def _kill_group(pid) -> None:
    try:
        os.killpg(os.getpgid(int(pid)), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError, TypeError, ValueError):
        pass


def _kill_kernel(pid, scratch: Path) -> None:
    """Kill the kernel reported by an unsandboxed worker, if it really runs in this scratch folder.

    (The pid comes from a file the submission could have rewritten: it is checked, not trusted.)
    """
    if not isinstance(pid, int) or pid <= 1:
        return
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return
    if Path(cwd).is_relative_to(scratch.resolve()):
        _kill_group(pid)


def _clean_state(raw) -> dict:
    """The worker's progress file, validated (it is written from inside the submission's sandbox)."""
    state = {"answers": "{}", "at_check": {}, "events": [], "cells_run": 0, "kernel_pid": None,
             "finished": False}
    if not isinstance(raw, dict):
        return state
    if isinstance(raw.get("answers"), str):
        state["answers"] = raw["answers"]
    if isinstance(raw.get("at_check"), dict):
        state["at_check"] = {k: v for k, v in raw["at_check"].items() if isinstance(k, str) and isinstance(v, str)}
    if isinstance(raw.get("cells_run"), int):
        state["cells_run"] = raw["cells_run"]
    if isinstance(raw.get("kernel_pid"), int):
        state["kernel_pid"] = raw["kernel_pid"]
    state["finished"] = raw.get("finished") is True
    events = raw.get("events") if isinstance(raw.get("events"), list) else []
    for e in events[:200]:
        if isinstance(e, dict) and e.get("kind") in _EVENT_KINDS and isinstance(e.get("cell", 0), int):
            state["events"].append({k: v for k, v in e.items()
                                    if isinstance(v, (str, int, float)) and not isinstance(v, bool)})
    return state


def _read_progress(path: Path, limit: int = 64 * 1024 * 1024):
    """The progress file's JSON, or None. The submission can write its scratch folder, so the file
    is opened without following links and read only if it is a regular file of sane size."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return json.loads(f.read(limit).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)


@dataclass
class _Context:
    build: _assign.Build
    limits: dict
    scratch_root: Path
    sandbox: _sandbox.Sandbox
    hide: list
    plain_source: str
    memo_source: str = ""


def _execute(nb_path: Path, scratch: Path, ctx: _Context) -> dict:
    worker = scratch / "worker.py"
    shutil.copy(_PACKAGE / "worker.py", worker)
    env = _sandbox.minimal_env(scratch)
    for key in ("HOME", "TMPDIR", "JUPYTER_RUNTIME_DIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    progress = scratch / "progress.json"
    request = {"notebook": str(nb_path), "workdir": str(nb_path.parent), "progress": str(progress),
               "names": ctx.build.answer_names, "plain_source": ctx.plain_source, "memo_source": ctx.memo_source, "env": env, **ctx.limits}
    cmd = ctx.sandbox.wrap([sys.executable, "-I", str(worker)], scratch, hide=ctx.hide)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(scratch), env=env)
    killed = False
    try:
        proc.communicate(json.dumps(request).encode(), timeout=ctx.limits["time_limit"] + _GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        killed = True
    finally:
        # the sandbox's process namespace dies with bwrap; unsandboxed, the whole session goes
        _kill_group(proc.pid)
        proc.wait()
    state = _clean_state(_read_progress(progress))
    if not ctx.sandbox.enabled:
        _kill_kernel(state.get("kernel_pid"), scratch)
    if killed:
        state["events"].append({"kind": "time_limit", "cell": state["cells_run"] + 1})
    elif not state["finished"]:
        state["events"].append({"kind": "grader_crash", "cell": state["cells_run"] + 1})
    return state


def _run_tests(answers: str, at_check: dict, ctx: _Context) -> tuple[dict | None, str]:
    """This submission's results from its own fresh ``python -I`` process (None and why, if it failed)."""
    folder = Path(tempfile.mkdtemp(prefix="t-", dir=ctx.scratch_root))  # not the submission's scratch
    try:
        return _run_tests_in(answers, at_check, folder, ctx)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_tests_in(answers: str, at_check: dict, folder: Path, ctx: _Context) -> tuple[dict | None, str]:
    shutil.copy(_PACKAGE / "runner.py", folder / "runner.py")
    env = _sandbox.minimal_env(folder)
    cmd = ctx.sandbox.wrap([sys.executable, "-I", str(folder / "runner.py")], folder, hide=ctx.hide)
    request = {"tests": ctx.build.tests, "answers": answers, "at_check": at_check,
               "plain_source": ctx.plain_source, "memo_source": ctx.memo_source}
    try:
        done = subprocess.run(cmd, cwd=str(folder), input=json.dumps(request).encode(), env=env,
                              capture_output=True, timeout=_RUNNER_SECONDS, start_new_session=True)
    except subprocess.TimeoutExpired:
        return None, f"the tests did not finish within {_RUNNER_SECONDS} s"
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return None, f"the test process failed (exit code {done.returncode}: {tail[0][:300]})"
    try:
        results = json.loads(lines[-1])
    except ValueError:
        return None, "the test process wrote no results"
    if not isinstance(results, dict) or set(results) != set(ctx.build.questions):
        return None, "the test process returned incomplete results"
    return results, ""


def _status(events: list[dict]) -> str:
    kinds = {e["kind"] for e in events}
    if kinds & {"cell_timeout", "time_limit"}:
        return "timeout"
    if kinds:
        return "error"
    return "ok"


def _grade_one(sub: Submission, ctx: _Context) -> dict:
    """Everything about one submission; never raises (a grader problem gives status ``failed``)."""
    import nbformat

    graded = {"student": sub.student, "status": "failed", "results": None, "events": [], "problem": "",
              "found": None, "version": None}
    scratch = None
    try:
        nb = _read_notebook(sub.path.read_bytes())
        if nb is None:
            graded["status"] = "invalid"
            return graded
        graded["version"] = _assign.version_of(nb)
        found = assignment_of(nb)
        if found is not None and found != ctx.build.name:
            graded.update(status="wrong_assignment", found=found)
            return graded
        scratch = Path(tempfile.mkdtemp(prefix="s-", dir=ctx.scratch_root))
        workdir = scratch / "work"
        workdir.mkdir()
        # otter.Notebook(...) in the init cell looks for the notebook under the master's name.
        nb_path = workdir / f"{ctx.build.name}.ipynb"
        nbformat.write(nb, nb_path)
        state = _execute(nb_path, scratch, ctx)
        graded["events"] = state["events"]
        results, problem = _run_tests(state["answers"], state["at_check"], ctx)
        if results is None:
            graded["problem"] = problem
            return graded
        graded.update(status=_status(state["events"]), results=results)
        return graded
    except Exception as exc:  # one submission must never stop the others
        graded.update(status="failed", results=None,
                      problem=f"grader error {type(exc).__name__}: {exc} "
                              f"({traceback.format_exc(limit=-1).strip().splitlines()[-2].strip()})")
        return graded
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


# ---- feedback and gradebook ----------------------------------------------------------------------

def _event_line(e: dict) -> str:
    where = f"code cell {e.get('cell', '?')}" + (f" ({e['line']})" if e.get("line") else "")
    kind = e["kind"]
    if kind == "error":
        evalue = " ".join(str(e.get("evalue", "")).split())[:300]
        return f"{where} raised {e.get('ename', 'an error')}: {evalue}"
    if kind == "cell_timeout":
        return f"{where} was still running after {float(e.get('seconds', 0)):g} s and was interrupted (an endless loop?)"
    if kind == "time_limit":
        return f"the time limit for the whole notebook ran out at code cell {e.get('cell', '?')}; later cells did not run"
    if kind == "output_limit":
        return f"{where} printed more than {e.get('bytes', '?')} bytes and was stopped"
    if kind == "kernel_died":
        return f"the kernel died in {where} (exit() or os._exit()?); later cells did not run"
    if kind == "kernel_broken":
        return (f"the kernel stopped answering Jupyter properly after {where} (did the notebook replace "
                "something Jupyter itself uses, such as json.dumps?); later cells did not run")
    if kind == "kernel_stopped":
        return f"the kernel could not be stopped cleanly after {where}; later cells did not run"
    return f"the notebook could not be run past code cell {e.get('cell', '?')}"


def _feedback(student, b: _assign.Build, graded: dict, score) -> str:
    status, results, events = graded["status"], graded["results"], graded["events"]
    lines = [f"Assignment {b.name}: feedback for {student}",
             f"Score: {_fmt(score)} / {_fmt(b.max_score)}    Status: {status}", ""]
    if status == "invalid":
        lines += ["This file is not a readable Jupyter notebook, so nothing could be graded.",
                  "Open it in JupyterLab, save it, and submit the .ipynb file again."]
        return "\n".join(lines) + "\n"
    if status == "wrong_assignment":
        lines += [f"This notebook is assignment {graded['found']}, not {b.name}, so it was not graded.",
                  f"Submit your notebook of {b.name} (the one that starts with otter.Notebook(\"{b.name}.ipynb\"))."]
        return "\n".join(lines) + "\n"
    if status == "failed":
        lines += ["Your notebook could not be graded because of a problem on the grading side, not in your",
                  "answers. Your instructor has been told and will grade it again."]
        return "\n".join(lines) + "\n"
    version_note = _version_note(b, graded.get("version"))
    if version_note:
        lines += version_note + [""]
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
    for q, w in b.manual.items():
        lines.append(_written_line(q, w.points))
    return "\n".join(lines).rstrip() + "\n"


def _written_line(q: str, points: float, mark: float | None = None) -> str:
    """The feedback line of a written question: pending, or its mark once merged (mlmlab_grading.written)."""
    if mark is None:
        return f"{q}: {_fmt(points)} points, a written answer marked by hand: pending (not in the score above)"
    return f"{q}: {_fmt(mark)} / {_fmt(points)} points, a written answer marked by hand"


def _version_note(b: _assign.Build, version: str | None) -> list[str]:
    """Feedback lines when a notebook was not made from the current version of the assignment."""
    if not b.version or version == b.version:
        return []
    if version is None:
        return [f"Note: your notebook carries no version stamp of assignment {b.name} (its metadata were removed,",
                "or it was not made from the course's exercise notebook), so it could not be checked against",
                f"the current version ({b.version}). It was graded all the same."]
    return [f"Note: your notebook was made from an earlier version of assignment {b.name} ({version}; the current",
            f"one is {b.version}). Questions or checks may have changed since: compare it with the current",
            f"exercises/{b.name}.ipynb. It was graded against the current version."]


def _version_notes(b: _assign.Build, graded: list[dict]) -> list[str]:
    """Run notes naming the students whose notebook is of an earlier version or has no stamp."""
    graded = [g for g in graded if g["status"] not in ("invalid", "wrong_assignment")]
    older = sorted(g["student"] for g in graded if g.get("version") not in (None, b.version))
    missing = sorted(g["student"] for g in graded if g.get("version") is None)
    notes = []
    if older:
        notes.append(f"made from an earlier version of {b.name} (current {b.version}): {', '.join(older)}")
    if missing:
        notes.append(f"no version stamp (metadata removed or not made from the exercise): {', '.join(missing)}")
    return notes


def _row(b: _assign.Build, graded: dict) -> dict:
    results = graded["results"] or {}
    per_q = {q: float(results[q]["score"]) if q in results else 0.0 for q in b.questions}
    row = {"student": graded["student"], "assignment": b.name, "score": round(sum(per_q.values()), 4),
           "max_score": round(b.max_score, 4), "status": graded["status"],
           **{q: round(v, 4) for q, v in per_q.items()}}
    if b.manual:
        row[WRITTEN_PENDING] = round(b.manual_points, 4)
    return row


def _columns(b: _assign.Build) -> list[str]:
    return GRADEBOOK_COLUMNS + b.questions + ([WRITTEN_PENDING] if b.manual else [])


def _read_previous(out: Path, name: str | None) -> pd.DataFrame | None:
    """The gradebook already in ``out`` (checked to be of assignment ``name`` unless None), or None."""
    path = out / "gradebook.csv"
    if not path.exists():
        return None
    try:
        old = pd.read_csv(path, dtype={"student": str, "assignment": str, "status": str},
                          keep_default_na=False, na_values={c: [""] for c in ("score", "max_score")})
    except Exception as exc:
        raise GradingError(f"{path} exists but cannot be read as a gradebook ({type(exc).__name__}: {exc}); "
                           "move it away or choose another --out.") from None
    missing = [c for c in GRADEBOOK_COLUMNS if c not in old.columns]
    if missing:
        raise GradingError(f"{path} is not a gradebook of this grader (no column {', '.join(missing)}); "
                           "move it away or choose another --out.")
    others = sorted(set(old["assignment"]) - {name})
    if others and name is not None:
        raise GradingError(f"{path} holds grades of {', '.join(others)}, not {name}; "
                           f"choose another --out for {name}.")
    return old


def _backup(out: Path) -> Path:
    folder = out / "backups"
    folder.mkdir(exist_ok=True)
    taken = [int(m.group(1)) for p in folder.glob("gradebook-*.csv")
             if (m := re.match(r"gradebook-(\d+)\.csv$", p.name))]
    target = folder / f"gradebook-{max(taken, default=0) + 1:03d}.csv"
    shutil.copy2(out / "gradebook.csv", target)
    return target


def _merge(old: pd.DataFrame | None, new: pd.DataFrame, b: _assign.Build) -> pd.DataFrame:
    columns = _columns(b)
    if old is not None:
        columns += [c for c in old.columns if c not in columns]
        kept = old[~old["student"].isin(set(new["student"]))]
        frames = [f for f in (kept.reindex(columns=columns), new.reindex(columns=columns)) if len(f)]
        book = pd.concat(frames, ignore_index=True) if frames else new.reindex(columns=columns)
    else:
        book = new.reindex(columns=columns)
    return book.sort_values("student", kind="stable").reset_index(drop=True)


def _write_csv(book: pd.DataFrame, path: Path) -> None:
    _write_text(path, book.to_csv(index=False, lineterminator="\n"))


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then move it into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace", newline="")
    os.replace(tmp, path)


def _feedback_name(student: str) -> str:
    return student.replace("/", "_").replace("\0", "_")


# ---- checks before grading -----------------------------------------------------------------------

def _check_out(out: Path, submissions: Path, masters: Path) -> None:
    out_r, subs_r, masters_r = out.resolve(), submissions.resolve(), masters.resolve()
    if out.exists() and not out.is_dir():
        raise GradingError(f"--out {out} is a file, not a folder; choose a folder for the gradebook.")
    for name, other in (("--submissions", subs_r), ("--masters", masters_r)):
        if out_r == other or out_r.is_relative_to(other) or other.is_relative_to(out_r):
            raise GradingError(f"--out {out} overlaps {name} {other}; choose an output folder outside it.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradingError(f"--out {out} cannot be created ({exc.strerror}); choose a writable folder.") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise GradingError(f"--out {out} is not writable; choose a writable folder.")


def _check_master(b: _assign.Build, ctx: _Context) -> tuple[float, float]:
    """Grade the master's worked solution first: it must earn full marks, else nothing is graded."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="master-", dir=ctx.scratch_root) as tmp:
        path = Path(tmp) / f"{b.name}.ipynb"
        nbformat.write(b.autograder, path)
        graded = _grade_one(Submission("(worked solution)", path), ctx)
    row = _row(b, graded)
    if graded["status"] == "ok" and row["score"] == round(b.max_score, 4):
        return row["score"], b.max_score
    problems = [_event_line(e) for e in graded["events"]]
    if graded["problem"]:
        problems.append(graded["problem"])
    for q, r in (graded["results"] or {}).items():
        for case in r["cases"]:
            if not case["passed"]:
                tag = " (hidden)" if case["hidden"] else ""
                problems.append(f"test {case['name']}{tag} failed: {case['message'] or case['failure_message']}")
    raise GradingError(
        f"The worked solution in {b.master} earns {_fmt(row['score'])} / {_fmt(b.max_score)} "
        f"(status {graded['status']}), so nothing was graded: {'; '.join(problems) or 'no detail'}. "
        "Fix the test or the solution in the master, then grade again.")


def _choose_sandbox(sandbox: bool) -> _sandbox.Sandbox:
    if not sandbox:
        who = f"uid {os.getuid()}" + (" (root)" if os.getuid() == 0 else "")
        return _sandbox.Sandbox(None, False, f"NONE (--no-sandbox): student code runs as {who} with your files "
                                             "and network; use only for trusted submissions")
    found = _sandbox.probe()
    if isinstance(found, str):
        raise GradingError(f"No sandbox: {found}. Grading runs student code, so it refuses to run without one; "
                           "pass --no-sandbox (sandbox=False) only for submissions you trust, since their code "
                           "would then run as you, with your files and network.")
    return found


# ---- the entry points ----------------------------------------------------------------------------

def run(assignment, submissions, out, *, masters=None, time_limit=600, cell_timeout=120,
        max_output=10_000_000, memory_limit=4096, workers=None, sandbox=True) -> Report:
    """Grade a folder of submissions; the details of :func:`grade` plus what was skipped and why.

    Parameters
    ----------
    assignment, submissions, out, masters, time_limit, cell_timeout, max_output, memory_limit, workers, sandbox
        As for :func:`grade`.

    Returns
    -------
    Report
    """
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise argument_error("grade", "submissions", "a folder of .ipynb files", str(submissions),
                             fix="Collect the notebooks into one folder and pass its path.",
                             kind=GradingError)
    workers = check_positive_int(workers if workers is not None else (os.cpu_count() or 1),
                                 "grade", "workers")
    for name, value in (("time_limit", time_limit), ("cell_timeout", cell_timeout), ("max_output", max_output),
                        ("memory_limit", memory_limit)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise argument_error("grade", name, "a positive number", value, kind=GradingError)
    masters = Path(masters) if masters is not None else _assign.default_masters_dir()
    if not masters.is_dir():
        raise argument_error("grade", "masters", "a folder of master notebooks", str(masters), kind=GradingError)
    try:
        master = _assign.find_master(assignment, masters)
    except ValueError as exc:
        raise GradingError(str(exc)) from None
    _check_out(out, submissions, masters)
    previous = _read_previous(out, master.stem)
    subs, skipped, ignored = collect(submissions)
    if not subs:
        listed = "; ".join(f"{n} ({why})" for n, why in skipped) or "the folder is empty"
        raise GradingError(f"No submissions to grade in {submissions}: {listed}. "
                           "Put one .ipynb per student there (named by student id).")
    ids = [s.student for s in subs]
    dupes = sorted({s for s in ids if ids.count(s) > 1})
    if dupes:
        raise argument_error("grade", "submissions", "a folder with one notebook per student", str(submissions),
                             detail=f"repeated ids: {', '.join(dupes)}", kind=GradingError)
    box = _choose_sandbox(sandbox)
    b = _assign.build(master)
    limits = {"time_limit": float(time_limit), "cell_timeout": float(cell_timeout),
              "max_output": int(max_output), "memory_limit": int(memory_limit)}
    notes = [f"{s.student}: {s.note}" for s in subs if s.note]
    scratch_root = Path(tempfile.mkdtemp(prefix="mlmlab-grading-"))
    try:
        hide = [submissions, out, masters, scratch_root, Path.cwd(), masters.resolve().parent]
        ctx = _Context(b, limits, scratch_root, box, hide, (_PACKAGE / "plain.py").read_text(encoding="utf-8"),
                       (_PACKAGE / "memo.py").read_text(encoding="utf-8"))
        # The master's check runs in the pool beside the first submissions (no worker idles while it runs);
        # if it fails, nothing that has not started is graded and no gradebook is written.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            checking = pool.submit(_check_master, b, ctx)
            pending = [pool.submit(_grade_one, s, ctx) for s in subs]
            try:
                master_check = checking.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            graded = [f.result() for f in pending]
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
    rows = [_row(b, g) for g in graded]
    notes += _version_notes(b, graded)
    new = pd.DataFrame(rows, columns=_columns(b))
    new = new.sort_values("student", kind="stable").reset_index(drop=True)
    book = _merge(previous, new, b)
    marked = previous is not None and any(q in previous.columns for q in b.manual)
    if marked:  # written marks merged earlier survive the regrade
        from mlmlab_grading import written as _written

        book, kept_marks = _written.carry_marks(previous, book, b, set(new["student"]))
        if kept_marks:
            notes.append(f"written marks merged earlier kept for regraded {', '.join(kept_marks)} "
                         "(if they resubmitted, look at their new written answers)")
    if previous is not None:
        backup = _backup(out)
        kept = len(book) - len(new)
        notes.append(f"merged into the existing gradebook ({kept} earlier row(s) kept); "
                     f"the previous one is in {backup}")
    _write_csv(book, out / "gradebook.csv")
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    for g, row in zip(graded, rows):
        if g["problem"]:
            notes.append(f"{g['student']}: could not be graded: {g['problem']}")
        name = _feedback_name(g["student"])
        try:
            for stale in feedback_dir.glob(f"{glob_escape(name)}.*"):
                stale.unlink()
            text = _feedback(g["student"], b, g, row["score"])
            if marked:
                text = _written.marked_feedback(text, book[book["student"] == g["student"]].iloc[0], b)
            (feedback_dir / f"{name}.txt").write_text(text, encoding="utf-8", errors="backslashreplace")
            (feedback_dir / f"{name}.html").write_text(_export.feedback_html(text, g["student"]),
                                                       encoding="utf-8", errors="backslashreplace")
        except OSError as exc:
            notes.append(f"{g['student']}: feedback could not be written ({exc})")
    try:
        _export.write_class_stats(book, out, {**b.points, **{q: w.points for q, w in b.manual.items()}})
    except Exception as exc:  # statistics are a convenience: never lose a grading run over them
        notes.append(f"class statistics could not be written ({type(exc).__name__}: {exc})")
    return Report(book=book, graded=new, skipped=skipped, ignored=ignored, notes=notes,
                  sandbox=box.description, master_check=master_check)


def glob_escape(text: str) -> str:
    """``text`` with glob wildcards escaped (a student id may contain ``[`` or ``*``)."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def grade(assignment, submissions, out, *, masters=None, time_limit=600, cell_timeout=120,
          max_output=10_000_000, memory_limit=4096, workers=None, sandbox=True) -> pd.DataFrame:
    """Grade every submission in ``submissions`` and write the gradebook and feedback to ``out``.

    Parameters
    ----------
    assignment : str or int
        Assignment number (``3``, ``"03"``) or master stem (``"03_icc"``).
    submissions : str or Path
        Folder of submitted notebooks; each file stem (or folder name) is a student id.
        Files are only read.
    out : str or Path
        Output folder, outside ``submissions``; gets ``gradebook.csv`` and ``feedback/<student>.txt``.
        An existing gradebook of the same assignment is kept: regraded students' rows are replaced,
        the others stay, and the previous file is copied to ``out/backups/``.
    masters : str or Path, optional
        Folder of master notebooks; default ``solutions/`` in the current directory (an error if
        there is none).
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
    sandbox : bool, default=True
        Run each submission under bubblewrap; if it is unavailable, refuse (a GradingError).
        False runs student code as you, with your files and network: trusted submissions only.

    Returns
    -------
    pandas.DataFrame
        The whole gradebook: ``student, assignment, score, max_score, status`` and one column of
        points per question graded by tests, then, for an assignment with written questions, their
        points in ``written_pending`` (marked by hand, not in ``score`` until merged by
        :func:`mlmlab_grading.written.merge`, which adds a column per written question; a regrade keeps
        merged marks), one row per student sorted by student. ``status`` is ``ok``,
        ``error`` (a cell raised, the kernel died or printed too much), ``timeout`` (a cell or
        the whole notebook ran out of time), ``invalid`` (not a readable notebook),
        ``wrong_assignment`` (a notebook of another assignment) or ``failed`` (the grader could
        not grade it; see the command's output).

    Raises
    ------
    GradingError
        Before any submission runs: bad options, no submissions, an output folder that cannot be
        used, no sandbox, or a master whose worked solution does not earn full marks.

    Used to grade the course's exercises; see docs/instructors.md.
    """
    return run(assignment, submissions, out, masters=masters, time_limit=time_limit,
               cell_timeout=cell_timeout, max_output=max_output, memory_limit=memory_limit,
               workers=workers, sandbox=sandbox).book
