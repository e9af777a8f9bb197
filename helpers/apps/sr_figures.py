"""Lesson 09's figures: a measure against training steps, and crops of each estimate beside its error.

NumPy and matplotlib only: the models' outputs come in as arrays (``sr_torch.predict``), so these
functions never touch a framework. Used in lesson 09 (§5 and §6) and ``scripts/measure_sr_upsamplers.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _channels_last(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` stays; ``(3, H, W)`` becomes ``(H, W, 3)`` for ``imshow``."""
    image = np.asarray(image, np.float32)
    return np.moveaxis(image, 0, -1) if image.ndim == 3 else image


def window(truth: np.ndarray, size: int, flat: bool = False, margin: int = 8) -> tuple[slice, slice]:
    """The ``size``×``size`` crop of ``truth`` with the most edges (``flat=False``) or the fewest.

    Edges are where super-resolution methods differ (a centre crop of a photograph is often a flat
    region where they all look alike); a flat region is where a periodic pattern shows most. Flat
    crops skip near-black and near-white areas, where clipping to [0, 1] would hide the pattern. Scores
    are the mean gradient magnitude on a grid of candidate corners, ``margin`` pixels from the border.
    """
    grey = np.asarray(truth, np.float64)
    grey = grey.mean(axis=0) if grey.ndim == 3 else grey
    h, w = grey.shape
    if h < size + 2 * margin or w < size + 2 * margin:
        raise ValueError(f"a {size}×{size} crop {margin} pixels from the border needs a bigger image than {h}×{w}")
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy)
    best, best_score = None, None
    step = max(1, size // 4)
    for top in range(margin, h - size - margin + 1, step):
        for left in range(margin, w - size - margin + 1, step):
            patch = (slice(top, top + size), slice(left, left + size))
            score = float(edges[patch].mean())
            if flat:
                mean = float(grey[patch].mean())
                if not 0.15 < mean < 0.85:
                    continue
                score = -score
            if best_score is None or score > best_score:
                best, best_score = patch, score
    if best is None:
        raise ValueError("no crop of mid-grey brightness found for a flat window")
    return best


def crops_with_errors(estimates: Mapping[str, np.ndarray], truth: np.ndarray, crop: tuple[slice, slice],
                      size: float = 2.3, error_range: float | None = None) -> plt.Figure:
    """Top row: the same crop of each estimate and of the truth, at one zoom (one screen block per pixel).
    Bottom row: estimate − truth on one symmetric colour scale (blue too dark, red too bright), so the
    methods' errors can be compared by eye. ``(H, W)`` or ``(3, H, W)`` arrays; colour errors are averaged
    over the channels. ``error_range`` fixes the scale (default: the largest error shown)."""
    names = list(estimates)
    rows, cols = crop
    errors = {}
    for name in names:
        error = np.asarray(estimates[name], np.float64)[..., rows, cols] - np.asarray(truth, np.float64)[..., rows, cols]
        errors[name] = error.mean(axis=0) if error.ndim == 3 else error
    limit = error_range or max(float(np.abs(e).max()) for e in errors.values()) or 1.0
    fig, axes = plt.subplots(2, len(names) + 1, figsize=(size * (len(names) + 1), 2 * size + 0.8), squeeze=False)
    for i, name in enumerate(names):
        axes[0, i].imshow(_channels_last(np.asarray(estimates[name])[..., rows, cols]), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
        axes[0, i].set_title(name, fontsize=9)
        shown = axes[1, i].imshow(errors[name], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axes[1, i].set_title(f"error, RMS {np.sqrt(np.mean(errors[name] ** 2)):.3f}", fontsize=8)
    axes[0, -1].imshow(_channels_last(np.asarray(truth)[..., rows, cols]), cmap="gray", vmin=0, vmax=1,
                       interpolation="nearest")
    axes[0, -1].set_title("truth", fontsize=9)
    axes[1, -1].set_visible(False)
    fig.colorbar(shown, ax=axes[1, :-1].tolist(), fraction=0.02, pad=0.01, label="estimate − truth")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def against_steps(curves: Mapping[str, Sequence[tuple[int, float, float, float]]], ylabel: str,
                  baseline: float | None = None, baseline_label: str = "bicubic", log: bool = False,
                  ax: plt.Axes | None = None) -> plt.Axes:
    """One line per method: ``(step, mean, low, high)`` points, the band spanning ``low``–``high`` (the seeds);
    an optional horizontal line for the baseline."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, points in curves.items():
        steps, mean, low, high = (np.array(v, np.float64) for v in zip(*points, strict=True))
        line, = ax.plot(steps, mean, marker="o", markersize=3, label=name)
        if np.any(high > low):
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label=baseline_label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="training step", ylabel=ylabel)
    ax.legend(fontsize=7)
    return ax


def curves_from_rows(rows: Sequence[Mapping], key: str, by: str = "kind") -> dict[str, list[tuple[int, float, float, float]]]:
    """``rows`` with ``by``, ``step`` and ``key`` (several seeds per step) → the points of :func:`against_steps`."""
    out: dict[str, list[tuple[int, float, float, float]]] = {}
    for name in dict.fromkeys(r[by] for r in rows):
        for step in sorted({r["step"] for r in rows if r[by] == name}):
            values = [r[key] for r in rows if r[by] == name and r["step"] == step]
            out.setdefault(name, []).append((step, float(np.mean(values)), float(min(values)), float(max(values))))
    return out
