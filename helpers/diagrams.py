"""Diagrams drawn with code, so they follow the text they illustrate: the transposed convolution
as a scatter of kernel copies, the GAN training loop, and a U-Net with its skips; and the arrays the
lessons print, drawn: a generator's feature maps with their channels (01), a convolution's matrix C
beside Cᵀ and the canvas that ``output_padding`` keeps (03), a kernel's sub-kernels and the output phase
each writes (04), and where ``depth_to_space`` and pixel shuffle put each channel (05). Their numbers come
from :mod:`helpers.reference` (or from the arrays the lesson computed), never typed in.

Each function returns the matplotlib figure; the tests read its patches and texts.

Used in lessons 01, 03, 04, 05, 07 and 10.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle
from numpy.typing import ArrayLike

from . import reference
from .plotting import described

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


def _described(fig: plt.Figure, lead: str) -> plt.Figure:
    """``fig`` described by ``lead`` (what the diagram is) and its panels' own titles, which carry its numbers."""
    titles = [" ".join(ax.get_title().split()) for ax in fig.axes if ax.get_title().strip()]
    panels = f" Panels: {'; '.join(titles)}." if len(titles) > 1 else f" {titles[0]}." if titles else ""
    return described(fig, lead + panels)


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
    return _described(fig, f"A transposed convolution drawn as kernel copies: each pixel of the {x.shape[0]}×"
                           f"{x.shape[1]} input stamps a copy of the {k}×{k} kernel, scaled by its value, onto the "
                           "output canvas, stride cells from its neighbour's, and overlapping copies add up.")


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
    return described(fig, "One training step of a GAN: noise z goes through the generator G to fake images; the "
                         "discriminator D sees fakes and real digits; D's loss (real to 1, fake to 0) updates D "
                         "only, G's loss (fake to 1) flows back through D, not updated, and updates G only.")


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
    skips = sum(bool(skip) for *_, skip in levels)
    return described(fig, f"A U-Net of {len(levels)} levels: an encoder of strided convolutions that halve the size "
                         f"down to {' '.join(bottom.split())}, a decoder of transposed convolutions that double it, "
                         + (f"and {skips} skip connections carrying each encoder level's output across to the "
                            "decoder." if skips else "and no skip connections."))


# --------------------------------------------------------------------------- lesson 03: C, Cᵀ and output_padding

#: The output_padding canvas: cropped by the padding (grey), kept by both outputs (blue), added by output_padding.
CANVAS_COLOURS = ((0.8, 0.8, 0.8, 1.0), (0.78, 0.86, 0.94, 1.0), (0.99, 0.68, 0.42, 1.0))

def _cells(ax: plt.Axes, faces: np.ndarray, texts: np.ndarray, fontsize: float = 7) -> None:
    """A grid of cells, row 0 at the top: ``faces`` (H, W, 4) their RGBA fill, ``texts`` (H, W) what each shows."""
    h, w = texts.shape
    for (r, c), text in np.ndenumerate(texts):
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=faces[r, c], edgecolor="0.6", linewidth=0.5))
        if text:
            ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=fontsize)
    ax.set_xlim(-0.1, w + 0.1)
    ax.set_ylim(h + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.axis("off")


def _tap_faces(taps: np.ndarray) -> np.ndarray:
    """RGBA fills for an array of tap numbers: tap t in ``COLOURS[t]`` (light), white where there is none (−1)."""
    palette = np.array([(*colour, 0.45) for colour in COLOURS] + [(1.0, 1.0, 1.0, 1.0)])
    return palette[np.where(taps >= 0, taps, len(COLOURS))]


def conv_taps(kernel_size: int, input_size: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Which kernel tap each entry of a one-channel convolution's matrix ``C`` holds: ``a·k + b`` for tap
    ``(a, b)``, −1 where ``C`` is zero by construction.

    Read off :func:`reference.conv_matrix` of a kernel whose taps are numbered 1 … k², so the picture's
    colours come from the same matrix the lesson multiplies with (one tap per entry: an output reads an
    input pixel through at most one tap).
    """
    numbered = np.arange(1.0, kernel_size * kernel_size + 1).reshape(kernel_size, kernel_size)
    return reference.conv_matrix(numbered, input_size, stride=stride, padding=padding).astype(int) - 1


def conv_matrix_transpose(kernel: ArrayLike, input_size: int, stride: int = 1, padding: int = 0,
                          size: float = 0.3) -> plt.Figure:
    """``C`` of a one-channel convolution and ``Cᵀ``, the transposed convolution, as two grids of cells.

    Every non-zero entry shows its value and the colour of the kernel tap it is (the kernel is drawn
    first, in the same colours). The column of ``C`` that reads the most taps, one input pixel, is outlined,
    and so is the same row of ``Cᵀ``: the transposed convolution's rows are the convolution's columns, so
    each row of ``Cᵀ`` is where one input pixel's copy of the kernel lands. ``size``: inches per cell.
    """
    kernel = np.asarray(kernel, dtype=float)
    k = kernel.shape[0]
    if kernel.shape != (k, k) or k * k > len(COLOURS):
        raise ValueError(f"draw a square 2-D kernel of at most {len(COLOURS)} taps, not {kernel.shape}")
    matrix = reference.conv_matrix(kernel, input_size, stride=stride, padding=padding)
    taps = conv_taps(k, input_size, stride, padding)
    n_out, n_in = matrix.shape
    faces = _tap_faces(taps)
    labels = np.array([[f"{v:g}" if t >= 0 else "" for v, t in zip(*row)] for row in zip(matrix, taps)])
    fig, axes = plt.subplots(1, 3, figsize=(size * (k + n_in + n_out + 8), size * (n_in + 6)),
                             gridspec_kw={"width_ratios": [k, n_in, n_out]})
    _cells(axes[0], _tap_faces(np.arange(k * k).reshape(k, k)), np.array([[f"{v:g}" for v in row] for row in kernel]),
           fontsize=8)
    axes[0].set_title("kernel w:\none colour per tap", fontsize=9)
    _cells(axes[1], faces, labels)
    _cells(axes[2], faces.transpose(1, 0, 2), labels.T)
    column = int((taps >= 0).sum(axis=0).argmax())
    axes[1].add_patch(Rectangle((column, 0), 1, n_out, fill=False, edgecolor="black", linewidth=2.5))
    axes[2].add_patch(Rectangle((0, column), n_out, 1, fill=False, edgecolor="black", linewidth=2.5))
    axes[1].set_title(f"C: {n_out} × {n_in} (a {input_size}×{input_size} input, stride {stride}, padding {padding})\n"
                      f"row o: the taps output o reads; outlined: column {column}", fontsize=9)
    axes[2].set_title(f"Cᵀ: {n_in} × {n_out}\noutlined: row {column} = C's column {column}", fontsize=9)
    fig.tight_layout()
    return _described(fig, "A convolution as a matrix C and the transposed convolution as Cᵀ, each cell coloured "
                           "by the kernel tap it holds: Cᵀ's rows are C's columns.")


def output_padding_canvas(size: int, kernel_size: int, stride: int, padding: int, output_padding: int,
                          cell: float = 0.45) -> plt.Figure:
    """The canvas of a square transposed convolution, and which of its cells each output keeps.

    Grey: the ``padding`` rows and columns cropped from every side; blue: the output without
    ``output_padding``; orange: what ``output_padding`` adds back, at the bottom and the right only: canvas
    cells that the padding would have cropped, or, where it reaches past the canvas (``output_padding`` larger
    than ``padding``), zeros (marked 0). The sizes come from :func:`reference.conv_transpose2d_output_size`
    (padding 0 gives the whole canvas).
    """
    full = reference.conv_transpose2d_output_size(size, kernel_size, stride, 0)
    short = reference.conv_transpose2d_output_size(size, kernel_size, stride, padding)
    longer = reference.conv_transpose2d_output_size(size, kernel_size, stride, padding, output_padding)
    side = max(full, padding + longer)
    region = np.zeros((side, side), dtype=int)  # 0 cropped, 1 kept by both, 2 kept only with output_padding
    region[padding:padding + longer, padding:padding + longer] = 2
    region[padding:padding + short, padding:padding + short] = 1
    texts = np.array(["crop", "", "op"], dtype=object)[region]
    texts[full:, :] = np.where(region[full:, :] == 2, "0", "")
    texts[:, full:] = np.where(region[:, full:] == 2, "0", "")
    fig, ax = plt.subplots(figsize=(cell * side + 1.5, cell * side + 1.2))
    _cells(ax, np.array(CANVAS_COLOURS)[region], texts)
    ax.add_patch(Rectangle((0, 0), full, full, fill=False, edgecolor="black", linewidth=2))
    ax.add_patch(Rectangle((padding, padding), longer, longer, fill=False, edgecolor="#d94801", linewidth=2,
                           linestyle="--"))
    ax.set_title(f"{size}×{size} input, k{kernel_size} s{stride} p{padding}: canvas {full}×{full} (black)\n"
                 f"padding crops to {short}×{short} (blue); output_padding={output_padding} keeps "
                 f"{longer}×{longer} (+ orange)", fontsize=9)
    fig.tight_layout()
    return _described(fig, "The canvas of a transposed convolution and which of its cells each output keeps.")


# --------------------------------------------------------------------------- lesson 04: sub-kernels and phases

def sub_kernel_phases(kernel_size: int, stride: int = 2, padding: int = 1) -> dict[tuple[int, int], tuple[int, int]]:
    """``{(a, b): phase}``: the output phase (row and column mod ``stride``) that sub-kernel
    ``w[a::stride, b::stride]`` of a transposed convolution writes, found by running it.

    Each sub-kernel alone (its taps 1, the others 0) scatters a constant input through
    :func:`reference.conv_transpose2d`; the interior pixels it reaches are its phase.
    """
    s, size = stride, 4 * kernel_size  # an input large enough to have an interior far from the borders
    phases = {}
    for a in range(s):
        for b in range(s):
            taps = np.zeros((1, 1, kernel_size, kernel_size))
            taps[..., a::s, b::s] = 1
            out = reference.conv_transpose2d(np.ones((1, 1, size, size)), taps, stride=s, padding=padding)[0, 0]
            middle = out.shape[0] // 2 - out.shape[0] // 2 % s  # a multiple of s, so offsets are phases
            window = out[middle:middle + s, middle:middle + s]
            reached = np.argwhere(window > 0)
            if len(reached) != 1:
                raise ValueError(f"sub-kernel ({a}, {b}) reaches {len(reached)} phases: is the stride larger than "
                                 f"the kernel ({kernel_size})?")
            phases[(a, b)] = tuple(int(v) for v in reached[0])
    return phases


def sub_kernels(weight: ArrayLike, stride: int = 2, padding: int = 1, window: int = 4, size: float = 2.4) -> plt.Figure:
    """A transposed convolution's kernel split into its ``stride²`` sub-kernels, and the output phase each writes.

    Panels: the kernel with every tap in its sub-kernel's colour; each sub-kernel ``w[a::s, b::s]``,
    titled with the phase it writes (:func:`sub_kernel_phases`); and ``window``×``window`` interior pixels of
    the layer's output for a constant input of ones, each in the colour of the sub-kernel that wrote it, showing
    its value: the sum of that sub-kernel's taps.
    """
    w = np.asarray(weight, dtype=float)
    k, s = w.shape[0], stride
    if w.shape != (k, k) or s * s > len(COLOURS):
        raise ValueError(f"draw a square 2-D kernel and a stride of at most 3, not {w.shape} and {s}")
    phases = sub_kernel_phases(k, s, padding)
    owner = {phase: a * s + b for (a, b), phase in phases.items()}  # phase → sub-kernel number
    taps = np.array([[(i % s) * s + j % s for j in range(k)] for i in range(k)])
    fig, axes = plt.subplots(1, s * s + 2, figsize=(size * (s * s + 2), size),
                             gridspec_kw={"width_ratios": [k] + [-(-k // s)] * s * s + [window]})
    fmt = np.vectorize(lambda v: f"{v:.2f}")
    _cells(axes[0], _tap_faces(taps), fmt(w), fontsize=8)
    axes[0].set_title(f"kernel w, {k}×{k}\none colour per sub-kernel", fontsize=9)
    for ax, ((a, b), phase) in zip(axes[1:], sorted(phases.items())):
        part = w[a::s, b::s]
        _cells(ax, _tap_faces(np.full(part.shape, a * s + b)), fmt(part), fontsize=8)
        ax.set_title(f"w[{a}::{s}, {b}::{s}]\nwrites phase {phase}", fontsize=9)
    n = 4 * k
    flat = reference.conv_transpose2d(np.ones((1, 1, n, n)), w[None, None], stride=s, padding=padding)[0, 0]
    top = flat.shape[0] // 2 - flat.shape[0] // 2 % s
    crop = flat[top:top + window, top:top + window]
    writer = np.array([[owner[(r % s, c % s)] for c in range(window)] for r in range(window)])
    _cells(axes[-1], _tap_faces(writer), fmt(crop), fontsize=8)
    axes[-1].set_title(f"output for a constant input:\nrows/columns {top}…{top + window - 1}", fontsize=9)
    fig.tight_layout()
    return _described(fig, f"A {k}×{k} transposed-convolution kernel split into its {s * s} sub-kernels, one colour "
                           "each, and the output phase each writes: a constant input comes out as a repeating "
                           "pattern wherever the sub-kernels' sums differ.")


# --------------------------------------------------------------------------- lesson 05: channel orders

def channel_order(orders: dict[str, ArrayLike], size: float = 0.55) -> plt.Figure:
    """Which input channel lands at which sub-pixel, for each framework's depth-to-space, side by side.

    ``orders`` maps a framework's name to its result on one pixel whose ``C·r²`` channels hold their own
    indices, as ``(r, r, C)`` (NHWC without the batch): the lesson computes them with ``tf.nn.depth_to_space``
    and with :func:`reference.pixel_shuffle`. Each row: the input's channels, then one ``r×r`` block per
    output channel, every cell in its input channel's colour.
    """
    orders = {name: np.asarray(order).astype(int) for name, order in orders.items()}
    r, _, c = next(iter(orders.values())).shape
    if c * r * r > len(COLOURS):
        raise ValueError(f"draw at most {len(COLOURS)} channels, not {c * r * r}")
    widths = [c * r * r] + [r] * c
    figsize = (size * (sum(widths) + 2 * c + 2), size * (r + 2.2) * len(orders))
    fig, axes = plt.subplots(len(orders), 1 + c, figsize=figsize, gridspec_kw={"width_ratios": widths}, squeeze=False)
    channels = np.arange(c * r * r)[None]
    for row, (name, order) in zip(axes, orders.items()):
        _cells(row[0], _tap_faces(channels), channels.astype(str), fontsize=9)
        row[0].set_title(f"{name}\ninput: {c * r * r} channels of one pixel", fontsize=9)
        for out, ax in enumerate(row[1:]):
            _cells(ax, _tap_faces(order[..., out]), order[..., out].astype(str), fontsize=9)
            ax.set_title(f"output channel {out}", fontsize=9)
    fig.tight_layout()
    return described(fig, f"Where each input channel lands among the sub-pixels of the output, one row per "
                         f"framework's depth-to-space ({', '.join(orders)}): the same {c * r * r} channels of one "
                         f"pixel go to different places.")


# --------------------------------------------------------------------------- lesson 01: the generator's maps

def feature_maps(shapes: Sequence[tuple[int, int, int]], title: str = "", scale: float = 1.0,
                 size: float = 10.0) -> plt.Figure:
    """Feature maps ``(channels, height, width)`` as boxes: the front face to scale with the map's height and
    width, the depth growing with log₂ of its channels, and a label with its shape and number of values.

    Lesson 01 draws a DCGAN generator with it (the shapes come from its ``generator_shapes``).
    """
    fig, ax = plt.subplots(figsize=(size, size * 0.3))
    x, top = 0.0, 0.0
    for c, h, w in shapes:
        side_h, side_w = max(h, 1.5) * scale, max(w, 1.5) * scale
        depth = 2.0 * (1 + np.log2(c))  # a map with twice the channels is one step deeper
        dx, dy = 0.6 * depth, 0.4 * depth
        front = (x, 0), (x + side_w, 0), (x + side_w, side_h), (x, side_h)
        ax.add_patch(Polygon(front, facecolor="#c6dbef", edgecolor="#08519c"))
        ax.add_patch(Polygon([(x, side_h), (x + dx, side_h + dy), (x + side_w + dx, side_h + dy), (x + side_w, side_h)],
                             facecolor="#9ecae1", edgecolor="#08519c"))
        ax.add_patch(Polygon([(x + side_w, 0), (x + side_w + dx, dy), (x + side_w + dx, side_h + dy),
                              (x + side_w, side_h)], facecolor="#6baed6", edgecolor="#08519c"))
        ax.text(x + (side_w + dx) / 2, side_h + dy + 2, f"{c} channels\n{h}×{w}\n{c * h * w:,} values",
                ha="center", fontsize=8)
        top = max(top, side_h + dy + 14)
        x += max(side_w + dx, 24) + 6  # room for the labels of the small maps
    ax.set_xlim(-2, x)
    ax.set_ylim(-1, top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    maps = "; ".join(f"{c} channels of {h}×{w}" for c, h, w in shapes)
    return described(fig, f"{title + ': ' if title else ''}feature maps drawn as boxes, left to right: {maps}.")
