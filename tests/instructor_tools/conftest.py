"""Fixtures of the grader's tests: the planted batch, graded once for the whole run.

Grading runs real kernels, so the planted folder (lesson 02 with one trick per student,
see planted_lesson.py) is graded once per run and shared by test_batch.py and test_report.py.
"""

from __future__ import annotations

import copy
import fcntl
import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from planted_lesson import (
    CHECKS_PATCH,
    FIRST,
    HOSTILE_PROBES,
    LESSON,
    NUMPY_PATCH,
    ORACLE_PATCH,
    ORACLE_TRANSFORMER,
    SOLUTION,
    STUDENT,
    TARGET,
    TIMEOUT,
    TRANSFORMER,
    always_equal,
    answer_stand_ins,
    calls_the_answer,
    cell_index,
    escape,
    exits,
    forges_feedback,
    infinite_loop,
    later_cells,
    oracle_attack,
    patched_builtins,
    reads_the_solution,
    returns,
    solution_code,
    solved_except,
    student_notebook,
    survivor,
    wrong,
)

from helpers import ROOT
from instructor_tools.grading import Limits, SandboxUnavailable, detect, grade_folder


def plant(folder: Path, outside: Path, token: str) -> tuple[list[Path], Path]:
    """Write one notebook per trick under ``folder``; return what the escape attempt aims at, and its canary."""
    outside.mkdir()
    os.chmod(outside, 0o777)  # only the sandbox, not file permissions, may stop the writes
    canary = outside / "canary.txt"
    canary.write_text("still here")
    targets = [ROOT / f"pwned-{token}.txt", outside / "pwned.txt", folder / "full" / LESSON,
               Path("/tmp") / f"pwned-{token}.txt"]

    notebooks = {
        "full": SOLUTION,
        "untouched": STUDENT,
        "one_right": student_notebook({FIRST: solution_code(FIRST)}),
        "wrong": solved_except(TARGET, wrong(TARGET)),
        "tiled": solved_except(FIRST, TILED),
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
        "oracle_patch": solved_except(TARGET, stub(TARGET) + ORACLE_PATCH),
        "oracle_transformer": solved_except(TARGET, ORACLE_TRANSFORMER + answer_stand_ins(solution_code(TARGET))),
        "oracle_both": solved_except(TARGET, oracle_attack(solution_code(TARGET))),
        "calls_answer": solved_except(TARGET, calls_the_answer(TARGET)),
        "reads_solution": solved_except(TARGET, reads_the_solution(TARGET)),
        "survivor": solved_except(FIRST, survivor(FIRST, token)),
        "forges": solved_except(FIRST, forges_feedback()),
        "ragged": solved_except(TARGET, returns(TARGET, "[[1.0, 2.0], [3.0]]")),
        "huge_int": solved_except(TARGET, returns(TARGET, "10 ** 400")),
        "a_string": solved_except(TARGET, returns(TARGET, "'an array, honest'")),
        "hostile_probes": solved_except(TARGET, answer_stand_ins(solution_code(TARGET)) + HOSTILE_PROBES),
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
    # Links are never followed, hidden folders never skipped: each is an invalid row.
    (folder / "linked_notebook").mkdir()
    (folder / "linked_notebook" / LESSON).symlink_to(ROOT / "solutions" / LESSON)
    (folder / "linked_folder").symlink_to(folder / "full", target_is_directory=True)
    (folder / ".hidden").mkdir()
    nbformat.write(SOLUTION, folder / ".hidden" / LESSON)
    return targets, canary


#: A typical wrong answer to lesson 02's first exercise, which its check knows: np.tile repeats the whole image.
TILED = '''
def upsample_nearest(x, scale_factor):
    sh, sw = scale_factor if isinstance(scale_factor, tuple) else (scale_factor, scale_factor)
    return np.tile(x, (1, 1, sh, sw))
'''


def stub(exercise: str) -> str:
    return STUDENT.cells[cell_index(STUDENT, exercise)].source


def grade_planted(root: Path) -> dict:
    """Plant the folder under ``root`` and grade it: ``{student: Graded}`` plus what the escape attempt aimed at."""
    folder = root / "submissions"
    token = f"course-survivor-{uuid.uuid4().hex[:8]}"
    targets, canary = plant(folder, root / "outside", token)
    before = (folder / "full" / LESSON).read_bytes()
    start = time.monotonic()
    graded = grade_folder(folder, lessons=[LESSON[:2]], limits=Limits(timeout=TIMEOUT), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    seconds = time.monotonic() - start
    by_student = {g.student_id: g for g in graded if g.notebook == LESSON}
    survivors = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True).stdout.split()
    return {"graded": graded, "by": by_student, "targets": targets, "canary": canary, "seconds": seconds,
            "full_before": before, "folder": folder, "survivors": survivors}


@pytest.fixture(scope="session")
def isolation():
    """The sandbox the grader will use; without bubblewrap the test is skipped with how to install it, except
    under CI, where that is a failure."""
    try:
        return detect()
    except SandboxUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    """The planted folder, graded once per run (see :func:`grade_planted`)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return grade_planted(tmp_path_factory.mktemp("grading"))
    # Under xdist the modules that use it may run on different workers: the first one grades, the others
    # wait for its result. The parent of a worker's basetemp is this run's, shared by the workers.
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "planted.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = shared / "planted.pickle"
        if not cached.exists():
            (shared / "planted").mkdir()
            cached.write_bytes(pickle.dumps(grade_planted(shared / "planted")))
        return pickle.loads(cached.read_bytes())
