"""An explorer's box that also carries a still picture of itself, for pages without a live kernel.

A widget's display bundle is only text and a pointer to a model in the kernel: the course book
(``python -m instructor_tools.book``), GitHub and nbviewer show that as an empty box or a line of
text. :func:`picture_box` adds the explorer's picture as ``image/png`` to the bundle. A live
frontend (JupyterLab, Colab) ranks the widget view above any image, so it still shows the
controls; a static page falls back to the picture the controls showed when the cell ran.

Used by helpers.widgets.explorer, helpers.widgets.conv_explorer.
"""

from __future__ import annotations

import base64
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: importing them costs the lesson's start-up time
    import ipywidgets

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@functools.cache
def _box_class() -> type:
    import ipywidgets as widgets

    class PictureBox(widgets.VBox):
        """A VBox whose display bundle adds its picture widget's PNG as ``image/png``."""

        def with_picture(self, bundle: dict | None) -> dict | None:
            """``bundle`` plus the picture's current PNG (None stays None: a closed widget shows nothing)."""
            if bundle is None:
                return None
            return {**bundle, "image/png": base64.b64encode(self.picture.value).decode("ascii")}

        def _repr_mimebundle_(self, **kwargs: object) -> dict | None:  # ipywidgets 8
            return self.with_picture(super()._repr_mimebundle_(**kwargs))

        if hasattr(widgets.VBox, "_ipython_display_"):  # ipywidgets 7 displays itself, with no bundle to extend
            def _ipython_display_(self, **kwargs: object) -> None:
                from IPython.display import display

                view = {"version_major": 2, "version_minor": 0, "model_id": self.model_id}
                display(self.with_picture({"text/plain": repr(self)[:110], WIDGET_VIEW: view}), raw=True)
                self._handle_displayed(**kwargs)

    return PictureBox


def picture_box(children: list, picture: ipywidgets.Image) -> ipywidgets.VBox:
    """A VBox of ``children`` that pages without a kernel show as ``picture`` (one of the children)."""
    box = _box_class()(children)
    box.picture = picture
    return box
