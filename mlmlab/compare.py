"""Compare nested mixed models with likelihood-ratio tests, like lme4's ``anova()``.

Two rules make the comparison honest:

* Models must be fitted to the **same rows** of the same outcome.
* REML likelihoods are comparable only between models with the **same fixed effects**. When the
  fixed effects differ, :func:`compare` refits REML models by maximum likelihood (``refit=True``,
  the default, as lme4 does) or refuses (``refit=False``).

When two neighbouring models differ only in their random effects, the tested variance sits on the
boundary of its parameter space (a variance cannot be negative), and the naive χ² p-value is too
large. The ``p_boundary`` column gives the 50:50 mixture of Self & Liang (1987) and Stram & Lee
(1994): adding one random effect to a block of q correlated ones gives
0.5·P(χ²_q > LR) + 0.5·P(χ²_{q+1} > LR).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import MlmlabInputError, argument_error, check_positive_int, check_random_state
from mlmlab.boundary import mixture_pvalue
from mlmlab.resample import refit_outcomes, simulate_outcomes
from mlmlab.result import MixedResult

__all__ = ["compare", "bootstrap_lrt", "mixture_pvalue"]

_COLUMNS = ["npar", "aic", "bic", "llf", "deviance", "chisq", "df", "p", "p_boundary"]


def compare(*results, names=None, refit=True) -> pd.DataFrame:
    """Likelihood-ratio comparison of nested mixed models (lme4's ``anova()``).

    Parameters
    ----------
    *results : MixedResult
        Two or more fits of the same outcome on the same rows, from :func:`mlmlab.fit`.
    names : list of str, optional
        Row labels; by default the models' formulas.
    refit : bool, default=True
        When REML fits differ in their fixed effects (or REML and ML fits are mixed), refit them
        with maximum likelihood (said in a UserWarning and in ``df.attrs["notes"]``). With
        ``refit=False`` such a comparison is refused.

    Returns
    -------
    pandas.DataFrame
        One row per model, ordered by number of parameters, indexed by name, with columns
        ``npar``, ``aic``, ``bic``, ``llf``, ``deviance`` and, comparing each model with the row
        above, ``chisq`` (2 × gain in log-likelihood), ``df`` (extra parameters), ``p`` (naive χ²
        p-value) and ``p_boundary`` (the 50:50 χ² mixture p-value when the two models differ only
        in one random effect; NaN otherwise). ``attrs["notes"]`` lists what was done.

    Raises
    ------
    TypeError
        An argument is not a MixedResult.
    ValueError
        Fewer than two models; different outcomes or rows; REML fits with different fixed
        effects and ``refit=False``; ``names`` of the wrong length.

    Notes
    -----
    Unlike lme4, REML fits that share their fixed effects are compared as they are (their REML
    likelihoods are comparable, and REML is the better choice for testing random effects); lme4
    refits them with ML unless told ``refit = FALSE``.

    Examples
    --------
    >>> from mlmlab import fit, compare, datasets
    >>> hsb = datasets.load("hsb")
    >>> ri = fit("MathAch ~ cses + (1 | School)", hsb)
    >>> rs = fit("MathAch ~ cses + (cses | School)", hsb)
    >>> table = compare(ri, rs, names=["intercepts", "slopes"])
    >>> table[["npar", "chisq", "df", "p", "p_boundary"]].round(4)
                npar   chisq   df       p  p_boundary
    model
    intercepts     4     NaN  NaN     NaN         NaN
    slopes         6  9.7617  2.0  0.0076      0.0047

    Taught in lesson 06.
    """
    if len(results) == 1 and isinstance(results[0], (list, tuple)):
        results = tuple(results[0])
    for k, r in enumerate(results):
        if not isinstance(r, MixedResult):
            raise argument_error("compare", "results", "fits returned by mlmlab.fit", r,
                                 detail=f"argument {k + 1} is a {type(r).__name__}", kind=TypeError)
    if len(results) < 2:
        raise argument_error("compare", "results", "at least two fitted models", len(results),
                             fix="Pass the models to compare, e.g. compare(m0, m1).")
    if not isinstance(refit, (bool, np.bool_)):
        raise argument_error("compare", "refit", "True or False", refit, kind=TypeError)
    names = _names(results, names)
    _check_same_data(results, names)
    results, notes = _likelihood_scale(list(results), names, refit)
    order = sorted(range(len(results)), key=lambda k: results[k].npar)
    rows = []
    for pos, k in enumerate(order):
        r = results[k]
        row = {"npar": r.npar, "aic": r.aic, "bic": r.bic, "llf": r.llf, "deviance": r.deviance,
               "chisq": np.nan, "df": np.nan, "p": np.nan, "p_boundary": np.nan}
        if pos > 0:
            prev = results[order[pos - 1]]
            chisq = 2.0 * max(0.0, r.llf - prev.llf)
            df = r.npar - prev.npar
            row["chisq"], row["df"] = chisq, float(df)
            row["p"] = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
            q = _boundary_q(prev, r)
            if q is not None and df == q + 1:
                row["p_boundary"] = mixture_pvalue(chisq, q)
                notes.append(f"p_boundary for {names[k]!r}: the models differ only in one random effect added to "
                             f"{q} correlated one(s), so 0.5·P(χ²_{q} > LR) + 0.5·P(χ²_{q + 1} > LR).")
        rows.append(row)
    out = pd.DataFrame(rows, index=pd.Index([names[k] for k in order], name="model"), columns=_COLUMNS)
    out["npar"] = out["npar"].astype(int)
    out.attrs["notes"] = notes
    return out


def bootstrap_lrt(reduced, full, *, n=500, rng=None, progress=False) -> pd.DataFrame:
    """Parametric bootstrap likelihood-ratio test of two nested models (pbkrtest's ``PBmodcomp``).

    The observed LR = 2(ℓ_full − ℓ_reduced) is compared with its distribution when the reduced model is
    true: ``n`` data sets are simulated from the reduced fit (its fixed effects, random-effect covariances
    and residual variance, on the same rows and groups), both models are refitted to each, and the p-value
    is the share of simulated LRs at least as large as the observed one, (1 + #{LR* ≥ LR}) / (1 + n). No
    χ² approximation and no boundary correction is needed, so it suits tests of variances, of several
    parameters at once and small samples alike.

    Parameters
    ----------
    reduced, full : MixedResult
        Fits from :func:`mlmlab.fit` of the same outcome on the same rows, ``full`` containing every term of
        ``reduced`` and more. Both fitted by maximum likelihood, or both by REML with the same fixed effects
        (a test of random effects only; REML likelihoods of different fixed effects are not comparable).
    n : int, default=500
        Number of simulated data sets (at least 20).
    rng : int or numpy.random.Generator, optional
        Seed or generator for the simulation.
    progress : bool, default=False
        Show a progress bar (the refits of models with several grouping factors take a while).

    Returns
    -------
    pandas.DataFrame
        One row: ``lr`` (observed), ``df`` (extra parameters), ``p_chisq`` (naive χ² p-value),
        ``p_boundary`` (the χ² mixture where :func:`compare` gives one, else NaN), ``p_boot``,
        ``n_boot`` (simulated data sets whose refits succeeded) and ``n_failed``.
        ``attrs["null"]`` holds the simulated LRs, ``attrs["notes"]`` what was done.

    Raises
    ------
    TypeError
        ``reduced`` or ``full`` is not a MixedResult.
    ValueError
        Different outcomes or rows; models that are not nested; REML fits with different fixed effects, or a
        REML and an ML fit (the message says how to refit); ``n`` below 20.

    Notes
    -----
    Models with one grouping factor and one block of random effects are refitted by the fast engine
    (:mod:`mlmlab.engine`, all data sets at once); other models by the guarded optimisers, one data set at
    a time, on the designs of the fits (the formula is not read again).

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> sleep = datasets.load("sleepstudy")
    >>> ri = fit("Reaction ~ Days + (1 | Subject)", sleep)
    >>> rs = fit("Reaction ~ Days + (Days | Subject)", sleep)
    >>> test = bootstrap_lrt(ri, rs, n=200, rng=1)
    >>> test[["lr", "df", "p_boot", "n_boot"]].round(3)
           lr  df  p_boot  n_boot
    0  42.837   2   0.005     200

    Taught in lesson 06.
    """
    for arg, value in (("reduced", reduced), ("full", full)):
        if not isinstance(value, MixedResult):
            raise argument_error("bootstrap_lrt", arg, "a fit returned by mlmlab.fit", value, kind=TypeError)
    n = check_positive_int(n, "bootstrap_lrt", "n", minimum=20)
    if not isinstance(progress, (bool, np.bool_)):
        raise argument_error("bootstrap_lrt", "progress", "True or False", progress, kind=TypeError)
    rng = check_random_state(rng)
    _check_same_data([reduced, full], ["reduced", "full"])
    _check_alike(reduced, full)
    df = full.npar - reduced.npar
    if df <= 0:
        raise argument_error("bootstrap_lrt", "full", "the larger of two nested models", full.formula,
                             detail=f"it has {full.npar} parameters and the reduced model {reduced.npar}",
                             fix="Pass the simpler model first: bootstrap_lrt(reduced, full).")
    _check_nested(reduced, full)
    notes = ["REML likelihoods (same fixed effects)" if reduced.reml else "maximum likelihood (ML) fits"]
    lr = 2.0 * max(0.0, full.llf - reduced.llf)
    Y = simulate_outcomes(reduced, n, rng)
    null, failed = _null_lrs(reduced, full, Y, progress)
    q = _boundary_q(reduced, full)
    out = pd.DataFrame({
        "lr": [lr], "df": [int(df)], "p_chisq": [float(stats.chi2.sf(lr, df))],
        "p_boundary": [mixture_pvalue(lr, q) if q is not None and df == q + 1 else np.nan],
        "p_boot": [(1 + int(np.sum(null >= lr - 1e-9))) / (1 + len(null))],
        "n_boot": [len(null)], "n_failed": [failed],
    })
    notes.append(f"{len(null)} data sets simulated from the reduced model, both models refitted"
                 + (f"; {failed} refit(s) failed and were left out" if failed else ""))
    out.attrs["null"], out.attrs["notes"] = null, notes
    return out


def _check_alike(reduced, full) -> None:
    """Both ML, or both REML with the same fixed effects: otherwise their likelihoods are not comparable."""
    if reduced.reml == full.reml and (not reduced.reml or _fixed_signature(reduced) == _fixed_signature(full)):
        return
    problem = ("these REML fits differ in their fixed effects, so their REML likelihoods are not comparable"
               if reduced.reml and full.reml else "one model is fitted by REML and the other by ML")
    raise MlmlabInputError(
        f"bootstrap_lrt cannot compare them: {problem}. Refit both by maximum likelihood, e.g. "
        "bootstrap_lrt(reduced.refit(reml=False), full.refit(reml=False)); for tests of random effects alone, "
        "REML fits with the same fixed effects are fine."
    )


def _random_names(result) -> dict:
    """Grouping factor → the set of its random-effect names."""
    out = {}
    for b in result.design.blocks:
        out.setdefault(b.factor, set()).update(b.names)
    return out


def _check_nested(reduced, full) -> None:
    """The reduced model's fixed effects and random effects must all be in the full model."""
    missing = [f"fixed effect {t!r}" for t in reduced.fixef.index if t not in set(full.fixef.index)]
    small, big = _random_names(reduced), _random_names(full)
    for factor, names in small.items():
        missing += [f"random effect {n!r} of {factor!r}" for n in sorted(names - big.get(factor, set()))]
    if missing:
        raise argument_error("bootstrap_lrt", "full", "a model that contains the reduced one (nested models)",
                             full.formula, detail="the reduced model has " + ", ".join(missing) + " and the full "
                             "model does not", fix="Add those terms to the full model, or compare non-nested models "
                             "by AIC/BIC (compare() prints them).")


def _null_lrs(reduced, full, Y, progress):
    """Simulated LRs (data sets whose refits failed left out) and the number of failures."""
    pair = [refit_outcomes(r, Y, progress=progress) for r in (reduced, full)]
    lr = 2.0 * (pair[1].llf - pair[0].llf)
    ok = np.isfinite(lr)
    return np.maximum(lr[ok], 0.0), int((~ok).sum())


# --------------------------------------------------------------------------- helpers

def _names(results, names):
    if names is None:
        names = [r.formula for r in results]
        if len(set(names)) < len(names):
            names = [f"model {k + 1}: {n}" for k, n in enumerate(names)]
        return names
    names = [str(n) for n in names] if isinstance(names, (list, tuple)) else names
    if not isinstance(names, list) or len(names) != len(results):
        raise argument_error("compare", "names", f"a list of {len(results)} labels, one per model", names)
    if len(set(names)) < len(names):
        raise argument_error("compare", "names", "distinct labels", names)
    return names


def _check_same_data(results, names):
    first = results[0]
    y0 = first.design.y
    outcome0 = first.design.outcome
    for name, r in zip(names[1:], results[1:]):
        outcome = r.design.outcome
        if outcome != outcome0:
            raise argument_error(
                "compare", "results", "fits of the same outcome", name,
                detail=f"it models {outcome!r} but {names[0]!r} models {outcome0!r}",
                fix="Likelihoods of different outcomes cannot be compared.",
            )
        same_rows = r.nobs == first.nobs and r.data.index.equals(first.data.index)
        if not same_rows or not np.array_equal(r.design.y, y0):
            raise argument_error(
                "compare", "results", "fits to the same rows of data", name,
                detail=f"it uses {r.nobs} rows and {names[0]!r} uses {first.nobs}" if r.nobs != first.nobs
                else f"it uses other rows (or other values of {outcome!r}) than {names[0]!r}",
                fix="Fit every model to the same data; drop rows with missing values in any model's columns "
                    "first, e.g. data.dropna(subset=[...]).",
            )


def _fixed_signature(r) -> tuple:
    return tuple(sorted(r.fixef.index))


def _likelihood_scale(results, names, refit):
    notes = []
    remls = [r.reml for r in results]
    same_fixed = len({_fixed_signature(r) for r in results}) == 1
    if all(remls) and same_fixed:
        notes.append("All fits use REML and share their fixed effects, so their REML likelihoods are compared.")
        return results, notes
    if not any(remls):
        notes.append("All fits use maximum likelihood (ML).")
        return results, notes
    if all(remls):
        problem = "These fits use REML and differ in their fixed effects, so their likelihoods are not comparable."
    else:
        problem = "Some fits use REML and some ML, so their likelihoods are not comparable."
    if not refit:
        raise MlmlabInputError(problem + " Refit both with reml=False, or let compare() do it with refit=True.")
    msg = problem + " compare() refitted the REML fits with maximum likelihood (reml=False), as lme4's anova() does."
    warnings.warn(msg, UserWarning, stacklevel=3)
    notes.append(msg)
    return [r.refit(reml=False) if r.reml else r for r in results], notes


def _blocks(r) -> dict:
    """Grouping factor → sorted list of its blocks' term names."""
    out = {}
    for b in r.design.blocks:
        out.setdefault(b.factor, []).append(tuple(b.names))
    return {k: sorted(v) for k, v in out.items()}


def _boundary_q(small, big):
    """q when ``big`` = ``small`` plus one random effect (in a block of q correlated ones), else None."""
    if _fixed_signature(small) != _fixed_signature(big):
        return None
    a, b = _blocks(small), _blocks(big)
    if not set(a) <= set(b):
        return None
    diffs = []
    for factor in b:
        sa, sb = list(a.get(factor, [])), list(b[factor])
        for blk in list(sa):
            if blk in sb:
                sb.remove(blk)
                sa.remove(blk)
        diffs.append((factor, sa, sb))
    changed = [(f, sa, sb) for f, sa, sb in diffs if sa or sb]
    if len(changed) != 1:
        return None
    _, sa, sb = changed[0]
    if not sa and len(sb) == 1 and len(sb[0]) == 1:
        return 0  # a new single random effect, e.g. (1 | g) or (0 + x | g)
    if len(sa) == 1 and len(sb) == 1 and set(sa[0]) < set(sb[0]) and len(sb[0]) == len(sa[0]) + 1:
        return len(sa[0])  # one more random effect in a correlated block
    return None
