"""Grade a folder of submissions: ``SUBMISSIONS/<student_id>/<lesson file name>.ipynb``.

For each lesson the solution runs once (in the same sandbox, with ``COURSE_PROBE=1``) and
its probes are the expected values; then every submission runs in a fresh kernel and each
graded test gets its verdict in this process (:mod:`compare`). Nothing a submission does stops the
batch: each failure mode ends as a status in the submission's rows.

Every name a filesystem can hold is a row: names that are not UTF-8 are shown with their odd bytes
escaped (:func:`readable`). Nothing in a student's folder is skipped in silence when it looks like
a submission that missed: a lesson's file with another case or extension (``02_x.IPYNB``,
``02_x.ipynb.txt``), a notebook in a subfolder, an archive; each is an ``invalid`` row saying what
to do, and the lesson's ``not_attempted`` rows say that it was found.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ROOT

from .. import lesson as lesson_format
from .compare import (
    BadProbe,
    Probe,
    Unencodable,
    decide,
    explained,
    failure_message,
    first_line,
    mark_quotable,
    parse_probe,
)
from .notebook import InvalidSubmission, Lesson, Submission, assemble, load_lesson, read_submission
from .runner import Limits, Workers, lesson_course, run_cells, snapshot

STATUSES = ("passed", "failed", "error", "timeout", "not_attempted", "invalid")
NO_KERNEL = "no kernel ran"  # the isolation column of a result that no kernel produced
ARCHIVES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar")
MAX_DEPTH = 4  # how deep a student's subfolders are searched for a notebook put there
MAX_ENTRIES = 10_000  # entries of one student's folder looked at, all subfolders together
LESSON_NUMBER = re.compile(r"(\d\d)(?!\d)")


def readable(name: str) -> str:
    """A file name as text that any file, CSV or terminal can hold: bytes that are not UTF-8 as ``\\xNN``.

    Python keeps such bytes in a name as lone surrogates (``surrogateescape``), which UTF-8 cannot
    encode; a backslash is doubled, so that two different names never read the same.
    """
    name = name.replace("\\", "\\\\")
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte became: not from a file name, escaped all the same
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


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
    isolation: str = NO_KERNEL  # how the kernel was confined (the sandbox's own description), for the gradebook
    sha256: str = ""  # of the lesson's notebook as read, for a shard's manifest ("" where none was read)

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
    return {p.name: p for p in lesson_format.lessons(course)}


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
            if p.options.get("expected_in_kernel"):  # helpers.checks says so: the slicer missed this check
                raise LessonBroken(f"{lesson.name}: test {test.grade_id!r}: the expected value of check {p.name!r} "
                                   "reached the kernel, where a submission could read it; write the check as "
                                   "CONTRIBUTING.md says (rule 6) and build again")
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
    # What the kernel says (an error's message, a string it returned) is shown only for the cells that
    # ran before any graded test cell: the later ones could have read the hidden tests' source.
    results = mark_quotable(results, min(tests, default=len(cells)))
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
    ran = any(isinstance(r, dict) and r.get("status") != "not_run" for r in results)
    return Graded(submission.student_id, lesson.name, rows, submission.notes, time.monotonic() - start,
                  limits.isolation.bounds if ran else NO_KERNEL)


@dataclass
class Survey:
    """What a folder of submissions holds, read before any kernel runs (nothing a kernel does can change it)."""

    lessons: list[str]  # the lessons graded, resolved (file names)
    graded: list[Graded]  # the results that need no kernel: invalid, not attempted, a broken lesson's
    queue: list[tuple[Lesson, Submission]]  # the notebooks to run
    broken: dict[str, str]  # lesson -> why its solution is malformed
    digests: dict[tuple[str, str], str]  # (student_id, notebook) -> sha256 of the lesson's notebook as read

    def keys(self) -> set[tuple[str, str]]:
        """Every ``(student_id, notebook)`` a grading of the whole folder gives a result for."""
        return {(g.student_id, g.notebook) for g in self.graded} | {(s.student_id, lesson.name)
                                                                     for lesson, s in self.queue}

    def only(self, select: Callable[[str, str], bool]) -> Survey:
        """The share of this survey whose ``(student_id, notebook)`` ``select`` keeps (a shard's)."""
        return Survey(self.lessons, [g for g in self.graded if select(g.student_id, g.notebook)],
                      [(lesson, s) for lesson, s in self.queue if select(s.student_id, lesson.name)],
                      self.broken, self.digests)


def survey(submissions: Path, lessons: list[str] | None = None, course: Path = ROOT) -> Survey:
    """Read ``submissions`` as :func:`grade_folder` does, running nothing: what would be graded, and how.

    A student folder that cannot be listed raises :class:`OSError` (the input is unreadable: no
    row could say what it held); a file that cannot be read is an ``invalid`` row.
    """
    available = lessons_in(course)
    students, graded = _students(Path(submissions), available)
    found, near, misnamed = _find_notebooks(Path(submissions), students, available)
    graded += misnamed
    wanted = (_wanted_lessons(lessons, available) if lessons
              else sorted({name for _, name in found} | {name for _, name in near}))
    loaded, broken = _load_lessons(wanted, available)
    queue, digests = [], {}
    for student in students:
        for name in wanted:
            path = found.get((student, name))
            outcome = _read(student, name, path, loaded.get(name), broken.get(name, ""),
                            near.get((student, name), []))
            if path is not None:
                digests[readable(student), name] = _digest(path)
            if isinstance(outcome, Graded):
                graded.append(outcome)
            else:
                queue.append((loaded[name], outcome))
    return Survey(wanted, graded, queue, broken, digests)


def _digest(path: Path) -> str:
    """The sha256 of a file (never through a link); "" if it cannot be read (its row says why)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def grade_folder(
    submissions: Path,
    *,
    lessons: list[str] | None = None,
    limits: Limits | None = None,
    jobs: int = 2,
    progress: Callable[[str], None] = lambda line: None,
    course: Path = ROOT,
    select: Callable[[str, str], bool] | None = None,
) -> list[Graded]:
    """Grade every ``submissions/<student>/<lesson>.ipynb``; one :class:`Graded` per student and lesson.

    ``lessons``: lesson numbers or file names to grade (default: every lesson submitted).
    A student who has no notebook for a graded lesson gets ``not_attempted`` rows; a file
    whose name is no lesson, or a near miss of one (another case or extension, in a subfolder,
    an archive), gets one ``invalid`` row (it is reported, not guessed at).
    ``select(student_id, notebook)``: grade only the results it keeps (a shard's share); the folder is
    still read whole first, so that the lessons graded and each result are those of the whole batch.
    """
    found = survey(submissions, lessons, course)
    if select is not None:
        found = found.only(select)
    graded = list(found.graded)
    for g in graded:
        progress(f"{g.student_id} {g.notebook}: {g.rows[0].status}: {g.rows[0].message}")
    graded += _run_queue(found.queue, dict(found.broken), limits or Limits(), jobs, progress, course)
    for g in graded:
        g.sha256 = found.digests.get((g.student_id, g.notebook), "")
    graded.sort(key=lambda g: (g.student_id, g.notebook))
    return graded


def _students(submissions: Path, available: dict[str, Path]) -> tuple[list[str], list[Graded]]:
    """The student folders, and an ``invalid`` result for each entry that is a link or hidden (never followed),
    or a file that looks like a submission put beside the students' folders instead of in one."""
    students, refused = [], []
    for entry in sorted(submissions.iterdir()):
        name = readable(entry.name)
        if entry.is_symlink():
            refused.append(_file_row(name, "", "invalid", "a symbolic link, not a folder: not followed "
                                     "(copy the student's folder itself into the submissions folder)"))
        elif entry.name.startswith(".") and entry.is_dir():
            refused.append(_file_row(name, "", "invalid", "a hidden folder (its name starts with '.'): "
                                     "rename it to the student's id and grade again"))
        elif entry.is_dir():
            students.append(entry.name)
        elif not entry.name.startswith(".") and _near_lesson(entry.name, available)[1]:
            refused.append(_file_row(name, "", "invalid", f"found {name!r} in the submissions folder itself, "
                                     "not in a student's folder: put it in a folder named after the student"))
    return students, refused


def _find_notebooks(submissions: Path, students: list[str], available: dict[str, Path]) -> tuple[
        dict[tuple[str, str], Path], dict[tuple[str, str], list[str]], list[Graded]]:
    """Each student's notebooks by lesson; the near misses by lesson (what was found, what to do); and an
    ``invalid`` result for each file that is not a lesson's notebook but looks like a submission."""
    found: dict[tuple[str, str], Path] = {}
    near: dict[tuple[str, str], list[str]] = {}
    invalid: list[Graded] = []
    for student in students:
        for rel, path in _entries(submissions / student):
            if rel in available and path.is_file() and not path.is_symlink():  # in the folder itself, by name
                found[student, path.name] = path
                continue
            lesson, advice = _near_miss(rel, path, available)
            if advice is None:
                continue  # a file that is no submission (notes, images): nothing to say about it
            invalid.append(_file_row(readable(student), readable(rel), "invalid", advice))
            if lesson is not None:
                near.setdefault((student, lesson), []).append(advice)
    return found, near, invalid


def _entries(folder: Path) -> list[tuple[str, Path]]:
    """What a student's folder holds, subfolders included (never through a link, hidden entries left out:
    ``.ipynb_checkpoints``, ``.DS_Store``, ``._x`` are tools' files): ``(path relative to it, path)``."""
    out: list[tuple[str, Path]] = []
    todo = [(folder, "", 0)]
    while todo and len(out) < MAX_ENTRIES:
        here, prefix, depth = todo.pop(0)
        try:
            entries = sorted(here.iterdir())
        except OSError:
            if here == folder:  # the student's folder itself: no row could say what it held
                raise
            continue
        for path in entries[:MAX_ENTRIES]:
            if path.name.startswith("."):
                continue
            rel = prefix + path.name
            subfolder = path.is_dir() and not path.is_symlink() and not path.name.lower().endswith(".ipynb")
            if subfolder and depth < MAX_DEPTH:
                todo.append((path, rel + "/", depth + 1))
            else:
                out.append((rel, path))
    return out


def _near_lesson(name: str, available: dict[str, Path]) -> tuple[str | None, bool]:
    """The lesson a file name comes close to (its name in another case or with more after it, or its number),
    and whether the name looks like a submission at all (a notebook, an archive, a lesson's name)."""
    lower = name.lower()
    for lesson in available:
        if lower.startswith(lesson.lower()) or lower.startswith(lesson[:-len(".ipynb")].lower() + "."):
            return lesson, True
    number = LESSON_NUMBER.match(name)
    lesson = next((lesson for lesson in available if number and lesson.startswith(number[1] + "_")), None)
    looks = ".ipynb" in lower or lower.endswith(ARCHIVES) or lesson is not None
    return lesson, looks


def _near_miss(rel: str, path: Path, available: dict[str, Path]) -> tuple[str | None, str | None]:
    """The lesson a file that is not a lesson's notebook was probably meant for, and what to tell the student
    (``None``: it does not look like a submission)."""
    name, shown = path.name, repr(readable(rel))
    lesson, looks = _near_lesson(name, available)
    if not looks:
        return None, None
    target = lesson or f"one of {', '.join(available)}"
    if path.is_symlink() or (path.is_dir() and name.lower().endswith(".ipynb")):
        return lesson, (f"found {shown}, not a plain file (a symbolic link or a folder): not followed; "
                        "submit the notebook itself")
    nested = "/" in rel
    if nested and (name in available or name.lower().endswith(".ipynb")):
        return lesson, f"found {shown} in a subfolder: move it into the student's folder itself, named {target}"
    if name.lower().endswith(ARCHIVES):
        return lesson, f"found {shown}, an archive: unpack it into the student's folder and grade again"
    if name.endswith(".ipynb"):
        return lesson, f"no lesson is named {readable(name)!r}: rename it to {target} and grade again"
    if ".ipynb" in name.lower():  # another case (.IPYNB), or more after it (.ipynb.txt, .ipynb (1))
        where = "move it into the student's folder itself and " if nested else ""
        return lesson, f"found {shown}: {where}rename it to {target} and grade again"
    return lesson, (f"found {shown}, which is not a notebook: download the notebook itself (File > Download, "
                    f".ipynb) and submit it as {target}")


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
        except lesson_format.BuildError as exc:
            broken[name] = f"the lesson's solution is malformed: {exc}"
    return loaded, broken


def _read(folder: str, name: str, path: Path | None, lesson: Lesson | None, broken: str,
          near: list[str]) -> Submission | Graded:
    """The submission to run, or the result it gets without a kernel (broken lesson, no notebook, unreadable).

    ``folder``: the student's folder name; ``near``: what was found instead of a missing notebook.
    """
    student = readable(folder)
    if lesson is None:  # its solution is malformed: ``broken`` says how
        return _file_row(student, name, "error", broken)
    if path is None:
        why = "no notebook submitted"
        if near:
            why = f"no notebook named {name} submitted, but a near miss was found: {'; '.join(near)}"
        return Graded(student, name, _rows(student, lesson, "not_attempted", why))
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

    lessons = {lesson.name: lesson for lesson, _ in queue}  # one solution run per lesson, however many submit it
    futures = {name: pool.submit(solution_run, lesson) for name, lesson in lessons.items()}
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
