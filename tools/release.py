"""Write the student-facing course to a folder: lessons, exercises, datasets, the library; no answers.

    python tools/release.py OUT_DIR          # (= make release RELEASE_DIR=OUT_DIR, default _build/release)

What goes in: the tracked files (``git ls-files``) under ``notebooks/``, ``exercises/`` and
``mlmlab/`` (the statistics library with its datasets), plus README, licences, citation,
``pyproject.toml``, ``constraints.txt``, ``environment.yml`` and ``postBuild`` (so ``pip install -e .``
and Binder work). What never goes in: ``solutions/`` (the masters), ``mlmlab_grading/`` (the grader),
``tests/`` (its fixtures hold a master and hidden tests), ``tools/``, ``docs/`` (the instructor guide)
and CI files. README's links to files left out (``docs/...``) become plain text naming them.

After copying, the release is checked: no solution or test marker of otter's assign format, no
hidden test's code line and none of its non-trivial numbers, no file named like a master's test.
If anything is found the folder is deleted and the command exits 1 naming the file and the leak.
Run from the course's root folder (or pass ``--root``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

INCLUDE_DIRS = ("notebooks", "exercises", "mlmlab")
INCLUDE_FILES = ("README.md", "LICENSE", "LICENSE-content", "CITATION.cff", "pyproject.toml",
                 "constraints.txt", "environment.yml", "postBuild")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "BEGIN HIDDEN", "BEGIN PROMPT", "BEGIN TESTS",
           "hidden=True", "hidden: true", "ASSIGNMENT CONFIG")
_TEST_CONFIG_RE = re.compile(r'"""\s*#\s*BEGIN TEST CONFIG(.*?)"""\s*#\s*END TEST CONFIG', re.S)


class ReleaseError(RuntimeError):
    """The release cannot be written (one line: what and how to fix it)."""


def tracked_files(root: Path) -> list[Path]:
    """Files of the release: tracked by git, in the included folders or the included top-level files."""
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ReleaseError(f"{root} is not a git checkout of the course ({exc}); run from the course's "
                           "root folder or pass --root.") from None
    names = [n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    keep = [n for n in names if n in INCLUDE_FILES or n.split("/", 1)[0] in INCLUDE_DIRS]
    return [Path(n) for n in sorted(keep) if (root / n).is_file()]


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def hidden_tests(masters_dir: Path) -> list[tuple[str, list[str], list[float]]]:
    """(master, code lines, non-integer numbers) of every hidden test in the masters.

    Read from the master notebooks' test cells directly (a config block saying ``hidden: true``),
    without running otter.
    """
    found = []
    for master in sorted(masters_dir.glob("*.ipynb")):
        nb = json.loads(master.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            text = _source(cell)
            config = _TEST_CONFIG_RE.search(text) if cell.get("cell_type") == "code" else None
            if not config or not re.search(r"^\s*hidden:\s*true\s*$", config.group(1), re.M | re.I):
                continue
            code = text[config.end():]
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
                # imports reveal nothing (and lessons import the same things)
                lines = [ast.get_source_segment(code, s) or "" for s in fn.body
                         if not isinstance(s, (ast.Import, ast.ImportFrom))]
                numbers = [n.value for n in ast.walk(fn) if isinstance(n, ast.Constant)
                           and isinstance(n.value, float) and not float(n.value).is_integer()]
                found.append((master.name, [ln for ln in lines if len(ln) >= 10], numbers))
    return found


def _significant_digits(value: float) -> int:
    mantissa = re.sub(r"e.*$", "", repr(abs(value))).replace(".", "")
    return len(mantissa.strip("0"))


def leaks(release: Path, masters_dir: Path) -> list[str]:
    """Every solution marker, hidden test line or hidden number found in ``release`` (empty: clean)."""
    problems = []
    hidden = hidden_tests(masters_dir) if masters_dir.is_dir() else []
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = path.relative_to(release)
        if rel.parts[0] in ("solutions", "tests", "mlmlab_grading"):
            problems.append(f"{rel}: an instructor-only file")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # data files: no test code
        for marker in MARKERS:
            if marker in text:
                problems.append(f"{rel}: contains {marker!r}")
        if rel.suffix not in (".ipynb", ".py", ".md", ".txt", ".json"):
            continue
        for master, lines, numbers in hidden:
            for line in lines:
                if line in text:
                    problems.append(f"{rel}: holds a hidden test line of {master}: {line[:60]}")
            for value in [v for v in numbers if _significant_digits(v) >= 3]:
                for shown in {t for t in (repr(value), f"{value:.4g}") if "." in t}:
                    if rel.parts[0] == "exercises" and shown in text:
                        problems.append(f"{rel}: shows {shown}, a number of a hidden test of {master}")
    return problems


def release(root: Path, out: Path) -> list[Path]:
    """Copy the student-facing course from ``root`` to ``out`` and check it; returns the files written.

    Raises
    ------
    ReleaseError
        If ``out`` overlaps the course's own folders or is not empty, or if the check finds a leak (``out`` is then removed).
    """
    root, out = root.resolve(), out.resolve()
    if root.is_relative_to(out) or (out.is_relative_to(root) and
                                    out.relative_to(root).parts[0] in (*INCLUDE_DIRS, "solutions")):
        raise ReleaseError(f"{out} overlaps the course's own folders in {root}; write the release elsewhere "
                           "(say _build/release).")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not an empty folder; pass a new or empty folder.")
    files = tracked_files(root)
    if not any(f.parts[0] == "exercises" for f in files):
        raise ReleaseError(f"no exercises/ found under {root}; run from the course's root folder.")
    for rel in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    _unlink_missing(out / "README.md", out)
    problems = leaks(out, root / "solutions")
    if problems:
        shutil.rmtree(out, ignore_errors=True)
        raise ReleaseError(f"the release would leak answers, so nothing was written: {'; '.join(problems[:10])}")
    return files


_LINK_RE = re.compile(r"\[([^\]]+)\]\(([^)\s#]+)(#[^)]*)?\)")


def _unlink_missing(page: Path, out: Path) -> None:
    """Turn the page's links to files the release leaves out (docs/ ...) into plain text naming them."""
    if not page.is_file():
        return

    def fix(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target) or (page.parent / target).exists():
            return match.group(0)
        shown = text if text == target else f"{text} ({target}"
        return f"{shown} in the full course repository" + (")" if text != target else "")

    page.write_text(_LINK_RE.sub(fix, page.read_text(encoding="utf-8")), encoding="utf-8")


def main(argv=None) -> int:
    """Command line; exit 0 written, 1 refused (one line on stderr)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="folder to write the release to (new or empty; not in notebooks/, exercises/...)")
    p.add_argument("--root", default=".", help="the course's root folder (default: current folder)")
    args = p.parse_args(argv)
    try:
        files = release(Path(args.root), Path(args.out))
    except ReleaseError as exc:
        print(f"release: error: {exc}", file=sys.stderr)
        return 1
    folders = sorted({f.parts[0] for f in files if len(f.parts) > 1})
    print(f"Wrote the student release to {args.out}: {len(files)} files ({', '.join(folders)} and the "
          "top-level files); checked: no solutions, no hidden tests.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
