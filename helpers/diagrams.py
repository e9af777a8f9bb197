"""Diagrams drawn with code, so they follow the text they illustrate: the transposed convolution
as a scatter of kernel copies, the GAN training loop, and a U-Net with its skips.

Each function returns the matplotlib figure; the tests read its patches and texts.

Used in lessons 03, 07 and 10.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from numpy.typing import ArrayLike

from . import reference

#: One colour per input pixel of the scatter picture (tab10 has ten; the pictures use at most nine).
COLOURS = plt.get_cmap("tab10").colors


def _grid(ax: plt.Axes, values: np.ndarray, colours: Sequence | None = None, fmt: str = "{:g}") -> None:
    """A small array as a grid of cells with its values written in, optionally one fill colour per cell."""
    h, w = values.shape
    for (r, c), v in np.ndenumerate(values):
        face = colours[r * w + c] if colours is not None else "white"
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, edgecolor="black", alpha=0.35 if colours else 1))
        ax.text(c + 0.5, r + 0.5, fmt.format(v), ha="center", va="center", fontsize=9)
    ax.set_xlim(-0.1, w + 0.1)
    ax.set_ylim(h + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.axis("off")


def scatter(x: ArrayLike, kernel: ArrayLike, strides: Sequence[int] = (1, 2), size: float = 3.0) -> plt.Figure:
    """The transposed convolution of a small 2-D ``x`` with ``kernel``, drawn as kernel copies.

    Panels: the input (one colour per pixel), the kernel, then for each stride the output canvas, where
    each input pixel's copy of the kernel is an outlined square in that pixel's colour, ``s`` cells from
    its neighbour's, and each cell shows the sum of the copies that cover it.
    """
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    if x.ndim != 2 or kernel.ndim != 2 or x.size > len(COLOURS):
        raise ValueError(f"draw a 2-D input of at most {len(COLOURS)} pixels and a 2-D kernel, "
                         f"not {x.shape} and {kernel.shape}")
    k = kernel.shape[0]
    widths = [x.shape[1], k, *((x.shape[1] - 1) * s + k for s in strides)]  # each panel as wide as its grid
    fig, axes = plt.subplots(1, len(widths), figsize=(size * len(widths), size), gridspec_kw={"width_ratios": widths})
    colours = [COLOURS[i] for i in range(x.size)]
    _grid(axes[0], x, colours)
    axes[0].set_title("input x")
    _grid(axes[1], kernel)
    axes[1].set_title("kernel w")
    for ax, s in zip(axes[2:], strides):
        out = reference.conv_transpose2d(x[None, None], kernel[None, None], stride=s)[0, 0]
        _grid(ax, out, fmt="{:.3g}")
        for (r, c), _ in np.ndenumerate(x):
            inset = 0.06 * (1 + (r * x.shape[1] + c) % 4)  # nested outlines stay visible where copies overlap
            ax.add_patch(Rectangle((c * s + inset, r * s + inset), k - 2 * inset, k - 2 * inset, fill=False,
                                   edgecolor=colours[r * x.shape[1] + c], linewidth=2.5))
        ax.set_title(f"stride {s}: {x.size} copies, summed\noutput {out.shape[0]}×{out.shape[1]}")
    fig.tight_layout()
    return fig


def _box(ax: plt.Axes, xy: tuple[float, float], text: str, colour: str, width: float = 1.6,
         height: float = 0.7) -> tuple:
    """A rounded box with its text; returns (x, y, width, height) for :func:`_arrow`."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                facecolor=colour, edgecolor="black"))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)
    return x, y, width, height


def _edge(box: tuple, towards: tuple) -> tuple[float, float]:
    """Where the line from the box's centre towards a point leaves the box."""
    x, y, w, h = box
    dx, dy = towards[0] - x, towards[1] - y
    scale = min((w / 2 + 0.05) / abs(dx) if dx else np.inf, (h / 2 + 0.05) / abs(dy) if dy else np.inf)
    return x + dx * scale, y + dy * scale


def _arrow(ax: plt.Axes, start: tuple, end: tuple, text: str = "", dashed: bool = False, colour: str = "black",
           rad: float = 0.0, offset: tuple[float, float] = (0.0, 0.15)) -> None:
    """An arrow from box (or point) ``start`` to box (or point) ``end``, edge to edge, with a label."""
    a = _edge(start, end[:2]) if len(start) == 4 else start
    b = _edge(end, start[:2]) if len(end) == 4 else end
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=colour, linewidth=1.4,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}"))
    if text:
        ax.text((a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1], text, ha="center", fontsize=8.5,
                color=colour)


def gan_loop(size: float = 10.0) -> plt.Figure:
    """One GAN training step: z → G → fake → D ← real; D's loss updates D, G's loss updates G through D."""
    fig, ax = plt.subplots(figsize=(size, size * 0.5))
    z = _box(ax, (0.6, 2.0), "noise z\n~ N(0, I)", "#eeeeee", width=1.3)
    g = _box(ax, (2.6, 2.0), "generator G", "#c6dbef")
    fake = _box(ax, (4.7, 2.0), "fake images\nG(z)", "#eeeeee")
    real = _box(ax, (4.7, 3.6), "real digits x", "#eeeeee")
    d = _box(ax, (6.9, 2.8), "discriminator D", "#fdd0a2")
    loss_d = _box(ax, (9.5, 3.6), "D's loss (BCE)\nreal → 1, fake → 0", "#fdae6b", width=2.1, height=0.9)
    loss_g = _box(ax, (9.5, 2.0), "G's loss (BCE)\nfake → 1", "#9ecae1", width=2.1, height=0.9)
    for start, end in ((z, g), (g, fake), (fake, d), (real, d), (d, loss_d), (d, loss_g)):
        _arrow(ax, start, end)
    _arrow(ax, (loss_d[0], loss_d[1] + 0.5), (d[0], d[1] + 0.4), "gradient: updates D only", dashed=True,
           colour="#d94801", rad=0.45, offset=(0.0, 0.7))
    _arrow(ax, (loss_g[0], loss_g[1] - 0.5), (g[0], g[1] - 0.4),
           "gradient flows back through D (not updated) into G: updates G only", dashed=True, colour="#2171b5",
           rad=-0.25, offset=(0.0, -1.05))
    ax.set_xlim(-0.2, 10.7)
    ax.set_ylim(0.3, 4.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("One training step of a GAN: D learns to tell real from fake, G learns to fool D")
    return fig


def unet(levels: Sequence[tuple[str, str, bool]], bottom: str, size: float = 10.0) -> plt.Figure:
    """A U-Net, top level first: each level is (encoder label, decoder label, skip); ``bottom`` is the deepest stage.

    Arrows go down the encoder and up the decoder; a level with ``skip`` has an arrow across, from the
    encoder's output to the decoder, which concatenates it with the upsampled input.
    """
    n, step = len(levels), 1.1
    fig, ax = plt.subplots(figsize=(size, size * 0.12 * (n + 2)))
    enc = [_box(ax, (1.5 + 0.8 * i, (n - i) * step), left, "#c6dbef", width=2.3)
           for i, (left, _, _) in enumerate(levels)]
    dec = [_box(ax, (8.5 - 0.8 * i, (n - i) * step), right, "#fdd0a2", width=2.3)
           for i, (_, right, _) in enumerate(levels)]
    enc.append(_box(ax, (5.0, 0.0), bottom, "#dadaeb", width=2.6))
    dec.append(enc[-1])
    for i, (_, _, skip) in enumerate(levels):
        _arrow(ax, enc[i], enc[i + 1])
        _arrow(ax, dec[i + 1], dec[i])
        if skip:
            _arrow(ax, enc[i], dec[i], "skip", colour="#238b45")
    ax.text(0.2, (n + 0.75) * step, "encoder: strided convolutions, size halves", fontsize=9, color="#08519c")
    ax.text(9.8, (n + 0.75) * step, "decoder: transposed convolutions, size doubles", fontsize=9,
            color="#a63603", ha="right")
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.6, (n + 1.1) * step)
    ax.axis("off")
    ax.set_title("U-Net " + ("with skips" if any(skip for *_, skip in levels) else "without skips"))
    return fig
