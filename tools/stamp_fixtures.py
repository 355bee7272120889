"""Stamp the grading fixtures with the current version of the fixture assignment.

Every student notebook made by ``make exercises`` carries ``metadata.mlmlab = {assignment, version}``
(:func:`mlmlab_grading.assign.assignment_version`), and the grader flags notebooks made from an
earlier version. The fixture submissions in ``tests/fixtures/submissions`` stand for students who
worked on the current fixture exercise, so they carry its stamp; run this after editing
``tests/fixtures/masters/90_fixture.ipynb`` (tests/test_grading.py checks that the stamps are current).

Usage (from the course's root folder)::

    python tools/stamp_fixtures.py          # rewrite the stamps
    python tools/stamp_fixtures.py --check  # exit 1 if any stamp is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlmlab_grading import assign

FIXTURES = Path("tests/fixtures")
# Not stamped: files that are not notebooks of assignment 90 made from the exercise (another
# assignment's notebook, a broken file) keep what they have.
SKIP = {"other_assignment.ipynb", "not_a_notebook.ipynb"}


def stamped_fixtures() -> list[Path]:
    """The fixture notebooks that carry the fixture assignment's stamp."""
    subs = FIXTURES / "submissions"
    return sorted(p for p in subs.rglob("*") if p.is_file() and p.suffix.lower() == ".ipynb" and p.name not in SKIP)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    build = assign.build(FIXTURES / "masters" / "90_fixture.ipynb")
    stale = []
    for path in stamped_fixtures():
        data = json.loads(path.read_text(encoding="utf-8"))
        want = {"assignment": build.name, "version": build.version}
        if data.get("metadata", {}).get("mlmlab") == want:
            continue
        stale.append(path)
        if "--check" not in argv:
            data.setdefault("metadata", {})["mlmlab"] = want
            path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if '--check' in argv else 'stamped'}: {path}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main())
