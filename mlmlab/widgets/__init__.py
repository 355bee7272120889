"""Interactive widgets of the course: builders plus the pure functions they call (tested headlessly)."""

from mlmlab.widgets.centering import (
    centering_table,
    centering_update,
    centering_widget,
    draw_centering,
    shift_origin,
)
from mlmlab.widgets.design_effect import design_effect_update, design_effect_widget, draw_design_effect
from mlmlab.widgets.icc_explorer import (
    draw_icc_explorer,
    icc_explorer_data,
    icc_explorer_update,
    icc_explorer_widget,
)
from mlmlab.widgets.lrt_null import draw_lrt_null, lrt_null_update, lrt_null_widget
from mlmlab.widgets.shrinkage import draw_shrinkage, shrinkage_factor, shrinkage_update, shrinkage_widget
from mlmlab.widgets.sample_size import draw_sample_size, sample_size_update, sample_size_widget

__all__ = [
    "centering_table",
    "centering_update",
    "centering_widget",
    "draw_centering",
    "shift_origin",
    "design_effect_update",
    "design_effect_widget",
    "draw_design_effect",
    "draw_icc_explorer",
    "icc_explorer_data",
    "icc_explorer_update",
    "icc_explorer_widget",
    "draw_lrt_null",
    "lrt_null_update",
    "lrt_null_widget",
    "draw_shrinkage",
    "shrinkage_factor",
    "shrinkage_update",
    "shrinkage_widget",
    "draw_sample_size",
    "sample_size_update",
    "sample_size_widget",
]
