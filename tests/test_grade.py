"""The grader (``python -m instructor_tools.grade``) on planted submissions.

The planted submissions are built here from a real lesson with several exercises (the
solution and the student notebook of lesson 02), so they follow the lesson as it changes.
Each trick is planted in one exercise (the *target*) while the other exercises are solved,
so every test checks both that the trick earns nothing and that the rest was graded.

Grading runs real kernels, so the batch is graded once per module (``planted``); the
timings and the sandbox are also checked directly on the runner with tiny notebooks.
"""

from __future__ import annotations

import ast
import copy
import csv
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers import ROOT, checks
from instructor_tools.grading import Limits, grade_folder, sandbox_available
from instructor_tools.grading.batch import lessons_in
from instructor_tools.grading.compare import BadProbe, Probe, compare_probes, decode, parse_probe
from instructor_tools.grading.notebook import InvalidSubmission, assemble, load_lesson, read_submission
from instructor_tools.grading.report import feedback_text
from instructor_tools.grading.runner import run_cells

LESSON = "02_upsampling_from_scratch.ipynb"
TIMEOUT = 20  # per cell in the planted batch: far above what a cell of the lesson needs, even on a busy machine

SOLUTION = nbformat.read(ROOT / "solutions" / LESSON, as_version=4)
STUDENT = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
THE_LESSON = load_lesson(ROOT / "solutions" / LESSON)
EXERCISES = list(THE_LESSON.exercises)
FIRST, TARGET = EXERCISES[0], EXERCISES[-1]  # tricks aimed at the last exercise cannot disturb the others' tests
TESTS = {ex: [t.grade_id for t in THE_LESSON.tests if t.exercise == ex] for ex in EXERCISES}
POINTS = {ex: sum(t.points for t in THE_LESSON.tests if t.exercise == ex) for ex in EXERCISES}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_code(exercise: str) -> str:
    return next(c.source for c in SOLUTION.cells if grade_id(c) == exercise)


def function_name(exercise: str) -> str:
    tree = ast.parse(solution_code(exercise))
    return next(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


OFF_BY_ONE = '''

def _off_by_one(value):
    """Plausible but wrong: the right types and shapes, every number off by one."""
    if isinstance(value, (list, tuple)):
        return type(value)(_off_by_one(v) for v in value)
    return value + 1
'''


def wrong(exercise: str) -> str:
    name = function_name(exercise)
    return (solution_code(exercise) + OFF_BY_ONE +
            f"\n_right_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n"
            f"    return _off_by_one(_right_{name}(*args, **kwargs))\n")


def student_notebook(code: dict[str, str]):
    """The student version with some exercise cells replaced by ``code``."""
    nb = copy.deepcopy(STUDENT)
    for cell in nb.cells:
        if grade_id(cell) in code:
            cell.source = code[grade_id(cell)]
    return nb


def solved_except(target: str, code: str):
    return student_notebook({ex: code if ex == target else solution_code(ex) for ex in EXERCISES})


def cell_index(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


# --------------------------------------------------------------------------- the tricks

def always_equal(exercise: str) -> str:
    return f'''
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def {function_name(exercise)}(*args, **kwargs):
    return AlwaysEqual()
'''


def later_cells():
    """Checks redefined in an extra cell, the test cell emptied and duplicated, the function fixed after the test."""
    nb = solved_except(TARGET, wrong(TARGET))
    test = TESTS[TARGET][0]
    nb.cells.insert(cell_index(nb, TARGET) + 1, nbformat.v4.new_code_cell(
        "from helpers import checks\n"
        "checks.check_function = checks.check_array = checks.check_value = checks.check_raises = "
        "lambda *a, **k: print('\\u2713 all good')"))
    tampered = nb.cells[cell_index(nb, test)]
    duplicate = copy.deepcopy(tampered)
    duplicate["id"] = "duplicated-test"
    tampered.source = "pass  # the tests were here"
    duplicate.source = "print('\\u2713 all good')"
    nb.cells.insert(cell_index(nb, test) + 1, duplicate)
    name = function_name(TARGET)
    nb.cells.append(nbformat.v4.new_code_cell(f"{name} = _right_{name}  # the right function, after the tests"))
    return nb


TRANSFORMER = '''

def _no_checks(lines):
    return ["pass\\n"] if any("checks." in line for line in lines) else lines


get_ipython().input_transformers_cleanup.append(_no_checks)
'''

CHECKS_PATCH = '''
from helpers import checks as _checks
_checks.check_function = _checks.check_array = _checks.check_value = _checks.check_raises = lambda *a, **k: None
'''

NUMPY_PATCH = '''
import numpy as np
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
'''


def patched_builtins(exercise: str) -> str:
    return f'''
import builtins

_real_isinstance = builtins.isinstance


class Impostor:
    def __eq__(self, other):
        return True


def _lying_isinstance(obj, classes):
    return True if type(obj) is Impostor else _real_isinstance(obj, classes)


builtins.isinstance = _lying_isinstance
builtins.all = lambda iterable: True


def {function_name(exercise)}(*args, **kwargs):
    return Impostor()
'''


def infinite_loop(exercise: str, ignore_interrupt: bool = False) -> str:
    ignore = "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if ignore_interrupt else ""
    return f"import signal\n\n\ndef {function_name(exercise)}(*args, **kwargs):\n{ignore}    while True:\n        pass\n"


def exits(exercise: str) -> str:
    return f"import os\n\n\ndef {function_name(exercise)}(*args, **kwargs):\n    os._exit(1)\n"


def escape(exercise: str, targets: list[Path], victims: list[Path]) -> str:
    return solution_code(exercise) + f'''

import os, pathlib
for target in {[str(t) for t in targets]!r}:
    try:
        pathlib.Path(target).write_text("written by a submission")
    except OSError as exc:
        print("blocked:", exc)
for victim in {[str(v) for v in victims]!r}:
    try:
        os.remove(victim)
    except OSError as exc:
        print("blocked:", exc)
'''


# --------------------------------------------------------------------------- the batch

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Grade the planted folder once; ``{student: Graded}`` plus what the escape attempt aimed at."""
    root = tmp_path_factory.mktemp("grading")
    folder = root / "submissions"
    outside = root / "outside"
    outside.mkdir()
    os.chmod(outside, 0o777)  # only the sandbox, not file permissions, may stop the writes
    canary = outside / "canary.txt"
    canary.write_text("still here")
    token = uuid.uuid4().hex[:8]
    targets = [ROOT / f"pwned-{token}.txt", outside / "pwned.txt", folder / "full" / LESSON,
               Path("/tmp") / f"pwned-{token}.txt"]

    notebooks = {
        "full": SOLUTION,
        "untouched": STUDENT,
        "one_right": student_notebook({FIRST: solution_code(FIRST)}),
        "wrong": solved_except(TARGET, wrong(TARGET)),
        "always_equal": solved_except(TARGET, always_equal(TARGET)),
        "later_cells": later_cells(),
        "transformer": solved_except(TARGET, wrong(TARGET) + TRANSFORMER),
        "checks_patch": solved_except(TARGET, wrong(TARGET) + CHECKS_PATCH),
        "builtins": solved_except(TARGET, patched_builtins(TARGET)),
        "numpy_patch": solved_except(TARGET, wrong(TARGET) + NUMPY_PATCH),
        "loop": solved_except(FIRST, infinite_loop(FIRST)),
        "loop_ignoring_interrupt": solved_except(FIRST, infinite_loop(FIRST, ignore_interrupt=True)),
        "exit": solved_except(FIRST, exits(FIRST)),
        "big_print": solved_except(FIRST, solution_code(FIRST) + '\nprint("x" * 200_000_000)\n'),
        "escape": solved_except(FIRST, escape(FIRST, targets, [canary])),
    }
    # The one exercise solved, then a stale copy of its cell further down: the first copy counts.
    stale = copy.deepcopy(STUDENT.cells[cell_index(STUDENT, FIRST)])
    stale["id"] = "stale-copy"
    notebooks["one_right"].cells.append(stale)
    for student, nb in notebooks.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / LESSON)
    (folder / "broken_json").mkdir()
    (folder / "broken_json" / LESSON).write_text('{"cells": [{"cell_type": "code", "source": "', encoding="utf-8")
    (folder / "nothing").mkdir()
    nbformat.write(SOLUTION, folder / "full" / LESSON.replace(".ipynb", "-copy.ipynb"))
    before = (folder / "full" / LESSON).read_bytes()

    start = time.monotonic()
    graded = grade_folder(folder, lessons=[LESSON[:2]], limits=Limits(timeout=TIMEOUT), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    seconds = time.monotonic() - start
    by_student = {g.student_id: g for g in graded if g.notebook == LESSON}
    return {"graded": graded, "by": by_student, "targets": targets, "canary": canary, "seconds": seconds,
            "full_before": before, "folder": folder}


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


def test_this_machine_can_sandbox_submissions():
    assert sandbox_available(), "the grader needs Linux Landlock (5.13+) to keep submissions in their folder"


def test_lesson_has_several_exercises():
    assert len(EXERCISES) >= 3 and len(THE_LESSON.tests) >= 3


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


def test_the_numpy_trick_would_fool_checks_made_in_the_students_kernel(monkeypatch):
    """Why comparing in the grader matters: with np.isclose patched, an in-kernel check passes a wrong array."""
    right = np.arange(6.0).reshape(2, 3)
    with pytest.raises(checks.CheckFailed):
        checks.check_array(right + 1, right)
    monkeypatch.setattr(np, "isclose", lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool))
    checks.check_array(right + 1, right)  # fooled


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
def test_feedback_names_each_exercise_its_points_and_what_was_wrong(planted):
    text = feedback_text(planted["by"]["wrong"])
    for ex in EXERCISES:
        assert f"Exercise `{ex}`" in text
    assert f"**{THE_LESSON.max_points - POINTS[TARGET]:g} / {THE_LESSON.max_points:g} points**" in text
    assert "values differ" in text


@pytest.mark.slow
def test_every_solution_gets_full_marks(tmp_path):
    """What an instructor runs before a release: each lesson's solution, graded, gets full marks."""
    folder = tmp_path / "release"
    (folder / "solutions").mkdir(parents=True)
    lessons = lessons_in()
    for path in lessons.values():
        (folder / "solutions" / path.name).write_bytes(path.read_bytes())
    graded = grade_folder(folder, limits=Limits(timeout=600), jobs=2, progress=lambda line: print(line, file=sys.stderr))
    assert {g.notebook for g in graded} == set(lessons)
    for g in graded:
        assert g.points == g.max_points, [(r.grade_id, r.status, r.message) for r in g.rows]
        assert {r.status for r in g.rows} <= {"passed"}


# --------------------------------------------------------------------------- the runner itself

def test_per_cell_timeout_interrupts_then_kills(tmp_path):
    os.chmod(tmp_path, 0o711)
    cells = ["x = 41", "while True:\n    pass", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
             "from helpers import checks\nchecks.check_value(x + 1, 0, name='state replayed')"]
    results = run_cells(tmp_path, "t", cells, Limits(timeout=3))
    assert [r["status"] for r in results] == ["ok", "timeout", "timeout", "ok"]
    assert 3 <= results[1]["seconds"] < 3 + 3  # interrupted at the timeout
    assert results[2]["killed"] and 3 + 5 <= results[2]["seconds"] < 3 + 5 + 3  # killed after the grace period
    assert parse_probe(results[3]["probes"][0]).value == 42  # a new kernel, with the cells before replayed


def test_kernel_death_memory_and_output_limits(tmp_path):
    os.chmod(tmp_path, 0o711)
    cells = ["import os\nos._exit(3)", "x = bytearray(8 << 30)", "print('x' * 50_000_000)",
             "from helpers import checks\nchecks.check_value(1, 0, name='alive')"]
    results = run_cells(tmp_path, "t", cells, Limits(timeout=30, memory_mb=2048, output_kb=64))
    assert results[0]["status"] == "died" and results[0]["exit_code"] == 3
    assert results[1]["status"] == "error" and results[1]["ename"] == "MemoryError"
    assert results[2]["status"] == "ok" and results[2]["dropped_bytes"] < 100_000  # capped in the kernel
    assert len(results[3]["probes"]) == 1


def test_sandbox_blocks_writes_connections_and_signals(tmp_path):
    batch, outside = tmp_path / "batch", tmp_path / "outside"
    batch.mkdir()
    outside.mkdir()
    os.chmod(batch, 0o711)
    os.chmod(outside, 0o777)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    attempts = {
        "write_course": f"open({str(ROOT / 'helpers' / 'pwned.py')!r}, 'w')",
        "write_outside": f"open({str(outside / 'pwned.txt')!r}, 'w')",
        "mkdir_outside": f"import os; os.mkdir({str(outside / 'pwned')!r})",
        "connect": f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)",
        "signal_grader": f"import os, signal; os.kill({os.getpid()}, signal.SIGTERM)",
        "shell": f"import subprocess; subprocess.run(['touch', {str(outside / 'by_shell')!r}], check=True)",
    }
    cells = list(attempts.values()) + ["open('mine.txt', 'w').write('ok'); import os, tempfile\n"
                                       "open(os.path.join(tempfile.gettempdir(), 'x'), 'w').write('ok')"]
    results = run_cells(batch, "t", cells, Limits(timeout=20))
    listener.close()
    for (what, _), r in zip(attempts.items(), results):
        assert r["status"] == "error", (what, r)
        assert r["ename"] in ("PermissionError", "CalledProcessError"), (what, r)
    assert results[-1]["status"] == "ok"  # its own folder and TMPDIR are writable
    assert not (ROOT / "helpers" / "pwned.py").exists() and list(outside.iterdir()) == []


# --------------------------------------------------------------------------- plain-data comparison

def probe(name, value, **options) -> str:
    return json.dumps({"name": name, "value": checks.encode(value), "options": options})


EXPECTED = [Probe("f(1)", np.arange(4.0).reshape(2, 2), {"rtol": 1e-5, "atol": 1e-6}), Probe("g", 0.75, {})]


def test_matching_probes_pass_and_order_does_not_matter():
    assert compare_probes(EXPECTED, [probe("g", 0.75), probe("f(1)", np.arange(4.0).reshape(2, 2))]) is None


@pytest.mark.parametrize("texts, words", [
    ([probe("f(1)", np.arange(4.0).reshape(2, 2))], "never ran"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", 0.75), probe("g", 0.75)], "2 times"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", 0.75), probe("h", 1)], "unexpected check"),
    ([probe("f(1)", np.arange(4.0).reshape(4)), probe("g", 0.75)], "expected shape (2, 2), got (4,)"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2) + 1, rtol=1e9, atol=1e9), probe("g", 0.75)], "4 of 4 values differ"),
    ([probe("f(1)", object()), probe("g", 0.75)], "not a value the grader can accept"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", True)], "expected a number"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), "{not json"], "tampered"),
])
def test_probes_that_do_not_match(texts, words):
    assert words in compare_probes(EXPECTED, texts)


def test_decode_accepts_plain_data_only():
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = decode(checks.encode(array))
    assert back.dtype == np.int16 and np.array_equal(back, array) and not back.flags.writeable
    assert decode(checks.encode([(1, 2), "a", None, 2.5])) == ((1, 2), "a", None, 2.5)
    bad = [{"kind": "array", "dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="},
           {"kind": "array", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="},
           {"kind": "array", "dtype": "<f8", "shape": [1], "data": "***"},
           {"kind": "plain", "value": {"__class__": "x"}}, {"kind": "pickle", "data": ""}]
    nested = {"kind": "plain", "value": 1}
    for _ in range(40):
        nested = {"kind": "seq", "items": [nested]}
    for value in [*bad, nested]:
        with pytest.raises(BadProbe):
            decode(value)


# --------------------------------------------------------------------------- reading submissions

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


# --------------------------------------------------------------------------- the command

def test_command_writes_gradebook_totals_and_feedback(tmp_path):
    """No kernel needed: a broken notebook, a missing one and a misnamed one."""
    folder = tmp_path / "submissions"
    (folder / "ada").mkdir(parents=True)
    (folder / "ada" / LESSON).write_text("not json")
    (folder / "bob").mkdir()
    (folder / "bob" / "02_upsampling.ipynb").write_text("{}")
    out = tmp_path / "grades.csv"
    done = subprocess.run([sys.executable, "-m", "instructor_tools.grade", str(folder), "--out", str(out), "--feedback",
                           str(tmp_path / "fb"), "--lessons", LESSON[:2]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["student_id", "notebook", "grade_id", "points", "max_points", "status", "message"]
    assert {(r["student_id"], r["status"]) for r in rows} == {("ada", "invalid"), ("bob", "not_attempted"), ("bob", "invalid")}
    assert len([r for r in rows if r["student_id"] == "ada"]) == len(THE_LESSON.tests)
    totals = list(csv.DictReader((tmp_path / "grades_totals.csv").open()))
    assert {(t["student_id"], t["notebook"], t["points"], t["max_points"]) for t in totals} >= {
        ("ada", LESSON, "0", f"{THE_LESSON.max_points:g}")}
    assert "not valid JSON" in (tmp_path / "fb" / "ada" / f"{LESSON[:-6]}.md").read_text()
