import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.plots import plot_caterpillar


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _table():
    return pd.DataFrame({
        "grp": "School", "level": ["a", "b", "c", "d"], "term": "(Intercept)",
        "estimate": [1.0, -3.0, 0.2, 2.5], "se": [0.4, 0.5, 0.3, 2.0],
    })


def _points(ax):
    return np.concatenate([c.lines[0].get_xydata() for c in ax.containers])


def test_sorted_and_coloured_by_interval():
    ax = plot_caterpillar(_table())
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["95% interval covers 0", "95% interval excludes 0"]
    covers, excludes = (c.lines[0].get_xydata() for c in ax.containers)
    # sorted estimates: -3 (excl), 0.2 (covers), 1.0 (excl: 1 - 1.96*0.4 > 0), 2.5 (covers: se 2)
    np.testing.assert_allclose(covers, [[1, 0.2], [3, 2.5]])
    np.testing.assert_allclose(excludes, [[0, -3.0], [2, 1.0]])
    assert ax.get_xlabel() == "School (sorted by predicted effect)"
    assert "u0j" in ax.get_ylabel()
    assert ax.get_title() == "Caterpillar plot: 4 levels of School"


def test_level_changes_interval_width():
    ax = plot_caterpillar(_table(), level=0.5)
    assert len(ax.containers) == 2
    ax90 = plot_caterpillar(_table(), level=0.99)
    # 1.0 ± 2.576*0.4 covers zero at 99 %
    assert ax90.get_legend_handles_labels()[1][0] == "99% interval covers 0"
    np.testing.assert_allclose(ax90.containers[1].lines[0].get_xydata(), [[0, -3.0]])


def test_accepts_object_with_ranef_and_ax():
    class Fit:
        ranef = _table()
    fig, ax = plt.subplots()
    assert plot_caterpillar(Fit(), ax=ax) is ax


def test_several_factors_need_group_and_term():
    table = pd.concat([_table(), _table().assign(grp="Rater")])
    with pytest.raises(ValueError, match="The 'group' argument of plot_caterpillar must be given when the model has several grouping factors. Got None; grouping factors are: School, Rater"):
        plot_caterpillar(table)
    ax = plot_caterpillar(table, group="Rater")
    assert ax.get_title() == "Caterpillar plot: 4 levels of Rater"
    with pytest.raises(ValueError, match="The 'term' argument of plot_caterpillar must be one of '\\(Intercept\\)'. Got 'cses'"):
        plot_caterpillar(_table(), term="cses")


def test_bad_inputs():
    with pytest.raises(TypeError, match="The 'result' argument of plot_caterpillar must be a fitted model from mlmlab.fit"):
        plot_caterpillar([1, 2])
    with pytest.raises(ValueError, match="The 'result' argument of plot_caterpillar must be a column of data. Got 'se'"):
        plot_caterpillar(_table().drop(columns="se"))
    with pytest.raises(ValueError, match="The 'level' argument of plot_caterpillar must be a coverage between 0 and 1"):
        plot_caterpillar(_table(), level=95)
