"""Grade a folder of submissions: ``SUBMISSIONS/<student_id>/<lesson file name>.ipynb``.

For each lesson the solution runs once (in the same sandbox, with ``COURSE_PROBE=1``) and
its probes are the expected values; then every submission runs in a fresh kernel and each
graded test gets its verdict in this process (:mod:`compare`). Nothing a submission does stops the
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
from .compare import BadProbe, Probe, Unencodable, decide, explained, failure_message, first_line, parse_probe
from .notebook import InvalidSubmission, Lesson, Submission, assemble, load_lesson, read_submission
from .runner import Limits, Workers, lesson_course, run_cells, snapshot

STATUSES = ("passed", "failed", "error", "timeout", "not_attempted", "invalid")


@dataclass
class Row:
    """One gradebook row: a student's result for one graded test (or for the whole file)."""

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
    isolation: str = ""  # how the kernel was confined (the sandbox's own description), for the gradebook

    @property
    def points(self) -> float:
        """The points earned in this lesson."""
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        """The points this lesson's graded tests are worth."""
        return sum(r.max_points for r in self.rows)


class LessonBroken(RuntimeError):
    """The solution itself does not run cleanly: nothing can be graded against it."""


def lessons_in(course: Path = ROOT) -> dict[str, Path]:
    """The course's lessons, by file name: ``solutions/NN_name.ipynb``."""
    return {p.name: p for p in sorted((course / build.SOLUTIONS).glob("*.ipynb")) if build.LESSON_PATTERN.match(p.name)}


def expected_probes(lesson: Lesson, results: list[dict], timeout: float = Limits.timeout) -> dict[str, list[Probe]]:
    """The solution run's probes per graded test; :class:`LessonBroken` if it did not pass cleanly.

    A test that does not pass is reported with the first cell that did not complete before
    it (the cause: an import that ran out of memory, a training cell that timed out), not
    with the ``NameError`` that followed from it.
    """
    expected = {}
    for test in lesson.tests:
        cell = results[test.index]
        if cell.get("status") != "ok":
            first = next(i for i in range(test.index + 1) if results[i].get("status") != "ok")
            why = failure_message(results[first], timeout)
            where = "" if first == test.index else f"code cell {first + 1}, `{first_line(lesson.code[first])}`: "
            raise LessonBroken(f"{lesson.name}: the solution's test {test.grade_id!r} does not pass ({where}{why})")
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


def _file_row(student: str, notebook: str, status: str, message: str) -> Graded:
    """A result about the file or the lesson as a whole (no graded test): one row, no points."""
    return Graded(student, notebook, [Row(student, notebook, "", 0, 0, status, message)])


def grade_one(lesson: Lesson, expected: dict[str, list[Probe]], submission: Submission, batch_dir: Path,
              limits: Limits, course: Path = ROOT, workers: Workers | None = None) -> Graded:
    """Run one submission in a fresh kernel under ``batch_dir`` and give each graded test its verdict."""
    start = time.monotonic()
    cells = assemble(lesson, submission.code)
    results = run_cells(batch_dir, "student", cells, limits, course, workers)
    tests = {t.index for t in lesson.tests}  # never quoted to a student: they hold the hidden tests
    rows = []
    for test in lesson.tests:
        # A cell that failed for an earlier one's sake (a NameError after a restart) is reported as that one.
        exercise = lesson.exercises[test.exercise] if test.exercise else None
        exercise_cell = explained(results, cells, exercise, tests) if exercise is not None else None
        verdict = decide(expected[test.grade_id], explained(results, cells, test.index, tests), exercise_cell,
                         limits.timeout)
        points = test.points if verdict.status == "passed" else 0
        rows.append(Row(submission.student_id, lesson.name, test.grade_id, points, test.points,
                        verdict.status, verdict.message, test.exercise))
    return Graded(submission.student_id, lesson.name, rows, submission.notes, time.monotonic() - start,
                  limits.isolation.bounds)


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
    available = lessons_in(course)
    students, graded = _students(Path(submissions))
    found, misnamed = _find_notebooks(Path(submissions), students, available)
    graded += misnamed
    wanted = _wanted_lessons(lessons, available) if lessons else sorted({name for _, name in found})
    loaded, broken = _load_lessons(wanted, available)
    # Read every submission before any kernel runs: nothing a kernel does can change them.
    queue = []
    for student in students:
        for name in wanted:
            outcome = _read(student, name, found.get((student, name)), loaded.get(name), broken.get(name, ""))
            if isinstance(outcome, Graded):
                graded.append(outcome)
            else:
                queue.append((loaded[name], outcome))
    for g in graded:
        progress(f"{g.student_id} {g.notebook}: {g.rows[0].status}: {g.rows[0].message}")
    graded += _run_queue(queue, broken, limits or Limits(), jobs, progress, course)
    graded.sort(key=lambda g: (g.student_id, g.notebook))
    return graded


def _students(submissions: Path) -> tuple[list[str], list[Graded]]:
    """The student folders, and an ``invalid`` result for each entry that is a link or hidden (never followed)."""
    students, refused = [], []
    for entry in sorted(submissions.iterdir()):
        if entry.is_symlink():
            refused.append(_file_row(entry.name, "", "invalid", "a symbolic link, not a folder: not followed "
                                     "(copy the student's folder itself into the submissions folder)"))
        elif entry.name.startswith(".") and entry.is_dir():
            refused.append(_file_row(entry.name, "", "invalid", "a hidden folder (its name starts with '.'): "
                                     "rename it to the student's id and grade again"))
        elif entry.is_dir():
            students.append(entry.name)
    return students, refused


def _find_notebooks(submissions: Path, students: list[str],
                    available: dict[str, Path]) -> tuple[dict[tuple[str, str], Path], list[Graded]]:
    """Each student's notebooks by lesson, and an ``invalid`` result for each file named after no lesson."""
    found: dict[tuple[str, str], Path] = {}
    misnamed: list[Graded] = []
    for student in students:
        for path in sorted((submissions / student).glob("*.ipynb")):
            if path.is_symlink() or not path.is_file():
                misnamed.append(_file_row(student, path.name, "invalid", "not a plain file (a symbolic link or "
                                          "a folder): not followed; submit the notebook itself"))
            elif path.name in available:
                found[student, path.name] = path
            else:
                misnamed.append(_file_row(student, path.name, "invalid", f"no lesson is named {path.name!r}: "
                                          f"rename it to one of {', '.join(available)} and grade again"))
    return found, misnamed


def _wanted_lessons(lessons: list[str], available: dict[str, Path]) -> list[str]:
    """The lesson files that ``lessons`` (numbers or file names) name; :class:`ValueError` for one that names none."""
    def names(wish: str) -> list[str]:
        return [name for name in available if name == wish or name.startswith(f"{wish}_")]

    unknown = [w for w in lessons if not names(w)]
    if unknown:
        raise ValueError(f"no lesson matches {', '.join(unknown)} (lessons: {', '.join(available)})")
    return sorted({name for w in lessons for name in names(w)})


def _load_lessons(wanted: list[str], available: dict[str, Path]) -> tuple[dict[str, Lesson], dict[str, str]]:
    """The wanted lessons, and why each one that cannot be loaded is broken."""
    loaded: dict[str, Lesson] = {}
    broken: dict[str, str] = {}
    for name in wanted:
        try:
            loaded[name] = load_lesson(available[name])
        except build.BuildError as exc:
            broken[name] = f"the lesson's solution is malformed: {exc}"
    return loaded, broken


def _read(student: str, name: str, path: Path | None, lesson: Lesson | None, broken: str) -> Submission | Graded:
    """The submission to run, or the result it gets without a kernel (broken lesson, no notebook, unreadable)."""
    if lesson is None:  # its solution is malformed: ``broken`` says how
        return _file_row(student, name, "error", broken)
    if path is None:
        return Graded(student, name, _rows(student, lesson, "not_attempted", "no notebook submitted"))
    try:
        return read_submission(path, lesson, student)
    except InvalidSubmission as exc:
        return Graded(student, name, _rows(student, lesson, "invalid", str(exc)))


def _run_queue(queue: list[tuple[Lesson, Submission]], broken: dict[str, str], limits: Limits, jobs: int,
               progress: Callable[[str], None], course: Path) -> list[Graded]:
    """Run each lesson's solution once for the expected values, then every queued submission, ``jobs`` at a time.

    A lesson whose solution run does not pass cleanly joins ``broken``; its submissions get an ``error`` row.
    """
    batch_dir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    os.chmod(batch_dir, 0o711)  # the kernels (maybe another user) must reach their own folders in it
    workers = Workers()
    try:
        frozen = snapshot(batch_dir, course)
        courses = {lesson.name: lesson_course(batch_dir, frozen, lesson.name) for lesson, _ in queue}
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            try:
                return _grade_all(queue, broken, limits, pool, workers, progress, batch_dir, courses)
            except BaseException:
                # Stopped (SIGTERM as SystemExit, Ctrl-C): end every worker and its sandbox now, start no more.
                # The threads then see their workers gone, kill the kernels and remove the job folders.
                workers.stop()
                pool.shutdown(cancel_futures=True)
                raise
    finally:
        shutil.rmtree(batch_dir, ignore_errors=True)


def _grade_all(queue: list[tuple[Lesson, Submission]], broken: dict[str, str], limits: Limits,
               pool: ThreadPoolExecutor, workers: Workers, progress: Callable[[str], None], batch_dir: Path,
               courses: dict[str, Path]) -> list[Graded]:
    """:func:`_run_queue`'s work, on its pool: the solution runs, then the submissions."""
    def solution_run(lesson: Lesson) -> dict[str, list[Probe]]:
        cells = assemble(lesson, None)
        results = run_cells(batch_dir, "solution", cells, limits, courses[lesson.name], workers)
        return expected_probes(lesson, results, limits.timeout)

    futures = {lesson.name: pool.submit(solution_run, lesson) for lesson, _ in queue}
    expected = {}
    for name, future in futures.items():
        try:
            expected[name] = future.result()
        except LessonBroken as exc:
            broken[name] = str(exc)
            progress(f"cannot grade {name}: {exc}")
    progress(f"expected values from {len(expected)} solution run(s); grading {len(queue)} notebook(s)")

    def grade_task(lesson: Lesson, submission: Submission) -> Graded:
        if lesson.name in broken:
            return _file_row(submission.student_id, lesson.name, "error", broken[lesson.name])
        try:
            return grade_one(lesson, expected[lesson.name], submission, batch_dir, limits, courses[lesson.name],
                             workers)
        except Exception as exc:  # noqa: BLE001 - a grader bug costs this notebook, never the gradebook
            return _file_row(submission.student_id, lesson.name, "error",
                             f"the grader failed on this notebook ({type(exc).__name__}: {exc}); "
                             "tell the instructor")

    pending = [pool.submit(grade_task, lesson, submission) for lesson, submission in queue]
    graded = []
    for done, future in enumerate(as_completed(pending), 1):
        graded.append(future.result())
        progress(f"[{done}/{len(pending)}] {_summary(graded[-1])}")
    return graded


def _summary(g: Graded) -> str:
    """A progress line's account of one graded notebook: points, statuses, time."""
    counts = {s: sum(r.status == s for r in g.rows) for s in STATUSES}
    statuses = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{g.student_id} {g.notebook}: {g.points:g}/{g.max_points:g} points ({statuses}) in {g.seconds:.1f} s"
