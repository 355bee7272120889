"""The course in a real browser: JupyterLab + Chromium (driven by Playwright) run the start page and a
widget lesson, and a moved slider changes what the lesson shows; a learner types a wrong answer into an
exercise and `grader.check` shows the public test's hint, then types the master's solution and it passes.

Chromium is Debian's (`/usr/bin/chromium`, installed by tools/install_system_deps.sh); Playwright only
drives it through its executable path. Without Chromium the tests skip with a message, except in CI
(`CI=true`), where a missing browser is a failure. The notebooks run in a temporary copy of the repository's
notebooks/ and exercises/, so the committed files are never touched. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import make_nav  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = os.environ.get("MLMLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# Lessons with sliders, tried in this order; every one that exists is run. Add new widget lessons here.
WIDGET_LESSONS = ["01_why_multilevel", "03_icc", "02_random_intercepts"]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen
RUN_TIMEOUT_MS = int(os.environ.get("MLMLAB_BROWSER_RUN_TIMEOUT_MS", 240_000))  # running a whole lesson in the browser
CHANGE_TIMEOUT_MS = 15_000  # a moved slider must change the output within this time
SERVER_START_TIMEOUT = 90


def _need_browser():
    """Skip (learner's machine) or fail (CI) when Chromium or Playwright is missing."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    problem = None
    if path is None:
        problem = (f"Chromium not found at {CHROMIUM} or on PATH: install Debian's chromium "
                   "(`sudo bash tools/install_system_deps.sh`) to run the browser tests")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the Python package playwright is not installed (run `make venv`)"
    if problem:
        if in_ci:
            pytest.fail(f"CI=true and {problem}; the browser tests must run in CI.", pytrace=False)
        pytest.skip(problem)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """JupyterLab user settings for the test: every cell in the DOM, no news/update checks."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "checkForUpdates": False, "fetchNews": "false"},
    }
    for name, content in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server (and its kernels); kill the whole process group if it does not stop."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium_path():
    path = _need_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def lab(chromium_path, tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a random token, serving a temporary copy of notebooks/."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if (REPO / "exercises").is_dir():
        shutil.copytree(REPO / "exercises", root / "exercises", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _write_settings(root / ".settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "PYTHONHASHSEED": "0",
    }
    env.pop("MPLBACKEND", None)  # kernels use the inline backend, as for a learner
    log = (root / "server.log").open("w")
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={root / '.settings'}", f"--LabApp.workspaces_dir={root / '.workspaces'}",
        "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:  # CI and containers run as root
        command.append("--allow-root")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{(root / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer in {SERVER_START_TIMEOUT} s:\n"
                                   f"{(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    manager = sync_playwright().start()
    context = None
    try:
        context = manager.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(30_000)
        yield context
    finally:
        if context is not None:
            context.close()
        manager.stop()


@pytest.fixture
def page(browser, request):
    page = browser.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        _shot(page, f"{request.node.name}-FAILED")
    page.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"))
    except Exception as error:  # a screenshot must never hide the real failure
        print(f"screenshot {name} failed: {error}")


def _open(page, lab, relpath: str) -> dict:
    """Open <relpath> (a notebook in the temporary copy) in JupyterLab; wait until every code cell is in
    the page and the kernel has started and is idle. Returns the notebook as stored (JSON)."""
    nb = json.loads((lab["root"] / relpath).read_text())
    n_code = sum(cell["cell_type"] == "code" for cell in nb["cells"])
    # ?reset: a fresh workspace, so tabs from an earlier test are not restored next to this notebook
    page.goto(f"{lab['base']}/lab/tree/{relpath}?reset&token={lab['token']}")
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt').length === n",
        arg=n_code, timeout=60_000)
    _wait_idle(page)
    return nb


def _wait_idle(page, timeout_ms: int = 60_000) -> None:
    page.locator(".jp-StatusBar-Item", has_text=re.compile(r"\|\s*Idle")).first.wait_for(timeout=timeout_ms)


def _open_and_run(page, lab, notebook: str) -> None:
    """Open notebooks/<notebook>.ipynb in JupyterLab, run all cells, wait until every cell has run."""
    nb = _open(page, lab, f"notebooks/{notebook}.ipynb")
    n_code = sum(cell["cell_type"] == "code" for cell in nb["cells"])
    # the committed notebook shows its stored outputs and prompts: clear them so only this run's appear
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Edit$")).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    page.wait_for_function(
        """n => { const p = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
                  return p.length === n && p.every(x => !/\\d/.test(x.textContent)); }""",
        arg=n_code, timeout=30_000,
    )
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    prompts_js = "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent)"
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while True:
        prompts = page.evaluate(prompts_js)
        if prompts and all(re.search(r"\[\d+\]", p) for p in prompts):
            break
        if time.monotonic() > deadline:
            status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
            raise AssertionError(f"{notebook}: not every cell ran within {RUN_TIMEOUT_MS / 1000:.0f} s; "
                                 f"prompts {prompts}, kernel status {status!r}")
        page.wait_for_timeout(500)
    # errors only where the lesson shows one on purpose (cells tagged raises-exception, committed with it)
    expected = sum(out.get("output_type") == "error" for cell in nb["cells"] for out in cell.get("outputs", []))
    errors = page.locator(f"{PANEL} .jp-OutputArea-output:has-text('Traceback (most recent call last)')")
    assert errors.count() == expected, (
        f"{notebook}: {errors.count()} cells raised in the browser (expected {expected}): "
        f"{errors.first.inner_text()[:2000] if errors.count() else ''}")


def test_start_page_runs_shows_contents_and_renders_the_widget(page, lab):
    _open_and_run(page, lab, "00_start_here")
    _shot(page, "00_start_here-ran")

    table = page.locator(f"{PANEL} .jp-MarkdownCell .jp-RenderedMarkdown table").filter(has_text="Lesson").first
    table.scroll_into_view_if_needed()
    # the rows written into the start page by tools/make_nav.py (whether they are current is test_nav's job)
    start = json.loads((lab["root"] / "notebooks" / "00_start_here.ipynb").read_text())
    contents = next("".join(c["source"]) for c in start["cells"] if make_nav.START in "".join(c["source"]))
    rows = re.findall(r"\| \d\d \| \[([^\]]+)\]\((\d\d_[a-z0-9_]+\.ipynb)\)", contents)
    assert rows, "the start page's contents table lists no lesson"
    for title, target in rows:
        link = table.get_by_role("link", name=title.replace("\\|", "|"), exact=True)
        assert link.count() == 1, f"rendered contents table has no link '{title}'"
        href = link.get_attribute("href")
        assert target in href and "exercises" not in href, f"link '{title}' goes to {href}, not {target}"
    _shot(page, "00_start_here-contents")

    widget = page.locator(f"{PANEL} .jp-OutputArea-output .jupyter-widgets.widget-hbox").first
    widget.wait_for(state="visible", timeout=30_000)
    widget.scroll_into_view_if_needed()
    label = widget.locator(".widget-label", has_text="Widgets work")
    assert label.inner_text().strip() == "Widgets work: the slider is at 5."
    handle = widget.locator(".widget-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "el => el.textContent.includes('the slider is at 6.')", arg=label.element_handle(), timeout=CHANGE_TIMEOUT_MS)
    widget.screenshot(path=str(ARTIFACTS / "00_start_here-widget.png"))


_SIGNATURE_JS = """view => {
    const parts = [];
    for (const el of view.querySelectorAll('img, canvas, .widget-output, .widget-html-content, .widget-label, .jp-RenderedText, .jp-RenderedHTMLCommon')) {
        if (el.closest('.widget-slider')) continue;
        if (el.tagName === 'IMG') parts.push('img:' + el.src);
        else if (el.tagName === 'CANVAS') parts.push('canvas:' + el.toDataURL().length);
        else parts.push(el.tagName + ':' + el.textContent);
    }
    return parts.join('\\n');
}"""


def _output_signature(page, view):
    """What a widget shows besides its sliders: image sources, output/HTML/label text."""
    return page.evaluate(_SIGNATURE_JS, view)


def _existing_widget_lessons():
    return [name for name in WIDGET_LESSONS if (REPO / "notebooks" / f"{name}.ipynb").is_file()]


def test_a_widget_lesson_is_available():
    assert _existing_widget_lessons(), f"none of the widget lessons {WIDGET_LESSONS} exists in notebooks/"


@pytest.mark.parametrize("lesson", _existing_widget_lessons())
def test_moving_a_slider_changes_the_lesson_output(page, lab, lesson):
    _open_and_run(page, lab, lesson)
    _shot(page, f"{lesson}-ran")
    views = page.locator(f"{PANEL} .jp-OutputArea-output .jupyter-widgets:has(.widget-slider)")
    views.first.wait_for(state="visible", timeout=30_000)
    # the outermost widget view holding a slider (a whole interactive figure with its controls)
    view = page.locator(f"{PANEL} .jp-OutputArea-output > .jupyter-widgets:has(.widget-slider)").first
    view.scroll_into_view_if_needed()
    handle = view.locator(".widget-slider .noUi-handle").first
    readout = view.locator(".widget-slider .widget-readout").first
    before_value = readout.inner_text()
    before = _output_signature(page, view.element_handle())
    view.screenshot(path=str(ARTIFACTS / f"{lesson}-widget-before.png"))

    handle.focus()
    page.keyboard.press("ArrowRight")
    if readout.inner_text() == before_value:  # slider already at its maximum
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
    assert readout.inner_text() != before_value, f"{lesson}: the slider did not move with the arrow keys"
    deadline = time.monotonic() + CHANGE_TIMEOUT_MS / 1000
    after = before
    while after == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        after = _output_signature(page, view.element_handle())
    view.screenshot(path=str(ARTIFACTS / f"{lesson}-widget-after.png"))
    assert after != before, f"{lesson}: moving the slider did not change the output within {CHANGE_TIMEOUT_MS} ms"


# --- A learner works an exercise: a wrong answer gets the public test's hint, the right one passes ---------

EXERCISE = "01_why_multilevel"  # quick: its first question only simulates data (no model fit)
CHECK_TIMEOUT_MS = 30_000  # one answer cell plus its grader.check must have run within this time
# A deliberately wrong answer to the first question of EXERCISE: the right form of n_rows, but ybar is a sum
# of 600 scores near 50 instead of their mean, which the public test's range check rejects.
WRONG_ANSWER = 'sim = None\nn_rows = 30 * 20\nybar = 30 * 20 * 50.0  # a sum, not a mean'


def _text(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _first_question(student: dict) -> tuple[str, int, int]:
    """(question name, index of its answer cell, index of its grader.check cell) of the first question."""
    for i, cell in enumerate(student["cells"]):
        found = re.fullmatch(r'grader\.check\("(\w+)"\)', _text(cell).strip()) if cell["cell_type"] == "code" else None
        if found:
            answer = max(j for j in range(i) if "otter_answer_cell" in student["cells"][j]["metadata"].get("tags", []))
            return found.group(1), answer, i
    raise AssertionError("the exercise has no grader.check cell")


def _master_question(master: dict, question: str) -> tuple[str, list[dict]]:
    """The master's worked solution of `question` (as a learner would type it: no prompt, no markers) and
    the configs of its tests (`hidden`, `failure_message`, ...)."""
    cells, inside = [], False
    for cell in master["cells"]:
        text = _text(cell).strip()
        if cell["cell_type"] == "raw" and text.startswith("# BEGIN QUESTION"):
            inside = yaml.safe_load(text.split("\n", 1)[1])["name"] == question
        elif cell["cell_type"] == "raw" and text.startswith("# END QUESTION"):
            inside = False
        elif inside:
            cells.append(cell)
    code = [c for c in cells if c["cell_type"] == "code"]
    solution_cell, tests = code[0], code[1:]  # otter's format: the solution cell comes before the tests
    lines, prompt = [], False
    for line in _text(solution_cell).splitlines():
        if line.rstrip().endswith("# BEGIN PROMPT"):
            prompt = True
        elif line.rstrip().endswith("# END PROMPT"):
            prompt = False
        elif not prompt and not re.match(r"\s*# (BEGIN|END) SOLUTION", line):
            lines.append(re.sub(r"\s*# ?SOLUTION\s*$", "", line))
    configs = []
    for cell in tests:
        found = re.search(r'""" # BEGIN TEST CONFIG\n(.*?)""" # END TEST CONFIG', _text(cell), re.S)
        assert found, f"a test of {question} in the master has no TEST CONFIG block"
        configs.append(yaml.safe_load(found.group(1)))
    return "\n".join(lines).strip(), configs


def _public_test(student: dict, question: str) -> tuple[list[str], list[str]]:
    """Failure messages and constant assert messages of the question's public tests, as the learner's
    notebook carries them (otter keeps them in the notebook metadata)."""
    tree = ast.parse(student["metadata"]["otter"]["tests"][question])
    messages, asserts = [], []
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        for deco in [d for d in fn.decorator_list if isinstance(d, ast.Call)]:
            messages += [k.value.value for k in deco.keywords if k.arg == "failure_message"]
        asserts += [n.msg.value for n in ast.walk(fn) if isinstance(n, ast.Assert)
                    and isinstance(n.msg, ast.Constant) and isinstance(n.msg.value, str)]
    return messages, asserts


def _cell(page, index: int):
    return page.locator(f"{PANEL} .jp-Cell").nth(index)


def _prompt(cell) -> str:
    return cell.locator(".jp-InputPrompt").first.inner_text().strip()


def _run_cell(page, index: int, timeout_ms: int = CHECK_TIMEOUT_MS) -> None:
    """Select cell `index`, run it with Shift+Enter and wait until it shows a new execution count."""
    cell = _cell(page, index)
    before = _prompt(cell)
    cell.locator(".jp-InputPrompt").first.click()  # selects the cell (command mode)
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + timeout_ms / 1000
    while not (re.fullmatch(r"\[\d+\]:?", _prompt(cell)) and _prompt(cell) != before):
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index} did not run within {timeout_ms / 1000:.0f} s (prompt {_prompt(cell)!r})")
        page.wait_for_timeout(200)


def _type_answer(page, index: int, answer: str) -> None:
    """Replace the whole text of code cell `index` with `answer`, as a learner typing it."""
    editor = _cell(page, index).locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    shown = editor.evaluate("el => [...el.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')")
    assert shown == answer, f"the answer cell holds {shown!r}, not the typed answer"


def _feedback(page, index: int) -> str:
    """What the (just run) cell `index` shows below it."""
    output = _cell(page, index).locator(".jp-OutputArea-output").first
    output.wait_for(state="visible", timeout=CHECK_TIMEOUT_MS)
    return output.inner_text()


def test_a_learner_gets_hints_for_a_wrong_answer_and_passes_with_the_right_one(page, lab):
    relpath = f"exercises/{EXERCISE}.ipynb"
    if not (lab["root"] / relpath).is_file():
        pytest.fail(f"{relpath} is missing: generate it from solutions/ with tools/make_exercises.py")
    student = _open(page, lab, relpath)
    question, answer_cell, check_cell = _first_question(student)
    assert "..." in _text(student["cells"][answer_cell]), "the answer cell should start with the ... placeholder"
    master = json.loads((REPO / "solutions" / f"{EXERCISE}.ipynb").read_text())
    solution, configs = _master_question(master, question)
    assert solution and "..." not in solution, f"no worked solution for {question} found in the master"
    messages, asserts = _public_test(student, question)
    assert messages, f"the public test of {question} has no failure_message"
    hidden = [c["failure_message"] for c in configs if c.get("hidden")]

    # the cells up to the first question (otter's set-up, the imports)
    for index in range(answer_cell):
        if student["cells"][index]["cell_type"] == "code":
            _run_cell(page, index)
    errors = page.locator(f"{PANEL} .jp-OutputArea-output:has-text('Traceback (most recent call last)')")
    assert errors.count() == 0, errors.first.inner_text()[:2000]

    # a wrong answer: the check fails and shows the public test's hint, never the solution or a hidden test
    _type_answer(page, answer_cell, WRONG_ANSWER)
    _run_cell(page, answer_cell)
    _run_cell(page, check_cell)
    wrong = _feedback(page, check_cell)
    _cell(page, check_cell).scroll_into_view_if_needed()
    _shot(page, f"{EXERCISE}-{question}-wrong")
    assert re.search(rf"{question} results:", wrong) and "Test case failed" in wrong, wrong
    assert "passed" not in wrong, wrong
    for message in messages:
        assert message in wrong, f"the feedback lacks the public test's message {message!r}:\n{wrong}"
    assert any(text in wrong for text in asserts), f"the feedback shows none of the public test's hints {asserts}:\n{wrong}"
    for line in [ln.strip() for ln in solution.splitlines() if len(ln.strip()) >= 8]:
        assert line not in wrong, f"the feedback shows a line of the solution: {line}"
    for message in hidden:
        assert message not in wrong, f"the feedback shows a hidden test's message: {message}"

    # the master's solution: the check passes
    _type_answer(page, answer_cell, solution)
    _run_cell(page, answer_cell)
    _run_cell(page, check_cell)
    right = _feedback(page, check_cell)
    _cell(page, check_cell).scroll_into_view_if_needed()
    _shot(page, f"{EXERCISE}-{question}-right")
    assert re.search(rf"\b{question}\s+passed!", right), f"the solution from the master did not pass {question}:\n{right}"
    assert "failed" not in right, right
    assert errors.count() == 0, errors.first.inner_text()[:2000]
