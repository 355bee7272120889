"""Sample-size widget: number of groups × group size → bias, coverage and power curves.

The widget browses a finished :func:`mlmlab.studies.sample_size_study` table (no simulation runs
when a slider moves), so it responds instantly; the pure functions below are what the tests call.

Taught in lesson 08.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from mlmlab._checks import argument_error, check_column
from mlmlab.plots.sample_size import plot_sample_size
from mlmlab.widgets._figure import slider_figure

__all__ = ["sample_size_update", "draw_sample_size", "sample_size_widget"]

_COLUMNS = ("n_groups", "group_size", "parameter", "truth", "relative_bias", "sd", "coverage", "power",
            "share_singular")


def _check_study(study, func):
    if not isinstance(study, pd.DataFrame):
        raise argument_error(func, "study", "a DataFrame from mlmlab.studies.sample_size_study", study,
                             kind=TypeError)
    for col in _COLUMNS:
        check_column(study, col, func, "study")
    return study


def _check_value(study, column, value, func):
    values = sorted(int(v) for v in pd.unique(study[column]))
    if value not in values:
        raise argument_error(func, column, f"one of the study's values of {column}", value,
                             detail="the study has: " + ", ".join(map(str, values)),
                             fix="Run sample_size_study with this value included, or pick one of these.")
    return int(value)


def sample_size_update(study, n_groups, group_size) -> pd.DataFrame:
    """The study's results for one design: J groups of n units.

    Parameters
    ----------
    study : pandas.DataFrame
        Output of :func:`mlmlab.studies.sample_size_study`.
    n_groups : int
        Number of groups J (one of the study's values).
    group_size : int
        Units per group n (one of the study's values).

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter (``x`` level-1 effect, ``w`` level-2 effect, ``tau2`` τ00); columns
        truth, relative_bias, sd, coverage, power, share_singular.

    Raises
    ------
    MlmlabInputError
        If the design is not in the study (the message lists the values it has).
    TypeError
        If ``study`` is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> study = pd.DataFrame({"n_groups": [5, 5], "group_size": [20, 20], "parameter": ["w", "tau2"],
    ...                       "truth": [0.3, 0.25], "relative_bias": [-0.08, 0.02], "sd": [0.49, 0.24],
    ...                       "coverage": [0.94, 0.91], "power": [0.06, 0.67], "share_singular": [0.0, 0.09]})
    >>> sample_size_update(study, 5, 20)[["coverage", "power"]]
               coverage  power
    parameter
    w              0.94   0.06
    tau2           0.91   0.67

    Taught in lesson 08.
    """
    return _rows(study, n_groups, group_size, "sample_size_update")


def _rows(study, n_groups, group_size, func) -> pd.DataFrame:
    study = _check_study(study, func)
    n_groups = _check_value(study, "n_groups", n_groups, func)
    group_size = _check_value(study, "group_size", group_size, func)
    rows = study[(study["n_groups"] == n_groups) & (study["group_size"] == group_size)]
    return rows.set_index("parameter")[list(_COLUMNS[3:])]


def draw_sample_size(study, n_groups, group_size):
    """Three panels for one group size — τ00's bias, interval coverage, power — with J marked.

    Parameters
    ----------
    study : pandas.DataFrame
        Output of :func:`mlmlab.studies.sample_size_study` (parameters x, w and tau2).
    n_groups : int
        The number of groups to mark (one of the study's values).
    group_size : int
        The group size whose curves are drawn (one of the study's values).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Three axes: relative bias of τ00 with a ±1 SD band, coverage (τ00 and the level-2 effect),
        power (level-1 and level-2 effects).

    Examples
    --------
    >>> from mlmlab.studies import sample_size_study
    >>> study = sample_size_study([5, 20], [5], n_reps=50, rng=1, progress=False)
    >>> axes = draw_sample_size(study, 20, 5)
    >>> axes[0].figure._suptitle.get_text()[:28]
    'J = 20 groups of n = 5 (N = '

    Taught in lesson 08.
    """
    current = _rows(study, n_groups, group_size, "draw_sample_size")
    part = study[study["group_size"] == group_size]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    tau = part[part["parameter"] == "tau2"].sort_values("n_groups")
    plot_sample_size(part, metric="relative_bias", parameters="tau2", ax=axes[0])
    axes[0].fill_between(tau["n_groups"], tau["relative_bias"] - tau["sd"] / tau["truth"],
                         tau["relative_bias"] + tau["sd"] / tau["truth"], color="C0", alpha=0.2,
                         label="± 1 SD of the estimates")
    axes[0].set_title("τ00: bias (line) and spread (band)")
    axes[0].legend(fontsize="small", frameon=False)
    plot_sample_size(part, metric="coverage", parameters=["tau2", "w"], ax=axes[1])
    axes[1].set_title("Coverage of 95% intervals")
    plot_sample_size(part, metric="power", parameters=["x", "w"], ax=axes[2])
    axes[2].set_title("Power to detect the effect")
    for ax in axes:
        ax.axvline(n_groups, color="C3", lw=2, alpha=0.6)
    fig.suptitle(f"J = {n_groups} groups of n = {group_size} (N = {n_groups * group_size}): "
                 f"τ00 interval covers {current.loc['tau2', 'coverage']:.0%}, "
                 f"power {current.loc['x', 'power']:.2f} (level 1) vs {current.loc['w', 'power']:.2f} (level 2)")
    return axes


def _summary(study, n_groups, group_size) -> str:
    row = sample_size_update(study, n_groups, group_size)
    return (f"<b>J = {n_groups}, n = {group_size}:</b> τ00 is off by {row.loc['tau2', 'relative_bias']:+.0%} on average "
            f"but single estimates scatter by ±{row.loc['tau2', 'sd'] / row.loc['tau2', 'truth']:.0%}; "
            f"{row.loc['tau2', 'share_singular']:.0%} of fits are singular. "
            f"Power: {row.loc['x', 'power']:.0%} for the level-1 effect, {row.loc['w', 'power']:.0%} for the level-2 effect.")


def sample_size_widget(study):
    """Sliders for the number of groups and the group size that browse a sample-size study.

    Parameters
    ----------
    study : pandas.DataFrame
        Output of :func:`mlmlab.studies.sample_size_study` over a grid of J and n.

    Returns
    -------
    ipywidgets.VBox
        Sliders (``.controls``: ``n_groups``, ``group_size``), a sentence (``.note``) and the figure
        (``.image``), redrawn by :func:`draw_sample_size` whenever a slider moves.

    Examples
    --------
    >>> from mlmlab.studies import sample_size_study
    >>> study = sample_size_study([5, 20], [5, 10], n_reps=50, rng=1, progress=False)
    >>> w = sample_size_widget(study)
    >>> w.controls["n_groups"].value = 20
    >>> "J = 20" in w.note.value
    True

    Taught in lesson 08.
    """
    import ipywidgets as widgets

    study = _check_study(study, "sample_size_widget")
    groups = sorted(int(v) for v in pd.unique(study["n_groups"]))
    sizes = sorted(int(v) for v in pd.unique(study["group_size"]))
    controls = {
        "n_groups": widgets.SelectionSlider(options=groups, value=groups[len(groups) // 2],
                                            description="groups J", continuous_update=False),
        "group_size": widgets.SelectionSlider(options=sizes, value=sizes[0], description="group size n",
                                              continuous_update=False),
    }

    def draw(n_groups, group_size):
        return draw_sample_size(study, n_groups, group_size)

    def text(n_groups, group_size):
        return _summary(study, n_groups, group_size)

    return slider_figure(draw, controls, text=text)
