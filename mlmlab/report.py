"""Report multilevel models the way journal articles do: one table, one column per model.

Taught in lesson 10.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_choice, check_result
from mlmlab.r2 import r2_nakagawa

__all__ = ["report_table", "format_report"]

SECTIONS = ("Fixed effects", "Random effects", "Model fit")
STATS = ("estimate", "se", "ci_low", "ci_high")


def _check_names(names, n: int) -> list:
    if names is None:
        return [f"Model {k + 1}" for k in range(n)]
    if isinstance(names, str) or not hasattr(names, "__len__"):
        raise argument_error("report_table", "names", "a list of model names, one per result", names,
                             fix="Pass e.g. names=['Null', 'Random intercept'].", kind=TypeError)
    names = [str(x) for x in names]
    if len(names) != n:
        raise argument_error("report_table", "names", f"a list of {n} names (one per result)", names,
                             detail=f"got {len(names)} names for {n} results")
    if len(set(names)) != n:
        raise argument_error("report_table", "names", "a list of distinct names", names)
    return names


def _check_ci(ci) -> float:
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 1:
        raise argument_error("report_table", "ci", "a coverage between 0 and 1", ci, fix="Pass e.g. ci=0.95.")
    return float(ci)


def _fixed_rows(result, level: float, ddf: str) -> dict:
    """Estimate, SE and the interval estimate ± q·SE, q the normal or the t quantile (Satterthwaite's or KR's df)."""
    out = {}
    table = result.fixed if ddf == "satterthwaite" else result.fixed_table(ddf)
    for term, row in table.iterrows():
        est, se = float(row["estimate"]), float(row["se"])
        q = stats.norm.ppf(0.5 + level / 2) if ddf == "z" else stats.t.ppf(0.5 + level / 2, float(row["df"]))
        out[("Fixed effects", str(term))] = (est, se, est - q * se, est + q * se)
    return out


def _random_rows(result) -> dict:
    out = {}
    for _, row in result.varcomp.iterrows():
        grp, v1, v2 = row["grp"], row["var1"], row["var2"]
        if grp == "Residual":
            out[("Random effects", "Residual: variance")] = (float(row["vcov"]),)
            out[("Random effects", "Residual: SD")] = (float(row["sdcor"]),)
        elif isinstance(v2, str):
            out[("Random effects", f"{grp}: correlation {v1}, {v2}")] = (float(row["sdcor"]),)
        else:
            out[("Random effects", f"{grp}: {v1} variance")] = (float(row["vcov"]),)
            out[("Random effects", f"{grp}: {v1} SD")] = (float(row["sdcor"]),)
    return out


def _fit_rows(result, fit_stats: str, label: str) -> dict:
    out = {("Model fit", "N (observations)"): (float(result.nobs),)}
    for factor, count in result.ngroups.items():
        out[("Model fit", f"N groups ({factor})")] = (float(count),)
    r2 = r2_nakagawa(result).iloc[0]
    out[("Model fit", "ICC (adjusted)")] = (r2["var_random"] / (r2["var_random"] + r2["var_residual"]),)
    out[("Model fit", "R² marginal")] = (float(r2["r2_marginal"]),)
    out[("Model fit", "R² conditional")] = (float(r2["r2_conditional"]),)
    source = result.refit(reml=False) if fit_stats == "ml" and result.reml else result
    out[("Model fit", "parameters")] = (float(source.npar),)
    out[("Model fit", f"log-likelihood ({label})")] = (float(source.llf),)
    out[("Model fit", f"deviance ({label})")] = (float(-2 * source.llf),)
    out[("Model fit", f"AIC ({label})")] = (float(source.aic),)
    out[("Model fit", f"BIC ({label})")] = (float(source.bic),)
    return out


def _criterion_label(results, fit_stats: str) -> str:
    if fit_stats == "ml":
        return "ML"
    kinds = {bool(r.reml) for r in results}
    if len(kinds) > 1:
        raise argument_error(
            "report_table", "fit_stats", "'ml' when the models mix REML and ML fits", fit_stats,
            detail="their log-likelihoods, AIC and BIC are on different scales",
            fix="Use fit_stats='ml' (the default) to report ML values for every model.",
        )
    return "REML" if kinds.pop() else "ML"


def report_table(*results, names=None, ci=0.95, fit_stats="ml", ddf="satterthwaite") -> pd.DataFrame:
    """One table of several fitted models, laid out like a table in a journal article.

    Parameters
    ----------
    *results : MixedResult
        One or more fits from :func:`mlmlab.fit`; each becomes a column block.
    names : list of str, optional
        Model names (default ``"Model 1"``, ``"Model 2"``, ...).
    ci : float, default=0.95
        Coverage of the intervals of the fixed effects, estimate ± q·se.
    ddf : {"satterthwaite", "kenward-roger", "z"}, default="satterthwaite"
        q is the t quantile on Satterthwaite's df (as ``m.fixed``, lmerTest's), the t quantile on
        Kenward–Roger's df with their adjusted standard errors (pbkrtest's; REML fits only, the ``se``
        column is then the adjusted one), or the normal quantile (Wald).
    fit_stats : {"ml", "as_fitted"}, default="ml"
        ``"ml"``: log-likelihood, deviance, AIC and BIC from maximum-likelihood fits (REML fits are
        refitted with ML for these rows only), so they can be compared across models whose fixed
        effects differ. ``"as_fitted"``: the criterion each model was fitted with (all models must
        then use the same one).

    Returns
    -------
    pandas.DataFrame
        Rows: a MultiIndex (``section``, ``term``) with sections ``"Fixed effects"`` (one row per
        fixed effect), ``"Random effects"`` (``"<group>: <term> variance"``, ``"<group>: <term> SD"``,
        ``"<group>: correlation <term>, <term>"``, ``"Residual: variance"``, ``"Residual: SD"``) and
        ``"Model fit"`` (``"N (observations)"``, ``"N groups (<group>)"``, ``"ICC (adjusted)"``,
        ``"R² marginal"``, ``"R² conditional"``, ``"parameters"``, ``"log-likelihood (ML)"``,
        ``"deviance (ML)"``, ``"AIC (ML)"``, ``"BIC (ML)"``). Columns: a MultiIndex (``model``,
        ``stat``) with stats ``estimate``, ``se``, ``ci_low``, ``ci_high``; only fixed effects have
        a standard error and interval. A term a model does not have is NaN. Numbers are not
        rounded; see :func:`format_report` for the printed version.

    Raises
    ------
    MlmlabInputError
        If no result is given, ``names`` has the wrong length, ``ci`` is not in (0, 1),
        ``fit_stats="as_fitted"`` with a mix of REML and ML fits, or ``ddf="kenward-roger"`` with an ML fit.
    TypeError
        If an argument is not a fitted model.

    Notes
    -----
    The variance components are the fitted (REML or ML) estimates. "ICC (adjusted)" is
    σ²_r / (σ²_r + σ²) with σ²_r the random-effects variance of :func:`mlmlab.r2.variance_parts`
    (τ00 / (τ00 + σ²) in a random-intercept model, conditional on the predictors); R² are
    Nakagawa & Schielzeth's, see :func:`mlmlab.r2_nakagawa`. Report the whole table: fixed
    effects alone hide how much groups differ.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> sleep = datasets.load("sleepstudy")
    >>> m = fit("Reaction ~ Days + (Days | Subject)", sleep)
    >>> table = report_table(m, names=["Growth"])
    >>> table.loc["Fixed effects", ("Growth", "estimate")].round(2).tolist()
    [251.41, 10.47]
    >>> float(table.loc[("Model fit", "AIC (ML)"), ("Growth", "estimate")].round(1))
    1763.9

    Taught in lesson 10.
    """
    if not results:
        raise argument_error("report_table", "results", "one or more fitted models", (),
                             fix="Pass fits from mlmlab.fit, e.g. report_table(m0, m1, names=['Null', 'SES']).")
    for r in results:
        check_result(r, "report_table", "results")
    names = _check_names(names, len(results))
    level = _check_ci(ci)
    check_choice(fit_stats, ["ml", "as_fitted"], "report_table", "fit_stats")
    check_choice(ddf, ["satterthwaite", "kenward-roger", "z"], "report_table", "ddf")
    label = _criterion_label(results, fit_stats)
    blocks, order = {}, []
    for name, r in zip(names, results):
        rows = {**_fixed_rows(r, level, ddf), **_random_rows(r), **_fit_rows(r, fit_stats, label)}
        blocks[name] = rows
        order += [k for k in rows if k not in order]
    # stable sort: sections in order, Residual rows last among the random effects, otherwise first appearance
    order.sort(key=lambda k: (SECTIONS.index(k[0]), k[1].startswith("Residual:")))
    index = pd.MultiIndex.from_tuples(order, names=["section", "term"])
    columns = pd.MultiIndex.from_product([names, STATS], names=["model", "stat"])
    table = pd.DataFrame(np.nan, index=index, columns=columns)
    for name, rows in blocks.items():
        for key, values in rows.items():
            for stat, value in zip(STATS, values):
                table.loc[key, (name, stat)] = value
    return table


def _cell(row: pd.Series, key, interval: str, digits: int) -> str:
    est = row[(key, "estimate")]
    if pd.isna(est):
        return ""
    if row.name[1].startswith("N ") or row.name[1] == "parameters":
        return f"{est:.0f}"
    text = f"{est:.{digits}f}"
    se = row[(key, "se")]
    if pd.isna(se) or interval == "none":
        return text
    if interval == "se":
        return f"{text} ({se:.{digits}f})"
    return f"{text} [{row[(key, 'ci_low')]:.{digits}f}, {row[(key, 'ci_high')]:.{digits}f}]"


def format_report(table, *, interval="se", digits=2) -> pd.DataFrame:
    """The printed version of :func:`report_table`: one text column per model.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`report_table`.
    interval : {"se", "ci", "none"}, default="se"
        What follows each fixed effect: its standard error in parentheses, its interval in
        brackets, or nothing.
    digits : int, default=2
        Decimal places (counts are printed as whole numbers).

    Returns
    -------
    pandas.DataFrame
        Same rows as ``table``, one column of strings per model; ready for ``.to_latex()``,
        ``.to_html()`` or ``.to_markdown()``.

    Raises
    ------
    MlmlabInputError
        If ``interval`` is not one of the choices or ``digits`` is not a whole number ≥ 0.
    TypeError
        If ``table`` is not the output of :func:`report_table`.

    Examples
    --------
    >>> from mlmlab import datasets, fit
    >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> format_report(report_table(m, names=["Growth"])).loc["Fixed effects"]
                      Growth
    term
    Intercept  251.41 (6.82)
    Days        10.47 (1.55)

    Taught in lesson 10.
    """
    if not (isinstance(table, pd.DataFrame) and isinstance(table.columns, pd.MultiIndex)
            and list(table.columns.names) == ["model", "stat"]):
        raise argument_error("format_report", "table", "the output of report_table", table,
                             fix="Build it first: table = report_table(m1, m2).", kind=TypeError)
    check_choice(interval, ["se", "ci", "none"], "format_report", "interval")
    if isinstance(digits, bool) or not isinstance(digits, (numbers.Integral, np.integer)) or digits < 0:
        raise argument_error("format_report", "digits", "a whole number of at least 0", digits)
    models = list(dict.fromkeys(table.columns.get_level_values("model")))
    out = pd.DataFrame({m: [_cell(row, m, interval, int(digits)) for _, row in table.iterrows()] for m in models},
                       index=table.index)
    out.columns.name = None
    return out
