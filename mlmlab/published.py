"""Published results to check our fits against: the High School and Beyond models of Raudenbush & Bryk (2002), chapter 4.

The four models of the chapter are stored as data (the formula that fits each one with ``mlmlab.fit`` and where
the book reports it), so a lesson can fit them by name and set each fit beside published numbers without typing
numbers into a notebook. Fixed effects are keyed by the patsy term names that ``mlmlab.fit`` uses
(``Intercept``, ``MEANSES``, ``Sector[T.Catholic]:cses`` ...); variance components by the course's notation
(``tau00``, ``tau11``, ``tau01``, ``sigma2``) and the intraclass correlation by ``icc``.

Where in the book. Table 4.2 (the one-way ANOVA with random effects), Table 4.3 (means as outcomes), Table 4.4
(the random-coefficient model) and Table 4.5 (intercepts and slopes as outcomes); Table 4.1 holds the
descriptive statistics. The numbering is the one used by two public replications of the chapter:
L. Miratrix, "HSB Example" (https://github.com/lmiratrix/MLM, file ``hsb_ex.qmd``, one section per table)
and the HLM run titled "ONE-WAY ANOVA (TABLE 4.2, P. 70)" at
http://www.fpce.uc.pt/niips/amn/docsnet/docnet_08/HSB_Modelos/ANOVA/anova_out.htm.

What is stored as published. Only numbers that a public source we can cite prints, each with that source
beside it (:func:`published_values`, column ``source``). Today that is the null model's variance components as
printed by HLM, the program written by the book's authors, run on the same 7,185 students in 160 schools with
REML (UCLA's annotated HLM output, below). No public copy of the book's Tables 4.2 to 4.5 was at hand, so no
value is stored as "the book's": numbers entered from memory in earlier versions of this module (two-decimal
values for all four models) were removed, because they could not be checked. For every quantity without a
published value, :func:`side_by_side` shows our fit alone (``published`` NaN); our fits are lme4's to about
1e-6 (tests/test_lme4_agreement.py), so a reader with the book at hand can compare them with its tables.

Everything a lesson prints about these models (variance shares "explained", the range of the slopes,
reliabilities) is computed from our fits.

The data set's ``MEANSES`` column is not exactly the mean of ``SES`` over a school's students (0.0055 to
0.0065 higher in every school), which is why SES centred at ``MEANSES`` and SES centred at the exact school
mean give slightly different fixed effects (see ``mlmlab.datasets`` and lesson 09).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_choice

__all__ = ["list_published", "published_values", "side_by_side"]

_BOOK = "Raudenbush & Bryk (2002), Hierarchical Linear Models, 2nd ed., Sage, chapter 4"

_UCLA_HLM = ("UCLA Statistical Consulting, 'Annotated HLM output: unconditional model' (HLM 6, REML, "
             "7,185 students in 160 schools), "
             "https://stats.oarc.ucla.edu/other/hlm/output/annotated-hlm-outputunconditional-model/")

# model -> (formula for mlmlab.fit, where in the book, quantities the book's table reports,
#           {quantity: (published estimate, published se, source)} for the values a citable source prints)
_MODELS: dict[str, tuple[str, str, tuple[str, ...], dict[str, tuple[float, float, str]]]] = {
    "one_way_anova": (
        "MathAch ~ 1 + (1 | School)",
        "Table 4.2, section 'A One-Way ANOVA with Random Effects'",
        ("Intercept", "tau00", "sigma2", "icc"),
        # HLM prints Tau 8.61431 and Sigma_squared 39.14831 (REML).
        {"tau00": (8.61431, math.nan, _UCLA_HLM), "sigma2": (39.14831, math.nan, _UCLA_HLM)},
    ),
    "means_as_outcomes": (
        "MathAch ~ MEANSES + (1 | School)",
        "Table 4.3, section 'A Regression with Means-as-Outcomes'",
        ("Intercept", "MEANSES", "tau00", "sigma2"),
        {},
    ),
    "random_coefficient": (
        "MathAch ~ cses + (cses | School)",
        "Table 4.4, section 'A Random-Coefficient Regression Model' (SES centred at the school mean)",
        ("Intercept", "cses", "tau00", "tau11", "tau01", "sigma2"),
        {},
    ),
    "intercepts_slopes_as_outcomes": (
        "MathAch ~ MEANSES * cses + Sector * cses + (cses | School)",
        "Table 4.5, section 'An Intercepts- and Slopes-as-Outcomes Model'",
        ("Intercept", "MEANSES", "Sector[T.Catholic]", "cses", "MEANSES:cses", "Sector[T.Catholic]:cses",
         "tau00", "tau11", "tau01", "sigma2"),
        {},
    ),
}

_VARIANCE_NAMES = ("tau00", "tau11", "tau01", "sigma2", "icc")
_VALUE_COLUMNS = ["model", "quantity", "estimate", "se", "source"]


def list_published() -> pd.DataFrame:
    """List the chapter-4 models this module holds, with the formula that fits each one.

    Returns
    -------
    pandas.DataFrame
        One row per model; columns ``model`` (the key to pass to :func:`published_values` and
        :func:`side_by_side`), ``formula`` (lme4 syntax for ``mlmlab.fit`` on ``datasets.load("hsb")``),
        ``book`` (where Raudenbush & Bryk report the model) and ``n_published`` (how many of its numbers a
        citable source prints; see the module docstring).

    Examples
    --------
    >>> list_published()[["model", "n_published"]]
                               model  n_published
    0                  one_way_anova            2
    1              means_as_outcomes            0
    2             random_coefficient            0
    3  intercepts_slopes_as_outcomes            0

    Taught in lesson 09.
    """
    rows = [{"model": key, "formula": formula, "book": f"{_BOOK}, {where}", "n_published": len(values)}
            for key, (formula, where, _, values) in _MODELS.items()]
    return pd.DataFrame(rows)


def published_values(model: str) -> pd.DataFrame:
    """The published estimates of one chapter-4 model that a citable source prints, as a tidy table.

    Parameters
    ----------
    model : str
        One of ``"one_way_anova"``, ``"means_as_outcomes"``, ``"random_coefficient"``,
        ``"intercepts_slopes_as_outcomes"`` (see :func:`list_published`).

    Returns
    -------
    pandas.DataFrame
        One row per published value (none for a model no citable source prints); columns ``model``,
        ``quantity`` (patsy term name for a fixed effect; ``tau00``, ``tau11``, ``tau01``, ``sigma2`` or
        ``icc`` otherwise), ``estimate``, ``se`` (NaN where the source gives none) and ``source`` (the
        citation, with its address).

    Raises
    ------
    MlmlabInputError
        If ``model`` is not one of the stored models.

    Examples
    --------
    >>> published_values("one_way_anova")[["quantity", "estimate"]]
      quantity  estimate
    0    tau00   8.61431
    1   sigma2  39.14831
    >>> len(published_values("random_coefficient"))
    0

    Taught in lesson 09.
    """
    check_choice(model, list(_MODELS), "published_values", "model")
    values = _MODELS[model][3]
    rows = [{"model": model, "quantity": q, "estimate": est, "se": se, "source": source}
            for q, (est, se, source) in values.items()]
    return pd.DataFrame(rows, columns=_VALUE_COLUMNS)


def side_by_side(result, model: str) -> pd.DataFrame:
    """Put a fitted model's estimates beside the published ones, quantity by quantity.

    Parameters
    ----------
    result : MixedResult
        A fit from ``mlmlab.fit`` (anything with ``.fixed`` and ``.varcomp`` tables as documented there).
    model : str
        Which chapter-4 model the fit is (see :func:`list_published`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``quantity`` (every quantity the book's table reports for this model); columns ``ours``,
        ``published``, ``difference`` (ours − published), ``ours_se``, ``published_se`` (NaN for variance
        components and the ICC). ``published`` is NaN where no citable source prints a value (our fit alone);
        :func:`published_values` names the source of each published value.

    Raises
    ------
    MlmlabInputError
        If ``model`` is unknown, or ``result`` lacks a quantity the book reports (wrong formula).
    TypeError
        If ``result`` has no ``fixed``/``varcomp`` tables.

    Notes
    -----
    ``tau00``, ``tau11``, ``tau01`` are read from ``result.varcomp`` (the first grouping factor's
    intercept variance, slope variance and their covariance), ``sigma2`` from its ``Residual`` row,
    and ``icc`` = tau00 / (tau00 + sigma2).

    Examples
    --------
    >>> import pandas as pd
    >>> class Fit:  # stands in for mlmlab.fit("MathAch ~ 1 + (1 | School)", hsb)
    ...     fixed = pd.DataFrame({"estimate": [12.637], "se": [0.2444]}, index=["Intercept"])
    ...     varcomp = pd.DataFrame({"grp": ["School", "Residual"], "var1": ["(Intercept)", None],
    ...                             "var2": [None, None], "vcov": [8.614, 39.148], "sdcor": [2.935, 6.257]})
    >>> side_by_side(Fit(), "one_way_anova")[["ours", "published"]].round(3)
                 ours  published
    quantity
    Intercept  12.637        NaN
    tau00       8.614      8.614
    sigma2     39.148     39.148
    icc         0.180        NaN

    Taught in lesson 09.
    """
    check_choice(model, list(_MODELS), "side_by_side", "model")
    formula, _, quantities, values = _MODELS[model]
    fixed, varcomp = _tables(result)
    ours = _variance_quantities(varcomp)
    rows = []
    for quantity in quantities:
        if quantity in _VARIANCE_NAMES:
            value, se = ours.get(quantity, math.nan), math.nan
        elif quantity in fixed.index:
            value, se = float(fixed.loc[quantity, "estimate"]), float(fixed.loc[quantity, "se"])
        else:
            value = math.nan
        if np.isnan(value):
            raise argument_error(
                "side_by_side", "result", f"a fit of the published model {model!r}", type(result).__name__,
                detail=f"it has no {quantity!r}; the book's model is {formula}",
                fix="Fit that formula with mlmlab.fit on datasets.load('hsb') and pass the result.",
            )
        pub, pub_se, _ = values.get(quantity, (math.nan, math.nan, ""))
        rows.append({"quantity": quantity, "ours": value, "published": pub, "difference": value - pub,
                     "ours_se": se, "published_se": pub_se})
    return pd.DataFrame(rows).set_index("quantity")


def _tables(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    fixed = getattr(result, "fixed", None)
    varcomp = getattr(result, "varcomp", None)
    if not isinstance(fixed, pd.DataFrame) or not isinstance(varcomp, pd.DataFrame):
        raise argument_error("side_by_side", "result", "a fitted model from mlmlab.fit", type(result).__name__,
                             detail="it has no .fixed and .varcomp tables",
                             fix="Fit the model with mlmlab.fit(formula, data) first.", kind=TypeError)
    return fixed, varcomp


def _variance_quantities(varcomp: pd.DataFrame) -> dict[str, float]:
    """tau00, tau11, tau01, sigma2 (and icc) from an lme4-style variance-component table."""
    out: dict[str, float] = {}
    resid = varcomp[varcomp["grp"] == "Residual"]
    if len(resid):
        out["sigma2"] = float(resid["vcov"].iloc[0])
    levels = varcomp[varcomp["grp"] != "Residual"]
    if len(levels) == 0:
        return out
    first = levels[levels["grp"] == levels["grp"].iloc[0]]
    for _, row in first.iterrows():
        var1, var2 = row["var1"], row["var2"]
        if pd.isna(var2):
            out["tau00" if var1 == "(Intercept)" else "tau11"] = float(row["vcov"])
        elif "(Intercept)" in (var1, var2):
            out["tau01"] = float(row["vcov"])
    if "tau00" in out and "sigma2" in out:
        out["icc"] = out["tau00"] / (out["tau00"] + out["sigma2"])
    return out
