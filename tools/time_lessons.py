"""Measure how long each lesson takes to run, for the time estimates on the course site.

    python tools/time_lessons.py notebooks/03_icc.ipynb [more.ipynb ...]   # some lessons
    python tools/time_lessons.py                                             # every lesson (slow)

Each lesson is executed top to bottom exactly as `make notebooks` does (tools/run_notebook.py's
``execute``), but the result is thrown away: the committed notebooks are never written. The wall time goes
into docs/lesson_times.json (other lessons' entries are kept), which tools/build_site.py adds to the
reading time on each page and in the contents table. Times are from this machine (its core count is
recorded), so measure on a machine like the learners'.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import run_notebook  # noqa: E402

TIMES = REPO / "docs" / "lesson_times.json"
ABOUT = ("Wall time (seconds) to run each lesson top to bottom with tools/run_notebook.py, measured by "
         "tools/time_lessons.py; tools/build_site.py adds it to the reading time on the course site.")


def measure(path: Path, timeout: int = run_notebook.TIMEOUT) -> float:
    """Seconds it takes to execute the notebook at ``path`` (kernel start included); the file is not changed.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        When a cell raises (the lesson is broken: fix it before timing it).
    """
    start = time.perf_counter()
    run_notebook.execute(path, timeout=timeout)
    return time.perf_counter() - start


def record(times: dict[str, float], path: Path = TIMES) -> dict:
    """Merge ``{stem: seconds}`` into the JSON file at ``path`` (other entries kept) and return its content."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data["about"] = ABOUT
    lessons = data.setdefault("lessons", {})
    for stem, seconds in times.items():
        lessons[stem] = {"seconds": round(seconds, 1), "cores": os.cpu_count()}
    data["lessons"] = dict(sorted(lessons.items()))
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the lessons for the course site's estimates.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="lessons to time (default: every notebooks/NN_slug.ipynb)")
    parser.add_argument("--out", type=Path, default=TIMES, help="JSON file to update (default %(default)s)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        print(f"not a notebook file: {', '.join(missing)}", file=sys.stderr)
        return 2
    times = {}
    for path in paths:
        print(f"timing {path} …", flush=True)
        times[path.stem] = measure(path)
        print(f"  {times[path.stem]:.1f} s", flush=True)
    record(times, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
