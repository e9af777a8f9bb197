"""helpers.widgets.conv_explorer: the picture data is right, and the widget redraws when a control moves."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from helpers import reference
from helpers.widgets import conv_explorer


@pytest.mark.parametrize("k,s,ratio", [(3, 2, 4.0), (4, 2, 1.0), (5, 2, 2.25), (1, 1, 1.0), (6, 3, 1.0),
                                       (2, 3, float("inf"))])
def test_interior_ratio(k, s, ratio):
    assert conv_explorer.interior_ratio(k, s) == ratio


@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (5, 2), (5, 3), (2, 2), (7, 4)])
def test_interior_ratio_agrees_with_the_counts_far_from_the_border(k, s):
    counts = reference.overlap_count(k, s, 12)
    inner = counts[k:-k, k:-k]
    assert inner.max() / inner.min() == pytest.approx(conv_explorer.interior_ratio(k, s))
    steady = conv_explorer.steady_counts(k, s)
    assert set(np.unique(inner)) == set(np.unique(np.outer(steady, steady)))


def test_scatter_data_footprints_add_up_to_the_overlap():
    d = conv_explorer.scatter_data(3, 2, 1, input_size=3)
    assert d["error"] is None
    assert d["output_size"] == 5 and d["overlap"].shape == (5, 5)  # (3-1)·2 - 2 + 3 = 5
    canvas = np.zeros_like(d["full"])
    for _, _, top, left in d["footprints"]:
        canvas[top:top + 3, left:left + 3] += 1
    np.testing.assert_array_equal(canvas, d["full"])
    np.testing.assert_array_equal(d["overlap"], d["full"][1:-1, 1:-1])
    assert d["full"].max() == 4 and d["overlap"].min() == 1


def test_scatter_data_reports_an_invalid_padding_instead_of_raising():
    d = conv_explorer.scatter_data(1, 1, 3, input_size=3)
    assert d["overlap"] is None and "padding" in d["error"]


def test_figure_png_changes_with_each_control():
    base = conv_explorer.figure_png(3, 2, 0)
    assert base.startswith(b"\x89PNG")
    others = [conv_explorer.figure_png(4, 2, 0), conv_explorer.figure_png(3, 1, 0), conv_explorer.figure_png(3, 2, 1)]
    assert len({base, *others}) == 4
    assert conv_explorer.figure_png(1, 1, 3).startswith(b"\x89PNG")  # invalid combination: a message, no crash


def test_widget_redraws_when_a_control_changes():
    box = conv_explorer.conv_transpose_explorer()
    assert "course-conv-explorer" in box._dom_classes
    controls = {c.description: c for c in box.children[0].children}
    assert set(controls) == {"kernel", "stride", "padding"}
    picture = box.children[1]
    assert isinstance(picture, widgets.Image) and "course-conv-explorer-image" in picture._dom_classes
    for name, value in (("kernel", 4), ("stride", 3), ("padding", 1)):
        before = picture.value
        controls[name].value = value
        assert picture.value != before, f"moving {name} did not change the picture"
    assert picture.value == conv_explorer.figure_png(4, 3, 1)
