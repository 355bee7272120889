import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.plots import plot_design_effect


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_curves_follow_formula():
    grid = np.array([0.0, 0.1, 0.3])
    ax = plot_design_effect([5, 40], icc=grid)
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [c.get_label() for c in curves] == ["n̄ = 5", "n̄ = 40"]
    np.testing.assert_allclose(curves[0].get_ydata(), 1 + 4 * grid)
    np.testing.assert_allclose(curves[1].get_ydata(), 1 + 39 * grid)
    assert ax.get_xlabel() == "intraclass correlation ρ"
    assert "design effect" in ax.get_ylabel()
    assert ax.get_title()


def test_uses_given_axes_and_scalar_group_size():
    fig, ax = plt.subplots()
    assert plot_design_effect(20, ax=ax) is ax
    assert len(ax.get_legend_handles_labels()[1]) == 1


def test_study_points_drawn_in_curve_colour():
    study = pd.DataFrame({"icc": [0.1, 0.2, 0.1], "group_size": [10, 10, 30], "variance_ratio": [1.9, 2.8, 3.9]})
    ax = plot_design_effect([10, 30], study=study)
    points = ax.collections
    assert len(points) == 3  # one scatter per group size + the legend proxy
    np.testing.assert_allclose(points[0].get_offsets(), [[0.1, 1.9], [0.2, 2.8]])
    assert "simulation" in ax.get_legend_handles_labels()[1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="The 'group_size' argument of plot_design_effect must be a group size of at least 1"):
        plot_design_effect(0)
    with pytest.raises(ValueError, match="The 'icc' argument of plot_design_effect must be at least two values between 0 and 1"):
        plot_design_effect(10, icc=[0.2, 1.5])
    study = pd.DataFrame({"icc": [0.1], "group_size": [10]})
    with pytest.raises(ValueError, match="The 'y' argument of plot_design_effect must be a column of data. Got 'variance_ratio'"):
        plot_design_effect(10, study=study)
