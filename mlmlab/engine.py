"""A fast profiled-likelihood fit of linear mixed models with one grouping factor.

The model for group j (j = 1, ..., J) with n_j rows is

    y_j = X_j β + Z_j u_j + e_j,   u_j ~ N(0, G),   e_j ~ N(0, σ² I),

with q random effects per group (q = 1: random intercepts; q = 2: intercept and slope; ...).
Following Bates, Mächler, Bolker and Walker (2015, "Fitting linear mixed-effects models using
lme4", J. Stat. Softw. 67(1), section 3), G is written as σ² Λ Λᵀ with Λ lower triangular
(the *relative Cholesky factor*, parameters θ = its lower triangle column by column, diagonal
≥ 0). For fixed θ, β and σ² have closed forms, so the log-likelihood is a function of θ alone
(the *profiled deviance*), and it is minimised over θ only.

With one grouping factor every piece of the profiled deviance comes from per-group sums
(Z_jᵀZ_j, Z_jᵀX_j, Z_jᵀy_j and the totals XᵀX, Xᵀy, yᵀy), so one evaluation costs
O(J q³ + p³) whatever the number of rows. Per group, with M_j = ΛᵀZ_jᵀZ_jΛ + I:

* log|V/σ²| = Σ_j log|M_j|  (V = Var(y));
* XᵀWX = XᵀX − Σ_j X_jᵀZ_jΛ M_j⁻¹ ΛᵀZ_jᵀX_j, and likewise XᵀWy and yᵀWy (Woodbury),
  where W = σ² V⁻¹;
* β̂ = (XᵀWX)⁻¹ XᵀWy and r² = yᵀWy − β̂ᵀXᵀWy (the penalised residual sum of squares);
* ML: σ̂² = r²/n, −2 log L = log|V/σ²| + n (1 + log(2π r²/n));
* REML: σ̂² = r²/(n − p), −2 log L_R = log|V/σ²| + log|XᵀWX| + (n − p)(1 + log(2π r²/(n − p))).

These are exactly lme4's ``logLik`` values (its REML criterion includes the same constants).

``fit_many`` fits R response vectors that share X, Z and the groups *at once*: every step of the
optimiser is one batched numpy evaluation for all replicates still running. For q = 1 the
optimiser is a grid on the intraclass scale followed by Brent's bounded method run in lockstep;
for q ≥ 2 it is a Nelder–Mead simplex run in lockstep (lme4's own classic optimiser), on θ
scaled by the spread of each column of Z, with the bound θ_kk ≥ 0, followed by Newton steps. Every q ≥ 2
fit then has to pass a convergence test: the Newton decrement ½ gᵀH⁻¹g (finite-difference gradient g and
Hessian H; the decrease of −2 log L that a Newton step predicts) is at most 1e-9 and H has no negative
curvature. A fit that fails it is finished by damped Newton steps over all of θ's space (−2 log L depends on
Λ only through ΛΛᵀ, so changing the sign of a whole column of Λ changes nothing: a variance on its boundary
0 is an optimum only where the deviance is stationary, and the steps may cross it). ``converged`` is the
outcome of that test. For q ≥ 2 the sums are taken of the residuals of a first least-squares fit
(y − X b₀; then β̂ = b₀ + β̂(y − X b₀)), so that yᵀWy does not lose digits to cancellation when y is far
from 0: the fit then does not depend, beyond rounding, on the order of the groups or of the rows.

Simulation studies whose predictors are drawn afresh for every replicate use the private
:func:`_fit_many_designs` (X of shape (R, n, p), one design per replicate; Z and the groups shared),
which runs the same optimisers on the same per-group sums, kept per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from mlmlab._checks import argument_error

__all__ = ["EngineFit", "EngineFitMany", "fit", "fit_many", "start_values_for", "log_variance_se"]

SINGULAR_TOL = 1e-4  # lme4's isSingular(tol = 1e-4) on the theta scale
XATOL, FATOL = 3e-2, 1e-3  # coarse Nelder–Mead tolerances before the Newton polish (q ≥ 2)
CERT_TOL = 1e-9  # largest Newton decrement (predicted decrease of −2 log L) of a converged fit (q ≥ 2)
FD_STEP = 1e-3  # finite-difference step (relative, on the scaled θ) of the convergence check
NEG_CURV = 1e-6  # eigenvalue of the Hessian, relative to the largest, that counts as negative curvature

_GOLDEN = 0.5 * (3.0 - np.sqrt(5.0))
_SQRT_EPS = np.sqrt(np.finfo(float).eps)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class EngineFit:
    """One fitted model from :func:`fit`.

    Attributes
    ----------
    beta : ndarray of shape (p,)
        Fixed effects β̂ (GLS estimates at the optimum).
    cov_beta : ndarray of shape (p, p)
        Their covariance σ̂² (XᵀWX)⁻¹ (what lme4's ``vcov`` reports).
    G : ndarray of shape (q, q)
        Covariance matrix of the random effects.
    sigma2 : float
        Residual (level-1) variance σ².
    theta : ndarray of shape (q (q + 1) / 2,)
        Relative Cholesky factor, lme4's order (lower triangle, column by column).
    llf : float
        Log-likelihood (REML criterion when ``reml``), equal to lme4's ``logLik``.
    singular : bool
        True when a diagonal element of θ is below 1e-4 (lme4's ``isSingular``).
    converged : bool
        True when the optimiser met its tolerance; for q ≥ 2, when the fit passed the final convergence
        test (Newton decrement at most 1e-9 on the −2 log L scale, no negative curvature; see the module
        docstring).
    reml : bool
        Whether the fit is REML.
    nobs, ngroups : int
        Number of rows and of groups.

    Taught in lesson 05.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    G: np.ndarray
    sigma2: float
    theta: np.ndarray
    llf: float
    singular: bool
    converged: bool
    reml: bool
    nobs: int
    ngroups: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the fixed effects, √diag(cov_beta)."""
        return np.sqrt(np.diagonal(self.cov_beta))

    @property
    def deviance(self) -> float:
        """−2 × llf (lme4's ``deviance`` for ML fits, ``REMLcrit`` for REML fits)."""
        return -2.0 * self.llf


@dataclass(frozen=True)
class EngineFitMany:
    """R fitted models from :func:`fit_many`; every attribute has a leading axis of length R.

    Attributes
    ----------
    beta : ndarray (R, p)
    cov_beta : ndarray (R, p, p)
    G : ndarray (R, q, q)
    sigma2 : ndarray (R,)
    theta : ndarray (R, q (q + 1) / 2)
    llf : ndarray (R,)
    singular : ndarray of bool (R,)
    converged : ndarray of bool (R,)
    reml : bool
    nobs, ngroups : int

    ``result[r]`` is replicate r as an :class:`EngineFit`.

    Taught in lesson 05.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    G: np.ndarray
    sigma2: np.ndarray
    theta: np.ndarray
    llf: np.ndarray
    singular: np.ndarray
    converged: np.ndarray
    reml: bool
    nobs: int
    ngroups: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the fixed effects, shape (R, p)."""
        return np.sqrt(np.diagonal(self.cov_beta, axis1=1, axis2=2))

    def __len__(self) -> int:
        return self.llf.shape[0]

    def __getitem__(self, r: int) -> EngineFit:
        return EngineFit(
            beta=self.beta[r], cov_beta=self.cov_beta[r], G=self.G[r], sigma2=float(self.sigma2[r]),
            theta=self.theta[r], llf=float(self.llf[r]), singular=bool(self.singular[r]),
            converged=bool(self.converged[r]), reml=self.reml, nobs=self.nobs, ngroups=self.ngroups,
        )


# ----------------------------------------------------------------------------- public API
def fit(y, X, Z, groups, *, reml=True) -> EngineFit:
    """Fit a linear mixed model with one grouping factor by profiled (RE)ML.

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcome.
    X : array-like of shape (n, p) or (n,)
        Fixed-effects design (include a column of ones for the intercept).
    Z : array-like of shape (n, q) or (n,)
        Random-effects design (a column of ones for random intercepts).
    groups : array-like of shape (n,)
        Group label of each row (any hashable labels; at least two groups).
    reml : bool, default=True
        REML (True) or maximum likelihood (False).

    Returns
    -------
    EngineFit
        With ``beta``, ``cov_beta``, ``se``, ``G``, ``sigma2``, ``theta``, ``llf``,
        ``singular``, ``converged``.

    Raises
    ------
    ValueError
        On mismatched shapes, missing or infinite values, a single group, or collinear X.

    Notes
    -----
    The profiled deviance (Bates et al. 2015, section 3) is minimised over θ only; see the
    module docstring for the formulas. ``fit(y, ...)`` is ``fit_many(y[None, :], ...)[0]``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlmlab import engine
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(30), 20)
    >>> y = 2 + rng.normal(0, 1, 30)[g] + rng.normal(0, 2, 600)
    >>> ones = np.ones(600)
    >>> res = engine.fit(y, ones, ones, g)
    >>> res.beta.round(2), res.G.round(2), round(res.sigma2, 2)  # truth: 2, 1, 4
    (array([1.88]), array([[0.6]]), 3.76)
    >>> res.singular, res.converged
    (False, True)

    Taught in lesson 05.
    """
    Y = _as_outcome(y, "engine.fit", "y", many=False)
    return _fit(Y, X, Z, groups, reml=reml, func="engine.fit")[0]


def fit_many(Y, X, Z, groups, *, reml=True) -> EngineFitMany:
    """Fit the same mixed model to R outcome vectors at once (vectorised across replicates).

    Parameters
    ----------
    Y : array-like of shape (R, n)
        One outcome vector per row (a 1-D array counts as R = 1).
    X : array-like of shape (n, p) or (n,)
        Fixed-effects design shared by all replicates.
    Z : array-like of shape (n, q) or (n,)
        Random-effects design shared by all replicates.
    groups : array-like of shape (n,)
        Group labels shared by all replicates.
    reml : bool, default=True
        REML (True) or maximum likelihood (False).

    Returns
    -------
    EngineFitMany
        Arrays ``beta`` (R, p), ``cov_beta`` (R, p, p), ``se`` (R, p), ``G`` (R, q, q),
        ``sigma2`` (R,), ``theta``, ``llf`` (R,), ``singular`` (R,), ``converged`` (R,).

    Raises
    ------
    ValueError
        On mismatched shapes, missing or infinite values, a single group, or collinear X.

    Notes
    -----
    Each replicate gets its own optimisation, but every optimiser step evaluates the profiled
    deviance of all replicates still running in one batched numpy computation, so 1,000
    replicates cost little more than a few single fits. Row r equals ``fit(Y[r], ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlmlab import engine
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(30), 20)
    >>> Y = rng.normal(0, 1, (500, 30))[:, g] + rng.normal(0, 2, (500, 600))
    >>> res = engine.fit_many(Y, np.ones(600), np.ones(600), g)
    >>> res.G.shape, round(float(res.G[:, 0, 0].mean()), 1)
    ((500, 1, 1), 1.0)

    Taught in lesson 05.
    """
    Yarr = _as_outcome(Y, "engine.fit_many", "Y", many=True)
    return _fit(Yarr, X, Z, groups, reml=reml, func="engine.fit_many")


def start_values_for(y, X, Z, groups, *, reml=True) -> dict:
    """Start values (or a cross-check) for a general mixed-model fitter.

    Runs :func:`fit` and returns its estimates in a plain dict, the hook ``mlmlab.fit`` uses for
    models with one grouping factor.

    Parameters
    ----------
    y, X, Z, groups, reml
        As in :func:`fit`.

    Returns
    -------
    dict
        Keys ``beta`` (p,), ``G`` (q, q), ``sigma2``, ``theta``, ``llf``, ``singular``,
        ``converged``; also ``cov_re`` = G / σ², the *relative* covariance statsmodels'
        ``MixedLM.fit(start_params=...)`` expects (``MixedLMParams.from_components(fe_params=beta,
        cov_re=cov_re)``).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(10), 5)
    >>> y = np.random.default_rng(0).normal(size=50) + np.repeat(np.arange(10.0), 5)
    >>> sv = start_values_for(y, np.ones(50), np.ones(50), g)
    >>> sorted(sv)
    ['G', 'beta', 'converged', 'cov_re', 'llf', 'sigma2', 'singular', 'theta']

    Taught in lesson 05.
    """
    res = fit(y, X, Z, groups, reml=reml)
    return {
        "beta": res.beta, "G": res.G, "sigma2": res.sigma2, "theta": res.theta, "llf": res.llf,
        "singular": res.singular, "converged": res.converged, "cov_re": res.G / res.sigma2,
    }


def log_variance_se(Y, X, Z, groups, result, *, step=1e-3) -> np.ndarray:
    """Standard errors of log τ00 and log σ² for random-intercept fits (Wald on the log scale).

    Parameters
    ----------
    Y, X, Z, groups
        The data of the fits, as passed to :func:`fit_many` (Z must have one column).
    result : EngineFitMany or EngineFit
        Fits of exactly these data (REML or ML; the same criterion is used).
    step : float, default=1e-3
        Finite-difference step on the log scale.

    Returns
    -------
    ndarray of shape (R, 2)
        SE of log τ̂00 and of log σ̂² for each replicate; NaN for singular fits (τ̂00 = 0 or
        θ < 1e-4, as lme4's ``isSingular``): they have no log-scale Wald interval.

    Notes
    -----
    The (RE)ML criterion with σ² not profiled is, with θ² = τ00/σ²,
    −2ℓ(τ00, σ²) = log|V/σ²| [+ log|XᵀWX| for REML] + k log(2πσ²) + r²(θ)/σ², k = n − p (REML) or n
    (ML, β profiled out). Its Hessian in (log τ00, log σ²), by central differences, is twice the
    observed information; the SEs are the square roots of the diagonal of its inverse. A 95 %
    interval for τ00 is then exp(log τ̂00 ± 1.96 SE): never negative, and asymmetric as it should be.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(40), 10)
    >>> y = np.random.default_rng(0).normal(0, 1, 40)[g] + np.random.default_rng(1).normal(0, 1, 400)
    >>> res = fit(y, np.ones(400), np.ones(400), g)
    >>> log_variance_se(y, np.ones(400), np.ones(400), g, res).round(3)
    array([[0.259, 0.075]])

    Taught in lesson 08.
    """
    func = "engine.log_variance_se"
    Yarr = _as_outcome(Y, func, "Y", many=True)
    n = Yarr.shape[1]
    X = _as_design(X, n, func, "X")
    Z = _as_design(Z, n, func, "Z")
    if Z.shape[1] != 1:
        raise argument_error(func, "Z", "one column (random intercepts or one random effect)", Z,
                             fix="Log-scale Wald intervals are implemented for one random effect per group.")
    codes, J = _as_groups(groups, n, func)
    if not isinstance(result, (EngineFit, EngineFitMany)):
        raise argument_error(func, "result", "the output of engine.fit or engine.fit_many", result, kind=TypeError)
    tau2 = np.atleast_1d(np.asarray(result.G, dtype=float).reshape(-1))
    s2 = np.atleast_1d(np.asarray(result.sigma2, dtype=float))
    if tau2.shape[0] != Yarr.shape[0]:
        raise argument_error(func, "result", f"fits of the {Yarr.shape[0]} replicates in Y", result,
                             detail=f"it holds {tau2.shape[0]}")
    des = _Design(X, Z, codes, J, func)
    return _log_variance_se(des, des.response(Yarr), tau2, s2, result, step)


def _log_variance_se(des, resp, tau2, s2, result, step):
    """The body of :func:`log_variance_se` once the inputs are checked and summarised."""
    n = des.n
    ok = np.flatnonzero((tau2 > 0) & ~np.atleast_1d(result.singular))
    out = np.full((tau2.shape[0], 2), np.nan)
    if ok.size == 0:
        return out
    h = float(step)
    grid = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float) * h  # 9 points
    a = (np.log(tau2[ok])[:, None] + grid[:, 0]).ravel()
    b = (np.log(s2[ok])[:, None] + grid[:, 1]).ravel()
    idx = np.repeat(ok, grid.shape[0])
    theta = np.exp(0.5 * (a - b))
    logdet, XtWX, XtWy, ytWy = _pieces_q1(des, resp, theta, idx)
    beta = np.linalg.solve(XtWX, XtWy[..., None])[..., 0]
    r2 = ytWy - np.einsum("kp,kp->k", beta, XtWy)
    k = n - des.p if result.reml else n
    D = logdet + k * b + r2 * np.exp(-b)
    if result.reml:
        D = D + np.linalg.slogdet(XtWX)[1]
    D = D.reshape(ok.size, 3, 3)  # [a index, b index]
    H = np.empty((ok.size, 2, 2))
    H[:, 0, 0] = (D[:, 2, 1] - 2 * D[:, 1, 1] + D[:, 0, 1]) / h ** 2
    H[:, 1, 1] = (D[:, 1, 2] - 2 * D[:, 1, 1] + D[:, 1, 0]) / h ** 2
    H[:, 0, 1] = H[:, 1, 0] = (D[:, 2, 2] - D[:, 2, 0] - D[:, 0, 2] + D[:, 0, 0]) / (4 * h ** 2)
    info = 0.5 * H
    det = info[:, 0, 0] * info[:, 1, 1] - info[:, 0, 1] ** 2
    good = np.isfinite(det) & (det > 0) & (info[:, 0, 0] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.stack([info[:, 1, 1], info[:, 0, 0]], axis=1) / det[:, None])
    out[ok] = np.where(good[:, None], se, np.nan)
    return out


# ----------------------------------------------------------------------------- one design per replicate
def _fit_many_designs(Y, X, Z, groups, *, reml=True) -> EngineFitMany:
    """:func:`fit_many` when every replicate has its own fixed-effects design (private).

    For simulation studies that draw the predictors afresh for each data set: ``X`` has shape
    (R, n, p), row r of the result is ``fit(Y[r], X[r], Z, groups)``; Z and the groups are shared.
    The optimisers and their tolerances are those of :func:`fit_many`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> g = np.repeat(np.arange(8), 5)
    >>> X = np.stack([np.column_stack([np.ones(40), rng.normal(size=8)[g]]) for _ in range(3)])
    >>> Y = X @ np.array([1.0, 0.5]) + rng.normal(size=(3, 8))[:, g] + rng.normal(size=(3, 40))
    >>> many = _fit_many_designs(Y, X, np.ones(40), g)
    >>> bool(np.allclose(many.beta[2], fit(Y[2], X[2], np.ones(40), g).beta))
    True
    """
    Yarr = _as_outcome(Y, "engine._fit_many_designs", "Y", many=True)
    return _fit(Yarr, X, Z, groups, reml=reml, func="engine._fit_many_designs", per_replicate=True)


def _log_variance_se_designs(Y, X, Z, groups, result, *, step=1e-3) -> np.ndarray:
    """:func:`log_variance_se` for fits from :func:`_fit_many_designs` (X of shape (R, n, p); private)."""
    func = "engine._log_variance_se_designs"
    Yarr = _as_outcome(Y, func, "Y", many=True)
    R, n = Yarr.shape
    X = _as_designs(X, R, n, func)
    Z = _as_design(Z, n, func, "Z")
    if Z.shape[1] != 1:
        raise argument_error(func, "Z", "one column (random intercepts or one random effect)", Z)
    if not isinstance(result, EngineFitMany) or len(result) != R:
        raise argument_error(func, "result", f"the fits of the {R} replicates in Y", result, kind=TypeError)
    codes, J = _as_groups(groups, n, func)
    des = _Design(X, Z, codes, J, func)
    tau2 = np.asarray(result.G, dtype=float).reshape(-1)
    return _log_variance_se(des, des.response(Yarr), tau2, np.asarray(result.sigma2, float), result, step)


# ----------------------------------------------------------------------------- input checks
def _as_designs(X, R, n, func):
    """X with one (n, p) design per replicate: shape (R, n, p), finite."""
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise argument_error(func, "X", "a numeric array", X, kind=TypeError) from None
    if arr.ndim != 3 or arr.shape[:2] != (R, n) or arr.shape[2] == 0:
        raise argument_error(func, "X", "an array of shape (R, n, p): one design per replicate", arr,
                             detail=f"Y has R = {R} replicates of n = {n} values")
    if not np.all(np.isfinite(arr)):
        raise argument_error(func, "X", "free of missing (NaN) and infinite values", arr)
    return arr


def _as_outcome(y, func, arg, *, many):
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise argument_error(func, arg, "numeric", y, fix="Convert the outcome to numbers first.",
                             kind=TypeError) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    elif not many or arr.ndim != 2:
        shape = "a 1-D array (one value per row of X)" if not many else \
            "a 2-D array with one replicate per row (R × n)"
        raise argument_error(func, arg, shape, arr)
    if not np.all(np.isfinite(arr)):
        raise argument_error(func, arg, "free of missing (NaN) and infinite values", arr,
                             detail=f"{int(np.sum(~np.isfinite(arr)))} such values",
                             fix="Drop the incomplete rows first (data.dropna()).")
    return arr


def _as_design(A, n, func, arg):
    try:
        arr = np.asarray(A, dtype=float)
    except (TypeError, ValueError):
        raise argument_error(func, arg, "a numeric array", A, kind=TypeError) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
        raise argument_error(func, arg, "an array with one row per observation (n × columns)", arr,
                             detail=f"the outcome has n = {n} values")
    if not np.all(np.isfinite(arr)):
        raise argument_error(func, arg, "free of missing (NaN) and infinite values", arr,
                             fix="Drop the incomplete rows first (data.dropna()).")
    return arr


def _as_groups(groups, n, func):
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise argument_error(func, "groups", "a 1-D array with one label per observation", g,
                             detail=f"the outcome has n = {n} values")
    codes, uniques = pd.factorize(g, sort=True)
    if np.any(codes < 0):
        raise argument_error(func, "groups", "free of missing labels", g,
                             fix="Drop the rows whose group is missing.")
    if len(uniques) < 2:
        raise argument_error(func, "groups", "labels of at least two groups", g,
                             detail="all rows are in one group",
                             fix="A variance between groups needs several groups; fit an ordinary regression instead.")
    return codes, len(uniques)


def _least_squares(X, Y):
    """OLS coefficients (R, p) of every row of Y on X (shared (n, p) or one (R, n, p) design per replicate)."""
    if X.ndim == 3:
        XtX = np.swapaxes(X, 1, 2) @ X
        return np.linalg.solve(XtX, np.einsum("rnp,rn->rp", X, Y)[..., None])[..., 0]
    return np.linalg.lstsq(X, Y.T, rcond=None)[0].T


# ----------------------------------------------------------------------------- sufficient statistics
class _Design:
    """Per-group sums that do not depend on the outcome.

    X is (n, p), shared by all replicates, or (R, n, p), one design per replicate (``batched``);
    then XtX, B, BB (and BB_u) carry a leading replicate axis and the pieces index them by ``idx``.
    """

    def __init__(self, X, Z, codes, J, func):
        self.batched = X.ndim == 3
        n, p = X.shape[-2:]
        q = Z.shape[1]
        self.n, self.p, self.q, self.J = n, p, q, J
        self.X = X
        self.XtX = np.swapaxes(X, -1, -2) @ X if self.batched else X.T @ X
        rank = np.linalg.matrix_rank(X)
        if np.any(rank < p):
            bad = f"replicate {int(np.argmax(rank < p))} has collinear columns" if self.batched else ""
            raise argument_error(func, "X", "an array whose columns are not collinear", X, detail=bad,
                                 fix="Remove a redundant column (for example a second intercept or a "
                                     "predictor that is a sum of others).")
        if n <= p:
            raise argument_error(func, "X", "an array with more rows than columns", X)
        if n <= J * q:
            raise argument_error(func, "groups", f"fewer than n / q = {n}/{q} groups", f"{J} groups",
                                 detail=f"{n} rows cannot separate {J * q} random effects from the residual "
                                        "variance (lme4 refuses such a model too)",
                                 fix="Use fewer random effects per group or groups with more rows.")
        rows = np.arange(n)
        # S_k[j, i] = Z[i, k] if row i is in group j: sums over groups of Z_k * anything
        self.S = [sparse.csr_matrix((Z[:, k], (codes, rows)), shape=(J, n)) for k in range(q)]
        self.A = np.stack([np.stack([self.S[k] @ Z[:, l] for l in range(q)], -1) for k in range(q)], 1)
        if self.batched:
            self.B = np.stack([_group_sums(self.S[k], X) for k in range(q)], 2)  # (R, J, q, p)
            self.BB = np.einsum("rjap,rjbs->rjabps", self.B, self.B).reshape(X.shape[0], J * q * q, p * p)
        else:
            self.B = np.stack([self.S[k] @ X for k in range(q)], 1)  # (J, q, p)
            # BB[j, a, b] = B_j[a]ᵀ B_j[b], flattened for one matrix product per evaluation
            self.BB = np.einsum("jap,jbr->jabpr", self.B, self.B).reshape(J * q * q, p * p)
        zz = self.A[:, np.arange(q), np.arange(q)]  # (J, q)
        if np.any(zz.sum(0) == 0):
            raise argument_error(func, "Z", "an array without all-zero columns", Z)
        # scale of each column of Z per group: θ_kl is rescaled by it (optimiser works on ~unit scale)
        self.zscale = np.sqrt(zz.sum(0) / np.maximum((zz > 0).sum(0), 1))
        # lme4 orders θ column by column: swap to column-major lower triangle
        cols, rws = np.triu_indices(q)
        self.theta_rows, self.theta_cols = rws, cols
        self.is_diag = rws == cols

        if q == 1:
            # groups with the same z_jᵀz_j (for random intercepts: the same size) share their shrinkage
            # weight, so their sums can be pooled: one evaluation then costs O(U p²), U distinct sizes
            a = self.A[:, 0, 0]
            self.a_u, inv, self.count_u = np.unique(a, return_inverse=True, return_counts=True)
            self.pool = sparse.csr_matrix((np.ones(J), (np.arange(J), inv)), shape=(J, self.a_u.size))
            if self.batched:
                self.BB_u = _group_sums(self.pool.T, self.BB)  # (R, U, p²)
            else:
                self.BB_u = (self.pool.T @ self.BB).reshape(-1, p * p)

    def response(self, Y):
        if self.batched and Y.shape[0] != self.X.shape[0]:  # pragma: no cover - callers pair them
            raise ValueError("one design per replicate: Y and X need the same number of replicates")
        Xty = np.einsum("rn,rnp->rp", Y, self.X) if self.batched else Y @ self.X  # (R, p)
        yty = np.einsum("rn,rn->r", Y, Y)
        c = np.stack([(self.S[k] @ Y.T).T for k in range(self.q)], -1)  # (R, J, q)
        if self.q > 1:
            return Xty, yty, c
        c0 = c[:, :, 0]
        U = self.a_u.size
        if self.batched:
            cb = _group_sums(self.pool.T, c0[:, :, None] * self.B[:, :, 0, :])  # (R, U, p)
        else:
            b = self.B[:, 0, :]
            cb = np.stack([(self.pool.T @ (c0 * b[:, k]).T).T for k in range(self.p)], -1)  # (R, U, p)
        ccc = (self.pool.T @ (c0 * c0).T).T  # (R, U)
        return Xty, yty, (cb.reshape(-1, U, self.p), ccc.reshape(-1, U))


def _group_sums(S, A):
    """S @ A[r] for every r at once: S sparse (m, n), A (R, n, k) → (R, m, k)."""
    R, n, k = A.shape
    out = S @ np.moveaxis(A, 0, 1).reshape(n, R * k)
    return np.moveaxis(np.asarray(out).reshape(S.shape[0], R, k), 1, 0)


# ----------------------------------------------------------------------------- profiled deviance
def _pieces_q1(des, resp, theta, idx):
    """log|V/σ²|, XᵀWX, XᵀWy, yᵀWy for K scalar θ values (replicates ``idx``).

    With one random effect, W's correction for group j is w_j = θ²/(1 + θ² z_jᵀz_j); groups sharing
    z_jᵀz_j are pooled (see :class:`_Design`).
    """
    Xty, yty, (cb, ccc) = resp
    t2 = theta[:, None] ** 2
    w = t2 / (1.0 + t2 * des.a_u)  # (K, U)
    p = des.p
    if des.batched:
        XtWX = des.XtX[idx] - np.einsum("ku,kum->km", w, des.BB_u[idx]).reshape(-1, p, p)
    else:
        XtWX = des.XtX - (w @ des.BB_u).reshape(-1, p, p)
    XtWy = Xty[idx] - np.einsum("ku,kup->kp", w, cb[idx])
    ytWy = yty[idx] - np.sum(w * ccc[idx], axis=1)
    logdet = np.log1p(t2 * des.a_u) @ des.count_u
    return logdet, XtWX, XtWy, ytWy


def _lambda(des, theta):
    K = theta.shape[0]
    lam = np.zeros((K, des.q, des.q))
    lam[:, des.theta_rows, des.theta_cols] = theta
    return lam


def _shrinkage_q2(des, theta):
    """H_j = Λ M_j⁻¹ Λᵀ and Σ_j log|M_j|, M_j = ΛᵀA_jΛ + I, written out for two random effects per group.

    Λ = [[θ0, 0], [θ1, θ2]] (lme4's column-by-column order); the closed forms replace stacks of 2 × 2 matrix
    products, which numpy runs one tiny matrix at a time.
    """
    t0, t1, t2 = (theta[:, k, None] for k in range(3))  # (K, 1)
    a00, a01, a11 = des.A[None, :, 0, 0], des.A[None, :, 0, 1], des.A[None, :, 1, 1]  # (1, J)
    m00 = a00 * t0 * t0 + 2.0 * a01 * t0 * t1 + a11 * t1 * t1 + 1.0
    m01 = t2 * (a01 * t0 + a11 * t1)
    m11 = a11 * t2 * t2 + 1.0
    det = m00 * m11 - m01 * m01  # (K, J)
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    h00 = t0 * t0 * i00
    h01 = t0 * (t1 * i00 + t2 * i01)
    h11 = t1 * t1 * i00 + 2.0 * t1 * t2 * i01 + t2 * t2 * i11
    H = np.empty(det.shape + (2, 2))
    H[..., 0, 0], H[..., 0, 1], H[..., 1, 0], H[..., 1, 1] = h00, h01, h01, h11
    return H, np.sum(np.log(det), axis=1)


def _pieces_general(des, resp, theta, idx):
    """As :func:`_pieces_q1` for q ≥ 2: H_j = Λ M_j⁻¹ Λᵀ carries each group's shrinkage."""
    Xty, yty, c = resp
    p, q, J = des.p, des.q, des.J
    K = theta.shape[0]
    if q == 2:
        H, logdet = _shrinkage_q2(des, theta)
    else:
        lam = _lambda(des, theta)  # (K, q, q)
        lamT = np.swapaxes(lam, 1, 2)
        M = lamT[:, None] @ des.A[None] @ lam[:, None]  # (K, J, q, q)
        M[..., np.arange(q), np.arange(q)] += 1.0
        Minv = np.linalg.inv(M)
        logdet = np.sum(np.linalg.slogdet(M)[1], axis=1)
        H = lam[:, None] @ Minv @ lamT[:, None]  # (K, J, q, q)
    cc = c[idx]  # (K, J, q)
    Hc = np.einsum("kjab,kjb->kja", H, cc)
    if des.batched:
        XtWX = des.XtX[idx] - np.einsum("km,kmr->kr", H.reshape(K, J * q * q), des.BB[idx]).reshape(K, p, p)
        XtWy = Xty[idx] - np.einsum("km,kmp->kp", Hc.reshape(K, J * q), des.B[idx].reshape(K, J * q, p))
    else:
        XtWX = des.XtX - (H.reshape(K, J * q * q) @ des.BB).reshape(K, p, p)
        XtWy = Xty[idx] - Hc.reshape(K, J * q) @ des.B.reshape(J * q, p)
    ytWy = yty[idx] - np.einsum("kja,kja->k", Hc, cc)
    return logdet, XtWX, XtWy, ytWy


def _profile(des, pieces, reml):
    """Profile out β and σ²: deviance (−2 log L), β̂, (XᵀWX)⁻¹, σ̂²."""
    logdet, XtWX, XtWy, ytWy = pieces
    n, p = des.n, des.p
    L = np.linalg.cholesky(XtWX)
    beta = np.linalg.solve(XtWX, XtWy[..., None])[..., 0]
    r2 = ytWy - np.einsum("kp,kp->k", beta, XtWy)
    r2 = np.maximum(r2, np.finfo(float).tiny)
    dof = n - p if reml else n
    dev = logdet + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
    if reml:
        dev = dev + 2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
    return dev, beta, r2 / dof, XtWX


def _deviance_fn(des, resp, reml):
    pieces = _pieces_q1 if des.q == 1 else _pieces_general

    def f(theta, idx):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                return _profile(des, pieces(des, resp, theta, idx), reml)[0]
            except np.linalg.LinAlgError:  # pragma: no cover - only for wild θ
                return np.full(theta.shape[0], np.inf)
    return f, pieces


# ----------------------------------------------------------------------------- optimisers
def _brent_bounded(f, a, b, *, xatol, maxiter=500):
    """scipy's ``fminbound`` (Brent's bounded method), run in lockstep over K problems.

    ``f(x, idx)`` evaluates the objectives of problems ``idx`` at points ``x``.
    Returns the minimiser, its value and whether each problem converged.
    """
    K = a.shape[0]
    a, b = a.astype(float).copy(), b.astype(float).copy()
    xf = a + _GOLDEN * (b - a)
    fulc, nfc = xf.copy(), xf.copy()
    rat, e = np.zeros(K), np.zeros(K)
    fx = f(xf, np.arange(K))
    ffulc, fnfc = fx.copy(), fx.copy()

    def done(xf_, a_, b_):
        tol1 = _SQRT_EPS * np.abs(xf_) + xatol / 3.0
        return ~(np.abs(xf_ - 0.5 * (a_ + b_)) > (2.0 * tol1 - 0.5 * (b_ - a_)))

    conv = done(xf, a, b)
    for _ in range(maxiter):
        ii = np.flatnonzero(~conv)
        if ii.size == 0:
            break
        A, B, XF, FX = a[ii], b[ii], xf[ii], fx[ii]
        NFC, FNFC, FULC, FFULC, E, RAT = nfc[ii], fnfc[ii], fulc[ii], ffulc[ii], e[ii], rat[ii]
        XM = 0.5 * (A + B)
        T1 = _SQRT_EPS * np.abs(XF) + xatol / 3.0
        T2 = 2.0 * T1
        with np.errstate(divide="ignore", invalid="ignore"):
            para = np.abs(E) > T1
            r = (XF - NFC) * (FX - FFULC)
            qq = (XF - FULC) * (FX - FNFC)
            pp = (XF - FULC) * qq - (XF - NFC) * r
            qq = 2.0 * (qq - r)
            pp = np.where(qq > 0.0, -pp, pp)
            qq = np.abs(qq)
            accept = para & (np.abs(pp) < np.abs(0.5 * qq * E)) & (pp > qq * (A - XF)) & (pp < qq * (B - XF))
            ratp = pp / qq
        xpar = XF + ratp
        si = np.sign(XM - XF) + ((XM - XF) == 0)
        ratp = np.where(((xpar - A) < T2) | ((B - xpar) < T2), T1 * si, ratp)
        eg = np.where(XF >= XM, A - XF, B - XF)
        E_new = np.where(accept, RAT, eg)
        RAT_new = np.where(accept, ratp, _GOLDEN * eg)
        si = np.sign(RAT_new) + (RAT_new == 0)
        x = XF + si * np.maximum(np.abs(RAT_new), T1)
        fu = f(x, ii)
        better = fu <= FX
        a[ii] = np.where(better, np.where(x >= XF, XF, A), np.where(x < XF, x, A))
        b[ii] = np.where(better, np.where(x < XF, XF, B), np.where(x >= XF, x, B))
        c1 = ~better & ((fu <= FNFC) | (NFC == XF))
        c2 = ~better & ~c1 & ((fu <= FFULC) | (FULC == XF) | (FULC == NFC))
        fulc[ii] = np.where(better | c1, NFC, np.where(c2, x, FULC))
        ffulc[ii] = np.where(better | c1, FNFC, np.where(c2, fu, FFULC))
        nfc[ii] = np.where(better, XF, np.where(c1, x, NFC))
        fnfc[ii] = np.where(better, FX, np.where(c1, fu, FNFC))
        xf[ii] = np.where(better, x, XF)
        fx[ii] = np.where(better, fu, FX)
        e[ii], rat[ii] = E_new, RAT_new
        conv[ii] = done(xf[ii], a[ii], b[ii])
    return xf, fx, conv


def _optimize_q1(des, f, R):
    """Grid on the intraclass scale, then Brent's bounded method around the best grid point."""
    a = des.A[:, 0, 0]
    abar = np.mean(a[a > 0])
    # t = θ² ā / (1 + θ² ā) is the share of a group mean's variance due to the group effect
    t = np.concatenate([[0.0], np.geomspace(1e-4, 0.5, 14), 1.0 - np.geomspace(0.4, 1e-4, 12)])
    grid = np.sqrt(t / ((1.0 - t) * abar))
    G = grid.size
    vals = f(np.tile(grid, R), np.repeat(np.arange(R), G)).reshape(R, G)
    k = np.argmin(vals, axis=1)
    lo = grid[np.maximum(k - 1, 0)]
    hi = np.where(k == G - 1, grid[-1] * 100.0, grid[np.minimum(k + 1, G - 1)])
    theta, fval, conv = _brent_bounded(f, lo, hi, xatol=1e-10 * max(grid[1], 1e-8) + 1e-12)
    # the boundary θ = 0 (no group variance) beats the interior, or ties with it within rounding
    # (near 0 the deviance changes with θ², so Brent's last points there are numerically equal)
    at_zero = vals[:, 0] <= fval + 1e-11 * np.maximum(1.0, np.abs(fval))
    theta = np.where(at_zero, 0.0, theta)
    return theta[:, None], conv | at_zero


def _nelder_mead(f, x0, step, lower, *, xatol, fatol, maxiter):
    """Nelder–Mead with bounds by clipping (as scipy's), run in lockstep over K problems."""
    K, m = x0.shape
    sim = np.repeat(x0[:, None, :], m + 1, axis=1)
    sim[:, np.arange(1, m + 1), np.arange(m)] += step
    sim = np.maximum(sim, lower)
    fs = f(sim.reshape(K * (m + 1), m), np.repeat(np.arange(K), m + 1)).reshape(K, m + 1)
    conv = np.zeros(K, bool)
    for _ in range(maxiter):
        order = np.argsort(fs, axis=1, kind="stable")
        sim = np.take_along_axis(sim, order[:, :, None], axis=1)
        fs = np.take_along_axis(fs, order, axis=1)
        conv |= (np.max(np.abs(sim[:, 1:] - sim[:, :1]), axis=(1, 2)) <= xatol) & \
                (np.max(np.abs(fs[:, 1:] - fs[:, :1]), axis=1) <= fatol)
        ii = np.flatnonzero(~conv)
        if ii.size == 0:
            break
        S, F = sim[ii], fs[ii]
        xbar = S[:, :-1].mean(axis=1)
        xw = S[:, -1]
        xr = np.maximum(2.0 * xbar - xw, lower)
        fr = f(xr, ii)
        f0, fsw, fw = F[:, 0], F[:, -2], F[:, -1]
        expand = fr < f0
        accept_r = (fr >= f0) & (fr < fsw)
        outside = (fr >= fsw) & (fr < fw)
        x2 = np.where(expand[:, None], xbar + 2.0 * (xr - xbar),
                      np.where(outside[:, None], xbar + 0.5 * (xr - xbar), xbar + 0.5 * (xw - xbar)))
        x2 = np.maximum(x2, lower)
        need = ~accept_r
        f2 = np.full(ii.size, np.inf)
        if need.any():
            f2[need] = f(x2[need], ii[need])
        use2 = (expand & (f2 < fr)) | (outside & (f2 <= fr)) | (~expand & ~accept_r & ~outside & (f2 < fw))
        shrink = (outside & ~(f2 <= fr)) | (~expand & ~accept_r & ~outside & ~(f2 < fw))
        newx = np.where(use2[:, None], x2, xr)
        newf = np.where(use2, f2, fr)
        keep = ~shrink
        S[keep, -1] = newx[keep]
        F[keep, -1] = newf[keep]
        if shrink.any():
            Ss = S[shrink]
            Ss[:, 1:] = np.maximum(Ss[:, :1] + 0.5 * (Ss[:, 1:] - Ss[:, :1]), lower)
            rows = ii[shrink]
            Fs = F[shrink]
            Fs[:, 1:] = f(Ss[:, 1:].reshape(-1, m), np.repeat(rows, m)).reshape(-1, m)
            S[shrink], F[shrink] = Ss, Fs
        sim[ii], fs[ii] = S, F
    best = np.argmin(fs, axis=1)
    return sim[np.arange(K), best], fs[np.arange(K), best], conv


def _fd_offsets(m, h):
    """Offsets for central finite differences of a gradient and Hessian in m dimensions."""
    offs = [np.zeros(m)]
    for i in range(m):
        for s in (1.0, -1.0):
            d = np.zeros(m)
            d[i] = s * h
            offs.append(d)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            d = np.zeros(m)
            d[i], d[j] = si * h, sj * h
            offs.append(d)
    return np.array(offs), pairs


def _newton_polish(g, x, lower, *, h=1e-4, maxiter=30, tol=1e-8):
    """Projected Newton steps with finite-difference derivatives, in lockstep over K problems.

    Coordinates sitting on their bound with a gradient pushing outwards stay fixed; the
    Hessian is made positive definite (absolute eigenvalues); each step is the best of a few
    step lengths (all evaluated in one batched call) and is taken only if it lowers f.
    """
    K, m = x.shape
    offs, pairs = _fd_offsets(m, h)
    O = offs.shape[0]
    alphas = np.array([1.0, 0.5, 0.25, 0.1, 0.01])
    x = x.copy()
    fx = g(x, np.arange(K))
    conv = np.zeros(K, bool)
    for _ in range(maxiter):
        ii = np.flatnonzero(~conv)
        if ii.size == 0:
            break
        X0 = x[ii]
        F = g((X0[:, None, :] + offs).reshape(-1, m), np.repeat(ii, O)).reshape(-1, O)
        f0 = F[:, 0]
        fp, fm = F[:, 1:2 * m + 1:2], F[:, 2:2 * m + 2:2]
        grad = (fp - fm) / (2 * h)
        # on the bound use the one-sided (inward) difference: the deviance is symmetric in the sign of a
        # column of Λ, so the central difference there is 0 whatever the slope inwards
        at_bound = X0 <= lower
        grad = np.where(at_bound, (fp - f0[:, None]) / h, grad)
        H = np.zeros((ii.size, m, m))
        H[:, np.arange(m), np.arange(m)] = (fp - 2 * f0[:, None] + fm) / h ** 2
        for k, (i, j) in enumerate(pairs):
            b = 2 * m + 1 + 4 * k
            hij = (F[:, b] - F[:, b + 1] - F[:, b + 2] + F[:, b + 3]) / (4 * h * h)
            H[:, i, j] = H[:, j, i] = hij
        fixed = at_bound & (grad > 0)
        grad = np.where(fixed, 0.0, grad)
        H = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, H)
        H[:, np.arange(m), np.arange(m)] += fixed
        w, V = np.linalg.eigh(H)
        w = np.maximum(np.abs(w), 1e-8 * np.maximum(np.max(np.abs(w), axis=1, keepdims=True), 1e-12))
        step = -np.einsum("kab,kb,kcb,kc->ka", V, 1.0 / w, V, grad)
        cand = np.maximum(X0[:, None, :] + alphas[None, :, None] * step[:, None, :], lower)
        fc = g(cand.reshape(-1, m), np.repeat(ii, alphas.size)).reshape(-1, alphas.size)
        best = np.argmin(fc, axis=1)
        fbest = fc[np.arange(ii.size), best]
        improve = fbest < fx[ii]
        xnew = np.where(improve[:, None], cand[np.arange(ii.size), best], X0)
        moved = np.max(np.abs(xnew - X0), axis=1)
        gain = fx[ii] - np.where(improve, fbest, fx[ii])
        x[ii] = xnew
        fx[ii] = np.where(improve, fbest, fx[ii])
        conv[ii] = (moved < tol) | (gain < 1e-13 * (1.0 + np.abs(fx[ii]))) | ~improve
    return x, fx, conv


def _nm_newton(g, x0, lower):
    step = 0.25 * np.maximum(np.abs(x0), 0.1)
    x, fx, conv_nm = _nelder_mead(g, x0, step, lower, xatol=XATOL, fatol=FATOL, maxiter=1000)
    x, fx, conv = _newton_polish(g, x, lower)
    return x, fx, conv & conv_nm


def _lbfgsb_one(fun, x0, lower):
    from scipy.optimize import minimize

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    res = minimize(fun, x0, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-8, "maxiter": 2000, "eps": 1e-7})
    return res.x, float(res.fun), bool(res.success)


def _canonical_signs(x, des_cols, is_diag, q):
    """Flip the sign of every column of Λ whose diagonal element is negative (ΛΛᵀ, so the deviance, is unchanged)."""
    x = x.copy()
    for k in range(q):
        col = des_cols == k
        kk = np.flatnonzero(col & is_diag)[0]
        neg = x[:, kk] < 0
        if neg.any():
            x[np.ix_(neg, np.flatnonzero(col))] *= -1.0
    return x


def _fd_derivatives(g, X0, rows, h):
    """Finite-difference gradient and Hessian of g at the K points X0 (steps h, shape (K, m)).

    The Hessian from central differences with step h; the gradient by Richardson extrapolation of the central
    differences with steps h and 2h (error O(h⁴) instead of O(h²): at the optimum of a deviance of 10⁵ or
    more the O(h²) error alone would look like a gradient).
    """
    K, m = X0.shape
    offs, pairs = _fd_offsets(m, 1.0)
    offs = np.concatenate([offs, 2.0 * np.repeat(np.eye(m), 2, axis=0) * np.tile([1.0, -1.0], m)[:, None]])
    O = offs.shape[0]
    F = g((X0[:, None, :] + offs[None] * h[:, None, :]).reshape(-1, m), np.repeat(rows, O)).reshape(K, O)
    f0 = F[:, 0]
    fp, fm = F[:, 1:2 * m + 1:2], F[:, 2:2 * m + 2:2]
    fp2, fm2 = F[:, O - 2 * m::2], F[:, O - 2 * m + 1::2]
    grad = (8.0 * (fp - fm) - (fp2 - fm2)) / (12.0 * h)
    H = np.zeros((K, m, m))
    H[:, np.arange(m), np.arange(m)] = (fp - 2 * f0[:, None] + fm) / h ** 2
    for k, (i, j) in enumerate(pairs):
        b = 2 * m + 1 + 4 * k
        hij = (F[:, b] - F[:, b + 1] - F[:, b + 2] + F[:, b + 3]) / (4 * h[:, i] * h[:, j])
        H[:, i, j] = H[:, j, i] = hij
    return f0, grad, H


def _certify(g, x, *, tol=CERT_TOL, maxiter=100):
    """Check (and where needed finish) the optimisation of K problems in lockstep: damped Newton on all of R^m.

    The deviance depends on Λ only through ΛΛᵀ, so it is unchanged when a whole column of Λ changes sign:
    the bound θ_kk ≥ 0 only picks one of two equivalent points and the problem is unconstrained. A point on
    the boundary θ_kk = 0 is an optimum only if it is a stationary point of the unconstrained deviance, so
    this step never clips: it may cross a zero diagonal element (the caller flips that column back).

    A problem counts as converged when the Newton decrement ½ gᵀH⁻¹g (the decrease a Newton step
    predicts, with H's eigenvalues floored at a small positive value) is at most ``tol`` and H has no
    clearly negative eigenvalue. Otherwise a batch of Levenberg–Marquardt steps (−(|H| + μI)⁻¹g for a
    ladder of μ) and, at a saddle, steps along the most negative curvature are evaluated at once and
    the best is taken if it lowers the deviance; a problem that can no longer improve without meeting the
    test is reported as not converged.
    """
    K, m = x.shape
    x = x.copy()
    fx = g(x, np.arange(K))
    conv = np.zeros(K, bool)
    done = np.zeros(K, bool)
    mus = np.array([0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 1e3])
    ts = np.array([1e-3, 1e-2, 0.1, 0.5])
    for _ in range(maxiter):
        ii = np.flatnonzero(~done)
        if ii.size == 0:
            break
        X0 = x[ii]
        h = FD_STEP * np.maximum(1.0, np.abs(X0))
        f0, grad, H = _fd_derivatives(g, X0, ii, h)
        w, V = np.linalg.eigh(H)
        wmax = np.maximum(np.max(np.abs(w), axis=1), 1e-12)
        gt = np.einsum("kab,ka->kb", V, grad)
        floor = 1e-10 * wmax[:, None]
        dec = 0.5 * np.sum(gt ** 2 / np.maximum(w, floor), axis=1)
        saddle = w[:, 0] < -NEG_CURV * np.maximum(wmax, 1.0)
        # (for a deviance of 10⁵ and more, 1e-9 is below its rounding error: then 1e-14 of it)
        ok = (dec <= np.maximum(tol, 1e-14 * np.abs(f0))) & ~saddle & np.isfinite(dec)
        conv[ii] = ok
        done[ii] |= ok
        act = np.flatnonzero(~ok)
        if act.size == 0:
            break
        rows = ii[act]
        Va, wa, gta, Xa = V[act], np.abs(w[act]), gt[act], X0[act]
        mu = mus[None, :] * wmax[act, None]  # (A, L)
        steps = -np.einsum("kab,klb->kla", Va, gta[:, None, :] / (wa[:, None, :] + mu[:, :, None] + floor[act, None, :]))
        vneg = Va[:, :, 0]  # (A, m) most negative curvature direction
        sc = np.maximum(1.0, np.max(np.abs(Xa), axis=1))
        neg = np.concatenate([vneg[:, None, :] * (ts * s)[None, :, None] for s in (1.0, -1.0)], axis=1) * sc[:, None, None]
        cand = Xa[:, None, :] + np.concatenate([steps, neg], axis=1)
        C = cand.shape[1]
        fc = g(cand.reshape(-1, m), np.repeat(rows, C)).reshape(-1, C)
        fc = np.where(np.isfinite(fc), fc, np.inf)
        best = np.argmin(fc, axis=1)
        fbest = fc[np.arange(act.size), best]
        improve = fbest < fx[rows]
        x[rows[improve]] = cand[np.arange(act.size), best][improve]
        fx[rows[improve]] = fbest[improve]
        done[rows[~improve]] = True
    return x, fx, conv


def _optimize_general(des, f, R):
    """Nelder–Mead (coarse) then projected Newton, both in lockstep, on θ scaled by Z's spread; then the
    convergence test (and the damped Newton steps that finish the fits failing it), see :func:`_certify`."""
    m = des.theta_rows.size
    scale = des.zscale[des.theta_rows]  # φ = θ * scale of the row's Z column
    lower = np.where(des.is_diag, 0.0, -np.inf)

    def g(phi, idx):
        return f(phi / scale, idx)

    starts = [np.where(des.is_diag, c, 0.0) for c in (0.1, 0.3, 1.0, 3.0)]
    S = len(starts)
    cand = np.tile(np.stack(starts), (R, 1))
    vals = g(cand, np.repeat(np.arange(R), S)).reshape(R, S)
    x0 = np.stack(starts)[np.argmin(vals, axis=1)]
    x, fx, conv = _nm_newton(g, x0, lower)
    # a simplex can stick to the boundary (a variance of 0) although the optimum is inside: restart
    # those replicates with the zero diagonal elements moved inside, keep whichever fit is better
    # (on that boundary the signs of the column below a zero diagonal element do not matter, but just
    # inside they do, so both signs are tried)
    edge = np.flatnonzero(np.any(x[:, des.is_diag] < 1e-3, axis=1))
    if edge.size:
        x1 = x[edge].copy()
        zero_col = x1[:, des.is_diag] < 1e-3  # (E, q): columns whose diagonal element is ~0
        x1[:, des.is_diag] = np.maximum(x1[:, des.is_diag], 0.3)
        x2 = x1.copy()
        flip = zero_col[:, des.theta_cols] & ~des.is_diag
        x2[flip] = -x2[flip]
        rows = np.concatenate([edge, edge])
        xe, fe, ce = _nm_newton(lambda phi, idx: g(phi, rows[idx]), np.concatenate([x1, x2]), lower)
        E = edge.size
        pick = np.where(fe[E:] < fe[:E], E + np.arange(E), np.arange(E))
        xe, fe, ce = xe[pick], fe[pick], ce[pick]
        better = fe < fx[edge] - 1e-10
        x[edge[better]], fx[edge[better]], conv[edge[better]] = xe[better], fe[better], ce[better]
    # the fully degenerate boundary θ = 0 (no random effects at all)
    f0 = g(np.zeros((R, m)), np.arange(R))
    zero = f0 <= fx
    x[zero], fx[zero] = 0.0, f0[zero]
    # check every fit: a fit that meets the convergence test is left exactly as it is; the others are
    # finished by damped Newton steps on the whole of R^m (crossing zero diagonals: the boundary is no bound)
    x, fx, conv = _certify(g, x)
    x = _canonical_signs(x, des.theta_cols, des.is_diag, des.q)
    # rare stragglers (flat ridges next to a boundary, where the lockstep Newton steps stall): finish
    # them one by one with scipy's bounded L-BFGS-B from where they stopped, then check them again
    late = np.flatnonzero(~conv)
    for r in late:
        xr, fr, _ = _lbfgsb_one(lambda v, r=r: float(g(v[None, :], np.array([r]))[0]), x[r], lower)
        if fr <= fx[r]:
            x[r], fx[r] = xr, fr
    if late.size:
        xl, fl, cl = _certify(lambda phi, idx: g(phi, late[idx]), x[late])
        x[late], fx[late], conv[late] = _canonical_signs(xl, des.theta_cols, des.is_diag, des.q), fl, cl
    # the Newton steps approach a variance of 0 without reaching it: put a diagonal element that ends
    # below lme4's singularity threshold exactly on the boundary when the deviance is no worse there
    for k in np.flatnonzero(des.is_diag):
        near = np.flatnonzero((x[:, k] > 0) & (x[:, k] < SINGULAR_TOL * scale[k]))
        if near.size:
            xs = x[near].copy()
            xs[:, k] = 0.0
            fs = g(xs, near)
            ok = fs <= fx[near]
            x[near[ok]], fx[near[ok]] = xs[ok], fs[ok]
    return x / scale, conv


# ----------------------------------------------------------------------------- driver
def _fit(Y, X, Z, groups, *, reml, func, per_replicate=False):
    if not isinstance(reml, (bool, np.bool_)):
        raise argument_error(func, "reml", "True or False", reml, kind=TypeError)
    n = Y.shape[1]
    X = _as_designs(X, Y.shape[0], n, func) if per_replicate else _as_design(X, n, func, "X")
    Z = _as_design(Z, n, func, "Z")
    codes, J = _as_groups(groups, n, func)
    des = _Design(X, Z, codes, J, func)
    R = Y.shape[0]
    b0 = np.zeros((R, des.p))
    if des.q > 1:
        # work with the residuals of a first least-squares fit, y − X b0: β̂ becomes b0 + β̂(y − X b0) and
        # everything else is unchanged, but yᵀWy and XᵀWy no longer cancel digits (y = height in cm, say)
        b0 = _least_squares(X, Y)
        Y = Y - (np.einsum("rnp,rp->rn", X, b0) if des.batched else b0 @ X.T)
    resp = des.response(Y)
    f, pieces = _deviance_fn(des, resp, bool(reml))
    if des.q == 1:
        theta, conv = _optimize_q1(des, f, R)
    else:
        theta, conv = _optimize_general(des, f, R)
    idx = np.arange(R)
    dev, beta, sigma2, XtWX = _profile(des, pieces(des, resp, theta if des.q > 1 else theta[:, 0], idx), bool(reml))
    beta = beta + b0
    lam = _lambda(des, theta)
    G = sigma2[:, None, None] * lam @ np.swapaxes(lam, 1, 2)
    cov_beta = sigma2[:, None, None] * np.linalg.inv(XtWX)
    singular = np.any(theta[:, des.is_diag] < SINGULAR_TOL, axis=1)
    return EngineFitMany(beta=beta, cov_beta=cov_beta, G=G, sigma2=sigma2, theta=theta, llf=-0.5 * dev,
                         singular=singular, converged=np.asarray(conv, bool), reml=bool(reml), nobs=n,
                         ngroups=J)
