"""helpers.plotting's charts and image panels that lessons 07-10 draw with (no raw matplotlib in their cells)."""

import matplotlib
import numpy as np
from matplotlib.colors import to_hex

from helpers import plotting

matplotlib.use("Agg")


def test_line_chart_draws_each_series_against_its_own_x_with_its_style():
    x = np.linspace(0, 1, 5)
    fig = plotting.line_chart({"up": (x, 2 * x), "counted": [3.0, 2.0, 1.0]}, title="t", xlabel="x", ylabel="y",
                              styles={"up": {"color": "tab:red", "linestyle": "--"}}, legend={"loc": "upper center"})
    ax, = fig.axes
    up, counted = ax.get_lines()
    np.testing.assert_array_equal(up.get_xdata(), x)
    np.testing.assert_array_equal(up.get_ydata(), 2 * x)
    np.testing.assert_array_equal(counted.get_xdata(), [0, 1, 2])  # no x: drawn against the index
    assert (to_hex(up.get_color()), up.get_linestyle()) == ("#d62728", "--")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "x", "y")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["up", "counted"]


def test_line_chart_levels_are_named_in_the_legend_or_inline_and_shade_and_note_are_drawn():
    fig = plotting.line_chart({"loss": [1.0, 0.5]}, levels={"chance": 0.7}, shade=(0, 0.1), note=(0.0, 0.4, "early"))
    ax, = fig.axes
    level = ax.get_lines()[1]
    assert list(level.get_ydata()) == [0.7, 0.7] and level.get_linestyle() == ":"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "chance"]
    assert [t.get_text() for t in ax.texts] == ["early"] and len(ax.patches) == 1  # the note and the shaded span
    inline = plotting.line_chart({"loss": [1.0, 0.5]}, levels={"clean digits": 0.2}, level_labels="inline").axes[0]
    assert [t.get_text() for t in inline.get_legend().get_texts()] == ["loss"]
    assert [t.get_text() for t in inline.texts] == ["clean digits"]


def test_line_charts_puts_one_chart_per_panel():
    fig = plotting.line_charts([{"series": {"a": [1, 2]}, "title": "left"},
                                {"series": {"b": [3, 4], "c": [5, 6]}, "title": "right"}], size=(8, 3))
    assert [ax.get_title() for ax in fig.axes] == ["left", "right"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 2]
    assert tuple(fig.get_size_inches()) == (8, 3)


def test_live_plot_figure_draws_levels_in_the_colour_of_each_curve():
    plot = plotting.LivePlot(["loss_d", "loss_g"])
    plot.update(0, loss_d=1.4, loss_g=0.7)
    ax = plot.figure(levels={"2 ln 2": 2 * np.log(2), "ln 2": np.log(2)}).axes[0]
    d, g, two_ln2, ln2 = ax.get_lines()
    assert (to_hex(two_ln2.get_color()), to_hex(ln2.get_color())) == (to_hex(d.get_color()), to_hex(g.get_color()))
    assert ln2.get_ydata()[0] == np.log(2) and ln2.get_linestyle() == ":"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss_d", "loss_g", "2 ln 2", "ln 2"]


def test_image_row_titles_each_picture_without_axes():
    fig = plotting.image_row({"a": np.zeros((4, 6)), "b": np.ones((1, 5, 5))}, value_range=(0, 1))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert not any(ax.axison for ax in fig.axes)
    assert fig.axes[1].get_images()[0].get_clim() == (0, 1)
    assert tuple(fig.get_size_inches()) == (6, 3)


def test_image_column_names_each_row_on_its_left_under_one_title():
    fig = plotting.image_column({"damaged": np.zeros((5, 40)), "clean": np.ones((5, 40))}, row_height=1.4,
                                title="crops")
    assert [ax.get_ylabel() for ax in fig.axes] == ["damaged", "clean"]
    assert fig.get_suptitle() == "crops" and tuple(fig.get_size_inches()) == (8, 2.8)
    assert all(ax.get_images()[0].get_clim() == (0, 1) for ax in fig.axes)


def test_overlays_tint_the_mask_over_the_background():
    mask = np.zeros((6, 6))
    mask[1:3, 2:5] = 1.0
    fig = plotting.overlays(np.full((6, 6), 0.5), {"cell (0, 0)": mask, "cell (1, 1)": 1 - mask})
    assert [ax.get_title() for ax in fig.axes] == ["cell (0, 0)", "cell (1, 1)"]
    background, tint = fig.axes[0].get_images()
    np.testing.assert_array_equal(tint.get_array(), mask)
    np.testing.assert_allclose(tint.get_alpha(), 0.35 * mask, rtol=1e-6)  # unseen pixels fully transparent
    assert tint.get_cmap().name == "autumn" and background.get_cmap().name == "gray"


def test_compare_and_spectra_at_init_take_the_figure_s_title():
    assert plotting.compare({"a": np.zeros((3, 3))}, title="After 12 steps").get_suptitle() == "After 12 steps"
    assert plotting.compare({"a": np.zeros((3, 3))}).get_suptitle() == ""
    outputs = {"k4": np.random.default_rng(0).random((4, 8, 8))}
    fig = plotting.spectra_at_init(outputs, {"k4": 0.5}, title="at initialisation")
    assert fig.get_suptitle() == "at initialisation" and len(fig.axes) == 3
