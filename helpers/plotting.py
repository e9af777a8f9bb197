"""Figures the lessons share: image grids, side-by-side comparisons, feature maps and
a training-curve plot that updates live in Jupyter and still works headless.

Every function takes NumPy arrays (framework tensors are converted) and returns the
matplotlib figure, so a lesson can tweak it or a test can inspect it.

Used in lessons 00, 01, 02, 03, 04, 05, 06, 07, 08, 09 and 10.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import ArrayLike

from .checks import to_numpy
from .data import squeeze_channel


def _as_image(image: ArrayLike) -> np.ndarray:
    """(H, W), (1, H, W), (H, W, 1), (3, H, W) or (H, W, 3) → something imshow accepts."""
    image = np.asarray(to_numpy(image), dtype=np.float32)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3):
        raise ValueError(f"cannot show an array of shape {image.shape} as an image")
    return image


def image_grid(images: ArrayLike, ncols: int | None = None, pad: int = 1, pad_value: float = 0.0) -> np.ndarray:
    """Tile a batch of single-channel images ``(N, H, W)`` (or ``(N, 1, H, W)``/``(N, H, W, 1)``) into one array."""
    batch = squeeze_channel(images, np.float32)
    n, h, w = batch.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value, np.float32)
    for i, image in enumerate(batch):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = image
    return grid


def show_grid(images: ArrayLike, ncols: int | None = None, title: str | None = None,
              value_range: tuple[float, float] | None = None, size: float = 4.0) -> plt.Figure:
    """One figure with a grid of single-channel images (e.g. GAN samples)."""
    grid = image_grid(images, ncols)
    fig, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    vmin, vmax = value_range if value_range is not None else (None, None)
    ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def compare(images: Mapping[str, object] | Sequence, titles: Sequence[str] | None = None, *, cmap: str = "gray",
            size: float = 2.6, same_scale: bool = False, pixel_grid: bool = False,
            colorbar: bool = False) -> plt.Figure:
    """Images side by side, each with its title and its shape.

    ``images`` is a ``{title: image}`` dict or a sequence with ``titles``. Pixels are drawn
    as blocks (no smoothing), so an upsampled image shows exactly what the method did.
    """
    if isinstance(images, Mapping):
        titles, images = list(images.keys()), list(images.values())
    images = [_as_image(im) for im in images]
    titles = list(titles) if titles is not None else [""] * len(images)
    lo = min(float(im.min()) for im in images) if same_scale else None
    hi = max(float(im.max()) for im in images) if same_scale else None
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.4), squeeze=False)
    for ax, image, title in zip(axes[0], images, titles, strict=False):
        shown = ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        shape = f"{image.shape[0]}×{image.shape[1]}"
        ax.set_title(f"{title}\n{shape}" if title else shape, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if pixel_grid and max(image.shape[:2]) <= 32:
            ax.set_xticks(np.arange(-0.5, image.shape[1], 1), minor=True)
            ax.set_yticks(np.arange(-0.5, image.shape[0], 1), minor=True)
            ax.grid(which="minor", color="tab:red", linewidth=0.3)
            ax.tick_params(which="minor", length=0)
        if colorbar:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def show_matrix(matrix: ArrayLike, title: str = "", annotate: bool = True, cmap: str = "viridis", fmt: str = "{:g}",
                size: float = 3.5) -> plt.Figure:
    """A small 2-D array as a heat map with its values written in (overlap counts, kernels, C)."""
    matrix = np.asarray(to_numpy(matrix), dtype=np.float64)
    fig, ax = plt.subplots(figsize=(size, size * matrix.shape[0] / max(matrix.shape[1], 1) + 0.3))
    ax.imshow(matrix, cmap=cmap, interpolation="nearest")
    if annotate and matrix.size <= 400:
        mid = (matrix.max() + matrix.min()) / 2
        for (r, c), v in np.ndenumerate(matrix):
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=7, color="black" if v > mid else "white")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def sample_points(in_size: int, rows: Mapping[str, object], size: float = 9.0) -> plt.Figure:
    """Where the output pixels of a 1-D resize sample the input (lesson 02's ``align_corners`` picture).

    The bottom row is the input: ``in_size`` pixels, centres at 0, 1, ... Each entry of
    ``rows`` is one convention, ``{title: source coordinates of the output pixels}`` (e.g. from
    ``reference.source_coordinates``): its output pixels are drawn as boxes in input units,
    each with a dot where it samples. Samples outside the input's centres are drawn hollow
    (they are clamped to the edge pixel).
    """
    rows = {title: np.asarray(to_numpy(coords), dtype=np.float64) for title, coords in rows.items()}
    fig, ax = plt.subplots(figsize=(size, 0.9 * (len(rows) + 1) + 0.4))
    levels = [("input", np.arange(in_size, dtype=np.float64))] + list(rows.items())
    for level, (title, coords) in enumerate(levels):
        width = float(np.diff(coords).mean()) if len(coords) > 1 else 1.0
        colour = "0.35" if level == 0 else f"C{level - 1}"
        for c in coords:
            ax.add_patch(plt.Rectangle((c - width / 2, level - 0.3), width, 0.6, fill=False, edgecolor=colour,
                                       linewidth=1))
        inside = (coords >= 0) & (coords <= in_size - 1)
        ax.scatter(coords[inside], np.full(inside.sum(), level), color=colour, s=18, zorder=3)
        ax.scatter(coords[~inside], np.full((~inside).sum(), level), facecolors="none", edgecolors=colour, s=18,
                   zorder=3)
        ax.text(-0.6 - 0.5 * width, level, f"{title} ({len(coords)})", ha="right", va="center", fontsize=9,
                color=colour)
    for c in range(in_size):
        ax.axvline(c, color="0.85", linewidth=0.6, zorder=0)
    ax.axvspan(-0.5, in_size - 0.5, color="0.95", zorder=-1)
    ax.set_xlim(-0.5 - 0.35 * in_size - 1.5, in_size + 0.2)
    ax.set_ylim(-0.6, len(levels) - 0.4)
    ax.set_yticks([])
    ax.set_xticks(np.arange(in_size))
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.set_xlabel("position in input pixels (grey band: the input's extent; lines: input pixel centres)", fontsize=8)
    fig.tight_layout()
    return fig


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LivePlot:
    """Training curves that redraw in place in Jupyter; headless, they just collect.

    >>> plot = LivePlot(["loss_d", "loss_g"], title="DCGAN losses")
    >>> for step in range(100):
    ...     plot.update(step, loss_d=..., loss_g=...)
    >>> fig = plot.figure()   # the final figure, also returned when headless
    """

    def __init__(self, names: Sequence[str], title: str = "", every: int = 1, xlabel: str = "step"):
        self.names = list(names)
        self.title, self.every, self.xlabel = title, max(1, every), xlabel
        self.steps: list[float] = []
        self.values: dict[str, list[float]] = {name: [] for name in self.names}
        self._handle = None
        self._calls = 0

    def update(self, step: float, **values: float) -> None:
        """Record the values at ``step``; redraw every ``every`` calls."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(f"LivePlot got values for {sorted(unknown)}; it was made for {self.names}")
        self.steps.append(float(step))
        for name in self.names:
            self.values[name].append(float(values.get(name, np.nan)))
        self._calls += 1
        if self._calls % self.every == 0:
            self.draw()

    def figure(self) -> plt.Figure:
        """The curves so far as a new figure."""
        fig, ax = plt.subplots(figsize=(6, 3))
        for name in self.names:
            ax.plot(self.steps, self.values[name], label=name)
        ax.set_xlabel(self.xlabel)
        ax.set_title(self.title)
        if self.names:
            ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        """Redraw in place in Jupyter (one output area, updated); a no-op headless."""
        if not _in_notebook():
            return
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
