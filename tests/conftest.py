"""Shared pytest set-up for the course's test suite.

`make test` runs one pytest over tests/, the doctests of mlmlab/ and (strict nbval) notebooks/.
"""

from pathlib import Path

import matplotlib
import pytest

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report as item.rep_<phase> (fixtures use it to save evidence on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
