"""Answer keys without a pattern a student could game.

Across the course's multiple-choice items no letter is the key of more than 40 % of them, the key is
not systematically the longest option, and the true/false keys are mixed. The keys are read from the
masters' solution lines (``q5_answer = "c"  # SOLUTION``) and the options from the question's markdown
(``* **a.** ...``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

MASTERS = sorted((Path(__file__).resolve().parents[1] / "solutions").glob("[0-9][0-9]_*.ipynb"))
_KEY = re.compile(r'^(q\d+)_answer = "([a-e])"\s+# SOLUTION', re.M)
_BOOL = re.compile(r"^(\w+) = (True|False)\s+# SOLUTION", re.M)
_BLOCK = re.compile(r"# BEGIN SOLUTION[^\n]*\n(.*?)# END SOLUTION", re.S)   # a whole solution block
_BLOCK_BOOL = re.compile(r"^(\w+) = (True|False)\s*$", re.M)
_OPTION = re.compile(r"^\* \*\*([a-e])\.\*\* (.+)$", re.M)


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def multiple_choice(path) -> list[tuple[str, str, dict[str, str]]]:
    """(question, key, {letter: option text}) for each multiple-choice item of a master."""
    items, options = [], {}
    for cell in _cells(path):
        if cell.cell_type == "markdown":
            found = dict(_OPTION.findall(cell.source))
            if found:
                options = found
        elif cell.cell_type == "code":
            for question, key in _KEY.findall(cell.source):
                items.append((question, key, options))
    return items


def true_false(path) -> list[tuple[str, bool]]:
    """(name, key) of each true/false item: a ``name = True  # SOLUTION`` line, or a bare ``name = False`` line
    inside a ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block."""
    out = []
    for cell in _cells(path):
        if cell.cell_type == "code":
            out += [(name, value == "True") for name, value in _BOOL.findall(cell.source)]
            out += [(name, value == "True") for block in _BLOCK.findall(cell.source)
                    for name, value in _BLOCK_BOOL.findall(block)]
    return out


ALL_MC = [(p.stem, *item) for p in MASTERS for item in multiple_choice(p)]
ALL_TF = [(p.stem, *item) for p in MASTERS for item in true_false(p)]


def test_the_keys_are_found():
    assert len(ALL_MC) >= 8 and len(ALL_TF) >= 9
    names = {name for _, name, _ in ALL_TF}
    assert {"blups_understate_tau11", "naive_is_within"} <= names   # keys inside solution blocks are read too
    for stem, question, key, options in ALL_MC:
        assert len(options) >= 3 and key in options, (stem, question, sorted(options))


def test_no_letter_is_the_key_of_more_than_40_percent():
    counts = Counter(key for _, _, key, _ in ALL_MC)
    assert max(counts.values()) <= 0.4 * len(ALL_MC), counts
    assert len(counts) >= 3, counts


def test_the_key_is_not_systematically_the_longest_option():
    longest = [(stem, q) for stem, q, key, options in ALL_MC
               if len(options[key]) == max(len(text) for text in options.values())]
    assert len(longest) <= len(ALL_MC) / 2, longest


@pytest.mark.parametrize("value", [True, False])
def test_true_false_keys_are_mixed(value):
    """Answering every true/false item with one value must not earn most of their points."""
    assert sum(v is value for *_, v in ALL_TF) >= max(2, len(ALL_TF) // 3), ALL_TF
