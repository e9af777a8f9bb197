"""What the lesson apps share: the settings of the run profile in force, PSNR, and Markdown tables.

Framework-free (NumPy only), so the PyTorch apps, the NumPy judge and the widgets can all use it.

Used by helpers.apps.pix2pix_torch, helpers.apps.sr_torch, helpers.widgets.explorer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike


def settings(table: Mapping[str, dict], profile: str | None = None) -> dict:
    """A copy of ``table[profile]`` for the run profile in force (see :func:`helpers.runtime.profile`)."""
    from .. import runtime

    return dict(table[runtime.profile(profile)])


def psnr(estimate: ArrayLike, target: ArrayLike, data_range: float = 1.0,
         axis: int | tuple[int, ...] | None = None) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB, ``10·log10(range² / MSE)``, as ``skimage.metrics`` computes it.

    ``axis=None`` gives one float for the whole arrays; an ``axis`` gives one value per remaining
    index (e.g. ``axis=(1, 2, 3)`` for one PSNR per image of a batch). Identical images give ``inf``.
    """
    diff = np.asarray(estimate, np.float64) - np.asarray(target, np.float64)
    mse = np.mean(diff**2, axis=axis)
    with np.errstate(divide="ignore"):  # MSE 0 → inf, not a warning on stderr
        value = 10.0 * np.log10(data_range**2 / mse)
    return float(value) if axis is None else value


def _cell(value: object) -> str:
    """Numbers rounded for reading: thousands separators, 3 decimals below 1, 2 below 100."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_table(rows: Sequence[Mapping], columns: Sequence[str], formats: Mapping[str, str] | None = None) -> str:
    """The ``columns`` of ``rows`` as a Markdown table; ``formats`` maps a column to a ``str.format`` pattern."""
    formats = formats or {}

    def cell(row: Mapping, column: str) -> str:
        return formats[column].format(row[column]) if column in formats else _cell(row[column])

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
