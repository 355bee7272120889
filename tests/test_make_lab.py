"""`make lab` as a learner runs it: the real command, then Chromium clicks a lesson's link to its exercises.

The server is the one `make lab` starts (the repository folder as Jupyter's root, the start page first),
with `LAB_ARGS` adding only what a test needs: no browser of its own, a free port, a token. The test opens
lesson 02 without running it and checks that

* the Jupyter contents API answers 200 for the lesson, its exercise notebook and the link target written
  in the lesson (so the link is not a silent 404);
* the saved widget views show (the lesson is trusted by `make lab`), not their ``VBox(...)`` text;
* clicking "exercises" in the lesson opens the exercise notebook (its kernel session names the path).

Nothing is run or saved: the committed notebooks are opened read-only in effect. JupyterLab's settings,
workspaces and runtime files go to a temporary folder.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_browser import CHROMIUM_FLAGS, _free_port, _need_browser, _stop, _write_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
LESSON = "notebooks/02_random_intercepts.ipynb"
START_TIMEOUT = 120  # make checks the environment and trusts the lessons first


def _exercise_links(relpath: str) -> list[str]:
    """Targets of the markdown links to exercises/ in a lesson, resolved against the lesson's folder."""
    nb = json.loads((REPO / relpath).read_text())
    folder = posixpath.dirname(relpath)
    targets = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"\]\(([^)\s]*exercises/[^)\s]*\.ipynb)\)", "".join(cell["source"])):
                targets.append(posixpath.normpath(posixpath.join(folder, target)))
    return targets


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:  # not listening yet
        return 0, b""


@pytest.fixture(scope="module")
def make_lab(tmp_path_factory):
    """`make lab` running in the repository, reachable on 127.0.0.1 with a random token."""
    _need_browser()
    scratch = tmp_path_factory.mktemp("make-lab")
    _write_settings(scratch / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {key: value for key, value in os.environ.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    env.update({
        "JUPYTERLAB_SETTINGS_DIR": str(scratch / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
    })
    env.pop("MPLBACKEND", None)
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token} --LabApp.news_url= --ServerApp.open_browser=False")
    log_path = scratch / "make-lab.log"
    log = log_path.open("w")
    process = subprocess.Popen(["make", "lab", f"LAB_ARGS={args}"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while _get(f"{base}/api/status?token={token}")[0] != 200:
            if process.poll() is not None:
                raise RuntimeError(f"make lab exited early:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"make lab did not answer in {START_TIMEOUT} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "token": token, "log": log_path}
    finally:
        _stop(process)
        log.close()


def test_make_lab_serves_the_course_folder_and_opens_the_start_page(make_lab):
    request = urllib.request.Request(f"{make_lab['base']}/?token={make_lab['token']}")
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *a, **k: None}))
    try:
        opener.open(request, timeout=10)
        location = None
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location", "")
    assert location and "/lab/tree/notebooks/00_start_here.ipynb" in location, location
    listing = json.loads(_get(f"{make_lab['base']}/api/contents?content=1&token={make_lab['token']}")[1])
    names = {item["name"] for item in listing["content"]}
    assert {"notebooks", "exercises", "README.md"} <= names, f"Jupyter's root is not the course folder: {names}"


def test_contents_api_finds_the_lesson_its_exercises_and_the_link_target(make_lab):
    targets = _exercise_links(LESSON)
    assert targets, f"{LESSON} has no link to its exercises"
    for path in [LESSON, "exercises/02_random_intercepts.ipynb", *targets]:
        status, _ = _get(f"{make_lab['base']}/api/contents/{path}?content=0&token={make_lab['token']}")
        assert status == 200, f"{path}: contents API answered {status}"


def test_a_lesson_shows_its_widgets_before_it_is_run_and_its_exercise_link_opens(make_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    target = _exercise_links(LESSON)[0]
    with sync_playwright() as manager:
        context = manager.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=_need_browser(), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{make_lab['base']}/lab/tree/{LESSON}?reset&token={make_lab['token']}")
            panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            panel.locator(".jp-OutputArea-output .jupyter-widgets").first.wait_for()
            raw = panel.locator(".jp-OutputArea-output", has_text=re.compile(r"^\s*(VBox|HBox)\(")).count()
            assert raw == 0, f"{raw} widget outputs show their text fallback instead of the widget"

            link = panel.locator(f".jp-RenderedMarkdown a[href*='{target}']").last
            link.scroll_into_view_if_needed()
            link.click()
            deadline = time.monotonic() + 60
            while True:
                status, body = _get(f"{make_lab['base']}/api/sessions?token={make_lab['token']}")
                paths = [session["path"] for session in json.loads(body or b"[]")] if status == 200 else []
                if target in paths:
                    break
                assert time.monotonic() < deadline, f"clicking the exercise link opened {paths}, not {target}"
                time.sleep(0.5)
        finally:
            context.close()
