"""Published results to check our fits against: Raudenbush & Bryk (2002), chapter 4 (High School and Beyond).

The values are stored as data, each with its source, so a lesson can print "ours beside the book"
without typing numbers into a notebook. Fixed effects are keyed by the patsy term names that
``mlmlab.fit`` uses (``Intercept``, ``MEANSES``, ``Sector[T.Catholic]:cses`` ...); variance
components by the course's notation (``tau00``, ``tau11``, ``tau01``, ``sigma2``) and the intraclass
correlation by ``icc``.

Where in the book. Each model is cited by its table and section of chapter 4: Table 4.2 (the
one-way ANOVA with random effects), Table 4.3 (means as outcomes), Table 4.4 (the random-coefficient
model) and Table 4.5 (intercepts and slopes as outcomes); Table 4.1 holds the descriptive statistics.
The numbering is the one used by two public replications of the chapter: L. Miratrix, "HSB Example"
(https://github.com/lmiratrix/MLM, file ``hsb_ex.qmd``, one section per table) and the HLM run titled
"ONE-WAY ANOVA (TABLE 4.2, P. 70)" at
http://www.fpce.uc.pt/niips/amn/docsnet/docnet_08/HSB_Modelos/ANOVA/anova_out.htm.

What is stored as the book's. Only values at the book's rounding (two decimals) are stored. They were
entered in an earlier version of this module and could not be checked against a public copy of the
tables (the replications above print their own output, not the book's); lme4 reproduces each one to
its rounding (tests/test_published.py). Values that are our own fit's and
were once stored as the book's are left out: the null model's intercept 12.637
(SE 0.244), the standard errors 0.149 and 0.361 of the means-as-outcomes model and the slope
variance 0.694 of the random-coefficient model are lme4's numbers at three decimals, not the book's.
Model 4's intercept (12.11), ``MEANSES`` (5.34), Catholic effect (1.22) and sigma2 (36.70) are left
out too: no fit of the book's model reproduces them (lme4 and ``mlmlab.fit`` give 12.10, 5.33, 1.23
and 36.72; centring SES at the data set's ``MEANSES`` instead of the exact school mean gives 12.11,
5.34, 1.22 but still 36.72, and 36.70 is Model 3's sigma2). For every quantity left out,
:func:`side_by_side` shows our fit alone (``published`` NaN).

Everything else a lesson prints about these models (variance shares "explained", the range of
the slopes, reliabilities) is computed from our fits, which lme4 reproduces.

The data set's ``MEANSES`` column is not exactly the mean of ``SES`` over a school's students
(0.0055 to 0.0065 higher in every school), which is why SES
centred at ``MEANSES`` and SES centred at the exact school mean give slightly different fixed
effects (see ``mlmlab.datasets`` and lesson 09).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error, check_choice

__all__ = ["list_published", "published_values", "side_by_side"]

_BOOK = "Raudenbush & Bryk (2002), Hierarchical Linear Models, 2nd ed., Sage, chapter 4"

# model -> (formula for mlmlab.fit, where in the book, {quantity: (estimate, se)})
_MODELS: dict[str, tuple[str, str, dict[str, tuple[float, float]]]] = {
    "one_way_anova": (
        "MathAch ~ 1 + (1 | School)",
        "Table 4.2, section 'A One-Way ANOVA with Random Effects'",
        # Intercept NaN: 12.637 (SE 0.244) is lme4's fit, not the book's; side_by_side shows our fit alone.
        {"Intercept": (math.nan, math.nan), "tau00": (8.61, math.nan), "sigma2": (39.15, math.nan),
         "icc": (0.18, math.nan)},
    ),
    "means_as_outcomes": (
        "MathAch ~ MEANSES + (1 | School)",
        "Table 4.3, section 'A Regression with Means-as-Outcomes'",
        # SEs NaN: 0.149 and 0.361 are lme4's, not the book's.
        {"Intercept": (12.65, math.nan), "MEANSES": (5.86, math.nan), "tau00": (2.64, math.nan),
         "sigma2": (39.16, math.nan)},
    ),
    "random_coefficient": (
        "MathAch ~ cses + (cses | School)",
        "Table 4.4, section 'A Random-Coefficient Regression Model' (SES centred at the school mean)",
        # tau11 NaN: 0.694 is lme4's, not the book's.
        {"Intercept": (12.64, 0.24), "cses": (2.19, 0.13), "tau00": (8.68, math.nan),
         "tau11": (math.nan, math.nan), "sigma2": (36.70, math.nan)},
    ),
    "intercepts_slopes_as_outcomes": (
        "MathAch ~ MEANSES * cses + Sector * cses + (cses | School)",
        "Table 4.5, section 'An Intercepts- and Slopes-as-Outcomes Model'",
        # NaN: not recorded as the book's (see the module docstring); side_by_side shows our fit alone.
        {"Intercept": (math.nan, math.nan), "MEANSES": (math.nan, math.nan),
         "Sector[T.Catholic]": (math.nan, math.nan),
         "cses": (2.94, 0.16), "MEANSES:cses": (1.04, 0.30), "Sector[T.Catholic]:cses": (-1.64, 0.24),
         "tau00": (2.38, math.nan), "sigma2": (math.nan, math.nan)},
    ),
}

_VARIANCE_NAMES = ("tau00", "tau11", "tau01", "sigma2", "icc")


def list_published() -> pd.DataFrame:
    """List the published models this module holds, with the formula that fits each one.

    Returns
    -------
    pandas.DataFrame
        One row per model; columns ``model`` (the key to pass to :func:`published_values`),
        ``formula`` (lme4 syntax for ``mlmlab.fit`` on ``datasets.load("hsb")``), ``source``.

    Examples
    --------
    >>> list_published()["model"].tolist()
    ['one_way_anova', 'means_as_outcomes', 'random_coefficient', 'intercepts_slopes_as_outcomes']

    Taught in lesson 09.
    """
    rows = [{"model": key, "formula": formula, "source": f"{_BOOK}, {where}"}
            for key, (formula, where, _) in _MODELS.items()]
    return pd.DataFrame(rows)


def published_values(model: str) -> pd.DataFrame:
    """The published estimates of one Raudenbush & Bryk chapter-4 model, as a tidy table.

    Parameters
    ----------
    model : str
        One of ``"one_way_anova"``, ``"means_as_outcomes"``, ``"random_coefficient"``,
        ``"intercepts_slopes_as_outcomes"`` (see :func:`list_published`).

    Returns
    -------
    pandas.DataFrame
        One row per quantity recorded as the book's (see the module docstring); columns ``model``, ``quantity`` (patsy term name for a fixed effect;
        ``tau00``, ``tau11``, ``tau01``, ``sigma2`` or ``icc`` otherwise), ``estimate``, ``se``
        (NaN where the book gives none), ``source``.

    Raises
    ------
    MlmlabInputError
        If ``model`` is not one of the stored models.

    Examples
    --------
    >>> published_values("one_way_anova")[["quantity", "estimate"]]
      quantity  estimate
    0    tau00      8.61
    1   sigma2     39.15
    2      icc      0.18

    Taught in lesson 09.
    """
    check_choice(model, list(_MODELS), "published_values", "model")
    _, where, values = _MODELS[model]
    rows = [{"model": model, "quantity": q, "estimate": est, "se": se, "source": f"{_BOOK}, {where}"}
            for q, (est, se) in values.items() if not math.isnan(est)]
    return pd.DataFrame(rows)


def side_by_side(result, model: str) -> pd.DataFrame:
    """Put a fitted model's estimates beside the published ones, quantity by quantity.

    Parameters
    ----------
    result : MixedResult
        A fit from ``mlmlab.fit`` (anything with ``.fixed`` and ``.varcomp`` tables as documented there).
    model : str
        Which published model to compare with (see :func:`list_published`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``quantity``; columns ``ours``, ``published``, ``difference`` (ours − published),
        ``ours_se``, ``published_se`` (NaN for variance components and the ICC). ``published`` is NaN
        for a quantity of the book's model whose published value is not recorded (our fit alone).

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
    tau00       8.614       8.61
    sigma2     39.148      39.15
    icc         0.180       0.18

    Taught in lesson 09.
    """
    check_choice(model, list(_MODELS), "side_by_side", "model")
    book = pd.DataFrame([{"quantity": q, "estimate": est, "se": se} for q, (est, se) in _MODELS[model][2].items()]
                        ).set_index("quantity")
    fixed, varcomp = _tables(result)
    ours = _variance_quantities(varcomp)
    rows = []
    for quantity, pub in book.iterrows():
        if quantity in _VARIANCE_NAMES:
            value, se = ours.get(quantity, math.nan), math.nan
        elif quantity in fixed.index:
            value, se = float(fixed.loc[quantity, "estimate"]), float(fixed.loc[quantity, "se"])
        else:
            value = math.nan
        if np.isnan(value):
            raise argument_error(
                "side_by_side", "result", f"a fit of the published model {model!r}", type(result).__name__,
                detail=f"it has no {quantity!r}; the book's model is {_MODELS[model][0]}",
                fix="Fit that formula with mlmlab.fit on datasets.load('hsb') and pass the result.",
            )
        rows.append({"quantity": quantity, "ours": value, "published": pub["estimate"],
                     "difference": value - pub["estimate"], "ours_se": se, "published_se": pub["se"]})
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
