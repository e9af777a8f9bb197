"""nbgrader's round trip on lessons 01–05, 07 and 10 (every lesson with a NumPy, Keras or PyTorch exercise
added since the first three), as docs/nbgrader.md tells an instructor to run it.

In a temporary course directory with the ``nbgrader_config.py`` that the page shows: nbgrader's
``generate_assignment``, three students' submissions (``full``: every exercise solved, ``half``: every
other one, ``blank``: the released notebook untouched), nbgrader's ``autograde``, then the course's
grader on the same files. Every graded cell must earn the same points from both.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import ROOT
from instructor_tools import lesson as lesson_format

nbgrader_api = pytest.importorskip(
    "nbgrader.api", reason="nbgrader is not installed (python -m pip install -r requirements-dev.txt)")

LESSONS = ("01_why_upsampling", "02_upsampling_from_scratch", "03_transposed_convolution",
           "04_checkerboard_artifacts", "05_upsampling_in_keras", "07_dcgan_keras", "10_image_to_image")
STUDENTS = ("full", "half", "blank")
MARKERS = (lesson_format.BEGIN_SOLUTION, lesson_format.END_SOLUTION)
#: What the course's grader says of an unsolved exercise, nbgrader's plain ``raise NotImplementedError()``:
#: "not_attempted" where compare.py knows that stub, "error" where it does not.
UNSOLVED = {"not_attempted", "error"}


def docs_config() -> str:
    """The ``nbgrader_config.py`` shown in docs/nbgrader.md: the test runs what the page tells instructors to."""
    text = (ROOT / "docs" / "nbgrader.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(# nbgrader_config\.py\n.*?)```", text, re.S)
    assert match, "docs/nbgrader.md shows no ```python block starting with '# nbgrader_config.py'"
    return match.group(1)


def submission(released, source, solved) -> nbformat.NotebookNode:
    """The released notebook with the exercises for which ``solved(index)`` holds filled in from the source."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(released)
    exercises = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    for index, cell in enumerate(exercises):
        if solved(index):
            code = answers[cell.metadata["nbgrader"]["grade_id"]]
            cell.source = "".join(line for line in code.splitlines(keepends=True) if line.strip() not in MARKERS)
    return nb


def start(args: list[str], cwd: Path, log: str) -> tuple[subprocess.Popen, Path]:
    # nbgrader runs `alembic` by name when it creates the gradebook: the venv's bin/ must be on PATH.
    env = {**os.environ, "COURSE_PROFILE": "smoke",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with open(cwd / log, "w") as out:  # a file, not a pipe: nobody reads a pipe while the other command runs
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT), cwd / log


def finish(started: tuple[subprocess.Popen, Path]) -> None:
    process, log = started
    returncode = process.wait(timeout=1200)
    text = log.read_text(errors="replace")
    assert returncode == 0, f"{' '.join(map(str, process.args))}\n{text[-5000:]}"
    assert "Exception while loading config file" not in text, text[-5000:]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory) -> dict:
    """Generate, submit, autograde with nbgrader, grade with the course's grader; both graders' per-cell scores."""
    course = tmp_path_factory.mktemp("nbgrader_course")
    (course / "nbgrader_config.py").write_text(docs_config(), encoding="utf-8")
    for lesson in LESSONS:
        (course / "source" / lesson).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{lesson}.ipynb", course / "source" / lesson)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    finish(start([*nbgrader, "generate_assignment", "*", "--force"], course, "generate.log"))

    solved = {"full": lambda i: True, "half": lambda i: i % 2 == 0, "blank": lambda i: False}
    for lesson in LESSONS:
        released = nbformat.read(course / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        source = nbformat.read(course / "source" / lesson / f"{lesson}.ipynb", as_version=4)
        for student in STUDENTS:
            nb = submission(released, source, solved[student])
            for path in (course / "submitted" / student / lesson / f"{lesson}.ipynb",  # nbgrader's layout
                         course / "flat" / student / f"{lesson}.ipynb"):  # the course grader's
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
    # The two graders side by side: nbgrader's autograde runs one kernel at a time.
    # Our own submissions: bubblewrap where the machine has it, none where it has not (the sandbox is tested elsewhere).
    grading = start([sys.executable, "-m", "instructor_tools.grade", str(course / "flat"),
                     "--out", str(course / "grades.csv"), "--jobs", "2", "--unsandboxed"], course, "grade.log")
    try:
        finish(start([*nbgrader, "autograde", "*", "--create", "--force"], course, "autograde.log"))
    finally:
        finish(grading)

    theirs = {}
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for lesson in LESSONS:
            for student in STUDENTS:
                for grade in gradebook.find_submission_notebook(lesson, lesson, student).grades:
                    theirs[student, lesson, grade.name] = (grade.score, grade.max_score)
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        ours = {(row["student_id"], row["notebook"].removesuffix(".ipynb"), row["grade_id"]):
                (float(row["points"]), float(row["max_points"]), row["status"]) for row in csv.DictReader(f)}
    return {"course": course, "theirs": theirs, "ours": ours}


def test_released_badges_open_the_student_notebooks(round_trip):
    for lesson in LESSONS:
        released = nbformat.read(round_trip["course"] / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        badge = released.cells[0].source
        assert badge == lesson_format.header_cells(lesson_format.NOTEBOOKS, f"{lesson}.ipynb")[0].source
        assert f"/notebooks/{lesson}.ipynb" in badge and "/solutions/" not in badge
        answers = [c for c in released.cells if lesson_format.is_answers(c)]
        assert [c.source for c in answers] == [lesson_format.ANSWERS_PLACEHOLDER]  # the preprocessor hid them


def test_both_graders_score_every_graded_cell_alike(round_trip):
    theirs, ours = round_trip["theirs"], round_trip["ours"]
    graded = sum(cell.metadata.get("nbgrader", {}).get("grade", False) for lesson in LESSONS
                 for cell in nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4).cells)
    assert graded == 29  # lessons 01–05, 07, 10: 3 + 4 + 5 + 5 + 4 + 5 + 3 graded test cells
    assert len(theirs) == graded * len(STUDENTS)
    assert set(ours) == set(theirs)
    for key, (score, max_score) in theirs.items():
        points, max_points, status = ours[key]
        assert (points, max_points) == (score, max_score), key
        assert (status == "passed") == (score == max_score), (key, status)
        if status != "passed":
            assert status in UNSOLVED, (key, status)


def test_full_marks_half_marks_and_zero(round_trip):
    totals = {s: [0.0, 0.0] for s in STUDENTS}
    for (student, _, _), (score, max_score) in round_trip["theirs"].items():
        totals[student][0] += score
        totals[student][1] += max_score
    assert totals["full"][0] == totals["full"][1] == 66  # 5 + 10 + 12 + 11 + 9 + 11 + 8 points
    assert 0 < totals["half"][0] < totals["half"][1]
    assert totals["blank"][0] == 0
