"""Build the static course site (Sphinx + myst-nb, sphinx-book-theme) from the committed notebooks.

    python tools/build_site.py [OUTPUT]        # default _build/site (make site)

Stages a source folder next to the output (OUTPUT + "-src") holding
- index.md: docs/index.md plus the table of contents (lessons in order, then exercises);
- notebooks/NN_slug.ipynb: every lesson, with its stored outputs (nothing is executed);
- exercises/NN_slug.ipynb: the learners' exercise notebooks — solutions/ is never copied;
then runs sphinx-build with docs/conf.py. The lessons link to each other as `NN_slug.ipynb` and to
`../exercises/NN_slug.ipynb`; the staged folders keep those relative paths, so the links resolve.
Exit status is non-zero when Sphinx fails or reports a broken cross-reference.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LESSON = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
# Sphinx warnings that mean a link on the site is broken.
BROKEN_LINK = re.compile(r"xref_missing|reference target not found|undefined label|unknown document|toc.not_readable")


def sources(repo: Path = REPO) -> dict[str, list[Path]]:
    """Lesson and exercise notebooks that go on the site, in course order."""
    pick = lambda folder: sorted(p for p in (repo / folder).glob("*.ipynb") if LESSON.match(p.name))  # noqa: E731
    return {"notebooks": pick("notebooks"), "exercises": pick("exercises")}


def index_text(repo: Path, picked: dict[str, list[Path]]) -> str:
    parts = [(repo / "docs" / "index.md").read_text().rstrip() + "\n"]
    for folder, caption in (("notebooks", "Lessons"), ("exercises", "Exercises")):
        if picked[folder]:
            entries = "\n".join(f"{folder}/{p.stem}" for p in picked[folder])
            parts.append(f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n{entries}\n```\n")
    return "".join(parts)


def stage(src: Path, repo: Path = REPO) -> dict[str, list[Path]]:
    """Fill ``src`` with the site's sources (emptied first)."""
    if src.exists():
        shutil.rmtree(src)
    picked = sources(repo)
    for folder, paths in picked.items():
        (src / folder).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy2(path, src / folder / path.name)
    (src / "index.md").write_text(index_text(repo, picked))
    return picked


def build(output: Path, repo: Path = REPO, *, quiet: bool = True) -> subprocess.CompletedProcess:
    output = output.resolve()
    src = output.with_name(output.name + "-src")
    stage(src, repo)
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
