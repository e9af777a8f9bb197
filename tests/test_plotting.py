import matplotlib
import numpy as np
import pytest

from helpers import plotting

matplotlib.use("Agg")


def test_image_grid_places_each_image():
    images = np.stack([np.full((2, 3), i, np.float32) for i in range(5)])
    grid = plotting.image_grid(images, ncols=3, pad=1, pad_value=-1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1)
    assert grid[1, 1] == 0 and grid[1, 5] == 1 and grid[4, 1] == 3 and grid[4, 5] == 4
    assert grid[4, 9] == -1  # the sixth slot is empty padding
    np.testing.assert_array_equal(plotting.image_grid(images[:, None]), plotting.image_grid(images))


def test_compare_titles_each_panel_with_its_shape():
    fig = plotting.compare({"small": np.zeros((7, 7)), "big": np.zeros((1, 28, 28))})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["small\n7×7", "big\n28×28"]


def test_bad_image_shape_is_explained():
    with pytest.raises(ValueError, match="cannot show an array of shape"):
        plotting.compare([np.zeros((2, 2, 2, 2))])


def test_show_matrix_annotates_every_cell():
    fig = plotting.show_matrix(np.arange(6).reshape(2, 3), title="counts")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "1", "2", "3", "4", "5"]


def test_live_plot_headless_collects_and_draws_final_figure():
    plot = plotting.LivePlot(["loss_d", "loss_g"], title="losses")
    for step in range(5):
        plot.update(step, loss_d=1.0 / (step + 1), loss_g=float(step))
    fig = plot.figure()
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["loss_d", "loss_g"]
    np.testing.assert_allclose(lines[1].get_ydata(), [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="made for"):
        plot.update(6, loss_x=1.0)
