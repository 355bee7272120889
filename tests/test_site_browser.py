"""The course site in a real browser, offline: every page opened from disk (file://) in Chromium with every
request that is not to a local file refused, then checked for what a learner sees.

- math is typeset by the site's own MathJax (an ``mjx-container`` in every math element, no TeX errors);
- every image loaded (``naturalWidth > 0``) and has meaningful alt text;
- every widget of a lesson is shown as its static picture (with the "run it live" note);
- each lesson and exercise page has its launch box: the time estimate, a working "Download notebook" link to
  the untouched notebook and the Binder/JupyterHub links built from the configured hosting;
- no plumbing shows (otter's initialisation, nbval directives); exercise tabs read "Exercises NN · topic";
- every local link resolves (file and anchor), headings do not skip levels, and axe-core reports no serious
  or critical violation.

The site is built once with a test hosting configuration (``TEST_HOSTING``); set MLMLAB_SITE_DIR to check a
site that is already built instead (it must have been built with TEST_HOSTING for the launch checks).
Chromium is Debian's (/usr/bin/chromium); without it the tests skip, except with CI=true (then they fail).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import build_site  # noqa: E402
from _shared_site import TEST_HOSTING, shared_site  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("MLMLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
LOCAL_SCHEMES = ("file", "data", "blob", "about")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
MATH_TIMEOUT_MS = 20_000
AXE_BLOCKING = ("serious", "critical")


def _need_browser() -> str:
    """Chromium's path; skip (learner's machine) or fail (CI=true) when Chromium or Playwright is missing."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    problem = None
    if path is None:
        problem = f"Chromium not found at {CHROMIUM} or on PATH (sudo bash tools/install_system_deps.sh)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the Python package playwright is not installed (run `make venv`)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {problem}; the browser tests must run in CI.", pytrace=False)
        pytest.skip(problem)
    return path


def _axe_script() -> Path:
    """axe-core as shipped by the pinned PyPI package axe-playwright-python."""
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-playwright-python is not installed (pinned in constraints.txt; run `make venv`)")
    return Path(axe_playwright_python.__file__).with_name("axe.min.js")


@dataclass
class PageReport:
    """What the browser saw on one page."""

    path: Path
    title: str = ""
    math: dict = field(default_factory=dict)
    images: list = field(default_factory=list)
    widgets: list = field(default_factory=list)
    launch: dict | None = None
    links: list = field(default_factory=list)
    ids: set = field(default_factory=set)
    headings: list = field(default_factory=list)
    text: str = ""
    axe: list = field(default_factory=list)


PAGE_FACTS = """() => {
  const main = document.querySelector('main') || document.body;
  const maths = [...document.querySelectorAll('.math')];
  const box = document.querySelector('.mlmlab-launch');
  return {
    title: document.title,
    math: {count: maths.length, typeset: maths.filter(m => m.querySelector('mjx-container')).length,
           errors: document.querySelectorAll('mjx-merror').length,
           raw: maths.filter(m => !m.querySelector('mjx-container')).slice(0, 3).map(m => m.textContent)},
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt'),
                                            complete: i.complete, width: i.naturalWidth})),
    widgets: [...document.querySelectorAll('figure.mlmlab-widget-static')].map(f => ({
        images: [...f.querySelectorAll('img')].map(i => i.naturalWidth),
        caption: (f.querySelector('figcaption') || {}).textContent || ''})),
    launch: box && {text: box.innerText,
                    links: [...box.querySelectorAll('a')].map(a => ({text: a.innerText.trim(), href: a.href,
                                                                      download: a.hasAttribute('download')}))},
    links: [...document.querySelectorAll('a[href], link[href], script[src], img[src]')]
             .map(e => e.href || e.src).filter(u => typeof u === 'string'),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
    headings: [...main.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(h => h.checkVisibility())
                .map(h => +h.tagName[1]),
    text: main.innerText,
  };
}"""


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in ("localhost", "127.0.0.1", "::1")


def _visit(page, path: Path, axe_js: str) -> PageReport:
    """Open ``path`` from disk, wait for MathJax and images, and collect the page's facts and axe's result."""
    page.goto(path.as_uri(), wait_until="load")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # a MathJax that never loads shows up below as untypeset math, not as an error here
        page.wait_for_function(
            "() => !window.MathJax || (MathJax.startup && MathJax.startup.promise && MathJax.typesetPromise)",
            timeout=MATH_TIMEOUT_MS)
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    except PlaywrightTimeout:
        pass
    page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    facts = page.evaluate(PAGE_FACTS)
    page.evaluate(axe_js)
    axe = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
    report = PageReport(path=path, axe=axe, ids=set(facts.pop("ids")), **facts)
    return report


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site: MLMLAB_SITE_DIR, or a fresh build with TEST_HOSTING."""
    given = os.environ.get("MLMLAB_SITE_DIR")
    if given:
        return Path(given).resolve()
    output, result = shared_site(tmp_path_factory)  # one build per run, shared with test_site.py
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def visited(site):
    """Every page of the site as the offline browser saw it, and every non-local request it refused."""
    chromium = _need_browser()
    from playwright.sync_api import sync_playwright

    axe_js = _axe_script().read_text(encoding="utf-8")
    refused: list[str] = []

    def guard(route):
        if _local(route.request.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    with sync_playwright() as manager:
        browser = manager.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            context.route("**/*", guard)
            page = context.new_page()
            reports = {path: _visit(page, path, axe_js) for path in pages}
        finally:
            browser.close()
    return reports, refused


def _content_pages(site: Path, reports: dict) -> dict[tuple[str, Path], PageReport]:
    """(folder, source notebook) -> report, for every lesson and exercise."""
    out = {}
    for folder, notebooks in build_site.sources().items():
        for notebook in notebooks:
            page = site / folder / f"{notebook.stem}.html"
            assert page in reports, f"no page for {folder}/{notebook.name}"
            out[folder, notebook] = reports[page]
    return out


def test_no_request_leaves_the_machine(visited):
    _, refused = visited
    assert refused == [], "the site asked the network for:\n" + "\n".join(sorted(set(refused))[:20])


def test_math_is_typeset_offline(visited, site):
    reports, _ = visited
    for (folder, notebook), report in _content_pages(site, reports).items():
        markdown = "".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                           if c["cell_type"] == "markdown")
        if "$" in markdown:
            assert report.math["count"] > 0, f"{folder}/{notebook.name}: no math elements on the page"
        assert report.math["typeset"] == report.math["count"], \
            f"{folder}/{notebook.name}: math not typeset, e.g. {report.math['raw']}"
        assert report.math["errors"] == 0, f"{folder}/{notebook.name}: MathJax reported TeX errors"
    assert reports[site / "notebooks" / "00_start_here.html"].math["typeset"] > 0


def test_every_image_loads_and_has_alt_text(visited, site):
    reports, _ = visited
    problems = []
    for path, report in reports.items():
        for image in report.images:
            where = f"{path.relative_to(site)}: {image['src'][:80]}"
            if not image["width"]:
                problems.append(f"{where} did not load")
            alt = (image["alt"] or "").strip()
            if not alt or re.search(r"\.(png|jpe?g|svg|gif)$", alt):
                problems.append(f"{where} has no meaningful alt text ({alt!r})")
    assert problems == [], "\n".join(problems[:30])
    plots = sum(1 for r in reports.values() for i in r.images if "_images/" in i["src"])
    assert plots > 0, "no lesson figure found on the site"


def test_every_widget_is_shown_as_its_static_view(visited, site):
    reports, _ = visited
    for (folder, notebook), report in _content_pages(site, reports).items():
        nb = json.loads(notebook.read_text())
        views = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                    for c in nb["cells"] for o in c.get("outputs", []))
        assert len(report.widgets) == views, f"{folder}/{notebook.name}: {views} widgets, " \
                                             f"{len(report.widgets)} static views"
        for widget in report.widgets:
            assert all(width > 0 for width in widget["images"]), f"{notebook.name}: a widget picture did not load"
            assert "run this notebook live" in widget["caption"], f"{notebook.name}: no 'run it live' note"
    assert sum(len(r.widgets) for r in reports.values()) > 0, "no widget on the site"
    assert sum(len(w["images"]) for r in reports.values() for w in r.widgets) > 0, "no widget picture"


def test_launch_buttons_use_the_configured_hosting(visited, site):
    reports, _ = visited
    for (folder, notebook), report in _content_pages(site, reports).items():
        name = f"{folder}/{notebook.name}"
        assert report.launch, f"{name}: no launch box"
        assert re.search(r"About \d+ min", report.launch["text"]), f"{name}: no time estimate"
        links = {link["text"]: link for link in report.launch["links"]}
        download = links.get("Download notebook")
        assert download and download["download"], f"{name}: no 'Download notebook' link"
        target = Path(unquote(urlsplit(download["href"]).path))
        assert target.read_bytes() == notebook.read_bytes(), f"{name}: download is not the committed notebook"
        assert links.get("Launch on Binder", {}).get("href") == TEST_HOSTING.binder_url(name), name
        assert links.get("Open on JupyterHub", {}).get("href") == TEST_HOSTING.jupyterhub_url(name), name


def test_lesson_times_are_on_pages_and_in_the_contents(visited, site):
    reports, _ = visited
    index = reports[site / "index.html"]
    lessons = build_site.sources()["notebooks"]
    times = re.findall(r"About \d+ min", index.text)
    assert len(times) >= len(lessons), f"contents table shows {len(times)} times for {len(lessons)} lessons"


def test_no_plumbing_and_exercise_titles(visited, site):
    reports, _ = visited
    for (folder, notebook), report in _content_pages(site, reports).items():
        name = f"{folder}/{notebook.name}"
        for plumbing in ("Initialize Otter", "otter.Notebook", "NBVAL_", "nbval-"):
            assert plumbing not in report.text, f"{name}: shows {plumbing!r}"
        if folder == "exercises":
            assert re.match(rf"Exercises {notebook.name[:2]} [·—-] \S", report.title), \
                f"{name}: tab title is {report.title!r}"
            first = report.text.lstrip().split("\n", 1)[0]
            assert first.startswith("Exercises"), f"{name}: the page starts with {first!r}, not its title"


def test_every_local_link_resolves(visited, site):
    reports, _ = visited
    problems = []
    for path, report in reports.items():
        for url in report.links:
            parts = urlsplit(url)
            if parts.scheme != "file":
                continue
            target = Path(unquote(parts.path))
            where = f"{path.relative_to(site)} -> {url}"
            if not target.exists():
                problems.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and target in reports:
                if unquote(parts.fragment) not in reports[target].ids:
                    problems.append(f"{where} (no such anchor)")
    assert problems == [], "\n".join(problems[:30])


def test_headings_do_not_skip_levels(visited, site):
    reports, _ = visited
    problems = []
    for (folder, notebook), report in _content_pages(site, reports).items():
        levels = report.headings
        if levels.count(1) != 1 or levels[0] != 1:
            problems.append(f"{folder}/{notebook.name}: {levels.count(1)} h1, first heading h{levels[:1]}")
        for before, after in zip(levels, levels[1:]):
            if after > before + 1:
                problems.append(f"{folder}/{notebook.name}: h{before} followed by h{after}")
                break
    assert problems == [], "\n".join(problems)


def test_axe_finds_no_serious_or_critical_violation(visited, site):
    reports, _ = visited
    problems = []
    for path, report in reports.items():
        for violation in report.axe:
            if violation["impact"] in AXE_BLOCKING:
                nodes = "; ".join(" ".join(n["target"]) if isinstance(n["target"][0], str) else str(n["target"])
                                  for n in violation["nodes"][:3])
                problems.append(f"{path.relative_to(site)}: {violation['id']} ({violation['impact']}): "
                                f"{violation['help']} — {len(violation['nodes'])} node(s), e.g. {nodes}")
    assert problems == [], "\n".join(problems[:40])
