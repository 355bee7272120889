"""The model design: everything a formula and a data set determine, built once.

:func:`build_design` reads an lme4-style formula against a DataFrame and returns a
:class:`ModelDesign`, the analogue of lme4's ``lFormula()``: the rows used (and those dropped, with
the reason), the outcome y, the fixed-effects matrix X with its column names, and one
:class:`RandomBlock` per random-effects term with its columns Z, its grouping factor and that
factor's levels. Every later step reads this one object: the optimizers (:mod:`mlmlab.estimation`),
the result (:class:`mlmlab.MixedResult` keeps it as ``.design``), ``predict``, ``refit``,
:func:`mlmlab.compare`, :func:`mlmlab.icc`, :func:`mlmlab.r2_nakagawa` and the influence measures.
No other module parses a formula or builds a model matrix again.

The formula is read as R reads it (see :mod:`mlmlab.formula`): ``I(age^2)`` is a power,
``scale(x)`` divides by the n − 1 SD, and column names that are Python keywords, contain dots or
are names of functions are quoted for patsy and reported as written.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from mlmlab._checks import MlmlabInputError, argument_error, check_data, check_numeric_column
from mlmlab.formula import EVAL_ENV, SUPPORTED, ParsedFormula, RandomTerm, for_patsy, parse_formula, user_name

__all__ = ["ModelDesign", "RandomBlock", "build_design", "NewDataError"]

_PATSY_ENV = patsy.EvalEnvironment([EVAL_ENV])


class NewDataError(ValueError):
    """New rows the fitted design cannot be evaluated on (e.g. a level of a fixed factor never seen)."""


class _MissingColumnError(MlmlabInputError, KeyError):
    """A formula names a column the data does not have (an MlmlabInputError, so a ValueError, and a KeyError)."""

    def __str__(self):  # KeyError would otherwise show the message in quotes
        return str(self.args[0])


@dataclass(frozen=True, eq=False)
class RandomBlock:
    """One block of random effects: the columns of Z that share a covariance matrix, and their groups.

    Attributes
    ----------
    term : mlmlab.formula.RandomTerm
        The parsed term (grouping factor, intercept, slopes, correlated or not).
    names : tuple of str
        lme4's names of the block's columns, as the formula wrote them: ``("(Intercept)", "cses")``.
    Z : ndarray of shape (n, q)
        The block's columns for every row used (before they are spread over the groups).
    codes : ndarray of int, shape (n,)
        The level of every row, as a position in ``levels``.
    levels : pandas.Index
        The grouping factor's levels in the data's own values and dtype (a MultiIndex for ``a:b``);
        in the order of a categorical column's categories, else sorted.
    labels : tuple of str
        The same levels as lme4 prints them (``"8367"``, ``"A:1"``).
    """

    term: RandomTerm
    names: tuple
    Z: np.ndarray
    codes: np.ndarray
    levels: pd.Index
    labels: tuple
    design_info: object  # patsy DesignInfo of the block's columns, to build them for new rows

    @property
    def group(self) -> str:
        """The grouping factor's name as lme4 prints it, e.g. ``"School"`` or ``"cask:batch"``."""
        return self.term.group

    @property
    def factor(self) -> str:
        """The data columns that define the groups, joined by ``:`` (the key of ``MixedResult.G``)."""
        return ":".join(self.term.factors)

    def Z_new(self, newdata: pd.DataFrame) -> np.ndarray:
        """The block's columns for new rows (stateful transforms keep the fitted data's centring)."""
        return np.asarray(patsy.build_design_matrices([self.design_info], newdata)[0], dtype=float)


@dataclass(frozen=True, eq=False)
class ModelDesign:
    """A formula read against a data set: the model's matrices, groups and rows (lme4's ``lFormula``).

    Built by :func:`build_design` (and by :func:`mlmlab.fit`, whose result keeps it as ``.design``).

    Attributes
    ----------
    formula : str
        The formula as given.
    parsed : mlmlab.formula.ParsedFormula
        The formula split into outcome, fixed part and random-effect terms.
    outcome : str
        The outcome column.
    y : ndarray of shape (n,)
        The outcome for the rows used.
    X : pandas.DataFrame of shape (n, p)
        The fixed-effects design, columns named as in ``MixedResult.fixed``; index = ``data.index``.
    blocks : tuple of RandomBlock
        The random-effects blocks, in lme4's order (decreasing number of groups).
    data : pandas.DataFrame
        The rows of the user's data the model uses (their own index labels, which may repeat).
    rows : ndarray of int
        Their positions in the user's data.
    dropped : pandas.DataFrame
        Rows left out (``row`` position, ``label`` and ``reason``); empty when every row is used.
    frame : pandas.DataFrame
        The model's columns for the rows used, indexed by row position.
    notes : tuple of str
        Plain-language notes about the data (e.g. rows dropped).

    Examples
    --------
    >>> from mlmlab import datasets
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> d.nobs, list(d.X.columns), [b.names for b in d.blocks]
    (180, ['Intercept', 'Days'], [('(Intercept)', 'Days')])
    >>> d.ngroups
    {'Subject': 18}
    """

    formula: str
    parsed: ParsedFormula
    outcome: str
    y: np.ndarray
    X: pd.DataFrame
    blocks: tuple
    data: pd.DataFrame
    rows: np.ndarray
    dropped: pd.DataFrame
    frame: pd.DataFrame
    notes: tuple
    x_info: object  # patsy DesignInfo of X, to build it for new rows

    @property
    def nobs(self) -> int:
        """Number of rows used."""
        return len(self.y)

    @property
    def factors(self) -> list:
        """The grouping factors (``"School"``, ``"cask:batch"``), each once, in the order of ``blocks``."""
        return list(dict.fromkeys(b.factor for b in self.blocks))

    @property
    def ngroups(self) -> dict:
        """Grouping factor → number of groups."""
        return {f: len(next(b for b in self.blocks if b.factor == f).levels) for f in self.factors}

    @property
    def group_variables(self) -> set:
        """The data columns that define groups."""
        return {f for b in self.blocks for f in b.term.factors}

    def Z(self, factor: str) -> pd.DataFrame:
        """The columns of Z for one grouping factor (its blocks side by side), named as in ``MixedResult.G``."""
        blocks = [b for b in self.blocks if b.factor == factor]
        if not blocks:
            raise argument_error("ModelDesign.Z", "factor", "a grouping factor of the model", factor,
                                 detail=f"the model's grouping factors are: {', '.join(self.factors)}")
        values = np.hstack([b.Z for b in blocks])
        return pd.DataFrame(values, index=self.data.index, columns=[n for b in blocks for n in b.names])

    def group_labels(self, factor: str) -> pd.Series:
        """The group of every row used, as lme4 prints it (``"8367"``, ``"A:1"``)."""
        b = next((b for b in self.blocks if b.factor == factor), None)
        if b is None:
            raise argument_error("ModelDesign.group_labels", "factor", "a grouping factor of the model", factor,
                                 detail=f"the model's grouping factors are: {', '.join(self.factors)}")
        return pd.Series(np.asarray(b.labels, dtype=object)[b.codes], index=self.data.index, name=factor)

    @property
    def independent_groups(self) -> np.ndarray:
        """For every row, its cluster of mutually dependent rows: the outermost grouping factor when every
        other factor is nested in it, else one cluster for all rows (crossed factors)."""
        top = self.outermost_factor()
        if top is None:
            return np.zeros(self.nobs, dtype=int)
        return next(b for b in self.blocks if b.term.factors == top).codes

    def outermost_factor(self):
        """The grouping factor (a tuple of columns) every other factor is nested in, with the fewest levels;
        None when the factors are crossed."""
        by_factor = {}
        for b in self.blocks:
            by_factor.setdefault(b.term.factors, b)
        candidates = [f for f in by_factor if all(_nested_in(by_factor[g].codes, by_factor[f].codes) for g in by_factor)]
        return min(candidates, key=lambda f: len(by_factor[f].levels)) if candidates else None

    def X_new(self, newdata: pd.DataFrame) -> np.ndarray:
        """The fixed-effects columns for new rows (stateful transforms such as ``scale(x)`` keep the fitted data's
        mean and SD).

        Raises
        ------
        NewDataError
            The rows cannot be coded with the fitted design (patsy's message, first line).
        """
        try:
            return np.asarray(patsy.build_design_matrices([self.x_info], newdata)[0], dtype=float)
        except patsy.PatsyError as exc:
            raise NewDataError(str(exc).splitlines()[0]) from None

    def full_term_columns(self, term: str) -> np.ndarray:
        """R's ``model.matrix(~ 0 + term)`` for the fitted rows: every level of each categorical variable in the
        fixed-effect term ``term`` (as named in ``x_info.term_names``; no level dropped as a reference) times
        its numeric variables. lmerTest's Type III hypotheses (:func:`mlmlab.anova`) start from them."""
        (found,) = [t for t in self.x_info.terms if t.name() == term]
        infos = {f: self.x_info.factor_infos[f] for f in found.factors}
        contrasts, width = {}, 1  # every categorical variable coded by all its levels, whatever C(x, ...) says
        for f, fi in infos.items():
            if fi.type == "categorical":
                contrasts[f] = patsy.ContrastMatrix(np.eye(len(fi.categories)), [f"[{c}]" for c in fi.categories])
                width *= len(fi.categories)
            else:
                width *= fi.num_columns
        coding = patsy.design_info.SubtermInfo(found.factors, contrasts, width)
        info = patsy.DesignInfo([f"{term}{k}" for k in range(width)], factor_infos=infos,
                                term_codings=OrderedDict([(found, [coding])]))
        return np.asarray(patsy.build_design_matrices([info], self.frame, NA_action="raise")[0], dtype=float)

    def treatment_X(self) -> np.ndarray:
        """X with each categorical variable coded as R's ``contr.treatment`` would (the first level the reference
        where the model codes it by fewer columns than levels, every level otherwise), whatever ``C(x, ...)``
        asked for: the same column space as X. lmerTest builds Type III hypotheses in this coding and maps them
        onto the model's own (:func:`mlmlab.anova`)."""
        codings = OrderedDict()
        for term, subterms in self.x_info.term_codings.items():
            codings[term] = []
            for sub in subterms:
                contrasts = {}
                for f, cm in sub.contrast_matrices.items():
                    k, c = cm.matrix.shape
                    levels = self.x_info.factor_infos[f].categories
                    contrasts[f] = patsy.ContrastMatrix(np.eye(k)[:, k - c:], [f"[T.{v}]" for v in levels[k - c:]])
                codings[term].append(patsy.design_info.SubtermInfo(sub.factors, contrasts, sub.num_columns))
        info = patsy.DesignInfo(list(self.x_info.column_names), factor_infos=self.x_info.factor_infos,
                                term_codings=codings)
        return np.asarray(patsy.build_design_matrices([info], self.frame, NA_action="raise")[0], dtype=float)

    def codes_new(self, block: RandomBlock, newdata: pd.DataFrame) -> np.ndarray:
        """Level of every new row in ``block.levels``; -1 for a group the model has not seen.

        A value is matched by value, not by its text: 1 (int) finds the group fitted as 1.0 (a float column,
        e.g. one that held NaN).
        """
        parts = [_labels_by_value(newdata[f], self.frame[f]) for f in block.term.factors]
        labels = parts[0]
        for part in parts[1:]:
            labels = labels + ":" + part
        index = {lab: k for k, lab in enumerate(block.labels)}
        return labels.map(index).fillna(-1).to_numpy(dtype=int)


def build_design(formula, data, *, func: str = "fit") -> ModelDesign:
    """Read a formula against a data set: rows used, y, X, the random-effects blocks and their groups.

    Parameters
    ----------
    formula : str
        An lme4-style formula (see :func:`mlmlab.fit`).
    data : pandas.DataFrame
        One row per observation.
    func : str, default="fit"
        The public function on whose behalf the design is built (named in error messages).

    Returns
    -------
    ModelDesign

    Raises
    ------
    ValueError
        A formula that cannot be read, a missing or non-numeric outcome column, an infinite value in a
        model column (or one the formula's transformations create, e.g. ``log(0)``), a grouping factor
        with a single level or only one row per level, collinear fixed-effect columns.

    Warns
    -----
    UserWarning
        Rows with missing values in the model's columns were dropped (lme4's default ``na.omit``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0, None, 4.0, 5.0, 7.0], "g": list("aabbcc")})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     d = build_design("y ~ 1 + (1 | g)", df)
    >>> d.nobs, d.dropped[["row", "reason"]].values.tolist()
    (5, [[2, 'missing value in y']])
    >>> list(d.blocks[0].levels)
    ['a', 'b', 'c']
    """
    data = check_data(data, func)
    parsed = parse_formula(formula, func=func)
    frame, notes, dropped = _model_frame(parsed, data, func)
    safe = for_patsy(parsed)  # the same terms, spelled for patsy (same order)
    blocks = [_block(term, shown, frame, parsed, func) for term, shown in zip(safe.random, parsed.random)]
    blocks.sort(key=lambda b: -len(b.levels))  # lme4 lists blocks by decreasing number of groups (stable)
    try:
        xm = patsy.dmatrix(safe.fixed, frame, eval_env=_PATSY_ENV, NA_action="raise", return_type="dataframe")
    except patsy.PatsyError as exc:
        unsupported(parsed, f"its fixed part '{parsed.fixed}' cannot be evaluated ({str(exc).splitlines()[0]})", func)
    used = data.iloc[frame.index.to_numpy()]
    X = pd.DataFrame(xm.to_numpy(dtype=float), index=used.index, columns=[user_name(c, parsed) for c in xm.columns])
    y = frame[parsed.outcome].to_numpy(dtype=float)
    design = ModelDesign(
        formula=parsed.formula, parsed=parsed, outcome=parsed.outcome, y=y, X=X, blocks=tuple(blocks), data=used,
        rows=frame.index.to_numpy(), dropped=dropped, frame=frame, notes=tuple(notes), x_info=xm.design_info,
    )
    _check_finite_design(design, data, func)
    _check_full_rank(design, func)
    return design


# --------------------------------------------------------------------------- rows and columns

def _model_frame(parsed: ParsedFormula, data: pd.DataFrame, func: str):
    """Columns the model uses, complete rows only (index = row position); checks every variable and factor."""
    cols = list(map(str, data.columns))
    names = parsed.variables()
    for name in names:
        if name not in data.columns:
            raise argument_error(
                func, "formula", "made of columns of data", parsed.formula,
                detail=f"there is no column {name!r}; columns are: {', '.join(cols)}",
                fix="Check the spelling (names are case-sensitive).", kind=_MissingColumnError,
            )
    check_numeric_column(data, parsed.outcome, func, "formula")
    frame = data[names].reset_index(drop=True)  # positions: the user's index labels may repeat
    notes = []
    missing = frame.isna()
    bad = missing.any(axis=1)
    dropped = pd.DataFrame({"row": pd.Series(dtype=int), "label": pd.Series(dtype=object),
                            "reason": pd.Series(dtype=object)})
    if bad.any():
        counts = missing.sum()
        where = ", ".join(f"{c} ({int(k)})" for c, k in counts.items() if k)
        n_bad, n = int(bad.sum()), len(frame)
        if n_bad == n:
            raise argument_error(func, "data", "a DataFrame with complete rows for the model's columns", data,
                                 detail=f"every row has a missing value (missing per column: {where})")
        msg = (f"{func} dropped {n_bad} of {n} rows with missing values (missing per column: {where}), as lme4 "
               f"does by default (na.omit); the model uses the other {n - n_bad} rows.")
        warnings.warn(msg, UserWarning, stacklevel=4)
        notes.append(msg)
        positions = np.flatnonzero(bad.to_numpy())
        reasons = ["missing value in " + ", ".join(str(c) for c in frame.columns[missing.iloc[i].to_numpy()])
                   for i in positions]
        dropped = pd.DataFrame({"row": positions, "label": list(data.index[positions]), "reason": reasons})
        frame = frame.loc[~bad]
    _check_finite_columns(frame, data, func)
    for factors in dict.fromkeys(t.factors for t in parsed.random):
        labels = _labels(frame, factors)
        name = ":".join(factors)
        n_levels = labels.nunique()
        if n_levels < 2:
            raise argument_error(
                func, "formula", "a model whose grouping factors have at least two groups", parsed.formula,
                detail=f"'{name}' has a single group ({labels.iloc[0]!r}), so there is no between-group "
                       "variance to estimate",
                fix="Use a column that identifies the groups, or fit an ordinary regression "
                    "(statsmodels.formula.api.ols).",
            )
        if n_levels == len(frame):
            raise argument_error(
                func, "formula", "a model whose groups hold more than one row", parsed.formula,
                detail=f"every group of '{name}' has exactly one row, so the group variance cannot be told "
                       "apart from the residual variance",
                fix="Check that the grouping column is right (an id per group, not per row), or fit an "
                    "ordinary regression (statsmodels.formula.api.ols).",
            )
    return frame, notes, dropped


def _check_finite_columns(frame: pd.DataFrame, data: pd.DataFrame, func: str) -> None:
    """Refuse ``inf``/``-inf`` in the model's numeric columns, naming the column and its rows.

    lme4 refuses them too ("NA/NaN/Inf in 'y'").
    """
    for col in frame.columns:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        bad = np.isinf(values.to_numpy(dtype=float))
        if bad.any():
            raise argument_error(
                func, "data", "a DataFrame of finite numbers in the model's columns", data,
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


def _check_finite_design(design: ModelDesign, data: pd.DataFrame, func: str) -> None:
    """Refuse infinite or undefined values that the formula's transformations create (e.g. ``log(0)``)."""
    pieces = [(f"the outcome {design.outcome!r}", design.y)]
    pieces += [(f"the fixed-effect column {name!r}", design.X[name].to_numpy()) for name in design.X.columns]
    for b in design.blocks:
        pieces += [(f"the random-effect column {n!r} of '{b.group}'", b.Z[:, j]) for j, n in enumerate(b.names)]
    for what, values in pieces:
        bad = ~np.isfinite(values)
        if bad.any():
            raise argument_error(
                func, "formula", "a model whose columns hold finite numbers", design.formula,
                detail=f"{what} is infinite or undefined (nan) in {_rows(data, design.rows[bad])}",
                fix="A transformation in the formula probably met values outside its domain (log(0) = -inf, "
                    "sqrt(-1) = nan); drop those rows or change the transformation, e.g. log(x + 1).",
            )


def _check_full_rank(design: ModelDesign, func: str) -> None:
    """Refuse collinear fixed-effect columns, naming the ones that add nothing (lme4 drops them).

    The rank is that of X with every column scaled to unit length, so that a predictor's unit does not
    matter (x·1e14 or nanosecond timestamps beside the intercept column are not collinear).
    """
    X = _unit_columns(design.X.to_numpy())
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    kept, dropped = [], []
    for j, name in enumerate(design.X.columns):
        if np.linalg.matrix_rank(X[:, kept + [j]]) > len(kept):
            kept.append(j)
        else:
            dropped.append(name)
    raise argument_error(
        func, "formula", "a model whose fixed-effect columns are not collinear", design.formula,
        detail=f"{', '.join(repr(d) for d in dropped)} is a linear combination of the columns before it "
               "(lme4 would drop it with a message)",
        fix="Remove it from the fixed part, or check for a constant or duplicated predictor.",
    )


def _unit_columns(X: np.ndarray) -> np.ndarray:
    """X with every non-zero column divided by its Euclidean length."""
    norms = np.linalg.norm(X, axis=0)
    return X / np.where(norms > 0, norms, 1.0)


def unsupported(parsed, detail, func: str = "fit"):
    """Raise the error for a formula mlmlab cannot fit, with ``detail`` saying why and the supported forms."""
    raise argument_error(func, "formula", "a model mlmlab can fit", parsed.formula, detail=detail, fix=SUPPORTED)


# --------------------------------------------------------------------------- groups

def _labels(frame: pd.DataFrame, factors) -> pd.Series:
    """Group label of every row for a (possibly combined) grouping factor, lme4-style 'a:b'."""
    out = frame[factors[0]].astype(str)
    for f in factors[1:]:
        out = out + ":" + frame[f].astype(str)
    return out


def _level_codes(frame: pd.DataFrame, factors):
    """(codes, levels, labels): levels in the factor's category order (single categorical) or sorted.

    ``levels`` keeps the data's own values (a MultiIndex for combined factors); ``labels`` are their text.
    """
    text = _labels(frame, factors)
    if len(factors) == 1 and isinstance(frame[factors[0]].dtype, pd.CategoricalDtype):
        col = frame[factors[0]]
        present = set(col)
        levels = pd.Index([c for c in col.cat.categories if c in present], dtype=col.cat.categories.dtype)
        labels = [str(c) for c in levels]
    elif len(factors) == 1 and pd.api.types.is_numeric_dtype(frame[factors[0]]):
        levels = pd.Index(np.sort(frame[factors[0]].unique()))
        labels = [str(v) for v in levels.to_numpy()]
    else:
        first = pd.DataFrame({"label": text, **{f: frame[f] for f in factors}}).drop_duplicates("label")
        first = first.sort_values("label")
        labels = first["label"].tolist()
        levels = (pd.Index(first[factors[0]].tolist(), dtype=frame[factors[0]].dtype) if len(factors) == 1
                  else pd.MultiIndex.from_frame(first[list(factors)].reset_index(drop=True)))
    index = {lab: k for k, lab in enumerate(labels)}
    return text.map(index).to_numpy(dtype=int), levels, tuple(labels)


def _nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every level of ``inner`` lies within a single level of ``outer``."""
    pairs = pd.DataFrame({"i": inner, "o": outer}).drop_duplicates()
    return not pairs["i"].duplicated().any()


def _labels_by_value(new: pd.Series, old: pd.Series) -> pd.Series:
    """``new`` as text, written as the fitted value it equals (``old.astype(str)``) where there is one."""
    text = new.astype(str)
    if not (pd.api.types.is_numeric_dtype(new) and pd.api.types.is_numeric_dtype(old)):
        return text
    if pd.api.types.is_bool_dtype(new) or pd.api.types.is_bool_dtype(old):
        return text
    known = dict(zip(old.to_numpy().tolist(), old.astype(str)))  # 1 == 1.0 and hash(1) == hash(1.0)
    return pd.Series([known.get(v, t) for v, t in zip(new.to_numpy().tolist(), text)], index=new.index)


def _block(term: RandomTerm, shown: RandomTerm, frame: pd.DataFrame, parsed: ParsedFormula, func: str) -> RandomBlock:
    """One random-effects block: its columns (patsy, spelled safely) and its grouping factor's levels."""
    try:
        dm = patsy.dmatrix(term.design, frame, eval_env=_PATSY_ENV, NA_action="raise", return_type="matrix")
    except patsy.PatsyError as exc:
        unsupported(parsed, f"the random-effect part '{term.design}' of '{term.group}' cannot be "
                             f"evaluated ({str(exc).splitlines()[0]})", func)
    names = tuple(user_name("(Intercept)" if c == "Intercept" else c, parsed) for c in dm.design_info.column_names)
    codes, levels, labels = _level_codes(frame, shown.factors)
    return RandomBlock(term=shown, names=names, Z=np.asarray(dm, dtype=float), codes=codes, levels=levels,
                       labels=labels, design_info=dm.design_info)
