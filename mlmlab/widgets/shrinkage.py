"""Shrinkage widget: group size and variance ratio decide how far a group's estimate moves.

Taught in lesson 02.
"""

from __future__ import annotations

import numbers

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import pandas as pd

from mlmlab._checks import argument_error
from mlmlab.shrinkage import shrinkage_factor
from mlmlab.widgets._figure import slider_figure

__all__ = ["shrinkage_factor", "shrinkage_update", "draw_shrinkage", "shrinkage_widget"]  # shrinkage_factor: re-exported

#: Example raw group means (deviations from the overall mean, in points of math achievement).
EXAMPLE_RAW = (-7.0, -4.5, -2.5, -1.0, 1.5, 3.0, 5.0, 8.0)


def shrinkage_update(group_size, variance_ratio, *, raw=EXAMPLE_RAW, center=0.0) -> pd.DataFrame:
    """Partially pooled estimates of a few groups for one slider setting.

    Parameters
    ----------
    group_size : float
        Size n of every group (positive).
    variance_ratio : float
        τ00 / σ², the between-group variance as a multiple of the within-group variance (≥ 0).
    raw : sequence of float, default=EXAMPLE_RAW
        The groups' own (no-pooling) estimates.
    center : float, default=0.0
        The complete-pooling estimate γ00 they are pulled towards.

    Returns
    -------
    pandas.DataFrame
        One row per group with columns group (1, 2, …), raw, lam (λ), shrunk
        (center + λ·(raw − center)) and moved (shrunk − raw).

    Raises
    ------
    MlmlabInputError
        If the group size is not positive or the ratio is negative.

    Examples
    --------
    >>> shrinkage_update(4, 0.25, raw=[2.0, -1.0]).round(3)
       group  raw  lam  shrunk  moved
    0      1  2.0  0.5     1.0   -1.0
    1      2 -1.0  0.5    -0.5    0.5

    Taught in lesson 02.
    """
    if isinstance(group_size, bool) or not isinstance(group_size, numbers.Real):
        raise argument_error("shrinkage_update", "group_size", "a positive number", group_size)
    lam = shrinkage_factor(variance_ratio, 1.0, group_size)
    raw = np.asarray(raw, dtype=float)
    shrunk = center + lam * (raw - center)
    return pd.DataFrame({"group": np.arange(1, raw.size + 1), "raw": raw, "lam": lam,
                         "shrunk": shrunk, "moved": shrunk - raw})


def draw_shrinkage(group_size, variance_ratio, *, raw=EXAMPLE_RAW, center=0.0, axes=None):
    """Draw one slider setting: λ against n (left) and each group's move (right).

    Parameters
    ----------
    group_size, variance_ratio, raw, center
        As for :func:`shrinkage_update`.
    axes : pair of matplotlib.axes.Axes, optional
        Where to draw; a new 1 × 2 figure is made when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The two axes.

    Examples
    --------
    >>> axes = draw_shrinkage(10, 0.2)
    >>> axes[0].get_title()
    'λ = 0.667 at n_j = 10'

    Taught in lesson 02.
    """
    table = shrinkage_update(group_size, variance_ratio, raw=raw, center=center)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    left, right = axes
    sizes = np.geomspace(1, 200, 200)
    left.plot(sizes, shrinkage_factor(variance_ratio, 1.0, sizes), color="C0", lw=2)
    lam = table["lam"].iloc[0]
    left.plot([group_size], [lam], "o", color="C3", ms=8)
    left.set(xscale="log", ylim=(0, 1.02), xlabel="group size n_j (log scale)",
             ylabel="reliability λ (weight on own mean)", title=f"λ = {lam:.3f} at n_j = {group_size:g}")
    left.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    y = np.arange(len(table))
    right.hlines(y, table["raw"], table["shrunk"], color="0.6", lw=1.5)
    right.plot(table["raw"], y, "o", mfc="none", color="C0", label="own mean (no pooling)")
    right.plot(table["shrunk"], y, "o", color="C1", label="partial pooling")
    right.axvline(center, color="black", ls="--", lw=1, label="overall mean")
    right.set(yticks=y, yticklabels=[f"group {g}" for g in table["group"]],
              xlabel="estimate (deviation from overall mean, points)",
              title=f"Each group moves {1 - lam:.0%} of the way to the mean")
    right.legend(frameon=False, fontsize="small", loc="lower right")
    return np.asarray(axes)


# The τ00/σ² values the slider offers: round numbers from "groups hardly differ" to "groups differ far more
# than people within them", including those lesson 02 asks for (0.01, HSB's 0.22 and 3).
RATIO_STOPS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.22, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def shrinkage_widget(*, raw=EXAMPLE_RAW, center=0.0):
    """Sliders for group size and τ00/σ² that redraw :func:`draw_shrinkage`.

    Parameters
    ----------
    raw, center
        As for :func:`shrinkage_update`.

    Returns
    -------
    ipywidgets.VBox
        The sliders (also in ``.controls``, keyed ``group_size`` and ``variance_ratio``) above
        the figure (``.image``, a PNG redrawn whenever a slider moves).

    Examples
    --------
    >>> w = shrinkage_widget()
    >>> before = w.image.value
    >>> w.controls["group_size"].value = 60
    >>> w.image.value != before
    True

    Taught in lesson 02.
    """
    import ipywidgets as widgets

    controls = {
        "group_size": widgets.IntSlider(value=10, min=1, max=100, description="group size n_j",
                                        continuous_update=False),
        "variance_ratio": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in RATIO_STOPS], value=0.22,
                                                  description="τ00 / σ²", continuous_update=False),
    }

    def draw(group_size, variance_ratio):
        return draw_shrinkage(group_size, variance_ratio, raw=raw, center=center)

    return slider_figure(draw, controls)
