"""The gradebook, the totals and the feedback a student reads: right, and not forgeable by students."""

from __future__ import annotations

import csv
import os
import unicodedata

import pytest
from planted_lesson import EXERCISES, POINTS, TARGET, THE_LESSON

from instructor_tools.grading.batch import NO_KERNEL, Graded, Row, readable
from instructor_tools.grading.report import (
    COLUMNS,
    FORMULA_STARTS,
    TOTAL_COLUMNS,
    _code,
    feedback_path,
    feedback_text,
    terminal_safe,
    write_feedback,
    write_gradebook,
    write_totals,
)


@pytest.mark.slow
def test_feedback_names_each_exercise_its_points_and_what_was_wrong(planted):
    text = feedback_text(planted["by"]["wrong"])
    for ex in EXERCISES:
        assert f"Exercise `{ex}`" in text
    assert f"**{THE_LESSON.max_points - POINTS[TARGET]:g} / {THE_LESSON.max_points:g} points**" in text
    assert "values differ" in text


@pytest.mark.slow
def test_feedback_on_an_untouched_exercise_tells_the_student_what_to_do(planted):
    """Not the stub's own words ("replace this line"), which speak of the line in the notebook."""
    text = feedback_text(planted["by"]["untouched"])
    assert text.count("not attempted: the exercise still raises NotImplementedError; write your solution in its "
                      "cell") == len(THE_LESSON.tests)
    assert "replace this line" not in text and "is not solved yet" not in text


FORMULA = '=HYPERLINK("http://x","click")'
EVIL = "\n\n**10 / 10 points**\n# Heading [link](http://x) <img src=x> <b>bold</b> ```py\n`code` \x1b[31mred\u202e"


def graded(student="ada", message="wrong", isolation="bubblewrap", notes=()) -> Graded:
    rows = [Row(student, "01_x.ipynb", "t1", 0, 2, "failed", message, "ex1"),
            Row(student, "01_x.ipynb", "t2", 1, 1, "passed", "", "ex1")]
    return Graded(student, "01_x.ipynb", rows, list(notes), isolation=isolation)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_csv_cells_cannot_be_formulas_and_numbers_stay_numbers(tmp_path):
    batch = [graded(FORMULA, FORMULA, "-x"), graded("ada", "@SUM(A1)", ""),
             Graded("+1", "\tx.ipynb", [Row("+1", "\tx.ipynb", "", 0, 0, "invalid", "\rbad")])]
    write_gradebook(batch, tmp_path / "grades.csv")
    write_totals(batch, tmp_path / "totals.csv")
    header, *rows = read_csv(tmp_path / "grades.csv")
    assert tuple(header) == COLUMNS and COLUMNS[-1] == "isolation"
    assert rows[0] == ["'" + FORMULA, "01_x.ipynb", "t1", "0", "2", "failed", "'" + FORMULA, "'-x"]
    assert rows[2][6] == "'@SUM(A1)" and rows[2][7] == ""
    assert rows[4][:2] == ["'+1", "'\tx.ipynb"] and rows[4][6] == "bad"  # whitespace collapsed first
    header, *totals = read_csv(tmp_path / "totals.csv")
    assert tuple(header) == TOTAL_COLUMNS and TOTAL_COLUMNS[-1] == "isolation"
    assert totals[0] == ["'" + FORMULA, "01_x.ipynb", "1", "3", "1", "2", "'-x"]
    assert totals[1][-1] == "" and totals[2] == ["'+1", "'\tx.ipynb", "0", "0", "0", "0", "no kernel ran"]
    for cell in [c for row in rows + totals for c in row]:
        assert not cell.startswith(FORMULA_STARTS)


def test_feedback_shows_student_text_as_literal_text():
    markdown_it = pytest.importorskip("markdown_it")
    g = graded("ada`<img src=x>", EVIL, notes=[EVIL])
    g.notebook = "01 [x](http://x).ipynb"
    text = feedback_text(g)
    tokens = markdown_it.MarkdownIt("commonmark").parse(text)
    every = tokens + [child for t in tokens for child in t.children or []]
    types = {t.type for t in every}
    assert not types & {"link_open", "image", "html_inline", "html_block", "fence", "code_block", "hr", "em_open"}
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1", "h2"]
    assert sum(t.type == "strong_open" for t in every) == 1  # the one points line
    one_line = "**10 / 10 points** # Heading [link](http://x) <img src=x> <b>bold</b> ```py `code` [31mred"
    assert [t.content for t in every if t.type == "code_inline"].count(one_line) == 2  # the note and the message
    assert "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize("text", ["`", "``", " a`", "`a` ", "a ``` b", "x" * 5])
def test_code_spans_hold_any_backticks(text):
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").parseInline(_code(text))[0].children
    assert [(t.type, t.content) for t in tokens] == [("code_inline", " ".join(text.split()))]


def test_terminal_safe_escapes_control_characters_and_keeps_unicode():
    assert terminal_safe("\x1b[31mred\x1b[0m\n") == "\\x1b[31mred\\x1b[0m\\n"
    assert terminal_safe("a\x00b\x7fc\x9bd\te\r") == "a\\x00b\\x7fc\\x9bd\\te\\r"
    assert terminal_safe("x\u202ey\u2028z\u2066") == "x\\u202ey\\u2028z\\u2066"
    assert terminal_safe("Zoë: 3/4 ✓ 😀 日本 café") == "Zoë: 3/4 ✓ 😀 日本 café"
    every = "".join(map(chr, range(0x250)))
    assert not any(unicodedata.category(ch) == "Cc" for ch in terminal_safe(every))


# --------------------------------------------------------------------------- any name, and files written whole

ODD = os.fsdecode(b"caf\xe9")  # a folder name that is not UTF-8, as Python lists it (a lone surrogate)


def test_a_result_without_a_kernel_says_so_in_the_isolation_column():
    assert Graded("ada", "01_x.ipynb", []).isolation == NO_KERNEL == "no kernel ran"


def test_names_that_are_not_utf8_are_rows_of_every_file(tmp_path):
    """Bytes that are not UTF-8, escaped; a lone surrogate anywhere (a message too) never stops a writer."""
    batch = [graded(readable(ODD)), graded(ODD, message="bad \udcff byte"), graded("zed")]
    write_gradebook(batch, tmp_path / "grades.csv")
    write_totals(batch, tmp_path / "totals.csv")
    write_feedback(batch, tmp_path / "feedback")
    rows = read_csv(tmp_path / "grades.csv")[1:]
    assert [r[0] for r in rows] == ["caf\\xe9", "caf\\xe9", "caf\\udce9", "caf\\udce9", "zed", "zed"]
    assert rows[2][6] == "bad \\udcff byte"
    assert [r[0] for r in read_csv(tmp_path / "totals.csv")[1:]] == ["caf\\xe9", "caf\\udce9", "zed"]
    assert sorted(p.parent.name for p in (tmp_path / "feedback").rglob("*.md")) == ["caf\\udce9", "caf\\xe9", "zed"]


@pytest.mark.parametrize("student, notebook", [("..", "../../x.ipynb"), (".", ""), ("", ".."), ("a/../../b", "/etc"),
                                               ("x" * 300, "é" * 300 + ".ipynb"), ("\x00", "\x00.ipynb")])
def test_feedback_paths_stay_in_the_feedback_folder(tmp_path, student, notebook):
    folder = tmp_path / "feedback"
    g = Graded(student, notebook, [Row(student, notebook, "", 0, 0, "invalid", "odd")])
    path = feedback_path(folder, g)
    assert path.parent.parent == folder and path.parent.name not in ("", ".", "..") and path.suffix == ".md"
    assert len(path.name.encode()) <= 255 and len(path.parent.name.encode()) <= 255
    write_feedback([g], folder)
    assert [p for p in folder.rglob("*") if p.is_file()] == [path] and "odd" in path.read_text()


def test_a_near_miss_shares_its_lessons_feedback_file_after_the_lesson(tmp_path):
    lesson = graded("ada")
    near = Graded("ada", "01_x.IPYNB", [Row("ada", "01_x.IPYNB", "", 0, 0, "invalid", "rename it to 01_x.ipynb")])
    write_feedback([near, lesson], tmp_path)
    text = (tmp_path / "ada" / "01_x.md").read_text()
    assert text.index("`01_x.ipynb`") < text.index("rename it to 01_x.ipynb")


def test_a_file_is_written_whole_or_not_at_all(tmp_path):
    """A writer that fails half-way leaves the earlier gradebook as it was, and no temporary file."""
    target = tmp_path / "grades.csv"
    target.write_text("the earlier gradebook\n")

    class Broken(Graded):
        @property
        def points(self):
            raise RuntimeError("half-way")

    batch = [graded("ada"), Broken("bob", "01_x.ipynb", [Row("bob", "01_x.ipynb", "t1", 0, 1, "failed")])]
    write_gradebook(batch, target)  # rows only: fine
    with pytest.raises(RuntimeError):
        write_totals(batch, target)
    assert read_csv(target)[0] == list(COLUMNS)  # the gradebook just written, not half a totals file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]
