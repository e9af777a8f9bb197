"""The feedback a student reads, from the planted batch (conftest.py)."""

from __future__ import annotations

import pytest
from planted_lesson import EXERCISES, POINTS, TARGET, THE_LESSON

from instructor_tools.grading.report import feedback_text


@pytest.mark.slow
def test_feedback_names_each_exercise_its_points_and_what_was_wrong(planted):
    text = feedback_text(planted["by"]["wrong"])
    for ex in EXERCISES:
        assert f"Exercise `{ex}`" in text
    assert f"**{THE_LESSON.max_points - POINTS[TARGET]:g} / {THE_LESSON.max_points:g} points**" in text
    assert "values differ" in text
