import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlmlab.widgets import draw_icc_explorer, icc_explorer_data, icc_explorer_update, icc_explorer_widget


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_data_shape_and_scaling():
    a = icc_explorer_data(1.0, 1.0, n_groups=4, group_size=3, rng=7)
    b = icc_explorer_data(4.0, 9.0, n_groups=4, group_size=3, rng=7)
    assert a.shape == (12, 2)
    assert a["group"].value_counts().tolist() == [3, 3, 3, 3]
    # same draws, rescaled: group means scale by 2 (sqrt(tau00)), within-group deviations by 3 (sqrt(sigma2))
    dev_a = a["y"] - a.groupby("group", observed=True)["y"].transform("mean")
    dev_b = b["y"] - b.groupby("group", observed=True)["y"].transform("mean")
    np.testing.assert_allclose(dev_b, 3 * dev_a)
    zero = icc_explorer_data(0.0, 1.0, n_groups=4, group_size=3, rng=7)
    np.testing.assert_allclose(b["y"] - 3 * zero["y"], 2 * (a["y"] - zero["y"]))


def test_data_reproducible_with_seed():
    a = icc_explorer_data(2.0, 3.0, rng=11)
    b = icc_explorer_data(2.0, 3.0, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(a["y"], b["y"])


def test_update_recovers_truth_on_large_sample():
    row = icc_explorer_update(3.0, 1.0, n_groups=200, group_size=20, rng=3).iloc[0]
    assert row["true_icc"] == 0.75
    assert row["ci_low"] < 0.75 < row["ci_high"]
    assert row["icc"] == pytest.approx(0.75, abs=0.05)


def test_update_follows_the_sliders():
    low = icc_explorer_update(0.5, 8.0, rng=1).iloc[0]
    high = icc_explorer_update(8.0, 0.5, rng=1).iloc[0]
    assert low["icc"] < 0.3 < 0.8 < high["icc"]


def test_draw_titles_with_estimate():
    ax = draw_icc_explorer(2.0, 2.0, n_groups=6, group_size=10, rng=4)
    row = icc_explorer_update(2.0, 2.0, n_groups=6, group_size=10, rng=4).iloc[0]
    assert ax.get_title().startswith(f"true ρ = 0.50;  estimated ρ = {row['icc']:.2f}")
    assert len(ax.get_xticklabels()) == 6


def test_widget_redraws_when_slider_moves():
    w = icc_explorer_widget(n_groups=6, group_size=8)
    first = w.image.value
    w.controls["tau00"].value = 9.0
    assert w.image.value != first


def test_bad_inputs():
    with pytest.raises(ValueError, match="The 'sigma2' argument of icc_explorer_data must be a positive number. Got 0"):
        icc_explorer_data(1.0, 0)
    with pytest.raises(ValueError, match="The 'tau00' argument of icc_explorer_data must be a number ≥ 0. Got -1"):
        icc_explorer_data(-1, 1.0)
    with pytest.raises(ValueError, match="The 'n_groups' argument of icc_explorer_data must be a whole number of at least 2. Got 1"):
        icc_explorer_data(1.0, 1.0, n_groups=1)


def test_drawing_is_reproducible_without_global_randomness():
    """The same slider values give the same picture, whatever numpy's global generator holds."""
    import io

    import matplotlib.pyplot as plt
    import numpy as np

    from mlmlab.widgets.icc_explorer import draw_icc_explorer

    pictures = []
    for global_seed in (1, 2):
        # put numpy's legacy global generator in a different state each time
        np.random.set_state(np.random.RandomState(global_seed).get_state())
        fig, ax = plt.subplots()
        draw_icc_explorer(2.0, 4.0, rng=3, ax=ax)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        plt.close(fig)
        pictures.append(buffer.getvalue())
    assert pictures[0] == pictures[1]
