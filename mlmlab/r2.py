"""How a mixed model splits the outcome's variance: R² (marginal and conditional; Nakagawa & Schielzeth 2013,
Johnson 2014), the variance parts behind it, and each level's share of the variance.

Taught in lessons 03 (variance shares) and 10 (R²).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_column, check_result

__all__ = ["r2_nakagawa", "variance_parts", "variance_shares"]


def variance_parts(result) -> pd.DataFrame:
    """Split the model-implied variance of the outcome into fixed, random and residual parts.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.

    Returns
    -------
    pandas.DataFrame
        One row per part, columns ``part`` (``"fixed"``, then one row per grouping factor
        named after it, then ``"residual"``) and ``variance``.

    Raises
    ------
    TypeError
        If ``result`` is not a fitted model.

    Notes
    -----
    fixed: σ²_f = var(x_iᵀ γ̂), the sample variance (denominator n − 1, as R's ``var``) of the
    fixed-effects predictions over the rows used. Grouping factor k: the mean over the rows of
    z_ikᵀ G_k z_ik (Johnson 2014), which is τ00 for a random intercept and
    τ00 + 2 τ01 x̄ + τ11 mean(x²) for an intercept and slope on x. residual: σ².

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> variance_parts(m).round(1)
           part  variance
    0     fixed     909.0
    1   Subject    1698.1
    2  residual     654.9

    Taught in lesson 10.
    """
    return _parts(result, "variance_parts")


def _parts(result, func: str) -> pd.DataFrame:
    design = check_result(result, func).design
    beta = result.fixef.to_numpy(dtype=float)
    rows = [("fixed", float(np.var(design.X.to_numpy() @ beta, ddof=1)))]
    for name in design.factors:
        Z = design.Z(name)
        z = Z.to_numpy(dtype=float)
        G = result.G[name].loc[Z.columns, Z.columns].to_numpy(dtype=float)
        rows.append((name, float(np.mean(np.sum((z @ G) * z, axis=1)))))
    rows.append(("residual", float(result.sigma2)))
    return pd.DataFrame(rows, columns=["part", "variance"])


def r2_nakagawa(result) -> pd.DataFrame:
    """Marginal and conditional R² of a linear mixed model.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.

    Returns
    -------
    pandas.DataFrame
        One row, columns ``r2_marginal`` (share of variance explained by the fixed effects),
        ``r2_conditional`` (fixed and random effects together), ``var_fixed``, ``var_random``
        (summed over grouping factors) and ``var_residual``.

    Raises
    ------
    TypeError
        If ``result`` is not a fitted model.

    Notes
    -----
    With σ²_f, σ²_r and σ² from :func:`variance_parts` (Nakagawa & Schielzeth 2013, "A general and
    simple method for obtaining R² from generalized linear mixed-effects models", Methods Ecol.
    Evol. 4: 133–142; random slopes as in Johnson 2014, Methods Ecol. Evol. 5: 944–946):

        R²_marginal = σ²_f / (σ²_f + σ²_r + σ²),
        R²_conditional = (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²).

    These are the values of R's ``performance::r2_nakagawa`` and ``MuMIn::r.squaredGLMM`` for a
    linear mixed model. Unlike the R² of ordinary regression they are not a proportion of the
    observed variance but of the variance the model implies.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> r2_nakagawa(m)[["r2_marginal", "r2_conditional"]].round(3)
       r2_marginal  r2_conditional
    0        0.279           0.799

    Taught in lesson 10.
    """
    parts = _parts(result, "r2_nakagawa").set_index("part")["variance"]
    v_fixed, v_resid = parts["fixed"], parts["residual"]
    v_random = float(parts.drop(["fixed", "residual"]).sum())
    total = v_fixed + v_random + v_resid
    return pd.DataFrame({
        "r2_marginal": [v_fixed / total],
        "r2_conditional": [(v_fixed + v_random) / total],
        "var_fixed": [v_fixed],
        "var_random": [v_random],
        "var_residual": [v_resid],
    })


# --------------------------------------------------------------------------- shares of the variance

_COLUMNS = ("grp", "var1", "var2", "vcov")


def _varcomp(model, name: str) -> pd.DataFrame:
    table = model if isinstance(model, pd.DataFrame) else getattr(model, "varcomp", None)
    if not isinstance(table, pd.DataFrame):
        raise argument_error(
            "variance_shares", "models", "fits from mlmlab.fit or their .varcomp tables", model,
            fix="Fit first: result = mlmlab.fit('y ~ 1 + (1 | group)', data).", kind=TypeError,
        )
    for col in _COLUMNS:
        check_column(table, col, "variance_shares", "models")
    table = table[table["var2"].isna()]
    slopes = table[(table["grp"] != "Residual") & (table["var1"] != "(Intercept)")]
    if len(slopes):
        raise argument_error(
            "variance_shares", "models", "random-intercept models only", name,
            detail="it has a random slope for " + ", ".join(map(str, slopes["var1"])),
            fix="A slope's variance depends on the value of x, so it is not a fixed share of the outcome's variance.",
        )
    return table


def variance_shares(models) -> pd.DataFrame:
    """Tidy table of each variance component and its share of the total, per model.

    Parameters
    ----------
    models : MixedResult, DataFrame, or dict of name -> MixedResult/DataFrame
        Random-intercept fits from :func:`mlmlab.fit` or their ``varcomp`` tables
        (columns grp, var1, var2, vcov; the last row's grp is ``"Residual"``).

    Returns
    -------
    pandas.DataFrame
        Columns model, level (the grouping factor, or ``"Residual"``), variance, share
        (variance / total of that model), and explained (1 − variance / the same level's variance
        in the first model; 0 in the first model).

    Raises
    ------
    MlmlabInputError
        If a model has a random slope.
    TypeError
        If a model is neither a fit nor a ``varcomp`` table.

    Examples
    --------
    >>> null = pd.DataFrame({"grp": ["School", "Residual"], "var1": ["(Intercept)", None],
    ...                      "var2": [None, None], "vcov": [8.0, 32.0]})
    >>> ses = null.assign(vcov=[4.0, 24.0])
    >>> variance_shares({"null": null, "ses": ses}).round(3)
      model     level  variance  share  explained
    0  null    School       8.0  0.200       0.00
    1  null  Residual      32.0  0.800       0.00
    2   ses    School       4.0  0.143       0.50
    3   ses  Residual      24.0  0.857       0.25

    Taught in lesson 03.
    """
    if not isinstance(models, dict):
        models = {"model": models}
    rows = []
    for name, model in models.items():
        table = _varcomp(model, name)
        total = table["vcov"].sum()
        for grp, vcov in zip(table["grp"], table["vcov"]):
            rows.append({"model": str(name), "level": str(grp), "variance": float(vcov),
                         "share": float(vcov / total) if total > 0 else np.nan})
    out = pd.DataFrame(rows)
    first = out[out["model"] == out["model"].iloc[0]].set_index("level")["variance"]
    out["explained"] = 1 - out["variance"] / out["level"].map(first)
    return out
