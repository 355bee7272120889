"""Build the static course site (Sphinx + myst-nb, sphinx-book-theme) from the committed notebooks.

    python tools/build_site.py [OUTPUT]        # default _build/site (make site)

Stages a source folder next to the output (OUTPUT + "-src") holding
- index.md: docs/index.md plus the contents table (lessons in order, each with its estimated time and its
  exercises) and the hidden table of contents that drives the side bar;
- notebooks/NN_slug.ipynb: every lesson, with its stored outputs (nothing is executed);
- notebooks/notation.md (REFERENCE_PAGES): the notation page the lessons link to, as it is;
- exercises/NN_slug.ipynb: the learners' exercise notebooks — solutions/ is never copied;
- _originals/: the untouched notebooks, offered by each page's "Download notebook" link;
- _vendor/mathjax/: MathJax 3 from the pinned PyPI package django-static-mathjax, so math is typeset
  with no network (docs/conf.py adds the folder to the site's _static/).
then runs sphinx-build with docs/conf.py. The lessons link to each other as `NN_slug.ipynb` and to
`../exercises/NN_slug.ipynb`; the staged folders keep those relative paths, so the links resolve.

The staged copies (never the committed notebooks) are adjusted for the web:
- a box under each page's title: the estimated time, "Download notebook" and, once the course's hosting
  is configured ([tool.mlmlab.hosting] in pyproject.toml), "Launch on Binder" and "Open on JupyterHub" (an nbgitpuller link);
- every figure gets alt text from its title (or the plotting function's summary);
- each widget becomes a picture of its first view with its settings and a note on how to run it live
  (the site works offline and needs no widget manager);
- plumbing is hidden: otter's "Initialize Otter" cell and `# NBVAL_...` comment lines.

Exit status is non-zero when Sphinx fails or reports a broken cross-reference.
"""

from __future__ import annotations

import argparse
import ast
import base64
import copy
import html
import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hosting import SETTING as HOSTING_SETTING, Hosting, load as load_hosting  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LESSON = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
# Markdown pages that travel with the lessons (linked from them), staged as they are.
REFERENCE_PAGES = ("notebooks/notation.md",)
# Sphinx warnings that mean a link on the site is broken.
BROKEN_LINK = re.compile(r"xref_missing|reference target not found|undefined label|unknown document|toc.not_readable")

# Reading speeds behind the estimated times: prose at 200 words a minute, code at half that (it is read
# closely, and run). Run times come from LESSON_TIMES, written by tools/time_lessons.py.
PROSE_WORDS_PER_MINUTE = 200
CODE_WORDS_PER_MINUTE = 100
LESSON_TIMES = REPO / "docs" / "lesson_times.json"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MATHJAX_PACKAGE = "mathjax"  # import name of the PyPI package django-static-mathjax (MathJax 3.2.2, Apache-2.0)
# The parts of MathJax's es5/ build the site loads: the TeX + MathML -> HTML bundle, its extensions and fonts,
# and the accessibility/menu parts it loads on demand.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "a11y", "sre", "ui", "adaptors"]
NBVAL_COMMENT = re.compile(r"^\s*#\s*NBVAL_\w+\s*$", re.MULTILINE)
OTTER_INIT = re.compile(r"^# Initialize Otter|otter\.Notebook\(", re.MULTILINE)


# The live launch links come from the one hosting setting, [tool.mlmlab.hosting] in pyproject.toml
# (tools/hosting.py). While no student repository is set the pages offer only "Download notebook", with a
# sentence saying how to add them.
HOSTING = load_hosting()
HOW_TO_HOST = ("Live launch buttons (Binder, JupyterHub) appear here once the course's student repository is "
               f"set: {HOSTING_SETTING}.")


def sources(repo: Path = REPO) -> dict[str, list[Path]]:
    """Lesson and exercise notebooks that go on the site, in course order.

    Parameters
    ----------
    repo : Path
        The repository root.

    Returns
    -------
    dict
        ``{"notebooks": [...], "exercises": [...]}``, each sorted by file name (``NN_slug.ipynb``).
    """
    pick = lambda folder: sorted(p for p in (repo / folder).glob("*.ipynb") if LESSON.match(p.name))  # noqa: E731
    return {"notebooks": pick("notebooks"), "exercises": pick("exercises")}


# ----------------------------------------------------------------------------------------------- timing

def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_nav(cell: dict) -> bool:
    return cell["cell_type"] == "markdown" and _text(cell).lstrip().startswith("<!-- nav")


def reading_minutes(nb: dict) -> float:
    """Minutes to read a notebook: prose at PROSE_WORDS_PER_MINUTE, code at CODE_WORDS_PER_MINUTE.

    Parameters
    ----------
    nb : dict
        The notebook (JSON). Navigation cells and HTML comments are not counted; plumbing (otter's
        initialisation cell) is not either.

    Returns
    -------
    float
        Reading time in minutes.
    """
    prose = code = 0
    for cell in nb["cells"]:
        if _is_nav(cell) or _is_otter_init(cell):
            continue
        words = len(re.sub(r"<!--.*?-->", " ", _text(cell), flags=re.S).split())
        if cell["cell_type"] == "markdown":
            prose += words
        elif cell["cell_type"] == "code":
            code += words
    return prose / PROSE_WORDS_PER_MINUTE + code / CODE_WORDS_PER_MINUTE


def load_run_times(path: Path = LESSON_TIMES) -> dict[str, float]:
    """Measured run time (seconds) of each lesson, by notebook stem; empty when nothing was measured.

    Raises
    ------
    ValueError
        When the file exists but is not the format tools/time_lessons.py writes.
    """
    if not path.is_file():
        return {}
    try:
        lessons = json.loads(path.read_text(encoding="utf-8"))["lessons"]
        return {stem: float(entry["seconds"]) for stem, entry in lessons.items()}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: expected {{'lessons': {{'NN_slug': {{'seconds': number}}}}}} "
                         f"as written by tools/time_lessons.py ({error})") from error


def time_estimate(nb: dict, run_seconds: float | None) -> tuple[str, str]:
    """The estimated time of a notebook: a sentence for its page and a short form for the contents table.

    Parameters
    ----------
    nb : dict
        The notebook (JSON).
    run_seconds : float or None
        Its measured run time; ``None`` when it was never measured (or the notebook is not run as a whole).

    Returns
    -------
    tuple of str
        E.g. ``("About 25 min: 20 min reading, 5 min running the code.", "About 25 min")``.
    """
    reading = max(1, math.ceil(reading_minutes(nb)))
    if run_seconds is None:
        return f"About {reading} min reading (run time not measured yet).", f"About {reading} min reading"
    running = max(1, math.ceil(run_seconds / 60))
    total = reading + running
    return f"About {total} min: {reading} min reading, {running} min running the code.", f"About {total} min"


# ------------------------------------------------------------------------------------------ plumbing

def _is_otter_init(cell: dict) -> bool:
    return cell["cell_type"] == "code" and bool(OTTER_INIT.search(_text(cell)))


def hide_plumbing(nb: dict) -> None:
    """Drop otter's initialisation cell and ``# NBVAL_...`` directive lines from a notebook, in place."""
    nb["cells"] = [cell for cell in nb["cells"] if not _is_otter_init(cell)]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and NBVAL_COMMENT.search(_text(cell)):
            cell["source"] = NBVAL_COMMENT.sub("", _text(cell)).strip("\n")


# ------------------------------------------------------------------------------------------ alt text

def _summaries(repo: Path) -> dict[str, str]:
    """First docstring line of every public function in mlmlab's plots and widgets, by function name."""
    found: dict[str, str] = {}
    for folder in ("plots", "widgets"):
        for path in sorted((repo / "mlmlab" / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    doc = ast.get_docstring(node)
                    if doc:
                        found[node.name] = doc.strip().split("\n\n")[0].replace("\n", " ").rstrip(".")
    return found


def _parse_code(source: str) -> ast.AST | None:
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        return ast.parse(cleaned)
    except SyntaxError:
        return None


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def figure_labels(source: str) -> dict[str, list[str]]:
    """Titles, axis labels and called function names in a code cell.

    Parameters
    ----------
    source : str
        The cell's code.

    Returns
    -------
    dict
        ``{"title": [...], "xlabel": [...], "ylabel": [...], "calls": [...]}`` in source order; titles come
        from ``title=``/``suptitle=`` keywords, ``set_title(...)``, ``suptitle(...)``; labels likewise.
    """
    labels: dict[str, list[str]] = {"title": [], "xlabel": [], "ylabel": [], "calls": []}
    tree = _parse_code(source)
    if tree is None:
        return labels
    roles = {"title": "title", "suptitle": "title", "set_title": "title", "xlabel": "xlabel",
             "set_xlabel": "xlabel", "ylabel": "ylabel", "set_ylabel": "ylabel"}
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        labels["calls"].append(name)
        if name in roles and call.args and _literal(call.args[0]):
            labels[roles[name]].append(_literal(call.args[0]))
        for keyword in call.keywords:
            if keyword.arg in roles and _literal(keyword.value):
                labels[roles[keyword.arg]].append(_literal(keyword.value))
    return labels


def alt_text(source: str, summaries: dict[str, str], section: str | None) -> str:
    """Alt text for the figure a code cell draws: its title, else what the plotting function draws.

    Parameters
    ----------
    source : str
        The cell's code.
    summaries : dict
        First docstring lines of the course's plotting functions (see ``_summaries``).
    section : str or None
        The heading the cell sits under, used when nothing better is known.
    """
    labels = figure_labels(source)
    if labels["title"]:
        text = "; ".join(labels["title"])
    else:
        known = [_plain_summary(summaries[name], summaries) for name in labels["calls"] if name in summaries]
        text = known[0] if known else (f"Figure for the section “{section}”" if section else "Figure")
    axes = [f"{axis[0]} axis: {labels[axis][-1]}" for axis in ("xlabel", "ylabel") if labels[axis]]
    return "Figure: " + text + (f" ({'; '.join(axes)})" if axes else "")


def _plain_summary(summary: str, summaries: dict[str, str]) -> str:
    """A docstring summary as plain words: a widget's summary that only names the function drawing its
    figure (":func:`draw_x`") is replaced by that function's summary; other markup is dropped."""
    drawn = re.search(r":func:`~?\.?([A-Za-z_][\w.]*)`", summary)
    name = drawn.group(1).rsplit(".", 1)[-1] if drawn else None
    if name in summaries and ":func:" not in summaries[name]:
        summary = summaries[name]
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", summary).replace("`", "")


def _heading(cell: dict) -> str | None:
    if cell["cell_type"] != "markdown":
        return None
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", _text(cell), flags=re.MULTILINE)
    return headings[-1] if headings else None


def add_alt_text(nb: dict, summaries: dict[str, str]) -> None:
    """Give every code cell that shows an image alt text (``mystnb.image.alt``), unless it has one; in place."""
    section = None
    for cell in nb["cells"]:
        section = _heading(cell) or section
        if cell["cell_type"] != "code":
            continue
        if not any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            continue
        options = cell.setdefault("metadata", {}).setdefault("mystnb", {}).setdefault("image", {})
        options.setdefault("alt", alt_text(_text(cell), summaries, section))


# ------------------------------------------------------------------------------------------- widgets

def _widget_models(state: dict, model_id: str) -> list[dict]:
    """The widget model ``model_id`` and every model it refers to, depth first in the order they appear."""
    seen, ordered = set(), []

    def visit(mid: str) -> None:
        if mid in seen or mid not in state:
            return
        seen.add(mid)
        model = state[mid]
        ordered.append(model)
        for ref in re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model.get("state", {}))):
            visit(ref)

    visit(model_id)
    return ordered


def _setting(model: dict) -> str | None:
    """``"description = value"`` for a slider or other value control; None for anything else."""
    state = model.get("state", {})
    if "description" not in state or not state.get("description"):
        return None
    if "index" in state and "_options_labels" in state:
        value = state["_options_labels"][state["index"]]
    elif "value" in state and not isinstance(state["value"], (dict, list)):
        value = state["value"]
    else:
        return None
    return f"{state['description']} = {value}"


def _png(model: dict) -> str | None:
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
            return buffer["data"]
    value = model.get("state", {}).get("value")
    return value if isinstance(value, str) and value.startswith("iVBOR") else None


def static_widget_html(state: dict, model_id: str, alt: str) -> str:
    """HTML showing a widget's first view: its picture(s), settings, text and a note on running it live.

    Parameters
    ----------
    state : dict
        The notebook's saved widget state (``metadata.widgets[...]["state"]``).
    model_id : str
        The widget shown by the output.
    alt : str
        Alt text for the widget's picture.

    Raises
    ------
    ValueError
        When the notebook saved no state for the widget (re-run the lesson with ``make notebooks``, which
        saves widget state).
    """
    models = _widget_models(state, model_id)
    if not models:
        raise ValueError(f"widget {model_id}: not in the notebook's saved widget state "
                         "(re-run the lesson with `make notebooks`)")
    images = [png for png in map(_png, models) if png]
    settings = [s for s in map(_setting, models) if s]
    texts = [m["state"]["value"] if m.get("model_name") == "HTMLModel" else html.escape(m["state"]["value"])
             for m in models if m.get("model_name") in ("HTMLModel", "LabelModel") and m["state"].get("value")]
    shown = f" at {', '.join(settings)}" if settings else ""
    figures = "".join(f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt + shown)}">' for png in images)
    what = "a picture of its first view" if images else "its first state"
    caption = (f"<strong>Interactive widget, shown as {what}{html.escape(shown)}.</strong> "
               "To move its sliders, run this notebook live: the launch buttons at the top of the page, or "
               "<code>make lab</code> on your computer.")
    text = "".join(f'<div class="mlmlab-widget-text">{t}</div>' for t in texts)
    return f'<figure class="mlmlab-widget-static">{text}{figures}<figcaption>{caption}</figcaption></figure>'


def static_widgets(nb: dict, summaries: dict[str, str]) -> int:
    """Replace every widget view by its static picture (``static_widget_html``) and drop the widget state.

    Without saved state on the page myst-nb loads no widget manager, so nothing is fetched from the network.

    Returns
    -------
    int
        How many widget views were replaced.
    """
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced, section = 0, None
    for cell in nb["cells"]:
        section = _heading(cell) or section
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if not view:
                continue
            alt = alt_text(_text(cell), summaries, section).replace("Figure:", "Widget:", 1)
            output["data"] = {"text/html": static_widget_html(state, view["model_id"], alt)}
            output.setdefault("metadata", {})
            replaced += 1
    nb.get("metadata", {}).pop("widgets", None)
    return replaced


# ----------------------------------------------------------------------------------------- launch box

def title_of(nb: dict) -> str:
    """The notebook's title: its first level-1 heading.

    Raises
    ------
    ValueError
        When the notebook has no ``# title`` line.
    """
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", _text(cell), flags=re.MULTILINE)
            if match:
                return match.group(1)
    raise ValueError("notebook has no level-1 heading ('# title')")


def launch_box(folder: str, name: str, estimate: str, hosting: Hosting) -> str:
    """MyST for the box under a page's title: estimated time, download link and live launch links.

    Parameters
    ----------
    folder, name : str
        Where the notebook lives in the repository (``notebooks``, ``03_icc.ipynb``).
    estimate : str
        The time sentence (``time_estimate``).
    hosting : Hosting
        Where the course runs live; links are shown only for what is configured.
    """
    path = f"{folder}/{name}"
    links = [f"{{download}}`Download notebook <{_original(folder, name)}>`"]
    binder, hub = hosting.binder_url(path), hosting.jupyterhub_url(path)
    if binder:
        links.append(f"[Launch on Binder]({binder})")
    if hub:
        links.append(f"[Open on JupyterHub]({hub})")
    lines = [":::{container} mlmlab-launch", f"**Time:** {estimate}", "", " ".join(links)]
    if not binder:
        lines += ["", HOW_TO_HOST]
    return "\n".join(lines + [":::"])


def _original(folder: str, name: str) -> str:
    return f"/_originals/{folder}/{name}"


def insert_after_title(nb: dict, markdown: str) -> None:
    """Insert a markdown cell right under the first ``# title`` line (splitting its cell), in place."""
    for index, cell in enumerate(nb["cells"]):
        text = _text(cell)
        match = re.search(r"^#\s+.+$", text, flags=re.MULTILINE) if cell["cell_type"] == "markdown" else None
        if not match:
            continue
        head, rest = text[:match.end()], text[match.end():].strip("\n")
        cell["source"] = head
        new = [{"cell_type": "markdown", "id": "mlmlab-launch", "metadata": {}, "source": markdown}]
        if rest:
            new.append({"cell_type": "markdown", "id": f"{cell.get('id', 'title')}-rest", "metadata": {}, "source": rest})
        nb["cells"][index + 1:index + 1] = new
        return
    raise ValueError("notebook has no level-1 heading ('# title') to put the launch box under")


# -------------------------------------------------------------------------------------------- staging

@dataclass
class Page:
    """One lesson or exercise page: where it comes from and what the contents table says about it."""

    folder: str
    path: Path
    title: str
    description: str
    estimate: str
    short_estimate: str


def web_copy(path: Path, folder: str, hosting: Hosting, run_times: dict[str, float],
             summaries: dict[str, str]) -> tuple[dict, Page]:
    """The notebook at ``path`` prepared for the site (see the module docstring) and its contents entry."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    run_seconds = run_times.get(path.stem) if folder == "notebooks" else None
    estimate, short = time_estimate(nb, run_seconds)
    if folder == "exercises":
        estimate = estimate.replace(" (run time not measured yet)", ", plus the time to answer")
    page = Page(folder, path, title_of(nb), nb.get("metadata", {}).get("mlmlab", {}).get("description", ""),
                estimate, short)
    web = copy.deepcopy(nb)
    hide_plumbing(web)
    add_alt_text(web, summaries)
    static_widgets(web, summaries)
    insert_after_title(web, launch_box(folder, path.name, estimate, hosting))
    return web, page


def contents_table(pages: list[Page]) -> str:
    """MyST table of the lessons in order: title and description, estimated time, exercises."""
    exercises = {p.path.stem: p for p in pages if p.folder == "exercises"}
    rows = ["| Lesson | Time | Practice |", "| --- | --- | --- |"]
    for page in (p for p in pages if p.folder == "notebooks"):
        lesson = f"[{page.title}](notebooks/{page.path.name})" + (f"<br>{page.description}" if page.description else "")
        practice = exercises.get(page.path.stem)
        link = f"[Exercises](exercises/{practice.path.name})" if practice else "—"
        rows.append(f"| {lesson} | {page.short_estimate} | {link} |".replace("\n", " "))
    return "\n".join(rows)


def index_text(repo: Path, pages: list[Page]) -> str:
    """The site's home page: docs/index.md, the contents table and the (hidden) side-bar toctrees."""
    parts = [(repo / "docs" / "index.md").read_text(encoding="utf-8").rstrip() + "\n",
             "\n## Contents\n\n" + contents_table(pages) + "\n"]
    for folder, caption in (("notebooks", "Lessons"), ("exercises", "Exercises")):
        entries = "\n".join(f"{folder}/{p.path.stem}" for p in pages if p.folder == folder)
        if entries:
            parts.append(f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n:hidden:\n\n{entries}\n```\n")
    reference = "\n".join(page.removesuffix(".md") for page in REFERENCE_PAGES if (repo / page).is_file())
    if reference:
        parts.append(f"\n```{{toctree}}\n:caption: Reference\n:maxdepth: 1\n:hidden:\n\n{reference}\n```\n")
    return "".join(parts)


def vendor_mathjax(target: Path) -> Path:
    """Copy the MathJax parts the site needs from the installed django-static-mathjax package.

    Raises
    ------
    RuntimeError
        When the package is not installed (``make venv`` installs it from constraints.txt).
    """
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").is_file():
        raise RuntimeError("MathJax not found: install the pinned package django-static-mathjax "
                           "(`make venv`, or pip install -c constraints.txt django-static-mathjax)")
    for part in MATHJAX_PARTS:
        source, dest = es5 / part, target / part
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        elif source.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    return target


def stage(src: Path, repo: Path = REPO, hosting: Hosting = HOSTING) -> list[Page]:
    """Fill ``src`` with the site's sources (emptied first).

    Parameters
    ----------
    src : Path
        The staging folder (Sphinx's source folder).
    repo : Path
        The repository root.
    hosting : Hosting
        Where the course runs live (the launch links).

    Returns
    -------
    list of Page
        Lessons then exercises, in course order.
    """
    if src.exists():
        shutil.rmtree(src)
    run_times, summaries, pages = load_run_times(repo / "docs" / LESSON_TIMES.name), _summaries(repo), []
    for folder, paths in sources(repo).items():
        (src / folder).mkdir(parents=True, exist_ok=True)
        for path in paths:
            web, page = web_copy(path, folder, hosting, run_times, summaries)
            (src / folder / path.name).write_text(json.dumps(web, ensure_ascii=False, indent=1), encoding="utf-8")
            original = src / _original(folder, path.name).lstrip("/")
            original.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, original)
            pages.append(page)
    for page in REFERENCE_PAGES:
        if (repo / page).is_file():
            (src / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / page, src / page)
    vendor_mathjax(src / "_vendor" / "mathjax")
    (src / "index.md").write_text(index_text(repo, pages), encoding="utf-8")
    return pages


def build(output: Path, repo: Path = REPO, *, quiet: bool = True,
          hosting: Hosting = HOSTING) -> subprocess.CompletedProcess:
    """Stage the sources next to ``output`` and run sphinx-build into ``output``.

    Returns
    -------
    subprocess.CompletedProcess
        Sphinx's run (check ``returncode`` and ``stderr``; see ``BROKEN_LINK``).
    """
    output = output.resolve()
    src = output.with_name(output.name + "-src")
    stage(src, repo, hosting)
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-c", str(repo / "docs"), "-d", str(src / ".doctrees"),
        "--keep-going", str(src), str(output),
    ]
    if quiet:
        command.insert(3, "-q")
    return subprocess.run(command, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the static course site.")
    parser.add_argument("output", nargs="?", type=Path, default=REPO / "_build" / "site")
    args = parser.parse_args(argv)
    result = build(args.output)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    broken = [line for line in result.stderr.splitlines() if BROKEN_LINK.search(line)]
    if result.returncode != 0 or broken:
        print(f"site build failed ({len(broken)} broken link warnings)", file=sys.stderr)
        return 1
    print(f"site written to {args.output}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
