import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.plots import plot_shrinkage


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _table():
    return pd.DataFrame({"n": [5, 20, 60], "no_pooling": [20.0, 8.0, 15.0], "partial_pooling": [14.0, 9.5, 14.8]})


def test_points_and_segments():
    ax = plot_shrinkage(_table(), center=12.6, ylabel="school mean math achievement (points)")
    raw, shrunk = ax.collections[1], ax.collections[2]
    np.testing.assert_allclose(raw.get_offsets(), [[5, 20], [20, 8], [60, 15]])
    np.testing.assert_allclose(shrunk.get_offsets(), [[5, 14], [20, 9.5], [60, 14.8]])
    segments = ax.collections[0].get_segments()
    np.testing.assert_allclose(segments[0], [[5, 20], [5, 14]])
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "school mean math achievement (points)"
    assert "pulled towards (center)" in ax.get_legend_handles_labels()[1]


def test_custom_columns_and_ax():
    table = _table().rename(columns={"n": "size", "no_pooling": "mean", "partial_pooling": "blup"})
    fig, ax = plt.subplots()
    assert plot_shrinkage(table, raw="mean", shrunk="blup", group_size="size", ax=ax) is ax
    assert "pulled towards (center)" not in ax.get_legend_handles_labels()[1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="The 'shrunk' argument of plot_shrinkage must be a column of data. Got 'partial_pooling'"):
        plot_shrinkage(_table().drop(columns="partial_pooling"))
    with pytest.raises(ValueError, match="The 'group_size' argument of plot_shrinkage must be a numeric outcome"):
        plot_shrinkage(_table().assign(n=list("abc")))
    with pytest.raises(TypeError, match="The 'data' argument of plot_shrinkage must be a pandas DataFrame"):
        plot_shrinkage({"n": [1]})


def test_linear_axis_when_sizes_are_close():
    table = _table().assign(n=[14, 30, 67])
    ax = plot_shrinkage(table)
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "group size n_j"


def test_legend_hides_no_point():
    """The legend is drawn outside the axes (to the right), so no group's estimate sits under it."""
    ax = plot_shrinkage(_table(), center=12.6)
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    panel = ax.get_window_extent()
    assert legend.x0 >= panel.x1
    points = np.vstack([ax.transData.transform(c.get_offsets()) for c in ax.collections[1:3]])
    assert not any(legend.contains(x, y) for x, y in points)
