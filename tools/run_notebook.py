"""Execute notebooks in place, deterministically, so they can be committed with their outputs.

    python tools/run_notebook.py notebooks/03_icc.ipynb [more.ipynb ...]
    make notebooks            # every lesson, after refreshing the navigation

What makes a rerun give the same file (and strict nbval compare equal):
- the kernel is this environment's Python (like `pytest --nbval-current-env`), started in the
  notebook's folder with MPLBACKEND set to the inline backend and PYTHONHASHSEED=0;
- cell ids are kept, and cells without one get a fixed id derived from their position;
- no execution timing is recorded and stale `execution` metadata is removed;
- execution counts run 1, 2, 3 … in order;
- ipywidgets model ids (random UUIDs) are renamed to ids derived from the notebook's name and the
  order they appear in, both in the outputs and in the saved widget state.

A cell that raises stops the run and leaves the file untouched (tag a cell `raises-exception` when the
error is the lesson).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL_NAME = "python3"
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
    "JUPYTER_PREFER_ENV_PATH": "1",
}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TIMEOUT = 600


class CurrentEnvKernelSpecManager(KernelSpecManager):
    """Always start the kernel with the Python running this script (the course's .venv)."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict())


def fix_cell_ids(nb: nbformat.NotebookNode) -> None:
    """Give every cell a stable, unique id (existing ids are kept)."""
    nb["nbformat"], nb["nbformat_minor"] = 4, max(nb.get("nbformat_minor", 5), 5)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen:
            cell_id = f"cell-{index:03d}"
            while cell_id in seen:
                cell_id += "x"
        cell["id"] = cell_id
        seen.add(cell_id)


def strip_volatile_metadata(nb: nbformat.NotebookNode) -> None:
    """Remove run-to-run metadata: timings and execution records."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)


def _widget_model_order(nb: nbformat.NotebookNode) -> list[str]:
    """Widget model ids in a run-independent order.

    Breadth-first from the models the outputs display (in cell order), following ``IPY_MODEL_<id>``
    references in each model's state (fields in sorted order); models nothing refers to come last,
    ordered by their state with ids blanked out.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    queue = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                queue.append(view["model_id"])
    order: list[str] = []
    while queue:
        model = queue.pop(0)
        if model in order:
            continue
        order.append(model)
        text = json.dumps(state.get(model, {}), sort_keys=True)
        queue.extend(re.findall(r"IPY_MODEL_([0-9a-f]{32})", text))
    hex_id = re.compile(r"[0-9a-f]{32}")
    rest = sorted(
        (m for m in state if m not in order),
        key=lambda m: hex_id.sub("", json.dumps(state[m], sort_keys=True)),
    )
    return order + rest


def stable_widget_ids(nb: nbformat.NotebookNode, salt: str) -> nbformat.NotebookNode:
    """The notebook with widget model ids made deterministic (only ids that are widget models)."""
    order = _widget_model_order(nb)
    if not order:
        return nb
    mapping = {old: hashlib.md5(f"{salt}:{i}".encode()).hexdigest() for i, old in enumerate(order)}
    pattern = re.compile("|".join(re.escape(old) for old in order))
    text = json.dumps(nb, sort_keys=True)
    return nbformat.from_dict(json.loads(pattern.sub(lambda m: mapping[m.group(0)], text)))


def execute(path: Path, timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` top to bottom and return it, made deterministic."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("nbformat") == 4:  # give id-less cells their fixed ids before nbformat invents random ones
        raw["nbformat_minor"] = max(raw.get("nbformat_minor", 5), 5)
        fix_cell_ids(nbformat.NotebookNode(raw))
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    fix_cell_ids(nb)
    env = {**os.environ, **KERNEL_ENV}
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=CurrentEnvKernelSpecManager())
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        record_timing=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    with open(os.devnull, "w") as quiet:  # the kernel's own log chatter (cell errors still arrive as messages)
        client.execute(env=env, cwd=str(path.parent.resolve()), stderr=quiet)
    strip_volatile_metadata(nb)
    nb = stable_widget_ids(nb, salt=path.stem)
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in place, deterministically.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=TIMEOUT, help="seconds per cell (default %(default)s)")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"{path}: not a notebook file (expected an existing .ipynb)", file=sys.stderr)
            failed.append(path)
            continue
        print(f"executing {path} …", flush=True)
        try:
            nb = execute(path, timeout=args.timeout)
        except CellExecutionError as error:
            print(f"{path}: a cell raised; file left unchanged.\n{error}", file=sys.stderr)
            failed.append(path)
            continue
        nbformat.write(nb, path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
