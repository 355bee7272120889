"""Generate the student notebooks in exercises/ from the masters in solutions/.

    python tools/make_exercises.py            # (re)write exercises/NN_slug.ipynb   (= make exercises)
    python tools/make_exercises.py --check    # exit 1 if exercises/ differs from what the masters give
    python tools/make_exercises.py --bundle build/autograder
                                              # also write otter's autograder folders and zips
                                              # (for `otter grade` with Docker, or Gradescope)
    python tools/make_exercises.py --worked _build/worked
                                              # also write the worked-solutions view of every master
                                              # (solutions, model answers, explanations; no tests):
                                              # publish it after the deadline

Each master ``solutions/NN_slug.ipynb`` goes through ``otter assign`` (otter-grader,
pinned in constraints.txt) in a private temporary folder; the student notebook it
produces is normalised (cell ids from cell contents, no outputs, trimmed metadata)
so that running this script twice writes identical bytes. Public tests travel
inside the student notebook's metadata; hidden tests and solutions never leave
the master. Nobody edits exercises/ by hand: edit the master and rerun.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlmlab_grading import assign as _assign  # noqa: E402

MASTERS_DIR = ROOT / "solutions"
EXERCISES_DIR = ROOT / "exercises"

_EXERCISE_RE = re.compile(r"^\d{2}_[a-z0-9_]+\.ipynb$")
# What an autograder bundle installs on top of otter's own requirements.
_BUNDLE_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "patsy", "matplotlib", "seaborn")


def _pinned(packages) -> list[str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return [f"{p}=={pins[p]}" if p in pins else p for p in packages]


def expected(masters_dir: Path) -> dict[str, str]:
    """File name -> text of every student notebook the masters produce."""
    out = {}
    for master in _assign.list_masters(masters_dir):
        b = _assign.build(master)
        out[f"{b.name}.ipynb"] = _assign.student_bytes(b)
    return out


def check(masters_dir: Path, exercises_dir: Path) -> list[str]:
    """Differences between exercises_dir and what the masters produce (empty list: in sync)."""
    want = expected(masters_dir)
    have = {p.name for p in exercises_dir.glob("*.ipynb") if _EXERCISE_RE.match(p.name)}
    problems = [f"missing: exercises/{n}" for n in sorted(set(want) - have)]
    problems += [f"no master for: exercises/{n}" for n in sorted(have - set(want))]
    for name in sorted(set(want) & have):
        if (exercises_dir / name).read_text(encoding="utf-8") != want[name]:
            problems.append(f"out of date: exercises/{name}")
    return problems


def write(masters_dir: Path, exercises_dir: Path) -> list[str]:
    exercises_dir.mkdir(parents=True, exist_ok=True)
    want = expected(masters_dir)
    for name, text in want.items():
        (exercises_dir / name).write_text(text, encoding="utf-8")
    for stale in exercises_dir.glob("*.ipynb"):
        if _EXERCISE_RE.match(stale.name) and stale.name not in want:
            stale.unlink()
    return sorted(want)


def bundle(masters_dir: Path, out_dir: Path) -> list[Path]:
    """otter's autograder output per master, with mlmlab copied in and pinned requirements."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for master in _assign.list_masters(masters_dir):
        with tempfile.TemporaryDirectory(prefix="mlmlab-bundle-") as tmp:
            src = Path(tmp) / "src"
            src.mkdir()
            shutil.copy(master, src / master.name)
            shutil.copytree(ROOT / "mlmlab", src / "mlmlab",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            extra = {"requirements": _pinned(_BUNDLE_PACKAGES), "autograder_files": ["mlmlab"]}
            _assign.build(src / master.name, bundle_dir=out_dir, extra_config=extra)
        made.append(out_dir / master.stem)
    return made


def worked(masters_dir: Path, out_dir: Path) -> list[Path]:
    """The worked-solutions view of every master (mlmlab_grading.worked), one notebook each."""
    import nbformat

    from mlmlab_grading.worked import worked_notebook

    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for master in _assign.list_masters(masters_dir):
        target = out_dir / master.name
        target.write_text(nbformat.writes(worked_notebook(nbformat.read(master, as_version=4))) + "\n",
                          encoding="utf-8")
        made.append(target)
    return made


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="report drift, write nothing")
    p.add_argument("--bundle", metavar="DIR", help="also write otter's autograder output to DIR")
    p.add_argument("--worked", metavar="DIR", help="also write the worked-solutions view of every master to DIR")
    p.add_argument("--masters", default=str(MASTERS_DIR), help="folder of masters")
    p.add_argument("--exercises", default=str(EXERCISES_DIR), help="folder of student notebooks")
    args = p.parse_args(argv)
    masters, exercises = Path(args.masters), Path(args.exercises)
    if args.check:
        problems = check(masters, exercises)
        for line in problems:
            print(line)
        if problems:
            print("Run `make exercises` to regenerate exercises/ from solutions/.")
            return 1
        print(f"exercises/ is in sync with {len(_assign.list_masters(masters))} master(s).")
        return 0
    names = write(masters, exercises)
    print(f"Wrote {len(names)} student notebook(s): {', '.join(names) or 'none'}")
    if args.bundle:
        for folder in bundle(masters, Path(args.bundle)):
            print(f"Autograder bundle: {folder}")
    if args.worked:
        made = worked(masters, Path(args.worked))
        print(f"Wrote {len(made)} worked-solutions notebook(s) to {args.worked} (publish after the deadline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
