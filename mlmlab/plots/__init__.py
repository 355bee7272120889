"""Reusable plots of the course: each takes ``ax=None``, draws, and returns the Axes."""

from mlmlab.plots.caterpillar import plot_caterpillar
from mlmlab.plots.design_effect import plot_design_effect
from mlmlab.plots.growth import plot_growth, plot_growth_panels
from mlmlab.plots.lrt import plot_lrt_null
from mlmlab.plots.residuals import plot_ranef_qq, plot_resid_fitted, plot_resid_qq, qq_points
from mlmlab.plots.sample_size import plot_sample_size
from mlmlab.plots.shrinkage import plot_shrinkage
from mlmlab.plots.spaghetti import group_lines, plot_spaghetti
from mlmlab.plots.variance import plot_variance_shares, variance_shares

__all__ = [
    "plot_caterpillar",
    "plot_design_effect",
    "plot_growth",
    "plot_growth_panels",
    "plot_lrt_null",
    "plot_ranef_qq",
    "plot_resid_fitted",
    "plot_resid_qq",
    "qq_points",
    "plot_shrinkage",
    "group_lines",
    "plot_spaghetti",
    "plot_variance_shares",
    "variance_shares",
    "plot_sample_size",
]
