"""helpers.apps.common: the profile settings, PSNR and Markdown tables the apps share."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from helpers.apps import common


def test_psnr_matches_skimage_per_array_and_per_image():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 1, 40, 50)), rng.random((3, 1, 40, 50))
    assert common.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=1.0))
    assert common.psnr(a, 0.9 * a) > common.psnr(a, 0.5 * a)
    assert common.psnr(255 * a, 255 * b, data_range=255) == pytest.approx(common.psnr(a, b))
    per_image = common.psnr(a, b, axis=(1, 2, 3))
    np.testing.assert_allclose(per_image, [peak_signal_noise_ratio(y, x, data_range=1.0) for x, y in zip(a, b)])


def test_psnr_of_identical_images_is_infinite_without_a_warning(recwarn):
    a = np.ones((2, 4, 4))
    assert common.psnr(a, a) == float("inf")
    assert np.isinf(common.psnr(a, a, axis=(1, 2))).all() and not recwarn.list


def test_settings_copies_the_profile_in_force():
    table = {"smoke": {"steps": 1}, "cpu": {"steps": 2}, "gpu": {"steps": 3}}
    chosen = common.settings(table, "cpu")
    chosen["steps"] = 99
    assert table["cpu"] == {"steps": 2} and common.settings(table)["steps"] == 1  # the suite runs in smoke


def test_format_table_rounds_for_reading_unless_a_format_is_given():
    rows = [{"name": "a", "n": 12345, "x": 0.12345, "y": 12.345, "z": 1234.5}]
    assert common.format_table(rows, ("name", "n", "x", "y", "z")).splitlines() == [
        "| name | n | x | y | z |", "|---|---|---|---|---|", "| a | 12,345 | 0.123 | 12.35 | 1,234 |"]
    assert common.format_table(rows, ("x",), {"x": "{:.1%}"}).splitlines()[-1] == "| 12.3% |"


def test_every_app_settings_table_has_exactly_the_run_profiles():
    from helpers import runtime
    from helpers.apps import pix2pix_torch, sr_torch

    for table in (sr_torch.SETTINGS, pix2pix_torch.SETTINGS):
        assert tuple(table) == runtime.PROFILES
