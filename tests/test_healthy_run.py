"""data/healthy_run/: the pictures and times shown before each long cell, and the script that makes them."""

import importlib.util
import io
import json
import time

import matplotlib

matplotlib.use("Agg")

import IPython.core.formatters  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from helpers import ROOT, healthy_run, plotting  # noqa: E402
from instructor_tools.lesson import COURSE, HEALTHY_RUN, PICTURE  # noqa: E402

spec = importlib.util.spec_from_file_location("make_healthy_run", ROOT / "scripts" / "make_healthy_run.py")
make_healthy_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_healthy_run)


def png(width: int, height: int, value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def image_output(data: bytes, alt: str | None = None) -> nbformat.NotebookNode:
    """An ``image/png`` display, with the alt text ``helpers.plotting`` attaches to a described figure."""
    import base64

    metadata = {"image/png": {plotting.ALT: alt}} if alt else {}
    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(data).decode()},
                                  metadata=metadata)


def timed(cell, start: str, end: str):
    cell.metadata["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
    return cell


def test_results_take_the_time_of_the_tagged_cell_and_the_last_picture_before_the_next_text():
    train = timed(nbformat.v4.new_code_cell("train()"), "2026-11-26T10:00:00.000000Z", "2026-11-26T10:01:30.500000Z")
    train.metadata[COURSE] = {HEALTHY_RUN: "demo"}
    train.outputs = [image_output(png(4, 4, 10))]
    after = nbformat.v4.new_code_cell("plot()")
    after.outputs = [image_output(png(5, 5, 20))]
    later = nbformat.v4.new_code_cell("other()")
    later.outputs = [image_output(png(6, 6, 30))]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), train, after,
                                         nbformat.v4.new_markdown_cell("text"), later])
    (name, (seconds, picture, table, _)), = make_healthy_run.results(nb).items()
    assert name == "demo" and seconds == pytest.approx(90.5) and table is None
    assert Image.open(io.BytesIO(picture)).size == (5, 5)  # the following code cell's, not the one after the text
    train.metadata[COURSE][PICTURE] = -2  # the one before the last
    assert Image.open(io.BytesIO(make_healthy_run.results(nb)["demo"][1])).size == (4, 4)
    train.metadata[COURSE][PICTURE] = -3  # only two were drawn: an error that names the cell
    with pytest.raises(ValueError, match=r"'demo' drew 2 picture\(s\), but its metadata asks for picture -3"):
        make_healthy_run.results(nb)


def test_a_cell_that_prints_a_table_keeps_the_table(tmp_path, shown):
    cell = timed(nbformat.v4.new_code_cell("time_it()"), "2026-11-26T10:00:00Z", "2026-11-26T10:00:02Z")
    cell.metadata[COURSE] = {HEALTHY_RUN: "demo"}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|---|\n| 1 |"})]
    table = "| a |\n|---|\n| 1 |"
    assert make_healthy_run.results(nbformat.v4.new_notebook(cells=[cell]))["demo"] == (2.0, None, table, None)
    (tmp_path / "demo.md").write_text("| a |\n|---|\n| 1 |\n")
    assert healthy_run.show("demo", tmp_path) is None
    note, table = shown
    assert "no reference run recorded yet" in note.markdown
    assert table.markdown.startswith("What a healthy run ends with")
    assert table.markdown.endswith("| a |\n|---|\n| 1 |\n")


def test_the_description_of_the_kept_picture_is_its_alt_text():
    assert make_healthy_run.alt_text(image_output(png(2, 2, 1), alt="Sixty-four digits.")) == "Sixty-four digits."
    assert make_healthy_run.alt_text(image_output(png(2, 2, 1))) is None  # a figure nobody described
    train = timed(nbformat.v4.new_code_cell("train()"), "2026-11-26T10:00:00Z", "2026-11-26T10:00:02Z")
    train.metadata[COURSE] = {HEALTHY_RUN: "demo", PICTURE: -2}
    train.outputs = [image_output(png(4, 4, 10), alt="The first."), image_output(png(5, 5, 20), alt="The last.")]
    _, picture, _, alt = make_healthy_run.results(nbformat.v4.new_notebook(cells=[train]))["demo"]
    assert Image.open(io.BytesIO(picture)).size == (4, 4) and alt == "The first."  # the chosen picture's own


def a_run(alt: str | None):
    """A lesson's executed notebook: one tagged cell, which draws one picture described by ``alt``."""
    cell = timed(nbformat.v4.new_code_cell("train()"), "2026-11-26T10:00:00Z", "2026-11-26T10:00:03Z")
    cell.metadata[COURSE] = {HEALTHY_RUN: "demo"}
    cell.outputs = [image_output(png(4, 4, 10), alt=alt)]
    return nbformat.v4.new_notebook(cells=[cell])


def test_the_script_keeps_the_description_of_each_picture_it_keeps(tmp_path, monkeypatch):
    monkeypatch.setattr(make_healthy_run, "from_book", lambda path, profile, book: a_run("Four digits, all sevens."))
    (tmp_path / healthy_run.DESCRIPTIONS).write_text(json.dumps({
        "demo": "written by hand", "other": "kept",
        healthy_run.BY_HAND: {"note": "by hand", "names": ["demo", "other"]}}))
    argv = ["--lessons", "08", "--profiles", "cpu", "--out", str(tmp_path), "--from-book", str(tmp_path)]
    assert make_healthy_run.main(argv) == 0
    assert (tmp_path / "demo.png").is_file()
    stored = healthy_run.load_descriptions(tmp_path)
    assert stored["demo"] == "Four digits, all sevens." and stored["other"] == "kept"
    assert stored[healthy_run.BY_HAND]["names"] == ["other"]  # computed now: no longer marked as written by hand
    assert healthy_run.description("demo", tmp_path) == "Four digits, all sevens."


def test_a_picture_that_became_a_table_leaves_no_stale_picture_and_back(tmp_path, monkeypatch):
    """A tagged cell that used to draw and now prints a table (or the other way round) keeps only what it shows now."""
    table = timed(nbformat.v4.new_code_cell("summary()"), "2026-11-26T10:00:00Z", "2026-11-26T10:00:01Z")
    table.metadata[COURSE] = {HEALTHY_RUN: "demo"}
    table.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|---|\n| 1 |"})]
    argv = ["--lessons", "08", "--profiles", "cpu", "--out", str(tmp_path), "--from-book", str(tmp_path)]
    monkeypatch.setattr(make_healthy_run, "from_book", lambda path, profile, book: a_run("Four digits."))
    assert make_healthy_run.main(argv) == 0
    assert (tmp_path / "demo.png").is_file() and healthy_run.description("demo", tmp_path) == "Four digits."
    monkeypatch.setattr(make_healthy_run, "from_book",
                        lambda path, profile, book: nbformat.v4.new_notebook(cells=[table]))
    assert make_healthy_run.main(argv) == 0
    assert not (tmp_path / "demo.png").exists() and (tmp_path / "demo.md").read_text().startswith("| a |")
    assert "demo" not in healthy_run.load_descriptions(tmp_path)
    monkeypatch.setattr(make_healthy_run, "from_book", lambda path, profile, book: a_run("Four digits again."))
    assert make_healthy_run.main(argv) == 0
    assert (tmp_path / "demo.png").is_file() and not (tmp_path / "demo.md").exists()
    assert healthy_run.description("demo", tmp_path) == "Four digits again."


def test_the_script_refuses_a_picture_without_a_description(tmp_path, monkeypatch):
    monkeypatch.setattr(make_healthy_run, "from_book", lambda path, profile, book: a_run(None))
    argv = ["--lessons", "08", "--profiles", "cpu", "--out", str(tmp_path), "--from-book", str(tmp_path)]
    with pytest.raises(SystemExit, match="'demo' has no description"):
        make_healthy_run.main(argv)
    assert not (tmp_path / "demo.png").exists()


def test_a_tagged_cell_without_timing_is_an_error():
    cell = nbformat.v4.new_code_cell("train()")
    cell.metadata[COURSE] = {HEALTHY_RUN: "demo"}
    with pytest.raises(ValueError, match="no execution timing"):
        make_healthy_run.results(nbformat.v4.new_notebook(cells=[cell]))


def test_shrink_keeps_small_pictures_and_narrows_wide_ones():
    assert Image.open(io.BytesIO(make_healthy_run.shrink(png(300, 100, 5)))).size == (300, 100)
    assert Image.open(io.BytesIO(make_healthy_run.shrink(png(1800, 600, 5)))).size == (900, 300)


@pytest.fixture
def shown(monkeypatch):
    """What ``healthy_run.show`` hands to IPython's ``display``, in order."""
    objects = []
    monkeypatch.setattr("IPython.display.display", lambda obj: objects.append(obj))
    return objects


def test_show_displays_the_times_and_the_picture_once(tmp_path, monkeypatch, shown):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    (tmp_path / "demo.png").write_bytes(png(40, 20, 200))
    (tmp_path / healthy_run.TIMES).write_text(json.dumps({"demo": {"smoke": 0.4, "cpu": 335.0}}))
    open_before = plt.get_fignums()
    assert healthy_run.show("demo", tmp_path) is None  # nothing for IPython to display a second time
    note, fig = shown
    assert note.markdown == ("The next cell took `smoke` under 1 s · `cpu` 5.6 min in the course's reference run on "
                             "a 2-core CPU machine (`gpu`: not measured). This run's profile: `smoke`.")
    assert fig.axes[0].images[0].get_array().shape[:2] == (20, 40)
    assert plt.get_fignums() == open_before  # closed: the inline backend does not draw it again


def test_show_describes_the_picture_with_its_stored_description(tmp_path, shown):
    (tmp_path / "demo.png").write_bytes(png(40, 20, 200))
    healthy_run.show("demo", tmp_path)
    assert plotting.description(shown[-1]).endswith("(cpu profile): the picture the next cell ends with.")
    (tmp_path / healthy_run.DESCRIPTIONS).write_text(json.dumps({"demo": "Sixty-four digits after 4,000 steps."}))
    healthy_run.show("demo", tmp_path)
    assert plotting.description(shown[-1]) == ("What a healthy run ends with, in the course's reference run (cpu "
                                               "profile): Sixty-four digits after 4,000 steps.")


def test_a_picture_without_a_description_is_found(tmp_path):
    (tmp_path / "demo.png").write_bytes(png(4, 4, 1))
    (tmp_path / "table.md").write_text("| a |\n")  # a table is text already: it needs none
    assert healthy_run.undescribed(tmp_path) == ["demo"]
    (tmp_path / healthy_run.DESCRIPTIONS).write_text(json.dumps({"demo": "  "}))
    assert healthy_run.undescribed(tmp_path) == ["demo"]  # blank is no description
    (tmp_path / healthy_run.DESCRIPTIONS).write_text(json.dumps({"demo": "A grey square."}))
    assert healthy_run.undescribed(tmp_path) == []


def test_every_shipped_picture_has_a_description():
    assert healthy_run.undescribed() == [], "describe them (python scripts/make_healthy_run.py records them)"
    stored = healthy_run.load_descriptions()
    pictures = {p.stem for p in healthy_run.HEALTHY_RUN_DIR.glob("*.png")}
    assert set(stored) - {healthy_run.BY_HAND} == pictures, "descriptions of pictures that are not shipped"
    assert set(stored.get(healthy_run.BY_HAND, {}).get("names", [])) <= pictures


def test_show_renders_markdown_and_its_plain_text_has_no_backticks(tmp_path, shown):
    (tmp_path / healthy_run.TIMES).write_text(json.dumps({"demo": {"smoke": 3.0, "cpu": 30.0, "gpu": 4.0}}))
    healthy_run.show("demo", tmp_path)
    formatter = IPython.core.formatters.DisplayFormatter()
    for note in shown:
        data, _ = formatter.format(note)
        assert data["text/markdown"] == note.markdown and "`" in note.markdown
        assert data["text/plain"] == note.markdown.replace("`", "") and str(note) == data["text/plain"]
    assert "The next cell took smoke 3 s · cpu 30 s · gpu 4 s in" in repr(shown[0])


def test_show_says_what_is_missing(tmp_path, shown):
    assert healthy_run.show("nothing", tmp_path) is None
    text = " ".join(repr(note) for note in shown)
    assert "no reference run recorded yet" in text and "nothing.png is missing" in text


def test_each_lesson_cell_that_shows_a_healthy_run_displays_it_once():
    """The lessons' own cells, in a kernel with the setup cell and matplotlib's inline backend, as a learner runs them:
    one picture (or table), never a second copy as the cell's value or from the backend."""
    from nbclient import NotebookClient

    from instructor_tools import lesson

    sources = [cells[i - 1].source for _, i, cells in tagged_cells()]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(lesson.SETUP_CELL),
                                         nbformat.v4.new_code_cell("from helpers import healthy_run")]
                                  + [nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    for source, cell in zip(sources, nb.cells[2:], strict=True):
        name = source.split('"')[1]
        kinds = [next((k for k in ("image/png", "text/markdown") if k in out.get("data", {})), out.output_type)
                 for out in cell.outputs]
        table = (healthy_run.HEALTHY_RUN_DIR / f"{name}.md").is_file()
        assert kinds == ["text/markdown"] * (1 + table) + ["image/png"] * (not table), (name, cell.outputs)
        assert all(out.output_type == "display_data" for out in cell.outputs)  # no execute_result: nothing returned
        assert not any("`" in out.data.get("text/plain", "") for out in cell.outputs), name


def tagged_cells():
    for path in make_healthy_run.tagged_lessons():
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if make_healthy_run.tag(cell):
                yield path.name, i, cells


def test_every_long_cell_has_its_picture_and_times_and_shows_them_first():
    names = []
    times = healthy_run.load_times()
    for lesson, i, cells in tagged_cells():
        name = make_healthy_run.tag(cells[i])
        names.append(name)
        assert cells[i - 1].source.startswith(f'healthy_run.show("{name}")'), f"{lesson} cell {i - 1}"
        assert any((healthy_run.HEALTHY_RUN_DIR / f"{name}{suffix}").is_file() for suffix in (".png", ".md")), \
            f"{name}: no picture or table (python scripts/make_healthy_run.py)"
        assert {"smoke", "cpu"} <= set(times.get(name, {})), f"{name}: times missing"
    assert len(names) == len(set(names)) >= 6
    shipped = {p.stem for p in [*healthy_run.HEALTHY_RUN_DIR.glob("*.png"), *healthy_run.HEALTHY_RUN_DIR.glob("*.md")]}
    assert shipped == set(names), "pictures in data/healthy_run/ that no cell shows, or the reverse"


def test_from_book_reads_the_cache_entry_of_todays_sources(tmp_path):
    from instructor_tools.book import execute

    lesson = make_healthy_run.tagged_lessons()[0]
    with pytest.raises(SystemExit, match="build the book first"):
        make_healthy_run.from_book(lesson, "smoke", tmp_path)
    nb = nbformat.read(lesson, as_version=4)
    key = execute.cache_key(nb, "smoke", execute.inputs_digest())
    (tmp_path / "cache" / "smoke").mkdir(parents=True)
    nb.cells[0].source = "the executed copy"
    nbformat.write(nb, tmp_path / "cache" / "smoke" / f"{lesson.stem}.{key}.ipynb")
    assert make_healthy_run.from_book(lesson, "smoke", tmp_path).cells[0].source == "the executed copy"


def test_the_pictures_do_not_invalidate_the_book_that_made_them(tmp_path):
    from instructor_tools.book import execute

    for folder in ("helpers", "data/healthy_run"):
        (tmp_path / folder).mkdir(parents=True)
    before = execute.inputs_digest(tmp_path)
    (tmp_path / "data" / "healthy_run" / "demo.png").write_bytes(png(2, 2, 1))
    assert execute.inputs_digest(tmp_path) == before
    (tmp_path / "data" / "mnist.npz").write_bytes(b"other data")
    assert execute.inputs_digest(tmp_path) != before


def test_each_lesson_run_records_its_whole_time(tmp_path, monkeypatch):
    """The header's run time (study_time.run_time_line) comes from here: Run All, timed around the whole run."""
    from instructor_tools.study_time import LESSON_TIMES

    def run(path, profile, timeout):
        time.sleep(0.2)
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])

    monkeypatch.setattr(make_healthy_run, "run", run)
    (tmp_path / healthy_run.TIMES).write_text(json.dumps({"_lessons": {"04": {"cpu": 4.0}}}))
    assert make_healthy_run.main(["--lessons", "04", "--profiles", "smoke", "--out", str(tmp_path)]) == 0
    recorded = healthy_run.load_times(tmp_path)[LESSON_TIMES]["04"]
    assert recorded["cpu"] == 4.0 and 0.2 <= recorded["smoke"] < 5, recorded
