"""Where grades go: a Canvas gradebook-import CSV, and a Gradescope ``results.json`` per submission.

* ``--export canvas``: ``OUT_canvas.csv``, Canvas's gradebook-import layout: the columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per lesson (its points), and a
  ``Points Possible`` row first. The student's folder name goes in ``Student`` and ``SIS User ID``
  (Canvas matches a row by it): name the folders by the students' SIS user ids.
* ``--export gradescope``: ``OUT_gradescope/<student>/<lesson>/results.json`` in the format of
  Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
  the score, one test per graded test with its name, points, status and the grader's message, and the
  visibility. deploy/gradescope/run_autograder copies the one a submission gets into place.

Student text is neutralised as in the gradebook (:mod:`.report`): a CSV cell cannot start a formula,
and every text of results.json is one line, marked ``text`` (never rendered as HTML or Markdown).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from .batch import Graded
from .report import _cell, _num, _one_line, _path_part, _plain, _replacing

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas's own gradebook export spells the row
VISIBILITY = "visible"  # Gradescope's: the student sees the score and each test's message once graded


def lesson_column(notebook: str) -> str:
    """A lesson's Canvas column: its file name without ``.ipynb`` (Canvas makes or matches the assignment by it)."""
    return _cell(Path(_plain(notebook)).stem)


def write_canvas(graded: list[Graded], path: Path) -> None:
    """One row per student, one column per lesson graded (a blank cell where the student has no result)."""
    lessons: dict[str, float] = {}
    points: dict[str, dict[str, float]] = {}
    for g in graded:
        if g.max_points > 0:  # a lesson's result: near misses and broken lessons carry no points
            lessons[g.notebook] = max(lessons.get(g.notebook, 0), g.max_points)
            points.setdefault(g.student_id, {})[g.notebook] = g.points
    order = sorted(lessons)
    with _replacing(path) as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, *(lesson_column(n) for n in order)])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *(_num(lessons[n]) for n in order)])
        for student in sorted(points):
            scores = points[student]
            writer.writerow([_cell(student), "", _cell(student), "", "",
                             *(_num(scores[n]) if n in scores else "" for n in order)])


def _test(g: Graded, number: int, row) -> dict:
    name = row.grade_id or f"the file {g.notebook}"
    message = row.status.replace("_", " ") + (f": {row.message}" if row.message else "")
    return {"name": _one_line(name), "name_format": "text", "number": str(number), "score": row.points,
            "max_score": row.max_points, "status": "passed" if row.status == "passed" else "failed",
            "output": _one_line(message), "output_format": "text", "visibility": VISIBILITY,
            "tags": [_one_line(row.exercise)] if row.exercise else []}


def gradescope_results(results: list[Graded]) -> dict:
    """One submission's ``results.json``: ``results`` are the lesson's result and any near miss of its name."""
    tests = [_test(g, i, r) for g in results for i, r in enumerate(g.rows, 1)]
    notes = [_one_line(note) for g in results for note in g.notes]
    return {"score": sum(g.points for g in results), "execution_time": round(sum(g.seconds for g in results)),
            "output": " ".join(notes), "output_format": "text", "test_output_format": "text",
            "test_name_format": "text", "visibility": VISIBILITY, "stdout_visibility": "hidden", "tests": tests}


def gradescope_path(folder: Path, g: Graded) -> Path:
    """``folder/<student>/<lesson>/results.json``, inside ``folder`` whatever the names (as feedback paths)."""
    stem = Path(_plain(g.notebook)).stem or "submission"
    return Path(folder) / _path_part(g.student_id) / _path_part(stem) / "results.json"


def write_gradescope(graded: list[Graded], folder: Path) -> None:
    """A ``results.json`` per student and lesson; results that share a path (a lesson and a near miss of its
    name) share the file, the lesson's first. Every file is attempted; the first error is raised after."""
    files: dict[Path, list[Graded]] = {}
    for g in sorted(graded, key=lambda g: not g.max_points):
        files.setdefault(gradescope_path(folder, g), []).append(g)
    failed: list[OSError] = []
    for target, results in files.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _replacing(target) as f:
                json.dump(gradescope_results(results), f, indent=1, ensure_ascii=True)
        except OSError as exc:
            failed.append(exc)
    if failed:
        raise failed[0]


def write_gradescope_submission(student_folder: Path, target: Path) -> None:
    """The one ``results.json`` Gradescope reads for a submission: the results of every notebook in
    ``student_folder`` (``OUT_gradescope/<student>/``) as one, its tests numbered anew (deploy/gradescope)."""
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(student_folder).rglob("results.json"))]
    if not parts:
        raise FileNotFoundError(f"no results.json under {student_folder}")
    tests = [t for part in parts for t in part["tests"]]
    for number, test in enumerate(tests, 1):
        test["number"] = str(number)
    combined = {**parts[0], "score": sum(p["score"] for p in parts),
                "execution_time": sum(p["execution_time"] for p in parts),
                "output": " ".join(p["output"] for p in parts if p["output"]), "tests": tests}
    with _replacing(Path(target)) as f:
        json.dump(combined, f, indent=1, ensure_ascii=True)


#: ``--export`` name -> (where it goes, beside the gradebook ``out``; its writer)
EXPORTS: dict[str, tuple[Callable[[Path], Path], Callable[[list[Graded], Path], None]]] = {
    "canvas": (lambda out: out.with_name(f"{out.stem}_canvas.csv"), write_canvas),
    "gradescope": (lambda out: out.with_name(f"{out.stem}_gradescope"), write_gradescope),
}


def export(graded: list[Graded], kinds: list[str], out: Path) -> list[Path]:
    """Write each export of ``kinds`` beside the gradebook ``out``; the paths written."""
    written = []
    for kind in kinds:
        where, write = EXPORTS[kind]
        write(graded, where(Path(out)))
        written.append(where(Path(out)))
    return written
