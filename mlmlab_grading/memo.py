"""Remember ``mlmlab.fit``'s results within one process: one submission's test run, or its kernel.

The tests of an assignment fit reference models (each public test builds the values it compares an
answer with), and a worked solution fits the same models before its checks run: on assignment 09 a
submission's kernel would fit the random-slope model three times. A fit is a deterministic function of
formula, data, ``reml`` and ``control``, so a repeated call can return the first call's result. A key
holds the data's values, index, column names and dtypes, so a changed data set gets its own fit.
Nothing else changes: a first call's errors and warnings are those of an ordinary fit, and a call the
memory cannot key (data that is not a DataFrame, unhashable cells, unexpected arguments) is an ordinary
fit.

Used by the grading runner (:mod:`mlmlab_grading.runner`) and by the kernel that executes a
submission (:mod:`mlmlab_grading.worker`). Both run this file's *source text* (neither can import the
grading package inside the sandbox), so it must stay importable on its own: standard library only at
import time.

The scores never depend on it: tests run in the runner on the exported plain answers, never on a
kernel's objects. In the kernel it only makes the ``grader.check`` calls of a graded run cheaper.

Examples
--------
>>> import mlmlab
>>> real = mlmlab.fit
>>> install()
True
>>> dye = mlmlab.datasets.load("dyestuff")
>>> mlmlab.fit("Yield ~ 1 + (1 | Batch)", dye) is mlmlab.fit("Yield ~ 1 + (1 | Batch)", dye.copy())
True
>>> mlmlab.fit = real
"""


def install(module_name="mlmlab"):
    """Replace ``<module_name>.fit`` by a remembering version; True if it was replaced.

    Does nothing (False) when the library cannot be imported or its ``fit`` already remembers.
    """
    import functools
    import importlib

    try:
        lib = importlib.import_module(module_name)
        import pandas as pd
    except ImportError:
        return False
    fit = lib.fit
    if getattr(fit, "__mlmlab_memo__", False):
        return False
    cache = {}

    def key(formula, data, reml=True, control=None):
        if not isinstance(data, pd.DataFrame) or not isinstance(formula, str) or not isinstance(reml, bool):
            return None
        try:
            values = pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes()
            k = (formula, values, tuple(map(str, data.columns)), tuple(map(str, data.dtypes)), reml, control)
            hash(k)
        except TypeError:  # unhashable cells (lists, dicts) or control: no memory
            return None
        return k

    @functools.wraps(fit)
    def remembered_fit(*args, **kwargs):
        try:
            k = key(*args, **kwargs)
        except TypeError:  # arguments fit itself will reject: let it say so
            k = None
        if k is None:
            return fit(*args, **kwargs)
        if k not in cache:
            cache[k] = fit(*args, **kwargs)
        return cache[k]

    remembered_fit.__mlmlab_memo__ = True
    lib.fit = remembered_fit
    return True
