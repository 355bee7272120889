"""Parametric bootstrap machinery: simulate data sets from a fitted model, refit the model to each.

Used by :func:`mlmlab.bootstrap_lrt` (the null distribution of an LR statistic) and
:func:`mlmlab.confint` (percentile intervals, ``method="boot"``), as lme4's ``simulate`` and ``refit``
(and ``bootMer``) are used in R. The simulation reuses the fit's own design: same rows, same groups, same
columns of X and Z; only the outcome changes, so the formula is never read again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from mlmlab import engine
from mlmlab._linalg import psd_cholesky
from mlmlab.estimation import estimate

__all__ = ["simulate_outcomes", "refit_outcomes", "Refits"]


def simulate_outcomes(result, n: int, rng) -> np.ndarray:
    """``n`` outcome vectors drawn from a fitted model: Xγ̂ + Σ_k Z_k u_k + e on the fit's own rows and groups.

    Parameters
    ----------
    result : MixedResult
        The fitted model to simulate from (its fixed effects, random-effect covariances and σ²).
    n : int
        Number of outcome vectors.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    ndarray of shape (n, nobs)
    """
    design = result.design
    mean = design.X.to_numpy(dtype=float) @ result.fixed["estimate"].to_numpy(dtype=float)
    Y = mean[None, :] + rng.normal(0.0, np.sqrt(result.sigma2), size=(n, design.nobs))
    for b, G in zip(design.blocks, result.covariances):
        u = rng.standard_normal((n, len(b.levels), len(b.names))) @ psd_cholesky(G).T  # (n, levels, t)
        Y += np.einsum("it,rit->ri", b.Z, u[:, b.codes, :])
    return Y


@dataclass
class Refits:
    """The model refitted to each simulated outcome vector (rows of failed refits are NaN, ``ok`` False)."""

    beta: np.ndarray          # (R, p) fixed effects
    covariances: list         # per design block, (R, t, t)
    sigma2: np.ndarray        # (R,)
    llf: np.ndarray           # (R,)
    ok: np.ndarray            # (R,) bool


def engine_ready(result) -> bool:
    """Whether the fast engine refits this model: one grouping factor, one (correlated) block."""
    blocks = result.design.blocks
    return len(blocks) == 1 and blocks[0].term.correlated


def refit_outcomes(result, Y: np.ndarray, *, progress: bool = False) -> Refits:
    """Refit ``result``'s model (same design, same REML/ML choice) to every row of ``Y``.

    Models with one grouping factor and one block go to the engine (all rows at once); others to the guarded
    optimisers, one row at a time (with a progress bar if asked).
    """
    design, R = result.design, len(Y)
    if engine_ready(result):
        b = design.blocks[0]
        fits = engine.fit_many(Y, design.X.to_numpy(dtype=float), b.Z, b.codes, reml=result.reml)
        ok = np.asarray(fits.converged, dtype=bool) & np.isfinite(fits.llf)
        return Refits(np.asarray(fits.beta, dtype=float), [np.asarray(fits.G, dtype=float)],
                      np.asarray(fits.sigma2, dtype=float), np.where(ok, fits.llf, np.nan), ok)
    p = design.X.shape[1]
    beta, sigma2, llf = np.full((R, p), np.nan), np.full(R, np.nan), np.full(R, np.nan)
    covs = [np.full((R, len(b.names), len(b.names)), np.nan) for b in design.blocks]
    ok = np.zeros(R, dtype=bool)
    for i in tqdm(range(R), disable=not progress, desc="bootstrap refits"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = estimate(replace(design, y=Y[i]), reml=result.reml, control=result.control)
        except (RuntimeError, ValueError, np.linalg.LinAlgError):  # FitError is a RuntimeError; so is a singular
            continue                                                  # sparse factor in statsmodels
        if not est.converged:
            continue
        beta[i], sigma2[i], llf[i] = est.beta, est.sigma2, est.llf
        for k, cov in enumerate(est.covariances):
            covs[k][i] = cov
        ok[i] = True
    return Refits(beta, covs, sigma2, llf, ok)
