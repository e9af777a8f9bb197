"""Lesson 01's upsampling explorer: shrink a real digit, upsample it back, compare.

:func:`render` is the pure part (arrays in, arrays and numbers out) so it can be tested;
:func:`upsampling_explorer` wraps it in ipywidgets. The picture is an
``ipywidgets.Image`` whose PNG bytes change whenever a control changes; a page without a kernel
shows the first picture (:mod:`helpers.widgets.fallback`).

Used in lesson 01.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from .. import reference
from ..metrics import psnr
from .fallback import describe_picture, picture_box

if TYPE_CHECKING:  # for annotations only: importing them costs the lesson's start-up time
    import ipywidgets

FACTORS = (2, 4, 7)  # the divisors of 28, so shrink → upsample returns to 28×28


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Average each ``factor × factor`` block: the low-resolution input an upsampler starts from."""
    h, w = image.shape
    if h % factor or w % factor:
        raise ValueError(f"factor {factor} must divide the image size {image.shape}")
    return image.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def _nchw(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)[None, None]


METHODS = {
    "nearest": lambda small, f: reference.upsample_nearest(_nchw(small), f)[0, 0],
    "bilinear": lambda small, f: reference.interpolate_bilinear(_nchw(small), scale_factor=f,
                                                                align_corners=False)[0, 0],
    "bed of nails": lambda small, f: reference.upsample_zeros(_nchw(small), f)[0, 0],
}


def render(image: np.ndarray, method: str, factor: int) -> dict:
    """Shrink ``image`` (28×28 in [0, 1]) by ``factor``, upsample it back with ``method``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    small = shrink(image, factor)
    big = METHODS[method](small, factor)
    return {"small": small, "upsampled": big, "psnr": psnr(big, image), "invented": 1 - 1 / factor**2}


def figure_png(image: np.ndarray, method: str, factor: int) -> bytes:
    """The explorer's picture as PNG bytes (drawn without pyplot, so nothing leaks into the notebook)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = render(image, method, factor)
    fig = Figure(figsize=(7.5, 2.8))
    FigureCanvasAgg(fig)
    panels = [(out["small"], f"input {out['small'].shape[0]}×{out['small'].shape[1]}"),
              (out["upsampled"], f"{method} ×{factor}: PSNR {out['psnr']:.1f} dB"),
              (image, "original 28×28")]
    for i, (panel, title) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.imshow(panel, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"{out['invented']:.0%} of the output pixels were not in the input", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def describe(image: np.ndarray, method: str, factor: int) -> str:
    """One sentence: what :func:`figure_png` draws for these settings, with its numbers."""
    out = render(image, method, factor)
    side = out["small"].shape[0]
    return (f"A digit shrunk by {factor} to {side}×{side}, upsampled back with {method} (PSNR "
            f"{out['psnr']:.1f} dB) beside the original 28×28: {out['invented']:.0%} of the output pixels "
            "were not in the input.")


def upsampling_explorer(images: np.ndarray) -> ipywidgets.VBox:
    """Dropdown (method) × buttons (factor) × slider (which digit) → the picture above."""
    import ipywidgets as widgets

    method = widgets.Dropdown(options=list(METHODS), value="nearest", description="method")
    factor = widgets.ToggleButtons(options=list(FACTORS), value=4, description="factor")
    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="digit")
    picture = widgets.Image(format="png", value=figure_png(images[0], "nearest", 4))
    picture.add_class("course-explorer-image")

    def redraw(_change: object | None = None):
        picture.value = figure_png(images[index.value], method.value, factor.value)
        describe_picture(picture, describe(images[index.value], method.value, factor.value))

    for control in (method, factor, index):
        control.observe(redraw, names="value")
    box = picture_box([widgets.HBox([method, index]), factor, picture], picture, describe(images[0], "nearest", 4))
    box.add_class("course-upsampling-explorer")
    return box

