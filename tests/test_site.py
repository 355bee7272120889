"""The static course site (make site) builds, lists every lesson in order, and has no broken internal link."""

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import build_site  # noqa: E402
from _shared_site import TEST_HOSTING, shared_site  # noqa: E402

pytestmark = pytest.mark.slow


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append((tag, attrs[key]))


def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with the test hosting, shared with test_site_browser.py (one Sphinx build per run)."""
    return shared_site(tmp_path_factory)


@pytest.fixture(scope="module")
def pages(site):
    output, _ = site
    return {path: _parse(path) for path in output.rglob("*.html") if "_static" not in path.parts}


def test_sphinx_builds_without_broken_references(site):
    _, result = site
    assert result.returncode == 0, result.stderr[-3000:]
    broken = [line for line in result.stderr.splitlines() if build_site.BROKEN_LINK.search(line)]
    assert broken == [], "broken links on the site:\n" + "\n".join(broken)


def test_every_lesson_and_exercise_has_a_page(site):
    output, _ = site
    picked = build_site.sources()
    assert picked["notebooks"], "no lessons found"
    for folder, paths in picked.items():
        for path in paths:
            assert (output / folder / f"{path.stem}.html").is_file(), f"missing page for {folder}/{path.name}"
    assert (output / "index.html").is_file()


def test_solutions_are_never_published(site):
    output, _ = site
    src = output.with_name(output.name + "-src")
    assert not (output / "solutions").exists() and not (src / "solutions").exists()
    assert not [p for p in output.rglob("*") if "solution" in p.name.lower()]
    published = {p.name for p in (src / "exercises").glob("*.ipynb")}
    assert published == {p.name for p in build_site.sources()["exercises"]}


def test_contents_lists_lessons_in_course_order(pages, site):
    output, _ = site
    index = pages[output / "index.html"]
    lesson_links = []
    for _, href in index.links:
        match = re.fullmatch(r"notebooks/(\d\d_[a-z0-9_]+)\.html", href)
        if match and match.group(1) not in lesson_links:
            lesson_links.append(match.group(1))
    assert lesson_links == [p.stem for p in build_site.sources()["notebooks"]]


def test_every_internal_link_and_anchor_exists(pages, site):
    output, _ = site
    problems = []
    for page_path, page in pages.items():
        for tag, link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
            where = f"{page_path.relative_to(output)}: <{tag}> {link}"
            if not target.exists():
                problems.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where} (no such anchor)")
    assert problems == [], "\n".join(problems[:50])


def test_lesson_navigation_links_resolve_to_pages(pages, site):
    output, _ = site
    lessons = build_site.sources()["notebooks"]
    for index, lesson in enumerate(lessons):
        hrefs = {urlsplit(h).path for _, h in pages[output / "notebooks" / f"{lesson.stem}.html"].links}
        neighbours = lessons[max(index - 1, 0): index + 2]
        for neighbour in neighbours:
            if neighbour != lesson:
                assert f"{neighbour.stem}.html" in hrefs, f"{lesson.name} does not link to {neighbour.stem}.html"


def _outputs(path, mime):
    nb = json.loads(path.read_text())
    return sum(mime in out.get("data", {}) for cell in nb["cells"] for out in cell.get("outputs", []))


def test_math_is_rendered_and_plots_are_shown(pages, site):
    output, _ = site
    for lesson in build_site.sources()["notebooks"]:
        html_path = output / "notebooks" / f"{lesson.stem}.html"
        html = html_path.read_text(encoding="utf-8")
        markdown = "".join(
            "".join(c["source"]) for c in json.loads(lesson.read_text())["cells"] if c["cell_type"] == "markdown"
        )
        if "$" in markdown:
            assert 'class="math' in html, f"{lesson.name}: math not rendered"
            assert re.search(r'<script[^>]+src="[^"]*mathjax', html), f"{lesson.name}: MathJax not loaded"
            assert not re.search(r"\$\$[^<]{3,}\$\$", html), f"{lesson.name}: raw $$ math left in the page"
        images = [src for tag, src in pages[html_path].links if tag == "img" and "_images/" in src]
        assert len(images) >= _outputs(lesson, "image/png"), f"{lesson.name}: plots missing from the page"
    assert 'class="math' in (output / "notebooks" / "00_start_here.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ offline, launch box, times, plumbing

def test_pages_load_nothing_from_the_network(pages, site):
    output, _ = site
    remote = [f"{path.relative_to(output)}: <{tag}> {link}" for path, page in pages.items()
              for tag, link in page.links if tag != "a" and urlsplit(link).scheme in ("http", "https", "")
              and urlsplit(link).netloc]
    assert remote == [], "pages load resources from the network:\n" + "\n".join(remote[:20])
    assert (output / "_static" / "mathjax" / "tex-mml-chtml.js").is_file(), "MathJax is not on the site"


def test_launch_box_follows_the_hosting_setting(site):
    output, _ = site
    hosting = TEST_HOSTING
    for folder, paths in build_site.sources().items():
        for path in paths:
            html = (output / folder / f"{path.stem}.html").read_text(encoding="utf-8")
            box = re.search(r'<div class="mlmlab-launch[^"]*">(.*?)</div>', html, flags=re.S)
            assert box, f"{folder}/{path.name}: no launch box"
            text = " ".join(re.sub(r"<[^>]+>", " ", box.group(1)).split())
            assert "Download notebook" in text and "download=" in box.group(1), f"{path.name}: no download"
            binder = hosting.binder_url(f"{folder}/{path.name}")
            if binder is None:
                assert "Launch on Binder" not in box.group(1) and "git-pull" not in box.group(1)
                assert "tool.mlmlab.hosting" in text, f"{folder}/{path.name}: no sentence on how to set the hosting"
            else:
                assert binder.replace("&", "&amp;") in box.group(1), f"{folder}/{path.name}: Binder link missing"


@pytest.mark.parametrize("hosting", [build_site.Hosting(), build_site.HOSTING], ids=["unset", "configured"])
def test_launch_box_without_hosting_says_how_to_set_it(hosting):
    """Until a hosting is configured the box offers the download and says where to set it; once it is, the links."""
    box = build_site.launch_box("notebooks", "03_icc.ipynb", "about 20 minutes", hosting)
    assert "Download notebook" in box
    if hosting.binder_url("notebooks/03_icc.ipynb") is None:
        assert "Launch on Binder" not in box and "git-pull" not in box
        assert "tool.mlmlab.hosting" in box
    else:
        assert hosting.binder_url("notebooks/03_icc.ipynb") in box


def test_hosting_links():
    hosting = build_site.Hosting(repository="https://github.com/org/course", branch="dev",
                                 jupyterhub="https://hub.example.edu/")
    assert hosting.binder_url("notebooks/03_icc.ipynb") == (
        "https://mybinder.org/v2/gh/org/course/dev?urlpath=lab%2Ftree%2Fnotebooks%2F03_icc.ipynb")
    assert hosting.jupyterhub_url("exercises/03_icc.ipynb") == (
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Forg%2Fcourse"
        "&branch=dev&urlpath=lab%2Ftree%2Fcourse%2Fexercises%2F03_icc.ipynb")
    assert build_site.Hosting().binder_url("x.ipynb") is None
    assert build_site.Hosting(repository="https://github.com/o/r").jupyterhub_url("x.ipynb") is None


def _nb(*cells):
    return {"cells": [{"cell_type": kind, "source": text, "metadata": {}, "outputs": []} for kind, text in cells],
            "metadata": {}}


def test_time_estimate_counts_prose_and_code_and_adds_run_time():
    nb = _nb(("markdown", "word " * 400), ("code", "x = 1 " * 50), ("markdown", "<!-- nav -->\n" + "w " * 999))
    assert build_site.reading_minutes(nb) == pytest.approx(400 / 200 + 150 / 100)
    assert build_site.time_estimate(nb, None)[1] == "About 4 min reading"
    assert build_site.time_estimate(nb, 130)[0] == "About 7 min: 4 min reading, 3 min running the code."


def test_run_times_file_is_checked(tmp_path):
    bad = tmp_path / "times.json"
    bad.write_text('{"lessons": {"03_icc": 12}}')
    with pytest.raises(ValueError, match="time_lessons.py"):
        build_site.load_run_times(bad)
    assert build_site.load_run_times(tmp_path / "missing.json") == {}


def test_alt_text_comes_from_titles_or_the_plot_function():
    summaries = {"plot_caterpillar": "Caterpillar plot of the random effects"}
    assert build_site.alt_text('ax.set(title="Scores by school", xlabel="school")', summaries, None) == (
        "Figure: Scores by school (x axis: school)")
    assert build_site.alt_text("ax = plots.plot_caterpillar(ri)", summaries, "BLUPs") == (
        "Figure: Caterpillar plot of the random effects")
    assert build_site.alt_text("%matplotlib inline\nplt.plot(x)", summaries, "Data") == (
        "Figure: Figure for the section “Data”")


def test_plumbing_is_removed():
    nb = _nb(("code", "# Initialize Otter\nimport otter\ngrader = otter.Notebook('x.ipynb')"),
             ("markdown", "# Exercises 01 · Why"), ("code", "# NBVAL_IGNORE_OUTPUT\nprint(1)"))
    build_site.hide_plumbing(nb)
    assert [c["source"] for c in nb["cells"]] == ["# Exercises 01 · Why", "print(1)"]


def test_widgets_become_their_saved_picture():
    lesson = REPO / "notebooks" / "03_icc.ipynb"
    nb = json.loads(lesson.read_text())
    assert build_site.static_widgets(nb, {}) == _outputs(lesson, "application/vnd.jupyter.widget-view+json") > 0
    shown = [o["data"]["text/html"] for c in nb["cells"] for o in c.get("outputs", [])
             if "mlmlab-widget-static" in o.get("data", {}).get("text/html", "")]
    assert shown and all('src="data:image/png;base64,iVBOR' in h and "alt=" in h for h in shown)
    assert "τ00 = 2.0" in shown[0] and "widgets" not in nb["metadata"]
    with pytest.raises(ValueError, match="make notebooks"):
        build_site.static_widget_html({}, "0" * 32, "alt")


def test_time_lessons_merges_entries(tmp_path):
    import time_lessons

    out = tmp_path / "times.json"
    time_lessons.record({"00_start_here": 5.04}, out)
    data = time_lessons.record({"03_icc": 40.0}, out)
    assert data["lessons"]["00_start_here"]["seconds"] == 5.0 and data["lessons"]["03_icc"]["seconds"] == 40.0
    assert build_site.load_run_times(out) == {"00_start_here": 5.0, "03_icc": 40.0}


def test_widget_summaries_name_what_they_draw():
    summaries = {"icc_widget": "Sliders that redraw :func:`draw_icc`", "draw_icc": "Boxplots of the ``groups``"}
    assert build_site._plain_summary(summaries["icc_widget"], summaries) == "Boxplots of the groups"
    assert build_site._plain_summary("Curve of :func:`mlmlab.other`", summaries) == "Curve of mlmlab.other"
