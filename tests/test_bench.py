"""Smoke test of the benchmark (``python -m mlmlab.bench``): it runs and prints ratios. No timing is asserted."""

import re
import subprocess
import sys

import pytest

from mlmlab import bench


@pytest.mark.slow
def test_bench_quick_prints_table_and_ratios():
    proc = subprocess.run([sys.executable, "-m", "mlmlab.bench", "--quick", "--no-r"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Machine: cpu ") and "cores" in out and "numpy" in out
    for design in ("30×20 random intercept", "HSB random intercept", "HSB random slope"):
        assert f"| {design} | engine" in out and f"| {design} | statsmodels MixedLM .fit()" in out
    assert "| HSB random slope | mlmlab.fit |" in out
    # the ratio lines for the targets, with a number each
    ratios = re.findall(r"^  (.+): (\d+\.\d)× \(target ≥ (\d+)×\) (met|NOT met)$", out, flags=re.M)
    assert len(ratios) == 2 and all(float(r[1]) > 0 for r in ratios)
    assert "note: lme4 skipped (--no-r)" in out


def test_bench_llf_agree_across_methods_and_bad_section():
    table, machine, notes = bench.run(quick=True, use_r=False, sections=["30x20"])
    # the same data set: the engine (batched and single) and statsmodels find the same log-likelihood
    assert table["llf"].max() - table["llf"].min() < 1e-3
    assert set(machine) >= {"cpu", "cores", "python", "numpy", "statsmodels"}
    with pytest.raises(ValueError, match=r"The 'sections' argument of run must be a subset of 30x20, hsb_ri, hsb_rs, "
                                         r"models\. Got 'hsb'\."):
        bench.run(quick=True, use_r=False, sections=["hsb"])


def test_bench_models_section_quick_agrees_across_methods():
    """Section 4 (issue 16) in quick sizes, without R: mlmlab.pls (alone and through mlmlab.fit) reaches at least the
    log-likelihood of statsmodels and of mlmlab.fit's default path on every model (tiny simulated crossed designs
    included)."""
    table, _, notes = bench.run(quick=True, use_r=False, sections=["models"])
    for label, *_ in bench._MODELS.values():
        sub = table[table["design"] == label].set_index("method")
        if "mlmlab.pls (design + fit)" not in sub.index:
            assert label.endswith("70,000 rows")  # not run in quick mode
            continue
        mine = sub.loc["mlmlab.pls (design + fit)", "llf"]
        assert sub.loc["mlmlab.fit (default: mlmlab.pls)", "llf"] == pytest.approx(mine, abs=1e-9)
        assert mine >= sub.loc["mlmlab.fit, Control(engine='statsmodels')", "llf"] - 1e-6, label
        assert mine >= sub.loc["statsmodels MixedLM .fit()", "llf"] - 1e-6, label
    assert notes == ["lme4 skipped (--no-r)"]
