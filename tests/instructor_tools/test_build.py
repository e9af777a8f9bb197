"""solutions/ → notebooks/: the build, its --check, and nbgrader's view of the solutions."""

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from instructor_tools import build
from instructor_tools import lesson as lesson_format


@pytest.fixture
def course(tmp_path, root):
    """A copy of solutions/ and notebooks/ that a test may damage."""
    for folder in ("solutions", "notebooks"):
        shutil.copytree(root / folder, tmp_path / folder)
    return tmp_path


def lesson(course, name="01_why_upsampling.ipynb", folder="notebooks"):
    return course / folder / name


def about_lesson_01(problems):
    return [p for p in problems if "01_why_upsampling" in p]


def edit(path, change):
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def test_repository_is_up_to_date(root):
    result = subprocess.run([sys.executable, "-m", "instructor_tools.build", "--check"], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_rebuild_is_idempotent(course):
    before = {p: p.read_bytes() for p in course.rglob("*.ipynb")}
    assert build.build(course) == []
    assert {p: p.read_bytes() for p in course.rglob("*.ipynb")} == before


def test_added_output_is_caught(course):
    def add_output(nb):
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
        cell["execution_count"] = 1

    edit(lesson(course), add_output)
    assert any("has outputs" in p for p in build.build(course, check=True))
    edit(lesson(course, folder="solutions"), add_output)
    assert any("solutions/01_why_upsampling.ipynb has outputs" in p for p in build.build(course, check=True))


def test_hand_edit_of_student_notebook_is_caught(course):
    edit(lesson(course), lambda nb: nb["cells"][-1].update(source=nb["cells"][-1]["source"] + "\nextra line"))
    assert about_lesson_01(build.build(course, check=True)) == [
        "notebooks/01_why_upsampling.ipynb is stale or was edited by hand: run python -m instructor_tools.build"
    ]


def test_extra_and_missing_student_notebooks_are_caught(course):
    shutil.copy(lesson(course), course / "notebooks" / "42_mine.ipynb")
    lesson(course, "00_setup.ipynb").unlink()
    problems = build.build(course, check=True)
    assert any("42_mine.ipynb has no source" in p for p in problems)
    assert any("00_setup.ipynb is missing" in p for p in problems)


def solution_cell(nb, grade_id):
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def answers_cell(cell):
    cell["metadata"] = {lesson_format.COURSE: {lesson_format.ANSWERS: True}}
    return cell


def test_answers_stay_in_the_solution_only(course):
    secret = "1. Because the stride divides the kernel size."
    add = lambda nb: nb["cells"].append(answers_cell(nbformat.v4.new_markdown_cell(secret)))  # noqa: E731
    edit(lesson(course, folder="solutions"), add)
    assert build.build(course) == []
    solution = nbformat.read(lesson(course, folder="solutions"), as_version=4)
    student = nbformat.read(lesson(course), as_version=4)
    assert solution.cells[-1].source == secret
    assert solution.cells[-1].metadata == {lesson_format.COURSE: {lesson_format.ANSWERS: True}}
    assert student.cells[-1].source == lesson_format.ANSWERS_PLACEHOLDER
    assert student.cells[-1].metadata == solution.cells[-1].metadata
    assert secret not in lesson(course).read_text()
    assert build.build(course, check=True) == []


# A graded test whose expected values the grader cannot prove it removes from the student's kernel.
LEAKING_LOOP = ("from helpers import checks\n\nfor scale, want in [(2, 0.75), (4, 0.9375)]:\n"
                "    checks.check_value(invented_fraction(scale), want)\n")


@pytest.mark.parametrize("change, words", [
    (lambda nb: solution_cell(nb, "shrink").update(source="def shrink(i, f):\n    ### BEGIN SOLUTION\n    return i\n"),
     "'### BEGIN SOLUTION' is never closed"),
    (lambda nb: solution_cell(nb, "shrink").update(source="x = 1\n### END SOLUTION\n"), "without '### BEGIN SOLUTION'"),
    (lambda nb: nb["cells"].append(nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nanswer\n### END SOLUTION")),
     "in a markdown cell"),
    (lambda nb: solution_cell(nb, "test_shrink")["metadata"]["nbgrader"].update(grade_id="shrink"),
     "duplicate grade_id 'shrink'"),
    (lambda nb: solution_cell(nb, "test_shrink")["metadata"]["nbgrader"].pop("points"), "has no points"),
    (lambda nb: nb["cells"].append(nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS")),
     "hidden tests in a cell that is not a graded test cell"),
    (lambda nb: nb["cells"].append(answers_cell(nbformat.v4.new_code_cell("x = 1"))),
     "an answers cell must be a markdown cell, not code"),
    (lambda nb: solution_cell(nb, "test_invented_fraction").update(source=LEAKING_LOOP),
     "test 'test_invented_fraction': a check in a loop"),
    (lambda nb: nb["cells"].insert(6, nbformat.v4.new_code_cell("want = 0.75")) or solution_cell(
        nb, "test_invented_fraction").update(source="checks.check_value(invented_fraction(2), want)"),
     "`want`, which an earlier cell computes"),
])
def test_malformed_regions_are_rejected(course, change, words):
    edit(lesson(course, folder="solutions"), change)
    problems = about_lesson_01(build.build(course, check=True))
    assert len(problems) == 1 and words in problems[0], problems


def test_student_version_has_stubs_and_no_hidden_tests(root):
    student = nbformat.read(root / "notebooks" / "01_why_upsampling.ipynb", as_version=4)
    solution = nbformat.read(root / "solutions" / "01_why_upsampling.ipynb", as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "### BEGIN" not in text and "HIDDEN" not in text
    stub = solution_cell(student, "shrink").source
    assert "raise NotImplementedError(\"Exercise 'shrink' is not solved yet" in stub
    assert "    # YOUR CODE HERE" in stub  # the stub keeps the function body's indentation
    for s, n in zip(solution.cells, student.cells):
        assert s.metadata.get("nbgrader") == n.metadata.get("nbgrader")
    assert student.cells[0].source.count("colab.research.google.com/github/") == 1
    assert "/blob/main/notebooks/01_why_upsampling.ipynb" in student.cells[0].source


def test_solutions_are_valid_nbgrader_source(tmp_path, root):
    source = tmp_path / "source" / "course"
    source.mkdir(parents=True)
    for path in (root / "solutions").glob("*.ipynb"):
        shutil.copy(path, source)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "course", "--force", "--no-db",
         f"--CourseDirectory.root={tmp_path}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    released = sorted(p.name for p in (tmp_path / "release" / "course").glob("*.ipynb"))
    assert released == sorted(p.name for p in (root / "solutions").glob("*.ipynb"))
    generated = nbformat.read(tmp_path / "release" / "course" / "01_why_upsampling.ipynb", as_version=4)
    assert "### BEGIN SOLUTION" not in "\n".join(c.source for c in generated.cells)
