"""The gradebook (CSV), the totals (CSV) and one feedback file per student and lesson."""

from __future__ import annotations

import csv
from pathlib import Path

from .batch import Graded

COLUMNS = ("student_id", "notebook", "grade_id", "points", "max_points", "status", "message")
TOTAL_COLUMNS = ("student_id", "notebook", "points", "max_points", "passed", "tests")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def write_gradebook(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson × graded test."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for g in graded:
            for r in g.rows:
                writer.writerow([r.student_id, r.notebook, r.grade_id, _num(r.points), _num(r.max_points),
                                 r.status, " ".join(r.message.split())])


def write_totals(graded: list[Graded], path: Path) -> None:
    """One row per student × lesson: points, the maximum, how many tests passed."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TOTAL_COLUMNS)
        for g in graded:
            tests = [r for r in g.rows if r.grade_id]
            writer.writerow([g.student_id, g.notebook, _num(g.points), _num(g.max_points),
                             sum(r.status == "passed" for r in tests), len(tests)])


def feedback_text(g: Graded) -> str:
    """What a student reads: each exercise, its points, and what was wrong."""
    lines = [f"# {g.notebook}: {g.student_id}", "", f"**{_num(g.points)} / {_num(g.max_points)} points**", ""]
    lines += [f"> Note: {note}" for note in g.notes]
    if g.notes:
        lines.append("")
    current = object()
    for r in g.rows:
        if r.exercise != current:
            current = r.exercise
            if lines[-1]:
                lines.append("")
            lines += [f"## Exercise `{r.exercise}`" if r.exercise else "## The notebook", ""]
        label = f"`{r.grade_id}`" if r.grade_id else "file"
        lines.append(f"- {label}: {_num(r.points)} / {_num(r.max_points)}, {r.status.replace('_', ' ')}")
        if r.message:
            lines.append(f"  - {r.message}")
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(graded: list[Graded], folder: Path) -> None:
    """``folder/<student_id>/<lesson>.md`` for each student and lesson: :func:`feedback_text`."""
    for g in graded:
        target = folder / g.student_id / f"{Path(g.notebook).stem}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_text(g), encoding="utf-8")
