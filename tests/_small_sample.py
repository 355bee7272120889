"""Shared by tests/test_kenward_roger.py and tests/test_anova.py: the frozen numbers of
tools/kenward_roger_reference.R (tests/reference/kenward_roger.json) and the REML fits they describe, fitted
once per test session."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

from mlmlab import datasets, fit

REF = json.loads((Path(__file__).parent / "reference" / "kenward_roger.json").read_text(encoding="utf-8"))["models"]


@functools.lru_cache(maxsize=None)
def reference_fit(key: str):
    entry = REF[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(entry["formula"], datasets.load(entry["dataset"]), reml=True)
