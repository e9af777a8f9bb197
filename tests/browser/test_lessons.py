"""The lessons as a learner sees them: JupyterLab in headless Chromium, Run → Run All Cells.

nbval proves that the notebooks execute; these tests check what the page shows —
rendered tables, widgets that react, progress bars and live plots, the message of an
unsolved exercise. Screenshots and console logs: ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re

import pytest

from helpers import checks

from .lab import Notebook, colour_counts, image_digests, progress_states, wait_for_images, wait_for_new_images, watch

pytestmark = pytest.mark.browser


def lesson(server, folder: str, number: str) -> str:
    """``folder/NN_name.ipynb`` for lesson ``number``, relative to the server's root."""
    found = sorted((server.root / folder).glob(f"{number}_*.ipynb"))
    assert len(found) == 1, f"expected one lesson {number} in {folder}/, found {[p.name for p in found]}"
    return f"{folder}/{found[0].name}"


def run_lesson(page, server, folder: str, number: str, watching: bool = False) -> Notebook:
    """Open the lesson, run all cells, and require that every cell ran without an error on the page."""
    notebook = Notebook.open(page, server, lesson(server, folder, number))
    if watching:
        watch(page)
    notebook.run_all()
    errors = notebook.error_outputs()
    assert not errors, f"{notebook.path}: error output on the page:\n" + "\n---\n".join(errors)
    skipped = notebook.unexecuted_code_cells()
    assert not skipped, f"{notebook.path}: Run All did not execute cells {skipped}"
    return notebook


def test_lesson_00_environment_summary(page, lab_server):
    notebook = run_lesson(page, lab_server, "solutions", "00")
    table = page.locator("table.course-envcheck")
    table.scroll_into_view_if_needed()
    body_rows = table.locator("tr").filter(has=page.locator("td")).all()
    rows = {row.locator("td").nth(1).inner_text(): row for row in body_rows}
    assert {"Python", "numpy", "MNIST", "Run profile"} <= set(rows), f"environment summary rows: {sorted(rows)}"
    mnist = rows["MNIST"].locator("td")
    assert mnist.nth(0).inner_text().strip() == "✅", f"MNIST row: {rows['MNIST'].inner_text()!r}"
    assert "verified" in mnist.nth(2).inner_text(), f"MNIST row: {rows['MNIST'].inner_text()!r}"
    # The kernel runs the profile the server was given, and says so on the page.
    assert "profile=smoke" in rows["Run profile"].inner_text()
    # The grid of the first 32 digits is drawn.
    grid = notebook.cell_containing("plotting.show_grid(").locator(".jp-OutputArea-output img")
    assert grid.count() == 1 and grid.first.evaluate("img => img.naturalWidth") > 100
    table.scroll_into_view_if_needed()  # what the final screenshot shows


def test_student_notebook_shows_the_unsolved_exercise(page, lab_server):
    """A learner's first exercise, unsolved: the check cell shows one line naming it, no traceback, and
    Run All goes on to the last cell."""
    notebook = Notebook.open(page, lab_server, lesson(lab_server, "notebooks", "00"))
    notebook.run_all()
    check = notebook.cell_containing("checks.check_array(to_signed_range(")
    check.scroll_into_view_if_needed()
    shown = check.locator(".jp-OutputArea-output").all_inner_texts()
    expected = checks.unfinished_line(NotImplementedError(checks.stub_message("to_signed_range")))
    assert [text.strip() for text in shown] == [expected], f"the check cell shows {shown!r}"
    # That line is the only stderr on the page: no traceback, nothing else broken; and every cell ran.
    assert [text.strip() for text in notebook.stderr_outputs()] == [expected]
    assert not notebook.error_outputs()
    assert not notebook.unexecuted_code_cells(), "Run All stopped at the unsolved exercise"
    assert not page.locator(".jp-OutputArea-output .ansi-red-fg").count(), "a traceback is shown"


def test_lesson_01_upsampling_explorer_reacts(page, lab_server):
    run_lesson(page, lab_server, "solutions", "01")
    explorer = page.locator(".course-upsampling-explorer")
    explorer.scroll_into_view_if_needed()
    picture = explorer.locator("img.course-explorer-image")
    assert picture.count() == 1, "the explorer shows no picture"
    start = image_digests(explorer)
    assert len(start) == 1 and start[0].split(":")[0] != "0x0", f"explorer picture: {start}"

    method = explorer.locator(".widget-dropdown select")
    method.select_option(label="bilinear")
    bilinear = wait_for_new_images(explorer, start)

    explorer.locator(".widget-toggle-buttons button", has_text=re.compile(r"^\s*7\s*$")).click()
    factor7 = wait_for_new_images(explorer, bilinear)

    slider = explorer.locator(".widget-slider .noUi-handle").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    digit1 = wait_for_new_images(explorer, factor7)
    assert explorer.locator(".widget-slider .widget-readout").first.inner_text().strip() == "1"

    # Back to the first settings: the picture it showed at the start, so it shows the controls' state.
    method.select_option(label="nearest")
    explorer.locator(".widget-toggle-buttons button", has_text=re.compile(r"^\s*4\s*$")).click()
    slider.focus()
    page.keyboard.press("ArrowLeft")
    wait_for_images(explorer, start)
    assert len({start[0], bilinear[0], factor7[0], digit1[0]}) == 4, "two different settings showed the same picture"


def slider(scope, description: str):
    return scope.locator(".widget-slider").filter(has=scope.page.locator(".widget-label", has_text=description))


def nudge(page, control, key: str) -> None:
    control.locator(".noUi-handle").first.focus()
    page.keyboard.press(key)


def test_lesson_04_conv_transpose_explorer_reacts(page, lab_server):
    run_lesson(page, lab_server, "solutions", "04")
    explorer = page.locator(".course-conv-explorer")
    explorer.scroll_into_view_if_needed()
    assert explorer.locator("img.course-conv-explorer-image").count() == 1, "the explorer shows no picture"
    start = image_digests(explorer)
    assert len(start) == 1, f"explorer pictures: {start}"
    pictures = [start]
    for description in ("kernel", "stride", "padding"):
        control = slider(explorer, description)
        assert control.count() == 1, f"no slider {description!r} in the explorer"
        before = control.locator(".widget-readout").inner_text().strip()
        nudge(page, control, "ArrowRight")
        pictures.append(wait_for_new_images(explorer, pictures[-1]))
        assert control.locator(".widget-readout").inner_text().strip() == str(int(before) + 1)
    assert len({p[0] for p in pictures}) == 4, "two different settings showed the same picture"
    for description in ("padding", "stride"):  # back to the start, one slider at a time
        nudge(page, slider(explorer, description), "ArrowLeft")
        pictures.append(wait_for_new_images(explorer, pictures[-1]))
    nudge(page, slider(explorer, "kernel"), "ArrowLeft")
    wait_for_images(explorer, start)  # the first settings show the first picture again


def test_training_lesson_progress_and_live_loss_plot(page, lab_server):
    """Lesson 07 in the smoke profile: each epoch's tqdm bar runs to 100 %, the loss plot is drawn while training.

    The epoch bars close when they finish (``leave=False``), so the page is watched while it runs.
    """
    notebook = run_lesson(page, lab_server, "solutions", "07", watching=True)
    training = notebook.cell_index("plotting.LivePlot(")
    states = [state for state in progress_states(page) if state["cell"] == training]
    assert states, "no progress bar appeared in the training cell"
    labels = {}  # bar → tqdm's description, e.g. "epoch 1/2" (the label may arrive after the bar)
    for state in states:
        if state["text"]:
            labels[state["bar"]] = state["text"].split(":")[0]
    bars = {state["bar"] for state in states}
    finished = {state["bar"] for state in states if state["width"] == "100%"}
    assert bars == finished, f"bars {sorted(bars)}, of which reached 100 %: {sorted(finished)}; states: {states}"
    totals = {int(m.group(2)) for label in labels.values() if (m := re.fullmatch(r"epoch (\d+)/(\d+)", label))}
    epochs = max(totals, default=0)
    assert len(totals) == 1 and len(bars) == len(labels) == epochs and \
        set(labels.values()) == {f"epoch {i}/{epochs}" for i in range(1, epochs + 1)}, \
        f"expected one bar per epoch, saw {labels} (bars {sorted(bars)})"
    assert not [state for state in states if "danger" in state["style"]], f"a progress bar stopped early: {states}"

    cell = notebook.cells().nth(training)
    images = [colour_counts(img) for img in cell.locator(".jp-OutputArea-output img").all()]
    curves = [i for i, image in enumerate(images) if image["blue"] > 50 and image["orange"] > 50]
    # One plot, redrawn in place: LivePlot's later draws must not append copies.
    assert len(curves) == 1, f"expected one loss plot (two coloured curves) in the training cell, found {images}"
    # Drawn while training ran: the last epoch's samples come after it in the cell's output.
    assert curves[0] < len(images) - 1, f"the loss plot was drawn only after training: {images}"
    cell.locator(".jp-OutputArea-output img").nth(curves[0]).scroll_into_view_if_needed()
