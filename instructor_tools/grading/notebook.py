"""What gets run: the solution notebook as the template, the student's exercise code in it.

A lesson's graded run is the *solution* notebook, cell for cell, in which only the code of
the exercise cells (nbgrader ``solution`` cells, matched by ``grade_id``) comes from the
submission. Everything else (the setup cell, the prose, the graded test cells with their
hidden tests, reduced to the student's side by :mod:`testcells`) comes from the solution;
whatever else the submission holds (extra cells, edited or deleted tests, a redefinition
in a later cell) is never run.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import lesson as lesson_format
from .testcells import BadTestCell, student_side

MAX_NOTEBOOK_BYTES = 50 << 20


class InvalidSubmission(ValueError):
    """The file is not a notebook the grader can read."""


@dataclass(frozen=True)
class Test:
    """A graded test cell of the solution."""

    index: int  # position among the code cells
    grade_id: str
    points: float
    exercise: str | None  # grade_id of the exercise cell above it


@dataclass
class Lesson:
    """A lesson as the grader sees it: the solution's code cells, its exercises and tests."""

    name: str  # file name, e.g. 02_upsampling_from_scratch.ipynb
    code: list[str]  # the solution's code cells, in order
    exercises: dict[str, int]  # exercise grade_id -> index in ``code``
    stubs: dict[str, str]  # exercise grade_id -> the student version's code (what "untouched" means)
    tests: list[Test] = field(default_factory=list)
    #: code index -> the graded test cell as the solution's run gets it: with its known mistakes (``mistakes=``)
    diagnosing: dict[int, str] = field(default_factory=dict)

    @property
    def max_points(self) -> float:
        """The points the lesson's graded tests are worth."""
        return sum(t.points for t in self.tests)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def load_lesson(path: Path) -> Lesson:
    """Read ``solutions/NN_name.ipynb`` (normalised as the build would) into a :class:`Lesson`."""
    import nbformat

    nb = lesson_format.normalise_solution(nbformat.read(path, as_version=4), path.name)
    student = lesson_format.student_version(nb, path.name)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    student_cells = [c for c in student.cells if c.cell_type == "code"]
    lesson = Lesson(path.name, [c.source for c in code_cells], {}, {})
    exercise = None
    for i, (cell, stub) in enumerate(zip(code_cells, student_cells, strict=True)):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            exercise = meta["grade_id"]
            lesson.exercises[exercise] = i
            lesson.stubs[exercise] = stub.source
        elif meta.get("grade"):
            lesson.tests.append(Test(i, meta["grade_id"], float(meta["points"]), exercise))
            try:  # every graded run gets the test without its expected values (testcells.py says why)
                lesson.code[i] = student_side(cell.source)
                lesson.diagnosing[i] = student_side(cell.source, keep_mistakes=True)
            except BadTestCell as exc:
                raise lesson_format.BuildError(f"{path.name}: test {meta['grade_id']!r}: {exc}") from None
    return lesson


@dataclass
class Submission:
    """What the grader takes from a student's notebook: the exercise cells' code, and what it noticed."""

    student_id: str
    code: dict[str, str]  # exercise grade_id -> the student's code
    notes: list[str]  # what the grader noticed about the file (missing or duplicated cells)


def read_submission(path: Path, lesson: Lesson, student_id: str) -> Submission:
    """The student's exercise code, by ``grade_id``; :class:`InvalidSubmission` if unreadable.

    Deliberately not nbformat: only the few fields the grader uses are read, and a file
    that does not have them is invalid rather than "repaired".
    """
    try:  # never through a link, and only a plain file
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidSubmission(f"cannot open the file ({exc.strerror}): a symbolic link is not followed") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidSubmission("not a plain file")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise InvalidSubmission(f"the file is {info.st_size >> 20} MB, "
                                    f"more than a notebook can be ({MAX_NOTEBOOK_BYTES >> 20} MB)")
        raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    try:
        nb = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSubmission(f"not a notebook: the file is not valid JSON ({exc})") from None
    except RecursionError:
        raise InvalidSubmission("not a notebook: the JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise InvalidSubmission(f"not a notebook: {str(exc)[:200]}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or nb.get("nbformat") != 4:
        raise InvalidSubmission("not a notebook: no nbformat 4 'cells' list")
    code: dict[str, str] = {}
    notes: list[str] = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        grader = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = grader.get("grade_id") if isinstance(grader, dict) else None
        if grade_id not in lesson.exercises:
            continue
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise InvalidSubmission(f"not a notebook: the source of cell {grade_id!r} is not text")
        if grade_id in code:
            if f"dup:{grade_id}" not in notes:
                notes.append(f"dup:{grade_id}")
            continue  # the first copy counts, as in the student's reading order
        code[grade_id] = _source(cell)
    messages = []
    for grade_id in lesson.exercises:
        if grade_id not in code:
            messages.append(f"the exercise cell {grade_id!r} is missing from the notebook; graded as unsolved")
            code[grade_id] = lesson.stubs[grade_id]
    messages += [f"the exercise cell {n[4:]!r} appears more than once; the first one was graded" for n in notes]
    return Submission(student_id, code, messages)


def assemble(lesson: Lesson, code: dict[str, str] | None) -> list[str]:
    """The cells to run: the solution's, with the exercise cells replaced by ``code``.

    ``code=None`` is the solution's own run: its test cells keep their known mistakes (``Lesson.diagnosing``).
    """
    cells = list(lesson.code)
    if code is None:
        for index, source in lesson.diagnosing.items():
            cells[index] = source
    else:
        for grade_id, index in lesson.exercises.items():
            cells[index] = code[grade_id]
    return cells
