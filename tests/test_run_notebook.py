"""tools/run_notebook.py executes a notebook in place, deterministically (so nbval compares equal)."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "run_notebook.py"

pytestmark = pytest.mark.slow

CELLS = [
    new_markdown_cell("# A notebook"),
    new_code_cell("import sys\nimport matplotlib.pyplot as plt\nimport ipywidgets as widgets\nprint(sys.executable)"),
    new_code_cell("sorted({'b', 'a'}), list({'pooling', 'shrinkage', 'icc', 'blup'})"),
    new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nax.set(title='t');"),
    new_code_cell("box = widgets.HBox([widgets.IntSlider(value=3), widgets.Label('x')])\nbox"),
]


def _run(path):
    return subprocess.run([sys.executable, str(TOOL), str(path)], capture_output=True, text=True)


@pytest.fixture
def notebook(tmp_path):
    nb = new_notebook(cells=[c.copy() for c in CELLS])
    nb.cells[0]["id"] = "title"
    del nb.cells[2]["id"]  # a cell without an id gets a fixed one (nbformat.write would invent one)
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_two_runs_give_identical_files(notebook):
    first = _run(notebook)
    assert first.returncode == 0, first.stderr
    once = notebook.read_bytes()
    second = _run(notebook)
    assert second.returncode == 0, second.stderr
    assert notebook.read_bytes() == once


def test_outputs_match_what_jupyter_shows(notebook):
    assert _run(notebook).returncode == 0
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4]
    assert code[0].outputs[0]["text"].strip() == sys.executable  # the kernel is this environment's Python
    plot = code[2].outputs
    assert [o["output_type"] for o in plot] == ["display_data"] and "image/png" in plot[0]["data"]  # ';' hides Text
    view = code[3].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert view["model_id"] in state
    assert all("execution" not in c.metadata for c in nb.cells)
    assert [c.id for c in nb.cells][:3] == ["title", nb.cells[1].id, "cell-002"]
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_a_failing_cell_leaves_the_file_unchanged(tmp_path):
    nb = new_notebook(cells=[new_code_cell("1 + 1"), new_code_cell("raise ValueError('boom')")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    result = _run(path)
    assert result.returncode == 1
    assert "a cell raised; file left unchanged" in result.stderr and "boom" in result.stderr
    assert path.read_bytes() == before


def test_not_a_notebook_is_refused(tmp_path):
    result = _run(tmp_path / "missing.ipynb")
    assert result.returncode == 1
    assert "not a notebook file (expected an existing .ipynb)" in result.stderr
