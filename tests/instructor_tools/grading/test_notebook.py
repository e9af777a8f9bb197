"""What runs: the solution with the submission's exercise cells, read from files that may be anything."""

from __future__ import annotations

import copy

import nbformat
import pytest
from planted_lesson import (
    EXERCISES,
    FIRST,
    LESSON,
    SOLUTION,
    TARGET,
    THE_LESSON,
    grade_id,
    later_cells,
    solution_code,
    wrong,
)

from instructor_tools.grading.notebook import InvalidSubmission, assemble, read_submission


def test_lesson_has_several_exercises():
    assert len(EXERCISES) >= 3 and len(THE_LESSON.tests) >= 3


def test_only_exercise_cells_come_from_the_submission(tmp_path):
    nb = later_cells()
    path = tmp_path / LESSON
    nbformat.write(nb, path)
    submission = read_submission(path, THE_LESSON, "s")
    cells = assemble(THE_LESSON, submission.code)
    assert len(cells) == len(THE_LESSON.code) == len([c for c in SOLUTION.cells if c.cell_type == "code"])
    for index, (ran, original) in enumerate(zip(cells, THE_LESSON.code)):
        if index not in THE_LESSON.exercises.values():
            assert ran == original  # tests, setup and prose cells are the solution's
    assert cells[THE_LESSON.exercises[TARGET]] == wrong(TARGET)
    assert "the tests were here" not in "".join(cells) and "all good" not in "".join(cells)
    assert any("check_function" in cells[t.index] for t in THE_LESSON.tests if t.exercise == TARGET)


@pytest.mark.parametrize("text, words", [
    ('{"cells": [', "not valid JSON"),
    ('[1, 2]', "no nbformat 4"),
    ('{"nbformat": 3, "cells": []}', "no nbformat 4"),
    ("\udcff", "not valid JSON"),
])
def test_unreadable_submissions_are_invalid(tmp_path, text, words):
    path = tmp_path / LESSON
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(InvalidSubmission, match=words):
        read_submission(path, THE_LESSON, "s")


def test_a_deleted_exercise_cell_is_graded_as_unsolved(tmp_path):
    nb = copy.deepcopy(SOLUTION)
    nb.cells = [c for c in nb.cells if grade_id(c) != FIRST]
    nbformat.write(nb, tmp_path / LESSON)
    submission = read_submission(tmp_path / LESSON, THE_LESSON, "s")
    assert submission.code[FIRST] == THE_LESSON.stubs[FIRST]
    assert submission.code[TARGET] == solution_code(TARGET)
    assert any("missing" in note for note in submission.notes)
