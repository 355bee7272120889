"""Estimate a model design: lme4's penalised least squares (:mod:`mlmlab.pls`, the default, for every design), or,
with ``Control(engine="statsmodels")``, guarded optimisation with statsmodels' ``MixedLM``, started by the engine.

:func:`estimate` takes a :class:`mlmlab.design.ModelDesign` and returns an :class:`Estimate` (the
statsmodels result, the block covariances on the user's scale and a record of every optimizer run).
statsmodels used the obvious way can stop at a wrong answer without a warning (on the High School and
Beyond random-slope model, ``.fit(method="lbfgs")`` reports convergence one to three log-likelihood units
below the optimum, −23357.12, with no warning; where exactly it stops depends on the CPU's numerical
kernels), so mlmlab never trusts a single run.

How a design maps onto statsmodels ``MixedLM`` (built from the design's arrays; the ``.statsmodels``
attribute of a result holds the fitted statsmodels object):

* one grouping factor, one block ``(x | g)``: ``groups=g`` and ``exog_re`` = the block's columns;
* uncorrelated ``(x || g)`` or several blocks of one factor: ``exog_re`` = the first block, and a
  variance component per extra block;
* nested ``(1 | a/b)``: ``groups=a``, a random intercept, and a variance component with one column
  per ``b:a`` group;
* crossed ``(1 | a) + (1 | b)``: a single all-encompassing group, no ``exog_re``, and one
  variance component per factor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams, VCSpec

from mlmlab import engine, pls
from mlmlab._checks import argument_error
from mlmlab.design import ModelDesign, unsupported
from mlmlab.exceptions import ConvergenceWarning, FitError

__all__ = ["Control", "Estimate", "estimate", "statsmodels_model", "statsmodels_fit", "LLF_TOLERANCE", "OPTIMIZERS"]

#: Converged optimizers whose log-likelihoods differ by more than this disagree.
LLF_TOLERANCE = 0.01

#: The optimizer runs tried, in order (each item is passed as ``method=`` to ``MixedLM.fit``).
#: The search stops as soon as two successful runs agree (within ``LLF_TOLERANCE``) on the best
#: log-likelihood seen so far.
OPTIMIZERS = (("powell", "lbfgs"), ("nm", "lbfgs"), ("lbfgs",), ("bfgs",))

#: A random-effect column whose root mean square lies outside [1/RESCALE_RATIO, RESCALE_RATIO] is rescaled
#: when every optimizer failed on the model as given (see :func:`_rescaled_run`).
RESCALE_RATIO = 3.0


@dataclass(frozen=True)
class Control:
    """How :func:`mlmlab.fit` searches for the optimum (lme4's ``lmerControl``).

    Parameters
    ----------
    engine : {"pls", "statsmodels"}
        Who fits the model. ``"pls"`` (default): :mod:`mlmlab.pls`, lme4's penalised least squares for every
        design (one or several grouping factors, nested or crossed), with its own guard: a convergence test from
        a finite-difference gradient and Hessian (lme4's ``checkConv``), Newton steps, and a second optimizer for
        boundary or failed optima; ``m.statsmodels`` is then statsmodels' fit of the same model, made on first
        use. ``"statsmodels"``: the guarded statsmodels runs below (several optimizers, compared, the best
        polished), what lesson 05 takes apart.
    optimizers : tuple of tuple of str
        statsmodels ``MixedLM.fit`` methods tried in order, each a chain such as ``("powell", "lbfgs")``.
    engine_start : bool
        Start a first lbfgs run from the fast engine's estimates where the engine handles the model
        (one grouping factor, one block).
    polish : bool
        Finish the best run (and any converged run that stopped short) with a tight BFGS step.
    llf_tolerance : float
        Converged runs whose log-likelihoods differ by more than this disagree.

    ``optimizers``, ``engine_start``, ``polish`` and ``llf_tolerance`` steer the statsmodels runs only: changing
    them needs ``engine="statsmodels"`` (a ValueError says so otherwise).

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> dye = datasets.load("dyestuff")
    >>> m = fit("Yield ~ 1 + (1 | Batch)", dye)
    >>> round(m.llf, 4), m.optimizer   # lme4: -159.8271
    (-159.8271, 'mlmlab.pls: L-BFGS-B')
    >>> s = fit("Yield ~ 1 + (1 | Batch)", dye,
    ...         control=Control(engine="statsmodels", optimizers=(("lbfgs",), ("bfgs",)), engine_start=False))
    >>> round(s.llf, 4), s.optimizer.startswith(("lbfgs", "bfgs"))
    (-159.8271, True)
    """

    optimizers: tuple = OPTIMIZERS
    engine_start: bool = True
    polish: bool = True
    llf_tolerance: float = LLF_TOLERANCE
    engine: str = "pls"

    def __post_init__(self):
        opts = self.optimizers
        known = {"powell", "lbfgs", "nm", "bfgs", "cg", "newton"}
        if (not isinstance(opts, (tuple, list)) or not opts
                or not all(isinstance(m, (tuple, list)) and m and all(x in known for x in m) for m in opts)):
            raise argument_error("Control", "optimizers", "a non-empty tuple of method chains such as "
                                 "(('powell', 'lbfgs'), ('bfgs',))", opts,
                                 detail=f"each method must be one of {', '.join(sorted(known))}")
        object.__setattr__(self, "optimizers", tuple(tuple(m) for m in opts))
        for name in ("engine_start", "polish"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise argument_error("Control", name, "True or False", getattr(self, name), kind=TypeError)
        tol = self.llf_tolerance
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not np.isfinite(tol) or tol <= 0:
            raise argument_error("Control", "llf_tolerance", "a positive number", tol)
        if self.engine not in ("pls", "statsmodels"):
            raise argument_error("Control", "engine", "'pls' or 'statsmodels'", self.engine)
        changed = [name for name, default in (("optimizers", OPTIMIZERS), ("engine_start", True), ("polish", True),
                                              ("llf_tolerance", LLF_TOLERANCE))
                   if getattr(self, name) != default]
        if self.engine == "pls" and changed:
            raise argument_error("Control", changed[0], "left at its default with engine='pls'", getattr(self, changed[0]),
                                 detail=f"{', '.join(changed)} steer the statsmodels optimizers only",
                                 fix="Add engine='statsmodels' to use them, e.g. "
                                     "Control(engine='statsmodels', optimizers=(('lbfgs',),)).")


@dataclass
class Estimate:
    """What :func:`estimate` found: the statsmodels result or the :mod:`mlmlab.pls` fit, the block covariances and
    the search record."""

    statsmodels: object        # None when mlmlab.pls fitted the design (see statsmodels_fit)
    covariances: list          # one (q, q) covariance matrix per design block, on the data's scale
    optimizer: str
    converged: bool
    messages: list
    runs: list                 # (name, llf, converged, error) per optimizer run
    pls: object = None         # the mlmlab.pls.PLSFit, when it fitted the design

    @property
    def beta(self) -> np.ndarray:
        """Fixed effects, in the order of the design's X columns."""
        return np.asarray(self.pls.beta if self.pls is not None else self.statsmodels.fe_params, dtype=float)

    @property
    def sigma2(self) -> float:
        """Residual variance."""
        return float(self.pls.sigma2 if self.pls is not None else self.statsmodels.scale)

    @property
    def llf(self) -> float:
        """Log-likelihood (REML criterion × −½ for REML)."""
        return float(self.pls.llf if self.pls is not None else self.statsmodels.llf)


def estimate(design: ModelDesign, *, reml: bool, control: Control | None = None) -> Estimate:
    """Fit a design by guarded optimisation (see :func:`mlmlab.fit`, Notes)."""
    control = control or Control()
    if control.engine == "pls":
        _statsmodels_plan(design)  # refuses what statsmodels (and so m.statsmodels) cannot express
        return _pls_estimate(design, reml=reml)
    model, layout = statsmodels_model(design)
    start = _start_values(design, layout, model, reml=reml) if control.engine_start else None
    sm_result, info = _guarded_fit(model, reml=reml, start_params=start, control=control)
    return Estimate(statsmodels=sm_result, covariances=_block_covariances(sm_result, layout), **info)


def _pls_estimate(design: ModelDesign, *, reml: bool) -> Estimate:
    """The design fitted by :func:`mlmlab.pls.fit`; a ConvergenceWarning when its optimum fails the convergence test."""
    fit = pls.fit(design, reml=reml)
    messages = []
    if not fit.converged:
        msg = ("The optimum found did not pass the convergence test (a Newton step from it would still lower the "
               f"deviance by more than 1e-6; runs: {', '.join(r[0] for r in fit.runs)}). The numbers below are the "
               "best attempt and may be wrong. Simplify the random effects, centre or rescale the predictors, or "
               "check the data.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        messages.append(msg)
    runs = [(name, -0.5 * dev, conv, "") for name, dev, conv, _ in fit.runs]
    return Estimate(statsmodels=None, covariances=[np.asarray(c, dtype=float) for c in fit.covariances],
                    optimizer="mlmlab.pls: " + fit.optimizer, converged=fit.converged, messages=messages, runs=runs,
                    pls=fit)


def statsmodels_fit(design: ModelDesign, est: Estimate, *, reml: bool):
    """statsmodels' fit of a design that :mod:`mlmlab.pls` fitted, started at the PLS optimum (one L-BFGS run;
    the guarded runs if it fails). What ``MixedResult.statsmodels`` gives for such a model, on first use."""
    model, layout = statsmodels_model(design)
    fit = est.pls
    names = list(model.exog_vc.names) if model.exog_vc is not None else []
    cov_re, vcomp = None, np.zeros(len(names))
    for source, cov in zip(layout.sources, fit.covariances):
        if source[0] == "re":
            cov_re = np.asarray(cov, dtype=float) / fit.sigma2
        else:
            vcomp[names.index(source[1])] = float(cov[0, 0]) / fit.sigma2
    # a tiny floor keeps statsmodels' square-root parameterisation defined at a zero variance
    vcomp = np.maximum(vcomp, 1e-8)
    if cov_re is not None:
        cov_re = cov_re + 1e-8 * np.eye(cov_re.shape[0])
    start = MixedLMParams.from_components(fe_params=fit.beta, cov_re=cov_re, vcomp=vcomp).get_packed(
        use_sqrt=model.use_sqrt, has_fe=False)
    run = _run(model, ("lbfgs",), reml=reml, start_params=start)
    if run.ok:
        return run.result
    return _guarded_fit(model, reml=reml, control=Control())[0]


# --------------------------------------------------------------------------- statsmodels layout

@dataclass
class _Layout:
    """Where each design block sits in the statsmodels model: ``("re", None)`` or ``("vc", name)``."""

    sources: list
    sm_codes: np.ndarray       # statsmodels group index of every row
    single_block: bool         # one grouping factor with one block, in exog_re (the engine can start it)


def statsmodels_model(design: ModelDesign):
    """The statsmodels ``MixedLM`` of a design, built from its arrays, and the block layout.

    Raises
    ------
    ValueError
        A random-effects structure statsmodels cannot express (two correlated blocks for one factor,
        correlated random effects of a factor that is not the outermost).
    """
    parsed = design.parsed
    top, top_idx, order, multi = _statsmodels_plan(design)
    frame = design.frame
    n = design.nobs
    sources = [None] * len(design.blocks)
    if top is None:
        groups = np.ones(n, dtype=np.int64)
        sm_codes = np.zeros(n, dtype=int)
        group_name = "Group"
    else:
        groups = np.asarray(frame[top[0]]) if len(top) == 1 else np.asarray(
            design.group_labels(":".join(top)).to_numpy(dtype=object))
        group_name = top[0] if len(top) == 1 else "_mlmlab_" + "_".join(top)
        _, sm_codes = np.unique(groups.astype(str), return_inverse=True)
    exog_re = None
    re_index = (multi[0] if multi else order[0]) if order else None
    if re_index is not None:
        b = design.blocks[re_index]
        names = [group_name if nm == "(Intercept)" else nm for nm in b.names]
        exog_re = pd.DataFrame(b.Z, index=frame.index, columns=names)
        sources[re_index] = ("re", None)
    vc_blocks = [k for k in range(len(design.blocks)) if sources[k] is None]
    exog_vc = _vc_spec(design, vc_blocks, groups, sparse_mats=top is None) if vc_blocks else None
    for k in vc_blocks:
        sources[k] = ("vc", design.blocks[k].group)
    # statsmodels gets row positions as its index (the user's index labels may repeat).
    X = pd.DataFrame(design.X.to_numpy(), index=frame.index, columns=design.X.columns)
    model = MixedLM(pd.Series(design.y, index=frame.index, name=design.outcome), X, groups,
                    exog_re=exog_re, exog_vc=exog_vc)
    single = len(design.blocks) == 1 and re_index == 0
    return model, _Layout(sources, np.asarray(sm_codes, dtype=int), single)


def _statsmodels_plan(design: ModelDesign):
    """(outermost factor, its blocks, their formula order, those with several columns); raises the error for a
    random-effects structure statsmodels cannot express (also for :mod:`mlmlab.pls` fits, whose ``m.statsmodels``
    must exist)."""
    parsed = design.parsed
    top = design.outermost_factor()
    top_idx = [k for k, b in enumerate(design.blocks) if b.term.factors == top] if top is not None else []
    # design.blocks are sorted by number of groups; statsmodels' re/vc choice follows the formula's order.
    order = sorted(top_idx, key=lambda k: parsed.random.index(design.blocks[k].term)) if top_idx else []
    multi = [k for k in order if design.blocks[k].Z.shape[1] > 1]
    if len(multi) > 1:
        extra = design.blocks[next((k for k in multi if not design.blocks[k].term.correlated), multi[1])]
        if not extra.term.correlated:
            unsupported(parsed, f"the uncorrelated term '{extra.term.design}' for '{extra.group}' expands to "
                                 f"{extra.Z.shape[1]} columns (a categorical variable), so this factor would get two "
                                 "blocks of correlated random effects; || splits terms, not the columns of a factor "
                                 "(as in lme4)")
        unsupported(parsed, f"'{extra.group}' has two blocks of correlated random effects; combine them into "
                             "one term, as in (1 + x + z | g), or split them with ||")
    for k, b in enumerate(design.blocks):
        if k not in top_idx and b.Z.shape[1] > 1:
            unsupported(parsed, f"the term for '{b.group}' has correlated random effects "
                                 f"({', '.join(b.names)}), which are supported only for the outermost "
                                 "grouping factor; write it with || (uncorrelated) instead")
    return top, top_idx, order, multi


def _vc_spec(design: ModelDesign, blocks, groups, *, sparse_mats: bool) -> VCSpec:
    """Variance components of the blocks not in ``exog_re``: per statsmodels group, the block's columns spread
    over the levels present in that group (an indicator per level, times the slope for a slope term)."""
    labels = sorted(set(groups.tolist()))
    rows_of = {g: [] for g in labels}
    for i, g in enumerate(groups.tolist()):
        rows_of[g].append(i)
    names, colnames, mats = [], [], []
    for k in sorted(blocks, key=lambda k: design.blocks[k].group):  # statsmodels sorts its components by name
        b = design.blocks[k]
        same_factor = b.term.factors == design.outermost_factor()
        per_cols, per_mats = [], []
        for g in labels:
            rows = np.asarray(rows_of[g])
            if same_factor:  # a further block of the grouping factor itself: its columns as they are
                mat = b.Z[rows]
                cols = list(b.names)
            else:  # one column per level of the inner factor present in this group
                present = np.unique(b.codes[rows])
                ind = (b.codes[rows][:, None] == present[None, :]).astype(float)
                mat = ind * b.Z[rows]  # Z is the intercept (ones) or the one slope column
                cols = [f"{b.group}[{b.labels[c]}]" for c in present]
            per_cols.append(cols)
            per_mats.append(sparse.csr_array(mat) if sparse_mats else np.asarray(mat))
        names.append(b.group)
        colnames.append(per_cols)
        mats.append(per_mats)
    return VCSpec(names, colnames, mats)


def _block_covariances(res, layout: _Layout) -> list:
    out = []
    names = list(res.model.exog_vc.names)
    for source in layout.sources:
        if source[0] == "re":
            out.append(np.asarray(res.cov_re, dtype=float))
        else:
            out.append(np.array([[float(res.vcomp[names.index(source[1])])]]))
    return out


# --------------------------------------------------------------------------- optimisation

def _start_values(design: ModelDesign, layout: _Layout, model: MixedLM, *, reml: bool):
    """Start values for statsmodels (packed, relative scale), or None for its defaults.

    For one grouping factor with one block of random effects, :mod:`mlmlab.engine` (a fast
    profiled-likelihood fit) supplies them; its run must still agree with powell→lbfgs.
    """
    if not layout.single_block:
        return None
    try:
        sv = engine.start_values_for(np.asarray(model.endog, dtype=float), np.asarray(model.exog, dtype=float),
                                     design.blocks[0].Z, layout.sm_codes, reml=reml)
        cov_re = np.asarray(sv["cov_re"], dtype=float)
        if not np.all(np.isfinite(cov_re)):
            return None
        # A tiny ridge keeps statsmodels' Cholesky (square-root) parameterisation defined at a boundary.
        cov_re = cov_re + 1e-8 * np.eye(cov_re.shape[0])
        params = MixedLMParams.from_components(fe_params=np.asarray(sv["beta"], dtype=float), cov_re=cov_re)
        return params.get_packed(use_sqrt=model.use_sqrt, has_fe=False)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None


@dataclass
class _Run:
    method: tuple
    result: object = None
    llf: float = np.nan
    converged: bool = False
    error: str = ""
    warnings: list = field(default_factory=list)
    label: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.converged and np.isfinite(self.llf)

    @property
    def name(self) -> str:
        return self.label or "→".join(self.method)


def _run(model: MixedLM, method, *, reml: bool, start_params=None, label=None, **kwargs) -> _Run:
    run = _Run(tuple(method), label=label)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(method=list(method), reml=reml, start_params=start_params, **kwargs)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError) as exc:
            run.error = f"{type(exc).__name__}: {exc}"
            return run
    run.result, run.llf = res, float(res.llf)
    run.converged = bool(res.converged)
    run.warnings = list(dict.fromkeys(str(w.message) for w in caught))
    return run


def _settled(runs, tol: float) -> bool:
    good = [r.llf for r in runs if r.ok]
    return len(good) >= 2 and sum(v >= max(good) - tol for v in good) >= 2


def _guarded_fit(model: MixedLM, *, reml: bool, start_params=None, control: Control):
    """Run several optimizers, keep the best, polish it; return (statsmodels result, info dict)."""
    tol = control.llf_tolerance
    runs = []
    plan = [(("lbfgs",), start_params, "engine start→lbfgs")] if start_params is not None else []
    plan += [(m, None, None) for m in control.optimizers]
    for method, start, label in plan:
        runs.append(_run(model, method, reml=reml, start_params=start, label=label))
        if _settled(runs, tol):
            break
    messages = []
    good = [r for r in runs if r.ok]
    if not good:
        rescaled = _rescaled_run(model, reml=reml, control=control)
        if rescaled is not None:
            runs.append(rescaled)
            if rescaled.ok:
                good = [rescaled]
                messages.append(
                    "Every optimizer failed on the random-effect columns as given (their values are large or small); "
                    "mlmlab fitted the model with those columns rescaled to unit size and finished on your scale from "
                    f"that optimum ({rescaled.name}). The numbers are on your scale."
                )
    if good:
        best = max(good, key=lambda r: r.llf)
        converged = True
    else:
        usable = [r for r in runs if r.result is not None and np.isfinite(r.llf)]
        if not usable:
            errors = "; ".join(f"{r.name}: {r.error or 'log-likelihood ' + str(r.llf)}" for r in runs)
            raise FitError(
                "fit could not estimate this model: no optimizer produced a finite log-likelihood "
                f"({errors}). Simplify the random effects (e.g. drop a random slope) or rescale the predictors."
            )
        best = max(usable, key=lambda r: r.llf)
        converged = False
        msg = ("No optimizer converged (tried " + ", ".join(r.name for r in runs) + "). The numbers below are "
               "the best attempt and may be wrong. Simplify the random effects, centre or rescale the "
               "predictors, or check the data.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        messages.append(msg)
    chosen = best
    if converged and control.polish:
        chosen = _polish(model, best, reml=reml)
        for run in good:
            if run is best or run.llf >= chosen.llf - tol:
                continue
            again = _polish(model, run, reml=reml)
            if again.llf > chosen.llf + tol:
                chosen = again
            if again.llf >= chosen.llf - tol:
                messages.append(
                    f"{run.name} first stopped at log-likelihood {run.llf:.2f} although it reported convergence; "
                    f"polishing from there reached the best value, {chosen.llf:.2f}. This is why mlmlab never "
                    "trusts a single optimizer run."
                )
            else:
                messages.append(_disagreement(chosen, run.name, again.llf))
    elif converged:
        messages += [_disagreement(chosen, run.name, run.llf) for run in good if run.llf < chosen.llf - tol]
    messages.extend(_translate(chosen.warnings))
    info = {"optimizer": chosen.name, "converged": converged, "messages": messages,
            "runs": [(r.name, r.llf, r.converged, r.error) for r in runs]}
    return chosen.result, info


def _disagreement(chosen: _Run, name: str, llf: float) -> str:
    """Warn (ConvergenceWarning) that a converged run stopped short of the kept one; return the message."""
    msg = (f"Optimizers disagreed: {chosen.name} reached log-likelihood {chosen.llf:.2f} but {name} "
           f"stopped at {llf:.2f} and reported convergence. mlmlab kept the best fit "
           f"({chosen.name}); a single optimizer run can stop at a wrong answer without warning.")
    warnings.warn(msg, ConvergenceWarning, stacklevel=5)
    return msg


def _rms(mat) -> np.ndarray:
    """Root mean square of each column of a dense or sparse matrix (1 for an all-zero column)."""
    sq = mat.multiply(mat).mean(axis=0) if sparse.issparse(mat) else np.mean(np.asarray(mat, dtype=float) ** 2, axis=0)
    out = np.sqrt(np.asarray(sq, dtype=float).ravel())
    return np.where(out > 0, out, 1.0)


def _rescaled_run(model: MixedLM, *, reml: bool, control: Control | None = None):
    """Fit ``model`` with its random-effect columns scaled to unit size, then finish on the user's scale.

    A random slope on a covariate with SD ≈ 10 whose variance is zero at the optimum can make every
    statsmodels optimizer fail (singular matrices on the way to the boundary), while the same model on
    x/10 fits. Scaling column c by 1/s_c changes nothing but the parameterisation: the covariance of
    the scaled effects is D G D with D = diag(s), so G = D⁻¹ G_scaled D⁻¹ (a variance component: v/s²).
    The optimizers run on the scaled model; its best optimum, mapped back, is the start of an lbfgs run
    (and the polish) on ``model`` itself, so the result is an ordinary fit of ``model``.

    Returns
    -------
    _Run or None
        The run on ``model`` started at the scaled optimum; None when no column is badly scaled
        (rescaling cannot help) or no scaled run converged.
    """
    control = control or Control()
    vc = model.exog_vc
    re_scale = _rms(model.exog_re) if model.exog_re is not None else np.ones(0)
    vc_scale = [float(np.sqrt(np.mean([np.mean(np.square(_rms(m))) for m in mats]))) for mats in vc.mats]
    every = np.concatenate([re_scale, vc_scale])
    if not np.any((every > RESCALE_RATIO) | (every < 1 / RESCALE_RATIO)):
        return None
    scaled = MixedLM(model.endog, model.exog, model.groups,
                     exog_re=model.exog_re / re_scale if model.exog_re is not None else None,
                     exog_vc=VCSpec(vc.names, vc.colnames, [[m / c for m in mats] for mats, c in zip(vc.mats, vc_scale)]),
                     use_sqrt=model.use_sqrt)
    runs = [_run(scaled, method, reml=reml) for method in control.optimizers]
    ok = [r for r in runs if r.ok]
    if not ok:
        return None
    best = max(ok, key=lambda r: r.llf).result.params_object  # relative to σ², like statsmodels' packed parameters
    cov_re = best.cov_re / np.outer(re_scale, re_scale)
    vcomp = np.asarray(best.vcomp, dtype=float) / np.square(vc_scale)
    # A tiny floor keeps statsmodels' square-root parameterisation defined at a zero variance.
    cov_re = cov_re + 1e-8 * np.eye(cov_re.shape[0]) * max(float(np.max(np.diag(cov_re), initial=0.0)), 1.0)
    vcomp = np.maximum(vcomp, 1e-8 * max(float(np.max(vcomp, initial=0.0)), 1.0))
    start = MixedLMParams.from_components(fe_params=np.asarray(best.fe_params, dtype=float), cov_re=cov_re,
                                          vcomp=vcomp).get_packed(use_sqrt=model.use_sqrt, has_fe=False)
    return _run(model, ("lbfgs",), reml=reml, start_params=start, label="rescaled start→lbfgs")


def _polish(model: MixedLM, run: _Run, *, reml: bool) -> _Run:
    """A tight BFGS step from a run's optimum; the run itself if that does not help."""
    packed = run.result.params_object.get_packed(use_sqrt=model.use_sqrt, has_fe=False)
    polished = _run(model, ("bfgs",), reml=reml, start_params=packed, gtol=1e-6,
                    label=run.name + " (polished with bfgs)")
    return polished if polished.ok and polished.llf >= run.llf - 1e-8 else run


_TRANSLATIONS = (
    ("Hessian matrix at the estimated parameter values is not positive definite",
     "statsmodels could not compute standard errors for the variance parameters (its Hessian is not "
     "positive definite), usually because a variance is at or near zero. The fixed-effect standard "
     "errors in .fixed do not depend on it."),
    ("covariance matrix is singular", "The random-effects covariance matrix is singular: a variance is zero "
     "or two random effects are perfectly correlated."),
    ("Random effects covariance is singular", "The random-effects covariance matrix is singular: a variance "
     "is zero or two random effects are perfectly correlated."),
)


def _translate(raw) -> list:
    out = []
    for text in raw:
        for key, plain in _TRANSLATIONS:
            if key in text:
                if plain not in out:
                    out.append(plain)
                break
    return out
