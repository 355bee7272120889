"""Private helper shared by the course's widgets: sliders that redraw a matplotlib figure.

The figure is rendered to PNG bytes in an ``ipywidgets.Image``, so the widget works the same in
JupyterLab, in a browser test and headless (tests read ``image.value`` after moving a slider).
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np


def _figure_of(drawn):
    if hasattr(drawn, "savefig"):
        return drawn
    return np.ravel(drawn)[0].figure


# Screen resolution, trimmed to what is drawn (no cut-off axis labels, no empty margins, no stretching).
PNG_DPI = 100


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return buffer.getvalue()


def slider_figure(draw, controls: dict, *, text=None):
    """Return a VBox of ``controls`` above an image that ``draw(**values)`` fills.

    ``draw`` returns a Figure, an Axes or an array of Axes. ``text``, when given, is a function
    of the same values returning a short HTML string shown under the sliders.
    """
    import ipywidgets as widgets

    image = widgets.Image(format="png")
    note = widgets.HTML()

    def refresh(*_):
        values = {name: control.value for name, control in controls.items()}
        image.value = _png(_figure_of(draw(**values)))
        if text is not None:
            note.value = text(**values)

    for control in controls.values():
        control.observe(refresh, names="value")
    refresh()
    children = [widgets.HBox(list(controls.values()))] + ([note] if text is not None else []) + [image]
    box = widgets.VBox(children)
    box.controls, box.image, box.note = controls, image, note
    return box
