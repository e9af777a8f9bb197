"""Figures the lessons share: image grids, side-by-side comparisons, feature maps and
a training-curve plot that updates live in Jupyter and still works headless.

Every function takes NumPy arrays (framework tensors are converted) and returns the
matplotlib figure, so a lesson can tweak it or a test can inspect it.

Every figure says what it shows: each function here gives its figure a one-sentence description
(:func:`describe`), a lesson cell that draws by hand gives its own, and a lesson replaces a helper's when
the point it makes needs saying (``plotting.describe(fig, "…")``). In Jupyter the description travels
with the picture as its alt text (the ``image/png`` output's metadata, ``{"alt": …}``), which the book
writes into ``<img alt>``; the book refuses a lesson figure without one. Figures are drawn on an opaque
white background (a transparent one vanishes in a dark theme) and lines and bars take their colours from
:data:`PALETTE`, which a colour-blind reader can tell apart.

Used in lessons 00, 01, 02, 03, 04, 05, 06, 07, 08, 09 and 10.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib import ticker
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from .arrays import squeeze_channel, to_numpy

#: Okabe and Ito's colours (blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow): the
#: default cycle's blue, orange, green and red become two pairs under red-green colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
#: The Figure attribute holding its description (its alt text).
DESCRIPTION = "course_description"
#: The key of an ``image/png`` output's metadata that holds its alt text (read by the book).
ALT = "alt"


def use_course_style() -> None:
    """Opaque white figures (JupyterLab's dark theme shows a transparent one as dark on dark) and the
    colour-blind-safe :data:`PALETTE` for lines and bars; applied when this module is imported."""
    plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white", "savefig.transparent": False,
                         "axes.prop_cycle": cycler(color=PALETTE)})


def describe(fig: Figure, text: str) -> None:
    """Give ``fig`` its description, one sentence saying what it shows and the point it makes (replacing any
    it had). Returns None: a cell ending with ``plotting.describe(fig, "...")`` shows the figure once (a
    returned figure would be shown a second time, as the cell's value)."""
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("a figure's description says what it shows: got an empty one")
    setattr(fig, DESCRIPTION, text)


def described(fig: Figure, text: str) -> Figure:
    """``fig``, given its description: how a helper that draws returns its figure."""
    describe(fig, text)
    return fig


def description(fig: Figure) -> str | None:
    """The description :func:`describe` gave ``fig``, or None."""
    return getattr(fig, DESCRIPTION, None)


def alt_metadata(fig: Figure, include: object = None, exclude: object = None) -> tuple[dict, dict] | None:
    """IPython's mime-bundle formatter for figures: no data of its own (the inline backend draws the PNG), only
    the output's metadata ``{"image/png": {"alt": description}}`` when the figure has a description."""
    text = description(fig)
    return ({}, {"image/png": {ALT: text}}) if text else None


def announce_descriptions(shell: object = None) -> bool:
    """Make every figure displayed in this IPython ``shell`` (the running one by default) carry its
    description as alt text; False outside IPython. The mime-bundle formatter is used because the inline
    backend never resets it (it re-registers the PNG formatter itself)."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.mimebundle_formatter.for_type(Figure, alt_metadata)
    return True


def _joined(names: Sequence[str]) -> str:
    """``a, b and c``: titles as a sentence says them (line breaks in a title read as spaces)."""
    names = [" ".join(str(n).split()) for n in names if str(n).strip()]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class _PlainLogFormatter(ticker.LogFormatter):
    """The ticks :class:`~matplotlib.ticker.LogFormatter` chooses to label, each written as a plain number."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.fix_minus(f"{x:g}") if super().__call__(x, pos) else ""


def log_scale(ax: plt.Axes) -> None:
    """Put ``ax``'s y axis on a log scale whose ticks read as plain numbers (0.001, 0.01, 0.1, 1).

    matplotlib's own log ticks (10⁻²) are math text, drawn with the math fonts its font cache lists: where
    that cache lacks them, every such figure prints 21 "findfont" warnings. Plain numbers need only the
    figure's own font."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_PlainLogFormatter())
    ax.yaxis.set_minor_formatter(_PlainLogFormatter())


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
    n = len(squeeze_channel(images))
    return described(fig, f"A grid of {n} images{f': {title}' if title else ''}.")


def compare(images: Mapping[str, object] | Sequence, titles: Sequence[str] | None = None, *, cmap: str = "gray",
            size: float = 2.6, same_scale: bool = False, pixel_grid: bool = False,
            colorbar: bool = False, title: str | None = None) -> plt.Figure:
    """Images side by side, each with its title and its shape, the figure headed ``title``.

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
    for ax, image, label in zip(axes[0], images, titles, strict=False):
        shown = ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        shape = f"{image.shape[0]}×{image.shape[1]}"
        ax.set_title(f"{label}\n{shape}" if label else shape, fontsize=9)
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
    if title:
        fig.suptitle(title)
    panels = _joined([f"{label}, {im.shape[0]}×{im.shape[1]}" if label else f"{im.shape[0]}×{im.shape[1]}"
                      for label, im in zip(titles, images, strict=False)])
    return described(fig, f"{title + ': ' if title else ''}{len(images)} images side by side: {panels}.")


def image_row(images: Mapping[str, ArrayLike], value_range: tuple[float, float] | None = None,
              size: float = 3.0) -> plt.Figure:
    """Whole pictures side by side, each under its title, without axes (unlike :func:`compare`, no shapes:
    pictures of different sizes, each drawn at its own scale). ``value_range``: the grey scale's ends."""
    vmin, vmax = value_range if value_range is not None else (None, None)
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for ax, (title, image) in zip(axes[0], images.items(), strict=True):
        ax.imshow(_as_image(image), cmap="gray", vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return described(fig, f"{len(images)} pictures side by side: {_joined(list(images))}.")


def image_column(images: Mapping[str, ArrayLike], value_range: tuple[float, float] | None = (0.0, 1.0),
                 width: float = 8.0, row_height: float = 1.25, title: str | None = None) -> plt.Figure:
    """Wide images (e.g. :func:`image_grid` strips) one under the other, each named on its left, so that
    the same digit lines up from row to row; the figure headed ``title``."""
    vmin, vmax = value_range if value_range is not None else (None, None)
    fig, axes = plt.subplots(len(images), 1, figsize=(width, row_height * len(images)), squeeze=False)
    for ax, (name, image) in zip(axes[:, 0], images.items(), strict=True):
        ax.imshow(_as_image(image), cmap="gray", vmin=vmin, vmax=vmax)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return described(fig, f"{title + ': ' if title else ''}{len(images)} strips of images one under the other, "
                         f"the same picture in the same column: {_joined(list(images))}.")


def overlays(background: ArrayLike, masks: Mapping[str, ArrayLike], size: float = 3.0) -> plt.Figure:
    """One panel per ``{title: mask}``: ``background`` in grey with the mask's pixels (values in [0, 1]) tinted
    over it, e.g. which input pixels an output cell sees."""
    picture = _as_image(background)
    fig, axes = plt.subplots(1, len(masks), figsize=(size * len(masks), size), squeeze=False)
    for ax, (title, mask) in zip(axes[0], masks.items(), strict=True):
        mask = _as_image(mask)
        ax.imshow(picture, cmap="gray")
        ax.imshow(mask, cmap="autumn", alpha=0.35 * mask)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return described(fig, f"The same {picture.shape[0]}×{picture.shape[1]} picture with pixels highlighted, "
                         f"one panel each: {_joined(list(masks))}.")


def line_chart(series: Mapping[str, ArrayLike | tuple[ArrayLike, ArrayLike]], *, title: str = "", xlabel: str = "",
               ylabel: str = "", styles: Mapping[str, Mapping] | None = None, levels: Mapping[str, float] | None = None,
               level_labels: str = "legend", shade: tuple[float, float] | None = None,
               note: tuple[float, float, str] | None = None, legend: Mapping | None = None,
               ax: plt.Axes | None = None, size: tuple[float, float] = (7.0, 3.4)) -> plt.Figure:
    """Curves on one axes: ``{label: y}`` (drawn against 0, 1, 2, …) or ``{label: (x, y)}`` (a tuple), each
    with its matplotlib ``styles[label]`` (colour, marker, linestyle).

    ``levels`` (``{label: y}``) are grey dotted reference lines, named in the legend or, with
    ``level_labels="inline"``, written on the line at the left edge. ``shade`` greys the x-range ``(lo, hi)``;
    ``note`` writes ``(x, y, text)`` into the plot; ``legend`` holds ``ax.legend``'s options. Draws on ``ax``
    when given (see :func:`line_charts`), else on a new figure of ``size``; returns the figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    styles = styles or {}
    for label, values in series.items():
        x, y = values if isinstance(values, tuple) else (np.arange(len(values)), values)
        ax.plot(x, y, label=label, **styles.get(label, {}))
    for label, level in (levels or {}).items():
        if level_labels == "inline":
            ax.axhline(level, color="gray", linestyle=":")
            ax.annotate(label, (0, level), xytext=(2, 2), textcoords="offset points", fontsize=7, color="gray")
        else:
            ax.axhline(level, color="gray", linestyle=":", label=label)
    if shade is not None:
        ax.axvspan(*shade, color="grey", alpha=0.2)
    if note is not None:
        ax.text(note[0], note[1], note[2], fontsize=9)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(**(legend or {}))
    if not description(ax.figure):  # on a figure of its own; line_charts describes the row it draws
        describe(ax.figure, _chart_sentence(title, list(series), xlabel, ylabel, levels))
    return ax.figure


def _chart_sentence(title: str, names: Sequence[str], xlabel: str, ylabel: str,
                    levels: Mapping[str, float] | None = None) -> str:
    """"A line chart of …": what a chart plots against what, its curves and its reference lines."""
    what = f" of {ylabel or 'values'} against {xlabel or 'step'}"
    lines = f"; reference lines: {_joined([f'{k} at {v:.3g}' for k, v in levels.items()])}" if levels else ""
    return f"{title + ': ' if title else ''}a line chart{what}, one curve each for {_joined(names)}{lines}."


def line_charts(charts: Sequence[Mapping], size: tuple[float, float] = (10.0, 3.2)) -> plt.Figure:
    """:func:`line_chart` side by side, one per dict of its keyword arguments (``series`` included)."""
    fig, axes = plt.subplots(1, len(charts), figsize=size, squeeze=False)
    describe(fig, "charts side by side")  # replaced below: keeps each chart from describing the whole figure
    for ax, chart in zip(axes[0], charts, strict=True):
        line_chart(**chart, ax=ax)
    fig.tight_layout()
    sentences = [_chart_sentence(c.get("title", ""), list(c["series"]), c.get("xlabel", ""), c.get("ylabel", ""),
                                 c.get("levels")) for c in charts]
    return described(fig, f"{len(charts)} charts side by side. " + " ".join(s[0].upper() + s[1:] for s in sentences))


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
    written = ", each value written in its cell" if annotate and matrix.size <= 400 else ""
    return described(fig, f"{title + ': ' if title else ''}a {matrix.shape[0]}×{matrix.shape[1]} matrix as a heat "
                         f"map{written}, values from {matrix.min():g} to {matrix.max():g}.")


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
    rows_said = _joined([f"{title} ({len(coords)} output pixels)" for title, coords in rows.items()])
    return described(fig, f"Where the output pixels of a 1-D resize sample an input of {in_size} pixels, one row "
                         f"per convention: {rows_said}; each output pixel is a box with a dot at its sample point, "
                         "hollow where it falls outside the input's pixel centres.")


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

    def figure(self, levels: Mapping[str, float] | None = None) -> plt.Figure:
        """The curves so far as a new figure; ``levels`` (``{label: y}``, e.g. the losses at chance) are dotted
        lines, the first in the first curve's colour and so on."""
        fig, ax = plt.subplots(figsize=(6, 3))
        for name in self.names:
            ax.plot(self.steps, self.values[name], label=name)
        for i, (label, level) in enumerate((levels or {}).items()):
            ax.axhline(level, color=f"C{i}", linestyle=":", label=label)
        ax.set_xlabel(self.xlabel)
        ax.set_title(self.title)
        if self.names:
            ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        last = _joined([f"{name} {self.values[name][-1]:.3g}" for name in self.names]) if self.steps else ""
        said = f", at {self.xlabel} {self.steps[-1]:g}: {last}" if last else ""
        return described(fig, _chart_sentence(self.title, self.names, self.xlabel, "", levels)[:-1] + said + ".")

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


def power_spectrum(images: ArrayLike) -> np.ndarray:
    """The mean power spectrum of ``(N, H, W)`` images, each image's own mean removed, zero frequency in the
    centre (``fftshift``). With even H and W the Nyquist row and column (the wave that flips sign from one pixel
    to the next) are row 0 and column 0 of the result: ``fftshift`` moves frequency −H/2 to the first row."""
    x = squeeze_channel(images, np.float64)
    power = np.abs(np.fft.fft2(x - x.mean(axis=(1, 2), keepdims=True))) ** 2
    return np.fft.fftshift(power.mean(axis=0))


def frame_nyquist(ax: plt.Axes, shape: tuple[int, int], color: str = "cyan") -> None:
    """Outline the Nyquist row and column of a centred spectrum of ``shape`` (see :func:`power_spectrum`)."""
    from matplotlib.patches import Rectangle

    h, w = shape
    for width, height in ((w, 1), (1, h)):  # row 0, then column 0
        ax.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor=color, linewidth=1.2))


def spectra_at_init(outputs: Mapping[str, ArrayLike], scores: Mapping[str, float], size: float = 2.6,
                    title: str | None = None) -> plt.Figure:
    """One column per generator (``{name: (N, H, W) outputs}``): one sample, the mean image over all N samples,
    and their mean power spectrum (log₁₀, centred) with the Nyquist row and column framed, titled with the
    share of power there (``scores``).

    One sample hides a fixed pattern under the noise that changes with z; the mean over a few hundred z keeps
    what every sample shares, such as the 2×2 pattern a transposed convolution stamps on all of them. The mean
    image has its own colour scale (its values are far smaller than a sample's), printed in its title. The figure
    is headed ``title``."""
    fig, axes = plt.subplots(3, len(outputs), figsize=(size * len(outputs), 3 * size + 0.6), squeeze=False)
    for col, (name, images) in enumerate(outputs.items()):
        x = squeeze_channel(images, np.float64)
        mean = x.mean(axis=0)
        spectrum = power_spectrum(x)
        axes[0, col].imshow(x[0], cmap="gray", interpolation="nearest")
        axes[0, col].set_title(f"{name}\none sample", fontsize=9)
        axes[1, col].imshow(mean, cmap="gray", interpolation="nearest")
        axes[1, col].set_title(f"mean of {len(x)} samples\n(range {mean.min():+.3f} to {mean.max():+.3f})", fontsize=9)
        axes[2, col].imshow(np.log10(spectrum + 1e-12), cmap="magma", interpolation="nearest")
        frame_nyquist(axes[2, col], spectrum.shape)
        axes[2, col].set_title(f"mean power spectrum (log)\nNyquist share {scores[name]:.3f}", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    if title:
        fig.suptitle(title, y=1.02)
    shares = _joined([f"{name} {scores[name]:.3f}" for name in outputs])
    return described(fig, f"{title + ': ' if title else ''}for each generator one sample, the mean of its samples "
                         f"and their mean power spectrum with the Nyquist row and column framed; the share of "
                         f"power at Nyquist: {shares}.")


def checkerboard_ablation(init: Mapping[str, float], trained: Mapping[str, float], real: float,
                          judged: Mapping[str, Mapping[str, float]], real_judged: Mapping[str, float],
                          note: str = "") -> plt.Figure:
    """The ablation in two panels. Left: the share of power at Nyquist per kind at initialisation (``init``)
    and after training (``trained``: the kinds trained), on a log scale, so that values a hundred times
    apart are both visible, with the real digits' share as a dashed line. Right: the judge's inception-style
    score (bars, left axis, real digits' as a line) and FID ÷ real (dots, right axis) per trained kind;
    ``judged[kind]`` and ``real_judged`` are :func:`helpers.judge.scores` dicts. ``note`` goes under the
    title (e.g. how many seeds)."""
    ratios = [len(init), max(2, len(judged))]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": ratios})
    positions = np.arange(len(init))
    left.bar(positions - 0.2, list(init.values()), 0.4, label="at initialisation")
    after = [trained.get(kind, np.nan) for kind in init]
    left.bar(positions + 0.2, after, 0.4, label="after training")
    for x, value in zip(positions, after, strict=True):
        if np.isnan(value):
            left.text(x + 0.2, real, "not trained\nhere", ha="center", va="bottom", fontsize=7)
    left.axhline(real, color="black", linestyle="--", linewidth=1, label="real digits")
    log_scale(left)
    # A clean start can put ~0 at Nyquist (ICNR: 1e-30); the axis stops a decade below the smallest value that
    # matters, the real digits' and the trained ones', and each bar is labelled with its value
    bottom = min(real, *(v for v in after if not np.isnan(v))) / 10
    left.set_ylim(bottom, max(1.0, *init.values()))
    for x, values in ((positions - 0.2, init.values()), (positions + 0.2, after)):
        for spot, value in zip(x, values, strict=True):
            if not np.isnan(value):
                left.text(spot, max(value, bottom), f"{value:.3f}", ha="center", va="bottom", fontsize=7)
    left.set_xticks(positions, list(init), fontsize=8)
    left.set_ylabel("share of power at Nyquist (log)")
    left.set_title("Checkerboard measure per upsampling block", fontsize=10)
    left.legend(fontsize=8, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.12))
    kinds = list(judged)
    spots = np.arange(len(kinds))
    right.bar(spots, [judged[k]["inception_score"] for k in kinds], 0.5, color=PALETTE[2], label="inception-style")
    right.axhline(real_judged["inception_score"], color=PALETTE[2], linestyle="--", linewidth=1,
                  label="inception-style, real digits")
    right.set_ylim(0, 10)
    right.set_ylabel("inception-style score (max 10)")
    right.set_xticks(spots, kinds, fontsize=8)
    twin = right.twinx()
    twin.plot(spots, [judged[k]["fid"] / real_judged["fid"] for k in kinds], "o", color=PALETTE[3], label="FID ÷ real")
    twin.axhline(1.0, color=PALETTE[3], linestyle=":", linewidth=1, label="FID ÷ real = 1 (real digits)")
    twin.set_ylim(0, None)
    twin.set_ylabel("FID ÷ real (1 = real digits)")
    handles = [h for ax in (right, twin) for h in ax.get_legend_handles_labels()[0]]
    right.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper center", ncol=2,
                 bbox_to_anchor=(0.5, -0.12))
    right.set_title("The judge's verdict per trained kind", fontsize=10)
    if note:
        fig.suptitle(note, fontsize=9)
    fig.tight_layout()
    shares = _joined([f"{kind} {init[kind]:.3f} → " + (f"{trained[kind]:.3f}" if kind in trained else "not trained")
                      for kind in init])
    verdicts = _joined([f"{k} {judged[k]['inception_score']:.1f} and {judged[k]['fid'] / real_judged['fid']:.1f}"
                        for k in kinds])
    return described(fig, f"Two bar charts. Left, the share of power at Nyquist per upsampling block at "
                         f"initialisation and after training (log scale; real digits {real:.3f}): {shares}. Right, "
                         f"per trained kind, the judge's inception-style score and FID ÷ real "
                         f"(real digits {real_judged['inception_score']:.1f} and 1): {verdicts}.")


use_course_style()
announce_descriptions()
