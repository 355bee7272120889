"""Influential groups: refit the model without each group in turn (leave one group out).

Taught in lesson 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmlab import engine
from mlmlab._checks import argument_error
from mlmlab._checks import check_result

__all__ = ["group_influence", "cooks_distance"]

_COLUMNS = ["level", "n", "parameter", "kind", "full", "dropped", "change", "std_change"]


def _single_factor(result, func):
    design = check_result(result, func).design
    factors = design.factors
    if len(factors) == 1 and len(design.blocks) > 1:
        raise argument_error(
            "group_influence", "result", "a fit with one block of random effects", result.formula,
            detail="its random effects of " + repr(factors[0]) + " are split into uncorrelated blocks (||)",
            fix="The engine estimates a full covariance matrix; refit with correlated effects, e.g. (x | g).",
        )
    if len(factors) != 1:
        raise argument_error(
            "group_influence", "result", "a fit with one grouping factor", result.formula,
            detail="it has " + ", ".join(repr(f) for f in factors),
            fix="Leave-one-group-out refits use the engine, which fits one grouping factor; "
                "refit the model with one factor, e.g. y ~ x + (1 | g).",
        )
    return design, factors[0]


def _vc_names(terms) -> list:
    """Engine G entries as the course writes them: tau00, tau11, tau01, ... (0 = first random term)."""
    q = len(terms)
    names = [(f"tau{k}{k}", k, k) for k in range(q)]
    names += [(f"tau{k}{l}", l, k) for k in range(q) for l in range(k + 1, q)]
    return names


def _parameters(fitted, fixed_names, vc) -> list:
    values = [(name, "fixed", float(b)) for name, b in zip(fixed_names, fitted.beta)]
    values += [(name, "varcomp", float(fitted.G[i, j])) for name, i, j in vc]
    values.append(("sigma2", "varcomp", float(fitted.sigma2)))
    return values


def group_influence(result) -> pd.DataFrame:
    """Refit a one-factor model once per group, leaving that group out, and tidy the changes.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit` with one grouping factor (random intercept, or intercept
        and slopes), REML or ML as fitted.

    Returns
    -------
    pandas.DataFrame
        One row per dropped group and parameter, columns ``level`` (the dropped group), ``n``
        (its number of rows), ``parameter`` (fixed-effect name, or ``tau00``, ``tau11``,
        ``tau01``, ... for the entries of G, numbered in the order of the random terms with
        0 the first, and ``sigma2``), ``kind`` (``"fixed"`` or ``"varcomp"``), ``full`` (estimate
        on all groups), ``dropped`` (estimate without the group), ``change`` (dropped − full) and
        ``std_change`` (change divided by the full-data standard error, fixed effects only).

    Raises
    ------
    MlmlabInputError
        If the model has more than one grouping factor or fewer than three groups.
    TypeError
        If ``result`` is not a fitted model.

    Notes
    -----
    Every refit (and the full fit the changes are measured from) is done by
    :func:`mlmlab.engine.fit` with the same REML/ML choice as ``result``, so the changes are
    not blurred by differences between optimisers. A group is influential when leaving it out
    moves an estimate by a sizeable fraction of its standard error; :func:`cooks_distance`
    sums this up for all fixed effects at once.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> infl = group_influence(m)
    >>> sorted(infl["parameter"].unique())
    ['Days', 'Intercept', 'sigma2', 'tau00', 'tau01', 'tau11']
    >>> infl.query("parameter == 'Days'").nsmallest(1, "change")[["level", "change"]].round(2)
      level  change
    1   308   -0.66

    Taught in lesson 10.
    """
    design, factor = _single_factor(result, "group_influence")
    labels = design.group_labels(factor).to_numpy()
    levels = list(design.blocks[0].labels)  # the order of the fit's levels
    if len(levels) < 3:
        raise argument_error("group_influence", "result", "a fit with at least three groups", result.formula,
                             detail=f"'{factor}' has {len(levels)} groups; without one of them only one would be left")
    X, Z, y = design.X.to_numpy(dtype=float), design.Z(factor).to_numpy(dtype=float), design.y
    reml = bool(result.reml)
    full = engine.fit(y, X, Z, labels, reml=reml)
    fixed_names = list(design.X.columns)
    vc = _vc_names(list(design.blocks[0].names))
    base = _parameters(full, fixed_names, vc)
    se = dict(zip(fixed_names, full.se))
    rows = []
    for level in levels:
        keep = labels != level
        refit = engine.fit(y[keep], X[keep], Z[keep], labels[keep], reml=reml)
        n = int((~keep).sum())
        for (name, kind, before), (_, _, after) in zip(base, _parameters(refit, fixed_names, vc)):
            change = after - before
            rows.append((level, n, name, kind, before, after, change,
                         change / se[name] if kind == "fixed" else np.nan))
    return pd.DataFrame(rows, columns=_COLUMNS)


def cooks_distance(result, *, influence=None) -> pd.DataFrame:
    """Cook's distance of each group for the fixed effects (leave-one-group-out).

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit` with one grouping factor.
    influence : pandas.DataFrame, optional
        The output of :func:`group_influence` for ``result`` (saves refitting every group).

    Returns
    -------
    pandas.DataFrame
        One row per group, columns ``level``, ``n`` and ``cooks_d``, sorted by ``cooks_d``
        (largest first).

    Raises
    ------
    MlmlabInputError
        If ``influence`` is not a table from :func:`group_influence`.

    Notes
    -----
    D_j = (γ̂ − γ̂₍₋ⱼ₎)ᵀ Var(γ̂)⁻¹ (γ̂ − γ̂₍₋ⱼ₎) / p, with γ̂₍₋ⱼ₎ the fixed effects without group j,
    Var(γ̂) their covariance on all groups and p their number (as R's ``influence.ME``). A common
    rule of thumb flags D_j > 4 / J; look at such groups, do not delete them automatically.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> cooks_distance(m).head(2).round(3)
      level   n  cooks_d
    0   309  10    0.149
    1   335  10    0.129

    Taught in lesson 10.
    """
    if influence is None:
        influence = group_influence(result)
    elif not (isinstance(influence, pd.DataFrame) and set(_COLUMNS) <= set(influence.columns)):
        raise argument_error("cooks_distance", "influence", "the output of group_influence", influence,
                             fix="Pass influence=group_influence(result), or leave it out.")
    fixed = influence[influence["kind"] == "fixed"]
    names = list(dict.fromkeys(fixed["parameter"]))
    design, factor = _single_factor(result, "cooks_distance")
    full = engine.fit(design.y, design.X.to_numpy(dtype=float), design.Z(factor).to_numpy(dtype=float),
                      design.group_labels(factor).to_numpy(), reml=bool(result.reml))
    inv = np.linalg.inv(full.cov_beta)
    wide = fixed.pivot(index="level", columns="parameter", values="change")[names]
    d = np.einsum("ij,jk,ik->i", wide.to_numpy(), inv, wide.to_numpy()) / len(names)
    sizes = fixed.drop_duplicates("level").set_index("level")["n"]
    out = pd.DataFrame({"level": wide.index.astype(str), "n": sizes.loc[wide.index].to_numpy(), "cooks_d": d})
    return out.sort_values("cooks_d", ascending=False, kind="stable").reset_index(drop=True)
