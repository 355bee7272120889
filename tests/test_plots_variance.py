import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlmlab.plots import plot_variance_shares, variance_shares


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _vc(*values, groups=("School",)):
    grp = list(groups) + ["Residual"]
    return pd.DataFrame({"grp": grp, "var1": ["(Intercept)"] * len(groups) + [None],
                         "var2": [None] * len(grp), "vcov": list(values), "sdcor": np.sqrt(values)})


def test_shares_and_explained():
    out = variance_shares({"null": _vc(8.61, 39.15), "cses": _vc(8.67, 37.01), "means": _vc(2.64, 39.16)})
    assert list(out.columns) == ["model", "level", "variance", "share", "explained"]
    null = out[out.model == "null"].set_index("level")
    assert null.loc["School", "share"] == pytest.approx(8.61 / 47.76)
    means = out[out.model == "means"].set_index("level")
    assert means.loc["School", "explained"] == pytest.approx(1 - 2.64 / 8.61)
    assert out.groupby("model")["share"].sum().to_numpy() == pytest.approx([1, 1, 1])


def test_three_levels_and_single_model():
    out = variance_shares(_vc(1.0, 2.0, 5.0, groups=("school", "class")))
    assert out["level"].tolist() == ["school", "class", "Residual"]
    assert out["share"].to_numpy() == pytest.approx([0.125, 0.25, 0.625])
    assert (out["explained"] == 0).all()


def test_accepts_fit_like_object():
    class Fit:
        varcomp = _vc(3.0, 1.0)
    assert variance_shares(Fit())["share"].tolist() == [0.75, 0.25]


def test_plot_share_and_variance_scales():
    models = {"null": _vc(8.61, 39.15), "SES": _vc(4.0, 30.0)}
    ax = plot_variance_shares(models)
    widths = [p.get_width() for p in ax.patches]
    # bars drawn bottom-up in reverse model order (SES, null) for each level
    assert widths == pytest.approx([4 / 34, 8.61 / 47.76, 30 / 34, 39.15 / 47.76])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["SES", "null"]
    ax2 = plot_variance_shares(models, scale="variance")
    assert [p.get_width() for p in ax2.patches] == pytest.approx([4, 8.61, 30, 39.15])
    assert ax2.get_xlabel() == "variance (outcome units squared)"


def test_bad_inputs():
    slope = pd.concat([_vc(8.0, 37.0).iloc[:1],
                       pd.DataFrame({"grp": ["School"], "var1": ["cses"], "var2": [None], "vcov": [0.7], "sdcor": [0.8]}),
                       _vc(8.0, 37.0).iloc[1:]])
    with pytest.raises(ValueError, match="The 'models' argument of variance_shares must be random-intercept models only. Got 'rs'; it has a random slope for cses"):
        variance_shares({"rs": slope})
    with pytest.raises(TypeError, match="The 'models' argument of variance_shares must be fits from mlmlab.fit"):
        variance_shares([1, 2])
    with pytest.raises(ValueError, match="The 'scale' argument of plot_variance_shares must be one of 'share', 'variance'. Got 'percent'"):
        plot_variance_shares(_vc(1.0, 1.0), scale="percent")


def test_absent_level_unlabelled_but_fitted_zero_labelled():
    truth = _vc(4.0, 2.0, 14.0, groups=("school", "class"))
    singular = _vc(5.0, 0.0, 15.0, groups=("school", "class"))  # class variance estimated as exactly 0
    ignored = _vc(5.5, 14.5, groups=("school",))  # class level left out of the model
    for scale, zero in (("share", "0%"), ("variance", "0.00")):
        ax = plot_variance_shares({"truth": truth, "singular": singular, "classes ignored": ignored}, scale=scale)
        labels = [t.get_text() for t in ax.texts]
        # segments are labelled level by level (school, class, Residual), bottom bar first
        # (classes ignored, singular, truth): the ignored model's class segment has no label
        school, klass, residual = labels[:3], labels[3:6], labels[6:]
        assert klass[0] == ""
        assert klass[1] == zero
        assert klass[2] == ("10%" if scale == "share" else "2.00")
        assert all(school) and all(residual)
        plt.close("all")


@pytest.mark.parametrize("small", [0.3, 2.0, 8.61])
def test_every_segment_label_sits_inside_its_segment_or_above_it(small):
    vc = lambda school: pd.DataFrame({"grp": ["School", "Residual"], "var1": ["(Intercept)", None],  # noqa: E731
                                      "var2": [None, None], "vcov": [school, 39.15]})
    ax = plot_variance_shares({"null model": vc(8.61), "with predictors": vc(small)})
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    segments = [patch.get_window_extent(renderer) for patch in ax.patches]
    texts = [t for t in ax.texts if t.get_text()]
    assert len(texts) == 4
    for text in texts:
        box = text.get_window_extent(renderer)
        inside = [s for s in segments if s.x0 <= box.x0 and box.x1 <= s.x1 and s.y0 <= box.y0 and box.y1 <= s.y1]
        overlapping = [s for s in segments if s.overlaps(box)]
        assert inside or not overlapping, f"label {text.get_text()!r} spills over a bar edge"
    plt.close(fig)
