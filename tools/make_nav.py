"""Write the course's navigation: a nav cell in every lesson and the contents tables.

    python tools/make_nav.py           # refresh (make nav)
    python tools/make_nav.py --check   # exit 1 and list what is stale (tests/test_nav.py runs this)

Lessons are the files `notebooks/NN_slug.ipynb` that exist: add a lesson, run `make nav`, and the
neighbours' links and both contents tables follow. For each lesson the tool writes:

- a markdown cell right after the H1 cell (`# NN · Title`), with id `lesson-nav` and a marker comment,
  holding "← previous · Contents · next →" as relative links;
- one row in the contents table of `notebooks/00_start_here.ipynb` and of `README.md`, between the
  markers `<!-- contents:start -->` and `<!-- contents:end -->`, with a one-line description taken from
  the lesson's metadata (`"mlmlab": {"description": "..."}`) or else from its first paragraph;
- the hosting blocks `<!-- hosting:NAME:start -->` … `<!-- hosting:NAME:end -->` of README.md and lesson 00
  (Binder badge and links, the clone command) and `repository-code` in CITATION.cff, from the one hosting
  setting, `[tool.mlmlab.hosting]` in pyproject.toml (tools/hosting.py). Unset, the texts read correctly
  without it.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hosting as hosting_setting  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LESSON_RE = re.compile(r"^(\d\d)_([a-z0-9]+(?:_[a-z0-9]+)*)\.ipynb$")
NAV_ID = "lesson-nav"
NAV_MARKER = "<!-- nav: written by tools/make_nav.py (make nav); edits here are overwritten -->"
START, END = "<!-- contents:start -->", "<!-- contents:end -->"
START_PAGE = "00_start_here.ipynb"
SKIP_PARAGRAPH = re.compile(r"^\s*(#|[-*+] |\d+\. |\||<!--|!\[|>|\*\*(you will learn|you need)|```|\$\$)", re.I)


@dataclass(frozen=True)
class Lesson:
    number: str
    slug: str
    path: Path
    title: str
    description: str

    @property
    def label(self) -> str:
        return f"{self.number} · {self.title}"


def _h1_index(nb: nbformat.NotebookNode, path: Path) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return index
    raise ValueError(f"{path.name} has no H1 title cell. Start the notebook with a markdown cell '# NN · Title'.")


def _title(nb: nbformat.NotebookNode, path: Path, number: str) -> str:
    heading = nb.cells[_h1_index(nb, path)].source.lstrip().splitlines()[0][2:].strip()
    return re.sub(rf"^{number}\s*[·:.\-–—]\s*", "", heading).strip()


def _first_sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= 200 else sentence[:197].rstrip() + "…"


def _description(nb: nbformat.NotebookNode, path: Path) -> str:
    meta = nb.metadata.get("mlmlab", {}).get("description")
    if meta:
        return re.sub(r"\s+", " ", meta).strip()
    for cell in nb.cells:
        if cell.cell_type != "markdown" or NAV_MARKER in cell.source or cell.get("id") == NAV_ID:
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            if paragraph.strip() and not SKIP_PARAGRAPH.match(paragraph):
                return _first_sentence(paragraph)
    return ""


def find_lessons(notebooks: Path) -> list[Lesson]:
    """Every `NN_slug.ipynb` in ``notebooks``, in course order."""
    lessons = []
    for path in sorted(notebooks.glob("*.ipynb")):
        match = LESSON_RE.match(path.name)
        if not match:
            continue
        nb = nbformat.read(path, as_version=4)
        number, slug = match.groups()
        lessons.append(Lesson(number, slug, path, _title(nb, path, number), _description(nb, path)))
    numbers = [lesson.number for lesson in lessons]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ValueError(f"Two lessons share the number {', '.join(duplicates)}; give each lesson its own NN_ prefix.")
    return lessons


def nav_source(lessons: list[Lesson], index: int) -> str:
    """Markdown of the navigation line for ``lessons[index]``."""
    lesson = lessons[index]
    parts = []
    if index > 0:
        previous = lessons[index - 1]
        parts.append(f"[← {previous.label}]({previous.path.name})")
    if lesson.path.name != START_PAGE:
        parts.append(f"[Contents]({START_PAGE})")
    if index + 1 < len(lessons):
        following = lessons[index + 1]
        parts.append(f"[{following.label} →]({following.path.name})")
    # blank line after the comment: some Markdown renderers (JupyterLab's) otherwise show it as text
    return NAV_MARKER + "\n\n" + " · ".join(parts)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def contents_table(lessons: list[Lesson], *, prefix: str, exercises: Path, exercise_prefix: str,
                   include_start: bool) -> str:
    """Markdown contents table; links are relative (``prefix`` + file name)."""
    rows = ["| | Lesson | What it is about | Practice |", "|---|---|---|---|"]
    for lesson in lessons:
        if lesson.path.name == START_PAGE and not include_start:
            continue
        exercise = exercises / lesson.path.name
        practice = f"[exercises]({exercise_prefix}{lesson.path.name})" if exercise.is_file() else "—"
        rows.append(
            f"| {lesson.number} | [{_escape(lesson.title)}]({prefix}{lesson.path.name}) "
            f"| {_escape(lesson.description)} | {practice} |"
        )
    if len(rows) == 2:
        return "_The lessons will be listed here._"
    return "\n".join(rows)


def replace_between_markers(text: str, table: str, where: str) -> str:
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(
            f"{where} must contain the markers {START} and {END} once each, in that order, "
            "around the contents table."
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n\n{table}\n\n{END}{tail}"


HOSTING_BLOCK = re.compile(r"(<!-- hosting:([a-z]+):start -->)(.*?)(<!-- hosting:\2:end -->)", re.S)


def hosting_blocks(hosting: hosting_setting.Hosting, start_page: str) -> dict[str, str]:
    """Markdown of each hosting block, for the given hosting (``start_page``: repository-relative path)."""
    binder = hosting.binder_url(start_page)
    clone = hosting.clone_url()
    setting = hosting_setting.SETTING
    blocks = {
        "badge": f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder})" if binder else "",
        "get": (f"```bash\ngit clone {clone} mlmlab && cd mlmlab\n```" if clone else
                "Get the course's folder (clone its git repository, or download and unpack it) and open a "
                "terminal in it."),
        "binder": (f"**Without installing anything:** [open the course on Binder]({binder}). It opens the same "
                   "start page in JupyterLab in your browser (the first launch takes a few minutes while the "
                   "image builds)." if binder else
                   "**Without installing anything:** where the course is published on Binder or a JupyterHub, "
                   "the course page or your instructor gives you a link that opens this start page in your "
                   "browser with everything installed."),
        "class": (f"- **Quick start with Binder.** Share the Binder link of the student release, `{binder}`. "
                  "Every student gets a private, temporary JupyterLab with the course installed; nothing persists "
                  "after the session ends, so students download what they want to keep.\n"
                  if binder else
                  "- **Quick start with Binder.** Publish the student release (`make release`: the course without "
                  "solutions or hidden tests) as a public GitHub repository, set its address as "
                  f"`student_repository` in {setting} and run `make nav`: this line then gives the Binder link "
                  "to share, and `make site` adds launch buttons to every page.\n"),
        "launch": (f"This course runs on Binder: [open it there]({binder}), nothing to install (download your "
                   "work before you leave: a Binder session is not kept)." if binder else ""),
    }
    return blocks


def fill_hosting(text: str, blocks: dict[str, str], where: str) -> str:
    """Replace every hosting block in ``text`` with its current content."""
    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in blocks:
            raise ValueError(f"{where}: unknown hosting block {name!r}; the blocks are {', '.join(sorted(blocks))}.")
        body = blocks[name].strip("\n")
        return f"{match.group(1)}\n{body}\n{match.group(4)}" if body else f"{match.group(1)}{match.group(4)}"
    return HOSTING_BLOCK.sub(fill, text)


def citation_text(text: str, hosting: hosting_setting.Hosting) -> str:
    """CITATION.cff with ``repository-code`` set to the source repository (or left out while unset)."""
    lines = [line for line in text.splitlines() if not line.startswith("repository-code:")]
    if hosting.source:
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("license:")), len(lines))
        lines.insert(at, f'repository-code: "{hosting.source.removesuffix(".git")}"')
    return "\n".join(lines) + "\n"


def _with_hosting(nb: nbformat.NotebookNode, blocks: dict[str, str], path: Path) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "<!-- hosting:" in cell.source:
            cell.source = fill_hosting(cell.source, blocks, path.name)
    return nb


def _with_nav(nb: nbformat.NotebookNode, path: Path, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    ids = set()
    for index, other in enumerate(nb.cells):  # cells without an id get a fixed one, so reruns agree
        if not other.get("id") or other["id"] in ids:
            other["id"] = f"cell-{index:03d}"
        ids.add(other["id"])
    existing = [i for i, c in enumerate(nb.cells) if c.get("id") == NAV_ID or NAV_MARKER in c.get("source", "")]
    for index in reversed(existing):
        del nb.cells[index]
    cell = nbformat.v4.new_markdown_cell(source)
    cell["id"] = NAV_ID
    nb.cells.insert(_h1_index(nb, path) + 1, cell)
    return nb


def _with_contents(nb: nbformat.NotebookNode, table: str, path: Path) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and START in c.source]
    if len(cells) != 1:
        raise ValueError(f"{path.name} must have one markdown cell with the markers {START} … {END}.")
    cells[0].source = replace_between_markers(cells[0].source, table, path.name)
    return nb


def plan(repo: Path = REPO) -> dict[Path, object]:
    """Every file the navigation touches, mapped to its up-to-date content (notebook or str)."""
    notebooks, exercises = repo / "notebooks", repo / "exercises"
    lessons = find_lessons(notebooks)
    hosting = hosting_setting.load(repo / "pyproject.toml")
    blocks = hosting_blocks(hosting, f"notebooks/{START_PAGE}")
    updates: dict[Path, object] = {}
    for index, lesson in enumerate(lessons):
        nb = nbformat.read(lesson.path, as_version=4)
        nb = _with_nav(nb, lesson.path, nav_source(lessons, index))
        if lesson.path.name == START_PAGE:
            table = contents_table(lessons, prefix="", exercises=exercises, exercise_prefix="../exercises/",
                                   include_start=False)
            nb = _with_contents(nb, table, lesson.path)
            nb = _with_hosting(nb, blocks, lesson.path)
        updates[lesson.path] = nb
    readme = repo / "README.md"
    if readme.exists():
        table = contents_table(lessons, prefix="notebooks/", exercises=exercises, exercise_prefix="exercises/",
                               include_start=True)
        text = replace_between_markers(readme.read_text(), table, "README.md")
        updates[readme] = fill_hosting(text, blocks, "README.md")
    citation = repo / "CITATION.cff"
    if citation.exists():
        updates[citation] = citation_text(citation.read_text(), hosting)
    return updates


def _is_current(path: Path, content: object) -> bool:
    if isinstance(content, str):
        return path.read_text() == content
    return nbformat.read(path, as_version=4) == content


def stale_files(repo: Path = REPO) -> list[Path]:
    return [path for path, content in plan(repo).items() if not _is_current(path, content)]


def write(repo: Path = REPO) -> list[Path]:
    """Refresh navigation and contents; return the files that changed."""
    changed = []
    for path, content in plan(repo).items():
        if _is_current(path, content):
            continue
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
        changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write lesson navigation and contents tables.")
    parser.add_argument("--check", action="store_true", help="exit 1 if anything is stale; change nothing")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.repo)
        if stale:
            names = ", ".join(str(p.relative_to(args.repo)) for p in stale)
            print(f"Navigation or contents are stale in: {names}. Run `make nav` and commit.", file=sys.stderr)
            return 1
        return 0
    for path in write(args.repo):
        print(f"updated {path.relative_to(args.repo)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
