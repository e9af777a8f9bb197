"""instructor_tools.study_time: the estimate follows the lesson, and every header and README.md state it."""

import json
import shutil

from helpers import healthy_run
from instructor_tools import study_time
from instructor_tools.lesson import ANSWERS, COURSE, CPU_ONLY, HEADER, course_metadata


def _copy_times(root):
    """The course's ``times.json`` into a copy of the course at ``root``; its path there."""
    target = root / study_time.TIMES_DIR / healthy_run.TIMES
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(healthy_run.HEALTHY_RUN_DIR / healthy_run.TIMES, target)
    return target


def _notebook(tmp_path, cells):
    def cell(kind, text, **meta):
        return {"cell_type": kind, "metadata": meta, "source": text.splitlines(keepends=True),
                **({"outputs": [], "execution_count": None} if kind == "code" else {})}

    path = tmp_path / "42_test.ipynb"
    path.write_text(json.dumps({"cells": [cell(*c[:2], **(c[2] if len(c) > 2 else {})) for c in cells]}))
    return path


def test_estimate_counts_words_exercises_questions_and_the_optional_part(tmp_path):
    words = " ".join(["word"] * 200)
    path = _notebook(tmp_path, [
        ("markdown", "header " * 500, {COURSE: {HEADER: True}}),             # not counted
        ("markdown", f"# Title\n\n{words}"),                                      # 201 words
        ("code", "def f():\n    ### BEGIN SOLUTION\n    pass", {"nbgrader": {"solution": True}}),
        ("code", "f()"),
        ("markdown", f"## Optional: speed\n\n{words}"),                            # optional: 202 words
        ("code", "speed()"),
        ("markdown", "## Questions\n\n1. Why?\n2. How?\n3. When?"),
        ("markdown", "## Answers\n\n" + "long answer " * 300, {COURSE: {ANSWERS: True}}),
    ])
    study = study_time.estimate(path)
    assert (study.words, study.exercises, study.questions, study.code_cells) == (403, 1, 3, 2)
    core = 201 / study_time.WORDS_PER_MINUTE + study_time.EXERCISE_MINUTES + study_time.CODE_CELL_MINUTES \
        + 3 * study_time.QUESTION_MINUTES
    assert study.minutes == core
    assert study.optional_minutes == 202 / study_time.WORDS_PER_MINUTE + study_time.CODE_CELL_MINUTES
    assert study_time.duration(study.minutes) == "40 min" and study_time.duration(125) == "2 h 5 min"
    assert study_time.duration(118) == "2 h"
    assert "plus about 5 min for the optional part" in study_time.header_line(study)


def test_every_lesson_header_and_the_readme_state_the_estimate():
    assert study_time.problems() == []


def test_check_fails_when_a_header_is_stale(tmp_path):
    (tmp_path / "solutions").mkdir()
    source = study_time.lessons()[4]
    stale = json.loads(source.read_text())
    stale["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {"solution": True}}, "source": ["x = 1"],
                           "outputs": [], "execution_count": None})  # one more exercise: 20 minutes more
    (tmp_path / "solutions" / source.name).write_text(json.dumps(stale))
    (tmp_path / "README.md").write_text((study_time.ROOT / "README.md").read_text())
    _copy_times(tmp_path)
    found = study_time.problems(tmp_path)
    assert len(found) == 2 and source.name in found[0] and "README.md" in found[1]
    study_time.write(tmp_path)
    assert study_time.problems(tmp_path) == []
    written = (tmp_path / "solutions" / source.name).read_text()
    study_time.write(tmp_path)
    assert (tmp_path / "solutions" / source.name).read_text() == written, "writing twice changes nothing"


def test_run_time_line_states_each_profile_and_what_the_gpu_does():
    times = {"_run": {"cores": 2}, study_time.LESSON_TIMES: {"04": {"smoke": 3.2, "cpu": 4.0},
                                                             "08": {"smoke": 27.0, "cpu": 215.0}}}
    assert study_time.run_time_line("04", True, times) == (
        "**Run time** (Run All, kernel start included, measured on a 2-core CPU): `smoke` about 3 s, `cpu` about 4 s; "
        "`gpu` does the same work as `cpu`, since nothing here runs on a GPU.")
    assert study_time.run_time_line("08", False, times) == (
        "**Run time** (Run All, kernel start included, measured on a 2-core CPU): `smoke` about 27 s, "
        "`cpu` about 4 min; `gpu` not measured.")
    times[study_time.LESSON_TIMES]["08"]["gpu"] = 20.4
    assert study_time.run_time_line("08", False, times).endswith("`cpu` about 4 min, `gpu` about 20 s.")
    assert "not measured yet" in study_time.run_time_line("11", False, times)


def test_every_lesson_without_gpu_work_says_so_in_its_metadata():
    """Lessons 00-04 run NumPy only: their title cells carry the fact, and their headers say it."""
    for path in study_time.lessons():
        cpu_only = bool(course_metadata(study_time._title(path)).get(CPU_ONLY))
        assert cpu_only == (path.name[:2] <= "04"), path.name


def test_check_fails_when_a_run_time_differs_from_times_json(tmp_path):
    (tmp_path / "solutions").mkdir()
    source = study_time.lessons()[4]
    shutil.copy(source, tmp_path / "solutions" / source.name)
    (tmp_path / "README.md").write_text((study_time.ROOT / "README.md").read_text())
    times_path = _copy_times(tmp_path)
    study_time.write(tmp_path)  # whatever the lesson's header says today
    assert study_time.problems(tmp_path) == []
    times = json.loads(times_path.read_text())
    times[study_time.LESSON_TIMES][source.name[:2]]["cpu"] = 600.0  # a new measurement: 10 minutes
    times_path.write_text(json.dumps(times))
    found = study_time.problems(tmp_path)
    assert len(found) == 1 and source.name in found[0] and "`cpu` about 10 min" in found[0]
    study_time.write(tmp_path)
    assert study_time.problems(tmp_path) == []
    title = "".join(json.loads((tmp_path / "solutions" / source.name).read_text())["cells"][2]["source"])
    assert title.count("**Run time**") == 1 and "`cpu` about 10 min" in title
    assert title.index(study_time.HEADER_PREFIX) < title.index("**Run time**")  # the study time comes first


def test_write_replaces_an_old_run_time_paragraph_and_keeps_the_next(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "README.md").write_text((study_time.ROOT / "README.md").read_text())
    _copy_times(tmp_path)
    source = study_time.lessons()[0]
    nb = json.loads(source.read_text())
    nb["cells"][2]["source"] = ("# Title\n\nIntro.\n\n**Running time** of the whole notebook, typed by hand:\n"
                                "`smoke` 13 s · `cpu` 13 s\n\nThe next paragraph.")
    nb["cells"][2]["metadata"] = {COURSE: {CPU_ONLY: True}}
    (tmp_path / "solutions" / source.name).write_text(json.dumps(nb))
    study_time.write(tmp_path)
    title = "".join(json.loads((tmp_path / "solutions" / source.name).read_text())["cells"][2]["source"])
    assert "typed by hand" not in title and title.endswith("\n\nThe next paragraph.")
    written = tmp_path / "solutions" / source.name
    assert study_time.expected_run_time(written, healthy_run.load_times()) in title.split("\n\n")
    assert "does the same work as `cpu`" in title
