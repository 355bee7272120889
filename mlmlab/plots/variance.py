"""Variance shares: how a model splits the outcome's variance across levels.

Taught in lesson 03.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mlmlab._checks import check_choice
from mlmlab.r2 import variance_shares

__all__ = ["variance_shares", "plot_variance_shares"]

def plot_variance_shares(models, *, scale="share", ax=None):
    """Stacked bars of the variance components of one or more random-intercept models.

    Parameters
    ----------
    models : MixedResult, DataFrame, or dict of name -> MixedResult/DataFrame
        As for :func:`variance_shares`; one bar per model, in the given order.
    scale : {"share", "variance"}, default="share"
        ``"share"`` draws proportions of each model's total (bars reach 1); ``"variance"`` draws
        the variances themselves, so a bar shrinks when predictors explain variance.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with one horizontal stacked bar per model, each segment labelled. A level that a
        model leaves out gets no segment and no label; a fitted variance of exactly 0 (a singular
        fit) is labelled 0%.

    Raises
    ------
    MlmlabInputError
        If ``scale`` is unknown or a model has a random slope.

    Examples
    --------
    >>> vc = pd.DataFrame({"grp": ["School", "Residual"], "var1": ["(Intercept)", None],
    ...                    "var2": [None, None], "vcov": [8.61, 39.15]})
    >>> ax = plot_variance_shares({"null model": vc})
    >>> ax.get_xlabel()
    'share of total variance'

    Taught in lesson 03.
    """
    check_choice(scale, ["share", "variance"], "plot_variance_shares", "scale")
    table = variance_shares(models)
    if ax is None:
        names = list(pd.unique(table["model"]))
        _, ax = plt.subplots(figsize=(8, 1.4 + 0.7 * len(names)))
    wide = table.pivot(index="model", columns="level", values=scale)
    wide = wide.loc[list(pd.unique(table["model"]))[::-1], list(pd.unique(table["level"]))]
    left = np.zeros(len(wide))
    for i, level in enumerate(wide.columns):
        absent = wide[level].isna().to_numpy()  # the model has no such level (not a zero estimate)
        values = wide[level].fillna(0).to_numpy()
        bars = ax.barh(wide.index, values, left=left, color="0.75" if level == "Residual" else f"C{i}",
                       edgecolor="white", label=level)
        labels = ["" if gone else f"{v:.0%}" if scale == "share" else f"{v:.2f}" for v, gone in zip(values, absent)]
        _label_segments(ax, bars, labels)
        left += values
    ax.set_xlabel("share of total variance" if scale == "share" else "variance (outcome units squared)")
    ax.margins(y=0.25)  # room above the top bar for a label set outside its segment
    ax.set_title("Variance components by level")
    ax.legend(title="level", frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax


def _label_segments(ax, bars, labels) -> None:
    """Write each label inside its bar segment, or just above the segment when it is too narrow to hold it.

    Every segment gets one text, in order (an empty one where the label is empty)."""
    renderer = ax.figure.canvas.get_renderer()
    for bar, label in zip(bars, labels):
        x, y = bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2
        text = ax.text(x, y, label, ha="center", va="center", fontsize="small")
        if not label or text.get_window_extent(renderer).width * 1.15 <= bar.get_window_extent(renderer).width:
            continue
        text.remove()
        ax.annotate(label, (bar.get_x(), bar.get_y() + bar.get_height()), xytext=(0, 2),
                    textcoords="offset points", ha="left", va="bottom", fontsize="small")
