"""Grade a folder of submissions: ``SUBMISSIONS/<student_id>/<lesson file name>.ipynb``.

For each lesson the solution runs once (in the same sandbox, with ``COURSE_PROBE=1``) and
its probes are the expected values; then every submission runs in a fresh kernel and each
graded test is judged in this process (:mod:`compare`). Nothing a submission does stops the
batch: each failure mode ends as a status in the submission's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ROOT

from .. import build
from .compare import BadProbe, Probe, Unencodable, judge, parse_probe
from .notebook import InvalidSubmission, Lesson, Submission, assemble, load_lesson, read_submission
from .runner import Limits, run_cells, snapshot

STATUSES = ("passed", "failed", "error", "timeout", "not_attempted", "invalid")


@dataclass
class Row:
    student_id: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    status: str
    message: str = ""
    exercise: str | None = None  # not a column: groups the feedback


@dataclass
class Graded:
    """One student's result for one lesson."""

    student_id: str
    notebook: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


class LessonBroken(RuntimeError):
    """The solution itself does not run cleanly: nothing can be graded against it."""


def lessons_in(course: Path = ROOT) -> dict[str, Path]:
    return {p.name: p for p in sorted((course / build.SOLUTIONS).glob("*.ipynb")) if build.LESSON_PATTERN.match(p.name)}


def expected_probes(lesson: Lesson, results: list[dict]) -> dict[str, list[Probe]]:
    """The solution run's probes per graded test; :class:`LessonBroken` if it did not pass cleanly."""
    expected = {}
    for test in lesson.tests:
        cell = results[test.index]
        if cell.get("status") != "ok":
            why = cell.get("reason") or f"{cell.get('ename', cell.get('status'))}: {cell.get('evalue', '')}"
            raise LessonBroken(f"{lesson.name}: the solution's test {test.grade_id!r} does not pass ({why})")
        try:
            probes = [parse_probe(text) for text in cell["probes"]]
        except BadProbe as exc:
            raise LessonBroken(f"{lesson.name}: test {test.grade_id!r} reports an unreadable value ({exc})") from None
        if not probes:
            raise LessonBroken(f"{lesson.name}: test {test.grade_id!r} calls no helpers.checks function")
        for p in probes:
            if isinstance(p.value, Unencodable):
                raise LessonBroken(f"{lesson.name}: test {test.grade_id!r} checks a {p.value.type_name}, "
                                   "which the grader cannot compare (use numbers, strings, tuples or arrays)")
        expected[test.grade_id] = probes
    return expected


def _rows(student: str, lesson: Lesson, status: str, message: str) -> list[Row]:
    return [Row(student, lesson.name, t.grade_id, 0, t.points, status, message, t.exercise) for t in lesson.tests]


def grade_one(lesson: Lesson, expected: dict[str, list[Probe]], submission: Submission, batch: Path,
              limits: Limits, course: Path = ROOT) -> Graded:
    start = time.monotonic()
    results = run_cells(batch, submission.student_id[:20], assemble(lesson, submission.code), limits, course)
    rows = []
    for test in lesson.tests:
        exercise_cell = results[lesson.exercises[test.exercise]] if test.exercise else None
        verdict = judge(expected[test.grade_id], results[test.index], exercise_cell, limits.timeout)
        points = test.points if verdict.status == "passed" else 0
        rows.append(Row(submission.student_id, lesson.name, test.grade_id, points, test.points,
                        verdict.status, verdict.message, test.exercise))
    return Graded(submission.student_id, lesson.name, rows, submission.notes, time.monotonic() - start)


def _tidy(points: float) -> float | int:
    return int(points) if float(points).is_integer() else points


def grade_folder(
    submissions: Path,
    *,
    lessons: list[str] | None = None,
    limits: Limits | None = None,
    jobs: int = 2,
    progress: Callable[[str], None] = lambda line: None,
    course: Path = ROOT,
) -> list[Graded]:
    """Grade every ``submissions/<student>/<lesson>.ipynb``; one :class:`Graded` per student and lesson.

    ``lessons``: lesson numbers or file names to grade (default: every lesson submitted).
    A student who has no notebook for a graded lesson gets ``not_attempted`` rows; a file
    whose name is no lesson gets one ``invalid`` row (it is reported, not guessed at).
    """
    limits = limits or Limits()
    available = lessons_in(course)
    students = sorted(p for p in Path(submissions).iterdir() if p.is_dir() and not p.name.startswith("."))
    found: dict[tuple[str, str], Path] = {}
    graded: list[Graded] = []
    for folder in students:
        for path in sorted(folder.glob("*.ipynb")):
            if path.name in available:
                found[folder.name, path.name] = path
            else:
                graded.append(Graded(folder.name, path.name, [Row(
                    folder.name, path.name, "", 0, 0, "invalid",
                    f"no lesson is named {path.name!r}: rename it to one of {', '.join(available)} and grade again")]))
    if lessons:
        wanted = {name for name in available if any(name == w or name.startswith(f"{w}_") for w in lessons)}
        unknown = [w for w in lessons if not any(n == w or n.startswith(f"{w}_") for n in available)]
        if unknown:
            raise ValueError(f"no lesson matches {', '.join(unknown)} (lessons: {', '.join(available)})")
    else:
        wanted = {name for _, name in found}

    loaded: dict[str, Lesson] = {}
    broken: dict[str, str] = {}
    for name in sorted(wanted):
        try:
            loaded[name] = load_lesson(available[name])
        except build.BuildError as exc:
            broken[name] = f"the lesson's solution is malformed: {exc}"

    # Read every submission before any kernel runs: nothing a kernel does can change them.
    jobs_to_run: list[tuple[Lesson, Submission]] = []
    for folder in students:
        for name in sorted(wanted):
            student, path = folder.name, found.get((folder.name, name))
            if name in broken:
                graded.append(Graded(student, name, [Row(student, name, "", 0, 0, "error", broken[name])]))
            elif path is None:
                graded.append(Graded(student, name, _rows(student, loaded[name], "not_attempted", "no notebook submitted")))
            else:
                try:
                    jobs_to_run.append((loaded[name], read_submission(path, loaded[name], student)))
                except InvalidSubmission as exc:
                    graded.append(Graded(student, name, _rows(student, loaded[name], "invalid", str(exc))))
    for g in graded:
        progress(f"{g.student_id} {g.notebook}: {g.rows[0].status}: {g.rows[0].message}")

    batch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    os.chmod(batch, 0o711)  # the kernels (maybe another user) must reach their own folders in it
    try:
        frozen = snapshot(batch, course)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            def solution_run(lesson: Lesson):
                return expected_probes(lesson, run_cells(batch, "solution", assemble(lesson, None), limits, frozen))

            needed = {lesson.name: lesson for lesson, _ in jobs_to_run}
            futures = {name: pool.submit(solution_run, lesson) for name, lesson in needed.items()}
            expected = {}
            for name, future in futures.items():
                try:
                    expected[name] = future.result()
                except LessonBroken as exc:
                    broken[name] = str(exc)
                    progress(f"cannot grade {name}: {exc}")
            progress(f"expected values from {len(expected)} solution run(s); grading {len(jobs_to_run)} notebook(s)")

            def grade_task(lesson: Lesson, submission: Submission) -> Graded:
                if lesson.name in broken:
                    return Graded(submission.student_id, lesson.name,
                                  [Row(submission.student_id, lesson.name, "", 0, 0, "error", broken[lesson.name])])
                return grade_one(lesson, expected[lesson.name], submission, batch, limits, frozen)

            pending = [pool.submit(grade_task, lesson, submission) for lesson, submission in jobs_to_run]
            for done, future in enumerate(as_completed(pending), 1):
                result = future.result()
                graded.append(result)
                counts = {s: sum(r.status == s for r in result.rows) for s in STATUSES}
                summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
                progress(f"[{done}/{len(pending)}] {result.student_id} {result.notebook}: "
                         f"{_tidy(result.points)}/{_tidy(result.max_points)} points ({summary}) "
                         f"in {result.seconds:.1f} s")
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    graded.sort(key=lambda g: (g.student_id, g.notebook))
    return graded
