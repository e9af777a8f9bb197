"""instructor_tools.study_time: the estimate follows the lesson, and every header and README.md state it."""

import json

from instructor_tools import study_time


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
        ("markdown", "header " * 500, {"course": {"header": True}}),             # not counted
        ("markdown", f"# Title\n\n{words}"),                                      # 201 words
        ("code", "def f():\n    ### BEGIN SOLUTION\n    pass", {"nbgrader": {"solution": True}}),
        ("code", "f()"),
        ("markdown", f"## Optional: speed\n\n{words}"),                            # optional: 202 words
        ("code", "speed()"),
        ("markdown", "## Questions\n\n1. Why?\n2. How?\n3. When?"),
        ("markdown", "## Answers\n\n" + "long answer " * 300, {"course": {"answers": True}}),
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
    found = study_time.problems(tmp_path)
    assert len(found) == 2 and source.name in found[0] and "README.md" in found[1]
    study_time.write(tmp_path)
    assert study_time.problems(tmp_path) == []
    written = (tmp_path / "solutions" / source.name).read_text()
    study_time.write(tmp_path)
    assert (tmp_path / "solutions" / source.name).read_text() == written, "writing twice changes nothing"
