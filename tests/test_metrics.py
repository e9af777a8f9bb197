"""helpers.metrics: PSNR and the two checkerboard measures, on inputs whose answer is known by hand."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from helpers import metrics


def test_psnr_matches_skimage_per_array_and_per_image():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 1, 40, 50)), rng.random((3, 1, 40, 50))
    assert metrics.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=1.0))
    assert metrics.psnr(a, 0.9 * a) > metrics.psnr(a, 0.5 * a)
    assert metrics.psnr(255 * a, 255 * b, data_range=255) == pytest.approx(metrics.psnr(a, b))
    per_image = metrics.psnr(a, b, axis=(1, 2, 3))
    np.testing.assert_allclose(per_image, [peak_signal_noise_ratio(y, x, data_range=1.0) for x, y in zip(a, b)])


def test_psnr_of_identical_images_is_infinite_without_a_warning(recwarn):
    a = np.ones((2, 4, 4))
    assert metrics.psnr(a, a) == float("inf")
    assert np.isinf(metrics.psnr(a, a, axis=(1, 2))).all() and not recwarn.list


def test_block_pattern_strength_is_zero_without_a_2x2_pattern_and_one_for_a_pure_checkerboard():
    smooth = np.add.outer(np.arange(8.0), np.arange(8.0))  # a ramp: every block the same slope, which the mean leaves
    board = np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1   # ±1 alternating: the pattern is all there is
    assert metrics.block_pattern_strength(board) == pytest.approx(1.0)
    assert metrics.block_pattern_strength(board + 5 * np.ones((8, 8))) == pytest.approx(1.0)  # an offset is no pattern
    flat_blocks = np.kron(np.arange(16.0).reshape(4, 4), np.ones((2, 2)))  # nearest-neighbour ×2: constant blocks
    assert metrics.block_pattern_strength(flat_blocks) == 0.0
    assert 0 < metrics.block_pattern_strength(smooth) < metrics.block_pattern_strength(smooth + board)
    with pytest.raises(ValueError, match="even H and W"):
        metrics.block_pattern_strength(np.ones((3, 4)))


def test_nyquist_share_counts_the_highest_frequency_row_and_column_of_a_batch():
    board = (np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1)[None]
    stripes = (np.arange(8) % 2 * 2.0 - 1)[None, None, :] * np.ones((1, 8, 1))  # alternating columns: Nyquist in W
    # one cycle across: no Nyquist power, and (amplitude √2) as much power in all as the board
    low = np.sqrt(2) * np.cos(2 * np.pi * np.arange(8) / 8)[None, None, :] * np.ones((1, 8, 1))
    assert metrics.nyquist_share(board) == pytest.approx(1.0)
    assert metrics.nyquist_share(stripes) == pytest.approx(1.0)
    assert metrics.nyquist_share(low) == pytest.approx(0.0, abs=1e-12)
    assert metrics.nyquist_share(np.concatenate([board, low])) == pytest.approx(0.5)  # equal power, pooled
    assert metrics.nyquist_share(np.ones((2, 8, 8))) == 0.0  # no power once the mean is removed
    np.testing.assert_equal(metrics.nyquist_share(board[:, None]), metrics.nyquist_share(board[..., None]))
    with pytest.raises(ValueError, match="even H and W"):
        metrics.nyquist_share(np.ones((2, 7, 8)))
