"""Markdown tables from rows of results, numbers rounded for reading, and the judge's verdicts as one table.

Lessons print their measurements as tables (``IPython.display.Markdown``); the lessons, the apps and the GAN
package build them here, so every table rounds the same way and every score table has the same columns.

Used in lessons 05, 06, 07 and 08; by helpers.apps.pix2pix_torch, helpers.apps.sr_torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The judge's columns (:func:`helpers.judge.scores`), in the order every score table shows them
SCORE_COLUMNS = ("FID", "FID ÷ real", "inception-style", "confident", "coverage")
#: Which key of a :func:`helpers.judge.scores` dict each score column shows ("FID ÷ real" is computed)
JUDGE_KEYS = {"FID": "fid", "inception-style": "inception_score", "confident": "confident", "coverage": "coverage"}
SCORE_FORMATS = {"FID": "{:.2f}", "FID ÷ real": "{:.1f}", "inception-style": "{:.2f}", "confident": "{:.3f}",
                 "coverage": "{:.3f}"}


def _cell(value: object) -> str:
    """Numbers rounded for reading: thousands separators, 3 decimals below 1, 2 below 100."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_table(rows: Sequence[Mapping], columns: Sequence[str], formats: Mapping[str, str] | None = None) -> str:
    """The ``columns`` of ``rows`` as a Markdown table; ``formats`` maps a column to a ``str.format`` pattern for
    its numbers. A text value is written as it is (a note such as "not trained here" in a column of numbers), and
    a missing value or ``None`` leaves the cell blank."""
    formats = formats or {}
    unknown = [c for c in columns if rows and not any(c in row for row in rows)]
    if unknown:  # a blank column is meant for some rows; one that no row has is a misspelt name
        raise KeyError(f"no row has the column(s) {unknown}; the rows have {sorted({k for r in rows for k in r})}")

    def cell(row: Mapping, column: str) -> str:
        value = row.get(column)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return formats[column].format(value) if column in formats else _cell(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def score_table(rows: Mapping[str, Mapping | None], real_fid: float, first: str = "samples",
                columns: Sequence[str] = SCORE_COLUMNS, formats: Mapping[str, str] | None = None) -> str:
    """The judge's verdicts as a Markdown table, one row per ``{name: scores}`` in order, headed ``first``.

    ``scores`` is a :func:`helpers.judge.scores` dict; its score columns are :data:`SCORE_COLUMNS` (or the ones
    ``columns`` names), "FID ÷ real" divided by ``real_fid``. Any other column in ``columns`` is read from
    ``scores`` under its own name, rounded by ``formats``; a row without it (or ``None`` for scores, a row not
    judged) leaves the cell blank."""
    table = []
    for name, scores in rows.items():
        scores = scores or {}
        row = {first: name, **scores, **{c: scores[k] for c, k in JUDGE_KEYS.items() if k in scores}}
        if "fid" in scores:
            row["FID ÷ real"] = scores["fid"] / real_fid
        table.append(row)
    return format_table(table, (first, *columns), {**SCORE_FORMATS, **(formats or {})})
