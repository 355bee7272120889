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
    output = tmp_path_factory.mktemp("site") / "site"
    result = build_site.build(output)
    return output, result


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
