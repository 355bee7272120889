"""F tests of fixed-effect terms (Type III), with Satterthwaite's or Kenward–Roger's denominator df, as
lmerTest's ``anova(m)`` computes them.

A term of the fixed part — a factor with k levels, an interaction — owns several columns of X, so testing it
means testing several coefficients at once: H0: Lγ = 0, L a row per column of the term. The t-tests of
:func:`mlmlab.satterthwaite` and :func:`mlmlab.kenward_roger` become F tests on (rank L, m) df, m from the
same small-sample approximations.

Which L? Type III, as lmerTest (and SAS) define it: each term is tested adjusted for every other term, and a
term contained in a higher-order one (``cses`` in ``Sector:cses``, ``Sex`` in ``Sector:Sex``) is tested
averaged over the other variable's levels, not at its reference level. lmerTest builds the hypotheses from the
full indicator coding of each term (every level, ``model.matrix(~ 0 + term)``), maps it onto X, and makes the
columns of each term orthogonal to those of the terms that contain it (a term containing a numeric variable
only contains terms with the same numeric variables: ``Sector`` is tested at ``cses`` = 0). The same is done
here, on the design's own columns, in treatment coding, and mapped onto the model's coding: ``C(x, Sum)`` gives
the same tests.

Not to be confused with :func:`mlmlab.compare` (lme4's ``anova(m1, m2)``): a likelihood-ratio test of two
models.

Lesson 10 names it beside the t tests of single coefficients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_choice, check_result
from mlmlab.kenward_roger import f_tests as kenward_roger_f_tests
from mlmlab.satterthwaite import f_tests as satterthwaite_f_tests

__all__ = ["anova", "type3_hypotheses"]

METHODS = ("satterthwaite", "kenward-roger")


def anova(result, ddf: str = "satterthwaite") -> pd.DataFrame:
    """Type III F tests of the fixed-effect terms (lmerTest's ``anova(m, type = 3, ddf = ...)``).

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit` (REML for ``"kenward-roger"``).
    ddf : {"satterthwaite", "kenward-roger"}, default="satterthwaite"
        How the denominator df are found.

    Returns
    -------
    pandas.DataFrame
        One row per term (the intercept is not tested): ``F``, ``num_df`` (the term's number of columns),
        ``den_df``, ``p``. ``attrs["hypotheses"]`` holds each term's L (rows: restrictions, columns: fixed
        effects) and ``attrs["method"]`` the df method.

    Raises
    ------
    MlmlabInputError
        An unknown ``ddf``; ``"kenward-roger"`` for an ML fit.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("strength ~ cask + (1 | batch)", datasets.load("pastes"))
    >>> anova(m).round(3)
              F  num_df  den_df      p
    term
    cask  1.407       2    48.0  0.255

    The three casks of each of the ten batches differ by no more than chance: the cask effect (2 columns of X)
    is tested on 48 denominator df, those of the cask-to-cask variation within batches.
    """
    check_result(result, "anova")
    method = check_choice(ddf.lower() if isinstance(ddf, str) else ddf, METHODS, "anova", "ddf")
    hypotheses = type3_hypotheses(result)
    f_tests = satterthwaite_f_tests if method == "satterthwaite" else kenward_roger_f_tests
    tests = f_tests(result, {term: L.to_numpy() for term, L in hypotheses.items()})
    out = pd.DataFrame([{"term": term, **tests[term]} for term in hypotheses],
                       columns=["term", "F", "num_df", "den_df", "p"]).set_index("term")
    out["num_df"] = out["num_df"].astype(int)
    out.attrs = {"hypotheses": hypotheses, "method": method}
    return out


def type3_hypotheses(result) -> dict:
    """lmerTest's Type III hypothesis matrix of each fixed-effect term (``attr(anova(m), "hypotheses")``).

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlmlab.fit`.

    Returns
    -------
    dict
        Term name -> DataFrame L (a row per restriction, a column per fixed effect): the term is tested by
        H0: Lγ = 0.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("MathAch ~ Sector * Sex + (1 | School)", datasets.load("hsb"))
    >>> type3_hypotheses(m)["Sex"].T
                                        0
    Intercept                         0.0
    Sector[T.Catholic]                0.0
    Sex[T.Female]                     1.0
    Sector[T.Catholic]:Sex[T.Female]  0.5

    The Sex difference averaged over the two sectors, not the one in public schools (the reference level).
    """
    check_result(result, "type3_hypotheses")
    design = result.design
    names = list(result.fixef.index)
    X = design.X.to_numpy(dtype=float)
    info = design.x_info
    slices = dict(info.term_name_slices)
    terms = [t for t in info.terms if t.name() != "Intercept"]
    cols = {t.name(): list(range(len(names)))[slices[t.name()]] for t in terms}
    if len(names) <= 1 or len(terms) <= 1:  # lmerTest: one term is tested on its own columns
        return {name: pd.DataFrame(np.eye(len(names))[c], columns=names) for name, c in cols.items()}
    # Built in treatment coding; a model coded otherwise (C(x, Sum), ...) gets them mapped onto its own columns.
    Xt = design.treatment_X()
    full = [np.ones((len(X), 1))] if "Intercept" in slices else []
    full += [design.full_term_columns(t.name()) for t in terms]
    rdX = np.hstack(full)
    L = _zapsmall(np.linalg.lstsq(Xt, rdX, rcond=None)[0].T)  # rows: full columns, columns: Xt's columns
    numeric = {f for t in terms for f in t.factors if info.factor_infos[f].type == "numerical"}
    variables = {t.name(): set(t.factors) for t in terms}

    def contains(big, small):  # lmerTest's term_contain
        v1, v2 = variables[small], variables[big]
        return v1 < v2 and (v1 & numeric) == (v2 & numeric)

    for t in sorted(terms, key=lambda t: -len(t.factors)):
        containing = [c for name in variables if contains(name, t.name()) for c in cols[name]]
        if containing:
            A, Y = L[:, containing], L[:, cols[t.name()]]
            L[:, cols[t.name()]] = _zapsmall(Y - A @ np.linalg.lstsq(A, Y, rcond=None)[0])
    L = L[_matching_columns(Xt, rdX, result)]
    to_model = None if np.array_equal(Xt, X) else _zapsmall(np.linalg.lstsq(Xt, X, rcond=None)[0])
    out = {}
    for name in cols:
        Lt = L[:, cols[name]].T
        Lt = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
        out[name] = pd.DataFrame((Lt if to_model is None else Lt @ to_model) + 0.0, columns=names)  # no -0.0
    return out


def _matching_columns(Xt, rdX, result) -> list:
    """The column of the full coding that equals each column of the treatment-coded X (a selection of them)."""
    out = []
    for j in range(Xt.shape[1]):
        hits = np.flatnonzero(np.all(np.isclose(rdX, Xt[:, [j]], rtol=0, atol=1e-12), axis=0))
        if len(hits) == 0:
            raise argument_error(
                "anova", "result", "a model whose fixed-effect columns are indicators of levels times numeric "
                "variables", result,
                detail=f"the column {result.fixef.index[j]!r} is not one of them in treatment coding",
                fix="Type III hypotheses are built as lmerTest builds them; test this term with a contrast "
                    "instead: mlmlab.satterthwaite(m, contrasts=...).")
        out.append(int(hits[0]))
    return out


def _zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's zapsmall: round to ``digits`` significant digits of the largest entry."""
    mx = np.max(np.abs(x)) if x.size else 0.0
    return np.round(x, max(0, digits - int(np.ceil(np.log10(mx)))) if mx > 0 else digits)
