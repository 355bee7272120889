"""R² for linear mixed models: marginal and conditional (Nakagawa & Schielzeth 2013, Johnson 2014).

Taught in lesson 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmlab._model_matrices import model_matrices

__all__ = ["r2_nakagawa", "variance_parts"]


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
    mats = model_matrices(result, func)
    beta = result.fixed["estimate"].to_numpy(dtype=float)
    rows = [("fixed", float(np.var(mats.X.to_numpy() @ beta, ddof=1)))]
    for name, Z in mats.Z.items():
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
