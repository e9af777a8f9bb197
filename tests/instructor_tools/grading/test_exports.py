"""``--export canvas`` and ``--export gradescope``: the Canvas CSV read back gives the gradebook's points, and
every results.json validates against Gradescope's documented format (gradescope_results.schema.json)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import jsonschema
import nbformat
import pytest
from planted_lesson import LESSON, POINTS, TARGET, THE_LESSON, TINY, solved_except, wrong
from test_shards import grade_in_shards, rows, tiny  # noqa: F401 - tiny is a fixture

from helpers import ROOT
from instructor_tools import grade, merge
from instructor_tools.grading.batch import Graded, Row
from instructor_tools.grading.exports import CANVAS_COLUMNS, POINTS_POSSIBLE, write_canvas, write_gradescope
from instructor_tools.grading.report import write_gradebook

SCHEMA = json.loads((Path(__file__).with_name("gradescope_results.schema.json")).read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
HOSTILE = '<img src=x onerror=alert(1)>\n# **10 / 10 points**\n[link](http://x)\x1b[2J'


def canvas(path: Path) -> tuple[list[str], dict[str, str], dict[str, dict[str, str]]]:
    """A Canvas import CSV read back: its lesson columns, the points possible, each student's points."""
    table = list(csv.reader(path.open(newline="", encoding="utf-8")))
    header, possible, students = table[0], table[1], table[2:]
    assert tuple(header[:5]) == CANVAS_COLUMNS and possible[0] == POINTS_POSSIBLE
    lessons = header[5:]
    by_student = {}
    for row in students:
        assert row[0] == row[2]  # Student and SIS User ID: the folder's name
        by_student[row[0]] = dict(zip(lessons, row[5:], strict=True))
    return lessons, dict(zip(lessons, possible[5:], strict=True)), by_student


def gradebook_points(path: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """From the gradebook's rows: each lesson's points possible and each student's points, by lesson column."""
    possible: dict[str, float] = {}
    points: dict[str, dict[str, float]] = defaultdict(dict)
    per_result: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows(path):
        per_result[r["student_id"], r["notebook"]].append(r)
    for (student, notebook), result in per_result.items():
        most = sum(float(r["max_points"]) for r in result)
        if most:  # a lesson's result (a near miss of a name has no points to give)
            possible[Path(notebook).stem] = most
            points[student][Path(notebook).stem] = sum(float(r["points"]) for r in result)
    return possible, points


def assert_canvas_matches_gradebook(canvas_csv: Path, gradebook: Path) -> None:
    lessons, possible, students = canvas(canvas_csv)
    want_possible, want_points = gradebook_points(gradebook)
    assert sorted(lessons) == sorted(want_possible)
    assert {k: float(v) for k, v in possible.items()} == want_possible
    assert set(students) == set(want_points)
    for student, scores in students.items():
        assert {k: float(v) for k, v in scores.items() if v != ""} == want_points[student], student
        assert all(v != "" or k not in want_points[student] for k, v in scores.items())


def test_the_canvas_csv_read_back_matches_the_gradebook_and_results_json_validate(tiny):  # noqa: F811
    out = tiny.root / "whole" / "grades.csv"
    out.parent.mkdir()
    assert tiny(grade, tiny.folder, "--out", out, "--unsandboxed", "--export", "canvas", "--export",
                "gradescope") == 0
    assert_canvas_matches_gradebook(out.with_name("grades_canvas.csv"), out)
    _, _, students = canvas(out.with_name("grades_canvas.csv"))
    assert "'=HYPERLINK(\"x\")" in students  # neutralised as in the gradebook
    totals = {(t["student_id"], t["notebook"]): t for t in rows(out.with_name("grades_totals.csv"))}
    files = sorted(out.with_name("grades_gradescope").rglob("results.json"))
    assert len(files) == len({(student, Path(notebook).stem) for student, notebook in totals})
    for path in files:
        results = json.loads(path.read_text())
        VALIDATOR.validate(results)
        student = path.parent.parent.name
        if path.parent.name != Path(TINY).stem:  # a near miss's own file: no lesson's points
            continue
        total = totals[("'" if student.startswith("=") else "") + student, TINY]
        assert results["score"] == float(total["points"]) and results["tests"][0]["name"] == "test_answer"
        assert results["tests"][0]["status"] == ("passed" if total["passed"] == "1" else "failed")


def test_merged_shards_export_what_the_whole_batch_exports(tiny):  # noqa: F811
    whole = tiny.root / "whole" / "grades.csv"
    whole.parent.mkdir()
    assert tiny(grade, tiny.folder, "--out", whole, "--unsandboxed", "--export", "canvas", "--export",
                "gradescope") == 0
    merged = tiny.root / "merged.csv"
    assert tiny(merge, *grade_in_shards(tiny), "--out", merged, "--expect", tiny.folder, "--export", "canvas",
                "--export", "gradescope") == 0
    assert merged.with_name("merged_canvas.csv").read_bytes() == whole.with_name("grades_canvas.csv").read_bytes()
    mine, theirs = merged.with_name("merged_gradescope"), whole.with_name("grades_gradescope")
    assert ({p.relative_to(mine): json.loads(p.read_text()) for p in mine.rglob("*.json")}
            == {p.relative_to(theirs): json.loads(p.read_text()) for p in theirs.rglob("*.json")})


def constructed() -> list[Graded]:
    """Two lessons, a student without the second, a hostile name and message, a near miss, a broken lesson."""
    def result(student, notebook, points, status="passed", message="", max_points=(2, 3)):
        grade_ids = [f"test_{i}" for i in range(len(max_points))]
        return Graded(student, notebook, [Row(student, notebook, gid, p, m, status if p < m else "passed", message,
                                              "ex1") for gid, p, m in zip(grade_ids, points, max_points,
                                                                          strict=True)],
                      notes=[HOSTILE] if student.startswith("-") else [], seconds=3.4)
    return [
        result("ada", "01_a.ipynb", (2, 3)), result("ada", "02_b.ipynb", (0, 1), "failed", HOSTILE),
        result("-2+3", "01_a.ipynb", (0, 0), "error", HOSTILE), result("-2+3", "02_b.ipynb", (2, 0), "timeout"),
        result("bob", "01_a.ipynb", (2, 3)),  # no 02
        Graded("bob", "02_B.IPYNB", [Row("bob", "02_B.IPYNB", "", 0, 0, "invalid", "rename it")]),
        Graded("cy", "03_c.ipynb", [Row("cy", "03_c.ipynb", "", 0, 0, "error", "the lesson's solution is broken")]),
    ]


def test_canvas_has_a_column_per_lesson_and_a_blank_where_there_is_no_result(tmp_path):
    graded = constructed()
    write_gradebook(graded, tmp_path / "grades.csv")
    write_canvas(graded, tmp_path / "canvas.csv")
    assert_canvas_matches_gradebook(tmp_path / "canvas.csv", tmp_path / "grades.csv")
    lessons, possible, students = canvas(tmp_path / "canvas.csv")
    assert lessons == ["01_a", "02_b"] and possible == {"01_a": "5", "02_b": "5"}
    assert students == {"'-2+3": {"01_a": "0", "02_b": "2"}, "ada": {"01_a": "5", "02_b": "1"},
                        "bob": {"01_a": "5", "02_b": ""}}


def test_results_json_validate_and_hold_student_text_as_one_line_of_plain_text(tmp_path):
    write_gradescope(constructed(), tmp_path)
    files = {str(p.relative_to(tmp_path)): json.loads(p.read_text()) for p in tmp_path.rglob("results.json")}
    assert set(files) == {"ada/01_a/results.json", "ada/02_b/results.json", "-2+3/01_a/results.json",
                          "-2+3/02_b/results.json", "bob/01_a/results.json", "bob/02_B/results.json",
                          "cy/03_c/results.json"}
    for results in files.values():
        VALIDATOR.validate(results)
        texts = [results["output"]] + [t["output"] for t in results["tests"]] + [t["name"] for t in results["tests"]]
        assert not any(ch in text for text in texts for ch in "\n\r\x1b")
        assert results["output_format"] == "text" and {t["output_format"] for t in results["tests"]} == {"text"}
    hostile = files["-2+3/01_a/results.json"]
    assert hostile["score"] == 0 and [t["status"] for t in hostile["tests"]] == ["failed", "failed"]
    assert "<img src=x onerror=alert(1)> # **10 / 10 points**" in hostile["output"]
    assert hostile["tests"][0]["output"].startswith("error: <img")
    assert files["ada/01_a/results.json"]["score"] == 5 and files["ada/01_a/results.json"]["execution_time"] == 3


@pytest.mark.parametrize("broken", [{"tests": [{"scor": 1}]}, {"score": 1, "tests": [{"score": 1, "status": "ok"}]},
                                    {"score": 1, "visibility": "public"}, {"tests": [{"name": "no score"}]},
                                    {"score": "10"}])
def test_the_schema_refuses_what_gradescope_does_not_document(broken):
    """The schema is no rubber stamp: a misspelt field, an unknown status or visibility, no score at all."""
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(broken)


@pytest.mark.slow
def test_run_autograder_grades_a_gradescope_submission_into_one_valid_results_json(tmp_path, isolation):
    """deploy/gradescope/run_autograder as Gradescope runs it: /autograder/submission in, results.json out."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(ROOT, target_is_directory=True)
    nbformat.write(solved_except(TARGET, wrong(TARGET)), root / "submission" / LESSON)
    (root / "submission" / "notes.txt").write_text("not a notebook: not graded")
    done = subprocess.run(["bash", str(ROOT / "deploy" / "gradescope" / "run_autograder")], capture_output=True,
                          text=True, env={**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": sys.executable,
                                          "COURSE_LESSONS": LESSON[:2]})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    VALIDATOR.validate(results)
    assert results["score"] == THE_LESSON.max_points - POINTS[TARGET]
    assert [t["name"] for t in results["tests"]] == [t.grade_id for t in THE_LESSON.tests]
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and "values differ" in t["output"] for t in failed)
