"""Sample-size curves: bias, coverage and power against the number of groups.

Draws the tidy table returned by :func:`mlmlab.studies.sample_size_study`.

Taught in lesson 08.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from mlmlab._checks import argument_error, check_choice, check_column

__all__ = ["plot_sample_size"]

_METRICS = {
    "relative_bias": ("relative bias of the estimate", 0.0),
    "bias": ("bias of the estimate (outcome units)", 0.0),
    "coverage": ("coverage of the 95% interval", None),  # reference: 1 − alpha, from the caller
    "power": ("power (share of tests rejecting 0)", 0.8),
    "sd": ("spread of the estimates (SD)", None),
    "mean_se": ("mean reported standard error", None),
    "share_singular": ("share of singular fits", None),
}
_NAMES = {"x": "level-1 effect γ10", "w": "level-2 effect γ01", "tau2": "intercept variance τ00"}
_STYLES = ("-", "--", ":", "-.")
_REQUIRED = ("n_groups", "group_size", "parameter")


def plot_sample_size(study, *, metric="coverage", parameters=("tau2",), reference=None, ax=None):
    """Draw one metric of a sample-size study against the number of groups.

    One line per group size (colour) and parameter (line style), with a dotted reference line
    where the metric has a target: 0 for bias, 0.95 for coverage, 0.8 for power.

    Parameters
    ----------
    study : pandas.DataFrame
        Output of :func:`mlmlab.studies.sample_size_study` (columns n_groups, group_size,
        parameter and the metric).
    metric : {"coverage", "power", "relative_bias", "bias", "sd", "mean_se", "share_singular"}, default="coverage"
        Column to draw.
    parameters : str or sequence of str, default=("tau2",)
        Which parameters to draw: ``"x"`` (level-1 effect), ``"w"`` (level-2 effect), ``"tau2"`` (τ00).
    reference : float, optional
        Height of the reference line; by default 0 for bias, 0.95 for coverage, 0.8 for power, none otherwise.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MlmlabInputError
        If ``metric`` is unknown, ``study`` lacks a needed column, or a parameter is not in it.

    Examples
    --------
    >>> import pandas as pd
    >>> study = pd.DataFrame({"n_groups": [5, 10, 5, 10], "group_size": [5, 5, 20, 20],
    ...                       "parameter": "tau2", "coverage": [0.70, 0.86, 0.91, 0.99]})
    >>> ax = plot_sample_size(study, metric="coverage")
    >>> ax.get_xlabel(), len(ax.get_lines())
    ('number of groups J (log scale)', 3)

    Taught in lesson 08.
    """
    check_choice(metric, list(_METRICS), "plot_sample_size", "metric")
    if not isinstance(study, pd.DataFrame):
        raise argument_error("plot_sample_size", "study", "a DataFrame from mlmlab.studies.sample_size_study",
                             study, kind=TypeError)
    for col in (*_REQUIRED, metric):
        check_column(study, col, "plot_sample_size", "study")
    parameters = [parameters] if isinstance(parameters, str) else list(parameters)
    available = list(pd.unique(study["parameter"]))
    for p in parameters:
        if p not in available:
            raise argument_error("plot_sample_size", "parameters", "parameters present in the study", p,
                                 detail="the study has: " + ", ".join(map(str, available)))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    sizes = sorted(pd.unique(study["group_size"]))
    for k, p in enumerate(parameters):
        for i, m in enumerate(sizes):
            part = study[(study["parameter"] == p) & (study["group_size"] == m)].sort_values("n_groups")
            if len(part) == 0:
                continue
            label = f"n = {m}" if len(parameters) == 1 else f"{_NAMES.get(p, p)}, n = {m}"
            ax.plot(part["n_groups"], part[metric], _STYLES[k % len(_STYLES)], marker="o", ms=4,
                    color=f"C{i}", label=label)
    label, default = _METRICS[metric]
    if reference is None:
        reference = 0.95 if metric == "coverage" else default
    if reference is not None:
        ax.axhline(reference, color="0.4", ls=":", lw=1)
    ax.set_xscale("log")
    groups = sorted(pd.unique(study["n_groups"]))
    ax.set_xticks(groups, [str(g) for g in groups])
    ax.minorticks_off()
    ax.set_xlabel("number of groups J (log scale)")
    ax.set_ylabel(label)
    what = _NAMES.get(parameters[0], parameters[0]) if len(parameters) == 1 else "several parameters"
    ax.set_title(f"{label.capitalize()}: {what}")
    ax.legend(title="group size" if len(parameters) == 1 else None, fontsize="small", frameon=False)
    return ax
