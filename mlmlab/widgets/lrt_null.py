"""Widget: the null distribution of the LR statistic for a random-intercept variance.

Sliders choose the number of groups and the group size; data without any group effect are
simulated (:func:`mlmlab.studies.lrt_null_distribution`), the random-intercept model is tested
against the model without it, and the simulated LR statistics are drawn against the naive χ²₁
and the 50:50 boundary mixture, with how often each test rejects at 5 %.

Taught in lesson 06.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error, check_choice, check_positive_int
from mlmlab.boundary import mixture_critical_value
from mlmlab.plots.lrt import plot_lrt_null
from mlmlab.studies import lrt_null_distribution
from mlmlab.widgets._figure import slider_figure

__all__ = ["lrt_null_update", "draw_lrt_null", "lrt_null_widget"]


def _simulate(n_groups, group_size, method, n_reps, rng, func):
    check_choice(method, ("REML", "ML"), func, "method")
    check_positive_int(n_reps, func, "n_reps", minimum=20)
    if isinstance(rng, np.random.Generator):
        raise argument_error(func, "rng", "None or an int seed", "a Generator",
                             fix="Pass an int, so each slider setting always shows the same simulation.",
                             kind=TypeError)
    table = lrt_null_distribution(n_groups, group_size, n_reps=n_reps, methods=(method,), rng=rng,
                                  progress=False)
    return table["lr"].to_numpy()


def _summary(lr: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    naive_c = float(stats.chi2.ppf(1 - alpha, 1))
    mix_c = mixture_critical_value(alpha, q=0)
    return pd.DataFrame({
        "reference": ["naive χ²(1)", "50:50 mixture"],
        "critical_value": [naive_c, mix_c],
        "rejection_rate": [float(np.mean(lr >= naive_c)), float(np.mean(lr >= mix_c))],
        "nominal": [alpha, alpha],
        "share_zero": [float(np.mean(lr < 1e-6))] * 2,
    })


def lrt_null_update(n_groups, group_size, *, method="REML", n_reps=1000, rng=0):
    """Simulate LR statistics under H0: τ00 = 0 and say how often each reference rejects at 5 %.

    The pure update function behind :func:`lrt_null_widget` (tests call it with slider values).

    Parameters
    ----------
    n_groups : int
        Number of groups J (at least 2).
    group_size : int
        Units per group (at least 2).
    method : {"REML", "ML"}, default="REML"
        Likelihood used for both fits.
    n_reps : int, default=1000
        Simulated data sets (at least 20).
    rng : None or int, default=0
        Seed; an int makes each slider setting reproducible.

    Returns
    -------
    pandas.DataFrame
        Two rows (``naive χ²(1)``, ``50:50 mixture``) with columns ``reference``,
        ``critical_value`` (3.84 and 2.71), ``rejection_rate`` (share of simulated LR at or above
        it; should be 0.05), ``nominal`` (0.05) and ``share_zero`` (share of LR = 0, about ½).

    Raises
    ------
    MlmlabInputError
        If a size is not a whole number ≥ 2, ``method`` is unknown or ``n_reps`` < 20.
    TypeError
        If ``rng`` is a Generator (pass an int seed).

    Examples
    --------
    >>> table = lrt_null_update(30, 10, n_reps=400, rng=1)
    >>> table["reference"].tolist()
    ['naive χ²(1)', '50:50 mixture']
    >>> bool(table["rejection_rate"].iloc[0] < table["rejection_rate"].iloc[1])
    True

    Taught in lesson 06.
    """
    lr = _simulate(n_groups, group_size, method, n_reps, rng, "lrt_null_update")
    return _summary(lr)


def draw_lrt_null(n_groups, group_size, *, method="REML", n_reps=1000, rng=0, ax=None):
    """Histogram of simulated LR statistics for one slider setting (see :func:`lrt_null_update`).

    Parameters
    ----------
    n_groups, group_size, method, n_reps, rng
        As for :func:`lrt_null_update`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The :func:`mlmlab.plots.plot_lrt_null` histogram, titled with the design and the share of
        LR = 0.

    Examples
    --------
    >>> ax = draw_lrt_null(20, 5, n_reps=200, rng=2)
    >>> ax.get_title().startswith("J = 20 groups of 5, REML:")
    True

    Taught in lesson 06.
    """
    lr = _simulate(n_groups, group_size, method, n_reps, rng, "draw_lrt_null")
    ax = plot_lrt_null(lr, df=1, ax=ax)
    ax.set_title(f"J = {n_groups} groups of {group_size}, {method}: {np.mean(lr < 1e-6):.0%} of LR are 0")
    return ax


def lrt_null_widget(*, method="REML", n_reps=1000, rng=0):
    """Sliders for the number of groups and the group size that redraw :func:`draw_lrt_null`.

    Parameters
    ----------
    method, n_reps, rng
        As for :func:`lrt_null_update`.

    Returns
    -------
    ipywidgets.VBox
        The sliders (also in ``.controls``, keyed ``n_groups`` and ``group_size``), a line with the
        rejection rates of both tests (``.note``) and the histogram (``.image``, a PNG redrawn
        whenever a slider moves).

    Examples
    --------
    >>> w = lrt_null_widget(n_reps=200)
    >>> before = w.image.value
    >>> w.controls["n_groups"].value = 60
    >>> w.image.value != before
    True

    Taught in lesson 06.
    """
    import ipywidgets as widgets

    check_choice(method, ("REML", "ML"), "lrt_null_widget", "method")
    controls = {
        "n_groups": widgets.IntSlider(value=30, min=5, max=200, step=5, description="groups J",
                                      continuous_update=False),
        "group_size": widgets.IntSlider(value=10, min=2, max=50, description="group size n",
                                        continuous_update=False),
    }

    def draw(n_groups, group_size):
        _, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
        return draw_lrt_null(n_groups, group_size, method=method, n_reps=n_reps, rng=rng, ax=ax)

    def text(n_groups, group_size):
        t = lrt_null_update(n_groups, group_size, method=method, n_reps=n_reps, rng=rng)
        return (f"Rejecting at 5 %: naive χ²(1) test {t['rejection_rate'].iloc[0]:.1%}, "
                f"mixture test {t['rejection_rate'].iloc[1]:.1%} (of {n_reps} data sets with τ00 = 0)")

    return slider_figure(draw, controls, text=text)
