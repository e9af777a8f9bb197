"""The book's cache, pages and command, without Sphinx or a browser (tests/browser/test_book.py builds and opens it)."""

from __future__ import annotations

import re
import subprocess

import nbformat
import pytest

import instructor_tools.book as book
from helpers import ROOT
from helpers.checks import stub_message
from instructor_tools.book import execute, pages
from instructor_tools.lesson import ANSWERS, COURSE, lessons


def lesson(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:") else nbformat.v4.new_code_cell(s)
                for s in cells]
    return nb


SOLVED = "return 2 * x  # the course's answer"
HIDDEN = 'print("hidden case:", double(21))'


def planted_lesson():
    """A lesson as an author writes one: an exercise with its solution region, a graded cell with hidden
    tests, a figure, and the answers to its questions."""
    nb = lesson("md:# Planted",
                f'def double(x):\n    """Twice x."""\n    ### BEGIN SOLUTION\n    {SOLVED}\n    ### END SOLUTION',
                f'print("visible:", double(2))\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS',
                "draw_a_figure()", "md:**Answers.** 1. Twice.")
    common = {"locked": False, "schema_version": 3, "task": False}
    nb.cells[1].metadata["nbgrader"] = {**common, "grade": False, "grade_id": "double", "solution": True}
    nb.cells[2].metadata["nbgrader"] = {**common, "grade": True, "grade_id": "test_double", "points": 1,
                                        "solution": False, "locked": True}
    nb.cells[4].metadata[COURSE] = {ANSWERS: True}
    return nb


def output(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def shown(nb) -> str:
    """Everything a page of ``nb`` can show: its cells' sources and their outputs' text."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts += [out.get("text", ""), *(str(v) for v in out.get("data", {}).values())]
    return "\n".join(parts)


def test_lessons_are_what_solutions_holds():
    names = [p.name for p in lessons()]
    assert names == sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")) and names


def test_the_key_follows_code_profile_and_inputs_but_not_prose(tmp_path):
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "a.py").write_text("x = 1\n")
    inputs = execute.inputs_digest(tmp_path)
    key = execute.cache_key(lesson("md:# Title", "print(1)"), "smoke", inputs)
    assert execute.cache_key(lesson("md:# Title, reworded", "print(1)"), "smoke", inputs) == key
    assert execute.cache_key(lesson("md:# Title", "print(2)"), "smoke", inputs) != key
    assert execute.cache_key(lesson("md:# Title", "print(1)"), "cpu", inputs) != key
    assert execute.cache_key(lesson("md:# Title", "print(1)"), "smoke", inputs, instructor=True) != key
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
    names = [p.stem for p in lessons()]
    text = pages.front_page((ROOT / "README.md").read_text(encoding="utf-8"), names, "cpu")
    for name in names:
        assert f"](lessons/{name}.ipynb)" in text and f"\nlessons/{name}\n" in text
    assert "](notebooks/" not in text  # the Colab badges still open notebooks/, the lesson links open the book
    assert pages.COLAB_BADGE_URL not in text and f"]({pages.BADGE})" in text
    assert "run in the `cpu` profile" in text
    with pytest.raises(pages.PageError, match="99_gone"):
        pages.front_page("# T\n\nintro\n\n## Lessons\n\n[x](notebooks/99_gone.ipynb)\n", names, "cpu")


@pytest.mark.parametrize("instructor", [False, True], ids=["public", "instructor"])
def test_lesson_page_drops_the_remote_badge_and_hides_the_setup_cell(instructor):
    nb = nbformat.read(lessons()[0], as_version=4)
    page = pages.lesson_page(nb, lessons()[0].stem, instructor)
    text = nbformat.writes(page)
    assert pages.COLAB_BADGE_URL not in text and "../_static/colab-badge.svg" in text
    setup = [c for c in page.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert len(setup) == 1 and "install_stub_handler()" in setup[0].source
    title = next(i for i, c in enumerate(page.cells) if c.cell_type == "markdown" and c.source.startswith("# "))
    assert "Open In Colab" in page.cells[title + 1].source
    # Only the instructor's book points at the solved lesson (and so at its hidden tests)
    assert ("this solved lesson" in page.cells[title + 1].source) == instructor


def test_a_public_page_shows_neither_the_solution_nor_the_hidden_tests():
    """The page-making step on its own: a planted lesson, run as the public book runs it, shown as it shows it."""
    solution = planted_lesson()
    ran = pages.without_hidden_tests(solution, "42_planted")
    assert SOLVED in ran.cells[1].source, "the public run must solve the exercises: its figures are a solved run's"
    assert HIDDEN not in ran.cells[2].source and 'print("visible:", double(2))' in ran.cells[2].source
    ran.cells[2].outputs = [output("visible: 4\n")]
    ran.cells[3].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                                         "text/plain": "<Figure>"})]
    page = pages.lesson_page(ran, "42_planted")
    text = shown(page)
    for hidden in (*pages.MARKERS, HIDDEN, SOLVED):
        assert hidden not in text, f"the public page shows {hidden!r}"
    exercise = next(c for c in page.cells if c.source.startswith("def double"))
    assert '"""Twice x."""' in exercise.source and stub_message("double") in exercise.source  # as learners get it
    graded = next(c for c in page.cells if "visible:" in c.source)
    assert graded.outputs[0].text == "visible: 4\n"  # the solved run's outputs, the figure's too
    assert any("image/png" in o.get("data", {}) for c in page.cells if c.cell_type == "code" for o in c.outputs)
    assert any(c.source == "**Answers.** 1. Twice." for c in page.cells)  # not graded: the page keeps them
    # The very same search finds all of it on the instructor's page.
    everything = shown(pages.lesson_page(solution, "42_planted", instructor=True))
    assert all(hidden in everything for hidden in (*pages.MARKERS, HIDDEN, SOLVED))


def test_the_public_book_never_runs_a_hidden_test(tmp_path):
    """Hidden tests' output (a check's ``✓ name`` line) would tell of them: the public run leaves them out."""
    (tmp_path / "solutions").mkdir()
    solution = planted_lesson()
    solution.cells[3].source = "print('figure')"
    nbformat.write(solution, tmp_path / "solutions" / "42_planted.ipynb")

    def graded_output(books):
        cell = next(c for c in books[0].nb.cells if c.cell_type == "code" and "visible:" in c.source)
        return "".join(o.get("text", "") for o in cell.outputs)

    quiet = {"root": tmp_path, "log": lambda *a, **k: None}
    public_run = execute.execute_all("smoke", tmp_path / "public", **quiet)
    assert graded_output(public_run) == "visible: 4\n"
    (tmp_path / "README.md").write_text("# Planted\n\n## Lessons\n\n[42](notebooks/42_planted.ipynb)\n")
    pages.write_sources(tmp_path / "src", public_run, "smoke", root=tmp_path)
    written = shown(nbformat.read(tmp_path / "src" / "lessons" / "42_planted.ipynb", as_version=4))
    assert "visible: 4" in written and stub_message("double") in written
    assert not [hidden for hidden in (*pages.MARKERS, "hidden case", SOLVED) if hidden in written]
    assert execute.execute_all("smoke", tmp_path / "public", **quiet)[0].cached  # the cache per lesson still works
    instructor_run = execute.execute_all("smoke", tmp_path / "instructor", instructor=True, **quiet)
    assert graded_output(instructor_run) == "visible: 4\nhidden case: 42\n"
    keys = {p.name.split(".")[1] for p in (tmp_path / "public").rglob("*.ipynb")} | \
        {p.name.split(".")[1] for p in (tmp_path / "instructor").rglob("*.ipynb")}
    assert len(keys) == 2, "the two books' runs must never share a cache entry"


def test_markers_in_finds_a_marker_in_any_page_of_the_site(tmp_path):
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "01_a.html").write_text("<p>fine</p>")
    (tmp_path / "searchindex.js").write_text("Search.setIndex({})")
    assert pages.markers_in(tmp_path) == []
    (tmp_path / "lessons" / "02_b.html").write_text('<span class="c1">### BEGIN HIDDEN TESTS</span>')
    assert pages.markers_in(tmp_path) == ["lessons/02_b.html: ### BEGIN HIDDEN TESTS"]


@pytest.mark.parametrize("instructor", [False, True], ids=["public", "instructor"])
def test_a_public_book_with_a_marker_is_deleted_not_published(tmp_path, monkeypatch, instructor):
    """The last guard: whatever slipped through the pages, Sphinx's output is searched before it is kept."""
    monkeypatch.setattr(book, "execute_all", lambda *a, **k: [])
    monkeypatch.setattr(book, "write_sources", lambda *a, **k: [])

    def sphinx(command, **kwargs):
        page = tmp_path / "html" / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text('<span class="c1">### BEGIN SOLUTION</span>')
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(book.subprocess, "run", sphinx)
    if instructor:
        assert book.build("smoke", tmp_path, log=lambda *a, **k: None, instructor=True) == tmp_path / "html"
    else:
        with pytest.raises(book.LeakError, match=r"index.html: ### BEGIN SOLUTION"):
            book.build("smoke", tmp_path, log=lambda *a, **k: None)
        assert not (tmp_path / "html").exists()


@pytest.mark.parametrize(("argv", "env", "profile", "out"), [
    ([], None, "cpu", book.DEFAULT_OUT),
    ([], "smoke", "smoke", book.DEFAULT_OUT),
    (["--profile", "gpu"], "smoke", "gpu", book.DEFAULT_OUT),
    (["--instructor"], "smoke", "smoke", book.INSTRUCTOR_OUT),
])
def test_the_command_honours_course_profile_and_keeps_the_books_apart(monkeypatch, argv, env, profile, out):
    calls = []
    monkeypatch.setattr(book, "build", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.delenv("COURSE_PROFILE", raising=False)  # the test suite's own conftest sets it
    monkeypatch.setenv("CI", "true")  # followed by the lessons, not by the book (the Pages workflow has it)
    if env:
        monkeypatch.setenv("COURSE_PROFILE", env)
    assert book.main(argv) == 0
    (chosen, folder, _), options = calls[0]
    assert (chosen, folder, options["instructor"]) == (profile, out, "--instructor" in argv)


def test_an_unknown_course_profile_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    monkeypatch.setattr(book, "build", lambda *a, **k: pytest.fail("built with an unknown profile"))
    with pytest.raises(SystemExit) as exit_:
        book.main([])
    assert exit_.value.code == 2 and "COURSE_PROFILE='fast' is not a run profile" in capsys.readouterr().err


def test_unchanged_lessons_write_unchanged_sources(tmp_path):
    """What makes a rebuild fast: Sphinx re-reads only the pages whose source file changed."""
    done = [execute.Executed(p.stem, nbformat.read(p, as_version=4), cached=True, seconds=0.0)
            for p in lessons()]
    first = pages.write_sources(tmp_path, done, "smoke")
    assert {p.name for p in first} == {"conf.py", "colab-badge.svg", "course-a11y.js", "course-a11y.css", "index.md",
                                       "_alt_texts.json"} | {f"{d.name}.ipynb" for d in done}
    assert pages.write_sources(tmp_path, done, "smoke") == []
    done[-1].nb.cells[-1].source += "\n\nOne more sentence."
    assert pages.write_sources(tmp_path, done, "smoke") == [tmp_path / "lessons" / f"{done[-1].name}.ipynb"]
    (tmp_path / "lessons" / "99_renamed.ipynb").write_text("{}")
    pages.write_sources(tmp_path, done, "smoke")
    assert sorted(p.stem for p in (tmp_path / "lessons").iterdir()) == [d.name for d in done]
