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
* Files: each is written whole or not at all (a temporary file beside it, renamed over it), any text
  is written (what UTF-8 cannot encode, escaped), and a feedback file's path is made of the student's
  and the notebook's names as single path components: it stays in the feedback folder.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .batch import Graded

COLUMNS = ("student_id", "notebook", "grade_id", "points", "max_points", "status", "message", "isolation")
TOTAL_COLUMNS = ("student_id", "notebook", "points", "max_points", "passed", "tests", "isolation")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _plain(text: str) -> str:
    """``text`` as UTF-8 can encode it: a lone surrogate (a byte of a name that was not UTF-8) escaped."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    text = _plain(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@contextmanager
def _replacing(path: Path) -> Iterator:
    """A text file written whole or not at all: to a temporary file beside ``path``, renamed over it when done."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask's mode, as open() gives
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            yield f
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _one_line(text: str) -> str:
    """``text`` without control or format characters (bidi overrides too), its whitespace runs one space each."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in _plain(text) if unicodedata.category(ch) != "Cf")
    return " ".join(kept.split())


def write_gradebook(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson × graded test."""
    with _replacing(path) as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for g in graded:
            for r in g.rows:
                writer.writerow([_cell(r.student_id), _cell(r.notebook), _cell(r.grade_id), _num(r.points),
                                 _num(r.max_points), _cell(r.status), _cell(_one_line(r.message)),
                                 _cell(g.isolation)])


def write_totals(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson: points, the maximum, how many tests passed."""
    with _replacing(path) as f:
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


MAX_NAME_BYTES = 200  # of a feedback file's or folder's name (file systems allow 255)


def _path_part(text: str) -> str:
    """One path component made of a student's text: no separator, never empty, ``.`` or ``..``, not too long."""
    name = _plain(text).replace("/", "_").replace("\0", "_")
    if name in ("", ".", ".."):
        name = f"_{name}"
    raw = name.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:  # cut, and told apart from the other names it was cut from by a digest
        name = raw[:MAX_NAME_BYTES - 9].decode("utf-8", "ignore") + "-" + hashlib.sha256(raw).hexdigest()[:8]
    return name


def feedback_path(folder: Path, g: Graded) -> Path:
    """``folder/<student_id>/<lesson>.md``: inside ``folder`` whatever the names are."""
    stem = Path(_plain(g.notebook)).stem or "submission"  # a result about a folder has no notebook
    return Path(folder) / _path_part(g.student_id) / f"{_path_part(stem)}.md"


def write_feedback(graded: list[Graded], folder: Path) -> None:
    """``folder/<student_id>/<lesson>.md`` for each student and lesson: :func:`feedback_text`.

    Results that share a file (a lesson's, and a near miss of its name such as ``02_x.IPYNB``) are
    written in it one after the other, the lesson's first. Every file is attempted; the first
    error, if any, is raised once all were.
    """
    files: dict[Path, list[str]] = {}
    for g in sorted(graded, key=lambda g: not g.max_points):  # stable: the lessons' results first
        files.setdefault(feedback_path(folder, g), []).append(feedback_text(g))
    failed: list[OSError] = []
    for target, texts in files.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _replacing(target) as f:
                f.write("\n".join(texts))
        except OSError as exc:
            failed.append(exc)
    if failed:
        raise failed[0]


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
