"""lme4's penalised least-squares engine for any model design: one or many grouping factors, nested or crossed.

For a :class:`mlmlab.design.ModelDesign` with random effects b = Λθ u, u ~ N(0, σ² I) (Bates, Mächler, Bolker and
Walker 2015, "Fitting linear mixed-effects models using lme4", J. Stat. Softw. 67(1), section 3), the
fixed effects β and σ are profiled out and the deviance is a function of θ alone:

.. math:: d(\\theta) = \\log|P_\\theta| + n\\,(1 + \\log(2\\pi r^2_\\theta / n)),
    \\qquad P_\\theta = \\Lambda_\\theta^\\top Z^\\top Z \\Lambda_\\theta + I,

and the REML criterion is :math:`\\log|P_\\theta| + \\log|X^\\top V^{-1} X \\sigma^2| + (n-p)(1 + \\log(2\\pi
r^2_\\theta/(n-p)))`, r² the penalised residual sum of squares (lme4's ``pwrss``). θ holds, block by block, the
lower triangle of each block's relative covariance factor column by column (lme4's ``getME(m, "theta")``).

**The factorisation.** Z's columns are ordered with the grouping factor that has the most random-effect
columns first (all of that factor's blocks, level by level), then the others. In that order P is

.. math:: P = \\begin{pmatrix} A & B \\\\ B^\\top & C \\end{pmatrix},

where A is block diagonal (one t × t block per level of the first factor: its levels share no row), so it is
factorised exactly, block by block, in one batched numpy call; the Schur complement S = C − BᵀA⁻¹B of the
other factors is formed sparsely and factorised densely (a Cholesky of a matrix of the size of the other
factors' columns: a few thousand for an InstEval-like design of 70,000 rows), or, when it is larger than
:data:`DENSE_LIMIT`, by scipy's sparse LU (SuperLU in symmetric mode, minimum-degree ordering of S + Sᵀ, no
pivoting: S is positive definite). This elimination order — the largest factor first — is the
fill-reducing ordering CHOLMOD finds for crossed designs, fixed once per design; each θ costs a numeric
refactorisation only. The cross-products ZᵀZ, ZᵀX and Zᵀy are formed once.

With one grouping factor S is empty and each evaluation costs O(J t³) whatever the number of rows. The
fixed-effects matrix is replaced by the Q of its QR decomposition and the outcome by its least-squares
residual (so X's units and y's offset cost no digits); β, its covariance and the REML determinant are mapped
back exactly.

:func:`fit` minimises d(θ) by L-BFGS-B with finite-difference gradients (columns of Λ put back on lme4's side of
its bound θ_ii ≥ 0 afterwards), checks the optimum with a finite-difference gradient and Hessian (lme4's
``checkConv``), and gets a second opinion (COBYQA, then L-BFGS-B; then Nelder–Mead) for boundary or failed optima.
It returns θ, β, σ, the log-likelihood and the conditional modes (BLUPs) with their conditional variances, as
lme4's ``ranef(condVar = TRUE)``. For random intercepts on every factor but the first (the usual crossed design),
S is assembled from a fixed sparse map of the first factor's per-level weights, without sparse products per θ.

A design with one grouping factor and several thousand levels still uses the block-diagonal path; a design whose
factors after the first have more than :data:`DENSE_LIMIT` columns falls back to SuperLU, which recomputes its
ordering at every θ (the symbolic analysis is not kept between evaluations, unlike CHOLMOD's).

scikit-sparse (CHOLMOD) would be the natural sparse Cholesky, but it ships only as a source package that needs
SuiteSparse's headers to build, so ``make venv`` could not install it from a fresh clone; scipy suffices.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg as dense_linalg
from scipy import optimize, sparse
from scipy.sparse import linalg as sparse_linalg

from mlmlab._checks import argument_error
from mlmlab.exceptions import FitError

__all__ = ["PLS", "PLSFit", "fit", "DENSE_LIMIT"]

#: Largest Schur complement (columns of the grouping factors after the first) factorised as a dense matrix.
DENSE_LIMIT = 6000

#: Designs whose Schur complement costs at most this many flops (J·t·q_r²) are handled with dense arrays.
SMALL_FLOPS = 2_000_000

#: Elements of the dense pieces the conditional variances are computed in (2e6 doubles: 16 MB).
CHUNK = 2_000_000

#: θ is optimised by L-BFGS-B as θ / STEP_SCALE (its first step, of unit length, is then 0.3 long in θ).
STEP_SCALE = 0.3

#: L-BFGS-B's stopping rule (its optimum must then pass :func:`fit`'s convergence test, after Newton steps).
LBFGS_OPTIONS = {"ftol": 1e-12, "gtol": 1e-6, "maxiter": 5000}

#: Newton steps from the convergence test's gradient and Hessian tried before a second optimizer is run.
NEWTON_STEPS = 3

#: Newton steps taken from an optimum that passed the convergence test (see ``_polish``).
POLISH_STEPS = 2

#: lme4's ``isSingular`` tolerance on the diagonal of the relative covariance factor.
SINGULAR_TOL = 1e-4


@dataclass
class PLSFit:
    """The optimum found by :func:`fit`.

    Attributes
    ----------
    theta : ndarray
        lme4's θ (each block's relative covariance factor, lower triangle column by column).
    beta : ndarray
        Fixed effects, in the order of ``design.X``'s columns.
    cov_beta : ndarray
        Their covariance matrix σ²(XᵀV⁻¹X)⁻¹.
    sigma2 : float
        Residual variance (pwrss / (n − p) for REML, pwrss / n for ML, as lme4).
    llf : float
        Log-likelihood (the REML criterion × −½ for REML), as lme4's ``logLik``.
    reml : bool
    covariances : list of ndarray
        Each block's covariance matrix σ² Λ_k Λ_kᵀ, in the order of ``design.blocks``.
    ranef : list of ndarray
        Conditional modes of each block's random effects, shape (levels, columns).
    ranef_var : list of ndarray
        Their conditional variances (lme4's ``condVar``), same shapes.
    converged : bool
        The optimizers converged and agreed within ``1e-6`` of deviance (or the best one was polished).
    singular : bool
        A diagonal element of θ below lme4's tolerance 1e-4 (a boundary fit).
    optimizer : str
        The run that gave the optimum.
    runs : list of tuple
        (name, deviance, converged, evaluations) of every optimizer run.
    """

    theta: np.ndarray
    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    llf: float
    reml: bool
    covariances: list
    ranef: list
    ranef_var: list
    converged: bool
    singular: bool
    optimizer: str
    runs: list = field(default_factory=list)

    @property
    def deviance(self) -> float:
        """−2 log-likelihood (the REML criterion for a REML fit)."""
        return -2.0 * self.llf


class PLS:
    """The profiled deviance of a model design as a function of θ (lme4's ``devfun``).

    Parameters
    ----------
    design : mlmlab.design.ModelDesign
        The model's design (y, X, random-effect blocks).
    reml : bool
        REML criterion (True) or ML deviance (False).
    X, y : ndarray, optional
        Replace the design's fixed-effects matrix or outcome.

    Attributes
    ----------
    n_theta : int
        Length of θ.
    lower : ndarray
        lme4's lower bounds of θ (0 for diagonal elements, −inf for the others).
    theta0 : ndarray
        lme4's start (1 on the diagonals, 0 elsewhere).

    Examples
    --------
    >>> from mlmlab import datasets
    >>> from mlmlab.design import build_design
    >>> d = build_design("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin"))
    >>> pls = PLS(d, reml=True)
    >>> round(pls.deviance([1.53967555, 3.51251886]), 4)   # lme4's REML criterion at its optimum
    330.8606
    """

    def __init__(self, design, *, reml: bool, X=None, y=None):
        if not isinstance(reml, (bool, np.bool_)):
            raise argument_error("PLS", "reml", "True or False", reml, kind=TypeError)
        self.design, self.reml = design, bool(reml)
        X = design.X.to_numpy(dtype=float) if X is None else np.asarray(X, dtype=float)
        y = np.asarray(design.y if y is None else y, dtype=float)
        self.n, self.p = X.shape
        if self.p:
            Q, R = np.linalg.qr(X)
        else:
            Q, R = np.zeros((self.n, 0)), np.zeros((0, 0))
        self.R = R
        self.log_det_R2 = float(2 * np.sum(np.log(np.abs(np.diag(R))))) if self.p else 0.0
        self.a = Q.T @ y                      # y = Q a + y0, y0 ⟂ X
        y0 = y - Q @ self.a
        self.y0y0 = float(y0 @ y0)
        blocks = design.blocks
        # θ layout: lower triangle column by column, block by block
        self.tri, self.slices, start = [], [], 0
        lower = []
        for b in blocks:
            t = len(b.names)
            rows, cols = np.tril_indices(t)
            order = np.lexsort((rows, cols))
            rows, cols = rows[order], cols[order]
            self.tri.append((rows, cols))
            self.slices.append(slice(start, start + len(rows)))
            start += len(rows)
            lower.extend(0.0 if i == j else -np.inf for i, j in zip(rows, cols))
        self.n_theta = start
        self.lower = np.array(lower)
        self.theta0 = np.where(np.isfinite(self.lower), 1.0, 0.0)
        # the first grouping factor: the one with the most random-effect columns (all of its blocks)
        width = {}
        for b in blocks:
            width[b.term.factors] = width.get(b.term.factors, 0) + len(b.levels) * b.Z.shape[1]
        first = max(width, key=width.get)
        self.a_blocks = [k for k, b in enumerate(blocks) if b.term.factors == first]
        self.r_blocks = [k for k, b in enumerate(blocks) if b.term.factors != first]
        self._setup_a(Q, y0)
        self._setup_r(Q, y0)

    # ------------------------------------------------------------------ set-up (once per design)
    def _setup_a(self, Q, y0):
        """Per-level cross-products of the first factor's columns (its blocks side by side)."""
        blocks = self.design.blocks
        Za = np.hstack([blocks[k].Z for k in self.a_blocks])
        codes = blocks[self.a_blocks[0]].codes
        J, t = len(blocks[self.a_blocks[0]].levels), Za.shape[1]
        self.J1, self.t1 = J, t
        self.a_offsets = np.cumsum([0] + [blocks[k].Z.shape[1] for k in self.a_blocks])
        A0 = np.empty((J, t, t))
        for i in range(t):
            for j in range(i, t):
                A0[:, i, j] = A0[:, j, i] = np.bincount(codes, Za[:, i] * Za[:, j], minlength=J)
        self.A0 = A0
        M = np.column_stack([Q, y0])          # right-hand sides: the columns of Q, then y0
        self.m = M.shape[1]
        A0M = np.empty((J, t, self.m))
        for i in range(t):
            for c in range(self.m):
                A0M[:, i, c] = np.bincount(codes, Za[:, i] * M[:, c], minlength=J)
        self.A0M = A0M
        self._Za_sp = sparse.csr_array((Za.ravel(), (np.repeat(np.arange(self.n), t),
                                                     (codes[:, None] * t + np.arange(t)).ravel())),
                                       shape=(self.n, J * t))
        self._M = M

    def _setup_r(self, Q, y0):
        """Sparse cross-products of the other factors' columns: B0 = Z_aᵀZ_r, C0 = Z_rᵀZ_r, Z_rᵀ[Q, y0]."""
        blocks = self.design.blocks
        pieces, width, self.r_layout = [], 0, []
        for k in self.r_blocks:
            b = blocks[k]
            t, J = b.Z.shape[1], len(b.levels)
            pieces.append((np.repeat(np.arange(self.n), t), (width + b.codes[:, None] * t + np.arange(t)).ravel(),
                           b.Z.ravel()))
            self.r_layout.append((k, width, J, t))
            width += J * t
        self.qr = width
        if not width:
            return
        i, j, v = (np.concatenate(a) for a in zip(*pieces))
        Zr = sparse.csc_array((v, (i, j)), shape=(self.n, width))
        self.B0 = (self._Za_sp.T @ Zr).tocsr()
        self.C0 = (Zr.T @ Zr).tocsr()
        self.C0M = np.asarray(Zr.T @ self._M)
        self.dense = width <= DENSE_LIMIT
        self.r_scalar = all(t == 1 for _, _, _, t in self.r_layout)
        # small designs (Penicillin, Pastes): B and C as dense arrays, no sparse bookkeeping per evaluation
        self.small = self.J1 * self.t1 * width ** 2 <= SMALL_FLOPS
        if self.small:
            self.B0, self.C0 = self.B0.toarray(), self.C0.toarray()
        # random intercepts only (the usual crossed design): BᵀA⁻¹B = Λ_r B0ᵀ diag(w) B0 Λ_r with w_j = λ²/(1 + λ² a_j),
        # a fixed sparse map K from w to the entries of B0ᵀ diag(w) B0 (one row per entry, one column per level)
        self.scalar = self.r_scalar and self.t1 == 1 and not self.small and self.dense
        if self.scalar:
            self._setup_scalar()

    def _setup_scalar(self):
        B0 = self.B0
        lengths = np.diff(B0.indptr)
        total = int(np.sum(lengths.astype(np.int64) ** 2))
        row = np.repeat(np.arange(self.J1), lengths ** 2)
        first = np.repeat(np.cumsum(lengths ** 2) - lengths ** 2, lengths ** 2)
        k = np.arange(total) - first
        L = lengths[row]
        a, b = B0.indptr[row] + k // L, B0.indptr[row] + k % L
        target = B0.indices[a].astype(np.int64) * self.qr + B0.indices[b]
        cells, where = np.unique(target, return_inverse=True)
        self._K = sparse.csr_array((B0.data[a] * B0.data[b], (where, row)), shape=(len(cells), self.J1))
        self._K_cells = cells
        self._C0_dense = self.C0.toarray()
        self._B0T = B0.T.tocsr()
        self._a0 = self.A0[:, 0, 0]

    # ------------------------------------------------------------------ Λθ
    def lambdas(self, theta) -> list:
        """Each block's relative covariance factor Λ_k (lower triangular t × t)."""
        theta = np.asarray(theta, dtype=float)
        out = []
        for b, (rows, cols), sl in zip(self.design.blocks, self.tri, self.slices):
            lam = np.zeros((len(b.names), len(b.names)))
            lam[rows, cols] = theta[sl]
            out.append(lam)
        return out

    def canonical(self, theta) -> np.ndarray:
        """θ with every column of each Λ_k whose diagonal element is negative negated (the same ΛΛᵀ, lme4's side
        of the bound)."""
        theta = np.array(theta, dtype=float)
        for (rows, cols), sl in zip(self.tri, self.slices):
            piece = theta[sl]
            for j in np.unique(cols):
                diag = piece[(rows == j) & (cols == j)][0]
                if diag < 0:
                    piece[cols == j] *= -1.0
            theta[sl] = piece
        return theta

    def _lambda_a(self, lams):
        lam = np.zeros((self.t1, self.t1))
        for k, lo, hi in zip(self.a_blocks, self.a_offsets[:-1], self.a_offsets[1:]):
            lam[lo:hi, lo:hi] = lams[k]
        return lam

    def _lambda_r(self, lams):
        """Λ of the other factors: a vector (all blocks scalar) or a sparse block-diagonal matrix."""
        if self.r_scalar:
            return np.concatenate([np.full(J, lams[k][0, 0]) for k, _, J, _ in self.r_layout])
        mats = [sparse.kron(sparse.identity(J, format="csr"), sparse.csr_array(lams[k]), format="csr")
                for k, _, J, _ in self.r_layout]
        return sparse.block_diag(mats, format="csr")

    # ------------------------------------------------------------------ factorisation and solves
    def factor(self, theta):
        """Factorise P_θ; returns a dict with its log-determinant and what solves with P_θ need."""
        lams = self.lambdas(theta)
        lam_a = self._lambda_a(lams)
        A = lam_a.T @ self.A0 @ lam_a + np.eye(self.t1)
        La = np.linalg.cholesky(A)
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(La, axis1=1, axis2=2))))
        Ainv = np.linalg.inv(A)
        f = {"lams": lams, "lam_a": lam_a, "Ainv": Ainv}
        rhs_a = lam_a.T @ self.A0M                    # (J, t, m)
        f["rhs_a"] = rhs_a
        if self.qr:
            lam_r = self._lambda_r(lams)
            if self.scalar:
                la = lam_a[0, 0]
                M = np.zeros(self.qr * self.qr)
                M[self._K_cells] = self._K @ (la * la / (1.0 + la * la * self._a0))
                S = (self._C0_dense - M.reshape(self.qr, self.qr)) * np.outer(lam_r, lam_r)
                S[np.diag_indices_from(S)] += 1.0
                B = _Scaled(self.B0, self._B0T, np.full(self.J1, la), lam_r)
                AinvB = _Scaled(self.B0, self._B0T, la * Ainv[:, 0, 0], lam_r)
                rhs_r = self.C0M * lam_r[:, None]
            elif self.small:
                B, C, rhs_r, AinvB = self._small_blocks(lam_a, lam_r, Ainv)
                S = C - B.T @ AinvB
                S[np.diag_indices_from(S)] += 1.0
            else:
                B, C, rhs_r, AinvB = self._sparse_blocks(lam_a, lam_r, Ainv)
                S = sparse.csr_array(C) + sparse.identity(self.qr, format="csr") - B.T @ AinvB
            if self.dense:
                S = S.toarray() if sparse.issparse(S) else S
                Ls = dense_linalg.cholesky(S, lower=True, check_finite=False)
                logdet += 2.0 * float(np.sum(np.log(np.diag(Ls))))
                f["Ls"] = Ls
            else:
                lu = sparse_linalg.splu(sparse.csc_array(S), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                        options={"SymmetricMode": True})
                logdet += float(np.sum(np.log(np.abs(lu.U.diagonal()))))
                f["lu"] = lu
            f.update(B=B, AinvB=AinvB, rhs_r=rhs_r, lam_r=lam_r)
        f["logdet"] = logdet
        return f

    def _scaled_r(self, lam_r):
        """B0 Λ_r, Λ_rᵀ C0 Λ_r and Λ_rᵀ Z_rᵀ[Q, y0] (Λ_r a vector when every block of the other factors is scalar)."""
        if self.r_scalar:
            return self.B0 * lam_r[None, :], (self.C0 * lam_r[None, :]) * lam_r[:, None], self.C0M * lam_r[:, None]
        return self.B0 @ lam_r, lam_r.T @ self.C0 @ lam_r, np.asarray(lam_r.T @ self.C0M)

    def _small_blocks(self, lam_a, lam_r, Ainv):
        """B = (I ⊗ Λ_a)ᵀ B0 Λ_r, C = Λ_rᵀ C0 Λ_r, Λ_rᵀ Z_rᵀ[Q, y0] and A⁻¹B, as dense arrays."""
        Bl, C, rhs_r = self._scaled_r(lam_r if self.r_scalar else lam_r.toarray())
        J, t = self.J1, self.t1
        B = (lam_a.T @ Bl.reshape(J, t, -1)).reshape(J * t, -1)
        AinvB = (Ainv @ B.reshape(J, t, -1)).reshape(J * t, -1)
        return B, C, rhs_r, AinvB

    def _sparse_blocks(self, lam_a, lam_r, Ainv):
        """The same as :meth:`_small_blocks`, as sparse matrices (large designs)."""
        Bl, C, rhs_r = self._scaled_r(lam_r)
        if self.t1 == 1:
            B = Bl * lam_a[0, 0]
            AinvB = B * Ainv[:, 0, 0][:, None]
        else:
            Ka = sparse.kron(sparse.identity(self.J1, format="csr"), sparse.csr_array(lam_a.T), format="csr")
            B = Ka @ Bl
            Ai = sparse.bsr_array((Ainv, np.arange(self.J1), np.arange(self.J1 + 1)), shape=(self.J1 * self.t1,) * 2)
            AinvB = Ai @ B
        return sparse.csr_array(B), C, rhs_r, sparse.csr_array(AinvB)

    def _solve_s(self, f, r):
        if self.dense:
            return dense_linalg.cho_solve((f["Ls"], True), r, check_finite=False)
        return f["lu"].solve(np.asarray(r))

    def solve(self, f, rhs_a, rhs_r):
        """P_θ⁻¹ [rhs_a; rhs_r]: rhs_a of shape (J, t, m) (the first factor), rhs_r of shape (q_r, m)."""
        xa = f["Ainv"] @ rhs_a
        if not self.qr:
            return xa, None
        m = rhs_a.shape[2]
        xr = self._solve_s(f, rhs_r - f["B"].T @ xa.reshape(-1, m))
        xa = xa - (f["AinvB"] @ xr).reshape(xa.shape)
        return xa, xr

    # ------------------------------------------------------------------ the profiled deviance
    def evaluate(self, theta):
        """(deviance, dict of the pieces: beta on the Q scale, pwrss, A_X, factor, solutions)."""
        f = self.factor(theta)
        xa, xr = self.solve(f, f["rhs_a"], f.get("rhs_r"))
        G = np.einsum("jtm,jtk->mk", f["rhs_a"], xa)
        if self.qr:
            G = G + f["rhs_r"].T @ xr
        p = self.p
        AX = np.eye(p) - G[:p, :p]
        b = -G[:p, p]
        c = self.y0y0 - G[p, p]
        beta_q = np.linalg.solve(AX, b) if p else np.zeros(0)
        prss = float(c - b @ beta_q)
        n = self.n
        if prss <= 0 or not np.isfinite(prss):
            return np.inf, None
        if self.reml:
            ld_ax = np.linalg.slogdet(AX)[1] if p else 0.0
            dev = f["logdet"] + ld_ax + self.log_det_R2 + (n - p) * (1 + np.log(2 * np.pi * prss / (n - p)))
        else:
            dev = f["logdet"] + n * (1 + np.log(2 * np.pi * prss / n))
        return float(dev), {"f": f, "xa": xa, "xr": xr, "beta_q": beta_q, "prss": prss, "AX": AX}

    def deviance(self, theta) -> float:
        """The profiled deviance (ML) or REML criterion at θ; inf where it is undefined."""
        try:
            return self.evaluate(theta)[0]
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            return np.inf

    # ------------------------------------------------------------------ the estimates at θ
    def estimates(self, theta, *, condvar: bool = True) -> dict:
        """β, cov(β), σ², the block covariances and the conditional modes (and variances) at θ."""
        theta = np.asarray(theta, dtype=float)
        dev, e = self.evaluate(theta)
        if e is None:
            raise np.linalg.LinAlgError("the penalised residual sum of squares is not positive at this theta")
        p, n = self.p, self.n
        sigma2 = e["prss"] / (n - p if self.reml else n)
        Rinv = np.linalg.inv(self.R) if p else np.zeros((0, 0))
        beta = Rinv @ (e["beta_q"] + self.a)
        cov_beta = sigma2 * Rinv @ np.linalg.inv(e["AX"]) @ Rinv.T if p else np.zeros((0, 0))
        f = e["f"]
        # conditional modes: u = P⁻¹ Λᵀ Zᵀ (y0 − Q β_q), b = Λ u
        ua = e["xa"][:, :, p] - e["xa"][:, :, :p] @ e["beta_q"]
        ur = e["xr"][:, p] - e["xr"][:, :p] @ e["beta_q"] if self.qr else None
        lams = f["lams"]
        ranef = [None] * len(self.design.blocks)
        ranef_var = [None] * len(self.design.blocks)
        ba = ua @ f["lam_a"].T
        for k, lo, hi in zip(self.a_blocks, self.a_offsets[:-1], self.a_offsets[1:]):
            ranef[k] = ba[:, lo:hi]
        for k, off, J, t in self.r_layout:
            ranef[k] = ur[off:off + J * t].reshape(J, t) @ lams[k].T
        if condvar:
            self._condvar(f, sigma2, ranef_var)
        covs = [sigma2 * lam @ lam.T for lam in lams]
        return {"deviance": dev, "beta": beta, "cov_beta": cov_beta, "sigma2": float(sigma2), "covariances": covs,
                "ranef": ranef, "ranef_var": ranef_var}

    def _condvar(self, f, sigma2, out):
        """Diagonals of σ² Λ P⁻¹ Λᵀ, block by block (lme4's condVar)."""
        J, t = self.J1, self.t1
        Va = f["Ainv"].copy()                       # diagonal blocks of P⁻¹ for the first factor
        if self.qr:
            AinvB = f["AinvB"]
            rows = J * t
            chunk = max(1, int(CHUNK // max(self.qr, 1)))
            # (A⁻¹B) S⁻¹ (A⁻¹B)ᵀ, diagonal blocks only, in chunks of rows
            for lo in range(0, rows, chunk * t):
                hi = min(rows, lo + chunk * t)
                piece = (AinvB.rows(lo, hi) if isinstance(AinvB, _Scaled) else AinvB[lo:hi].toarray()
                         if sparse.issparse(AinvB) else AinvB[lo:hi])
                sol = self._solve_s(f, piece.T).T      # rows of (A⁻¹B) S⁻¹
                blocks_sol = sol.reshape(-1, t, self.qr)
                blocks_b = piece.reshape(-1, t, self.qr)
                Va[lo // t:hi // t] += blocks_sol @ blocks_b.transpose(0, 2, 1)
            Sinv_blocks = self._s_inverse_blocks(f)
        lam_a = f["lam_a"]
        Vb = sigma2 * lam_a @ Va @ lam_a.T
        diag = np.diagonal(Vb, axis1=1, axis2=2)
        for k, lo, hi in zip(self.a_blocks, self.a_offsets[:-1], self.a_offsets[1:]):
            out[k] = diag[:, lo:hi].copy()
        for (k, off, Jk, tk), blk in zip(self.r_layout, Sinv_blocks if self.qr else []):
            lam = f["lams"][k]
            out[k] = np.diagonal(sigma2 * lam @ blk @ lam.T, axis1=1, axis2=2).copy()

    def _s_inverse_blocks(self, f):
        """Diagonal t × t blocks of S⁻¹ (the other factors' part of P⁻¹), per block of the other factors."""
        out = []
        for k, off, J, t in self.r_layout:
            blocks = np.empty((J, t, t))
            chunk = max(1, int(CHUNK // max(self.qr, 1)) // t)
            for lo in range(0, J, chunk):
                hi = min(J, lo + chunk)
                E = np.zeros((self.qr, (hi - lo) * t))
                cols = off + np.arange(lo * t, hi * t)
                E[cols, np.arange(len(cols))] = 1.0
                X = self._solve_s(f, E)[cols]           # ((hi-lo)·t, (hi-lo)·t)
                for i in range(hi - lo):
                    blocks[lo + i] = X[i * t:(i + 1) * t, i * t:(i + 1) * t]
            out.append(blocks)
        return out


class _Scaled:
    """diag(left) · M · diag(right) for a fixed sparse M, applied without forming it."""

    def __init__(self, M, MT, left, right):
        self.M, self.MT, self.left, self.right = M, MT, left, right

    @property
    def T(self):
        return _Scaled(self.MT, self.M, self.right, self.left)

    def __matmul__(self, x):
        x = np.asarray(x)
        if x.ndim == 1:
            return self.left * (self.M @ (self.right * x))
        return self.left[:, None] * (self.M @ (self.right[:, None] * x))

    def rows(self, lo, hi):
        return self.left[lo:hi, None] * self.M[lo:hi].toarray() * self.right[None, :]


# --------------------------------------------------------------------------- optimisation

def fit(design, *, reml: bool = True, start=None, condvar: bool = True, tol: float = 1e-6) -> PLSFit:
    """Fit a model design by lme4's profiled penalised least squares.

    The deviance is minimised over θ by L-BFGS-B (finite-difference gradients) from lme4's start, without bounds:
    the deviance depends on each Λ_k only through Λ_kΛ_kᵀ, so a column whose diagonal element ends negative is
    negated (lme4's bound θ_ii ≥ 0 is a choice of sign, not a constraint).
    Its optimum must pass a convergence test, as lme4's ``checkConv``: from a finite-difference gradient g and
    Hessian H (one-sided next to a bound), the decrease of the deviance a Newton step over the free elements
    predicts, ½ gᵀH⁻¹g, is at most ``tol``, H is positive definite there, and no element held at its bound 0
    could lower the deviance by moving off it. An optimum that fails the test or lies on the boundary (a
    singular fit, where L-BFGS-B can stop in a corner its first long step reached) gets a second opinion: COBYQA
    (a derivative-free trust-region method, the successor of lme4's BOBYQA) from the same start, polished by
    L-BFGS-B; if the best still fails, bounded Nelder–Mead and L-BFGS-B again. The best run is kept and
    ``converged`` says whether it passed the test.

    Parameters
    ----------
    design : mlmlab.design.ModelDesign
        The model (see :func:`mlmlab.design.build_design`).
    reml : bool, default=True
        REML (lme4's default) or maximum likelihood.
    start : array-like, optional
        Start θ (default lme4's: 1 on diagonals, 0 elsewhere).
    condvar : bool, default=True
        Also compute the conditional variances of the random effects.
    tol : float, default=1e-6
        Largest deviance decrease a Newton step may predict at a converged optimum.

    Returns
    -------
    PLSFit

    Raises
    ------
    TypeError
        ``reml`` is not True or False.
    ValueError
        ``start`` is not a finite vector of θ's length.

    Examples
    --------
    >>> from mlmlab import datasets
    >>> from mlmlab.design import build_design
    >>> d = build_design("strength ~ 1 + (1 | batch/cask)", datasets.load("pastes"))
    >>> r = fit(d, reml=True)
    >>> round(r.llf, 4), r.theta.round(3).tolist()    # lme4: -123.4954, theta 3.527, 1.563
    (-123.4954, [3.527, 1.563])
    """
    if not isinstance(reml, (bool, np.bool_)):
        raise argument_error("pls.fit", "reml", "True or False", reml, kind=TypeError)
    pls = PLS(design, reml=bool(reml))
    with _one_blas_thread():
        return _fit(pls, start=start, condvar=condvar, tol=tol)


_CONTROLLER = []


def _one_blas_thread():
    """One BLAS thread during a fit: its matrices are small or sparse, and OpenBLAS's threads, on a busy machine,
    make a 200 × 200 Cholesky a hundred times slower and even L-BFGS-B's own small vector operations slow (a
    no-op without threadpoolctl). The libraries are looked up once per session."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with the course's environment
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    if _CONTROLLER[0] is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def _fit(pls, *, start, condvar, tol):
    x0 = pls.theta0 if start is None else np.asarray(start, dtype=float)
    if x0.shape != (pls.n_theta,) or not np.all(np.isfinite(x0)):
        raise argument_error("pls.fit", "start", f"a finite vector of length {pls.n_theta} (lme4's theta)", start)
    bounded = np.isfinite(pls.lower)
    x0 = np.where(bounded, np.maximum(x0, 0.0), x0)
    bounds = [(0.0, None) if b else (None, None) for b in bounded]
    runs = []

    def run(name, method, x):
        if method == "L-BFGS-B":
            # unconstrained on θ / STEP_SCALE: the deviance depends on Λ only through ΛΛᵀ, so a column of Λ may change
            # sign on the way (the result is put back on lme4's side of the bound); the scale keeps L-BFGS-B's first
            # step, of unit length, from jumping onto θ = 0, where the slope of an even function vanishes
            res = optimize.minimize(lambda z: pls.deviance(z * STEP_SCALE), x / STEP_SCALE, method="L-BFGS-B",
                                    options=LBFGS_OPTIONS)
            res.x = res.x * STEP_SCALE
        elif method == "COBYQA":
            res = optimize.minimize(pls.deviance, x, method="COBYQA",
                                    bounds=optimize.Bounds(np.where(bounded, 0.0, -np.inf), np.inf),
                                    options={"initial_tr_radius": 0.5, "final_tr_radius": 1e-7, "maxfev": 2000})
        else:
            res = _nelder_mead(pls, x, bounds)
        x = pls.canonical(res.x)
        fun = pls.deviance(x)
        runs.append((name, fun, bool(res.success), int(res.nfev)))
        return name, x, fun

    def at_bound(x):
        return bool(np.any(bounded & (x < SINGULAR_TOL)))

    best = run("L-BFGS-B", "L-BFGS-B", x0)
    ok, step = _certify(pls, best[1], best[2], tol)
    for _ in range(NEWTON_STEPS):  # an optimum L-BFGS-B left a little short: Newton steps from the test's H and g
        if ok or step is None:
            break
        value = pls.deviance(step)
        if not value < best[2]:
            break
        best = (best[0] + " + Newton", step, value)
        ok, step = _certify(pls, best[1], best[2], tol)
    if ok:
        best, step = _polish(pls, best, step)
    if not ok or at_bound(best[1]):
        # hard: a boundary (singular) optimum may be a corner L-BFGS-B ran into after a long first step, or a
        # saddle; a trust-region method from the same start (lme4's BOBYQA's successor), then L-BFGS-B from
        # the better optimum, gives a second opinion
        second = run("COBYQA", "COBYQA", x0)
        polished = run("COBYQA → L-BFGS-B", "L-BFGS-B", second[1])
        best = min((best, second, polished), key=lambda r: r[2])
        ok, _ = _certify(pls, best[1], best[2], tol)
    if not ok:
        nm = run("Nelder-Mead", "Nelder-Mead", best[1])
        again = run("Nelder-Mead → L-BFGS-B", "L-BFGS-B", nm[1] if nm[2] <= best[2] else best[1])
        best = min((best, nm, again), key=lambda r: r[2])
        ok, _ = _certify(pls, best[1], best[2], tol)
    name, theta, dev = best
    if not np.isfinite(dev):
        raise FitError("the penalised least-squares deviance is not finite anywhere the optimizers went "
                       f"(runs: {', '.join(r[0] for r in runs)})")
    est = pls.estimates(theta, condvar=condvar)
    singular = any(np.any(np.diag(lam) < SINGULAR_TOL) for lam in pls.lambdas(theta))
    return PLSFit(theta=theta, beta=est["beta"], cov_beta=est["cov_beta"], sigma2=est["sigma2"],
                  llf=-0.5 * est["deviance"], reml=pls.reml, covariances=est["covariances"], ranef=est["ranef"],
                  ranef_var=est["ranef_var"], converged=bool(ok), singular=singular, optimizer=name, runs=runs)


def _polish(pls: PLS, best, step):
    """Newton steps from a converged optimum, to put θ where the deviance's gradient is zero to the accuracy of its
    finite differences (about 1e-9 relative), not just where L-BFGS-B's stopping rule left it (about 1e-6): so the
    estimates printed to a few decimals are the same on every CPU, whose rounding sends L-BFGS-B down slightly
    different paths. A step is kept if it does not raise the deviance beyond rounding; the name of the run stays."""
    name, x, f = best
    for _ in range(POLISH_STEPS):
        if step is None or not np.all(np.isfinite(step)) or np.max(np.abs(step - x) / np.maximum(1.0, np.abs(x))) < 1e-12:
            break
        value = pls.deviance(step)
        if not value <= f + 1e-10 * max(1.0, abs(f)):
            break
        x, f = step, value
        _, step = _certify(pls, x, f, np.inf)
    return (name, x, f), step


def _certify(pls: PLS, x, f0, tol):
    """Convergence test at ``x`` (see :func:`fit`); returns (passed, a projected Newton step's point or None)."""
    k = len(x)
    if not np.isfinite(f0):
        return False, None
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    one_sided = np.isfinite(pls.lower) & (x - h < 0)
    g, H = np.zeros(k), np.zeros((k, k))
    fp = np.zeros(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        f1, f2 = pls.deviance(x + e), (pls.deviance(x + 2 * e) if one_sided[i] else pls.deviance(x - e))
        fp[i] = f1
        if one_sided[i]:
            g[i] = (-3 * f0 + 4 * f1 - f2) / (2 * h[i])
            H[i, i] = (f0 - 2 * f1 + f2) / h[i] ** 2
        else:
            g[i] = (f1 - f2) / (2 * h[i])
            H[i, i] = (f1 - 2 * f0 + f2) / h[i] ** 2
    for i in range(k):
        for j in range(i + 1, k):
            e = np.zeros(k)
            e[i], e[j] = h[i], h[j]
            H[i, j] = H[j, i] = (pls.deviance(x + e) - fp[i] - fp[j] + f0) / (h[i] * h[j])
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        return False, None
    at_bound = np.isfinite(pls.lower) & (x <= 0.0)
    # an element at its bound 0 where the deviance is flat (it depends on θ², so its slope there is 0) but curves
    # downwards is a saddle, not an optimum: L-BFGS-B can stop there after a long first step
    noise = 1e-6 * max(1.0, abs(f0))
    if np.any(at_bound & (g < noise) & (np.diag(H) < -noise)):
        return False, None
    free = ~at_bound | (g < 0)
    if not free.any():
        return True, None
    Hf, gf = H[np.ix_(free, free)], g[free]
    try:
        L = np.linalg.cholesky(Hf)
    except np.linalg.LinAlgError:
        # no positive curvature: flat along a direction (a variance at 0 whose deviance barely moves) passes only
        # when the gradient is negligible there too
        return bool(np.max(np.abs(gf * h[free])) <= tol), None
    d = dense_linalg.cho_solve((L, True), gf)
    decrement = 0.5 * float(gf @ d)
    step = x.copy()
    step[free] -= d
    step = np.where(np.isfinite(pls.lower), np.maximum(step, 0.0), step)
    return decrement <= tol, step


def _nelder_mead(pls: PLS, x0, bounds):
    """Bounded Nelder–Mead from ``x0`` with an initial simplex of steps 0.1 (at least 10 % of each element)."""
    x0 = np.asarray(x0, dtype=float)
    k = len(x0)
    simplex = [x0]
    for i in range(k):
        step = np.zeros(k)
        step[i] = max(0.1, 0.1 * abs(x0[i]))
        simplex.append(x0 + step)
    return optimize.minimize(pls.deviance, x0, method="Nelder-Mead", bounds=bounds,
                             options={"initial_simplex": np.array(simplex), "xatol": 1e-7, "fatol": 1e-10,
                                      "maxfev": 400 * (k + 1)})
