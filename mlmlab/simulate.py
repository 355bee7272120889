"""Simulate multilevel data whose true parameters are known.

Three designs, one convention:

* :func:`simulate_two_level` — units in groups (pupils in schools), random intercepts and
  optionally random slopes; :func:`simulate_two_level_many` draws R outcome vectors for one
  design in a single vectorised call (what :func:`mlmlab.engine.fit_many` takes);
* :func:`simulate_crossed` — two crossed factors (every student rated by every rater);
* :func:`simulate_three_level` — pupils in classes in schools.

Each returns a tidy DataFrame, one row per unit, with the outcome in column ``y`` and the truth in
``data.attrs["truth"]`` (a :class:`Truth`). Predictors are standard normal, N(0, 1), drawn
independently; a *level-1* predictor varies from row to row, a higher-level one is constant within
its group. Randomness comes only from ``rng``: the same integer gives the same data.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_positive_int, check_random_state

__all__ = ["Truth", "Replicates", "simulate_two_level", "simulate_two_level_many", "simulate_crossed",
           "simulate_three_level"]


@dataclass(frozen=True, eq=False)
class Truth:
    """The parameters a simulated data set was drawn from.

    Attributes
    ----------
    fixed : dict
        Fixed effects, term name → value (``"Intercept"`` first).
    G : ndarray or dict
        Two-level designs: covariance matrix of the random effects named in ``random``.
        Crossed and three-level designs: factor name → random-intercept variance.
    sigma2 : float
        Level-1 (residual) variance σ².
    icc : float or dict
        Two-level: τ00 / (τ00 + σ²). Otherwise factor → share of the total variance (three-level:
        ``"class"`` is the correlation of two pupils in the same class, (τ_school + τ_class) / total).
    random : tuple of str
        Names of the random effects per group (two-level), or of the factors.

    Taught in lesson 01.
    """

    fixed: dict
    G: object
    sigma2: float
    icc: object
    random: tuple = field(default=("Intercept",))

    def __eq__(self, other):
        if not isinstance(other, Truth):
            return NotImplemented
        same_g = (self.G == other.G) if isinstance(self.G, dict) or isinstance(other.G, dict) \
            else np.array_equal(self.G, other.G)
        return (self.fixed == other.fixed and bool(same_g) and self.sigma2 == other.sigma2
                and self.icc == other.icc and self.random == other.random)

    __hash__ = None


@dataclass(frozen=True, eq=False)
class Replicates:
    """R simulated outcome vectors sharing one design (from :func:`simulate_two_level_many`).

    Attributes
    ----------
    data : DataFrame
        The design, one row per unit: ``group`` and the predictors (no outcome).
    Y : ndarray of shape (R, n)
        One simulated outcome vector per row.
    X : ndarray of shape (n, p)
        Fixed-effects design, columns in the order of ``truth.fixed``.
    Z : ndarray of shape (n, q)
        Random-effects design, columns in the order of ``truth.random``.
    groups : ndarray of shape (n,)
        Group label of each row.
    truth : Truth
        The parameters.

    Examples
    --------
    >>> reps = simulate_two_level_many(5, 4, fixed={"Intercept": 1.0}, G=0.5, sigma=1.0, n_reps=3, rng=0)
    >>> reps.Y.shape, reps.X.shape, reps.Z.shape
    ((3, 20), (20, 2), (20, 1))

    Taught in lesson 01.
    """

    data: pd.DataFrame
    Y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    groups: np.ndarray
    truth: Truth

    def frame(self, r: int) -> pd.DataFrame:
        """Replicate r as a tidy DataFrame (the design plus its ``y``)."""
        out = self.data.copy()
        out["y"] = self.Y[r]
        out.attrs["truth"] = self.truth
        return out


# ----------------------------------------------------------------------------- checks
def _sizes(spec, count, rng, func, arg):
    """Group sizes from an int, a sequence, a callable(rng, count) or a scipy.stats distribution."""
    if isinstance(spec, (numbers.Integral, np.integer)) and not isinstance(spec, bool):
        sizes = np.full(count, int(spec))
    elif callable(spec) or hasattr(spec, "rvs"):
        draw = spec.rvs(size=count, random_state=rng) if hasattr(spec, "rvs") else spec(rng, count)
        sizes = np.asarray(draw)
        if sizes.shape != (count,):
            raise argument_error(func, arg, f"a distribution returning {count} sizes", spec,
                                 detail=f"it returned shape {sizes.shape}")
    else:
        try:
            sizes = np.asarray(spec, dtype=float)
        except (TypeError, ValueError):
            sizes = None
        if sizes is None or sizes.shape != (count,):
            raise argument_error(func, arg, f"an int, {count} sizes, or a distribution of sizes", spec,
                                 fix="Pass group_size=20, a list with one size per group, or a function "
                                     "f(rng, n) returning n sizes.", kind=TypeError if sizes is None else
                                 ValueError)
    if np.any(sizes != np.round(sizes)) or np.any(sizes < 1):
        raise argument_error(func, arg, "whole numbers of at least 1", spec,
                             detail=f"got sizes from {np.min(sizes):g} to {np.max(sizes):g}")
    return sizes.astype(int)


def _check_sigma(sigma, func):
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not np.isfinite(sigma) or sigma <= 0:
        raise argument_error(func, "sigma", "a positive number (the level-1 standard deviation σ)", sigma)
    return float(sigma)


def _check_predictors(predictors, levels, func):
    if predictors is None:
        return {"x": levels[0]}
    if not isinstance(predictors, dict):
        raise argument_error(func, "predictors", "a dict of predictor name → level", predictors,
                             detail="levels are: " + ", ".join(levels),
                             fix="For example predictors={'x': 'level1', 'w': 'level2'}.", kind=TypeError)
    for name, level in predictors.items():
        if not isinstance(name, str) or name in ("y", "Intercept") or not name.isidentifier():
            raise argument_error(func, "predictors", "a dict whose keys are column names other than y", name)
        if level not in levels:
            raise argument_error(func, "predictors", "a dict of predictor name → level", predictors,
                                 detail=f"predictor {name!r} has level {level!r}; levels are: " + ", ".join(levels))
    return dict(predictors)


def _check_fixed(fixed, names, func):
    terms = ["Intercept", *names]
    if isinstance(fixed, dict):
        unknown = [k for k in fixed if k not in terms]
        if unknown:
            raise argument_error(func, "fixed", "a dict whose keys are Intercept or predictor names", fixed,
                                 detail=f"unknown: {', '.join(map(str, unknown))}; terms are: {', '.join(terms)}",
                                 fix="Add the predictor with predictors={...} or correct the name.")
        values = [fixed.get(t, 0.0) for t in terms]
    elif np.ndim(fixed) == 1 and len(fixed) == len(terms):
        values = list(fixed)
    elif np.ndim(fixed) == 0 and len(terms) == 1:
        values = [fixed]
    else:
        raise argument_error(func, "fixed", f"a dict or {len(terms)} numbers (for {', '.join(terms)})", fixed,
                             kind=TypeError)
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise argument_error(func, "fixed", "numbers", fixed, kind=TypeError) from None
    if not np.all(np.isfinite(values)):
        raise argument_error(func, "fixed", "finite numbers", fixed)
    return dict(zip(terms, values))


def _check_G(G, func):
    try:
        G = np.atleast_2d(np.asarray(G, dtype=float))
    except (TypeError, ValueError):
        raise argument_error(func, "G", "a variance or a covariance matrix", G, kind=TypeError) from None
    if G.ndim != 2 or G.shape[0] != G.shape[1] or not np.all(np.isfinite(G)):
        raise argument_error(func, "G", "a variance or a square covariance matrix", G)
    if not np.allclose(G, G.T) or np.min(np.linalg.eigvalsh(G)) < -1e-10 * max(1.0, np.max(np.abs(G))):
        raise argument_error(func, "G", "a covariance matrix (symmetric, positive semi-definite)", G.tolist(),
                             detail=f"eigenvalues {np.round(np.linalg.eigvalsh(G), 4).tolist()}",
                             fix="Build it from SDs and a correlation: G = [[s0**2, r*s0*s1], [r*s0*s1, s1**2]].")
    return G


def _factor_variances(G, factors, func):
    if isinstance(G, dict):
        if set(G) != set(factors):
            raise argument_error(func, "G", "a dict with one variance per factor", G,
                                 detail="factors are: " + ", ".join(factors))
        values = [G[f] for f in factors]
    else:
        values = list(G) if np.ndim(G) == 1 else None
        if values is None or len(values) != len(factors):
            raise argument_error(func, "G", f"{len(factors)} variances (for {', '.join(factors)})", G, kind=TypeError)
    values = [float(v) for v in values]
    if any(not np.isfinite(v) or v < 0 for v in values):
        raise argument_error(func, "G", "non-negative variances", G)
    return dict(zip(factors, values))


def _cholesky_psd(G):
    """A factor L with L Lᵀ = G that also works for singular G (zero variances)."""
    w, V = np.linalg.eigh(G)
    return V * np.sqrt(np.clip(w, 0.0, None))


# ----------------------------------------------------------------------------- two levels
def _two_level_design(n_groups, group_size, fixed, G, sigma, predictors, slopes, rng, func):
    J = check_positive_int(n_groups, func, "n_groups", minimum=1)
    sigma = _check_sigma(sigma, func)
    predictors = _check_predictors(predictors, ("level1", "level2"), func)
    fixed = _check_fixed(fixed, list(predictors), func)
    G = _check_G(G, func)
    q = G.shape[0]
    level1 = [p for p, lev in predictors.items() if lev == "level1"]
    if slopes is None:
        slopes = level1[: q - 1]
    slopes = list(slopes)
    bad = [s for s in slopes if s not in level1]
    if bad or len(slopes) != q - 1:
        raise argument_error(func, "slopes", f"{q - 1} level-1 predictor name(s) for G of size {q}×{q}", slopes,
                             detail="level-1 predictors are: " + (", ".join(level1) or "none"),
                             fix="Give G one row per random effect: the intercept, then each random slope.")
    rng = check_random_state(rng)
    sizes = _sizes(group_size, J, rng, func, "group_size")
    codes = np.repeat(np.arange(J), sizes)
    n = codes.size
    data = {"group": codes + 1}
    for name, level in predictors.items():
        data[name] = rng.standard_normal(n) if level == "level1" else rng.standard_normal(J)[codes]
    data = pd.DataFrame(data)
    X = np.column_stack([np.ones(n)] + [data[p].to_numpy() for p in predictors])
    Z = np.column_stack([np.ones(n)] + [data[s].to_numpy() for s in slopes])
    icc = G[0, 0] / (G[0, 0] + sigma ** 2)
    truth = Truth(fixed=fixed, G=G, sigma2=sigma ** 2, icc=float(icc), random=("Intercept", *slopes))
    return data, X, Z, codes, truth, rng


def _draw_two_level(X, Z, codes, truth, R, rng):
    beta = np.array(list(truth.fixed.values()))
    J, q = codes.max() + 1, Z.shape[1]
    U = rng.standard_normal((R, J, q)) @ _cholesky_psd(truth.G).T  # (R, J, q)
    E = rng.standard_normal((R, codes.size))
    return X @ beta + np.sum(Z * U[:, codes, :], axis=2) + np.sqrt(truth.sigma2) * E


def simulate_two_level(n_groups, group_size, *, fixed, G, sigma, predictors=None, slopes=None, rng=None):
    """Simulate one two-level data set (units in groups) with known parameters.

    The model is y_ij = γ00 + Σ γ_k x_kij + u0j + Σ u_kj x_kij + e_ij with (u0j, u_kj) ~ N(0, G)
    and e_ij ~ N(0, σ²).

    Parameters
    ----------
    n_groups : int
        Number of groups J.
    group_size : int, sequence of int, or callable
        Units per group: one int (balanced), one size per group, a function ``f(rng, n_groups)``
        returning the sizes, or a scipy.stats discrete distribution (its ``rvs`` is called with
        ``rng``), e.g. ``scipy.stats.poisson(20, loc=1)``.
    fixed : dict or sequence of float
        Fixed effects by term, e.g. ``{"Intercept": 50, "x": 2}``; terms not given are 0.
        A sequence gives them in the order Intercept, then the predictors.
    G : float or array-like of shape (q, q)
        Random-intercept variance τ00 (a number), or the covariance matrix of the random intercept
        and the random slopes (in the order of ``slopes``).
    sigma : float
        Level-1 standard deviation σ (σ² is the residual variance).
    predictors : dict, default={"x": "level1"}
        Predictor name → ``"level1"`` (varies within groups) or ``"level2"`` (one value per group).
        Every predictor is drawn from N(0, 1).
    slopes : sequence of str, optional
        The level-1 predictors with random slopes; default: the first q − 1 level-1 predictors.
    rng : None, int or numpy.random.Generator, default=None
        Source of randomness; an int makes the result reproducible.

    Returns
    -------
    DataFrame
        Columns ``group`` (1..J), the predictors, ``y``; ``attrs["truth"]`` holds a :class:`Truth`.

    Raises
    ------
    ValueError
        If a size, variance or name is invalid (the message names the argument).

    Examples
    --------
    >>> df = simulate_two_level(30, 20, fixed={"Intercept": 50, "x": 2}, G=4.0, sigma=6.0, rng=1)
    >>> df.shape, list(df.columns)
    ((600, 3), ['group', 'x', 'y'])
    >>> df.attrs["truth"].icc
    0.1
    >>> slopes = simulate_two_level(10, [3, 4] * 5, fixed=[1, 0.5], G=[[1, 0.2], [0.2, 0.3]], sigma=1, rng=2)
    >>> slopes.attrs["truth"].random
    ('Intercept', 'x')

    Taught in lesson 01.
    """
    func = "simulate_two_level"
    data, X, Z, codes, truth, rng = _two_level_design(n_groups, group_size, fixed, G, sigma, predictors,
                                                      slopes, rng, func)
    data["y"] = _draw_two_level(X, Z, codes, truth, 1, rng)[0]
    data.attrs["truth"] = truth
    return data


def simulate_two_level_many(n_groups, group_size, *, fixed, G, sigma, n_reps, predictors=None, slopes=None,
                            rng=None) -> Replicates:
    """Simulate R outcome vectors for one two-level design in a single vectorised call.

    The design (group sizes, predictors) is drawn once; the random effects and residuals are drawn
    afresh for each of the ``n_reps`` replicates. With the same ``rng`` and ``n_reps=1`` the outcome
    equals that of :func:`simulate_two_level`.

    Parameters
    ----------
    n_groups, group_size, fixed, G, sigma, predictors, slopes, rng
        As in :func:`simulate_two_level`.
    n_reps : int
        Number of replicates R.

    Returns
    -------
    Replicates
        ``data`` (the design), ``Y`` (R × n), ``X``, ``Z``, ``groups`` and ``truth``; pass
        ``Y, X, Z, groups`` to :func:`mlmlab.engine.fit_many`.

    Examples
    --------
    >>> from mlmlab import engine
    >>> reps = simulate_two_level_many(30, 20, fixed={"Intercept": 0}, G=0.25, sigma=1.0, n_reps=200, rng=3)
    >>> res = engine.fit_many(reps.Y, reps.X, reps.Z, reps.groups)
    >>> round(float(res.G[:, 0, 0].mean()), 2), round(float(res.sigma2.mean()), 2)
    (0.25, 1.0)

    Taught in lesson 01.
    """
    func = "simulate_two_level_many"
    R = check_positive_int(n_reps, func, "n_reps")
    data, X, Z, codes, truth, rng = _two_level_design(n_groups, group_size, fixed, G, sigma, predictors,
                                                      slopes, rng, func)
    data.attrs["truth"] = truth
    Y = _draw_two_level(X, Z, codes, truth, R, rng)
    return Replicates(data=data, Y=Y, X=X, Z=Z, groups=codes + 1, truth=truth)


# ----------------------------------------------------------------------------- crossed
def simulate_crossed(n_levels, *, fixed, G, sigma, n_per_cell=1, factors=("student", "rater"), predictors=None,
                     rng=None):
    """Simulate data with two crossed random factors (e.g. every student rated by every rater).

    The model is y_abk = γ0 + Σ γ_k x_k + u_a + v_b + e_abk with u_a ~ N(0, τ_A), v_b ~ N(0, τ_B),
    e ~ N(0, σ²); every level of the first factor meets every level of the second ``n_per_cell`` times.

    Parameters
    ----------
    n_levels : pair of int
        Number of levels of the two factors, e.g. ``(40, 8)`` students and raters.
    fixed : dict or sequence of float
        Fixed effects as in :func:`simulate_two_level`.
    G : pair of float or dict
        Random-intercept variances of the two factors, e.g. ``(4.0, 1.0)`` or ``{"student": 4, "rater": 1}``.
    sigma : float
        Level-1 standard deviation σ.
    n_per_cell : int, default=1
        Rows per combination of levels.
    factors : pair of str, default=("student", "rater")
        Column names of the two factors.
    predictors : dict, default={"x": "level1"}
        Predictor name → ``"level1"`` (varies by row) or one of ``factors`` (constant within that
        factor's levels). Each is N(0, 1).
    rng : None, int or numpy.random.Generator, default=None
        Source of randomness.

    Returns
    -------
    DataFrame
        Columns: the two factors (labels 1, 2, ...), the predictors, ``y``; ``attrs["truth"]`` holds
        a :class:`Truth` with ``G`` and ``icc`` as dicts by factor.

    Examples
    --------
    >>> df = simulate_crossed((40, 8), fixed={"Intercept": 10}, G=(4.0, 1.0), sigma=2.0, rng=1)
    >>> df.shape, list(df.columns)
    ((320, 4), ['student', 'rater', 'x', 'y'])
    >>> df.attrs["truth"].icc
    {'student': 0.4444444444444444, 'rater': 0.1111111111111111}

    Taught in lesson 07.
    """
    func = "simulate_crossed"
    if not (isinstance(factors, (tuple, list)) and len(factors) == 2 and all(isinstance(f, str) for f in factors)
            and factors[0] != factors[1]):
        raise argument_error(func, "factors", "two different column names", factors, kind=TypeError)
    factors = tuple(factors)
    if not (isinstance(n_levels, (tuple, list, np.ndarray)) and len(n_levels) == 2):
        raise argument_error(func, "n_levels", "a pair of ints (levels of each factor)", n_levels,
                             fix="For example n_levels=(40, 8).", kind=TypeError)
    na = check_positive_int(n_levels[0], func, "n_levels", minimum=2)
    nb = check_positive_int(n_levels[1], func, "n_levels", minimum=2)
    m = check_positive_int(n_per_cell, func, "n_per_cell")
    sigma = _check_sigma(sigma, func)
    predictors = _check_predictors(predictors, ("level1", *factors), func)
    fixed = _check_fixed(fixed, list(predictors), func)
    tau = _factor_variances(G, factors, func)
    rng = check_random_state(rng)
    a = np.repeat(np.arange(na), nb * m)
    b = np.tile(np.repeat(np.arange(nb), m), na)
    n = a.size
    data = pd.DataFrame({factors[0]: a + 1, factors[1]: b + 1})
    codes = {factors[0]: a, factors[1]: b}
    for name, level in predictors.items():
        data[name] = rng.standard_normal(n) if level == "level1" else \
            rng.standard_normal(codes[level].max() + 1)[codes[level]]
    X = np.column_stack([np.ones(n)] + [data[p].to_numpy() for p in predictors])
    u = rng.normal(0.0, np.sqrt(tau[factors[0]]), na)
    v = rng.normal(0.0, np.sqrt(tau[factors[1]]), nb)
    data["y"] = X @ np.array(list(fixed.values())) + u[a] + v[b] + sigma * rng.standard_normal(n)
    total = sum(tau.values()) + sigma ** 2
    data.attrs["truth"] = Truth(fixed=fixed, G=tau, sigma2=sigma ** 2,
                                icc={f: tau[f] / total for f in factors}, random=factors)
    return data


# ----------------------------------------------------------------------------- three levels
def simulate_three_level(n_schools, n_classes, n_pupils, *, fixed, G, sigma, predictors=None, rng=None):
    """Simulate pupils in classes in schools, with random intercepts for schools and classes.

    The model is y_ijk = γ000 + Σ γ x + v_k + u_jk + e_ijk with school effects v_k ~ N(0, τ_school),
    class effects u_jk ~ N(0, τ_class) and e ~ N(0, σ²).

    Parameters
    ----------
    n_schools : int
        Number of schools.
    n_classes : int, sequence of int, or callable
        Classes per school (as ``group_size`` of :func:`simulate_two_level`: one int, one value per
        school, ``f(rng, n)`` or a scipy.stats distribution).
    n_pupils : int, sequence of int, or callable
        Pupils per class (one int, one value per class, or a distribution).
    fixed : dict or sequence of float
        Fixed effects as in :func:`simulate_two_level`.
    G : pair of float or dict
        Variances ``(τ_school, τ_class)`` or ``{"school": ..., "class": ...}``.
    sigma : float
        Pupil-level standard deviation σ.
    predictors : dict, default={"x": "level1"}
        Predictor name → ``"level1"`` (pupil), ``"level2"`` (class) or ``"level3"`` (school); N(0, 1).
    rng : None, int or numpy.random.Generator, default=None
        Source of randomness.

    Returns
    -------
    DataFrame
        Columns ``school``, ``class`` (numbered across schools, so each label is one class),
        the predictors and ``y``; ``attrs["truth"]`` holds a :class:`Truth` whose ``icc`` gives,
        per level, the correlation of two pupils sharing that school (τ_school / total) or class
        ((τ_school + τ_class) / total).

    Examples
    --------
    >>> df = simulate_three_level(10, 3, 8, fixed={"Intercept": 0}, G=(2.0, 1.0), sigma=1.0, rng=4)
    >>> df.shape, df["class"].nunique()
    ((240, 4), 30)
    >>> df.attrs["truth"].icc
    {'school': 0.5, 'class': 0.75}

    Taught in lesson 07.
    """
    func = "simulate_three_level"
    S = check_positive_int(n_schools, func, "n_schools")
    sigma = _check_sigma(sigma, func)
    predictors = _check_predictors(predictors, ("level1", "level2", "level3"), func)
    fixed = _check_fixed(fixed, list(predictors), func)
    tau = _factor_variances(G, ("school", "class"), func)
    rng = check_random_state(rng)
    classes = _sizes(n_classes, S, rng, func, "n_classes")
    school_of_class = np.repeat(np.arange(S), classes)
    C = school_of_class.size
    pupils = _sizes(n_pupils, C, rng, func, "n_pupils")
    cls = np.repeat(np.arange(C), pupils)
    sch = school_of_class[cls]
    n = cls.size
    data = pd.DataFrame({"school": sch + 1, "class": cls + 1})
    for name, level in predictors.items():
        codes, size = {"level1": (np.arange(n), n), "level2": (cls, C), "level3": (sch, S)}[level]
        data[name] = rng.standard_normal(size)[codes]
    X = np.column_stack([np.ones(n)] + [data[p].to_numpy() for p in predictors])
    v = rng.normal(0.0, np.sqrt(tau["school"]), S)
    u = rng.normal(0.0, np.sqrt(tau["class"]), C)
    data["y"] = X @ np.array(list(fixed.values())) + v[sch] + u[cls] + sigma * rng.standard_normal(n)
    total = tau["school"] + tau["class"] + sigma ** 2
    data.attrs["truth"] = Truth(fixed=fixed, G=tau, sigma2=sigma ** 2,
                                icc={"school": tau["school"] / total,
                                     "class": (tau["school"] + tau["class"]) / total},
                                random=("school", "class"))
    return data
