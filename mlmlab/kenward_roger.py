"""Small-sample tests of fixed effects by Kenward and Roger (1997), as pbkrtest and lmerTest compute them.

Satterthwaite's df (:mod:`mlmlab.satterthwaite`) keep the usual covariance of γ̂, Φ = (XᵀV⁻¹X)⁻¹, which treats
the estimated variance parameters as the true ones and so is too small in small samples. Kenward and Roger
first inflate it, then choose the df for the inflated version:

.. math:: \\Phi_A = \\Phi + 2\\,\\Phi \\Big[\\sum_{r,s} W_{rs}\\,(Q_{rs} - P_r \\Phi P_s)\\Big] \\Phi,
    \\qquad P_r = -X^\\top V^{-1} G_r V^{-1} X,\\quad Q_{rs} = X^\\top V^{-1} G_r V^{-1} G_s V^{-1} X,

where V = Σ_r γ_r G_r is written as a sum over the variance parameters γ (each variance and covariance of a
random-effect block, then σ²), G_r = ∂V/∂γ_r, and W = 2 I⁻¹ the inverse of the REML information
:math:`I_{rs} = \\operatorname{tr}(V^{-1}G_rV^{-1}G_s) - 2\\operatorname{tr}(\\Phi Q_{rs})
+ \\operatorname{tr}(\\Phi P_r \\Phi P_s)`. The adjustment contains Kackar and Harville's correction (Φ misses
the variability of γ̂) and a bias correction of Φ itself. A test of Lγ = 0 (q rows) then uses the Wald F
statistic with Φ_A, scaled by λ, on q and m denominator df found by matching the first two moments of F
(Kenward & Roger 1997, section 4; pbkrtest's ``Lb_ddf`` and ``KRmodcomp``).

The products are formed from Z's cross-products and V⁻¹ applied through the Woodbury identity, never as an
n × n matrix, so the HSB models (7,185 rows) take a fraction of a second. Defined for REML fits only.

Taught in lesson 10 (with Satterthwaite's df; lesson 08 for why few groups need them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse import linalg as sparse_linalg

from mlmlab._checks import argument_error, check_result
from mlmlab.deviance import Deviance
from mlmlab.satterthwaite import contrast_matrix

__all__ = ["kenward_roger", "vcov_adjusted"]


@dataclass
class _Adjusted:
    """Φ, Φ_A, and the P_r and W that the df need (pbkrtest keeps them as attributes of Φ_A)."""

    beta: np.ndarray
    Phi: np.ndarray
    PhiA: np.ndarray
    P: list
    W: np.ndarray


def _derivative_patterns(dev) -> list:
    """D_r with G_r = Z D_r Zᵀ for each random-effect variance or covariance, in lme4's order (per block the
    lower triangle column by column, as pbkrtest orders them): sparse q × q, I_J ⊗ (e_a e_bᵀ + e_b e_aᵀ)."""
    out = []
    for (offset, J, t), (rows, cols) in zip(dev.lam_pattern, dev.tri):
        base = offset + np.arange(J) * t
        for a, b in zip(rows, cols):
            i, j = base + a, base + b
            if a != b:
                i, j = np.concatenate([i, j]), np.concatenate([j, i])
            out.append(sparse.csr_array((np.ones(len(i)), (i, j)), shape=(dev.q, dev.q)))
    return out


def _adjust(result) -> _Adjusted:
    """Kenward–Roger's adjusted covariance of γ̂ (pbkrtest's ``vcovAdj``) from the fit's design."""
    dev = Deviance.of(result)
    phi = dev.phi_hat
    theta, s2 = phi[:-1], phi[-1] ** 2
    X, Z, n = dev.X, dev.Z, dev.n
    # V = s2 (I + Z Lam Lam' Z'); V^-1 = (I - Z T Z') / s2 with T = Lam P^-1 Lam', P = I + Lam' Z'Z Lam
    # (Woodbury), so V^-1 Z = Z (I - T Z'Z) / s2: everything with Z is a q x q or q x p product.
    Lam = dev.Lambda(theta)
    S = (Lam.T @ dev.ZtZ @ Lam).tocsc()
    lu = sparse_linalg.splu((S + sparse.identity(dev.q, format="csc")).tocsc())
    T = np.asarray(Lam @ lu.solve(Lam.T.toarray()))
    ZtZ = dev.ZtZ.toarray()
    M = np.eye(dev.q) - T @ ZtZ                            # V^-1 Z = Z M / s2

    def vinv(Y):
        return (Y - Z @ (T @ np.asarray(Z.T @ Y))) / s2

    Mx = vinv(X)
    Phi = np.linalg.inv(X.T @ Mx)
    B, C = np.asarray(Z.T @ Mx), ZtZ @ M / s2              # Z'V^-1X, Z'V^-1Z
    B2, C2 = M.T @ B / s2, M.T @ C / s2                    # Z'V^-2X, Z'V^-2Z
    R = lu.solve(S.toarray())                              # tr(V^-2) = (n - 2 tr R + tr R^2) / s2^2
    trace_v2 = (n - 2 * np.trace(R) + np.sum(R * R.T)) / s2 ** 2

    D = _derivative_patterns(dev)
    k = len(D) + 1  # the random-effect parameters, then sigma^2 (G = I)
    DB = [np.asarray(d @ B) for d in D]
    DC = [np.asarray(d @ C) for d in D]
    P = [-(B.T @ db) for db in DB] + [-(Mx.T @ Mx)]
    Q, K = {}, np.zeros((k, k))
    for r in range(k - 1):
        for s in range(r, k - 1):
            Q[r, s] = DB[r].T @ C @ DB[s]
            K[r, s] = np.sum(DC[r] * DC[s].T)
        Q[r, k - 1] = DB[r].T @ B2
        K[r, k - 1] = np.sum(np.asarray(D[r] @ C2).diagonal())
    Q[k - 1, k - 1] = Mx.T @ vinv(Mx)
    K[k - 1, k - 1] = trace_v2
    info = np.zeros((k, k))
    for r in range(k):
        for s in range(r, k):
            info[r, s] = info[s, r] = (K[r, s] - 2 * np.sum(Phi * Q[r, s])
                                       + np.sum((Phi @ P[r]) * (P[s] @ Phi)))
    if np.min(np.abs(np.linalg.eigvalsh(info))) > 1e-10:
        W = 2 * np.linalg.inv(info)
    else:  # MASS::ginv's tolerance
        W = 2 * np.linalg.pinv(info, rcond=np.sqrt(np.finfo(float).eps))
    W = (W + W.T) / 2
    U = np.zeros_like(Phi)
    for r in range(k):
        for s in range(r + 1, k):
            U += W[r, s] * (Q[r, s] - P[r] @ Phi @ P[s])
    U = U + U.T
    for r in range(k):
        U += W[r, r] * (Q[r, r] - P[r] @ Phi @ P[r])
    PhiA = Phi + 2 * Phi @ U @ Phi
    beta = result.fixef.to_numpy(dtype=float)
    return _Adjusted(beta, Phi, (PhiA + PhiA.T) / 2, P, W)


def _ddf(adj: _Adjusted, L: np.ndarray) -> tuple:
    """Kenward–Roger's denominator df m and F scaling λ for H0: Lγ = 0 (pbkrtest's ``Lb_ddf``/``.KR_adjust``)."""
    Phi, q = adj.Phi, np.linalg.matrix_rank(L)
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    u = [Theta @ Phi @ P @ Phi for P in adj.P]
    tr = np.array([np.trace(x) for x in u])
    A1 = float(tr @ adj.W @ tr)
    A2 = float(sum(adj.W[i, j] * np.sum(u[i] * u[j].T) for i in range(len(u)) for j in range(len(u))))
    Bq = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1, c2, c3 = (x / (3 * q + 2 * (1 - g)) for x in (g, q - g, q + 2 - g))
    V0, V1, V2 = 1 + c1 * Bq, 1 - c2 * Bq, 1 - c3 * Bq
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(V1) < 1e-14 else (1 - A2 / q) / V1
    rho = ratio ** 2 * V0 / (V2 * q)
    df = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(df - 2) < 0.01 else df * (1 - A2 / q) / (df - 2)
    return int(q), float(df), float(scaling)


def vcov_adjusted(result) -> pd.DataFrame:
    """Kenward–Roger's adjusted covariance of the fixed effects (pbkrtest's ``vcovAdj``).

    Parameters
    ----------
    result : MixedResult
        A REML fit from :func:`mlmlab.fit`.

    Returns
    -------
    pandas.DataFrame
        Square, indexed by the fixed effects; never smaller than the usual covariance (``m.fixed["se"]`` squared
        on the diagonal) in a balanced design.

    Raises
    ------
    MlmlabInputError
        The model was fitted by ML (Kenward–Roger is defined for REML).

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"))
    >>> vcov_adjusted(m).round(3)
               Intercept   Days
    Intercept     94.998 -2.910
    Days          -2.910  0.647
    """
    adj = _adjust(_check_reml(result, "vcov_adjusted"))
    names = list(result.fixef.index)
    return pd.DataFrame(adj.PhiA, index=names, columns=names)


def kenward_roger(result, contrasts=None) -> pd.DataFrame:
    """t-tests of fixed effects (or contrasts of them) with Kenward–Roger's adjusted SEs and df.

    Parameters
    ----------
    result : MixedResult
        A REML fit from :func:`mlmlab.fit`.
    contrasts : pandas.DataFrame or dict, optional
        Linear combinations c'γ to test against 0, as in :func:`mlmlab.satterthwaite`. Default: each fixed
        effect on its own.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (or contrast label): ``estimate``, ``se`` (adjusted), ``df``, ``t``, ``p`` (two-sided).
        ``lmerTest::summary(m, ddf = "Kenward-Roger")`` gives the same numbers.

    Raises
    ------
    MlmlabInputError
        The model was fitted by ML, or a contrast names a term the model does not have.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin"))
    >>> kenward_roger(m).round(3)
               estimate     se     df       t    p
    term
    Intercept    22.972  0.809  5.487  28.411  0.0

    Penicillin's six samples (and 24 plates), not its 144 rows, decide the df of the mean diameter: about
    5.5. The SE is lme4's here (a balanced design); in unbalanced designs the adjustment makes it larger.
    """
    _check_reml(result, "kenward_roger")
    L = contrast_matrix(contrasts, list(result.fixef.index), "kenward_roger")
    adj = _adjust(result)
    rows = []
    for label, c in L.iterrows():
        w = c.to_numpy(dtype=float)
        est, se = float(w @ adj.beta), float(np.sqrt(w @ adj.PhiA @ w))
        _, df, _ = _ddf(adj, w[None, :])
        t = est / se
        rows.append((label, est, se, df, t, 2 * stats.t.sf(abs(t), df)))
    return pd.DataFrame(rows, columns=["term", "estimate", "se", "df", "t", "p"]).set_index("term")


def f_tests(result, hypotheses: dict) -> dict:
    """Kenward–Roger's F tests of Lγ = 0 for several hypotheses (label -> L, a row per restriction, a column per
    fixed effect), all from one adjusted covariance: per label ``num_df``, ``den_df``, ``F`` (scaled by λ) and
    ``p``, as pbkrtest's ``KRmodcomp``. Used by :func:`mlmlab.anova`."""
    _check_reml(result, "anova")
    if not hypotheses:
        return {}
    adj = _adjust(result)
    return {label: _f_test(adj, np.atleast_2d(np.asarray(L, dtype=float))) for label, L in hypotheses.items()}


def _f_test(adj: _Adjusted, L: np.ndarray) -> dict:
    q, df, scaling = _ddf(adj, L)
    Lb = L @ adj.beta
    F = scaling * float(Lb @ np.linalg.solve(L @ adj.PhiA @ L.T, Lb)) / q
    return {"num_df": q, "den_df": df, "F": F, "p": float(stats.f.sf(F, q, df))}


def _check_reml(result, func: str):
    check_result(result, func)
    if not result.reml:
        raise argument_error(func, "result", "a REML fit", result, detail="it was fitted by maximum likelihood",
                             fix="Kenward-Roger's method is defined for REML fits: use m.refit(reml=True).")
    return result
