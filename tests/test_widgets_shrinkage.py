import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlmlab.widgets import draw_shrinkage, shrinkage_factor, shrinkage_update, shrinkage_widget


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_factor_formula_and_limits():
    assert shrinkage_factor(8.61, 39.15, 45) == pytest.approx(8.61 / (8.61 + 39.15 / 45))
    lam = shrinkage_factor(2.0, 10.0, np.array([1, 5, 1000]))
    assert np.all(np.diff(lam) > 0)  # bigger groups keep more of their own mean
    assert lam[-1] == pytest.approx(1, abs=0.01)
    assert shrinkage_factor(0.0, 10.0, 50) == 0.0  # no between-group variance: complete pooling


def test_update_moves_small_groups_more():
    small = shrinkage_update(2, 0.1, raw=[4.0, -2.0], center=10.0)
    large = shrinkage_update(80, 0.1, raw=[4.0, -2.0], center=10.0)
    lam_small = 0.1 / (0.1 + 1 / 2)
    assert small["lam"].tolist() == pytest.approx([lam_small, lam_small])
    assert small["shrunk"].tolist() == pytest.approx([10 + lam_small * -6, 10 + lam_small * -12])
    assert (small["moved"].abs() > large["moved"].abs()).all()
    # shrinking never overshoots the centre
    assert ((small["shrunk"] - 10) * (small["raw"] - 10) >= 0).all()


def test_ratio_slider_changes_result():
    low = shrinkage_update(10, 0.01)
    high = shrinkage_update(10, 5.0)
    assert high["lam"].iloc[0] > 0.9 > 0.1 > low["lam"].iloc[0]


def test_draw_marks_current_setting():
    left, right = draw_shrinkage(25, 0.2)
    assert left.get_title() == f"λ = {0.2 / (0.2 + 1 / 25):.3f} at n_j = 25"
    assert left.get_lines()[1].get_xydata().tolist() == [[25, pytest.approx(0.2 / (0.2 + 1 / 25))]]
    assert right.get_xlabel().startswith("estimate")


def test_widget_redraws_when_slider_moves():
    w = shrinkage_widget()
    first = w.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    w.controls["variance_ratio"].value = 3.0
    second = w.image.value
    assert second != first
    w.controls["group_size"].value = 2
    assert w.image.value != second


def test_bad_inputs():
    with pytest.raises(ValueError, match="The 'sigma2' argument of shrinkage_factor must be a positive number. Got 0"):
        shrinkage_factor(1.0, 0, 10)
    with pytest.raises(ValueError, match="The 'tau00' argument of shrinkage_factor must be a number of at least 0. Got -1"):
        shrinkage_factor(-1, 1.0, 10)
    with pytest.raises(ValueError, match="The 'group_size' argument of shrinkage_factor must be a positive number"):
        shrinkage_factor(1.0, 1.0, [5, 0])
    with pytest.raises(ValueError, match="The 'group_size' argument of shrinkage_update must be a positive number. Got 'ten'"):
        shrinkage_update("ten", 0.2)


def test_the_ratio_slider_reaches_the_values_lesson_02_asks_for():
    slider = shrinkage_widget().controls["variance_ratio"]
    for value in (0.01, 0.22, 3.0):  # "set it to 0.01", HSB's ratio, "set it to 3"
        slider.value = value
        assert slider.value == value and slider.label == f"{value:g}"
    values = [value for _, value in slider.options]
    assert values == sorted(values)


def test_widget_pictures_are_screen_resolution_and_trimmed():
    import io

    from PIL import Image

    from mlmlab.widgets import _figure

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("a label that must not be cut off")
    width, height = Image.open(io.BytesIO(_figure._png(fig))).size
    assert _figure.PNG_DPI >= 96
    # trimmed to the drawing: narrower than the full 6 in canvas, and the x label's row is inside the picture
    assert width < 6 * _figure.PNG_DPI and height <= 3 * _figure.PNG_DPI + 10
