"""Input checks and error messages shared by every public function.

One template for every message (see the course's STYLE.md, section 4)::

    The 'group' argument of icc must be a column of data. Got 'school_id'; columns are: school, mathach, ses.

followed, where a learner would be stuck, by the next step to take.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = [
    "MlmlabInputError",
    "argument_error",
    "check_random_state",
    "check_data",
    "check_column",
    "check_numeric_column",
    "check_choice",
    "check_positive_int",
    "check_result",
]


class MlmlabInputError(ValueError):
    """Bad input to an mlmlab function. A ``ValueError``, so ``except ValueError`` catches it."""


def argument_error(func: str, arg: str, must: str, got: object, *, detail: str = "", fix: str = "",
                   kind: type[Exception] = MlmlabInputError) -> Exception:
    """Build (do not raise) an error in the course's one template.

    Parameters
    ----------
    func : str
        Public function name, e.g. ``"icc"``.
    arg : str
        Argument name, e.g. ``"group"``.
    must : str
        What the argument must be, e.g. ``"a column of data"``.
    got : object
        What was passed; shown with ``repr``.
    detail : str, default=""
        Extra facts, e.g. ``"columns are: a, b"``.
    fix : str, default=""
        The next step for the learner.
    kind : type, default=MlmlabInputError
        Exception class to build.

    Examples
    --------
    >>> err = argument_error("icc", "group", "a column of data", "school_id",
    ...                      detail="columns are: school, mathach")
    >>> print(err)
    The 'group' argument of icc must be a column of data. Got 'school_id'; columns are: school, mathach.
    """
    msg = f"The '{arg}' argument of {func} must be {must}. Got {_short_repr(got)}"
    msg += f"; {detail}." if detail else "."
    if fix:
        msg += f" {fix}"
    return kind(msg)


def _short_repr(obj: object, limit: int = 80) -> str:
    if isinstance(obj, pd.DataFrame):
        return f"a DataFrame with {obj.shape[0]} rows and {obj.shape[1]} columns"
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape}"
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_random_state(rng=None) -> np.random.Generator:
    """Turn ``rng`` (None, int or Generator) into a ``numpy.random.Generator``.

    The one place where randomness enters mlmlab (SPEC 7, like scikit-learn's
    ``check_random_state``).

    Examples
    --------
    >>> g = check_random_state(42)
    >>> isinstance(g, np.random.Generator)
    True
    >>> check_random_state(g) is g
    True
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise argument_error("check_random_state", "rng", "None, a non-negative int or a numpy Generator", rng)
        return np.random.default_rng(int(rng))
    raise argument_error(
        "check_random_state", "rng", "None, an int seed or a numpy.random.Generator", rng,
        fix="Pass rng=42, say, or rng=np.random.default_rng(42).", kind=TypeError,
    )


def check_data(data, func: str, arg: str = "data") -> pd.DataFrame:
    """Check that ``data`` is a non-empty DataFrame.

    Examples
    --------
    >>> check_data(pd.DataFrame({"a": [1]}), "fit").shape
    (1, 1)
    """
    if not isinstance(data, pd.DataFrame):
        raise argument_error(func, arg, "a pandas DataFrame", data,
                             fix="Load one with mlmlab.datasets.load(name) or pd.read_csv(path).", kind=TypeError)
    if data.shape[0] == 0:
        raise argument_error(func, arg, "a DataFrame with at least one row", data)
    return data


def check_column(data: pd.DataFrame, name, func: str, arg: str) -> str:
    """Check that ``name`` is a column of ``data``; list the columns when it is not.

    Examples
    --------
    >>> df = pd.DataFrame({"school": [1], "mathach": [2.0]})
    >>> check_column(df, "school", "icc", "group")
    'school'
    >>> check_column(df, "school_id", "icc", "group")
    Traceback (most recent call last):
    ...
    mlmlab._checks.MlmlabInputError: The 'group' argument of icc must be a column of data. Got 'school_id'; columns are: school, mathach.
    """
    if not isinstance(name, str) or name not in data.columns:
        cols = ", ".join(map(str, data.columns))
        raise argument_error(func, arg, "a column of data", name, detail=f"columns are: {cols}")
    return name


def check_numeric_column(data: pd.DataFrame, name: str, func: str, arg: str) -> str:
    """Check that column ``name`` exists and holds numbers (not text or categories).

    Examples
    --------
    >>> check_numeric_column(pd.DataFrame({"y": ["a"]}), "y", "fit", "formula")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlmlab._checks.MlmlabInputError: The 'formula' argument of fit must be a numeric outcome. Got 'y'; column 'y' holds text (dtype ...
    """
    check_column(data, name, func, arg)
    col = data[name]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise argument_error(
            func, arg, "a numeric outcome", name,
            detail=f"column '{name}' holds text (dtype {col.dtype})" if not pd.api.types.is_bool_dtype(col)
            else f"column '{name}' holds True/False values",
            fix=f"Convert it first, e.g. data['{name}'] = pd.to_numeric(data['{name}']), or choose a numeric column.",
        )
    return name


def check_choice(value, choices, func: str, arg: str):
    """Check that ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("profile", ["profile", "bootstrap"], "icc", "method")
    'profile'
    """
    if value not in choices:
        raise argument_error(func, arg, "one of " + ", ".join(map(repr, choices)), value)
    return value


def check_positive_int(value, func: str, arg: str, *, minimum: int = 1) -> int:
    """Check that ``value`` is an int no smaller than ``minimum``.

    Examples
    --------
    >>> check_positive_int(3, "simulate_two_level", "n_groups")
    3
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < minimum:
        raise argument_error(func, arg, f"a whole number of at least {minimum}", value)
    return int(value)


#: What a fitted model from mlmlab.fit offers to the functions that read it.
RESULT_ATTRIBUTES = ("formula", "data", "fixef", "G", "sigma2", "design")


def check_result(result, func: str, arg: str = "result", *, needs=RESULT_ATTRIBUTES):
    """Check that ``result`` looks like a fit from :func:`mlmlab.fit` (has every attribute in ``needs``).

    Raises
    ------
    TypeError
        An attribute is missing, e.g. a statsmodels result was passed instead of an mlmlab one.
    """
    missing = [name for name in needs if not hasattr(result, name)]
    if missing:
        raise argument_error(
            func, arg, "a fitted model from mlmlab.fit", result,
            detail="it has no " + ", ".join(f".{m}" for m in missing),
            fix="Fit the model first: result = mlmlab.fit('y ~ x + (1 | group)', data).", kind=TypeError,
        )
    return result
