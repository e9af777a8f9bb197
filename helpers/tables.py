"""Markdown tables from rows of results, numbers rounded for reading.

Lessons print their measurements as tables (``IPython.display.Markdown``); the apps and the GAN
package build them here, so every table rounds the same way.

Used by helpers.apps.pix2pix_torch, helpers.apps.sr_torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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
