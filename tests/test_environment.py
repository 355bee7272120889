"""environment.yml (conda/Binder), constraints.txt and pyproject.toml must agree (one source of truth)."""

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import make_environment  # noqa: E402

REQUIRED = {  # package -> required major version (None: any)
    "jupyterlab": "4",
    "ipywidgets": "8",
    "statsmodels": None,
    "seaborn": None,
    "nbval": None,
    "pytest": None,
}


def _environment_pins():
    text = (REPO / "environment.yml").read_text()
    return {
        make_environment.canonical(name): version
        for name, version in re.findall(r"^\s+- ([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", text, flags=re.M)
    }


def test_environment_yml_is_regenerated_from_constraints_and_pyproject():
    expected = make_environment.render()
    assert (REPO / "environment.yml").read_text() == expected, (
        "environment.yml is stale: run `make environment.yml` and commit it."
    )


def test_check_mode_reports_drift(tmp_path):
    stale = tmp_path / "environment.yml"
    stale.write_text((REPO / "environment.yml").read_text().replace("statsmodels==", "statsmodels==0.0.0+", 1))
    script = REPO / "tools" / "make_environment.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check", "--output", str(stale)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "environment.yml is stale" in result.stderr
    fresh = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr


def test_environment_pins_equal_constraints():
    pins = make_environment.read_constraints()
    assert _environment_pins() == {key: version for key, (_, version) in pins.items()}


def test_every_pyproject_dependency_is_pinned():
    pins = make_environment.read_constraints()
    unpinned = [n for n in make_environment.read_direct_dependencies() if make_environment.canonical(n) not in pins]
    assert unpinned == [], f"pin these in constraints.txt: {unpinned}"


def test_unpinned_dependency_is_refused_with_the_fix(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "mlmlab"\ndependencies = ["numpy", "not-a-pinned-package>=1"]\n')
    with pytest.raises(ValueError, match=r"asks for not-a-pinned-package but constraints.txt does not pin it"):
        make_environment.render(pyproject=pyproject)


def test_malformed_constraint_line_is_refused(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match=r"line 1 is 'numpy>=2'; every line must pin one package exactly"):
        make_environment.read_constraints(constraints)


@pytest.mark.parametrize("package, major", REQUIRED.items())
def test_required_course_packages_are_present(package, major):
    pins = _environment_pins()
    assert package in pins, f"{package} missing from environment.yml"
    if major is not None:
        assert pins[package].split(".")[0] == major, f"{package} {pins[package]} is not version {major}"
    assert package in {make_environment.canonical(n) for n in make_environment.read_direct_dependencies()}


def test_environment_yml_python_and_pip():
    text = (REPO / "environment.yml").read_text()
    assert re.search(r"^  - python=3\.11$", text, flags=re.M)
    assert re.search(r"^  - pip$", text, flags=re.M)


def test_postbuild_installs_mlmlab_without_touching_the_pins():
    post = REPO / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable (chmod +x postBuild)"
    assert re.search(r"^pip install --no-deps -e \.$", post.read_text(), flags=re.M)


def test_installed_versions_match_the_pins():
    """The running environment (.venv from `make`) is the one the pins describe."""
    pins = make_environment.read_constraints()
    wrong = {}
    for name in make_environment.read_direct_dependencies():
        key = make_environment.canonical(name)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pins[key][1]:
            wrong[name] = (installed, pins[key][1])
    assert wrong == {}, f"installed vs pinned: {wrong}; run `make venv` (or rm .venv/.installed && make venv)"
