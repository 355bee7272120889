"""Lesson navigation and contents tables (tools/make_nav.py) are generated and must not be stale."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import make_nav  # noqa: E402

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_navigation_and_contents_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_nav.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_lesson_has_a_nav_cell_right_after_its_title():
    lessons = make_nav.find_lessons(REPO / "notebooks")
    assert lessons, "no lessons found in notebooks/"
    assert lessons[0].path.name == "00_start_here.ipynb"
    for lesson in lessons:
        nb = nbformat.read(lesson.path, as_version=4)
        h1 = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("# "))
        assert nb.cells[h1 + 1].get("id") == make_nav.NAV_ID, f"{lesson.path.name}: run `make nav`"
        assert sum(c.get("id") == make_nav.NAV_ID for c in nb.cells) == 1


def test_links_written_by_the_tool_point_to_existing_files():
    for lesson in make_nav.find_lessons(REPO / "notebooks"):
        cells = nbformat.read(lesson.path, as_version=4).cells
        nav = [c.source for c in cells if c.get("id") == make_nav.NAV_ID]
        assert nav, f"{lesson.path.name} has no navigation cell: run `make nav`"
        for target in LINK.findall(nav[0]):
            assert (lesson.path.parent / target).is_file(), f"{lesson.path.name} links to missing {target}"
    readme = (REPO / "README.md").read_text()
    table = readme.split(make_nav.START)[1].split(make_nav.END)[0]
    for target in LINK.findall(table):
        assert (REPO / target).is_file(), f"README contents table links to missing {target}"


# --- the tool itself, on a small course built in a temporary folder ----------------------------------


def _lesson(path, title, *, description=None, paragraph="A first paragraph. With a second sentence.", extra=()):
    cells = [new_markdown_cell(f"# {title}\n\n{paragraph}"), *extra, new_code_cell("1 + 1")]
    nb = new_notebook(cells=cells)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index}"
    if description:
        nb.metadata["mlmlab"] = {"description": description}
    nbformat.write(nb, path)


@pytest.fixture
def course(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "exercises").mkdir()
    contents = new_markdown_cell(f"## Contents\n\n{make_nav.START}\n{make_nav.END}\n\nAfter the table.")
    _lesson(tmp_path / "notebooks" / "00_start_here.ipynb", "00 · Start here", description="Begin.", extra=[contents])
    _lesson(tmp_path / "notebooks" / "01_why.ipynb", "01 · Why multilevel?", description="Why | groups matter.")
    _lesson(tmp_path / "notebooks" / "03_icc.ipynb", "03 · The ICC",
            paragraph="**You will learn**\n\n- bullets are skipped\n\nThe share of variance between groups. More.")
    (tmp_path / "notebooks" / "notes.ipynb").write_text((tmp_path / "notebooks" / "01_why.ipynb").read_text())
    (tmp_path / "exercises" / "01_why.ipynb").write_text("{}")
    (tmp_path / "README.md").write_text(f"# Course\n\n{make_nav.START}\nold table\n{make_nav.END}\n\nEnd.\n")
    return tmp_path


def _nav(path):
    return nbformat.read(path, as_version=4).cells[1]


def test_nav_cells_link_previous_contents_next(course):
    changed = make_nav.write(course)
    nb_dir = course / "notebooks"
    assert sorted(p.name for p in changed) == ["00_start_here.ipynb", "01_why.ipynb", "03_icc.ipynb", "README.md"]
    start, first, last = _nav(nb_dir / "00_start_here.ipynb"), _nav(nb_dir / "01_why.ipynb"), _nav(nb_dir / "03_icc.ipynb")
    assert start.id == first.id == last.id == "lesson-nav"
    assert LINK.findall(start.source) == ["01_why.ipynb"]
    assert LINK.findall(first.source) == ["00_start_here.ipynb", "00_start_here.ipynb", "03_icc.ipynb"]
    assert "[← 00 · Start here](00_start_here.ipynb)" in first.source
    assert "[03 · The ICC →](03_icc.ipynb)" in first.source
    assert LINK.findall(last.source) == ["01_why.ipynb", "00_start_here.ipynb"]  # no next after the last lesson
    assert "notes.ipynb" not in start.source + first.source + last.source  # only NN_slug files are lessons


def test_contents_tables_list_lessons_with_descriptions(course):
    make_nav.write(course)
    nb = nbformat.read(course / "notebooks" / "00_start_here.ipynb", as_version=4)
    table = next(c.source for c in nb.cells if make_nav.START in c.source)
    assert "| 01 | [Why multilevel?](01_why.ipynb) | Why \\| groups matter. | [exercises](../exercises/01_why.ipynb) |" in table
    assert "| 03 | [The ICC](03_icc.ipynb) | The share of variance between groups. | — |" in table
    assert "Start here" not in table.split(make_nav.START)[1]  # the start page does not list itself
    assert table.endswith("After the table.")
    readme = (course / "README.md").read_text()
    assert "old table" not in readme and readme.endswith("End.\n")
    assert "| 00 | [Start here](notebooks/00_start_here.ipynb) | Begin. | — |" in readme
    assert "[exercises](exercises/01_why.ipynb)" in readme


def test_rerun_changes_nothing_and_check_passes(course):
    make_nav.write(course)
    before = {p: p.read_bytes() for p in course.rglob("*") if p.is_file()}
    assert make_nav.write(course) == []
    assert make_nav.stale_files(course) == []
    assert {p: p.read_bytes() for p in course.rglob("*") if p.is_file()} == before


def test_a_new_lesson_makes_neighbours_and_tables_stale(course):
    make_nav.write(course)
    _lesson(course / "notebooks" / "02_intercepts.ipynb", "02 · Random intercepts", description="Partial pooling.")
    stale = sorted(p.name for p in make_nav.stale_files(course))
    assert stale == ["00_start_here.ipynb", "01_why.ipynb", "02_intercepts.ipynb", "03_icc.ipynb", "README.md"]
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_nav.py"), "--check", "--repo", str(course)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "Run `make nav`" in result.stderr and "notebooks/02_intercepts.ipynb" in result.stderr
    make_nav.write(course)
    assert "[02 · Random intercepts →](02_intercepts.ipynb)" in _nav(course / "notebooks" / "01_why.ipynb").source


def test_hand_edited_or_moved_nav_cell_is_restored(course):
    make_nav.write(course)
    path = course / "notebooks" / "01_why.ipynb"
    nb = nbformat.read(path, as_version=4)
    nav = nb.cells.pop(1)
    nav.source = nav.source.replace("Contents", "Table of contents")
    nb.cells.append(nav)
    nbformat.write(nb, path)
    assert make_nav.stale_files(course) == [path]
    make_nav.write(course)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].id == "lesson-nav" and "[Contents](00_start_here.ipynb)" in nb.cells[1].source
    assert [c.id for c in nb.cells].count("lesson-nav") == 1


def test_lesson_without_title_is_refused(course):
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, course / "notebooks" / "04_slopes.ipynb")
    with pytest.raises(ValueError, match=r"04_slopes.ipynb has no H1 title cell. Start the notebook with"):
        make_nav.write(course)


def test_missing_markers_are_refused(course):
    (course / "README.md").write_text("# Course without markers\n")
    with pytest.raises(ValueError, match=r"README.md must contain the markers <!-- contents:start -->"):
        make_nav.write(course)


# --- the hosting setting ([tool.mlmlab.hosting] in pyproject.toml) --------------------------------------

import hosting  # noqa: E402

HOSTED = """[tool.mlmlab.hosting]
source_repository = "https://github.com/example-org/mlmlab"
student_repository = "https://github.com/example-org/mlmlab-student"
branch = "main"
jupyterhub = "https://hub.example.edu"
"""
BLOCKS = "".join(f"<!-- hosting:{name}:start --><!-- hosting:{name}:end -->\n\n"
                 for name in ("badge", "get", "binder", "class"))


@pytest.fixture
def hosted_course(course):
    readme = course / "README.md"
    readme.write_text(BLOCKS + readme.read_text())
    (course / "CITATION.cff").write_text('cff-version: 1.2.0\nlicense: BSD-3-Clause\nrepository-code: "x"\n')
    return course


def test_readme_and_citation_read_correctly_before_the_course_is_hosted(hosted_course):
    make_nav.write(hosted_course)
    readme = (hosted_course / "README.md").read_text()
    assert "mybinder.org/v2" not in readme and "git clone" not in readme and "OWNER" not in readme
    assert "Get the course's folder" in readme and "student_repository" in readme
    assert "repository-code" not in (hosted_course / "CITATION.cff").read_text()


def test_the_hosting_setting_reaches_readme_lesson_00_and_citation(hosted_course):
    (hosted_course / "pyproject.toml").write_text(HOSTED)
    start = hosted_course / "notebooks" / "00_start_here.ipynb"
    nb = nbformat.read(start, as_version=4)
    nb.cells.append(new_markdown_cell("In class.\n<!-- hosting:launch:start --><!-- hosting:launch:end -->"))
    nbformat.write(nb, start)
    make_nav.write(hosted_course)
    binder = ("https://mybinder.org/v2/gh/example-org/mlmlab-student/main?urlpath="
              "lab%2Ftree%2Fnotebooks%2F00_start_here.ipynb")
    readme = (hosted_course / "README.md").read_text()
    assert f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder})" in readme
    assert "git clone https://github.com/example-org/mlmlab.git mlmlab && cd mlmlab" in readme
    assert readme.count(binder) == 3  # badge, "without installing", the class section
    assert "Get the course's folder" not in readme
    launch = nbformat.read(start, as_version=4).cells[-1].source
    assert f"[open it there]({binder})" in launch
    assert 'repository-code: "https://github.com/example-org/mlmlab"' in (hosted_course / "CITATION.cff").read_text()
    assert make_nav.stale_files(hosted_course) == []
    (hosted_course / "pyproject.toml").write_text(HOSTED.replace("example-org", "other-org"))
    assert {p.name for p in make_nav.stale_files(hosted_course)} == {"00_start_here.ipynb", "README.md", "CITATION.cff"}


@pytest.mark.parametrize("text, message", [
    ('[tool.mlmlab.hosting]\nstudent_repo = "https://x.org"\n', "unknown key(s) student_repo"),
    ('[tool.mlmlab.hosting]\nsource_repository = "github.com/org/mlmlab"\n', "is not an http(s) URL"),
    ('[tool.mlmlab.hosting]\njupyterhub = 3\n', "jupyterhub must be a string"),
])
def test_a_bad_hosting_setting_is_named(tmp_path, text, message):
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        hosting.load(tmp_path / "pyproject.toml")


def test_nothing_a_newcomer_copies_holds_a_placeholder():
    for name in ("README.md", "CITATION.cff"):
        text = (REPO / name).read_text()
        assert "OWNER" not in text and "<your" not in text.lower(), f"{name} holds a placeholder"
    assert hosting.load() == hosting.load(REPO / "pyproject.toml")
