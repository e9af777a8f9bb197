"""data/expected/: the pictures and times shown before each long cell, and the script that makes them."""

import importlib.util
import io
import json

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from helpers import ROOT, expected  # noqa: E402

spec = importlib.util.spec_from_file_location("make_expected", ROOT / "scripts" / "make_expected.py")
make_expected = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_expected)


def png(width: int, height: int, value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def image_output(data: bytes) -> nbformat.NotebookNode:
    import base64

    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(data).decode()})


def timed(cell, start: str, end: str):
    cell.metadata["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
    return cell


def test_results_take_the_time_of_the_tagged_cell_and_the_last_picture_before_the_next_text():
    train = timed(nbformat.v4.new_code_cell("train()"), "2026-11-26T10:00:00.000000Z", "2026-11-26T10:01:30.500000Z")
    train.metadata["course"] = {"expected": "demo"}
    train.outputs = [image_output(png(4, 4, 10))]
    after = nbformat.v4.new_code_cell("plot()")
    after.outputs = [image_output(png(5, 5, 20))]
    later = nbformat.v4.new_code_cell("other()")
    later.outputs = [image_output(png(6, 6, 30))]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), train, after,
                                         nbformat.v4.new_markdown_cell("text"), later])
    (name, (seconds, picture, table)), = make_expected.results(nb).items()
    assert name == "demo" and seconds == pytest.approx(90.5) and table is None
    assert Image.open(io.BytesIO(picture)).size == (5, 5)  # the following code cell's, not the one after the text
    train.metadata["course"]["picture"] = -2  # the one before the last
    assert Image.open(io.BytesIO(make_expected.results(nb)["demo"][1])).size == (4, 4)
    train.metadata["course"]["picture"] = -3  # only two were drawn: an error that names the cell
    with pytest.raises(ValueError, match=r"'demo' drew 2 picture\(s\), but its metadata asks for picture -3"):
        make_expected.results(nb)


def test_a_cell_that_prints_a_table_keeps_the_table(tmp_path, capsys):
    cell = timed(nbformat.v4.new_code_cell("time_it()"), "2026-11-26T10:00:00Z", "2026-11-26T10:00:02Z")
    cell.metadata["course"] = {"expected": "demo"}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|---|\n| 1 |"})]
    assert make_expected.results(nbformat.v4.new_notebook(cells=[cell]))["demo"] == (2.0, None, "| a |\n|---|\n| 1 |")
    (tmp_path / "demo.md").write_text("| a |\n|---|\n| 1 |\n")
    assert expected.show("demo", tmp_path) is None
    assert "what a healthy run ends with" in capsys.readouterr().out


def test_a_tagged_cell_without_timing_is_an_error():
    cell = nbformat.v4.new_code_cell("train()")
    cell.metadata["course"] = {"expected": "demo"}
    with pytest.raises(ValueError, match="no execution timing"):
        make_expected.results(nbformat.v4.new_notebook(cells=[cell]))


def test_shrink_keeps_small_pictures_and_narrows_wide_ones():
    assert Image.open(io.BytesIO(make_expected.shrink(png(300, 100, 5)))).size == (300, 100)
    assert Image.open(io.BytesIO(make_expected.shrink(png(1800, 600, 5)))).size == (900, 300)


def test_show_prints_the_times_and_draws_the_picture(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    (tmp_path / "demo.png").write_bytes(png(40, 20, 200))
    (tmp_path / expected.TIMES).write_text(json.dumps({"demo": {"smoke": 12.0, "cpu": 335.0}}))
    fig = expected.show("demo", tmp_path)
    line = capsys.readouterr().out
    assert "`smoke` 12 s · `cpu` 5.6 min" in line and "gpu: not measured" in line and "profile: smoke" in line
    assert fig.axes[0].images[0].get_array().shape[:2] == (20, 40)


def test_show_says_what_is_missing(tmp_path, capsys):
    assert expected.show("nothing", tmp_path) is None
    out = capsys.readouterr().out
    assert "no reference run recorded yet" in out and "nothing.png is missing" in out


def tagged_cells():
    for path in make_expected.tagged_lessons():
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if make_expected.tag(cell):
                yield path.name, i, cells


def test_every_long_cell_has_its_picture_and_times_and_shows_them_first():
    names = []
    times = expected.load_times()
    for lesson, i, cells in tagged_cells():
        name = make_expected.tag(cells[i])
        names.append(name)
        assert cells[i - 1].source.startswith(f'expected.show("{name}")'), f"{lesson} cell {i - 1}"
        assert any((expected.EXPECTED_DIR / f"{name}{suffix}").is_file() for suffix in (".png", ".md")), \
            f"{name}: no picture or table (python scripts/make_expected.py)"
        assert {"smoke", "cpu"} <= set(times.get(name, {})), f"{name}: times missing"
    assert len(names) == len(set(names)) >= 6
    shipped = {p.stem for p in [*expected.EXPECTED_DIR.glob("*.png"), *expected.EXPECTED_DIR.glob("*.md")]}
    assert shipped == set(names), "pictures in data/expected/ that no cell shows, or the reverse"


def test_from_book_reads_the_cache_entry_of_todays_sources(tmp_path):
    from instructor_tools.book import execute

    lesson = make_expected.tagged_lessons()[0]
    with pytest.raises(SystemExit, match="build the book first"):
        make_expected.from_book(lesson, "smoke", tmp_path)
    nb = nbformat.read(lesson, as_version=4)
    key = execute.cache_key(nb, "smoke", execute.inputs_digest())
    (tmp_path / "cache" / "smoke").mkdir(parents=True)
    nb.cells[0].source = "the executed copy"
    nbformat.write(nb, tmp_path / "cache" / "smoke" / f"{lesson.stem}.{key}.ipynb")
    assert make_expected.from_book(lesson, "smoke", tmp_path).cells[0].source == "the executed copy"


def test_the_pictures_do_not_invalidate_the_book_that_made_them(tmp_path):
    from instructor_tools.book import execute

    for folder in ("helpers", "data/expected"):
        (tmp_path / folder).mkdir(parents=True)
    before = execute.inputs_digest(tmp_path)
    (tmp_path / "data" / "expected" / "demo.png").write_bytes(png(2, 2, 1))
    assert execute.inputs_digest(tmp_path) == before
    (tmp_path / "data" / "mnist.npz").write_bytes(b"other data")
    assert execute.inputs_digest(tmp_path) != before
