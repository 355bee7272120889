# The course's two commands: `make lab` and `make test`. Both set up .venv first (quick when nothing changed).
#
#   make lab        JupyterLab on the course folder, opening notebooks/00_start_here.ipynb
#                   (LAB_ARGS="--no-browser --port=8890" and other jupyter lab options pass through)
#   make test       one pytest run: tests/, doctests of mlmlab/, strict nbval over notebooks/
#   make check      the fast inner loop: unit tests and doctests only (no notebooks, browser, site, grading)
#   make nav        refresh navigation cells and contents tables (notebooks + README)
#   make notebooks  re-execute the lessons in place, deterministically (then commit them)
#   make site       static course site in _build/site
#   make exercises  regenerate exercises/ from the masters in solutions/
#   make grade ASSIGNMENT=NN SUBMISSIONS=DIR OUT=DIR2   grade a folder of submitted notebooks
#   make release    the student-facing course in _build/release (no solutions, no hidden tests)
#   make worked     worked solutions with explanations in _build/worked (publish after the deadline)
#   make environment.yml   regenerate the conda/Binder environment from constraints.txt + pyproject.toml
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Parallel test workers (pytest-xdist; one notebook always runs in one worker). TEST_JOBS=0 runs serially.
TEST_JOBS ?= 2
PYTEST_ARGS ?=
LESSONS ?= $(wildcard notebooks/[0-9][0-9]_*.ipynb)
SITE_DIR ?= _build/site

# Same hash seed for pytest, nbval's kernels and tools/run_notebook.py (matplotlib's backend is set by
# tests/conftest.py and run_notebook.py: Agg for the tests themselves, the inline backend for kernels).
export PYTHONHASHSEED := 0

.PHONY: lab trust test check venv nav notebooks site exercises worked grade release bench clean

$(STAMP): constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[course]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mlmlab)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# The lessons are signed as trusted for this user, so JupyterLab shows the widget views saved in them before
# they are run (for an untrusted notebook it shows only each widget's plain-text fallback, `VBox(...)`).
trust: $(STAMP)
	$(VENV)/bin/jupyter trust $(LESSONS) >/dev/null

# Jupyter's root is the course folder (so the lessons' links to ../exercises/ open), the start page opens first.
START_PAGE := notebooks/00_start_here.ipynb
lab: $(STAMP) trust
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/$(START_PAGE) $(LAB_ARGS)

# (make's own variables are dropped so tests that call `make -n ...` see a top-level make)
test: $(STAMP)
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS $(PY) -m pytest $(if $(filter-out 0,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile) $(PYTEST_ARGS)

# Unit tests and doctests of mlmlab/: no lesson notebooks, browser, site build or grading runs.
CHECK_IGNORE := --ignore=tests/test_browser.py --ignore=tests/test_site.py --ignore=tests/test_run_notebook.py \
	--ignore=tests/test_exercises.py --ignore-glob='tests/test_grading*.py' --ignore=tests/test_bench.py
check: $(STAMP)
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS $(PY) -m pytest $(if $(filter-out 0,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile) -m "not slow" tests mlmlab $(CHECK_IGNORE) $(PYTEST_ARGS)

nav: $(STAMP)
	$(PY) tools/make_nav.py

notebooks: nav
	$(PY) tools/run_notebook.py $(LESSONS)

site: $(STAMP)
	$(PY) tools/build_site.py $(SITE_DIR)

environment.yml: constraints.txt pyproject.toml tools/make_environment.py
	$(PYTHON) tools/make_environment.py

# Student notebooks exercises/NN_slug.ipynb from the masters solutions/NN_slug.ipynb (otter assign); commit them.
exercises: $(STAMP)
	$(PY) tools/make_exercises.py

# Worked solutions for self-learners (answers, model answers, the masters' **Why.** explanations; no tests).
WORKED_DIR ?= _build/worked
worked: $(STAMP)
	$(PY) tools/make_exercises.py --worked "$(WORKED_DIR)"

# Grade a folder of submitted notebooks: make grade ASSIGNMENT=03 SUBMISSIONS=submitted/ OUT=graded/
# (each under bubblewrap; GRADE_ARGS=--no-sandbox only for trusted submissions; see docs/instructors.md)
grade: $(STAMP)
	$(PY) -m mlmlab_grading --assignment "$(ASSIGNMENT)" --submissions "$(SUBMISSIONS)" --out "$(OUT)" $(GRADE_ARGS)

# The student-facing course (lessons, exercises, datasets, library; no solutions/, no hidden tests), checked:
#   make release RELEASE_DIR=_build/release
RELEASE_DIR ?= _build/release
release: $(STAMP)
	$(PY) tools/release.py "$(RELEASE_DIR)"

clean:
	rm -rf $(VENV) build _build .pytest_cache

bench: $(STAMP)
	$(PY) -m mlmlab.bench
	$(PY) tools/bench_inference.py
