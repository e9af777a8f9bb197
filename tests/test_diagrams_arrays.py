"""helpers.diagrams, the drawings of arrays the lessons print (03: C and Cᵀ, output_padding; 04: sub-kernels;
05: channel orders; 01: the generator's maps): what each draws is read back from its cells and checked against
the course's reference functions."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Polygon, Rectangle  # noqa: E402

from helpers import diagrams, layouts, reference  # noqa: E402


def cells(ax):
    """The filled cells of a grid panel as {(row, column): (RGBA fill, text)}."""
    texts = {(int(t.get_position()[1] - 0.5), int(t.get_position()[0] - 0.5)): t.get_text() for t in ax.texts}
    corners = [(int(p.get_y()), int(p.get_x()), p) for p in ax.patches if isinstance(p, Rectangle) and p.get_fill()]
    return {(r, c): (tuple(p.get_facecolor()), texts.get((r, c), "")) for r, c, p in corners}


def colour(index):
    return to_rgba(diagrams.COLOURS[index], 0.45)


@pytest.mark.parametrize("kernel, size, stride, padding", [
    (np.arange(1.0, 10.0).reshape(3, 3), 5, 2, 1),
    (np.array([[1.0, -2.0], [0.5, 3.0]]), 4, 1, 0),
])
def test_conv_matrix_transpose_draws_c_and_its_transpose_tap_by_tap(kernel, size, stride, padding):
    fig = diagrams.conv_matrix_transpose(kernel, size, stride, padding)
    k_ax, c_ax, ct_ax = fig.axes
    matrix = reference.conv_matrix(kernel, size, stride=stride, padding=padding)
    c_cells, ct_cells = cells(c_ax), cells(ct_ax)
    assert len(c_cells) == matrix.size and len(ct_cells) == matrix.size
    k = kernel.shape[0]
    h_out = (size + 2 * padding - k) // stride + 1
    for (o, i), value in np.ndenumerate(matrix):
        # which tap output o reads input i through, from the convolution's definition
        a = i // size - (o // h_out) * stride + padding
        b = i % size - (o % h_out) * stride + padding
        if 0 <= a < k and 0 <= b < k:
            assert c_cells[(o, i)] == (colour(a * k + b), f"{value:g}")
        else:
            assert value == 0 and c_cells[(o, i)] == ((1.0, 1.0, 1.0, 1.0), "")
        assert ct_cells[(i, o)] == c_cells[(o, i)], "row i of Cᵀ is column i of C, colours and values"
    assert cells(k_ax)[(1, 0)] == (colour(k), f"{kernel[1, 0]:g}")
    outlines = [p for ax in (c_ax, ct_ax) for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    column = int(np.count_nonzero(matrix, axis=0).argmax())
    assert [(o.get_x(), o.get_y()) for o in outlines] == [(column, 0), (0, column)]
    assert f"C: {matrix.shape[0]} × {matrix.shape[1]}" in c_ax.get_title()


def test_conv_matrix_transpose_refuses_what_it_cannot_colour():
    with pytest.raises(ValueError, match="at most 10 taps"):
        diagrams.conv_matrix_transpose(np.ones((4, 4)), 6)


def longer_size(size, k, stride, padding, op):
    return reference.conv_transpose2d_output_size(size, k, stride, padding, op)


@pytest.mark.parametrize("size, k, stride, padding, op", [(4, 3, 2, 1, 1), (3, 4, 3, 1, 2), (5, 3, 2, 0, 1)])
def test_output_padding_canvas_marks_the_rows_output_padding_keeps(size, k, stride, padding, op):
    ax = diagrams.output_padding_canvas(size, k, stride, padding, op).axes[0]
    drawn = cells(ax)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(1, 1, size, size)), rng.normal(size=(1, 1, k, k))
    canvas = reference.conv_transpose2d(x, w, stride=stride)[0, 0]
    side = max(canvas.shape[0], padding + longer_size(size, k, stride, padding, op))
    canvas = np.pad(canvas, (0, side - canvas.shape[0]))  # output_padding past the canvas adds zeros
    short = reference.conv_transpose2d(x, w, stride=stride, padding=padding)[0, 0]
    longer = reference.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=op)[0, 0]
    assert len(drawn) == canvas.size
    kept = sorted(rc for rc, (face, _) in drawn.items() if face == diagrams.CANVAS_COLOURS[1])
    added = sorted(rc for rc, (face, _) in drawn.items() if face == diagrams.CANVAS_COLOURS[2])
    full = reference.conv_transpose2d(x, w, stride=stride).shape[-1]
    assert [drawn[rc][1] for rc in added] == ["op" if max(rc) < full else "0" for rc in added], \
        "canvas cells that the padding would have cropped, or zeros past the canvas"
    (top, left), (bottom, right) = kept[0], kept[-1]
    assert len(kept) == short.size and np.allclose(canvas[top:bottom + 1, left:right + 1], short)
    region = kept + added
    (top2, left2), (bottom2, right2) = min(region), max(region)
    assert (top2, left2) == (top, left), "output_padding adds rows and columns at the bottom and right only"
    assert len(region) == longer.size and np.allclose(canvas[top2:bottom2 + 1, left2:right2 + 1], longer)
    assert all(r > bottom or c > right for r, c in added)


@pytest.mark.parametrize("k, padding", [(4, 1), (3, 1), (4, 0), (5, 2)])
def test_sub_kernels_colour_each_output_pixel_by_the_sub_kernel_that_writes_it(k, padding):
    w = np.random.default_rng(k).normal(size=(k, k))
    fig = diagrams.sub_kernels(w, stride=2, padding=padding)
    out = cells(fig.axes[-1])
    names = {}
    for ax in fig.axes[1:-1]:
        a, b = (int(v) for v in ax.get_title().split("\n")[0][2:-1].replace("::2", "").split(", "))
        names[cells(ax)[(0, 0)][0]] = w[a::2, b::2]
        assert [text for _, text in cells(ax).values()] == [f"{v:.2f}" for v in w[a::2, b::2].ravel()]
    assert len(names) == 4, "four sub-kernels, four colours"
    for face, text in out.values():
        # a constant input: each output pixel is the sum of the taps of the one sub-kernel that reaches it
        assert text == f"{names[face].sum():.2f}"
    assert len({face for face, _ in out.values()}) == 4
    ones = reference.conv_transpose2d(np.ones((1, 1, 4 * k, 4 * k)), w[None, None], stride=2, padding=padding)[0, 0]
    first = int(fig.axes[-1].get_title().split("rows/columns ")[1].split("…")[0])
    assert [text for _, text in out.values()] == [f"{v:.2f}" for v in ones[first:first + 4, first:first + 4].ravel()]


def test_sub_kernel_phases_with_padding_1_are_the_lessons_taps():
    # lesson 04: with padding 1, phase (a, b) is written by w[1 - a::2, 1 - b::2]
    assert diagrams.sub_kernel_phases(4, 2, 1) == {(1 - a, 1 - b): (a, b) for a in (0, 1) for b in (0, 1)}


def depth_to_space_numpy(x, r):
    # docs/design.md, F9: depth_to_space is pixel shuffle after regrouping the channels
    return layouts.nchw_to_nhwc(reference.pixel_shuffle(
        layouts.nhwc_to_nchw(layouts.depth_to_space_order_to_pixel_shuffle(x, r)), r))


@pytest.mark.parametrize("r, c", [(2, 2), (2, 1), (3, 1)])
def test_channel_order_puts_each_input_channel_where_each_framework_does(r, c):
    labels = np.arange(c * r * r, dtype=float).reshape(1, 1, 1, c * r * r)
    orders = {"depth_to_space": depth_to_space_numpy(labels, r)[0],
              "pixel_shuffle": layouts.nchw_to_nhwc(reference.pixel_shuffle(layouts.nhwc_to_nchw(labels), r))[0]}
    fig = diagrams.channel_order(orders)
    axes = np.array(fig.axes).reshape(2, 1 + c)
    for row, order in zip(axes, orders.values()):
        assert [text for _, text in cells(row[0]).values()] == [str(i) for i in range(c * r * r)]
        for out, ax in enumerate(row[1:]):
            for (i, j), (face, text) in cells(ax).items():
                assert text == str(int(order[i, j, out])) and face == colour(int(order[i, j, out]))
    if c > 1:  # the two orders differ, and the drawing shows where: sub-pixel (0, 1) of channel 0
        assert cells(axes[0, 1])[(0, 1)] != cells(axes[1, 1])[(0, 1)]
    else:
        assert cells(axes[0, 1]) == cells(axes[1, 1])


def test_feature_maps_draw_each_maps_shape_and_deepen_with_its_channels():
    shapes = [(100, 1, 1), (512, 4, 4), (256, 8, 8), (3, 64, 64)]
    ax = diagrams.feature_maps(shapes, title="generator").axes[0]
    faces = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(faces) == 3 * len(shapes)  # front, top and side of each box
    depths = []
    for (_, h, w), (front, top) in zip(shapes, zip(faces[::3], faces[1::3])):
        xy = front.get_xy()
        assert np.ptp(xy[:, 1]) == pytest.approx(max(h, 1.5)) and np.ptp(xy[:, 0]) == pytest.approx(max(w, 1.5))
        depths.append(np.ptp(top.get_xy()[:, 1]))
    assert np.argsort(depths).tolist() == np.argsort([c for c, _, _ in shapes]).tolist()
    assert [t.get_text() for t in ax.texts] == [f"{c} channels\n{h}×{w}\n{c * h * w:,} values" for c, h, w in shapes]
    assert ax.get_title() == "generator"
