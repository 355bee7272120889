"""Rebuild a fitted model's design matrices from its formula and the rows it used (private).

:func:`mlmlab.r2_nakagawa` needs X (fixed effects) and, for every grouping factor, the columns of
Z that multiply its random effects; :func:`mlmlab.influence.group_influence` needs y, X, Z and the
group labels to refit the model with the engine. Both only use a result's public attributes
(``formula``, ``data``, ``fixed``, ``G``), so any object with those works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from mlmlab._checks import argument_error
from mlmlab.formula import EVAL_ENV, for_patsy, parse_formula, user_name

__all__ = ["ModelMatrices", "model_matrices", "check_result"]

# Names a formula may use besides columns (the same ones mlmlab.fit understands).
_EVAL_ENV = patsy.EvalEnvironment([EVAL_ENV])

_NEEDED = ("formula", "data", "fixed", "G", "sigma2")


@dataclass(frozen=True)
class ModelMatrices:
    """Outcome, fixed-effects design and one random-effects design per grouping factor.

    Attributes
    ----------
    y : ndarray of shape (n,)
    X : DataFrame of shape (n, p)
        Columns in the order of ``result.fixed``.
    Z : dict
        Grouping factor → DataFrame of shape (n, q) with columns in the order of ``result.G[factor]``.
    groups : dict
        Grouping factor → Series of group labels (str), one per row.
    """

    y: np.ndarray
    X: pd.DataFrame
    Z: dict
    groups: dict


def check_result(result, func: str, arg: str = "result", *, needs=_NEEDED):
    """Check that ``result`` looks like a fit from :func:`mlmlab.fit` (has every attribute in ``needs``)."""
    missing = [name for name in needs if not hasattr(result, name)]
    if missing:
        raise argument_error(
            func, arg, "a fitted model from mlmlab.fit", result,
            detail="it has no " + ", ".join(f".{m}" for m in missing),
            fix="Fit the model first: result = mlmlab.fit('y ~ x + (1 | group)', data).", kind=TypeError,
        )
    return result


def _lme4_names(names, parsed) -> list:
    return ["(Intercept)" if c == "Intercept" else user_name(c, parsed) for c in names]


def _labels(data: pd.DataFrame, factors) -> pd.Series:
    out = data[factors[0]].astype(str)
    for f in factors[1:]:
        out = out + ":" + data[f].astype(str)
    return out


def model_matrices(result, func: str) -> ModelMatrices:
    """Rebuild y, X, Z and the group labels of a fitted model from ``result.data``."""
    check_result(result, func)
    parsed = parse_formula(result.formula, func=func)
    safe = for_patsy(parsed)  # column names patsy would misread quoted, ^ inside I() a power
    data = result.data.reset_index(drop=True)  # the index may repeat labels (e.g. after pd.concat)
    X = patsy.dmatrix(safe.fixed, data, eval_env=_EVAL_ENV, NA_action="raise", return_type="dataframe")
    X.columns = _lme4_names(X.columns, parsed)
    fixed_names = list(result.fixed.index)
    if len(fixed_names) != X.shape[1]:
        raise argument_error(func, "result", "a fit whose fixed effects match its formula", result.formula,
                             detail=f"the formula gives {X.shape[1]} columns, the fit has {len(fixed_names)}")
    X.columns = fixed_names  # same order as patsy's; keep the fit's spelling of the names
    Z, groups = {}, {}
    for term in safe.random:
        dm = patsy.dmatrix(term.design, data, eval_env=_EVAL_ENV, NA_action="raise", return_type="dataframe")
        dm.columns = _lme4_names(dm.columns, parsed)
        factor = ":".join(term.factors)  # the key of result.G (blocks of (x || g) share it)
        Z[factor] = dm if factor not in Z else pd.concat([Z[factor], dm], axis=1)
        groups[factor] = _labels(data, term.factors)
    for name, block in Z.items():
        want = list(result.G[name].index)
        if sorted(map(str, block.columns)) != sorted(map(str, want)):
            raise argument_error(func, "result", "a fit whose random effects match its formula", result.formula,
                                 detail=f"'{name}' has columns {list(block.columns)} but G lists {want}")
        Z[name] = block[want]
    y = np.asarray(data[parsed.outcome], dtype=float)
    return ModelMatrices(y=y, X=X, Z=Z, groups=groups)
