"""The result of :func:`mlmlab.fit`: lme4-style numbers for a fitted design.

Everything learners read off a mixed model lives here: fixed effects with the standard errors
lme4, SAS PROC MIXED and HLM report and lmerTest's t-tests, variance components laid out like lme4's
``as.data.frame(VarCorr(m))``, fit criteria (log-likelihood, AIC, BIC, deviance), BLUPs of the
random effects and predictions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse, stats

from mlmlab._checks import argument_error, check_data
from mlmlab._linalg import psd_cholesky
from mlmlab.design import NewDataError
from mlmlab.estimation import estimate, statsmodels_fit
from mlmlab.intervals import confint as _confint
from mlmlab.kenward_roger import kenward_roger
from mlmlab.satterthwaite import satterthwaite

__all__ = ["MixedResult"]

#: Largest rows × random-effect columns of one statsmodels group handled with dense matrices.
_DENSE_LIMIT = 2_000_000

#: lme4's tolerance in ``isSingular``: a diagonal element of the relative Cholesky factor below it.
SINGULAR_TOL = 1e-4


class MixedResult:
    """A fitted linear mixed model (returned by :func:`mlmlab.fit`).

    Attributes
    ----------
    formula : str
        The lme4-style formula.
    reml : bool
        True for a REML fit, False for maximum likelihood.
    fixed : pandas.DataFrame
        Fixed effects γ indexed by term (patsy names such as ``"Intercept"``, ``"cses"``,
        ``"Sector[T.Catholic]"``); columns ``estimate``, ``se``, ``df``, ``t``, ``p``, ``ci_low``, ``ci_high``.
        Standard errors from (XᵀV̂⁻¹X)⁻¹, as lme4 reports them; t-tests and 95 % t intervals on Satterthwaite's
        degrees of freedom, as lmerTest's ``summary`` (computed on first use). :meth:`fixed_table` gives
        Kenward–Roger's or the z-test's version.
    fixef : pandas.Series
        The fixed-effect estimates alone (lme4's ``fixef``), indexed like ``fixed``.
    vcov : pandas.DataFrame
        Their covariance matrix (lme4's ``vcov``).
    varcomp : pandas.DataFrame
        Columns ``grp``, ``var1``, ``var2``, ``vcov``, ``sdcor`` as lme4's ``as.data.frame(VarCorr(m))``:
        a row per variance (``var2`` missing, ``sdcor`` = SD), a row per covariance (``sdcor`` =
        correlation), and a final ``Residual`` row (σ²).
    G : dict
        Grouping factor → covariance matrix of its random effects (DataFrame).
    covariances : list of ndarray
        The covariance matrix of each random-effects block, in the order of ``design.blocks``.
    sigma2 : float
        Residual (level-1) variance σ².
    llf, deviance, aic, bic : float
        Log-likelihood (the REML criterion for REML fits, as lme4's ``logLik``), −2·llf, and lme4's
        AIC = −2·llf + 2·npar and BIC = −2·llf + log(nobs)·npar.
    npar, nobs : int
        Number of estimated parameters (fixed effects + covariance parameters + σ²); rows used.
    ngroups : dict
        Grouping factor → number of groups.
    converged, singular : bool
        Whether the optimizer converged; whether the fit is on the boundary (a variance ≈ 0 or a
        correlation ≈ ±1, lme4's ``isSingular``).
    optimizer : str
        The optimizer run that gave the best log-likelihood.
    messages : list of str
        Plain-language notes and warnings about this fit.
    ranef : pandas.DataFrame
        BLUPs (conditional modes) of the random effects: ``grp``, ``level``, ``term``, ``estimate``,
        ``se`` (conditional standard deviation, lme4's ``condsd``).
    fitted, resid : pandas.Series
        Fitted values including the random effects, and y minus them.
    data : pandas.DataFrame
        The rows of the data used in the fit.
    design : mlmlab.design.ModelDesign
        The model as built from formula and data (y, X, the random-effects blocks and their groups, rows
        used and dropped); ``predict``, ``refit`` and the inference functions read it.
    control : mlmlab.Control or None
        The optimisation settings the fit was made with (None: the defaults).
    statsmodels : statsmodels MixedLMResults
        statsmodels' fit of the same model: made on first use, started at the optimum, for a model fitted by
        :mod:`mlmlab.pls` (the default); the guarded fit itself with ``Control(engine="statsmodels")``.

    Examples
    --------
    >>> from mlmlab import fit, datasets
    >>> m = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
    >>> m
    <MixedResult REML: Yield ~ 1 + (1 | Batch); nobs=30, llf=-159.83>
    >>> m.varcomp.round(0)
            grp         var1  var2    vcov  sdcor
    0     Batch  (Intercept)  None  1764.0   42.0
    1  Residual         None  None  2451.0   50.0

    Taught in lesson 02.
    """

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_design(cls, design, *, reml=True, control=None) -> "MixedResult":
        """Estimate a :class:`mlmlab.design.ModelDesign` and return the result (what :func:`mlmlab.fit` does).

        Examples
        --------
        >>> from mlmlab import datasets
        >>> from mlmlab.design import build_design
        >>> d = build_design("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
        >>> round(MixedResult.from_design(d).llf, 2)
        -159.83
        """
        est = estimate(design, reml=reml, control=control)
        self = cls.__new__(cls)
        self.design = design
        self.control = control
        self._estimate = est
        self._statsmodels = est.statsmodels
        self._beta = est.beta
        self._fixed = None
        self.formula = design.formula
        self.reml = reml
        self.data = design.data
        self.optimizer = est.optimizer
        self.converged = est.converged
        self.messages = list(design.notes) + list(est.messages)
        self._runs = est.runs
        self.sigma2 = est.sigma2
        self._cov = est.covariances
        self.nobs = design.nobs
        self.ngroups = design.ngroups
        self.llf = est.llf
        n_cov = sum(c.shape[0] * (c.shape[0] + 1) // 2 for c in self._cov)
        self.npar = int(design.X.shape[1] + n_cov + 1)
        self.deviance = -2.0 * self.llf
        self.aic = self.deviance + 2.0 * self.npar
        self.bic = self.deviance + np.log(self.nobs) * self.npar
        if est.pls is not None:
            self._from_pls(est.pls)
        else:
            self._compute()
        self.singular, notes = self._singular()
        self.messages.extend(notes)
        return self

    @property
    def statsmodels(self):
        """The statsmodels result (for a model :mod:`mlmlab.pls` fitted: statsmodels' fit, made on first use)."""
        if self._statsmodels is None:
            self._statsmodels = statsmodels_fit(self.design, self._estimate, reml=self.reml)
        return self._statsmodels

    # ------------------------------------------------------------------ core linear algebra
    def _from_pls(self, fit):
        """Standard errors, BLUPs and conditional variances as :mod:`mlmlab.pls` computed them."""
        design = self.design
        self._fe_cov = np.asarray(fit.cov_beta, dtype=float)
        self._u_est = [np.asarray(u, dtype=float) for u in fit.ranef]
        self._u_var = [np.asarray(v, dtype=float) for v in fit.ranef_var]
        u_rows = np.zeros(design.nobs)
        for b, u in zip(design.blocks, self._u_est):
            u_rows += np.sum(b.Z * u[b.codes], axis=1)
        self._set_fitted(design.X.to_numpy(dtype=float) @ self._beta, u_rows)

    def _set_fitted(self, fixed_part, u_rows):
        index = self.data.index
        self._fixed_part = pd.Series(fixed_part, index=index)
        self.fitted = pd.Series(fixed_part + u_rows, index=index, name="fitted")
        self.resid = pd.Series(self.design.y - self.fitted.to_numpy(), index=index, name="resid")

    def _compute(self):
        """GLS standard errors (XᵀV⁻¹X)⁻¹ and BLUPs, one statsmodels group at a time."""
        design = self.design
        X = design.X.to_numpy(dtype=float)
        y = design.y
        beta = self._beta
        s2 = self.sigma2
        roots = [_psd_root(c) for c in self._cov]
        r = y - X @ beta
        p = X.shape[1]
        info = np.zeros((p, p))
        est = [np.zeros((len(b.levels), b.Z.shape[1])) for b in design.blocks]
        var = [np.zeros_like(e) for e in est]
        u_rows = np.zeros(len(y))
        clusters = design.independent_groups  # rows of different clusters are independent
        order = np.argsort(clusters, kind="stable")
        bounds = np.flatnonzero(np.diff(clusters[order])) + 1
        for rows in np.split(order, bounds):
            cols, pieces, width = [], [], 0
            for k, b in enumerate(design.blocks):
                lev, local = np.unique(b.codes[rows], return_inverse=True)
                t = b.Z.shape[1]
                ZL = b.Z[rows] @ roots[k]
                # (row, column, value) triplets of this block's columns of W = Z L.
                pieces.append((np.repeat(np.arange(len(rows)), t), (width + local[:, None] * t
                               + np.arange(t)).ravel(), ZL.ravel()))
                cols.append((k, lev, t))
                width += len(lev) * t
            i, j, val = (np.concatenate(a) for a in zip(*pieces))
            # Dense for the usual small blocks; sparse when one block is large (crossed factors, big n).
            W = sparse.csr_array((val, (i, j)), shape=(len(rows), width))
            if len(rows) * width <= _DENSE_LIMIT:
                W = W.toarray()
            WtW = W.T @ W
            M = s2 * np.eye(width) + (WtW.toarray() if sparse.issparse(WtW) else WtW)
            Xj, rj = X[rows], r[rows]
            WX = np.asarray(W.T @ Xj)
            Minv = np.linalg.inv(M)
            info += (Xj.T @ Xj - WX.T @ Minv @ WX) / s2
            v = Minv @ (W.T @ rj)
            u_rows[rows] = W @ v
            S = s2 * Minv
            start = 0
            for k, lev, t in cols:
                L = roots[k]
                for i, level in enumerate(lev):
                    sl = slice(start + i * t, start + (i + 1) * t)
                    est[k][level] = L @ v[sl]
                    var[k][level] = np.diag(L @ S[sl, sl] @ L.T)
                start += len(lev) * t
        self._fe_cov = np.linalg.inv(info)
        self._u_est, self._u_var = est, var
        self._set_fitted(X @ beta, u_rows)

    # ------------------------------------------------------------------ tables
    @property
    def fixef(self) -> pd.Series:
        """The fixed-effect estimates γ̂ (lme4's ``fixef``), indexed by term."""
        return pd.Series(np.array(self._beta, dtype=float), index=pd.Index(list(self.design.X.columns), name="term"),
                         name="estimate")

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect estimates, σ²(XᵀV⁻¹X)⁻¹ (lme4's ``vcov(m)``): its diagonal holds the
        squared standard errors of ``fixed``.

        Examples
        --------
        >>> from mlmlab import fit, datasets
        >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
        >>> m.vcov.round(2)
                   Intercept  Days
        Intercept      46.57 -1.45
        Days           -1.45  2.39

        lme4's ``vcov(m)``: 46.57, −1.45 and 2.39.
        """
        names = list(self.design.X.columns)
        return pd.DataFrame(np.array(self._fe_cov, dtype=float), index=names, columns=names)

    @property
    def fixed(self) -> pd.DataFrame:
        """Fixed effects: estimate, se, df, t, p, ci_low, ci_high (Satterthwaite's df; see :meth:`fixed_table`)."""
        if self._fixed is None:
            self._fixed = self.fixed_table()
        return self._fixed.copy()

    def fixed_table(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """Fixed effects with tests and 95 % intervals, by the chosen denominator degrees of freedom.

        Parameters
        ----------
        ddf : {"satterthwaite", "kenward-roger", "z"}, default="satterthwaite"
            ``"satterthwaite"``: t-tests on Satterthwaite's df (lmerTest's ``summary``; REML or ML fits).
            ``"kenward-roger"``: Kenward–Roger's adjusted standard errors and df (pbkrtest; REML fits only).
            ``"z"``: Wald z-tests and normal intervals, as if the variance components were known (lme4's
            ``summary`` and statsmodels print z).

        Returns
        -------
        pandas.DataFrame
            Indexed by term: ``estimate``, ``se``, then ``df`` and ``t`` (or ``z``), ``p`` (two-sided), and the
            95 % interval ``ci_low``, ``ci_high`` (estimate ± the t or normal quantile × se).

        Raises
        ------
        MlmlabInputError
            An unknown ``ddf``, or ``"kenward-roger"`` for an ML fit.

        Examples
        --------
        >>> from mlmlab import fit, datasets
        >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
        >>> m.fixed_table().round(2)
                   estimate    se    df      t    p  ci_low  ci_high
        term
        Intercept    251.41  6.82  17.0  36.84  0.0  237.01   265.80
        Days          10.47  1.55  17.0   6.77  0.0    7.21    13.73
        >>> m.fixed_table("z").round(2)
                   estimate    se      z    p  ci_low  ci_high
        term
        Intercept    251.41  6.82  36.84  0.0  238.03   264.78
        Days          10.47  1.55   6.77  0.0    7.44    13.50

        With 18 subjects the slope is judged on 17 degrees of freedom, not on the 180 rows: the t interval is
        wider than the z interval.
        """
        if ddf not in ("satterthwaite", "kenward-roger", "z"):
            raise argument_error("fixed_table", "ddf", "one of 'satterthwaite', 'kenward-roger', 'z'", ddf)
        est = self.fixef
        if ddf == "z":
            se = np.sqrt(np.diag(self._fe_cov))
            z = est.to_numpy() / se
            q = stats.norm.ppf(0.975)
            return pd.DataFrame({"estimate": est.to_numpy(), "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
                                 "ci_low": est.to_numpy() - q * se, "ci_high": est.to_numpy() + q * se},
                                index=est.index)
        tab = satterthwaite(self) if ddf == "satterthwaite" else kenward_roger(self)
        if ddf == "satterthwaite":  # the SEs of the fit itself (lme4's), to the last digit
            tab["se"] = np.sqrt(np.diag(self._fe_cov))
            tab["t"] = tab["estimate"] / tab["se"]
            tab["p"] = 2 * stats.t.sf(np.abs(tab["t"]), tab["df"])
        q = stats.t.ppf(0.975, tab["df"].to_numpy())
        tab["ci_low"] = tab["estimate"] - q * tab["se"]
        tab["ci_high"] = tab["estimate"] + q * tab["se"]
        tab.index.name = "term"
        return tab

    def confint(self, method: str = "wald", *, level: float = 0.95, n: int = 1000, rng=None,
                progress: bool = False) -> pd.DataFrame:
        """Confidence intervals for the model's parameters, as lme4's ``confint`` (:func:`mlmlab.confint`).

        ``method="wald"`` (fixed effects only), ``"profile"`` (every parameter; variance intervals can reach 0)
        or ``"boot"`` (parametric bootstrap percentiles, ``n`` replicates drawn with ``rng``).

        Examples
        --------
        >>> from mlmlab import fit, datasets
        >>> m = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
        >>> m.confint("profile").round(1)[["ci_low", "ci_high"]]  # doctest: +NORMALIZE_WHITESPACE
                              ci_low  ci_high
        parameter
        sd_(Intercept)|Batch    12.2     84.1
        sigma                   38.2     67.7
        Intercept             1486.5   1568.5

        lme4's ``confint(m)``: 12.2 to 84.1, 38.2 to 67.7 and 1486.5 to 1568.5.
        """
        return _confint(self, method=method, level=level, n=n, rng=rng, progress=progress)

    @property
    def varcomp(self) -> pd.DataFrame:
        """Variance components laid out like lme4's ``as.data.frame(VarCorr(m))``."""
        rows = []
        for b, cov in zip(self.design.blocks, self._cov):
            names = b.names
            for i, n in enumerate(names):
                rows.append((b.term.group, n, None, cov[i, i], np.sqrt(max(cov[i, i], 0.0))))
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    denom = np.sqrt(cov[i, i] * cov[j, j])
                    corr = cov[i, j] / denom if denom > 0 else np.nan
                    rows.append((b.term.group, names[i], names[j], cov[i, j], corr))
        rows.append(("Residual", None, None, self.sigma2, np.sqrt(self.sigma2)))
        out = pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
        for c in ("var1", "var2"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        return out

    @property
    def covariances(self) -> list:
        """Covariance matrix of each random-effects block, in the order of ``design.blocks`` (copies)."""
        return [c.copy() for c in self._cov]

    @property
    def G(self) -> dict:
        """Grouping factor → covariance matrix (DataFrame) of its random effects."""
        out = {}
        for b, cov in zip(self.design.blocks, self._cov):
            piece = pd.DataFrame(cov, index=b.names, columns=b.names)
            if b.factor in out:
                old = out[b.factor]
                names = list(old.index) + list(piece.index)
                merged = pd.DataFrame(0.0, index=names, columns=names)
                merged.loc[old.index, old.columns] = old.to_numpy()
                merged.loc[piece.index, piece.columns] = piece.to_numpy()
                piece = merged
            out[b.factor] = piece
        return out

    @property
    def ranef(self) -> pd.DataFrame:
        """BLUPs: grp, level, term, estimate, se (conditional SD)."""
        frames = []
        for b, est, var in zip(self.design.blocks, self._u_est, self._u_var):
            for j, name in enumerate(b.names):
                frames.append(pd.DataFrame({
                    "grp": b.factor, "level": list(b.labels), "term": name,
                    "estimate": est[:, j], "se": np.sqrt(np.maximum(var[:, j], 0.0)),
                }))
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ diagnostics
    def _singular(self):
        notes, singular = [], False
        for b, cov in zip(self.design.blocks, self._cov):
            diag = np.diag(psd_cholesky(cov / self.sigma2))
            for i, d in enumerate(diag):
                if d < SINGULAR_TOL:
                    singular = True
                    names = b.names
                    if i == 0 or cov[i, i] / self.sigma2 < SINGULAR_TOL ** 2:
                        what = f"the variance of {names[i]} for '{b.term.group}' is estimated as (almost) zero"
                    else:
                        what = (f"the random effects of '{b.term.group}' are (almost) perfectly correlated, so "
                                f"{names[i]} adds nothing the others do not already carry")
                    notes.append(
                        f"Singular fit (boundary): {what}. The data cannot support this random-effects "
                        "structure; consider dropping that term. lme4 reports the same as 'boundary (singular) fit'."
                    )
        return singular, notes

    # ------------------------------------------------------------------ prediction
    def predict(self, newdata=None, *, include_re=True) -> pd.Series:
        """Predicted outcome, with or without the groups' random effects.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict. ``None`` predicts the rows used in the fit.
        include_re : bool, default=True
            Add each row's BLUPs (group-specific prediction). ``False`` gives the fixed part
            (population-average prediction).

        Returns
        -------
        pandas.Series
            One prediction per row, with the index of ``newdata``.

        Notes
        -----
        A row whose group was not in the fitted data gets the fixed part only: its random effects
        are set to their mean, 0 (lme4's ``allow.new.levels = TRUE``). A UserWarning says how many
        rows this concerns.

        Examples
        --------
        >>> import pandas as pd
        >>> from mlmlab import fit, datasets
        >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
        >>> new = pd.DataFrame({"Days": [0, 5], "Subject": ["308", "999"]})
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     m.predict(new).round(1).tolist()
        [253.7, 303.7]

        Taught in lesson 02.
        """
        if newdata is None:
            out = self.fitted if include_re else self._fixed_part
            return out.rename("predicted")
        newdata = check_data(newdata, "predict", "newdata")
        design = self.design
        parsed = design.parsed
        needed = [v for v in parsed.variables() if v != parsed.outcome]
        if not include_re:
            needed = [v for v in needed if v not in design.group_variables]
        for v in needed:
            if v not in newdata.columns:
                raise argument_error("predict", "newdata", "a DataFrame with the model's predictors", newdata,
                                     detail=f"column {v!r} is missing; the model uses: {', '.join(needed)}")
        if newdata[needed].isna().any().any():
            raise argument_error("predict", "newdata", "a DataFrame without missing values in the model's "
                                 "predictors", newdata, detail="found missing values in "
                                 + ", ".join(c for c in needed if newdata[c].isna().any()))
        try:
            X = design.X_new(newdata)
        except NewDataError as exc:
            raise _new_level_error(self, newdata, needed, exc) from None
        pred = X @ self._beta
        if include_re:
            unseen = np.zeros(len(newdata), dtype=bool)
            for b, est in zip(design.blocks, self._u_est):
                Z = b.Z_new(newdata)
                codes = design.codes_new(b, newdata)
                seen = codes >= 0
                unseen |= ~seen
                u = np.zeros_like(Z)
                u[seen] = est[codes[seen]]
                pred = pred + (Z * u).sum(axis=1)
            if unseen.any():
                warnings.warn(
                    f"predict: {int(unseen.sum())} of {len(newdata)} rows belong to groups not seen in the fit; "
                    "they get the fixed part only (their random effects are set to their mean, 0).",
                    UserWarning, stacklevel=2,
                )
        return pd.Series(pred, index=newdata.index, name="predicted")

    # ------------------------------------------------------------------ refitting and text
    def refit(self, *, reml) -> "MixedResult":
        """Fit the same formula to the same rows, with REML (``reml=True``) or ML (``reml=False``).

        Examples
        --------
        >>> from mlmlab import fit, datasets
        >>> m = fit("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
        >>> round(m.refit(reml=False).llf, 2)
        -163.66

        Taught in lesson 06.
        """
        if not isinstance(reml, (bool, np.bool_)):
            raise argument_error("refit", "reml", "True or False", reml, kind=TypeError)
        return MixedResult.from_design(self.design, reml=bool(reml), control=self.control)

    def __repr__(self) -> str:
        kind = "REML" if self.reml else "ML"
        return f"<MixedResult {kind}: {self.formula}; nobs={self.nobs}, llf={self.llf:.2f}>"

    def summary(self) -> str:
        """lme4-style text summary: random effects (variances, SDs, correlations), fixed effects, fit.

        Examples
        --------
        >>> from mlmlab import fit, datasets
        >>> m = fit("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
        >>> print(m.summary())  # doctest: +ELLIPSIS
        Linear mixed model fit by REML (mlmlab, lme4's penalised least squares)
        Formula: Reaction ~ Days + (Days | Subject)
        ...
        Random effects:
         Groups   Name        Variance Std.Dev. Corr
         Subject  (Intercept)    612.1    24.74
                  Days           35.07    5.922  0.07
         Residual                654.9    25.59
        Number of obs: 180, groups: Subject, 18
        <BLANKLINE>
        Fixed effects (t-tests on Satterthwaite's df):
                  Estimate Std. Error   df t value Pr(>|t|)
        Intercept 251.4051     6.8246 17.0   36.84  < 2e-16
        Days       10.4673     1.5458 17.0    6.77 3.26e-06
        ...

        Taught in lesson 02.
        """
        kind = "REML" if self.reml else "maximum likelihood"
        how = "statsmodels MixedLM via mlmlab" if self._estimate.pls is None else "mlmlab, lme4's penalised least squares"
        lines = [f"Linear mixed model fit by {kind} ({how})", f"Formula: {self.formula}", ""]
        if self.reml:
            lines.append(f"REML criterion at convergence: {self.deviance:.1f}")
        lines.append(f"     AIC      BIC   logLik deviance")
        lines.append(f"{self.aic:8.1f} {self.bic:8.1f} {self.llf:8.1f} {self.deviance:8.1f}")
        lines += ["", "Random effects:"]
        lines += _random_table(self)
        groups = ", ".join(f"{k}, {v}" for k, v in self.ngroups.items())
        lines.append(f"Number of obs: {self.nobs}, groups: {groups}")
        lines += ["", "Fixed effects (t-tests on Satterthwaite's df):"]
        fx = self.fixed
        tab = pd.DataFrame({"Estimate": fx["estimate"], "Std. Error": fx["se"], "df": fx["df"], "t value": fx["t"],
                            "Pr(>|t|)": fx["p"]})
        tab.index.name = None
        lines.append(tab.to_string(formatters={
            "Estimate": "{:.4f}".format, "Std. Error": "{:.4f}".format, "df": "{:.1f}".format,
            "t value": "{:.2f}".format, "Pr(>|t|)": lambda v: " < 2e-16" if v < 2e-16 else f"{v:.3g}"}))
        lines += ["", f"Optimizer: {self.optimizer}; converged: {self.converged}; singular: {self.singular}"]
        for m in self.messages:
            lines.append(f"Note: {m}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers

def _psd_root(cov: np.ndarray) -> np.ndarray:
    """A matrix L with L Lᵀ = cov, for positive semi-definite cov (zero variances allowed)."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _new_level_error(res: "MixedResult", newdata: pd.DataFrame, needed, exc) -> Exception:
    """The error for new data patsy cannot code, naming a categorical column with levels not fitted."""
    fitted = res.design.frame
    groups = res.design.group_variables
    for col in needed:
        if col in groups or col not in fitted.columns:
            continue
        if pd.api.types.is_numeric_dtype(fitted[col]) and not pd.api.types.is_bool_dtype(fitted[col]):
            continue
        known = set(fitted[col].astype(str))
        new = [v for v in dict.fromkeys(newdata[col].astype(str)) if v not in known]
        if new:
            return argument_error(
                "predict", "newdata", "a DataFrame whose categorical predictors take levels seen in the fit", newdata,
                detail=f"column {col!r} has the level{'s' if len(new) > 1 else ''} "
                       f"{', '.join(map(repr, new[:5]))} that the fit never saw (it knows "
                       f"{', '.join(map(repr, sorted(known)[:10]))})",
                fix="A fixed effect has no estimate for a new level: predict only rows with known levels, or refit "
                    "with data that contain it.",
            )
    return argument_error("predict", "newdata", "a DataFrame the model's fixed part can be evaluated on", newdata,
                          detail=str(exc).splitlines()[0])


def _random_table(res: MixedResult) -> list:
    rows = []
    for b, cov in zip(res.design.blocks, res._cov):
        names = b.names
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        for i, n in enumerate(names):
            corr = []
            for j in range(i):
                corr.append(f"{cov[i, j] / (sd[i] * sd[j]):5.2f}" if sd[i] * sd[j] > 0 else "  NaN")
            rows.append((b.term.group if i == 0 else "", n, cov[i, i], sd[i], " ".join(corr)))
    rows.append(("Residual", "", res.sigma2, np.sqrt(res.sigma2), ""))
    w_g = max(8, max(len(r[0]) for r in rows))
    w_n = max(11, max(len(r[1]) for r in rows))
    out = [f" {'Groups':<{w_g}} {'Name':<{w_n}} Variance Std.Dev. Corr"]
    for g, n, v, s, c in rows:
        out.append(f" {g:<{w_g}} {n:<{w_n}} {_num(v):>8} {_num(s):>8} {c}".rstrip())
    return out


def _num(v: float) -> str:
    """Four significant digits, like lme4's print of VarCorr."""
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
