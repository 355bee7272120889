"""Shared pytest set-up for the course's test suite.

`make test` runs one pytest over tests/, the doctests of mlmlab/ and (strict nbval) notebooks/.
"""

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")  # the tests themselves draw off-screen (kernels for notebooks: see ../conftest.py)

REPO = Path(__file__).resolve().parents[1]

# Hypothesis: the same examples on every machine in CI. "ci" (chosen when the environment has CI=true) derives
# each test's examples from the test itself (derandomize), ignores any local example database and has no deadline
# (a time limit would make results depend on the machine); a failure prints the blob that reproduces it
# (@reproduce_failure). With an explicit --hypothesis-seed=N ("seeded"), that seed is used instead, so
# `make test PYTEST_ARGS=--hypothesis-seed=1` explores other examples, reproducibly too. --hypothesis-profile wins.
# (Every profile starts from Hypothesis's defaults: Hypothesis itself loads its own "ci" profile whenever a CI
# variable is set, even CI=false.)
_HYPOTHESIS_CI = dict(deadline=None, database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", settings.get_profile("default"), derandomize=True, **_HYPOTHESIS_CI)
settings.register_profile("seeded", settings.get_profile("default"), derandomize=False, **_HYPOTHESIS_CI)
settings.register_profile("dev", settings.get_profile("default"), print_blob=True)


def _hypothesis_profile(config):
    """The profile for this run: None when --hypothesis-profile names one."""
    if config.getoption("hypothesis_profile", None):
        return None
    if config.getoption("hypothesis_seed", None) is not None:
        return "seeded"
    return "ci" if os.environ.get("CI", "").strip().lower() == "true" else "dev"


# Grading fixtures (hostile submission notebooks, their .py files) are data for tests, never tests.
collect_ignore_glob = ["fixtures/*", "fixtures/**/*"]


def pytest_configure(config):
    """Choose the Hypothesis profile (before test modules build their settings); make --nbval-sanitize-with
    (a repo-relative path in pyproject.toml) work from any directory."""
    profile = _hypothesis_profile(config)
    if profile is not None:
        settings.load_profile(profile)
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
