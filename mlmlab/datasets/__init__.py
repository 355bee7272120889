"""The course's datasets, shipped as CSV files inside the package (no download needed).

Real data come from R packages (exported by ``tools/export_datasets.R``); ``schools50`` is
simulated by ``tools/make_schools50.py``. Column-by-column documentation with provenance is
in ``mlmlab/datasets/README.md`` and in ``data/datasets.json``.

Note on ``hsb``: ``MEANSES`` (as shipped by R's nlme) is not exactly the mean of ``SES`` over
the students in the data; in every school it is 0.0055 to 0.0065 larger. ``cses`` is ``SES``
minus the exact school mean in these 7,185 rows.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import pandas as pd

from mlmlab._checks import argument_error

__all__ = ["load", "list_datasets"]

_DATA = resources.files(__name__).joinpath("data")


@lru_cache(maxsize=1)
def _metadata() -> dict:
    with _DATA.joinpath("datasets.json").open("r", encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    factors = _metadata()[name]["factors"]
    with _DATA.joinpath(f"{name}.csv").open("r", encoding="utf-8") as f:
        data = pd.read_csv(f, dtype={col: str for col in factors}, keep_default_na=False, na_values=[""])
    for col, levels in factors.items():
        data[col] = pd.Categorical(data[col], categories=levels)
    return data


def _check_name(name) -> str:
    names = list(_metadata())
    if not isinstance(name, str):
        raise argument_error("load", "name", "a dataset name (a string)", name,
                             detail="available: " + ", ".join(names), kind=TypeError)
    if name not in names:
        raise argument_error("load", "name", "the name of a course dataset", name,
                             detail="available: " + ", ".join(names),
                             fix="See mlmlab.datasets.list_datasets() for what each one holds.")
    return name


def load(name: str) -> pd.DataFrame:
    """Load one of the course's datasets as a DataFrame.

    Each call returns a fresh copy, so changing it does not change the next ``load``.
    Factors (grouping variables and categorical predictors) are pandas ``Categorical`` columns
    with R's level order, so treatment coding uses the same reference level as R.

    Parameters
    ----------
    name : str
        One of ``"hsb"``, ``"sleepstudy"``, ``"dyestuff"``, ``"dyestuff2"``, ``"penicillin"``,
        ``"pastes"``, ``"schools50"`` (see :func:`list_datasets`).

    Returns
    -------
    pandas.DataFrame
        The data, with R's column names (documented in ``mlmlab/datasets/README.md``).

    Raises
    ------
    MlmlabInputError
        If ``name`` is not a dataset of the course (the message lists the available names).
    TypeError
        If ``name`` is not a string.

    Notes
    -----
    In ``hsb``, ``MEANSES`` is the school mean SES as shipped by R's nlme; it is not exactly the
    mean of ``SES`` in these rows (0.0055 to 0.0065 larger in every school). ``cses`` is ``SES``
    minus the exact school mean, so it averages to 0 in every school.

    Examples
    --------
    >>> from mlmlab.datasets import load
    >>> hsb = load("hsb")
    >>> hsb.shape
    (7185, 12)
    >>> list(hsb["Sector"].cat.categories)
    ['Public', 'Catholic']
    >>> hsb["School"].nunique()
    160
    >>> load("sleepstudy").columns.tolist()
    ['Reaction', 'Days', 'Subject']

    Taught in lesson 02.
    """
    return _read(_check_name(name)).copy(deep=True)


def list_datasets() -> pd.DataFrame:
    """List the course's datasets.

    Returns
    -------
    pandas.DataFrame
        One row per dataset with columns ``name``, ``description``, ``rows`` (number of rows),
        ``groups`` (grouping column(s), comma-separated), ``source`` and ``licence``.

    Examples
    --------
    >>> from mlmlab.datasets import list_datasets
    >>> table = list_datasets()
    >>> table["name"].tolist()
    ['hsb', 'sleepstudy', 'dyestuff', 'dyestuff2', 'penicillin', 'pastes', 'schools50']
    >>> int(table.set_index("name").loc["hsb", "rows"])
    7185

    Taught in lesson 00.
    """
    rows = []
    for name, info in _metadata().items():
        rows.append({
            "name": name,
            "description": info["description"],
            "rows": len(_read(name)),
            "groups": ", ".join(info["groups"]),
            "source": info["source"],
            "licence": info["licence"],
        })
    return pd.DataFrame(rows, columns=["name", "description", "rows", "groups", "source", "licence"])
