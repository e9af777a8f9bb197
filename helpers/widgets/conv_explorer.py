"""Lesson 04's transposed-convolution explorer: kernel size, stride, padding → where each
input pixel's kernel copy lands, and how many copies overlap on each output pixel.

:func:`scatter_data` is the pure part (numbers in, arrays out) so it can be tested;
:func:`figure_png` draws it; :func:`conv_transpose_explorer` wraps it in ipywidgets. The
picture is an ``ipywidgets.Image`` (class ``course-conv-explorer-image``) whose PNG bytes
change whenever one of the sliders ``kernel``, ``stride`` or ``padding`` moves; a page without a
kernel shows the first picture (:mod:`helpers.widgets.fallback`).

Used in lesson 04.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from .. import reference
from .fallback import describe_picture, picture_box

if TYPE_CHECKING:  # for annotations only: importing them costs the lesson's start-up time
    import ipywidgets
    from matplotlib.axes import Axes

#: One colour per input pixel (up to 4×4 inputs), the same in the input and the scatter panel.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]


def steady_counts(kernel_size: int, stride: int) -> np.ndarray:
    """Along one axis, far from the borders, the number of kernel taps that land on an output
    position with each remainder ``t = 0 .. stride-1`` (mod the stride): ``len(range(t, k, s))``.

    Equal counts mean an even overlap; ``k % s != 0`` makes them alternate (a checkerboard);
    a zero means ``stride > kernel``: some outputs get nothing at all.
    """
    k = reference.as_int(kernel_size, "kernel_size", 1)
    s = reference.as_int(stride, "stride", 1)
    return np.array([len(range(t, k, s)) for t in range(s)], dtype=np.int64)


def interior_ratio(kernel_size: int, stride: int) -> float:
    """Most over fewest contributions per output pixel in the interior of a 2-D transposed
    convolution (``inf`` when some outputs get none): 4.0 for k3 s2, 1.0 for k4 s2, 2.25 for k5 s2."""
    kh, kw = reference.as_pair(kernel_size, "kernel_size", 1)
    sh, sw = reference.as_pair(stride, "stride", 1)
    ratio = 1.0
    for k, s in ((kh, sh), (kw, sw)):
        counts = steady_counts(k, s)
        ratio *= float("inf") if counts.min() == 0 else counts.max() / counts.min()
    return ratio


def scatter_data(kernel_size: int, stride: int, padding: int, input_size: int = 3) -> dict:
    """Everything the explorer draws, for an ``input_size × input_size`` input.

    Returns a dict with ``full`` (the overlap counts on the uncropped canvas), ``overlap``
    (the counts on the actual output, ``padding`` cropped from each side), ``footprints``
    (for each input pixel ``(row, col, top, left)``: its kernel copy covers rows
    ``top .. top+k-1`` and columns ``left .. left+k-1`` of the canvas), ``output_size``,
    ``padding``, ``kernel_size``, ``stride``, ``ratio`` (:func:`interior_ratio`) and ``error``
    (``None``, or why this combination is invalid, e.g. a padding that crops everything).
    """
    k = reference.as_int(kernel_size, "kernel_size", 1)
    s = reference.as_int(stride, "stride", 1)
    p = reference.as_int(padding, "padding", 0)
    n = reference.as_int(input_size, "input_size", 1)
    full = reference.overlap_count(k, s, n)
    footprints = [(r, c, r * s, c * s) for r in range(n) for c in range(n)]
    data = {"kernel_size": k, "stride": s, "padding": p, "input_size": n, "full": full, "footprints": footprints,
            "ratio": interior_ratio(k, s), "error": None, "overlap": None, "output_size": None}
    try:
        data["output_size"] = reference.conv_transpose2d_output_size(n, k, s, p)
        data["overlap"] = reference.overlap_count(k, s, n, p)
    except ValueError as err:
        data["error"] = str(err)
    return data


def _draw_grid(ax: Axes, h: int, w: int):
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="0.8", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_aspect("equal")


def figure_png(kernel_size: int, stride: int, padding: int, input_size: int = 3) -> bytes:
    """The explorer's picture as PNG bytes (drawn without pyplot, so nothing leaks into the notebook)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    d = scatter_data(kernel_size, stride, padding, input_size)
    k, s, p, n = d["kernel_size"], d["stride"], d["padding"], d["input_size"]
    fig = Figure(figsize=(10, 3.8))
    FigureCanvasAgg(fig)
    ax_in, ax_sc, ax_ov = (fig.add_subplot(1, 3, i, label=name)
                           for i, name in ((1, "input"), (2, "scatter"), (3, "overlap")))

    _draw_grid(ax_in, n, n)
    for r, c, _, _ in d["footprints"]:
        ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, color=COLOURS[(r * n + c) % len(COLOURS)], alpha=0.8))
    ax_in.set_title(f"input {n}×{n}: one colour per pixel", fontsize=9)

    h, w = d["full"].shape
    _draw_grid(ax_sc, h, w)
    for r, c, top, left in d["footprints"]:
        colour = COLOURS[(r * n + c) % len(COLOURS)]
        ax_sc.add_patch(Rectangle((left - 0.5, top - 0.5), k, k, color=colour, alpha=0.25))
        ax_sc.add_patch(Rectangle((left - 0.5, top - 0.5), k, k, fill=False, edgecolor=colour, linewidth=1.2))
    if p and d["error"] is None:
        ax_sc.add_patch(Rectangle((p - 0.5, p - 0.5), w - 2 * p, h - 2 * p, fill=False, edgecolor="black", linewidth=2,
                                  linestyle="--"))
    cropped = f", dashed: output after padding {p})" if p and d["error"] is None else ")"
    ax_sc.set_title(f"scatter: kernel {k}×{k} copies, stride {s}\n(canvas {h}×{w}" + cropped, fontsize=9)

    if d["error"] is not None:
        ax_ov.set_axis_off()
        ax_ov.text(0.5, 0.5, "invalid:\n" + d["error"], ha="center", va="center", wrap=True, fontsize=9,
                   color="tab:red")
    else:
        counts = d["overlap"]
        ax_ov.imshow(counts, cmap="magma", vmin=0, vmax=max(int(d["full"].max()), 1), interpolation="nearest")
        if counts.size <= 400:
            for (r, c), v in np.ndenumerate(counts):
                ax_ov.text(c, r, str(v), ha="center", va="center", fontsize=7,
                           color="white" if v < d["full"].max() / 2 else "black")
        ax_ov.set_xticks([])
        ax_ov.set_yticks([])
        ratio = "holes (stride > kernel)" if np.isinf(d["ratio"]) else f"{d['ratio']:.2f}"
        ax_ov.set_title(f"overlap on the {counts.shape[0]}×{counts.shape[1]} output\ninterior max/min = {ratio}",
                        fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()


def describe(kernel_size: int, stride: int, padding: int, input_size: int = 3) -> str:
    """One sentence: what :func:`figure_png` draws for these settings, with its numbers."""
    d = scatter_data(kernel_size, stride, padding, input_size)
    k, s, p, n = d["kernel_size"], d["stride"], d["padding"], d["input_size"]
    said = (f"A {n}×{n} input, each pixel stamping a {k}×{k} kernel copy {s} cells from its neighbour's "
            f"(padding {p}), and how many copies cover each output cell")
    if d["error"] is not None:
        return f"{said}: this combination is invalid ({d['error']})."
    ratio = "holes where no copy lands (stride > kernel)" if np.isinf(d["ratio"]) else (
        f"an interior max/min of {d['ratio']:.2f}" + (" (even: no checkerboard)" if d["ratio"] == 1 else
                                                      " (uneven: a checkerboard)"))
    return f"{said}: a {d['overlap'].shape[0]}×{d['overlap'].shape[1]} output with {ratio}."


def conv_transpose_explorer(input_size: int = 3, kernel_size: int = 3, stride: int = 2,
                            padding: int = 0) -> ipywidgets.VBox:
    """Sliders ``kernel``, ``stride``, ``padding`` → the scatter pattern and the overlap heat map."""
    import ipywidgets as widgets

    kernel = widgets.IntSlider(value=kernel_size, min=1, max=7, description="kernel")
    step = widgets.IntSlider(value=stride, min=1, max=4, description="stride")
    pad = widgets.IntSlider(value=padding, min=0, max=3, description="padding")
    picture = widgets.Image(format="png", value=figure_png(kernel_size, stride, padding, input_size))
    picture.add_class("course-conv-explorer-image")

    def redraw(_change: object | None = None):
        picture.value = figure_png(kernel.value, step.value, pad.value, input_size)
        describe_picture(picture, describe(kernel.value, step.value, pad.value, input_size))

    for control in (kernel, step, pad):
        control.observe(redraw, names="value")
    box = picture_box([widgets.HBox([kernel, step, pad]), picture], picture,
                      describe(kernel_size, stride, padding, input_size))
    box.add_class("course-conv-explorer")
    return box
