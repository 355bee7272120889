"""The deviance of a model design as a function of its variance parameters, in lme4's penalised least-squares form.

For variance parameters φ = (θ, σ) — θ the relative Cholesky factor of each block's covariance G/σ² (lower
triangle, column by column, as lme4's ``getME(m, "theta")``) and σ the residual SD — and with the fixed effects
profiled out,

.. math:: -2\\ell(\\theta, \\sigma) = \\log|I + \\Lambda^\\top Z^\\top Z \\Lambda| + \\frac{r^2(\\theta)}{\\sigma^2}
    + n \\log(2\\pi\\sigma^2)

(plus :math:`\\log|X^\\top V^{-1} X\\,\\sigma^2| - p\\log(2\\pi\\sigma^2)` for REML), r²(θ) the penalised residual sum
of squares. ZᵀZ, ZᵀX and Zᵀy are formed once; each evaluation costs a sparse LU of the q × q matrix
I + ΛᵀZᵀZΛ. This is lmerTest's ``devfun_vp`` and lme4's ``devfun2``; :mod:`mlmlab.satterthwaite` differentiates
it and :func:`mlmlab.confint` profiles it.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as sparse_linalg

from mlmlab._linalg import psd_cholesky

__all__ = ["Deviance"]

DENSE_MAX = 150  # random effects (q) up to which P = I + ΛᵀZᵀZΛ is factorised densely


class Deviance:
    """−2 log-likelihood of a design (REML criterion or ML deviance) and cov(γ̂) as functions of φ = (θ, σ).

    Parameters
    ----------
    design : mlmlab.design.ModelDesign
        The model's design (rows, X, the random-effect blocks).
    reml : bool
        REML criterion (True) or ML deviance (False).
    X, y : ndarray, optional
        Replace the design's fixed-effects matrix or outcome (a fixed effect held at a value is profiled by
        moving it to the outcome and dropping its column).

    Attributes
    ----------
    Z : scipy.sparse.csc_array
        n × q: one column per random effect (block by block, level by level, the block's terms within a level),
        the order of :meth:`Lambda`'s rows; :mod:`mlmlab.kenward_roger` builds V = σ²(I + ZΛΛᵀZᵀ) from it.
    """

    def __init__(self, design, *, reml: bool, X=None, y=None):
        self.design, self.reml = design, bool(reml)
        self.X = design.X.to_numpy(dtype=float) if X is None else np.asarray(X, dtype=float)
        self.y = design.y if y is None else np.asarray(y, dtype=float)
        self.n, self.p = self.X.shape
        self.blocks = design.blocks
        self.tri = []
        for b in design.blocks:
            rows, cols = np.tril_indices(len(b.names))
            order = np.lexsort((rows, cols))  # lme4's order: the lower triangle column by column
            self.tri.append((rows[order], cols[order]))
        self.XtX, self.Xty, self.yty = self.X.T @ self.X, self.X.T @ self.y, float(self.y @ self.y)
        self._cross_products()

    @classmethod
    def of(cls, result, *, reml=None) -> "Deviance":
        """The deviance of a fitted model's design, with ``phi_hat`` set to the fit's (θ, σ)."""
        dev = cls(result.design, reml=result.reml if reml is None else reml)
        dev.phi_hat = dev.phi_from_covariances(result.covariances, float(result.sigma2))
        return dev

    # ------------------------------------------------------------------ parameterisations
    def phi_from_covariances(self, covariances, sigma2: float) -> np.ndarray:
        """φ = (θ, σ) from each block's covariance matrix and σ²."""
        theta = []
        for cov, (rows, cols) in zip(covariances, self.tri):
            theta.extend(psd_cholesky(np.asarray(cov, dtype=float) / sigma2)[rows, cols])
        return np.array(theta + [np.sqrt(sigma2)])

    def phi_from_sdcor(self, v: np.ndarray) -> np.ndarray:
        """φ from lme4's profile scale: per block the SDs and correlations in θ's order (sd1, cor21, ..., sd2,
        ...), then σ."""
        v = np.asarray(v, dtype=float)
        covs, start = [], 0
        for b, (rows, cols) in zip(self.blocks, self.tri):
            t = len(b.names)
            piece = v[start:start + len(rows)]
            start += len(rows)
            sd, corr = np.zeros(t), np.eye(t)
            for (i, j), value in zip(zip(rows, cols), piece):
                if i == j:
                    sd[i] = abs(value)
                else:
                    corr[i, j] = corr[j, i] = value
            covs.append(corr * np.outer(sd, sd))
        return self.phi_from_covariances(covs, v[-1] ** 2)

    def sdcor_from_phi(self, phi: np.ndarray) -> np.ndarray:
        """lme4's profile scale (see :meth:`phi_from_sdcor`) from φ."""
        out, start, sigma = [], 0, phi[-1]
        for b, (rows, cols) in zip(self.blocks, self.tri):
            t = len(b.names)
            lam = np.zeros((t, t))
            lam[rows, cols] = phi[start:start + len(rows)]
            start += len(rows)
            G = sigma ** 2 * lam @ lam.T
            sd = np.sqrt(np.clip(np.diag(G), 0.0, None))
            for i, j in zip(rows, cols):
                out.append(sd[i] if i == j else (G[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else 0.0))
        return np.array(out + [sigma])

    # ------------------------------------------------------------------ evaluation
    def _cross_products(self):
        """Z (one column per random effect, before Λ), and ZᵀZ, ZᵀX, Zᵀy: computed once."""
        pieces, width, lam_pattern = [], 0, []
        for b in self.blocks:
            t = len(b.names)
            i = np.repeat(np.arange(self.n), t)
            j = (width + b.codes[:, None] * t + np.arange(t)).ravel()
            pieces.append((i, j, b.Z.ravel()))
            lam_pattern.append((width, len(b.levels), t))
            width += len(b.levels) * t
        i, j, v = (np.concatenate(a) for a in zip(*pieces))
        Z = sparse.csc_array((v, (i, j)), shape=(self.n, width))
        self.Z, self.q, self.lam_pattern = Z, width, lam_pattern
        self.ZtZ = (Z.T @ Z).tocsc()
        self.ZtX = np.asarray(Z.T @ self.X)
        self.Zty = np.asarray(Z.T @ self.y).ravel()
        # Λ's pattern, once: entry k of Λ is θ[lam_theta[k]] at (lam_rows[k], lam_cols[k])
        rows, cols, which, start = [], [], [], 0
        for (offset, J, t), (r, c) in zip(self.lam_pattern, self.tri):
            base = offset + np.arange(J)[:, None] * t
            rows.append((base + r[None, :]).ravel())
            cols.append((base + c[None, :]).ravel())
            which.append(np.tile(start + np.arange(len(r)), J))
            start += len(r)
        self.lam_rows, self.lam_cols, self.lam_theta = (np.concatenate(a) for a in (rows, cols, which))
        self._ZtZ_dense = self.ZtZ.toarray() if self.q <= DENSE_MAX else None

    def Lambda(self, theta: np.ndarray):
        """Λ(θ): block diagonal, I_J ⊗ Λ_k for each block (sparse, q × q)."""
        vals = np.asarray(theta, dtype=float)[self.lam_theta]
        return sparse.csc_array((vals, (self.lam_rows, self.lam_cols)), shape=(self.q, self.q))

    def _solver(self, theta: np.ndarray):
        """(log|P|, solve, WᵀX, Wᵀy) for P = I + ΛᵀZᵀZΛ and W = ZΛ: a dense Cholesky when q is small (a sparse
        matrix's bookkeeping would cost more than the arithmetic), else a sparse LU (P is block diagonal for
        nested groups)."""
        vals = np.asarray(theta, dtype=float)[self.lam_theta]
        if self._ZtZ_dense is not None:
            Lam = np.zeros((self.q, self.q))
            Lam[self.lam_rows, self.lam_cols] = vals
            P = Lam.T @ self._ZtZ_dense @ Lam
            P[np.diag_indices_from(P)] += 1.0
            factor = linalg.cho_factor(P, lower=True, check_finite=False)
            logdet = 2.0 * float(np.sum(np.log(np.diag(factor[0]))))
            return logdet, lambda rhs: linalg.cho_solve(factor, rhs, check_finite=False), Lam.T @ self.ZtX, \
                Lam.T @ self.Zty
        Lam = sparse.csc_array((vals, (self.lam_rows, self.lam_cols)), shape=(self.q, self.q))
        P = (Lam.T @ self.ZtZ @ Lam).tocsc() + sparse.identity(self.q, format="csc")
        # P is symmetric positive definite: a symmetric minimum-degree ordering and no pivoting (as mlmlab.pls), far
        # less fill than SuperLU's default column ordering for crossed factors
        lu = sparse_linalg.splu(P, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        logdet = float(np.sum(np.log(np.abs(lu.U.diagonal()))))
        return logdet, lu.solve, np.asarray(Lam.T @ self.ZtX), np.asarray(Lam.T @ self.Zty).ravel()

    def pieces(self, theta: np.ndarray):
        """(log|I + ΛᵀZᵀZΛ|, A = σ²XᵀV⁻¹X, penalised residual sum of squares), from the stored cross-products."""
        logdet, solve, WtX, Wty = self._solver(theta)
        PX, Py = solve(WtX), solve(Wty)
        A = self.XtX - WtX.T @ PX
        b = self.Xty - WtX.T @ Py
        c = self.yty - Wty @ Py
        beta = np.linalg.solve(A, b) if self.p else np.zeros(0)
        return logdet, A, float(c - b @ beta)

    def deviance(self, phi: np.ndarray) -> float:
        """−2 log-likelihood (REML criterion for REML) at φ = (θ, σ), as lmerTest's ``devfun_vp``."""
        theta, sigma2 = phi[:-1], phi[-1] ** 2
        logdet, A, prss = self.pieces(theta)
        dev = logdet + prss / sigma2 + self.n * np.log(2 * np.pi * sigma2)
        if self.reml:
            dev += np.linalg.slogdet(A)[1] - self.p * np.log(2 * np.pi * sigma2)
        return float(dev)

    def profiled(self, theta: np.ndarray) -> float:
        """−2 log-likelihood at θ with σ profiled out too (σ̂² = r²/n for ML, r²/(n − p) for REML), as lme4's
        ``devfun``: the minimum of :meth:`deviance` over σ, at one evaluation's cost."""
        logdet, A, prss = self.pieces(np.asarray(theta, dtype=float))
        dof = self.n - self.p if self.reml else self.n
        dev = logdet + dof * (1.0 + np.log(2 * np.pi * max(prss, 1e-300) / dof))
        if self.reml:
            dev += np.linalg.slogdet(A)[1]
        return float(dev)

    def cov_beta(self, phi: np.ndarray) -> np.ndarray:
        """cov(γ̂) = σ² A⁻¹ at φ = (θ, σ), as lmerTest's ``get_covbeta``."""
        _, A, _ = self.pieces(phi[:-1])
        return phi[-1] ** 2 * np.linalg.inv(A)
