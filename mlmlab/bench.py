"""Benchmark: the engine against statsmodels and lme4 on the same data (``python -m mlmlab.bench``).

Not a test (timings depend on the machine); it prints per-fit times, the ratios to the engine and
the log-likelihoods (so a fast wrong answer would show). Sections:

1. a 30 groups × 20 units random-intercept design, R simulated outcomes: the engine fits them all
   in one batched call; statsmodels ``MixedLM(...).fit()`` and lme4 ``lmer()`` (and lme4's faster
   ``refit()``) fit a subset one by one;
2. High School and Beyond, ``MathAch ~ cses + (1 | School)``: one fit each, plus 1,000 batched
   REML refits of the same design (outcomes simulated from the engine's estimates);
3. High School and Beyond, ``MathAch ~ cses + (cses | School)``: one fit each, plus ``mlmlab.fit``;
4. ``models`` (issue 16): ``mlmlab.fit`` (its default engine, :mod:`mlmlab.pls`, lme4's penalised least squares; the
   engine alone from ``build_design`` too) against ``mlmlab.fit`` with ``Control(engine="statsmodels")`` (guarded
   statsmodels),
   statsmodels ``MixedLM`` and lme4 ``lmer()`` on HSB random intercept and random slope, sleepstudy, Penicillin
   (crossed), Pastes (nested) and simulated InstEval-like crossed designs: two factors and 3,500 rows, three
   factors and 6,000 or 70,000 rows (statsmodels and today's ``mlmlab.fit`` are dense for crossed factors and
   are not run on 70,000 rows). One fit per method (lme4 after a warm-up fit of another model).

lme4 runs in one ``Rscript`` process (skipped with a note when R or lme4 is missing, or with
``--no-r``). ``--quick`` uses tiny sizes (a smoke test, numbers meaningless).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlmlab._checks import argument_error

__all__ = ["main", "run", "SECTIONS"]

_R_SCRIPT = r"""
suppressMessages(library(lme4))
jobs <- read.csv(commandArgs(TRUE)[1], stringsAsFactors = FALSE)
cat("VERSION", gsub(" ", "_", R.version.string), as.character(packageVersion("lme4")), "\n")
for (i in seq_len(nrow(jobs))) {
  d <- read.csv(jobs$file[i])
  ys <- strsplit(jobs$ycols[i], ";")[[1]]
  f <- as.formula(jobs$formula[i])
  d$y <- d[[ys[1]]]
  m <- lmer(f, d, REML = TRUE)  # warm-up, and the log-likelihood of the first outcome
  ll <- as.numeric(logLik(m))
  t0 <- proc.time()[["elapsed"]]
  for (yc in ys) { d$y <- d[[yc]]; m1 <- lmer(f, d, REML = TRUE) }
  t1 <- proc.time()[["elapsed"]]
  for (yc in ys) m2 <- refit(m, d[[yc]])
  t2 <- proc.time()[["elapsed"]]
  cat("RESULT", jobs$name[i], 1000 * (t1 - t0) / length(ys), 1000 * (t2 - t1) / length(ys), sprintf("%.6f", ll), "\n")
}
"""


_R_MODELS = r"""
suppressMessages(library(lme4))
jobs <- read.csv(commandArgs(TRUE)[1], stringsAsFactors = FALSE)
invisible(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))  # warm-up: load and compile everything once
for (i in seq_len(nrow(jobs))) {
  d <- read.csv(jobs$file[i])
  for (col in strsplit(jobs$factors[i], ";")[[1]]) d[[col]] <- factor(d[[col]])
  t0 <- proc.time()[["elapsed"]]
  m <- lmer(as.formula(jobs$formula[i]), d, REML = as.logical(jobs$reml[i]))
  t1 <- proc.time()[["elapsed"]]
  cat("RESULT", jobs$name[i], 1000 * (t1 - t0), sprintf("%.8f", as.numeric(logLik(m))), "\n")
}
"""


# ----------------------------------------------------------------------------- helpers
def _machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import scipy
    import statsmodels

    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    return {"cpu": cpu, "cores": os.cpu_count(), "load average at start": load, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
            "platform": platform.platform()}


def _timeit(fn, repeat):
    """Median wall time of ``repeat`` calls (seconds) and the last return value."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _statsmodels_fit(data, formula, groups, re_formula=None):
    from statsmodels.regression.mixed_linear_model import MixedLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MixedLM.from_formula(formula, data, groups=groups, re_formula=re_formula).fit()


def _lme4(jobs, workdir, use_r):
    """Run the lme4 timings in one Rscript; {name: (lmer ms, refit ms, logLik)}, version, note."""
    if not use_r:
        return {}, None, "lme4 skipped (--no-r)"
    if shutil.which("Rscript") is None:
        return {}, None, "lme4 skipped: Rscript is not installed"
    table = pd.DataFrame(jobs)
    jobs_csv = Path(workdir) / "jobs.csv"
    table.to_csv(jobs_csv, index=False)
    script = Path(workdir) / "bench.R"
    script.write_text(_R_SCRIPT)
    proc = subprocess.run(["Rscript", str(script), str(jobs_csv)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {}, None, "lme4 skipped: Rscript failed (" + (proc.stderr.strip().splitlines() or ["?"])[-1] + ")"
    out, version = {}, None
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["VERSION"]:
            version = f"{parts[1].replace('_', ' ')}, lme4 {parts[2]}"
        elif parts[:1] == ["RESULT"]:
            out[parts[1]] = (float(parts[2]) / 1000, float(parts[3]) / 1000, float(parts[4]))
    return out, version, None


def _row(design, method, seconds, llf, engine_seconds, note=""):
    return {"design": design, "method": method, "ms_per_fit": 1000 * seconds, "llf": llf,
            "times_engine": seconds / engine_seconds if engine_seconds else np.nan, "note": note}


# ----------------------------------------------------------------------------- the benchmark
SECTIONS = ("30x20", "hsb_ri", "hsb_rs", "models")
_DESIGN = {"30x20": "30×20 random intercept", "hsb_ri": "HSB random intercept", "hsb_rs": "HSB random slope"}

#: The models of section 4: name → (label, formula, data, crossed or nested). Data: a shipped data set or
#: ("crossed", rows, {factor: levels}).
_MODELS = {
    "m_hsb_ri": ("HSB RI (1 | School)", "MathAch ~ cses + (1 | School)", "hsb", False),
    "m_hsb_rs": ("HSB RS (cses | School)", "MathAch ~ cses + (cses | School)", "hsb", False),
    "m_sleep": ("sleepstudy (Days | Subject)", "Reaction ~ Days + (Days | Subject)", "sleepstudy", False),
    "m_penicillin": ("Penicillin, crossed", "diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin", True),
    "m_pastes": ("Pastes, nested", "strength ~ 1 + (1 | batch/cask)", "pastes", True),
    "m_crossed2": ("2 crossed factors, 3,500 rows", "y ~ x + (1 | s) + (1 | d)", ("crossed", 3500, {"s": 350, "d": 100}),
                   True),
    "m_crossed3": ("3 crossed factors, 6,000 rows", "y ~ x + (1 | s) + (1 | d) + (1 | dept)",
                   ("crossed", 6000, {"s": 500, "d": 200, "dept": 14}), True),
    "m_crossed3_big": ("3 crossed factors, 70,000 rows", "y ~ x + (1 | s) + (1 | d) + (1 | dept)",
                       ("crossed", 70000, {"s": 2900, "d": 1100, "dept": 14}), True),
}
_QUICK_SIZES = {"m_crossed2": ("crossed", 300, {"s": 30, "d": 10}),
                "m_crossed3": ("crossed", 400, {"s": 40, "d": 15, "dept": 5})}
_DENSE_ROWS = 10_000  # statsmodels and today's mlmlab.fit are not run on crossed designs with more rows


def crossed_data(n, levels, rng) -> pd.DataFrame:
    """An InstEval-like crossed design: every row draws each factor's level at random (random intercepts with SD
    0.5 each, a predictor x with slope 0.3, residual SD 1).

    Parameters
    ----------
    n : int
        Rows.
    levels : dict
        Factor name → number of levels.
    rng : int or numpy.random.Generator
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``x`` and one string column per factor.

    Examples
    --------
    >>> d = crossed_data(100, {"s": 10, "d": 4}, rng=1)
    >>> d.shape, d["s"].nunique() <= 10
    ((100, 4), True)
    """
    gen = np.random.default_rng(rng)
    codes = {f: gen.integers(0, k, n) for f, k in levels.items()}
    x = gen.normal(size=n)
    y = 3.0 + 0.3 * x + sum(gen.normal(0, 0.5, k)[codes[f]] for f, k in levels.items()) + gen.normal(0, 1.0, n)
    return pd.DataFrame({"y": y, "x": x, **{f: np.char.add(f, c.astype(str)) for f, c in codes.items()}})


def run(*, quick=False, use_r=True, sections=SECTIONS, rng=2024) -> tuple[pd.DataFrame, dict, list]:
    """Run the benchmark; return the result table, the machine description and notes.

    Parameters
    ----------
    quick : bool, default=False
        Tiny sizes (for a smoke test; the numbers then mean nothing).
    use_r : bool, default=True
        Time lme4 through ``Rscript`` when it is installed.
    sections : sequence of {"30x20", "hsb_ri", "hsb_rs", "models"}, default=all
        Which designs to time.
    rng : int, default=2024
        Seed of the simulated outcomes.

    Returns
    -------
    (DataFrame, dict, list)
        Rows with columns ``design``, ``method``, ``ms_per_fit``, ``llf``, ``times_engine``
        (time per fit over the engine's, batched where there is a batched row), ``note``;
        the machine; notes.

    Examples
    --------
    >>> table, machine, notes = run(quick=True, use_r=False, sections=["30x20"])
    >>> table["method"].tolist()
    ['engine, batched (20 fits)', 'engine, one fit', 'statsmodels MixedLM .fit()']
    >>> bool(table["times_engine"].iloc[2] > 1), notes
    (True, ['lme4 skipped (--no-r)'])
    """
    sizes = {"R": 20 if quick else 1000, "K_sm": 2 if quick else 20, "K_r": 3 if quick else 100,
             "R_hsb": 20 if quick else 1000, "single": 1 if quick else 5, "slow": 1 if quick else 2,
             "n_r": 2 if quick else 20}
    for name in sections:
        if name not in SECTIONS:
            raise argument_error("run", "sections", "a subset of " + ", ".join(SECTIONS), name)
    rows, notes, jobs, engine_time, attrs = [], [], [], {}, {}
    machine = _machine()
    with tempfile.TemporaryDirectory() as tmp:
        for name in SECTIONS[:3]:
            if name in sections:
                sec_rows, job, t_engine, extra = _SECTION_FUNCS[name](sizes, Path(tmp), rng)
                rows += sec_rows
                jobs.append(job)
                engine_time[name] = t_engine
                attrs.update(extra)
        lme4, version, note = _lme4(jobs, tmp, use_r) if jobs else ({}, None, None)
    if note:
        notes.append(note)
    if version:
        machine["R"] = version
    for name, (t_lmer, t_refit, ll) in lme4.items():
        rows.append(_row(_DESIGN[name], "lme4 lmer()", t_lmer, ll, engine_time[name]))
        rows.append(_row(_DESIGN[name], "lme4 refit()", t_refit, ll, engine_time[name]))
    if "models" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            model_rows, model_jobs, pls_time = _section_models(sizes, Path(tmp), rng, quick)
            rows += model_rows
            lme4_models, version2, note2 = _lme4_models(model_jobs, tmp, use_r)
        if note2 and note2 not in notes:
            notes.append(note2)
        if version2:
            machine["R"] = version2
        for name, (t_lmer, ll) in lme4_models.items():
            rows.append(_row(_MODELS[name][0], "lme4 lmer()", t_lmer, ll, pls_time[name]))
    order = {d: i for i, d in enumerate(list(_DESIGN.values()) + [m[0] for m in _MODELS.values()])}
    table = pd.DataFrame(rows)
    table = table.sort_values("design", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    table.attrs.update(attrs)
    return table, machine, notes


def _section_3020(sizes, tmp, rng):
    from mlmlab import engine
    from mlmlab.simulate import simulate_two_level_many

    design, R = _DESIGN["30x20"], sizes["R"]
    reps = simulate_two_level_many(30, 20, fixed={"Intercept": 0.0, "x": 0.5}, G=0.25, sigma=1.0, n_reps=R, rng=rng)
    t_batch, fits = _timeit(lambda: engine.fit_many(reps.Y, reps.X, reps.Z, reps.groups), 1 if R < 100 else 3)
    t_eng = t_batch / R
    rows = [_row(design, f"engine, batched ({R} fits)", t_eng, fits.llf[0], t_eng)]
    t_one, one = _timeit(lambda: engine.fit(reps.Y[0], reps.X, reps.Z, reps.groups), sizes["single"] * 4)
    rows.append(_row(design, "engine, one fit", t_one, one.llf, t_eng))
    frame = reps.data.copy()
    times, llf = [], None
    for r in range(sizes["K_sm"]):
        frame["y"] = reps.Y[r]
        t, res = _timeit(lambda: _statsmodels_fit(frame, "y ~ x", "group"), 1)
        times.append(t)
        llf = res.llf if llf is None else llf
    rows.append(_row(design, "statsmodels MixedLM .fit()", float(np.mean(times)), llf, t_eng))
    ycols = [f"y{r}" for r in range(sizes["K_r"])]
    wide = pd.concat([reps.data, pd.DataFrame(reps.Y[:sizes["K_r"]].T, columns=ycols)], axis=1)
    wide.to_csv(tmp / "d3020.csv", index=False)
    job = {"name": "30x20", "file": str(tmp / "d3020.csv"), "formula": "y ~ x + (1 | group)", "ycols": ";".join(ycols)}
    return rows, job, t_eng, {}


def _hsb(tmp):
    from mlmlab import datasets

    hsb = datasets.load("hsb")
    path = tmp / "hsb.csv"
    if not path.exists():
        hsb.assign(y0=hsb["MathAch"]).to_csv(path, index=False)
    n = len(hsb)
    X = np.column_stack([np.ones(n), hsb["cses"]])
    return hsb, X, hsb["School"].to_numpy(), hsb["MathAch"].to_numpy(float), path


def _section_hsb_ri(sizes, tmp, rng):
    from mlmlab import engine

    design, R = _DESIGN["hsb_ri"], sizes["R_hsb"]
    hsb, X, g, y, path = _hsb(tmp)
    n = len(y)
    Z = np.ones((n, 1))
    t_one, one = _timeit(lambda: engine.fit(y, X, Z, g), sizes["single"] * 4)
    codes = pd.factorize(g, sort=True)[0]
    sim = np.random.default_rng(rng)
    Y = (X @ one.beta + sim.normal(0, np.sqrt(one.G[0, 0]), (R, codes.max() + 1))[:, codes]
         + sim.normal(0, np.sqrt(one.sigma2), (R, n)))
    Y[0] = y  # replicate 0 is the real outcome
    t_many, many = _timeit(lambda: engine.fit_many(Y, X, Z, g), 1)
    t_eng = t_many / R
    rows = [_row(design, f"engine, batched ({R} refits)", t_eng, many.llf[0], t_eng,
                 note=f"{R} refits in {t_many:.2f} s"),
            _row(design, "engine, one fit", t_one, one.llf, t_eng)]
    t, res = _timeit(lambda: _statsmodels_fit(hsb, "MathAch ~ cses", "School"), sizes["single"])
    rows.append(_row(design, "statsmodels MixedLM .fit()", t, res.llf, t_eng))
    job = {"name": "hsb_ri", "file": str(path), "formula": "y ~ cses + (1 | School)",
           "ycols": ";".join(["y0"] * sizes["n_r"])}
    return rows, job, t_eng, {"hsb_refits": R, "hsb_refits_seconds": t_many}


def _section_hsb_rs(sizes, tmp, rng):
    from mlmlab import engine

    design = _DESIGN["hsb_rs"]
    hsb, X, g, y, path = _hsb(tmp)
    t_eng, one = _timeit(lambda: engine.fit(y, X, X, g), sizes["single"])
    rows = [_row(design, "engine, one fit", t_eng, one.llf, t_eng)]
    t, res = _timeit(lambda: _statsmodels_fit(hsb, "MathAch ~ cses", "School", "~cses"), sizes["slow"])
    rows.append(_row(design, "statsmodels MixedLM .fit()", t, res.llf, t_eng, note="default optimiser, may stop short"))
    try:
        from mlmlab.fitting import fit as mlm_fit
    except ImportError:  # pragma: no cover - mlmlab.fit is part of the package
        mlm_fit = None
    if mlm_fit is not None:
        t, res = _timeit(lambda: mlm_fit("MathAch ~ cses + (cses | School)", hsb), sizes["slow"])
        rows.append(_row(design, "mlmlab.fit", t, res.llf, t_eng, note=res.optimizer))
    job = {"name": "hsb_rs", "file": str(path), "formula": "y ~ cses + (cses | School)",
           "ycols": ";".join(["y0"] * sizes["n_r"])}
    return rows, job, t_eng, {}


_SECTION_FUNCS = {"30x20": _section_3020, "hsb_ri": _section_hsb_ri, "hsb_rs": _section_hsb_rs}


def _model_data(spec, rng):
    from mlmlab import datasets

    if isinstance(spec, tuple):
        return crossed_data(spec[1], spec[2], rng)
    return datasets.load(spec)


def _statsmodels_of(design):
    """The statsmodels MixedLM mlmlab.fit builds for a design, fitted once with its default optimizer."""
    from mlmlab.estimation import statsmodels_model

    model, _ = statsmodels_model(design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(reml=True)


def _section_models(sizes, tmp, rng, quick):
    """Section 4: one fit per method of every model of :data:`_MODELS`; rows, lme4 jobs, the pls times."""
    from mlmlab import pls
    from mlmlab.design import build_design
    from mlmlab.fitting import Control, fit as mlm_fit

    rows, jobs, pls_time = [], [], {}
    for name, (label, formula, spec, crossed) in _MODELS.items():
        if quick:
            if name == "m_crossed3_big":
                continue
            spec = _QUICK_SIZES.get(name, spec)
        data = _model_data(spec, rng)

        def engine():
            return pls.fit(build_design(formula, data), reml=True)

        repeat = 1 if len(data) > _DENSE_ROWS else sizes["single"]
        t_fit, m = _timeit(lambda: mlm_fit(formula, data), repeat)
        pls_time[name] = t_fit
        rows.append(_row(label, "mlmlab.fit (default: mlmlab.pls)", t_fit, m.llf, t_fit, note=m.optimizer))
        t_pls, res = _timeit(engine, repeat)
        rows.append(_row(label, "mlmlab.pls (design + fit)", t_pls, res.llf, t_fit, note=res.optimizer))
        if not (crossed and len(data) > _DENSE_ROWS):
            design = build_design(formula, data)
            t, sm = _timeit(lambda: _statsmodels_of(design), 1)
            rows.append(_row(label, "statsmodels MixedLM .fit()", t, float(sm.llf), t_fit, note="default optimizer"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, m = _timeit(lambda: mlm_fit(formula, data, control=Control(engine="statsmodels")), 1)
            rows.append(_row(label, "mlmlab.fit, Control(engine='statsmodels')", t, m.llf, t_fit, note=m.optimizer))
        else:
            rows.append(_row(label, "statsmodels MixedLM .fit()", np.nan, np.nan, t_pls,
                             note=f"not run: dense for crossed factors, {len(data):,} rows"))
        path = tmp / f"{name}.csv"
        data.to_csv(path, index=False)
        factors = sorted({f for t in build_design(formula, data).parsed.random for f in t.factors})
        jobs.append({"name": name, "file": str(path), "formula": formula, "reml": "TRUE", "factors": ";".join(factors)})
    return rows, jobs, pls_time


def _lme4_models(jobs, workdir, use_r):
    """Section 4's lme4 fits in one Rscript: {name: (seconds, logLik)}, version, note."""
    if not use_r:
        return {}, None, "lme4 skipped (--no-r)"
    if shutil.which("Rscript") is None:
        return {}, None, "lme4 skipped: Rscript is not installed"
    jobs_csv = Path(workdir) / "model_jobs.csv"
    pd.DataFrame(jobs).to_csv(jobs_csv, index=False)
    script = Path(workdir) / "models.R"
    script.write_text(_R_MODELS)
    proc = subprocess.run(["Rscript", str(script), str(jobs_csv)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {}, None, "lme4 skipped: Rscript failed (" + (proc.stderr.strip().splitlines() or ["?"])[-1] + ")"
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["RESULT"]:
            out[parts[1]] = (float(parts[2]) / 1000, float(parts[3]))
    return out, None, None


def _targets(table) -> list:
    """The issue's targets, each with the measured ratio and whether it is met."""
    def ms(design, method_start):
        sub = table[(table["design"] == design) & table["method"].str.startswith(method_start)]
        return float(sub["ms_per_fit"].iloc[0]) if len(sub) else None

    out = []
    for design in ("30×20 random intercept", "HSB random intercept"):
        base = ms(design, "engine, batched")
        for other, need in (("statsmodels", 100.0), ("lme4 lmer", 20.0)):
            t = ms(design, other)
            if t is not None:
                out.append((f"{design}: {other} / engine batched", t / base, need))
    base = ms("HSB random slope", "engine, one fit")
    t = ms("HSB random slope", "lme4 lmer")
    if t is not None:
        out.append(("HSB random slope: lme4 lmer / engine one fit", t / base, 1.0))
    for name, (label, _, _, crossed) in _MODELS.items():
        t_fit, t_r = ms(label, "mlmlab.fit (default: mlmlab.pls)"), ms(label, "lme4 lmer")
        if t_fit is not None and t_r is not None:
            need = 0.5 if crossed else 1.0
            out.append((f"{label}: lme4 lmer / mlmlab.fit", t_r / t_fit, need))
    refits = table.attrs.get("hsb_refits", 0)  # the target is stated for 1,000 refits
    if refits >= 1000:
        secs = table.attrs["hsb_refits_seconds"] * 1000 / refits
        out.append(("1,000 HSB random-intercept REML refits: 2 s / time taken", 2.0 / secs, 1.0))
    return out


def _format(table, machine, notes) -> str:
    lines = ["Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), ""]
    lines.append("| design | method | ms per fit | × engine | log-likelihood | note |")
    lines.append("|---|---|---:|---:|---:|---|")
    for _, r in table.iterrows():
        ratio = "" if not np.isfinite(r["times_engine"]) else f"{r['times_engine']:.1f}"
        ms_text = "" if not np.isfinite(r["ms_per_fit"]) else f"{r['ms_per_fit']:.3f}"
        llf_text = "" if not np.isfinite(r["llf"]) else f"{r['llf']:.4f}"
        lines.append(f"| {r['design']} | {r['method']} | {ms_text} | {ratio} | {llf_text} | {r['note']} |")
    lines.append("")
    lines.append("'× engine': time per fit divided by the first engine row of the design (batched where there is one; "
                 "mlmlab.fit for the models of issue 16).")
    lines.append("")
    lines.append("Targets (ratio ≥ target means met):")
    for label, ratio, need in _targets(table):
        lines.append(f"  {label}: {ratio:.1f}× (target ≥ {need:g}×) {'met' if ratio >= need else 'NOT met'}")
    for label, gap in _llf_gaps(table):
        lines.append(f"  {label}: mlmlab.fit log-likelihood - lme4's = {gap:+.2e} (target ≥ -1e-6) "
                     f"{'met' if gap >= -1e-6 else 'NOT met'}")
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def _llf_gaps(table) -> list:
    """(model, mlmlab.fit log-likelihood minus lme4's) for every model of section 4 lme4 fitted."""
    out = []
    for label, *_ in _MODELS.values():
        sub = table[table["design"] == label]
        mine, theirs = sub[sub["method"] == "mlmlab.fit (default: mlmlab.pls)"], sub[sub["method"] == "lme4 lmer()"]
        if len(mine) and len(theirs):
            out.append((label, float(mine["llf"].iloc[0]) - float(theirs["llf"].iloc[0])))
    return out


def main(argv=None) -> int:
    """Command-line entry point: ``python -m mlmlab.bench [--quick] [--no-r]``."""
    parser = argparse.ArgumentParser(prog="python -m mlmlab.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, numbers mean nothing")
    parser.add_argument("--no-r", action="store_true", help="do not time lme4 even if Rscript is installed")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="designs to time")
    args = parser.parse_args(argv)
    table, machine, notes = run(quick=args.quick, use_r=not args.no_r, sections=args.sections)
    print(_format(table, machine, notes))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
