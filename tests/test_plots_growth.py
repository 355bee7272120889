import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlmlab import datasets
from mlmlab.fitting import fit
from mlmlab.plots.growth import plot_growth, plot_growth_panels


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sleep():
    return datasets.load("sleepstudy")


def test_one_line_per_person_and_the_mean(sleep):
    ax = plot_growth(sleep, time="Days", y="Reaction", group="Subject")
    assert len(ax.lines) == 18 + 1
    first = sleep[sleep["Subject"] == "308"].sort_values("Days")
    np.testing.assert_allclose(ax.lines[0].get_xydata(), first[["Days", "Reaction"]].to_numpy())
    means = sleep.groupby("Days")["Reaction"].mean()
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), means.to_numpy())
    assert ax.get_xlabel() == "Days" and ax.get_ylabel() == "Reaction"
    assert ax.get_title() == "18 trajectories, one per Subject"
    assert ax.get_legend_handles_labels()[1] == ["mean Reaction by Days"]
    fig, own = plt.subplots()
    assert plot_growth(sleep, time="Days", y="Reaction", group="Subject", mean=False, ax=own) is own
    assert len(own.lines) == 18


def test_unsorted_rows_are_drawn_in_time_order(sleep):
    shuffled = sleep.sample(frac=1.0, random_state=np.random.default_rng(0).integers(1_000_000))
    ax = plot_growth(shuffled, time="Days", y="Reaction", group="Subject", mean=False)
    assert all(np.all(np.diff(line.get_xdata()) > 0) for line in ax.lines)


def test_panels_with_model_lines(sleep):
    m = fit("Reaction ~ Days + (Days | Subject)", sleep)
    axes = plot_growth_panels(sleep, time="Days", y="Reaction", group="Subject", result=m, ncols=5)
    assert axes.shape == (18,)
    assert [ax.get_title() for ax in axes[:2]] == ["Subject 308", "Subject 309"]
    rows = sleep[sleep["Subject"] == "309"].sort_values("Days")
    own, population = axes[1].lines
    np.testing.assert_allclose(own.get_ydata(), m.fitted.loc[rows.index])
    np.testing.assert_allclose(population.get_ydata(), m.predict(include_re=False).loc[rows.index])
    np.testing.assert_allclose(axes[1].collections[0].get_offsets()[:, 1], rows["Reaction"])
    grid = axes[0].figure.axes
    assert len(grid) == 20 and sum(not a.get_visible() for a in grid) == 2
    # every column's lowest visible panel carries the time label
    assert sum(a.get_xlabel() == "Days" for a in grid if a.get_visible()) == 5


def test_panels_subset_and_errors(sleep):
    axes = plot_growth_panels(sleep, time="Days", y="Reaction", group="Subject", max_groups=4, ncols=2)
    assert axes.shape == (4,) and all(len(ax.lines) == 0 for ax in axes)
    with pytest.raises(ValueError, match=r"The 'ncols' argument of plot_growth_panels must be a whole number of "
                                         r"at least 1\. Got 0\."):
        plot_growth_panels(sleep, time="Days", y="Reaction", group="Subject", ncols=0)
    m = fit("Reaction ~ Days + (1 | Subject)", sleep)
    with pytest.raises(ValueError, match=r"The 'result' argument of plot_growth_panels must be a fit to the same "
                                         r"rows as data\. Got <MixedResult .*>; the fit used 180 rows, data has 170"):
        plot_growth_panels(sleep.iloc[:170], time="Days", y="Reaction", group="Subject", result=m)
    with pytest.raises(TypeError, match=r"The 'result' argument of plot_growth_panels must be a fitted model"):
        plot_growth_panels(sleep, time="Days", y="Reaction", group="Subject", result="m")


def test_column_errors(sleep):
    with pytest.raises(ValueError, match=r"The 'time' argument of plot_growth must be a column of data\. Got 'day'; "
                                         r"columns are: Reaction, Days, Subject\."):
        plot_growth(sleep, time="day", y="Reaction", group="Subject")
    with pytest.raises(ValueError, match=r"The 'y' argument of plot_growth must be a numeric outcome\. "
                                         r"Got 'Subject'"):
        plot_growth(sleep, time="Days", y="Subject", group="Subject")
    with pytest.raises(TypeError, match=r"The 'data' argument of plot_growth must be a pandas DataFrame"):
        plot_growth([1, 2], time="Days", y="Reaction", group="Subject")
