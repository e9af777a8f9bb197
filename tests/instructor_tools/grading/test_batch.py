"""grade_folder on the planted batch (conftest.py): what each trick earns, and that the rest was graded.

The timings and the sandbox are checked directly on the runner, with tiny notebooks, in
test_kernel.py and test_sandbox.py.
"""

from __future__ import annotations

import sys

import pytest
from planted_lesson import EXERCISES, FIRST, POINTS, TARGET, THE_LESSON, TIMEOUT

from instructor_tools.grading import Limits, grade_folder
from instructor_tools.grading.batch import lessons_in


def points(g, exercise: str) -> float:
    return sum(r.points for r in g.rows if r.exercise == exercise)


def statuses(g, exercise: str) -> set[str]:
    return {r.status for r in g.rows if r.exercise == exercise}


def assert_only_target_lost(g, target: str, status: set[str]):
    """The target exercise earns nothing (with one of ``status``); every other exercise gets full points."""
    assert points(g, target) == 0
    assert statuses(g, target) <= status, [(r.grade_id, r.status, r.message) for r in g.rows]
    for ex in EXERCISES:
        if ex != target:
            assert points(g, ex) == POINTS[ex], [(r.grade_id, r.status, r.message) for r in g.rows]
            assert statuses(g, ex) == {"passed"}


@pytest.mark.slow
def test_full_solution_gets_full_marks(planted):
    g = planted["by"]["full"]
    assert g.points == THE_LESSON.max_points > 0
    assert {r.status for r in g.rows} == {"passed"}
    assert [r.grade_id for r in g.rows] == [t.grade_id for t in THE_LESSON.tests]


@pytest.mark.slow
def test_untouched_student_notebook_gets_zero_and_not_attempted(planted):
    g = planted["by"]["untouched"]
    assert g.points == 0 and g.max_points == THE_LESSON.max_points
    assert {r.status for r in g.rows} == {"not_attempted"}
    assert all("is not solved yet" in r.message for r in g.rows)


@pytest.mark.slow
def test_one_exercise_right_gets_exactly_its_points(planted):
    g = planted["by"]["one_right"]
    assert g.points == POINTS[FIRST]
    assert statuses(g, FIRST) == {"passed"}
    assert {r.status for r in g.rows if r.exercise != FIRST} == {"not_attempted"}
    assert any("more than once" in note for note in g.notes)


@pytest.mark.slow
def test_a_wrong_answer_fails_in_the_words_of_the_instant_checks(planted):
    g = planted["by"]["wrong"]
    assert_only_target_lost(g, TARGET, {"failed"})
    message = next(r.message for r in g.rows if r.exercise == TARGET)
    assert "values differ" in message and "expected" in message and "got" in message


@pytest.mark.slow
@pytest.mark.parametrize("student", ["always_equal", "later_cells", "transformer", "checks_patch", "builtins",
                                     "numpy_patch"])
def test_tricks_earn_nothing(planted, student):
    assert_only_target_lost(planted["by"][student], TARGET, {"failed", "error"})


@pytest.mark.slow
@pytest.mark.parametrize("student", ["loop", "loop_ignoring_interrupt"])
def test_infinite_loop_times_out_and_the_rest_is_graded(planted, student):
    g = planted["by"][student]
    assert_only_target_lost(g, FIRST, {"timeout"})
    assert f"{TIMEOUT:g} s" in g.rows[0].message


@pytest.mark.slow
def test_os_exit_is_an_error_and_the_rest_is_graded(planted):
    g = planted["by"]["exit"]
    assert_only_target_lost(g, FIRST, {"error"})
    assert "kernel died" in g.rows[0].message


@pytest.mark.slow
def test_a_200_mb_print_is_capped_and_graded_normally(planted):
    g = planted["by"]["big_print"]
    assert g.points == THE_LESSON.max_points


@pytest.mark.slow
def test_broken_json_is_invalid(planted):
    g = planted["by"]["broken_json"]
    assert {r.status for r in g.rows} == {"invalid"} and len(g.rows) == len(THE_LESSON.tests)
    assert "not valid JSON" in g.rows[0].message


@pytest.mark.slow
def test_a_student_without_the_notebook_and_a_misnamed_file(planted):
    assert {r.status for r in planted["by"]["nothing"].rows} == {"not_attempted"}
    misnamed = [g for g in planted["graded"] if g.notebook.endswith("-copy.ipynb")]
    assert len(misnamed) == 1 and misnamed[0].rows[0].status == "invalid"
    assert "no lesson is named" in misnamed[0].rows[0].message


@pytest.mark.slow
def test_writing_outside_the_temporary_folder_is_not_possible(planted):
    g = planted["by"]["escape"]
    assert g.points == THE_LESSON.max_points  # the attempts failed quietly; the exercise was graded
    for target in planted["targets"]:
        assert not target.exists() or target.read_bytes() == planted["full_before"], target
    assert planted["canary"].read_text() == "still here"


@pytest.mark.slow
def test_every_solution_gets_full_marks(tmp_path):
    """What an instructor runs before a release: each lesson's solution, graded, gets full marks."""
    folder = tmp_path / "release"
    (folder / "solutions").mkdir(parents=True)
    lessons = lessons_in()
    for path in lessons.values():
        (folder / "solutions" / path.name).write_bytes(path.read_bytes())
    graded = grade_folder(folder, limits=Limits(timeout=600), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    assert {g.notebook for g in graded} == set(lessons)
    for g in graded:
        assert g.points == g.max_points, [(r.grade_id, r.status, r.message) for r in g.rows]
        assert {r.status for r in g.rows} <= {"passed"}
