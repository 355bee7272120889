"""Small-sample tests of fixed effects: t-tests with Satterthwaite's degrees of freedom, as lmerTest computes them.

A Wald z-test treats the variance parameters as known. With few groups they are not: the standard error of a
fixed effect is itself uncertain, and the reference distribution is a t with fewer degrees of freedom than the
number of rows. Satterthwaite's approximation (Satterthwaite 1946; Kuznetsova, Brockhoff & Christensen 2017)
matches the variance of the estimated variance of a contrast c'γ̂ to that of a scaled χ²:

.. math:: \\nu = \\frac{2\\,\\big(c^\\top C(\\hat\\varphi)\\,c\\big)^2}{g^\\top A\\,g},
    \\qquad g = \\frac{\\partial\\, c^\\top C(\\varphi)\\, c}{\\partial\\varphi}\\Big|_{\\hat\\varphi},

where C(φ) = σ²(XᵀV⁻¹X)⁻¹·… is the covariance of γ̂ as a function of the variance parameters
φ = (θ, σ) (lme4's relative Cholesky factor θ and the residual SD), and A = 2H⁺ the asymptotic covariance of
φ̂ from the Hessian H of the deviance (REML or ML, as the model was fitted). As lmerTest does, H and the
gradients are computed by Richardson-extrapolated central differences, and H is inverted through its positive
eigenvalues only (a variance at 0 contributes nothing).

Taught in lesson 11 (and lesson 08 for why few groups need it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_result
from mlmlab.deviance import Deviance

__all__ = ["satterthwaite", "varpar_covariance"]

#: Eigenvalues of the deviance's Hessian below this count as zero (lmerTest's tolerance).
EIGEN_TOL = 1e-8


def _steps(x: np.ndarray, d: float, eps: float = 1e-4, zero_tol: float = np.sqrt(np.finfo(float).eps / 7e-7)):
    """numDeriv's first step: d·|x|, or eps where x is (near) 0."""
    return np.where(np.abs(x) < zero_tol, eps, d * np.abs(x))


def _richardson(values: list) -> np.ndarray:
    """Extrapolate estimates made with steps h, h/2, h/4, ... (error in even powers of h) to step 0."""
    table = [np.asarray(v, dtype=float) for v in values]
    for m in range(1, len(table)):
        factor = 4.0 ** m
        table = [(factor * table[k + 1] - table[k]) / (factor - 1) for k in range(len(table) - 1)]
    return table[0]


def _hessian(f, x: np.ndarray, *, d: float = 0.1, r: int = 4) -> np.ndarray:
    """Hessian of f at x by central differences, Richardson-extrapolated over r halvings (numDeriv's defaults)."""
    k = len(x)
    f0 = f(x)
    h0 = _steps(x, d)
    levels = []
    for level in range(r):
        h = h0 / 2.0 ** level
        H = np.zeros((k, k))
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            H[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            for j in range(i):
                e2 = np.zeros(k)
                e2[j] = h[j]
                H[i, j] = H[j, i] = (f(x + e + e2) - f(x + e - e2) - f(x - e + e2) + f(x - e - e2)) / (4 * h[i] * h[j])
        levels.append(H)
    return _richardson(levels)


def _jacobian(f, x: np.ndarray, *, d: float = 1e-4, r: int = 4) -> list:
    """Derivatives of the array-valued f along each coordinate (central differences, Richardson)."""
    h0 = _steps(x, d)
    out = []
    for i in range(len(x)):
        levels = []
        for level in range(r):
            e = np.zeros(len(x))
            e[i] = h0[i] / 2.0 ** level
            levels.append((f(x + e) - f(x - e)) / (2 * e[i]))
        out.append(_richardson(levels))
    return out


def varpar_covariance(result) -> pd.DataFrame:
    """Asymptotic covariance of the variance parameters φ = (θ, σ): 2 H⁺, H the deviance's Hessian at the fit.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.

    Returns
    -------
    pandas.DataFrame
        Square, indexed by ``theta1``, ``theta2``, ..., ``sigma`` (lme4's θ order).

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
    >>> varpar_covariance(m).round(3)
            theta1   sigma
    theta1   0.142  -1.118
    sigma   -1.118  51.068
    """
    dev = Deviance.of(check_result(result, "varpar_covariance"))
    return pd.DataFrame(_varpar_cov(dev), index=_varpar_names(dev), columns=_varpar_names(dev))


def _varpar_names(dev) -> list:
    return [f"theta{k + 1}" for k in range(len(dev.phi_hat) - 1)] + ["sigma"]


def _varpar_cov(dev) -> np.ndarray:
    H = _hessian(dev.deviance, dev.phi_hat)
    vals, vecs = np.linalg.eigh((H + H.T) / 2)
    keep = vals > EIGEN_TOL
    return 2.0 * (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def satterthwaite(result, contrasts=None) -> pd.DataFrame:
    """t-tests of fixed effects (or contrasts of them) with Satterthwaite's degrees of freedom.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit` (REML, as lmerTest's default, or ML).
    contrasts : pandas.DataFrame or dict, optional
        Linear combinations c'γ to test against 0: rows of weights over the fixed-effect names (a dict maps a
        label to ``{term: weight}``). Default: each fixed effect on its own.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (or contrast label): ``estimate``, ``se``, ``df``, ``t``, ``p`` (two-sided).
        ``lmerTest::summary(m)`` gives the same df to about 1e-4 relative.

    Raises
    ------
    MlmlabInputError
        A contrast names a term the model does not have.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> satterthwaite(m).round(3)
                 estimate     se    df       t    p
    term
    Intercept     251.405  6.825  17.0  36.838  0.0
    Days           10.467  1.546  17.0   6.771  0.0

    With 18 subjects, a slope that varies between them is judged on about 17 degrees of freedom, not on the
    180 rows.
    """
    check_result(result, "satterthwaite")
    names = list(result.fixef.index)
    L = contrast_matrix(contrasts, names)
    dev = Deviance.of(result)
    cov_phi = _varpar_cov(dev)
    grads = _jacobian(dev.cov_beta, dev.phi_hat)
    C = dev.cov_beta(dev.phi_hat)  # cov(gamma-hat) at the fit
    beta = result.fixef.to_numpy(dtype=float)
    rows = []
    for label, c in L.iterrows():
        w = c.to_numpy(dtype=float)
        var = float(w @ C @ w)
        g = np.array([w @ G @ w for G in grads])
        denom = float(g @ cov_phi @ g)
        df = 2 * var ** 2 / denom if denom > 0 else np.inf
        est = float(w @ beta)
        t = est / np.sqrt(var)
        rows.append((label, est, np.sqrt(var), df, t, 2 * stats.t.sf(abs(t), df)))
    out = pd.DataFrame(rows, columns=["term", "estimate", "se", "df", "t", "p"]).set_index("term")
    return out


def f_tests(result, hypotheses: dict) -> dict:
    """F tests of Lγ = 0 with Satterthwaite's denominator df, as lmerTest's ``contestMD``: per label of
    ``hypotheses`` (label -> L, a row per restriction, a column per fixed effect) ``num_df``, ``den_df``, ``F``
    and ``p``. Used by :func:`mlmlab.anova`.

    L C Lᵀ (C = cov(γ̂)) is rotated to its eigenvectors; each of the q independent contrasts gets its own t² and
    Satterthwaite df ν_m, F is the mean of the t², and its denominator df match E(F): 2E/(E − q) with
    E = Σ ν_m/(ν_m − 2) (2 if any ν_m ≤ 2; the common ν if all are equal).
    """
    check_result(result, "anova")
    dev = Deviance.of(result)
    cov_phi = _varpar_cov(dev)
    grads = _jacobian(dev.cov_beta, dev.phi_hat)
    C = dev.cov_beta(dev.phi_hat)
    beta = result.fixef.to_numpy(dtype=float)
    out = {}
    for label, L in hypotheses.items():
        L = np.atleast_2d(np.asarray(L, dtype=float))
        d, P = np.linalg.eigh(L @ C @ L.T)
        d, P = d[::-1], P[:, ::-1]  # decreasing, as R's eigen()
        q = int(np.sum(d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)))
        if q == 0:  # L restricts nothing the model estimates (lmerTest returns an empty row)
            out[label] = {"num_df": 0, "den_df": np.nan, "F": np.nan, "p": np.nan}
            continue
        PtL = (P.T @ L)[:q]
        F = float(np.sum((PtL @ beta) ** 2 / d[:q]) / q)
        g = np.array([[w @ G @ w for G in grads] for w in PtL])
        denom = np.einsum("mi,ij,mj->m", g, cov_phi, g)
        nu = np.where(denom > 0, 2 * d[:q] ** 2 / np.where(denom > 0, denom, 1.0), np.inf)
        out[label] = {"num_df": q, "den_df": _f_ddf(nu), "F": F}
        out[label]["p"] = float(stats.f.sf(F, q, out[label]["den_df"]))
    return out


def _f_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of the mean of q squared t statistics on ν_1, ..., ν_q df (lmerTest's get_Fstat_ddf)."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


def contrast_matrix(contrasts, names, func: str = "satterthwaite") -> pd.DataFrame:
    """Contrasts (None: each fixed effect; a DataFrame or dict of weights) as rows of weights over ``names``."""
    if contrasts is None:
        return pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    if isinstance(contrasts, dict):
        contrasts = pd.DataFrame.from_dict(contrasts, orient="index")
    if not isinstance(contrasts, pd.DataFrame):
        raise argument_error(func, "contrasts", "a DataFrame or dict of weights over the fixed effects",
                             contrasts, kind=TypeError)
    unknown = [c for c in contrasts.columns if c not in names]
    if unknown:
        raise argument_error(func, "contrasts", "weights over the model's fixed effects", contrasts,
                             detail=f"unknown term(s) {', '.join(map(repr, unknown))}; the fixed effects are "
                                    + ", ".join(map(repr, names)))
    return contrasts.reindex(columns=names).fillna(0.0).astype(float)
