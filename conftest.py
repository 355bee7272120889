"""Make strict nbval run lesson cells exactly as Jupyter and tools/run_notebook.py do.

Loaded for every pytest run in this repository (tests/, mlmlab/ doctests, notebooks/).
"""

import os

import nbval.kernel

# Kernels started by nbval inherit this environment: the settings tools/run_notebook.py uses to execute
# the committed lessons (figures displayed inline, fixed hash seed), so a rerun reproduces their outputs.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0"}
os.environ.update(KERNEL_ENV)


def _execute_cell_input(self, cell_input, allow_stdin=None):
    """nbval sends cells with store_history=False; IPython then cannot see the cell's trailing ';' and
    prints the return value that Jupyter hides (e.g. `ax.set(...);`). Send them as Jupyter does."""
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


nbval.kernel.RunningKernel.execute_cell_input = _execute_cell_input


# ---- `make test` on two workers (pytest-xdist --dist loadfile: each file on one worker) ------------
# The slowest files start first, so that no long file is left to run alone at the end while the other
# worker sits idle (longest-first scheduling; the order within a file is unchanged).
SLOW_FIRST = ("tests/test_grading.py", "tests/test_exercises.py", "tests/test_site_browser.py",
              "tests/test_exercises_live.py", "tests/test_browser.py", "tests/test_lesson_claims.py",
              "tests/test_make_lab.py")


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
