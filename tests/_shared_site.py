"""One build of the course site per test run, shared by tests/test_site.py and tests/test_site_browser.py.

pytest-xdist runs the two files in different workers (``--dist loadfile``); a Sphinx build of the whole course
costs tens of seconds, so the first worker to ask builds it under a file lock and the other reads the same build.
The site is built with ``TEST_HOSTING`` (an example hosting, so the launch links can be checked); what the pages
say when no hosting is configured is checked on :func:`build_site.launch_box` directly.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import build_site  # noqa: E402

# Example hosting, only for the tests: the site must turn it into the right links.
TEST_HOSTING = build_site.Hosting(repository="https://github.com/example-org/mlmlab", branch="main",
                                  jupyterhub="https://hub.example.edu")


def shared_site(tmp_path_factory) -> tuple[Path, SimpleNamespace]:
    """(site folder, Sphinx's run as ``returncode`` and ``stderr``), built once per test run."""
    base = tmp_path_factory.getbasetemp()
    # under xdist every worker's basetemp sits in the run's common folder; alone, the basetemp is the run's own
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-site"
    root.mkdir(parents=True, exist_ok=True)
    output, record = root / "site", root / "build.json"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not record.exists():
                result = build_site.build(output, hosting=TEST_HOSTING)
                record.write_text(json.dumps({"returncode": result.returncode, "stderr": result.stderr}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return output, SimpleNamespace(**json.loads(record.read_text()))
