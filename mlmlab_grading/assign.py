"""Build assignments from their masters with otter-grader's ``otter assign``.

A master ``solutions/NN_slug.ipynb`` holds questions, solutions, public and
hidden tests and points in otter's assign format. :func:`build` runs
``otter assign`` on a copy of it in a private temporary directory and returns,
in memory:

* the student notebook (and otter's autograder notebook: the same, solved),
  normalised so that generating it twice gives the same bytes (cell ids derived
  from the cell contents, no outputs, no timestamps, trimmed metadata);
* every question's test file (public *and* hidden cases) as text;
* the answer manifest: for each question, the variable names its tests read
  (the parameters of the test functions, otter's exception-based format).

Used by ``tools/make_exercises.py`` and by :mod:`mlmlab_grading`; the grader
keeps the tests in memory, so nothing a submission writes to disk can reach them.

Nothing here knows where the masters live: every function takes the masters
folder as an argument (:func:`default_masters_dir` is ``./solutions`` of the
current directory, with a clear error when there is none). The statistics
library ``mlmlab`` does not import this package.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import io
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from mlmlab._checks import argument_error

_MASTER_RE = re.compile(r"^(\d{2})_[a-z0-9_]+\.ipynb$")
_CONFIG_RE = re.compile(r"#\s+assignment\s+config\s*", re.IGNORECASE)
# Settings every master gets, whatever it says: exception-based tests stored in the
# notebook metadata (one self-contained student file), no otter export/zip/PDF steps.
_FORCED_CONFIG = {
    "init_cell": True,
    "check_all_cell": False,
    "export_cell": False,
    "run_tests": False,
    "solutions_pdf": False,
    "template_pdf": False,
    "tests": {"files": False, "ok_format": False},
}
_KEEP_CELL_METADATA = ("deletable", "editable", "tags")


@dataclass
class Build:
    """Everything generated from one master."""

    name: str
    master: Path
    student: nbformat.NotebookNode
    tests: dict[str, str]
    public_tests: dict[str, str]
    points: dict[str, float]
    manifest: dict[str, list[str]]
    hidden_counts: dict[str, int] = field(default_factory=dict)
    autograder: nbformat.NotebookNode | None = None
    version: str = ""
    manual: dict[str, "Written"] = field(default_factory=dict)

    @property
    def questions(self) -> list[str]:
        return list(self.tests)

    @property
    def answer_names(self) -> list[str]:
        names: list[str] = []
        for q in self.questions:
            names += [n for n in self.manifest[q] if n not in names]
        return names

    @property
    def max_score(self) -> float:
        """Points of the questions graded by tests (written questions are marked by hand, apart)."""
        return float(sum(self.points.values()))

    @property
    def manual_points(self) -> float:
        """Points of the written questions, marked by hand."""
        return float(sum(w.points for w in self.manual.values()))


@dataclass
class Written:
    """A written question (otter's ``manual: true``), marked by hand.

    ``prompt`` is the question as the student sees it, ``model_answer`` the master's answer (markdown),
    for the marker only.
    """

    name: str
    points: float
    prompt: str
    model_answer: str


def default_masters_dir(cwd: str | Path | None = None) -> Path:
    """The course's masters folder, ``solutions/`` under ``cwd`` (default: the current directory).

    Parameters
    ----------
    cwd : str or Path, optional
        The course's root folder; default the current working directory.

    Returns
    -------
    Path
        ``cwd/solutions``.

    Raises
    ------
    ValueError
        If there is no ``solutions/`` folder there (naming the folder and the fix).
    """
    root = Path(cwd) if cwd is not None else Path.cwd()
    folder = root / "solutions"
    if not folder.is_dir():
        raise argument_error(
            "grade", "masters", "a folder of master notebooks", str(folder),
            detail=f"there is no solutions/ folder in {root}",
            fix="Run from the course's root folder, or pass --masters DIR (masters=DIR).",
        )
    return folder


def list_masters(masters_dir: str | Path) -> list[Path]:
    """Masters ``NN_slug.ipynb`` in ``masters_dir``, sorted by number.

    Parameters
    ----------
    masters_dir : str or Path
        Folder of master notebooks.

    Returns
    -------
    list of Path
    """
    folder = Path(masters_dir)
    return sorted(p for p in folder.glob("*.ipynb") if _MASTER_RE.match(p.name))


def find_master(assignment: str, masters_dir: str | Path) -> Path:
    """The master for ``assignment``: a number (``3`` or ``"03"``) or a stem (``"03_icc"``).

    Parameters
    ----------
    assignment : str or int
        Assignment number or master stem.
    masters_dir : str or Path
        Folder of master notebooks.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If no master matches (the message lists the masters there).
    """
    masters = list_masters(masters_dir)
    text = str(assignment).strip()
    if text.isdigit():
        text = f"{int(text):02d}"
    for path in masters:
        if text in (path.stem, path.stem[:2]):
            return path
    known = ", ".join(p.stem for p in masters) or "none"
    raise argument_error(
        "grade", "assignment", "the number or name of a master notebook", assignment,
        detail=f"masters are: {known}",
        fix="Pass --assignment 01 (say), or point --masters at the folder that holds the masters.",
    )


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _prepare_master(nb: nbformat.NotebookNode, *, bundle: bool,
                    extra_config: dict | None = None) -> nbformat.NotebookNode:
    from mlmlab_grading.worked import without_explanations

    nb = without_explanations(nb)  # the explanations are for the worked-solutions view only
    configs = [c for c in nb.cells if c.cell_type == "raw" and _CONFIG_RE.match(_source(c))]
    if len(configs) != 1:
        raise ValueError(
            f"A master needs exactly one raw cell starting with '# ASSIGNMENT CONFIG'; found {len(configs)}."
        )
    cell = configs[0]
    config = yaml.safe_load(_source(cell)) or {}
    config.update(copy.deepcopy(_FORCED_CONFIG))
    config.update(copy.deepcopy(extra_config or {}))
    if not bundle:
        config["generate"] = False
    elif not config.get("generate"):
        config["generate"] = {}
    cell.source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=True)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return nb


def run_otter_assign(master: str | Path, result: str | Path, *, bundle: bool = False,
                     extra_config: dict | None = None) -> Path:
    """Run ``otter assign`` on (a prepared copy of) ``master``; outputs go to ``result``.

    ``result/autograder`` holds the notebook with solutions and all tests (and, with
    ``bundle=True``, otter's autograder zip for Docker/Gradescope grading);
    ``result/student`` holds the raw student notebook.
    """
    from otter.assign import main as otter_assign

    master, result = Path(master).resolve(), Path(result).resolve()
    src_dir = result / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    for extra in (extra_config or {}).get("autograder_files", []):
        shutil.copytree(master.parent / extra, src_dir / extra)
    nb = nbformat.read(master, as_version=4)
    nbformat.write(_prepare_master(nb, bundle=bundle, extra_config=extra_config), src_dir / master.name)
    quiet = io.StringIO()
    otter_logger = logging.getLogger("otter")
    old_level = otter_logger.level
    otter_logger.setLevel(logging.WARNING)
    # otter assign leaves a tempfile.mkdtemp() folder behind when it does not generate a zip:
    # point tempfile inside `result` meanwhile, so it goes when `result` goes.
    old_tempdir, tempfile.tempdir = tempfile.tempdir, str(result)
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            otter_assign(str(src_dir / master.name), str(result / "dist"), no_pdfs=True,
                         no_run_tests=True)
    finally:
        tempfile.tempdir = old_tempdir
        otter_logger.setLevel(old_level)
    return result / "dist"


def _stable_ids(nb: nbformat.NotebookNode) -> None:
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\n{_source(cell)}".encode()).hexdigest()[:10]
        seen[digest] = seen.get(digest, 0) + 1
        cell["id"] = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"


def normalise_student(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip everything that could differ between two generations of the same master.

    (Also applied to otter's autograder notebook, the "solved exercise" used in tests.)
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    otter_meta = nb.metadata.get("otter", {})
    nb.metadata = nbformat.NotebookNode({
        "kernelspec": {"display_name": "Python 3 (mlmlab)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "otter": otter_meta,
    })
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode(
            {k: v for k, v in cell.metadata.items() if k in _KEEP_CELL_METADATA})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
        cell.source = _source(cell).rstrip("\n")
        if cell.cell_type == "code":
            cell.source = robust_init_cell(cell.source)
    _title_first(nb)
    _stable_ids(nb)
    return nb


def _title_first(nb: nbformat.NotebookNode) -> None:
    """Put otter's initialisation cell just below the notebook's title (otter writes it first).

    The notebook then opens on its title ("Exercises 02 · ..."), and the set-up cell follows it.
    """
    if (len(nb.cells) > 1 and nb.cells[0].cell_type == "code" and _OTTER_INIT_ANY.search(nb.cells[0].source)
            and nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# ")):
        nb.cells[0], nb.cells[1] = nb.cells[1], nb.cells[0]


_OTTER_INIT_RE = re.compile(r'^# Initialize Otter\nimport otter\ngrader = otter\.Notebook\("((\d{2}_[a-z0-9_]+)\.ipynb)"\)$')

_OTTER_INIT_ANY = re.compile(r"^# Initialize Otter", re.MULTILINE)

_INIT_CELL = '''# Initialize Otter. grader.check reads its tests from this notebook's file: found by its name or,
# if you renamed your copy, as the most recently saved notebook of this assignment in this folder.
import glob, json, os
import otter


def _this_notebook(name, assignment):
    if os.path.isfile(name):
        return name

    def of_assignment(path):
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)["metadata"]["otter"]["assignment_name"] == assignment
        except (OSError, ValueError, KeyError, TypeError):
            return False

    found = [p for p in glob.glob("*.ipynb") if of_assignment(p)]
    return max(found, key=os.path.getmtime) if found else name


grader = otter.Notebook(_this_notebook("{file}", "{name}"))

# otter ends a passed check with a random emoji, an empty box where no emoji font is installed: a check mark.
import otter.test_files.abstract_test as _otter_display
_otter_display.random = type("CheckMark", (), {"choice": staticmethod(lambda marks: "✓")})()

# A failed check shows its hint, not the check's code (otter would print the failing line of the test).
import otter.test_files.exception_test as _otter_tests
_otter_tests.ExceptionTestFile._generate_error_message = (
    lambda self, exc, context=0: f"{type(exc).__name__}: {str(exc).strip(chr(39))}")'''


def robust_init_cell(source: str) -> str:
    """otter's init cell, made to find a renamed copy of the notebook (other cells unchanged).

    otter's own cell, ``grader = otter.Notebook("03_icc.ipynb")``, fails with FileNotFoundError in a
    copy saved under another name, and then every ``grader.check`` raises NameError.

    Parameters
    ----------
    source : str
        A code cell's source.

    Returns
    -------
    str
    """
    match = _OTTER_INIT_RE.match(source)
    if not match:
        return source
    return _INIT_CELL.replace("{file}", match.group(1)).replace("{name}", match.group(2))


_TEST_CASE = re.compile(r"@test_case\((?P<args>.*?)\)\s*\ndef (?P<fn>\w+)\(", re.S)


def name_test_cases(test_source: str, question: str) -> str:
    """Name each test case after its function (``test_q3_value`` -> ``q3 · value``) instead of otter's ``q3 - 2``.

    The name is what a learner's ``grader.check`` and the feedback show for a test.

    Parameters
    ----------
    test_source : str
        An exception-based test file written by otter assign.
    question : str
        Its question (``q3``).

    Returns
    -------
    str
    """
    def named(match):
        if re.match(r"\s*name\s*=", match["args"]):
            return match[0]
        words = re.sub(rf"^test_{re.escape(question)}_?", "", match["fn"]).replace("_", " ").strip() or "test"
        return f'@test_case(name="{question} · {words}", {match["args"]})\ndef {match["fn"]}('

    return _TEST_CASE.sub(named, test_source)


def answer_names_of(test_source: str, question: str) -> tuple[list[str], int]:
    """Names read by a question's tests (their function parameters) and the number of hidden cases."""
    tree = ast.parse(test_source)
    names: list[str] = []
    hidden = 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg == "hidden" and isinstance(kw.value, ast.Constant) and kw.value.value:
                        hidden += 1
        for arg in node.args.args + node.args.kwonlyargs:
            if arg.arg == "env":
                raise ValueError(
                    f"A test of question {question} takes 'env' (the whole notebook namespace). "
                    "Graded tests may only read named answer variables: list them as parameters."
                )
            if arg.arg not in names:
                names.append(arg.arg)
        if node.args.vararg or node.args.kwarg:
            raise ValueError(f"A test of question {question} uses *args/**kwargs; name each answer variable.")
    return names, hidden


def build(master: str | Path, *, bundle_dir: str | Path | None = None,
          extra_config: dict | None = None) -> Build:
    """Run otter assign on ``master`` in a private temporary directory and collect the results.

    With ``bundle_dir``, otter's whole output (autograder notebook, autograder zip for
    ``otter grade``/Gradescope, student notebook) is also copied there.
    """
    from otter.test_files import ExceptionTestFile

    master = Path(master).resolve()
    with tempfile.TemporaryDirectory(prefix="mlmlab-assign-") as tmp:
        dist = run_otter_assign(master, tmp, bundle=bundle_dir is not None, extra_config=extra_config)
        ag = nbformat.read(dist / "autograder" / master.name, as_version=4)
        student = nbformat.read(dist / "student" / master.name, as_version=4)
        if bundle_dir is not None:
            target = Path(bundle_dir) / master.stem
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(dist, target)
    tests = {q: name_test_cases(src, q) for q, src in ag.metadata.get("otter", {}).get("tests", {}).items()}
    public = {q: name_test_cases(src, q) for q, src in student.metadata.get("otter", {}).get("tests", {}).items()}
    for nb, named in ((ag, tests), (student, public)):
        if "otter" in nb.metadata and "tests" in nb.metadata["otter"]:
            nb.metadata["otter"]["tests"] = named
    if not tests:
        raise ValueError(f"Master {master.name} has no tests: every question needs a '# BEGIN TESTS' block.")
    points, manifest, hidden = {}, {}, {}
    for q, src in tests.items():
        points[q] = float(ExceptionTestFile.from_string(src, path=q).possible)
        manifest[q], hidden[q] = answer_names_of(src, q)
        if not manifest[q]:
            raise ValueError(f"The tests of question {q} read no answer variable (no test function parameters).")
    student, ag = normalise_student(student), normalise_student(ag)
    manual = written_questions(nbformat.read(master, as_version=4))
    for q in manual:
        if q in tests:
            raise ValueError(f"Question {q} is written (manual: true) and also has tests: give it one or the other.")
    version = assignment_version(student)
    for nb in (student, ag):
        stamp(nb, master.stem, version)
    return Build(name=master.stem, master=master, student=student, tests=tests,
                 public_tests=public, points=points, manifest=manifest, hidden_counts=hidden,
                 autograder=ag, version=version, manual=manual)


_MANUAL_END = "<!-- END QUESTION -->"


def written_questions(master: nbformat.NotebookNode) -> dict[str, Written]:
    """The master's written questions (``manual: true`` in the question's config), in order.

    A written question is a prompt (markdown) and, between ``# BEGIN SOLUTION`` and ``# END SOLUTION``,
    the model answer in markdown; the student sees the prompt and an answer cell to write in.

    Parameters
    ----------
    master : NotebookNode
        The master notebook.

    Returns
    -------
    dict of str to Written

    Raises
    ------
    ValueError
        A written question without points, prompt or model answer.
    """
    found: dict[str, Written] = {}
    cells = master.cells
    for i, cell in enumerate(cells):
        src = _source(cell)
        if cell.cell_type != "raw" or not src.lstrip().startswith("# BEGIN QUESTION"):
            continue
        config = yaml.safe_load(src.split("\n", 1)[1] if "\n" in src else "") or {}
        if not config.get("manual"):
            continue
        name = str(config.get("name", ""))
        if not config.get("points"):
            raise ValueError(f"Written question {name} needs 'points:' in its # BEGIN QUESTION cell.")
        rest = cells[i + 1:]
        prompt = next((_source(c) for c in rest if c.cell_type == "markdown"), "")
        begin = next((k for k, c in enumerate(rest) if c.cell_type == "raw" and _source(c).strip() == "# BEGIN SOLUTION"), None)
        end = next((k for k, c in enumerate(rest) if c.cell_type == "raw" and _source(c).strip() == "# END SOLUTION"), None)
        answer = "\n\n".join(_source(c) for c in rest[begin + 1:end] if c.cell_type == "markdown") \
            if begin is not None and end is not None else ""
        if not prompt.strip() or not answer.strip():
            raise ValueError(f"Written question {name} needs a markdown prompt and a model answer in markdown "
                             "between # BEGIN SOLUTION and # END SOLUTION.")
        found[name] = Written(name, float(config["points"]), prompt.strip(), answer.strip())
    return found


def written_answers(build: Build, nb) -> dict[str, str]:
    """What a submitted notebook answers to each written question ("" where it is not answered).

    The answer is the markdown between the question's prompt and otter's end-of-question marker; the
    placeholder otter puts there counts as no answer. A question whose prompt is not found (a cell
    deleted, another version of the assignment) has the answer "".

    Parameters
    ----------
    build : Build
    nb : NotebookNode
        A submitted notebook.

    Returns
    -------
    dict of str to str
    """
    cells = list(nb.get("cells", []))
    out = {}
    for q, w in build.manual.items():
        first = w.prompt.splitlines()[0].strip()
        start = next((i for i, c in enumerate(cells) if first and first in _source(c)), None)
        parts = []
        if start is not None:
            for c in cells[start + 1:]:
                text = _source(c)
                if _MANUAL_END in text:
                    break
                if c.get("cell_type") == "markdown" and text.strip() != _PLACEHOLDER:
                    parts.append(text.strip())
        out[q] = "\n\n".join(p for p in parts if p)
    return out


_PLACEHOLDER = "_Type your answer here, replacing this text._"


def assignment_version(student: nbformat.NotebookNode) -> str:
    """A short fingerprint of what a student sees: the cells' types and sources and the public tests.

    Two generations of the same master give the same version; any change to a question, an
    instruction or a public check gives another. Hidden tests do not enter it (a student's notebook
    is not out of date when only they change).

    Parameters
    ----------
    student : NotebookNode
        The normalised student notebook.

    Returns
    -------
    str
        12 hexadecimal digits.
    """
    public = student.metadata.get("otter", {}).get("tests", {})
    content = {"cells": [[c.cell_type, _source(c)] for c in student.cells],
               "public_tests": {k: public[k] for k in sorted(public)}}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def stamp(nb: nbformat.NotebookNode, assignment: str, version: str) -> None:
    """Write ``{"assignment": ..., "version": ...}`` into the notebook's ``mlmlab`` metadata."""
    nb.metadata["mlmlab"] = nbformat.NotebookNode({"assignment": assignment, "version": version})


def version_of(nb) -> str | None:
    """The version stamp a notebook carries (``metadata.mlmlab.version``), or None."""
    meta = nb.get("metadata", {}).get("mlmlab") if isinstance(nb.get("metadata"), dict) else None
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version else None


def student_bytes(b: Build) -> str:
    """The student notebook exactly as written to ``exercises/``."""
    return nbformat.writes(b.student) + "\n"


def exercise_path(b: Build, exercises_dir: str | Path) -> Path:
    """Where the student notebook of ``b`` goes in ``exercises_dir``."""
    return Path(exercises_dir) / f"{b.name}.ipynb"

