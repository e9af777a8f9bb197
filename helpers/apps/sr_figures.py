"""Lesson 09's figures: a measure against training steps, and crops of each estimate beside its error.

NumPy and matplotlib only: the models' outputs come in as arrays (``sr_torch.predict``), so these
functions never touch a framework.

Used in lesson 09 (§5 and §6) and ``scripts/measure_sr_upsamplers.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..plotting import log_scale


def _channels_last(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` stays; ``(3, H, W)`` becomes ``(H, W, 3)`` for ``imshow``."""
    image = np.asarray(image, np.float32)
    return np.moveaxis(image, 0, -1) if image.ndim == 3 else image


def window(truth: np.ndarray, size: int, flat: bool = False, margin: int = 8) -> tuple[slice, slice]:
    """The ``size``×``size`` crop of ``truth`` with the most edges (``flat=False``) or the fewest.

    Edges are where super-resolution methods differ (a centre crop of a photograph is often a flat
    region where they all look alike); a flat region is where a periodic pattern shows most. Flat
    crops skip near-black and near-white areas, where clipping to [0, 1] would hide the pattern (unless the
    picture has nothing else). Scores
    are the mean gradient magnitude on a grid of candidate corners, ``margin`` pixels from the border.
    """
    grey = np.asarray(truth, np.float64)
    grey = grey.mean(axis=0) if grey.ndim == 3 else grey
    h, w = grey.shape
    if h < size + 2 * margin or w < size + 2 * margin:
        raise ValueError(f"a {size}×{size} crop {margin} pixels from the border needs a bigger image than {h}×{w}")
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy)
    step = max(1, size // 4)
    candidates = []  # (edge score, mid-grey?, crop)
    for top in range(margin, h - size - margin + 1, step):
        for left in range(margin, w - size - margin + 1, step):
            patch = (slice(top, top + size), slice(left, left + size))
            candidates.append((float(edges[patch].mean()), 0.15 < float(grey[patch].mean()) < 0.85, patch))
    if not flat:
        return max(candidates, key=lambda c: c[0])[2]
    mid_grey = [c for c in candidates if c[1]] or candidates  # a picture with no mid-grey region: the flattest
    return min(mid_grey, key=lambda c: c[0])[2]


def crops_with_errors(estimates: Mapping[str, np.ndarray], truth: np.ndarray, crop: tuple[slice, slice],
                      size: float = 2.3, error_range: float | None = None, stretch: bool = False,
                      title: str | None = None) -> plt.Figure:
    """Top row: the same crop of each estimate and of the truth, at one zoom (one screen block per pixel).
    Bottom row: estimate − truth on one symmetric colour scale (blue too dark, red too bright), so the
    methods' errors can be compared by eye. ``(H, W)`` or ``(3, H, W)`` arrays; colour errors are averaged
    over the channels. ``error_range`` fixes the scale (default: the largest error shown). ``stretch``
    maps the darkest to the brightest value of all the crops shown onto black to white (one mapping for
    all): on a flat crop a pattern of 1 % then shows, as a monitor's contrast knob would show it. ``title``
    goes above the whole figure."""
    names = list(estimates)
    rows, cols = crop
    shown_crops = {name: np.asarray(image, np.float64)[..., rows, cols]
                   for name, image in {**estimates, "truth": truth}.items()}
    lo, hi = 0.0, 1.0
    if stretch:
        lo = min(float(c.min()) for c in shown_crops.values())
        hi = max(float(c.max()) for c in shown_crops.values())
        hi = hi if hi > lo else lo + 1.0

    def picture(name: str) -> np.ndarray:
        return _channels_last(np.clip((shown_crops[name] - lo) / (hi - lo), 0.0, 1.0))

    errors = {}
    for name in names:
        error = (np.asarray(estimates[name], np.float64)[..., rows, cols]
                 - np.asarray(truth, np.float64)[..., rows, cols])
        errors[name] = error.mean(axis=0) if error.ndim == 3 else error
    limit = error_range or max(float(np.abs(e).max()) for e in errors.values()) or 1.0
    fig, axes = plt.subplots(2, len(names) + 1, figsize=(size * (len(names) + 1), 2 * size + 0.8), squeeze=False)
    for i, name in enumerate(names):
        axes[0, i].imshow(picture(name), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[0, i].set_title(name, fontsize=9)
        shown = axes[1, i].imshow(errors[name], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axes[1, i].set_title(f"error, RMS {np.sqrt(np.mean(errors[name] ** 2)):.3f}", fontsize=8)
    axes[0, -1].imshow(picture("truth"), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0, -1].set_title("truth" + (f"\n(contrast: {lo:.2f}–{hi:.2f} shown as black–white)" if stretch else ""),
                          fontsize=8 if stretch else 9)
    axes[1, -1].set_visible(False)
    fig.colorbar(shown, ax=axes[1, :-1].tolist(), fraction=0.02, pad=0.01, label="estimate − truth")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title is not None:
        fig.suptitle(title, fontsize=9)
    return fig


def against_steps(curves: Mapping[str, Sequence[tuple[int, float, float, float]]], ylabel: str,
                  baseline: float | None = None, baseline_label: str = "bicubic", log: bool = False,
                  ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """One line per method: ``(step, mean, low, high)`` points, the band spanning ``low``–``high`` (the seeds);
    an optional horizontal line for the baseline. Without ``ax`` it draws a figure of its own, laid out tight."""
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, points in curves.items():
        steps, mean, low, high = (np.array(v, np.float64) for v in zip(*points, strict=True))
        line, = ax.plot(steps, mean, marker="o", markersize=3, label=name)
        if np.any(high > low):
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label=baseline_label)
    if log:
        log_scale(ax)
    ax.set(xlabel="training step", ylabel=ylabel)
    ax.legend(fontsize=7)
    if title is not None:
        ax.set_title(title)
    if own_figure:
        ax.figure.tight_layout()
    return ax


Points = list[tuple[int, float, float, float]]


def curves_from_rows(rows: Sequence[Mapping], key: str, by: str = "kind") -> dict[str, Points]:
    """``rows`` with ``by``, ``step`` and ``key`` (several seeds per step) → the points of :func:`against_steps`."""
    out: dict[str, Points] = {}
    for name in dict.fromkeys(r[by] for r in rows):
        for step in sorted({r["step"] for r in rows if r[by] == name}):
            values = [r[key] for r in rows if r[by] == name and r["step"] == step]
            out.setdefault(name, []).append((step, float(np.mean(values)), float(min(values)), float(max(values))))
    return out


def study(rows: Sequence[Mapping], bicubic: Mapping[str, float], names: Mapping[str, str] | None = None) -> plt.Figure:
    """The upsampler study side by side: phase spread (log scale) and PSNR against steps, each kind's seed range
    as a band, bicubic as a dashed line. ``names`` relabels the kinds (e.g. ``sr_upsamplers.KINDS``)."""
    if names:
        rows = [{**r, "kind": names.get(r["kind"], r["kind"])} for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    against_steps(curves_from_rows(rows, "phase spread"), "phase spread on held-out pictures",
                  baseline=bicubic["phase spread"], log=True, ax=axes[0])
    against_steps(curves_from_rows(rows, "PSNR dB"), "PSNR dB on held-out pictures", baseline=bicubic["PSNR dB"],
                  ax=axes[1])
    axes[1].get_legend().remove()
    fig.tight_layout()
    return fig
