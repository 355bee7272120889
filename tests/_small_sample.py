"""Shared by tests/test_kenward_roger.py and tests/test_anova.py: the frozen numbers of
tools/kenward_roger_reference.R (tests/reference/kenward_roger.json) and the REML fits they describe, fitted
once per test session."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlmlab import datasets, fit

REF = json.loads((Path(__file__).parent / "reference" / "kenward_roger.json").read_text(encoding="utf-8"))["models"]


def _phase(data: pd.DataFrame) -> pd.DataFrame:
    """sleepstudy's days in three phases (as the R script makes them): early 0-2, middle 3-5, late 6-9."""
    phase = np.where(data["Days"] <= 2, "early", np.where(data["Days"] <= 5, "middle", "late"))
    return data.assign(phase=pd.Categorical(phase, categories=["early", "middle", "late"]))


DERIVED = {"sleepstudy_phase": _phase, "sleepstudy_phase0": _phase}


@functools.lru_cache(maxsize=None)
def reference_fit(key: str):
    entry = REF[key]
    data = DERIVED.get(key, lambda d: d)(datasets.load(entry["dataset"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(entry["formula"], data, reml=True)
