"""The gradebook (CSV), the totals (CSV) and one feedback file per student and lesson.

Student ids, file names and messages are the students' own text, so nothing written here lets
them pass for anything else:

* CSV: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
  leading ``'`` (OWASP's rule against CSV injection), so a spreadsheet shows it as text instead of
  running it as a formula. Numbers (points, counts) are the grader's own and stay numbers.
* Markdown: each such text is one line (control characters and line breaks become spaces) inside
  an inline code span whose backtick fence is longer than any backtick run in it, so it cannot
  close the span and make headings, points lines, links, images or HTML.
* Terminal: :func:`terminal_safe` shows control characters (ANSI escape sequences included) as
  escapes, for the progress lines.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

from .batch import Graded

COLUMNS = ("student_id", "notebook", "grade_id", "points", "max_points", "status", "message", "isolation")
TOTAL_COLUMNS = ("student_id", "notebook", "points", "max_points", "passed", "tests", "isolation")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _one_line(text: str) -> str:
    """``text`` without control or format characters (bidi overrides too), its whitespace runs one space each."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(kept.split())


def write_gradebook(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson × graded test."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for g in graded:
            for r in g.rows:
                writer.writerow([_cell(r.student_id), _cell(r.notebook), _cell(r.grade_id), _num(r.points),
                                 _num(r.max_points), _cell(r.status), _cell(_one_line(r.message)),
                                 _cell(g.isolation)])


def write_totals(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson: points, the maximum, how many tests passed."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TOTAL_COLUMNS)
        for g in graded:
            tests = [r for r in g.rows if r.grade_id]
            writer.writerow([_cell(g.student_id), _cell(g.notebook), _num(g.points), _num(g.max_points),
                             sum(r.status == "passed" for r in tests), len(tests), _cell(g.isolation)])


def _code(text: str) -> str:
    """``text`` as one inline code span that nothing in it can close (CommonMark's rule on backtick fences)."""
    text = _one_line(text)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # one space each side is stripped
    return f"{fence}{pad}{text}{pad}{fence}"


def feedback_text(g: Graded) -> str:
    """What a student reads: each exercise, its points, and what was wrong."""
    lines = [f"# {_code(g.notebook)}: {_code(g.student_id)}", "",
             f"**{_num(g.points)} / {_num(g.max_points)} points**", ""]
    lines += [f"> Note: {_code(note)}" for note in g.notes]
    if g.notes:
        lines.append("")
    current = object()
    for r in g.rows:
        if r.exercise != current:
            current = r.exercise
            if lines[-1]:
                lines.append("")
            lines += [f"## Exercise {_code(r.exercise)}" if r.exercise else "## The notebook", ""]
        label = _code(r.grade_id) if r.grade_id else "file"
        lines.append(f"- {label}: {_num(r.points)} / {_num(r.max_points)}, {r.status.replace('_', ' ')}")
        message = _code(r.message)
        if message:
            lines.append(f"  - {message}")
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(graded: list[Graded], folder: Path) -> None:
    """``folder/<student_id>/<lesson>.md`` for each student and lesson: :func:`feedback_text`."""
    for g in graded:
        target = folder / g.student_id / f"{Path(g.notebook).stem}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_text(g), encoding="utf-8")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_safe(text: str) -> str:
    """``text`` for the instructor's terminal: control characters (C0, DEL, C1: ANSI escape sequences
    start with one), line and paragraph separators and bidi controls shown as escapes such as ``\\x1b``;
    ordinary Unicode kept."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(_ESCAPES.get(ch, f"\\x{ord(ch):02x}"))
        elif category in ("Zl", "Zp") or unicodedata.bidirectional(ch) in ("LRE", "RLE", "LRO", "RLO", "PDF",
                                                                           "LRI", "RLI", "FSI", "PDI"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)
