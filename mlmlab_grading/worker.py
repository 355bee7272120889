"""Execute one submission in a fresh kernel and export its answers as plain data.

Run by :mod:`mlmlab_grading` as ``python -I worker.py`` (a copy of this file in the
submission's own scratch folder, inside the sandbox when there is one) with a JSON
request on stdin, in its own process session, one process per submission::

    {"notebook": "<copy of the submission>", "workdir": "<kernel cwd>",
     "progress": "<json file to write>", "names": ["rho", ...], "plain_source": "<plain.py>",
     "memo_source": "<memo.py>",
     "env": {"HOME": ...}, "time_limit": 600, "cell_timeout": 120, "max_output": 10000000,
     "memory_limit": 4096}

This file imports only the standard library and jupyter_client, never the grading
package (which is not reachable from inside the sandbox).

Every code cell runs in order in a new IPython kernel whose working directory is
``workdir`` (a scratch copy; the submission itself is never touched). After
each cell, a small export request (not stored in the kernel's history) turns the
variables in ``names`` into plain JSON (:mod:`mlmlab_grading.plain`), so answers given
before a crash, a kernel exit or an endless loop still count. The export right after a
cell that runs ``grader.check("qN")`` without error is kept for that question
(``at_check``): like otter's own grading, a checked question is graded on the values
its last check saw, an unchecked one on the final state. The progress file
is rewritten after every cell; the grader reads it even if this process is killed.

Cells that raise do not stop the run (later answers still count). A cell that
runs longer than ``cell_timeout`` or prints more than ``max_output`` bytes is
interrupted; if the kernel does not recover within a few seconds it is killed
and the run ends. The run also ends when the kernel dies or ``time_limit``
seconds have passed. The kernel's address space is capped at ``memory_limit`` MB.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from queue import Empty

EXPORT_MARK = "<<mlmlab-grader-export>>"

RECOVER_SECONDS = 5.0
EXPORT_SECONDS = 30.0
PRELOAD_SECONDS = 120.0
# Imported once before the first cell (not counted against the cell time limit), so a
# cell's time limit measures the student's code and not a cold import of the stack.
PRELOAD = ("numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib.pyplot", "otter", "mlmlab")


def _preload_code(plain_source: str, memo_source: str = "") -> str:
    """Imports, and the exporter built before any student cell runs (so it holds the
    pristine ``json.dumps``).

    jsonschema (imported by nbformat, imported by otter) loads the optional IRI-format checker
    rfc3987_syntax when it is installed, building its grammar: about a second per submission for a format
    no notebook schema uses. The preload leaves it out, as jsonschema does when it is not installed."""
    lines = ["import sys as __mlmlab_sys", "__mlmlab_sys.modules.setdefault('rfc3987_syntax', None)",
             "del __mlmlab_sys", "import importlib as __mlmlab_il"]
    for name in PRELOAD:
        lines.append(f"try:\n    __mlmlab_il.import_module({name!r})\nexcept Exception:\n    pass")
    lines.append("del __mlmlab_il")
    if memo_source:  # repeated fits (a worked solution's, then its checks') are fitted once: mlmlab_grading.memo
        lines.append(
            "def __mlmlab_remember_fits():\n"
            "    ns = {'__name__': '__mlmlab_memo__'}\n"
            f"    exec(compile({memo_source!r}, '<mlmlab-grader-memo>', 'exec'), ns)\n"
            "    try:\n"
            "        ns['install']()\n"
            "    except Exception:\n"
            "        pass\n"
            "__mlmlab_remember_fits()\n"
            "del __mlmlab_remember_fits"
        )
    lines.append(
        "def __mlmlab_make_exporter():\n"
        "    ns = {'__name__': '__mlmlab_plain__'}\n"
        f"    exec(compile({plain_source!r}, '<mlmlab-grader>', 'exec'), ns)\n"
        "    return ns['dumps']\n"
        "__mlmlab_grader_dumps__ = __mlmlab_make_exporter()\n"
        "del __mlmlab_make_exporter"
    )
    return "\n".join(lines) + "\n"


def _checked_questions(source: str) -> list[str]:
    """Questions of the ``grader.check("qN")`` calls in a cell's code (not in comments or strings)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "grader"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def _first_line(source: str) -> str:
    """The cell's first line of code (not a comment), shortened: names the cell in feedback."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    code = [ln for ln in lines if not ln.startswith("#")] or lines or [""]
    return code[0] if len(code[0]) <= 60 else code[0][:57] + "..."


def _export_code(names: list[str], plain_source: str) -> str:
    """Code that prints the export line (rebuilding the exporter if a cell deleted it)."""
    return (
        "def __mlmlab_grader_export():\n"
        "    dumps = globals().get('__mlmlab_grader_dumps__')\n"
        "    if not callable(dumps):\n"
        "        ns = {'__name__': '__mlmlab_plain__'}\n"
        f"        exec(compile({plain_source!r}, '<mlmlab-grader>', 'exec'), ns)\n"
        "        dumps = ns['dumps']\n"
        f"    return dumps(globals(), {names!r})\n"
        f"print({EXPORT_MARK!r} + __mlmlab_grader_export())\n"
        "del __mlmlab_grader_export\n"
    )


class _Kernel:
    """A kernel plus the bookkeeping needed to run cells under limits."""

    def __init__(self, workdir: str, max_output: int, extra_env: dict | None = None):
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        env.update(extra_env or {})
        env.update({
            "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        # No kernelspec search path: the native ipykernel of *this* interpreter (sys.executable),
        # never a user's own "python3" kernelspec pointing at another Python.
        self.km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
        self.km.start_kernel(cwd=workdir, env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.max_output = max_output
        self.output_used = 0
        self.dead = False

    @property
    def pid(self):
        prov = getattr(self.km, "provisioner", None)
        return getattr(prov, "pid", None)

    def alive(self) -> bool:
        if self.dead:
            return False
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def _drain(self, msg_id: str, deadline: float, capture: list[str] | None, limited: bool):
        """Read iopub until the request is idle. Returns (outcome, error)."""
        error = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", error
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 0.5))
            except Empty:
                if not self.alive():
                    return "dead", error
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text = content.get("text", "")
                if capture is not None:
                    capture.append(text)
                elif limited:
                    self.output_used += len(text.encode("utf-8", "replace"))
            elif kind in ("display_data", "execute_result", "update_display_data"):
                if limited and capture is None:
                    self.output_used += len(json.dumps(content.get("data", {})))
            elif kind == "error":
                error = {"ename": content.get("ename", "Error"), "evalue": content.get("evalue", "")}
            elif kind == "status" and content.get("execution_state") == "idle":
                return "done", error
            if limited and self.output_used > self.max_output:
                return "output", error

    def run(self, code: str, timeout: float, *, store_history: bool = True,
            capture: list[str] | None = None, limited: bool = True) -> dict:
        """Run ``code``; outcome is done, timeout, output (limit hit) or dead."""
        if not self.alive():
            return {"outcome": "dead", "error": None}
        msg_id = self.kc.execute(code, store_history=store_history, allow_stdin=False,
                                 stop_on_error=False)
        self.output_used = 0
        outcome, error = self._drain(msg_id, time.monotonic() + max(timeout, 0.1), capture, limited)
        if outcome in ("timeout", "output"):
            self._interrupt(msg_id)
        elif outcome == "dead":
            self.dead = True
        return {"outcome": outcome, "error": error}

    def _interrupt(self, msg_id: str) -> None:
        try:
            self.km.interrupt_kernel()
        except Exception:
            pass
        outcome, _ = self._drain(msg_id, time.monotonic() + RECOVER_SECONDS, [], False)
        if outcome != "done":
            self.kill()

    def kill(self) -> None:
        self.dead = True
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        if not self.dead:
            self.kill()


def _limit_memory(megabytes) -> None:
    """Cap the address space of this process and so of the kernel it starts (a MemoryError, not a
    machine brought to its knees)."""
    if not megabytes:
        return
    import resource

    limit = int(megabytes) * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _write(path: str, state: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, sort_keys=True)
    os.replace(tmp, path)


def _parse_export(chunks: list[str]) -> str | None:
    text = "".join(chunks)
    lines = [ln for ln in text.splitlines() if ln.startswith(EXPORT_MARK)]
    if not lines:
        return None
    payload = lines[-1][len(EXPORT_MARK):]
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return payload if isinstance(data, dict) else None


def execute(request: dict) -> dict:
    """Run the submission described by ``request``; return (and keep writing) the progress state."""
    sys.modules.setdefault("rfc3987_syntax", None)  # see _preload_code: not needed to read a notebook
    import nbformat

    start = time.monotonic()
    deadline = start + float(request["time_limit"])
    _limit_memory(request.get("memory_limit"))
    state = {"answers": "{}", "at_check": {}, "events": [], "cells_run": 0, "kernel_pid": None,
             "finished": False}
    progress = request["progress"]
    nb = nbformat.read(request["notebook"], as_version=4)
    code_cells = [(i, c) for i, c in enumerate(nb.cells)
                  if c.get("cell_type") == "code" and "".join(c.get("source", "")).strip()]
    plain_source = request["plain_source"]
    export = _export_code(list(request["names"]), plain_source)
    kernel = _Kernel(request["workdir"], int(request["max_output"]), request.get("env"))
    state["kernel_pid"] = kernel.pid
    _write(progress, state)
    kernel.run(_preload_code(plain_source, request.get("memo_source", "")), min(PRELOAD_SECONDS, max(deadline - time.monotonic(), 1.0)),
               store_history=False, limited=False)
    try:
        for number, (index, cell) in enumerate(code_cells, start=1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state["events"].append({"kind": "time_limit", "cell": number})
                break
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            timeout = min(float(request["cell_timeout"]), remaining)
            where = {"cell": number, "line": _first_line(source)}
            try:
                result = kernel.run(source, timeout)
            except Exception as exc:  # the kernel's replies no longer make sense (a cell broke its messaging)
                state["cells_run"] = number
                state["events"].append({"kind": "kernel_broken", **where, "ename": type(exc).__name__})
                break
            state["cells_run"] = number
            if result["error"] is not None:
                state["events"].append({"kind": "error", **where, **result["error"]})
            if result["outcome"] == "timeout":
                kind = "cell_timeout" if timeout < remaining else "time_limit"
                state["events"].append({"kind": kind, **where, "seconds": timeout})
            elif result["outcome"] == "output":
                state["events"].append({"kind": "output_limit", **where,
                                        "bytes": int(request["max_output"])})
            elif result["outcome"] == "dead":
                state["events"].append({"kind": "kernel_died", **where})
            if not kernel.alive():
                if result["outcome"] != "dead":
                    state["events"].append({"kind": "kernel_stopped", **where})
                break
            chunks: list[str] = []
            try:
                exported = kernel.run(export, min(EXPORT_SECONDS, max(deadline - time.monotonic(), 1.0)),
                                      store_history=False, capture=chunks, limited=False)
            except Exception as exc:
                state["events"].append({"kind": "kernel_broken", **where, "ename": type(exc).__name__})
                break
            payload = _parse_export(chunks) if exported["outcome"] == "done" else None
            if payload is not None:
                state["answers"] = payload
            if result["error"] is None and result["outcome"] == "done":
                # otter's policy (Gradescope, `otter grade`): a question is graded on the values
                # its last grader.check("q") that ran without error saw
                for question in _checked_questions(source):
                    state["at_check"][question] = state["answers"]
            _write(progress, state)
            if not kernel.alive():
                state["events"].append({"kind": "kernel_died", **where})
                break
            if time.monotonic() >= deadline:
                if number < len(code_cells):
                    state["events"].append({"kind": "time_limit", "cell": number + 1})
                break
    finally:
        kernel.close()
    state["finished"] = True
    _write(progress, state)
    return state


def main() -> int:
    """Read the request from stdin and run it."""
    request = json.load(sys.stdin)
    os.environ.update(request.get("env") or {})
    execute(request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
