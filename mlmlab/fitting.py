"""Fit linear mixed models from lme4-style formulas, with guarded optimisation.

:func:`fit` reads a formula such as ``"MathAch ~ cses + (cses | School)"``, builds the matching
statsmodels ``MixedLM`` (random-effects formula, variance components), and estimates it with
**several** optimizers, keeping the best log-likelihood. statsmodels used the obvious way can stop
at a wrong answer without a warning (on the High School and Beyond random-slope model,
``.fit(method="lbfgs")`` reports convergence one to three log-likelihood units below the optimum,
−23357.12, with no warning; where exactly it stops depends on the CPU's numerical kernels), so mlmlab
never trusts a single run.

How the formula maps onto statsmodels ``MixedLM`` (the ``.statsmodels`` attribute of the result
holds the fitted statsmodels object, so everything can be redone in plain statsmodels):

* one grouping factor, one block ``(x | g)``: ``groups=g, re_formula="1 + x"``;
* uncorrelated ``(x || g)`` or several blocks of one factor: ``groups=g, re_formula="1"`` plus a
  variance component ``"0 + x"`` per extra block;
* nested ``(1 | a/b)``: ``groups=a, re_formula="1"`` plus a variance component with one column
  per ``b:a`` group;
* crossed ``(1 | a) + (1 | b)``: a single all-encompassing group, no ``re_formula``, and one
  variance component per factor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
from scipy import sparse
from statsmodels.regression.mixed_linear_model import MixedLM

from mlmlab._checks import argument_error, check_data, check_numeric_column
from mlmlab.formula import EVAL_ENV, ParsedFormula, RandomTerm, for_patsy, parse_formula, user_name

__all__ = ["fit", "FitError", "LLF_TOLERANCE", "OPTIMIZERS"]

#: Converged optimizers whose log-likelihoods differ by more than this disagree.
LLF_TOLERANCE = 0.01

#: The optimizer runs tried, in order (each item is passed as ``method=`` to ``MixedLM.fit``).
#: The search stops as soon as two successful runs agree (within ``LLF_TOLERANCE``) on the best
#: log-likelihood seen so far.
OPTIMIZERS = (("powell", "lbfgs"), ("nm", "lbfgs"), ("lbfgs",), ("bfgs",))

# Names a formula may use besides columns (patsy also knows C, I, Q, center, standardize, ...).
_EVAL_ENV = EVAL_ENV


_ALL = "_mlmlab_all"  # the constant grouping column used for crossed factors


class FitError(RuntimeError):
    """No optimizer produced a usable fit."""


@dataclass
class _Block:
    """One random-effect block as fitted: its term, its groups and its columns."""

    term: RandomTerm
    codes: np.ndarray          # level index of each row
    levels: list               # level labels (str)
    design_info: object        # patsy DesignInfo of the block's columns
    Zt: np.ndarray             # (n, t) values of the block's columns
    source: tuple              # ("re", None) or ("vc", name)
    parsed: ParsedFormula | None = None  # the user's formula, to spell the names as they were written

    @property
    def names(self) -> list:
        names = ["(Intercept)" if c == "Intercept" else c for c in self.design_info.column_names]
        return names if self.parsed is None else [user_name(c, self.parsed) for c in names]

    @property
    def factor(self) -> str:
        return ":".join(self.term.factors)


@dataclass
class _Spec:
    """The statsmodels layout of a parsed formula on a model frame."""

    parsed: ParsedFormula
    frame: pd.DataFrame
    groups_col: str
    re_formula: str | None
    vc_formula: dict
    blocks: list
    sm_codes: np.ndarray       # statsmodels group index of each row
    notes: list = field(default_factory=list)

    @property
    def patsy(self) -> ParsedFormula:
        """The formula as patsy must read it (see :func:`mlmlab.formula.for_patsy`)."""
        return for_patsy(self.parsed)

    def model(self) -> MixedLM:
        return MixedLM.from_formula(
            self.patsy.fixed_formula, self.frame, groups=self.groups_col, re_formula=self.re_formula,
            vc_formula=self.vc_formula or None, eval_env=_EVAL_ENV,
            # Crossed factors make one big group: sparse variance-component matrices are ~10x faster.
            use_sparse=self.groups_col == _ALL,
        )


def fit(formula, data, *, reml=True):
    """Fit a linear mixed model written in lme4's formula language.

    Parameters
    ----------
    formula : str
        ``outcome ~ fixed part + (terms | group) + ...``. Random-effect terms: ``(1 | g)``,
        ``(x | g)`` (same as ``(1 + x | g)``, correlated), ``(0 + x | g)``, ``(x || g)``
        (uncorrelated), crossed ``(1 | a) + (1 | b)``, nested ``(1 | a/b)`` or ``(1 | a:b)``.
        The fixed part uses the usual formula language (interactions, ``C()``, categorical columns).
    data : pandas.DataFrame
        One row per observation (level-1 unit).
    reml : bool, default=True
        Restricted maximum likelihood (REML, lme4's default) or maximum likelihood (``False``;
        needed to compare models that differ in their fixed effects).

    Returns
    -------
    MixedResult
        Fixed effects with lme4-style standard errors, variance components, BLUPs, fit criteria;
        see :class:`mlmlab.MixedResult`.

    Raises
    ------
    ValueError
        A formula that cannot be read or fitted, a missing or non-numeric column, an infinite value
        in a model column (or one the formula's transformations create, e.g. ``log(0)``), a grouping
        factor with a single level or only one row per level.
    TypeError
        ``data`` is not a DataFrame, ``formula`` is not a string or ``reml`` is not True/False.
    FitError
        No optimizer produced a finite log-likelihood.

    Warns
    -----
    UserWarning
        Rows with missing values in the model's columns were dropped (as lme4's default
        ``na.omit`` does); or optimizers that converged disagree by more than 0.01 in
        log-likelihood; or no optimizer converged.

    Notes
    -----
    Guarded optimisation. For one grouping factor with one block of random effects, a fast
    profiled-likelihood fit (:mod:`mlmlab.engine`) gives start values for a first ``lbfgs`` run.
    Then the runs in ``OPTIMIZERS`` (``["powell", "lbfgs"]``, ``["nm", "lbfgs"]``, ``"lbfgs"``,
    ``"bfgs"``) are tried in order, each with its warnings recorded. A run counts only if it
    converged with a finite log-likelihood (statsmodels can return +inf). The search stops as soon
    as two counted runs agree within 0.01 on the best log-likelihood so far. The best run is
    polished with a tight BFGS step. A counted run that stopped more than 0.01 below the best is
    polished too: if it then reaches the best, ``.messages`` says so; if it still disagrees, a
    UserWarning says so in plain words. ``.optimizer`` names the winning run. If every run fails and a
    random-effect column is badly scaled (e.g. a slope on a covariate with SD 10 whose variance is zero),
    the model is fitted with those columns rescaled and finished on the user's scale from that optimum.

    The formula is read as R reads it: ``I(age^2)`` is a power, ``scale(x)`` divides by the n − 1 SD,
    and columns named like Python keywords (``class``), with dots (``y.val``) or like functions
    (``log``) are quoted for patsy and reported as written. The data's index may repeat labels.

    Examples
    --------
    >>> from mlmlab import datasets
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> round(m.llf, 2)
    -871.81
    >>> m.fixed["estimate"].round(2).tolist()
    [251.41, 10.47]
    >>> m.varcomp[["grp", "var1", "var2"]].fillna("-").values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Subject', '(Intercept)', '-'], ['Subject', 'Days', '-'], ['Subject', '(Intercept)', 'Days'],
     ['Residual', '-', '-']]

    Taught in lesson 02.
    """
    from mlmlab.result import MixedResult  # local import: result.refit() calls fit()

    data = check_data(data, "fit")
    if not isinstance(reml, (bool, np.bool_)):
        raise argument_error("fit", "reml", "True or False", reml, kind=TypeError)
    parsed = parse_formula(formula, func="fit")
    frame, notes = _model_frame(parsed, data)
    spec = _build_spec(parsed, frame, notes)
    try:
        model = spec.model()
    except patsy.PatsyError as exc:
        _unsupported(parsed, f"its fixed part '{parsed.fixed}' cannot be evaluated ({str(exc).splitlines()[0]})")
    _check_finite_design(model, spec, data)
    _check_full_rank(model, parsed)
    sm_result, info = _guarded_fit(model, reml=bool(reml), start_params=_start_values(spec, model, reml=bool(reml)))
    # frame's index holds row positions (the user's index may repeat labels, e.g. after pd.concat).
    return MixedResult._from_fit(spec, sm_result, info, data.iloc[frame.index.to_numpy()], bool(reml))


# --------------------------------------------------------------------------- data checks

def _model_frame(parsed: ParsedFormula, data: pd.DataFrame):
    """Columns the model uses, complete rows only; checks every variable and grouping factor."""
    cols = list(map(str, data.columns))
    names = parsed.variables()
    for name in names:
        if name not in data.columns:
            raise argument_error(
                "fit", "formula", "made of columns of data", parsed.formula,
                detail=f"there is no column {name!r}; columns are: {', '.join(cols)}",
                fix="Check the spelling (names are case-sensitive).", kind=_MissingColumnError,
            )
    check_numeric_column(data, parsed.outcome, "fit", "formula")
    frame = data[names].reset_index(drop=True)  # positions: the user's index labels may repeat
    notes = []
    missing = frame.isna()
    bad = missing.any(axis=1)
    if bad.any():
        counts = missing.sum()
        where = ", ".join(f"{c} ({int(k)})" for c, k in counts.items() if k)
        n_bad, n = int(bad.sum()), len(frame)
        if n_bad == n:
            raise argument_error("fit", "data", "a DataFrame with complete rows for the model's columns", data,
                                 detail=f"every row has a missing value (missing per column: {where})")
        msg = (f"fit dropped {n_bad} of {n} rows with missing values (missing per column: {where}), as lme4 "
               f"does by default (na.omit); the model uses the other {n - n_bad} rows.")
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
        frame = frame.loc[~bad]
    _check_finite_columns(frame, data)
    for factors in dict.fromkeys(t.factors for t in parsed.random):
        labels = _labels(frame, factors)
        name = ":".join(factors)
        n_levels = labels.nunique()
        if n_levels < 2:
            raise argument_error(
                "fit", "formula", "a model whose grouping factors have at least two groups", parsed.formula,
                detail=f"'{name}' has a single group ({labels.iloc[0]!r}), so there is no between-group "
                       "variance to estimate",
                fix="Use a column that identifies the groups, or fit an ordinary regression "
                    "(statsmodels.formula.api.ols).",
            )
        if n_levels == len(frame):
            raise argument_error(
                "fit", "formula", "a model whose groups hold more than one row", parsed.formula,
                detail=f"every group of '{name}' has exactly one row, so the group variance cannot be told "
                       "apart from the residual variance",
                fix="Check that the grouping column is right (an id per group, not per row), or fit an "
                    "ordinary regression (statsmodels.formula.api.ols).",
            )
    return frame, notes


def _check_finite_columns(frame: pd.DataFrame, data: pd.DataFrame) -> None:
    """Refuse ``inf``/``-inf`` in the model's numeric columns, naming the column and its rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The model's columns, complete rows only, indexed by row position in ``data``.
    data : pandas.DataFrame
        The user's data (for the row labels in the message).

    Raises
    ------
    ValueError
        A column holds an infinite value (lme4 refuses them too: "NA/NaN/Inf in 'y'").
    """
    for col in frame.columns:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        bad = np.isinf(values.to_numpy(dtype=float))
        if bad.any():
            raise argument_error(
                "fit", "data", "a DataFrame of finite numbers in the model's columns", data,
                detail=f"column {str(col)!r} holds an infinite value (inf or -inf) in {_rows(data, frame.index[bad])}",
                fix=f"Drop or fix those rows first, e.g. data = data[np.isfinite(data[{str(col)!r}])]; infinite values "
                    "usually come from log(0) or a division by zero.",
            )


def _rows(data: pd.DataFrame, positions) -> str:
    """'2 rows (labels 3, 17)' for rows of ``data`` given by position (at most five labels shown)."""
    labels = [repr(x) if isinstance(x, str) else str(x) for x in data.index[np.asarray(positions)][:5]]
    more = ", ..." if len(positions) > 5 else ""
    n = len(positions)
    return f"{n} row{'s' if n != 1 else ''} (index {', '.join(labels)}{more})"


def _check_finite_design(model: MixedLM, spec: _Spec, data: pd.DataFrame) -> None:
    """Refuse infinite or undefined values that the formula's transformations create (e.g. ``log(0)``).

    Raises
    ------
    ValueError
        A column of the outcome, the fixed-effects design or a random-effects design is not finite.
    """
    parsed = spec.parsed
    pieces = [(f"the outcome {parsed.outcome!r}", np.asarray(model.endog, dtype=float))]
    pieces += [(f"the fixed-effect column {user_name(n, parsed)!r}", np.asarray(model.exog, dtype=float)[:, j])
               for j, n in enumerate(model.exog_names)]
    for b in spec.blocks:
        pieces += [(f"the random-effect column {n!r} of '{b.term.group}'", b.Zt[:, j]) for j, n in enumerate(b.names)]
    for what, values in pieces:
        bad = ~np.isfinite(values)
        if bad.any():
            raise argument_error(
                "fit", "formula", "a model whose columns hold finite numbers", parsed.formula,
                detail=f"{what} is infinite or undefined (nan) in "
                       f"{_rows(data, spec.frame.index[bad])}",
                fix="A transformation in the formula probably met values outside its domain (log(0) = -inf, "
                    "sqrt(-1) = nan); drop those rows or change the transformation, e.g. log(x + 1).",
            )


class _MissingColumnError(KeyError, ValueError):
    """A formula names a column the data does not have (both a KeyError and a ValueError)."""

    def __str__(self):  # KeyError would otherwise show the message in quotes
        return str(self.args[0])


def _labels(frame: pd.DataFrame, factors) -> pd.Series:
    """Group label of every row for a (possibly combined) grouping factor, lme4-style 'a:b'."""
    out = frame[factors[0]].astype(str)
    for f in factors[1:]:
        out = out + ":" + frame[f].astype(str)
    return out


def _level_codes(frame: pd.DataFrame, factors):
    """(codes, levels): levels in the factor's category order (single categorical) or sorted."""
    labels = _labels(frame, factors)
    if len(factors) == 1 and isinstance(frame[factors[0]].dtype, pd.CategoricalDtype):
        col = frame[factors[0]]
        used = [c for c in col.cat.categories if c in set(col)]
        levels = [str(c) for c in used]
    elif len(factors) == 1 and pd.api.types.is_numeric_dtype(frame[factors[0]]):
        levels = [str(v) for v in np.sort(frame[factors[0]].unique())]
    else:
        levels = sorted(labels.unique())
    index = {lab: k for k, lab in enumerate(levels)}
    return labels.map(index).to_numpy(dtype=int), levels


# --------------------------------------------------------------------------- statsmodels layout

def _nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every level of ``inner`` lies within a single level of ``outer``."""
    pairs = pd.DataFrame({"i": inner, "o": outer}).drop_duplicates()
    return not pairs["i"].duplicated().any()


def _build_spec(parsed: ParsedFormula, frame: pd.DataFrame, notes: list) -> _Spec:
    frame = frame.copy()
    factors = list(dict.fromkeys(t.factors for t in parsed.random))
    codes = {f: _level_codes(frame, f) for f in factors}
    # The statsmodels grouping: a factor that every other factor is nested in, else one big group.
    candidates = [f for f in factors if all(_nested_in(codes[g][0], codes[f][0]) for g in factors)]
    top = min(candidates, key=lambda f: len(codes[f][1])) if candidates else None
    if top is None:
        groups_col = _ALL
        frame[groups_col] = 1
        sm_codes = np.zeros(len(frame), dtype=int)
    else:
        groups_col = top[0] if len(top) == 1 else "_mlmlab_" + "_".join(top)
        if len(top) > 1:
            frame[groups_col] = _labels(frame, top).to_numpy()
        sm_labels = np.asarray(frame[groups_col])
        _, sm_codes = np.unique(sm_labels.astype(str), return_inverse=True)
        # statsmodels sorts its groups by label; map ours onto its order below.
    blocks, re_formula, vc_formula = [], None, {}
    safe = for_patsy(parsed)  # the same terms, spelled for patsy (same order)
    top_terms = [t for t in safe.random if t.factors == top]
    if top_terms:
        designs = [_design(t, frame, parsed) for t in top_terms]
        multi = [k for k, (_, z) in enumerate(designs) if z.shape[1] > 1]
        if len(multi) > 1:
            extra = top_terms[next((k for k in multi if not top_terms[k].correlated), multi[1])]
            width = designs[top_terms.index(extra)][1].shape[1]
            if not extra.correlated:
                _unsupported(parsed, f"the uncorrelated term '{extra.design}' for '{extra.group}' expands to {width} "
                                     "columns (a categorical variable), so this factor would get two blocks of "
                                     "correlated random effects; || splits terms, not the columns of a factor "
                                     "(as in lme4)")
            _unsupported(parsed, f"'{extra.group}' has two blocks of correlated random effects; combine them into "
                                 "one term, as in (1 + x + z | g), or split them with ||")
        re_index = multi[0] if multi else 0
        for k, (term, (di, z)) in enumerate(zip(top_terms, designs)):
            if k == re_index:
                re_formula = term.design
                source = ("re", None)
            else:
                vc_formula[term.group] = term.design
                source = ("vc", term.group)
            c, lev = codes[top]
            blocks.append(_Block(term, c, lev, di, z, source, parsed))
    for term in safe.random:
        if term.factors == top:
            continue
        di, z = _design(term, frame, parsed)
        if z.shape[1] > 1:
            _unsupported(parsed, f"the term for '{term.group}' has correlated random effects "
                                 f"({', '.join(term.names)}), which are supported only for the outermost "
                                 "grouping factor; write it with || (uncorrelated) instead")
        c, lev = codes[term.factors]
        code_col = "_mlmlab_" + term.group.replace(":", "_").replace(".", "_")
        frame[code_col] = c
        piece = f"C({code_col})" if term.intercept else f"C({code_col}):{term.terms[0]}"
        vc_formula[term.group] = "0 + " + piece
        blocks.append(_Block(term, c, lev, di, z, ("vc", term.group), parsed))
    # lme4 lists blocks by decreasing number of groups (stable).
    blocks.sort(key=lambda b: -len(b.levels))
    return _Spec(parsed, frame, groups_col, re_formula, vc_formula, blocks, sm_codes, notes)


def _design(term: RandomTerm, frame: pd.DataFrame, parsed: ParsedFormula):
    try:
        dm = patsy.dmatrix(term.design, frame, eval_env=patsy.EvalEnvironment([_EVAL_ENV]),
                           NA_action="raise", return_type="matrix")
    except patsy.PatsyError as exc:
        _unsupported(parsed, f"the random-effect part '{term.design}' of '{term.group}' cannot be "
                             f"evaluated ({str(exc).splitlines()[0]})")
    return dm.design_info, np.asarray(dm, dtype=float)


def _check_full_rank(model: MixedLM, parsed: ParsedFormula) -> None:
    """Refuse collinear fixed-effect columns, naming the ones that add nothing (lme4 drops them).

    The rank is that of X with every column scaled to unit length, so that a predictor's unit does not
    matter (x·1e14 or nanosecond timestamps beside the intercept column are not collinear).
    """
    X = _unit_columns(np.asarray(model.exog, dtype=float))
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    kept, dropped = [], []
    for j, name in enumerate(model.exog_names):
        if np.linalg.matrix_rank(X[:, kept + [j]]) > len(kept):
            kept.append(j)
        else:
            dropped.append(user_name(name, parsed))
    raise argument_error(
        "fit", "formula", "a model whose fixed-effect columns are not collinear", parsed.formula,
        detail=f"{', '.join(repr(d) for d in dropped)} is a linear combination of the columns before it "
               "(lme4 would drop it with a message)",
        fix="Remove it from the fixed part, or check for a constant or duplicated predictor.",
    )


def _unit_columns(X: np.ndarray) -> np.ndarray:
    """X with every non-zero column divided by its Euclidean length."""
    norms = np.linalg.norm(X, axis=0)
    return X / np.where(norms > 0, norms, 1.0)


def _unsupported(parsed, detail):
    from mlmlab.formula import SUPPORTED

    raise argument_error("fit", "formula", "a model mlmlab can fit", parsed.formula, detail=detail, fix=SUPPORTED)


# --------------------------------------------------------------------------- optimisation

def _start_values(spec: _Spec, model: MixedLM, *, reml: bool):
    """Start values for statsmodels (packed, relative scale), or None for its defaults.

    For one grouping factor with one block of random effects, :mod:`mlmlab.engine` (a fast
    profiled-likelihood fit) supplies them; its run must still agree with powell→lbfgs.
    """
    if spec.vc_formula or len(spec.blocks) != 1 or spec.re_formula is None:
        return None
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    from mlmlab import engine

    try:
        sv = engine.start_values_for(np.asarray(model.endog, dtype=float), np.asarray(model.exog, dtype=float),
                                     spec.blocks[0].Zt, spec.sm_codes, reml=reml)
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


def _settled(runs) -> bool:
    good = [r.llf for r in runs if r.ok]
    return len(good) >= 2 and sum(v >= max(good) - LLF_TOLERANCE for v in good) >= 2


def _guarded_fit(model: MixedLM, *, reml: bool, start_params=None):
    """Run several optimizers, keep the best, polish it; return (statsmodels result, info dict)."""
    runs = []
    plan = [(("lbfgs",), start_params, "engine start→lbfgs")] if start_params is not None else []
    plan += [(m, None, None) for m in OPTIMIZERS]
    for method, start, label in plan:
        runs.append(_run(model, method, reml=reml, start_params=start, label=label))
        if _settled(runs):
            break
    messages = []
    good = [r for r in runs if r.ok]
    if not good:
        rescaled = _rescaled_run(model, reml=reml)
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
        warnings.warn(msg, UserWarning, stacklevel=3)
        messages.append(msg)
    chosen = best
    if converged:
        chosen = _polish(model, best, reml=reml)
        for run in good:
            if run is best or run.llf >= chosen.llf - LLF_TOLERANCE:
                continue
            again = _polish(model, run, reml=reml)
            if again.llf > chosen.llf + LLF_TOLERANCE:
                chosen = again
            if again.llf >= chosen.llf - LLF_TOLERANCE:
                messages.append(
                    f"{run.name} first stopped at log-likelihood {run.llf:.2f} although it reported convergence; "
                    f"polishing from there reached the best value, {chosen.llf:.2f}. This is why mlmlab never "
                    "trusts a single optimizer run."
                )
            else:
                msg = (f"Optimizers disagreed: {chosen.name} reached log-likelihood {chosen.llf:.2f} but {run.name} "
                       f"stopped at {again.llf:.2f} and reported convergence. mlmlab kept the best fit "
                       f"({chosen.name}); a single optimizer run can stop at a wrong answer without warning.")
                warnings.warn(msg, UserWarning, stacklevel=3)
                messages.append(msg)
    messages.extend(_translate(chosen.warnings))
    info = {"optimizer": chosen.name, "converged": converged, "messages": messages,
            "runs": [(r.name, r.llf, r.converged, r.error) for r in runs]}
    return chosen.result, info


#: A random-effect column whose root mean square lies outside [1/RESCALE_RATIO, RESCALE_RATIO] is rescaled
#: when every optimizer failed on the model as given (see :func:`_rescaled_run`).
RESCALE_RATIO = 3.0


def _rms(mat) -> np.ndarray:
    """Root mean square of each column of a dense or sparse matrix (1 for an all-zero column)."""
    sq = mat.multiply(mat).mean(axis=0) if sparse.issparse(mat) else np.mean(np.asarray(mat, dtype=float) ** 2, axis=0)
    out = np.sqrt(np.asarray(sq, dtype=float).ravel())
    return np.where(out > 0, out, 1.0)


def _rescaled_run(model: MixedLM, *, reml: bool):
    """Fit ``model`` with its random-effect columns scaled to unit size, then finish on the user's scale.

    A random slope on a covariate with SD ≈ 10 whose variance is zero at the optimum can make every
    statsmodels optimizer fail (singular matrices on the way to the boundary), while the same model on
    x/10 fits. Scaling column c by 1/s_c changes nothing but the parameterisation: the covariance of
    the scaled effects is D G D with D = diag(s), so G = D⁻¹ G_scaled D⁻¹ (a variance component: v/s²).
    The optimizers of ``OPTIMIZERS`` run on the scaled model; its best optimum, mapped back, is the start
    of an lbfgs run (and the polish) on ``model`` itself, so the result is an ordinary fit of ``model``.

    Returns
    -------
    _Run or None
        The run on ``model`` started at the scaled optimum; None when no column is badly scaled
        (rescaling cannot help) or no scaled run converged.
    """
    from statsmodels.regression.mixed_linear_model import MixedLMParams, VCSpec

    vc = model.exog_vc
    re_scale = _rms(model.exog_re) if model.exog_re is not None else np.ones(0)
    vc_scale = [float(np.sqrt(np.mean([np.mean(np.square(_rms(m))) for m in mats]))) for mats in vc.mats]
    every = np.concatenate([re_scale, vc_scale])
    if not np.any((every > RESCALE_RATIO) | (every < 1 / RESCALE_RATIO)):
        return None
    scaled = MixedLM(model.endog, model.exog, model.groups, exog_re=model.exog_re / re_scale,
                     exog_vc=VCSpec(vc.names, vc.colnames, [[m / c for m in mats] for mats, c in zip(vc.mats, vc_scale)]),
                     use_sqrt=model.use_sqrt)
    runs = [_run(scaled, method, reml=reml) for method in OPTIMIZERS]
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
