"""grade_folder on the planted batch (conftest.py): what each trick earns, and that the rest was graded.

The timings and the sandbox are checked directly on the runner, with tiny notebooks, in
test_kernel.py and test_sandbox.py.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from planted_lesson import (
    EXERCISES,
    FIRST,
    POINTS,
    TARGET,
    THE_LESSON,
    TIMEOUT,
    TINY,
    TINY_MEMORY_MB,
    oracle_attack,
    tiny_course,
    tiny_solution,
    tiny_submission,
)

from helpers import ROOT
from instructor_tools.grading import Limits, batch, grade_folder
from instructor_tools.grading.batch import NO_KERNEL, lessons_in
from instructor_tools.grading.compare import NOT_ATTEMPTED


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
    assert all(r.message == NOT_ATTEMPTED for r in g.rows)


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


def test_a_known_mistake_is_named_by_the_grader_as_by_the_instant_check(planted):
    """The solution's run reports the check's known mistakes; the student's kernel never holds them."""
    g = planted["by"]["tiled"]
    assert_only_target_lost(g, FIRST, {"failed"})
    message = next(r.message for r in g.rows if r.exercise == FIRST)
    assert "values differ" in message and message.endswith(
        "Your result is exactly the one computed with np.tile, which repeats the whole image, instead of np.repeat, "
        "which repeats each pixel."), message
    assert "exactly the one computed" not in next(r.message for r in planted["by"]["wrong"].rows
                                                  if r.exercise == TARGET)


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


def grade_tiny(tmp_path, table_mb: int, submissions: dict) -> dict:
    """Grade ``submissions`` (student -> notebook) of the tiny lesson under a memory limit of TINY_MEMORY_MB."""
    course = tiny_course(tmp_path, table_mb)
    for student, nb in submissions.items():
        (tmp_path / "submissions" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "submissions" / student / TINY)
    graded = grade_folder(tmp_path / "submissions", limits=Limits(timeout=30, memory_mb=TINY_MEMORY_MB), jobs=2,
                          course=course, progress=lambda line: print(line, file=sys.stderr))
    return {g.student_id: g.rows[0] for g in graded}


def fake_kernel(calls: list[str]):
    """A stand-in for ``run_cells`` that starts no kernel: every cell completes, the test reports 42 (right)."""
    answer = json.dumps({"name": "answer", "value": {"kind": "plain", "value": 42}})

    def run_cells(batch_dir, name, cells, *args, **kwargs):
        calls.append(name)
        return [{"status": "ok", "probes": [answer] if "check_value" in code else []} for code in cells]
    return run_cells


def grade_without_kernels(tmp_path, monkeypatch, files: dict[bytes, object]) -> tuple[list, list[str]]:
    """Grade the tiny lesson's ``files`` (path under the submissions folder, as bytes -> notebook or bytes)
    with :func:`fake_kernel`: what the grader makes of the folder, and which runs it started."""
    calls: list[str] = []
    monkeypatch.setattr(batch, "run_cells", fake_kernel(calls))
    course = tiny_course(tmp_path)
    folder = tmp_path / "submissions"
    for rel, content in files.items():
        path = os.path.join(os.fsencode(folder), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            open(path, "wb").write(content)
        else:
            nbformat.write(content, os.fsdecode(path))
    graded = grade_folder(folder, jobs=2, course=course, progress=lambda line: print(line, file=sys.stderr))
    return graded, calls


def test_the_solution_runs_once_per_lesson_however_many_submit_it(tmp_path, monkeypatch):
    graded, calls = grade_without_kernels(tmp_path, monkeypatch, {
        f"s{i}/{TINY}".encode(): tiny_submission(SOLVED) for i in range(6)})
    assert sorted(calls) == ["solution"] + ["student"] * 6
    assert [g.points for g in graded] == [1] * 6


def test_a_near_miss_is_an_invalid_row_that_says_what_to_do_never_silence(tmp_path, monkeypatch):
    stem = TINY[:-len(".ipynb")]
    right = tiny_submission(SOLVED)
    graded, calls = grade_without_kernels(tmp_path, monkeypatch, {
        f"ada/{stem}.IPYNB".encode(): right,
        f"bob/{TINY}.txt".encode(): right,
        f"cy/my work/{TINY}".encode(): right,
        f"dee/{stem}.zip".encode(): b"PK",
        f"eve/{stem.upper()}.ipynb".encode(): right,
        f"fay/{stem}.py".encode(): b"def answer(): return 42",
        f"gus/{TINY}".encode(): right,  # graded; beside it, nothing that looks like a submission
        b"gus/notes.txt": b"my notes",
        f"gus/.ipynb_checkpoints/{stem}-checkpoint.ipynb".encode(): right,
        b"hal.zip": b"PK",  # beside the students' folders, not in one
    })
    rows = {(g.student_id, g.notebook): g.rows for g in graded}
    found = {
        ("ada", f"{stem}.IPYNB"): f"found '{stem}.IPYNB': rename it to {TINY}",
        ("bob", f"{TINY}.txt"): f"found '{TINY}.txt': rename it to {TINY}",
        ("cy", f"my work/{TINY}"): f"found 'my work/{TINY}' in a subfolder: move it into the student's folder",
        ("dee", f"{stem}.zip"): f"found '{stem}.zip', an archive: unpack it into the student's folder",
        ("eve", f"{stem.upper()}.ipynb"): f"no lesson is named '{stem.upper()}.ipynb': rename it to {TINY}",
        ("fay", f"{stem}.py"): f"found '{stem}.py', which is not a notebook",
        ("hal.zip", ""): "found 'hal.zip' in the submissions folder itself, not in a student's folder",
    }
    for key, words in found.items():
        assert [r.status for r in rows[key]] == ["invalid"] and words in rows[key][0].message, (key, rows.get(key))
        if key[1]:  # the lesson's own rows say it was found
            lesson_row = rows[key[0], TINY][0]
            assert lesson_row.status == "not_attempted" and "a near miss was found" in lesson_row.message
            assert words in lesson_row.message
    assert set(rows) == set(found) | {(s, TINY) for s in "ada bob cy dee eve fay gus".split()}
    assert [r.status for r in rows["gus", TINY]] == ["passed"] and calls.count("student") == 1


def test_a_row_no_kernel_produced_has_no_isolation(tmp_path, monkeypatch):
    graded, _ = grade_without_kernels(tmp_path, monkeypatch, {
        f"ada/{TINY}".encode(): tiny_submission(SOLVED), f"bob/{TINY}".encode(): b"not json",
        b"cy/x.ipynb": b"{}", b"dee/notes.txt": b""})
    isolation = {g.student_id: g.isolation for g in graded}
    assert isolation == {"ada": Limits().isolation.bounds, "bob": NO_KERNEL, "cy": NO_KERNEL, "dee": NO_KERNEL}
    assert {g.student_id: g.rows[0].status for g in graded if g.notebook == TINY} == {
        "ada": "passed", "bob": "invalid", "cy": "not_attempted", "dee": "not_attempted"}


def test_a_name_that_is_not_utf8_is_graded_under_an_escaped_name(tmp_path, monkeypatch):
    graded, _ = grade_without_kernels(tmp_path, monkeypatch, {
        b"caf\xe9/" + TINY.encode(): tiny_submission(SOLVED), b"zed/\xff.ipynb": b"{}"})
    assert {(g.student_id, g.notebook, g.rows[0].status) for g in graded} == {
        ("caf\\xe9", TINY, "passed"), ("zed", "\\xff.ipynb", "invalid"), ("zed", TINY, "not_attempted")}


MEMORY = f"the kernel ran out of its {TINY_MEMORY_MB} MB of memory"
SOLVED = "def answer():\n    return 42\n"


@pytest.mark.slow
def test_a_solution_that_runs_out_of_memory_is_reported_as_memory_not_as_the_name_error_after_it(tmp_path):
    """The kernel is stopped in the cell that makes a 600 MB table, and restarted without it: the test's
    NameError ('table' is not defined) is not what the instructor reads."""
    row = grade_tiny(tmp_path, 600, {"ada": tiny_solution()})["ada"]
    assert row.status == "error" and "the solution's test 'test_answer' does not pass" in row.message, row
    assert MEMORY in row.message and "`table = bytearray(600 << 20)" in row.message, row.message
    assert "NameError" not in row.message


@pytest.mark.slow
def test_a_submission_that_runs_out_of_memory_is_told_so(tmp_path):
    """The exercise's own allocation (when called, or in its cell), or the lesson's after the student's memory:
    each verdict names the memory limit, never the NameError that follows the kernel's restart."""
    rows = grade_tiny(tmp_path, 200, {
        "full": tiny_solution(),
        "when_called": tiny_submission("import time\n\n\ndef answer():\n    kept = bytearray(600 << 20)\n"
                                       "    time.sleep(5)\n    return 42\n"),
        "in_its_cell": tiny_submission("import time\nkept = bytearray(600 << 20)\ntime.sleep(5)\n" + SOLVED),
        "before_the_table": tiny_submission("kept = bytearray(200 << 20)\n" + SOLVED),
    })
    assert rows["full"].status == "passed", rows["full"]
    for student in ("when_called", "in_its_cell", "before_the_table"):
        assert rows[student].status == "error" and rows[student].points == 0, rows[student]
        assert MEMORY in rows[student].message and "NameError" not in rows[student].message, rows[student]
    assert rows["in_its_cell"].message.startswith("in the exercise cell: " + MEMORY)
    assert "was to define 'table'" in rows["before_the_table"].message  # the lesson's cell, after the student's


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
@pytest.mark.parametrize("student", ["oracle_patch", "oracle_transformer", "oracle_both", "calls_answer",
                                     "reads_solution"])
def test_the_answer_is_nowhere_in_the_kernel(planted, student):
    """The expected values never reach the kernel, the course's own answer is withheld, the solutions are not there."""
    assert_only_target_lost(planted["by"][student], TARGET, {"failed", "error"})


@pytest.mark.slow
@pytest.mark.parametrize("student", ["ragged", "huge_int", "a_string", "hostile_probes"])
def test_no_value_crashes_the_grader_it_is_a_failed_test(planted, student):
    g = planted["by"][student]
    assert_only_target_lost(g, TARGET, {"failed"})
    assert all(r.message for r in g.rows if r.exercise == TARGET)


@pytest.mark.slow
def test_a_detached_process_dies_with_its_job_and_costs_no_one_anything(planted):
    assert planted["by"]["survivor"].points == THE_LESSON.max_points
    assert planted["survivors"] == []  # nothing of it is left once the batch is graded
    honest = ("full", "escape", "big_print")  # graded before, beside or after it, by two workers
    assert all(planted["by"][s].points == THE_LESSON.max_points for s in honest)


@pytest.mark.slow
@pytest.mark.parametrize(("entry", "words"), [("linked_notebook", "not a plain file"),
                                              ("linked_folder", "symbolic link"), (".hidden", "hidden folder")])
def test_links_and_hidden_folders_are_invalid_rows_never_followed(planted, entry, words):
    rows = [r for g in planted["graded"] if g.student_id == entry for r in g.rows]
    assert [r.message for r in rows if r.status == "invalid"] and all(words in r.message for r in rows
                                                                       if r.status == "invalid")
    assert {r.status for r in rows} <= {"invalid", "not_attempted"} and sum(r.points for r in rows) == 0


@pytest.mark.slow
def test_a_forged_message_is_text_in_the_gradebook_and_the_feedback(planted, tmp_path):
    from instructor_tools.grading.report import feedback_text, write_gradebook

    g = planted["by"]["forges"]
    assert_only_target_lost(g, FIRST, {"error"})
    write_gradebook([g], tmp_path / "grades.csv")
    rows = list(csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert all(not r["message"].startswith(("=", "+", "-", "@")) for r in rows)
    assert any("HYPERLINK" in r["message"] for r in rows)
    lines = feedback_text(g).splitlines()
    headings = [line for line in lines if line.startswith("#")]
    assert len(headings) == 1 + len(EXERCISES) and all(h.startswith("## Exercise") for h in headings[1:])
    assert [line for line in lines if line.startswith("**")] == [f"**{g.points:g} / {g.max_points:g} points**"]
    assert not any(line.startswith(("<", "[", "=")) for line in lines)


@pytest.mark.slow
def test_every_row_says_which_isolation_graded_it(planted):
    ran = [g for g in planted["graded"] if g.seconds]
    assert ran and all(g.isolation.startswith("bubblewrap: pid+net+mount namespaces") for g in ran)
    no_kernel = [g for g in planted["graded"] if not g.seconds]  # invalid, not attempted: nothing was confined
    assert len(no_kernel) >= 6 and all(g.isolation == NO_KERNEL for g in no_kernel)


def attacked(lesson: Path) -> nbformat.NotebookNode:
    """The student notebook of ``lesson`` with every exercise replaced by the oracle attack (nothing implemented)."""
    solution = nbformat.read(lesson, as_version=4)
    student = nbformat.read(ROOT / "notebooks" / lesson.name, as_version=4)
    code = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in solution.cells
            if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in student.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in code:
            cell.source = oracle_attack(code[grade_id])
    return student


@pytest.mark.slow
def test_every_solution_gets_full_marks_and_nothing_else_does(tmp_path):
    """What an instructor runs before a release: each lesson's solution, graded, gets full marks.

    Beside it, in every lesson: the student notebook untouched (zero, not attempted) and the oracle attack
    (the checks patched and the test cells rewritten to report the expected values; nothing implemented): zero.
    """
    folder = tmp_path / "release"
    lessons = lessons_in()
    for student in ("solutions", "untouched", "attacker"):
        (folder / student).mkdir(parents=True)
    for path in lessons.values():
        (folder / "solutions" / path.name).write_bytes(path.read_bytes())
        (folder / "untouched" / path.name).write_bytes((ROOT / "notebooks" / path.name).read_bytes())
        nbformat.write(attacked(path), folder / "attacker" / path.name)
    graded = grade_folder(folder, limits=Limits(timeout=600), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    by = {(g.student_id, g.notebook): g for g in graded}
    assert set(by) == {(s, n) for s in ("solutions", "untouched", "attacker") for n in lessons}
    for name in lessons:
        full, untouched, attacker = by["solutions", name], by["untouched", name], by["attacker", name]
        assert full.points == full.max_points > 0, [(r.grade_id, r.status, r.message) for r in full.rows]
        assert {r.status for r in full.rows} == {"passed"}
        assert untouched.points == 0 and {r.status for r in untouched.rows} == {"not_attempted"}, name
        assert attacker.points == 0, [(r.grade_id, r.status, r.message) for r in attacker.rows]


def test_a_solution_whose_check_received_its_expected_value_is_refused():
    """helpers.checks flags an expected value that reached the kernel: the slicer missed it, so nothing is graded."""
    from instructor_tools.grading.notebook import Lesson, Test

    lesson = Lesson("99_x.ipynb", ["checks.check_value(f(), 9)"], {}, {}, [Test(0, "test_f", 1.0, None)])
    probe = json.dumps({"name": "f", "value": {"kind": "plain", "value": 9}, "options": {"expected_in_kernel": True}})
    with pytest.raises(batch.LessonBroken, match="reached the kernel"):
        batch.expected_probes(lesson, [{"status": "ok", "probes": [probe]}])
    clean = probe.replace(', "options": {"expected_in_kernel": true}', "")
    assert batch.expected_probes(lesson, [{"status": "ok", "probes": [clean]}])["test_f"][0].value == 9
