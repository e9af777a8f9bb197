"""Lesson 05's ICNR exercise: the Keras trainer's ``ICNR`` initializer computes its answer, so the grader withholds it.

``ICNR`` is a class, and the grader withholds top-level functions (``answers._Withhold``); its ``__call__``
computes through ``train_keras.icnr_kernel``, which ``ANSWERS["05"]`` lists. A planted submission solves every
exercise of the lesson but asks the trainer for the ICNR kernel: it must earn nothing for that exercise, and the
rest must be graded as usual (lesson 07, graded on its own, keeps the trainer whole).
"""

from __future__ import annotations

import nbformat
import pytest

from helpers import ROOT
from instructor_tools.grading import Limits, grade_folder
from instructor_tools.grading.answers import withheld
from instructor_tools.grading.notebook import load_lesson

LESSON = "05_upsampling_in_keras.ipynb"
TARGET = "icnr_keras"

CALLS_THE_TRAINER = '''
from helpers.gan import train_keras


def icnr_keras(kernel0, r):
    kernel0 = np.asarray(kernel0)
    initializer = train_keras.ICNR(r, base=lambda shape, dtype=None: kernel0)
    return np.asarray(initializer((*kernel0.shape[:3], kernel0.shape[3] * r * r)))
'''


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_grading_lesson_05_withholds_the_trainers_icnr_and_grading_lesson_07_does_not():
    assert "icnr_kernel" in withheld("05").get("helpers.gan.train_keras", set())
    assert "icnr_kernel" not in withheld("07").get("helpers.gan.train_keras", set())


@pytest.mark.slow
def test_calling_the_trainers_icnr_earns_nothing_and_the_rest_is_graded(tmp_path):
    solution = nbformat.read(ROOT / "solutions" / LESSON, as_version=4)
    student = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
    answers = {_grade_id(c): c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")}
    assert TARGET in answers
    for cell in student.cells:
        if _grade_id(cell) in answers:
            cell.source = CALLS_THE_TRAINER if _grade_id(cell) == TARGET else answers[_grade_id(cell)]
    (tmp_path / "cheat").mkdir()
    nbformat.write(student, tmp_path / "cheat" / LESSON)

    (graded,) = grade_folder(tmp_path, limits=Limits(timeout=120), jobs=1)

    lesson = load_lesson(ROOT / "solutions" / LESSON)
    rows = [(r.exercise, r.grade_id, r.status, r.points, r.message) for r in graded.rows]
    assert sum(r.points for r in graded.rows if r.exercise == TARGET) == 0, rows
    assert {r.status for r in graded.rows if r.exercise == TARGET} <= {"failed", "error"}, rows
    for test in lesson.tests:
        if test.exercise != TARGET:
            row = next(r for r in graded.rows if r.grade_id == test.grade_id)
            assert (row.status, row.points) == ("passed", test.points), rows
