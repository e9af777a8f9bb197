"""Lesson 01's upsampling explorer."""

import numpy as np
import pytest

from helpers import data
from helpers.widgets import explorer


def test_shrink_averages_blocks():
    image = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_array_equal(explorer.shrink(image, 2), [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="must divide"):
        explorer.shrink(image, 3)


@pytest.mark.parametrize("method", list(explorer.METHODS))
@pytest.mark.parametrize("factor", explorer.FACTORS)
def test_render_returns_to_full_size(method, factor):
    digit = data.digit(0)
    out = explorer.render(digit, method, factor)
    assert out["small"].shape == (28 // factor, 28 // factor)
    assert out["upsampled"].shape == (28, 28)
    assert np.isfinite(out["psnr"]) and out["invented"] == pytest.approx(1 - 1 / factor**2)


def test_nearest_repeats_and_bed_of_nails_keeps_one_pixel_per_block():
    digit = data.digit(1)
    small = explorer.shrink(digit, 4)
    np.testing.assert_allclose(explorer.render(digit, "nearest", 4)["upsampled"], np.kron(small, np.ones((4, 4))),
                               atol=1e-6)
    nails = explorer.render(digit, "bed of nails", 4)["upsampled"]
    np.testing.assert_allclose(nails[::4, ::4], small, atol=1e-6)
    nails[::4, ::4] = 0
    assert not nails.any()


def test_explorer_widget_redraws_when_a_control_changes():
    digits, _ = data.load_mnist("test", n=3)
    box = explorer.upsampling_explorer(digits)
    method, index = box.children[0].children
    factor, picture = box.children[1], box.children[2]
    first = picture.value
    method.value = "bilinear"
    second = picture.value
    factor.value = 2
    third = picture.value
    index.value = 2
    assert len({first, second, third, picture.value}) == 4
    assert picture.value == explorer.figure_png(digits[2], "bilinear", 2)
