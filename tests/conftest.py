"""Shared pytest set-up for the course's test suite.

`make test` runs one pytest over tests/, the doctests of mlmlab/ and (strict nbval) notebooks/.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the tests themselves draw off-screen (kernels for notebooks: see ../conftest.py)

REPO = Path(__file__).resolve().parents[1]

# Grading fixtures (hostile submission notebooks, their .py files) are data for tests, never tests.
collect_ignore_glob = ["fixtures/*", "fixtures/**/*"]


def pytest_configure(config):
    """Make --nbval-sanitize-with (a repo-relative path in pyproject.toml) work from any directory."""
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        candidate = REPO / sanitize
        if candidate.exists():
            config.option.nbval_sanitize_with = str(candidate)
