"""Lesson 08's figures (helpers.plotting): the spectra at initialisation and the ablation."""

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle

from helpers import plotting

matplotlib.use("Agg")

ROWS, COLS = np.mgrid[0:28, 0:28]
CHECKERBOARD = np.where((ROWS + COLS) % 2, 1.0, -1.0)  # flips sign from one pixel to the next, both ways
STRIPES = np.where(ROWS % 2, 1.0, -1.0)                # flips from one row to the next only


def test_power_spectrum_puts_the_nyquist_row_and_column_first():
    checkerboard = plotting.power_spectrum(CHECKERBOARD[None])
    assert np.argmax(checkerboard) == 0 and np.isclose(checkerboard.sum(), checkerboard[0, 0])
    stripes = plotting.power_spectrum(STRIPES[None])
    assert np.isclose(stripes[0].sum(), stripes.sum()) and np.argmax(stripes[0]) == 14  # row 0, zero column freq
    smooth = plotting.power_spectrum(np.sin(2 * np.pi * COLS / 28)[None])
    assert smooth[0].sum() + smooth[:, 0].sum() < 1e-9 * smooth.sum()


def test_frame_nyquist_outlines_row_0_and_column_0():
    fig = plotting.spectra_at_init({"a": np.zeros((2, 28, 28))}, {"a": 0.0})
    frames = [p for p in fig.axes[2].patches if isinstance(p, Rectangle)]
    assert sorted((p.get_xy(), p.get_width(), p.get_height()) for p in frames) == [
        ((-0.5, -0.5), 1, 28), ((-0.5, -0.5), 28, 1)]


def test_spectra_at_init_shows_the_pattern_the_samples_share():
    rng = np.random.default_rng(0)
    striped = rng.normal(size=(300, 28, 28)) + 0.2 * CHECKERBOARD  # one sample: noise; the mean: the pattern
    clean = rng.normal(size=(300, 28, 28))
    fig = plotting.spectra_at_init({"striped": striped, "clean": clean}, {"striped": 0.3, "clean": 0.07})
    assert len(fig.axes) == 6
    striped_mean, clean_mean = (ax.get_images()[0].get_array() for ax in (fig.axes[2], fig.axes[3]))
    assert np.corrcoef(np.ravel(striped_mean), CHECKERBOARD.ravel())[0, 1] > 0.9
    assert abs(np.corrcoef(np.ravel(clean_mean), CHECKERBOARD.ravel())[0, 1]) < 0.2
    assert "Nyquist share 0.300" in fig.axes[4].get_title() and "mean of 300 samples" in fig.axes[2].get_title()


def test_ablation_figure_shows_small_values_on_a_log_scale_and_the_judge_per_trained_kind():
    init = {"convtranspose": 0.21, "convtranspose3": 0.17, "resize_conv": 0.002, "pixel_shuffle": 1e-33}
    trained = {"convtranspose": 0.003, "resize_conv": 0.0028}
    judged = {"convtranspose": {"inception_score": 8.1, "fid": 10.0},
              "resize_conv": {"inception_score": 8.4, "fid": 8.0}}
    fig = plotting.checkerboard_ablation(init, trained, 0.0029, judged, {"inception_score": 9.7, "fid": 2.0},
                                         note="one seed")
    left, right, twin = fig.axes
    assert left.get_yscale() == "log"
    heights = [bar.get_height() for bar in left.patches]
    assert heights[:4] == list(init.values()) and heights[4:] == [0.003, heights[5], 0.0028, heights[7]]
    assert np.isnan(heights[5]) and np.isnan(heights[7])  # convtranspose3 and pixel_shuffle: not trained
    assert sum("not trained" in t.get_text() for t in left.texts) == 2  # the two kinds without an "after"
    # ICNR's ~0 does not stretch the axis: it stops a decade below the smallest share that matters (0.0028)
    assert np.isclose(left.get_ylim()[0], 0.00028)
    assert {t.get_text() for t in left.texts} >= {"0.210", "0.003", "0.000"}  # every bar says its value
    assert [bar.get_height() for bar in right.patches] == [8.1, 8.4]
    np.testing.assert_allclose(twin.lines[0].get_ydata(), [5.0, 4.0])  # FID ÷ real
    assert fig._suptitle.get_text() == "one seed"
