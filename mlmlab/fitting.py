"""Fit linear mixed models from lme4-style formulas: design, then guarded estimation, then the result.

:func:`fit` is the course's entry point. It reads the formula against the data once
(:func:`mlmlab.design.build_design`: rows, y, X, random-effects blocks and their groups), estimates
the design with several optimizers (:func:`mlmlab.estimation.estimate`) and wraps the winner in a
:class:`mlmlab.MixedResult`. The layers, bottom to top::

    formula -> design -> engine / estimation -> result -> fitting

with inference (compare, icc, r2, influence, report), plots and widgets above them.
"""

from __future__ import annotations

import numpy as np

from mlmlab._checks import argument_error, check_data
from mlmlab.design import build_design
from mlmlab.estimation import LLF_TOLERANCE, OPTIMIZERS, Control
from mlmlab.exceptions import FitError
from mlmlab.result import MixedResult

__all__ = ["fit", "Control", "FitError", "LLF_TOLERANCE", "OPTIMIZERS"]


def fit(formula, data, *, reml=True, control=None):
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
    control : Control, optional
        How the optimum is searched for (the engine: mlmlab.pls by default or statsmodels; for statsmodels
        the optimizers tried, engine start, polishing); lme4's ``control = lmerControl(...)``. The default is
        right for the course's models.

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
        ``na.omit`` does).
    mlmlab.exceptions.ConvergenceWarning
        The optimum fails the convergence test (default engine), or, with ``Control(engine="statsmodels")``,
        optimizers that converged disagree by more than 0.01 in log-likelihood or none converged (a
        ``UserWarning``).

    Notes
    -----
    The model is built once (:func:`mlmlab.design.build_design`, kept as ``result.design``) and then
    estimated (:func:`mlmlab.estimation.estimate`) by :mod:`mlmlab.pls`, lme4's penalised least squares, for every
    design (one or several grouping factors, crossed or nested): the fixed effects and σ are profiled out and the
    deviance is minimised over lme4's θ by L-BFGS-B; the optimum must pass a convergence test (finite-difference
    gradient and Hessian, as lme4's ``checkConv``), is polished by Newton steps, and an optimum on the boundary or
    one that fails the test gets a second optimizer (COBYQA, then Nelder–Mead); a ConvergenceWarning says when the
    best still fails. ``result.statsmodels`` is statsmodels' fit of the same model, made on first use.

    ``Control(engine="statsmodels")`` fits by guarded optimisation with statsmodels instead. For one grouping
    factor with one block of random effects, a fast
    profiled-likelihood fit (:mod:`mlmlab.engine`) gives start values for a first ``lbfgs`` run.
    Then the runs in ``control.optimizers`` (``["powell", "lbfgs"]``, ``["nm", "lbfgs"]``, ``"lbfgs"``,
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

    data = check_data(data, "fit")
    if not isinstance(reml, (bool, np.bool_)):
        raise argument_error("fit", "reml", "True or False", reml, kind=TypeError)
    if control is not None and not isinstance(control, Control):
        raise argument_error("fit", "control", "an mlmlab.Control(...)", control, kind=TypeError,
                             fix="Write control=mlmlab.Control(optimizers=(('lbfgs',),)), or leave it out.")
    design = build_design(formula, data, func="fit")
    return MixedResult.from_design(design, reml=bool(reml), control=control)
