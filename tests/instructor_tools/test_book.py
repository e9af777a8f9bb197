"""The book's cache and pages, without Sphinx or a browser (tests/browser/test_book.py builds and opens it)."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers import ROOT
from instructor_tools.book import execute, pages


def lesson(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:") else nbformat.v4.new_code_cell(s)
                for s in cells]
    return nb


def test_lessons_are_what_solutions_holds():
    names = [p.name for p in execute.lessons()]
    assert names == sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")) and names


def test_the_key_follows_code_profile_and_inputs_but_not_prose(tmp_path):
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "a.py").write_text("x = 1\n")
    inputs = execute.inputs_digest(tmp_path)
    key = execute.cache_key(lesson("md:# Title", "print(1)"), "smoke", inputs)
    assert execute.cache_key(lesson("md:# Title, reworded", "print(1)"), "smoke", inputs) == key
    assert execute.cache_key(lesson("md:# Title", "print(2)"), "smoke", inputs) != key
    assert execute.cache_key(lesson("md:# Title", "print(1)"), "cpu", inputs) != key
    (tmp_path / "helpers" / "a.py").write_text("x = 2\n")
    assert execute.inputs_digest(tmp_path) != inputs
    (tmp_path / "helpers" / "a.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.npz").write_bytes(b"\0")
    assert execute.inputs_digest(tmp_path) != inputs


def test_merge_keeps_fresh_prose_and_cached_outputs():
    executed = lesson("md:old words", "print(1)", "md:more", "2 + 2")
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    executed.cells[1].execution_count = 1
    executed.cells[3].execution_count = 2
    fresh = lesson("md:new words", "print(1)", "md:more, and a new paragraph", "2 + 2")
    execute.merge_outputs(fresh, executed)
    assert fresh.cells[0].source == "new words" and fresh.cells[1].outputs[0].text == "1\n"
    assert [c.execution_count for c in fresh.cells if c.cell_type == "code"] == [1, 2]
    with pytest.raises(ValueError, match="other code cells"):
        execute.merge_outputs(lesson("print(1)", "3 + 3"), executed)


def test_a_failing_lesson_is_named_with_its_cell(tmp_path):
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "42_broken.ipynb"
    nbformat.write(lesson("md:# Broken", "x = 1", "md:then", "y = x / 0", "print('never')"), path)
    with pytest.raises(execute.LessonError, match=r"lesson 42_broken: cell 3 failed: ZeroDivisionError") as err:
        execute.execute_all("smoke", tmp_path / "cache", root=tmp_path, log=lambda *a, **k: None)
    assert "y = x / 0" in str(err.value)
    assert not list((tmp_path / "cache").rglob("*.ipynb")), "a failed lesson must not be cached"


def test_a_cell_that_runs_too_long_is_named(tmp_path):
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "43_slow.ipynb"
    nbformat.write(lesson("md:# Slow", "x = 1", "import time\ntime.sleep(60)", "print('never')"), path)
    with pytest.raises(execute.LessonError, match=r"^lesson 43_slow: cell 2 ran longer than 2 s \(--cell-timeout\)$"):
        execute.execute_all("smoke", tmp_path / "cache", root=tmp_path, cell_timeout=2, log=lambda *a, **k: None)


def test_a_lesson_runs_once_then_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "agg")  # a headless run's setting: the book's kernels must draw inline
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "42_tiny.ipynb"
    code = ("import os\nruns = os.environ['COURSE_RUNS']\n"
            "print(os.environ['COURSE_PROFILE'], os.listdir(runs), os.environ.get('MPLBACKEND', 'inline (default)'))")
    nbformat.write(lesson("md:# Tiny", code), path)
    lines = []
    first = execute.execute_all("cpu", tmp_path / "cache", root=tmp_path, log=lambda s, **k: lines.append(s))
    assert not first[0].cached and first[0].nb.cells[1].outputs[0].text.startswith("cpu [] ")
    nbformat.write(lesson("md:# Tiny, retitled", code), path)
    second = execute.execute_all("cpu", tmp_path / "cache", root=tmp_path, log=lambda s, **k: lines.append(s))
    assert "inline" in first[0].nb.cells[1].outputs[0].text
    assert second[0].cached and second[0].nb.cells[0].source == "# Tiny, retitled"
    assert second[0].nb.cells[1].outputs == first[0].nb.cells[1].outputs
    assert [re.sub(r"[\d.]+ s$", "N s", s) for s in lines if " in " in s] == \
        ["  42_tiny: executed in N s", "  42_tiny: cached in N s"]


def test_front_page_is_the_readme_lesson_table_linked_into_the_book():
    names = [p.stem for p in execute.lessons()]
    text = pages.front_page((ROOT / "README.md").read_text(encoding="utf-8"), names, "cpu")
    for name in names:
        assert f"](lessons/{name}.ipynb)" in text and f"\nlessons/{name}\n" in text
    assert "](notebooks/" not in text  # the Colab badges still open notebooks/, the lesson links open the book
    assert pages.COLAB_BADGE_URL not in text and f"]({pages.BADGE})" in text
    assert "run in the `cpu` profile" in text
    with pytest.raises(pages.PageError, match="99_gone"):
        pages.front_page("# T\n\nintro\n\n## Lessons\n\n[x](notebooks/99_gone.ipynb)\n", names, "cpu")


def test_lesson_page_drops_the_remote_badge_and_hides_the_setup_cell():
    nb = nbformat.read(execute.lessons()[0], as_version=4)
    page = pages.lesson_page(nb, execute.lessons()[0].stem)
    text = nbformat.writes(page)
    assert pages.COLAB_BADGE_URL not in text and "../_static/colab-badge.svg" in text
    setup = [c for c in page.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert len(setup) == 1 and "install_stub_handler()" in setup[0].source
    title = next(i for i, c in enumerate(page.cells) if c.cell_type == "markdown" and c.source.startswith("# "))
    assert "Open In Colab" in page.cells[title + 1].source


def test_unchanged_lessons_write_unchanged_sources(tmp_path):
    """What makes a rebuild fast: Sphinx re-reads only the pages whose source file changed."""
    done = [execute.Executed(p.stem, nbformat.read(p, as_version=4), cached=True, seconds=0.0)
            for p in execute.lessons()]
    first = pages.write_sources(tmp_path, done, "smoke")
    assert {p.name for p in first} == {"conf.py", "colab-badge.svg", "index.md"} | {f"{d.name}.ipynb" for d in done}
    assert pages.write_sources(tmp_path, done, "smoke") == []
    done[-1].nb.cells[-1].source += "\n\nOne more sentence."
    assert pages.write_sources(tmp_path, done, "smoke") == [tmp_path / "lessons" / f"{done[-1].name}.ipynb"]
    (tmp_path / "lessons" / "99_renamed.ipynb").write_text("{}")
    pages.write_sources(tmp_path, done, "smoke")
    assert sorted(p.stem for p in (tmp_path / "lessons").iterdir()) == [d.name for d in done]
