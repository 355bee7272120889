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
