"""Generate the simulated ``schools50`` dataset shipped in ``mlmlab/datasets/data/schools50.csv``.

Run from the repository root::

    .venv/bin/python tools/make_schools50.py            # rewrites the shipped CSV
    .venv/bin/python tools/make_schools50.py OUT.csv    # writes elsewhere (the drift test does this)

The design follows the worked example of the tutorial the course grew from: math scores of
students in 50 schools, with socio-economic status (SES) as the level-1 predictor.

Model (truth used for the simulation)::

    math_ij = 72.5 + 3.2 * ses_ij + u0j + u1j * ses_ij + e_ij
    (u0j, u1j) ~ N(0, G),  G = [[16.0, 1.25], [1.25, 2.4]]   (correlation about 0.20)
    e_ij ~ N(0, 45)
    ses_ij ~ N(0, 1), rounded to 2 decimals;  math rounded to 1 decimal
    n_j ~ uniform integer in [20, 40]  (unbalanced)

Randomness comes only from one ``numpy.random.Generator`` seeded with ``SEED``. The seed was picked
so that lme4's REML fit of ``math ~ ses + (ses | school)`` lands near the worked example's values
(see mlmlab/datasets/README.md and tests/reference/lme4.json for the fitted numbers).
The numbers are formatted by hand so the file's bytes do not depend on pandas' float formatting.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 106
N_SCHOOLS = 50
MIN_SIZE, MAX_SIZE = 20, 40
GAMMA00, GAMMA10 = 72.5, 3.2
TAU00, TAU11, TAU01 = 16.0, 2.4, 1.25
SIGMA2 = 45.0
OUT = Path(__file__).resolve().parents[1] / "mlmlab" / "datasets" / "data" / "schools50.csv"


def make(rng: np.random.Generator) -> pd.DataFrame:
    """Simulate the schools50 design with ``rng``; columns school, ses, math (rounded as shipped)."""
    sizes = rng.integers(MIN_SIZE, MAX_SIZE + 1, size=N_SCHOOLS)
    # Cholesky factor of G written out (2 x 2), so no LAPACK call can change the bits.
    l11 = math.sqrt(TAU00)
    l21 = TAU01 / l11
    l22 = math.sqrt(TAU11 - l21 * l21)
    z = rng.standard_normal((N_SCHOOLS, 2))
    u0 = l11 * z[:, 0]
    u1 = l21 * z[:, 0] + l22 * z[:, 1]
    school_idx = np.repeat(np.arange(N_SCHOOLS), sizes)
    n = int(sizes.sum())
    ses = np.round(rng.standard_normal(n), 2)
    e = math.sqrt(SIGMA2) * rng.standard_normal(n)
    y = GAMMA00 + GAMMA10 * ses + u0[school_idx] + u1[school_idx] * ses + e
    return pd.DataFrame({
        "school": [f"S{j + 1:02d}" for j in school_idx],
        "ses": ses,
        "math": np.round(y, 1),
    })


def to_csv_text(data: pd.DataFrame) -> str:
    """Format ``data`` as the shipped CSV text (fixed decimals, '\\n' line ends)."""
    lines = ['"school","ses","math"']
    for school, ses, y in zip(data["school"], data["ses"], data["math"]):
        lines.append(f'"{school}",{_fmt(ses, 2)},{_fmt(y, 1)}')
    return "\n".join(lines) + "\n"


def _fmt(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    return "0.00"[: decimals + 2] if text.startswith("-") and float(text) == 0 else text


def main(out: str | Path = OUT, seed: int = SEED) -> Path:
    """Generate schools50 with ``seed`` and write it to ``out``; return the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = to_csv_text(make(np.random.default_rng(seed)))
    out.write_bytes(text.encode("utf-8"))
    return out


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
