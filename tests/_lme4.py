"""Shared checks of an mlmlab fit against one frozen lme4 entry of tests/reference/lme4.json.

Used by tests/test_lme4_agreement.py (the models on the shipped data) and tests/test_lme4_lessons.py (the
models the lessons and assignments fit). Tolerances (STYLE.md section 6): log-likelihood ±0.01; fixed
effects and standard errors relative 1e-3; variance components relative 5e-3 (correlations absolute 5e-3).
"""

import json
import math
import re
from pathlib import Path

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text(encoding="utf-8"))


def r_name(patsy_name: str) -> str:
    """patsy's 'Sector[T.Catholic]' / 'Intercept' -> R's 'SectorCatholic' / '(Intercept)'."""
    if patsy_name == "Intercept":
        return "(Intercept)"
    return re.sub(r"\[T\.([^\]]+)\]", r"\1", patsy_name)


def key(r_term: str) -> str:
    """Interactions are named in a different order by R and patsy ('cses:SectorCatholic')."""
    return ":".join(sorted(r_term.split(":")))


def close(a, b, rel):
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def check_loglik_and_criteria(ref, m):
    assert m.reml == ref["reml"]
    assert abs(m.llf - ref["logLik"]) <= 0.01
    assert abs(m.deviance - ref["deviance"]) <= 0.02
    assert m.npar == ref["npar"]
    assert abs(m.aic - ref["AIC"]) <= 0.02
    assert abs(m.bic - ref["BIC"]) <= 0.02
    assert m.nobs == ref["nobs"]
    assert m.ngroups == ref["ngroups"]
    assert m.converged


def check_fixed_effects(ref, m):
    fixed = m.fixed.rename(index=lambda t: key(r_name(t)))
    assert set(fixed.index) == {key(t) for t in ref["fixed"]}
    for term, want in ref["fixed"].items():
        assert close(fixed.loc[key(term), "estimate"], want["estimate"], 1e-3), term
        assert close(fixed.loc[key(term), "se"], want["se"], 1e-3), term


def check_variance_components(ref, m):
    ours = m.varcomp
    assert list(ours.columns) == ["grp", "var1", "var2", "vcov", "sdcor"]
    assert len(ours) == len(ref["varcomp"])
    assert ours["grp"].iloc[-1] == "Residual"
    resid = ref["varcomp"][-1]["vcov"]
    for (_, row), want in zip(ours.iterrows(), ref["varcomp"]):
        assert (row["grp"], row["var1"], row["var2"]) == (want["grp"], want["var1"], want["var2"])
        if want["var2"] is None:
            # A variance: relative 5e-3, or (for a zero variance, a singular fit) absolute 5e-3 relative to σ².
            assert abs(row["vcov"] - want["vcov"]) <= 5e-3 * max(want["vcov"], 1e-3 * resid), row.to_dict()
        else:
            assert abs(row["sdcor"] - want["sdcor"]) <= 5e-3, row.to_dict()
            scale = math.sqrt(abs(want["vcov"] / want["sdcor"])) if want["sdcor"] else 1.0
            assert abs(row["vcov"] - want["vcov"]) <= 5e-3 * scale ** 2


def check_singular_flag(ref, m):
    assert m.singular == ref["singular"]
    if ref["singular"]:
        assert any("Singular fit" in msg for msg in m.messages)


def check_random_effects_blups(ref, m):
    ranef = m.ranef
    for grp, want in ref["ranef"].items():
        for term, values in want.items():
            if term in ("levels", "se"):
                continue
            got = ranef[(ranef.grp == grp) & (ranef.term == term)].set_index("level")
            # Tolerance: 5e-3 of the spread of the BLUPs (1e-4 of the residual SD when they are all ~0).
            sd = max(got["estimate"].std(), 1e-4 * math.sqrt(m.sigma2))
            for level, value, se in zip(want["levels"], values, want["se"][term]):
                assert abs(got.loc[level, "estimate"] - value) <= 5e-3 * sd, (grp, term, level)
                assert abs(got.loc[level, "se"] - se) <= 5e-3 * max(se, 1e-2 * math.sqrt(m.sigma2)), (grp, term, level)
