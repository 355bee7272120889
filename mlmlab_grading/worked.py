"""Worked solutions for self-learners, generated from a master (``python tools/make_exercises.py --worked DIR``).

The view keeps what a learner needs to see *why* an answer is right and drops what belongs to grading:

* kept: the title and set-up, every question as the learner saw it, the worked solution code (without the
  prompt skeleton and the solution markers), the model answer of each written question, and the master's
  explanations — markdown cells that begin with ``**Why.**``, placed after a question's solution;
* dropped: the assignment config, otter's markers, every public and hidden test.

Explanations never reach the student notebook: :func:`mlmlab_grading.assign.build` removes them before
``otter assign`` runs. Publish the view after the deadline (it contains every answer).
"""

from __future__ import annotations

import copy
import re

import nbformat

EXPLANATION = "**Why.**"
_MARKER = re.compile(r"^#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b|^#\s+ASSIGNMENT\s+CONFIG", re.I)
_PROMPT = re.compile(r'^""" # BEGIN PROMPT\n.*?^""" # END PROMPT\n', re.M | re.S)
_NOTE = ("**Worked solutions.** Each answer below is worked out in code, and most say *why* it is right "
         "(the paragraphs headed **Why.**). Try the exercise notebook first: reading a solution is not the "
         "same as finding it.")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def is_explanation(cell) -> bool:
    """A master's explanation cell: markdown beginning with ``**Why.**``."""
    return cell.get("cell_type") == "markdown" and _source(cell).lstrip().startswith(EXPLANATION)


def solution_code(source: str) -> str:
    """A master's solution cell as worked code: no prompt skeleton, no solution markers."""
    source = _PROMPT.sub("", source)
    lines = []
    for line in source.splitlines():
        if re.match(r"^\s*#\s*(BEGIN|END) SOLUTION", line):
            continue
        lines.append(re.sub(r"\s*# ?SOLUTION\s*$", "", line))
    return "\n".join(lines).strip("\n")


def worked_notebook(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The worked-solutions view of a master (a new notebook; the master is not changed).

    Parameters
    ----------
    master : NotebookNode

    Returns
    -------
    NotebookNode
    """
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(master.metadata))
    titled = False
    for cell in master.cells:
        src = _source(cell)
        if cell.cell_type == "raw" and _MARKER.match(src.lstrip()):
            continue
        if cell.cell_type == "code":
            if src.lstrip().startswith('""" # BEGIN TEST CONFIG'):
                continue
            code = solution_code(src)
            if code.strip():
                out.cells.append(nbformat.v4.new_code_cell(code))
            continue
        if cell.cell_type == "markdown" and not titled and src.startswith("# Exercises "):
            intro = src.split("\n\n**How this works.**")[0]  # the exercise's instructions do not apply here
            out.cells.append(nbformat.v4.new_markdown_cell(intro.replace("# Exercises ", "# Worked solutions ", 1)))
            out.cells.append(nbformat.v4.new_markdown_cell(_NOTE))
            titled = True
            continue
        if cell.cell_type == "markdown" and "**Done?**" in src:
            continue  # the exercise's closing instructions (run the checks, hand in)
        out.cells.append(copy.deepcopy(cell))
    for i, cell in enumerate(out.cells):
        cell["id"] = f"w{i:03d}"
        cell.metadata = nbformat.NotebookNode({})
    return out


def without_explanations(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The master without its explanation cells (what ``otter assign`` gets)."""
    nb = copy.deepcopy(master)
    nb.cells = [c for c in nb.cells if not is_explanation(c)]
    return nb
