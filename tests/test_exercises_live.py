"""`grader.check` passes on every worked solution in a live Jupyter kernel, as a learner's check runs.

(Apart from tests/test_exercises.py so that the two slow halves run side by side under ``make test``.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mlmlab_grading import assign as _assign

MASTERS = _assign.list_masters(Path(__file__).resolve().parents[1] / "solutions")
STEMS = [m.stem for m in MASTERS]


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


@pytest.fixture(scope="module")
def builds():
    return {m.stem: _assign.build(m) for m in MASTERS}


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_grader_check_passes_on_the_solution_in_a_live_kernel(stem, builds, tmp_path):
    from nbclient import NotebookClient

    nb = builds[stem].autograder
    path = tmp_path / f"{stem}.ipynb"
    nbformat.write(nb, path)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and _source(c).startswith("grader.check(")]
    assert len(checks) == len(builds[stem].questions)
    for cell in checks:
        shown = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "All test cases passed!" in shown, f"{_source(cell)} -> {shown}"
        html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
        # no emoji (an empty box without an emoji font): otter's random one is replaced by a check mark
        assert "passed! ✓" in html and not any(ord(ch) >= 0x1F000 or ch == "✨" for ch in html), html
