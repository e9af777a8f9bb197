"""Every lesson ends with questions, their answers (in solutions/ only) and the references it relies on."""

import re

import nbformat
import pytest

from helpers import ROOT
from instructor_tools import lesson as lesson_format

LESSONS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def numbered(text: str) -> list[str]:
    return re.findall(r"^(\d+)\. ", text, re.M)


@pytest.mark.parametrize("lesson", LESSONS)
def test_questions_answers_and_references(lesson):
    solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    student = nbformat.read(ROOT / "notebooks" / lesson, as_version=4)
    questions, answers, references = (c.source for c in solution.cells[-3:])
    assert questions.startswith("## Questions") and 2 <= len(numbered(questions)) <= 4, questions
    assert solution.cells[-2].metadata == {lesson_format.COURSE: {lesson_format.ANSWERS: True}}
    assert answers.startswith("## Answers") and numbered(answers) == numbered(questions)
    links = re.findall(r"^- .*<https?://[^>\s]+>", references, re.M)
    assert references.startswith("## References") and links and len(links) == len(re.findall(r"^- ", references, re.M))
    # the student sees the questions and the references, never the answers
    assert [c.source for c in student.cells[-3:]] == [questions, lesson_format.ANSWERS_PLACEHOLDER, references]
    for answer in re.split(r"^\d+\. ", answers, flags=re.M)[1:]:
        assert answer.strip()[:60] not in "\n".join(c.source for c in student.cells)
