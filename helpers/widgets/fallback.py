"""An explorer's box that also carries a still picture of itself, for pages without a live kernel.

A widget's display bundle is only text and a pointer to a model in the kernel: the course book
(``python -m instructor_tools.book``), GitHub and nbviewer show that as an empty box or a line of
text. :func:`picture_box` adds the explorer's picture as ``image/png`` to the bundle, with its
description as the output's alt text (``{"image/png": {"alt": …}}``, as :mod:`helpers.plotting`
gives figures). A live frontend (JupyterLab, Colab) ranks the widget view above any image, so it
still shows the controls; a static page falls back to the picture the controls showed when the
cell ran. The description follows the controls (:func:`describe_picture`), so the still always says what
the picture it shows is.

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

        def alt_metadata(self) -> dict:
            """The output's metadata: the picture's description as its alt text."""
            text = getattr(self.picture, "course_description", "")
            return {"image/png": {"alt": text}} if text else {}

        def _repr_mimebundle_(self, **kwargs: object) -> tuple[dict, dict] | None:  # ipywidgets 8
            bundle = self.with_picture(super()._repr_mimebundle_(**kwargs))
            return None if bundle is None else (bundle, self.alt_metadata())

        if hasattr(widgets.VBox, "_ipython_display_"):  # ipywidgets 7 displays itself, with no bundle to extend
            def _ipython_display_(self, **kwargs: object) -> None:
                from IPython.display import display

                view = {"version_major": 2, "version_minor": 0, "model_id": self.model_id}
                display(self.with_picture({"text/plain": repr(self)[:110], WIDGET_VIEW: view}), raw=True,
                        metadata=self.alt_metadata())
                self._handle_displayed(**kwargs)

    return PictureBox


def picture_box(children: list, picture: ipywidgets.Image, description: str) -> ipywidgets.VBox:
    """A VBox of ``children`` that pages without a kernel show as ``picture`` (one of the children), described
    by ``description`` (see :func:`describe_picture`)."""
    box = _box_class()(children)
    box.picture = picture
    describe_picture(picture, description)
    return box


def describe_picture(picture: ipywidgets.Image, description: str) -> None:
    """Say what ``picture`` shows now, the still's alt text; an explorer calls it whenever it redraws.

    A plain attribute, not the widget's ``tooltip``: JupyterLab's widget manager (jupyterlab_widgets 3) could not
    create the Image's view with a tooltip set, and the live explorer showed an error in place of its picture
    (tests/browser/test_lessons.py)."""
    picture.course_description = " ".join(description.split())
