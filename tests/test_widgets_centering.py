"""Tests for mlmlab.widgets.centering: how G changes when the origin of x moves."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlmlab
from mlmlab.datasets import load
from mlmlab.widgets.centering import (
    centering_table,
    centering_update,
    centering_widget,
    draw_centering,
    shift_origin,
)

REF = json.loads((Path(__file__).parent / "reference" / "lme4.json").read_text())


def _ref_G(key):
    vc = REF["models"][key]["varcomp"]
    t00, t11, t01 = vc[0]["vcov"], vc[1]["vcov"], vc[2]["vcov"]
    return pd.DataFrame([[t00, t01], [t01, t11]], index=["(Intercept)", "Days"], columns=["(Intercept)", "Days"])


@pytest.fixture(scope="module")
def sleep():
    return load("sleepstudy")


def test_shift_origin_matches_a_refit_with_the_shifted_predictor(sleep):
    """The model is the same after moving x's origin, so a refit must give the transformed G."""
    c = 4.5
    shifted = mlmlab.fit("Reaction ~ Dc + (Dc | Subject)", sleep.assign(Dc=sleep["Days"] - c))
    predicted = shift_origin(_ref_G("sleepstudy_rs_reml"), c).to_numpy()
    refit = shifted.G["Subject"].to_numpy()
    assert refit[0, 0] == pytest.approx(predicted[0, 0], rel=5e-3)
    assert refit[1, 1] == pytest.approx(predicted[1, 1], rel=5e-3)
    assert refit[0, 1] == pytest.approx(predicted[0, 1], rel=5e-3)
    assert shifted.llf == pytest.approx(REF["models"]["sleepstudy_rs_reml"]["logLik"], abs=0.01)


def test_shift_origin_keeps_slope_variance_and_labels():
    G = _ref_G("sleepstudy_rs_reml")
    for c in (-3.0, 0.0, 2.0, 9.0):
        out = shift_origin(G, c)
        assert out.loc["Days", "Days"] == pytest.approx(G.loc["Days", "Days"])
        assert list(out.index) == list(G.index) and list(out.columns) == list(G.columns)
    assert np.allclose(shift_origin(G, 0.0), G)


def test_shift_origin_formula_and_round_trip():
    G = np.array([[4.83, -0.154], [-0.154, 0.413]])
    out = shift_origin(G, 2.0).to_numpy()
    assert out[0, 0] == pytest.approx(4.83 + 2 * 2.0 * -0.154 + 4.0 * 0.413)
    assert out[0, 1] == pytest.approx(-0.154 + 2.0 * 0.413)
    assert np.allclose(shift_origin(shift_origin(G, 2.0), -2.0), G)


def test_intercept_variance_is_smallest_where_lines_are_closest():
    G = np.array([[4.83, -0.154], [-0.154, 0.413]])
    c_star = 0.154 / 0.413  # minimiser of tau00(c): where tau01(c) = 0
    table = centering_table(G, [c_star - 0.5, c_star, c_star + 0.5])
    assert table["tau01"].iloc[1] == pytest.approx(0.0, abs=1e-12)
    assert table["tau00"].iloc[1] < table["tau00"].iloc[0]
    assert table["tau00"].iloc[1] < table["tau00"].iloc[2]
    assert list(table.columns) == ["shift", "tau00", "tau01", "tau11", "corr"]


def test_centering_table_correlation():
    table = centering_table([[4.0, 1.0], [1.0, 1.0]], 0.0)
    assert table["corr"].iloc[0] == pytest.approx(0.5)


def test_update_returns_spread_of_line_heights():
    lines = pd.DataFrame({"intercept": [0.0, 2.0, 4.0], "slope": [1.0, 0.0, -1.0],
                          "x_min": [-1.0] * 3, "x_max": [3.0] * 3})
    row = centering_update(2.0, lines=lines, G=[[1.0, 0.0], [0.0, 1.0]])
    assert row["spread_at_shift"].iloc[0] == pytest.approx(0.0)  # all lines meet at x = 2
    row = centering_update(0.0, lines=lines, G=[[1.0, 0.0], [0.0, 1.0]])
    assert row["spread_at_shift"].iloc[0] == pytest.approx(2.0)
    assert row["tau00"].iloc[0] == pytest.approx(1.0)


def test_draw_marks_the_origin_and_reports_G():
    lines = pd.DataFrame({"intercept": [0.0, 1.0], "slope": [1.0, -1.0], "x_min": [-1.0] * 2, "x_max": [1.0] * 2})
    ax = draw_centering(-0.5, lines=lines, G=[[1.0, 0.2], [0.2, 0.5]], x_label="SES")
    assert ax.get_xlabel() == "SES"
    assert ax.get_title().startswith("origin at SES = -0.50: τ00 = 0.93")
    assert len(ax.get_lines()) == 3  # two group lines and the vertical marker
    plt.close(ax.figure)


def test_widget_redraws_when_the_slider_moves():
    lines = pd.DataFrame({"intercept": [0.0, 1.0, 3.0], "slope": [1.0, -1.0, 0.5],
                          "x_min": [-2.0] * 3, "x_max": [2.0] * 3})
    w = centering_widget(lines, [[2.0, -0.5], [-0.5, 1.0]], x_label="SES")
    slider = w.controls["shift"]
    assert (slider.min, slider.max, slider.value) == (-2.0, 2.0, 0.0)
    before_image, before_note = w.image.value, w.note.value
    assert "τ00 = 2.000" in before_note
    slider.value = 1.5
    assert w.image.value != before_image
    assert "τ00 = 2.750" in w.note.value and "τ01 = 1.000" in w.note.value  # 2 - 1.5 + 2.25; -0.5 + 1.5
    assert "SES − 1.50" in w.note.value
    slider.value = -1.0
    assert "SES + 1.00" in w.note.value


@pytest.mark.parametrize("G", [[[1.0, 0.5], [0.2, 1.0]], [[-1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0, 3.0]], "G"])
def test_bad_G_is_rejected(G):
    with pytest.raises(ValueError, match="The 'G' argument of shift_origin must be a"):
        shift_origin(G, 1.0)


def test_bad_shift_is_rejected():
    with pytest.raises(TypeError, match="The 'shift' argument of shift_origin must be a finite number"):
        shift_origin([[1.0, 0.0], [0.0, 1.0]], "1")


def test_lines_need_their_columns():
    with pytest.raises(ValueError, match="The 'lines' argument of centering_update must be a table with columns intercept, slope, x_min, x_max. Got a DataFrame with 1 rows and 1 columns; missing: slope, x_min, x_max"):
        centering_update(0.0, lines=pd.DataFrame({"intercept": [1.0]}), G=[[1.0, 0.0], [0.0, 1.0]])
