"""reference.bilinear_kernel: the transposed convolution that lesson 03 §2 says is bilinear ×2, against PyTorch.

FCN (Long et al. 2015) initialises its stride-2 transposed convolutions this way; the lesson claims that the two
agree exactly away from the outer ring of output pixels and that the ring gets 3/4 (corners 9/16) of bilinear's
value. Checked here with PyTorch's own layers, so the claim does not rest on the course's references alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import reference

F = torch.nn.functional


def _both(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's transposed convolution with the kernel, and PyTorch's bilinear ×2 (align_corners=False)."""
    weight = torch.from_numpy(reference.bilinear_kernel(x.shape[1]))
    tx = torch.from_numpy(x)
    up = F.conv_transpose2d(tx, weight, stride=2, padding=1)
    smooth = F.interpolate(tx, scale_factor=2, mode="bilinear", align_corners=False)
    return up.numpy(), smooth.numpy()


@pytest.mark.parametrize("shape", [(1, 1, 3, 3), (2, 3, 5, 7), (1, 4, 8, 2)])
def test_equals_bilinear_x2_inside_the_outer_ring(shape):
    x = np.random.default_rng(sum(shape)).normal(size=shape)
    up, smooth = _both(x)
    assert up.shape == smooth.shape == (shape[0], shape[1], 2 * shape[2], 2 * shape[3])
    np.testing.assert_allclose(up[..., 1:-1, 1:-1], smooth[..., 1:-1, 1:-1], rtol=1e-12, atol=1e-12)


def test_the_outer_ring_gets_three_quarters_and_the_corners_nine_sixteenths():
    up, smooth = _both(np.random.default_rng(1).uniform(1, 2, size=(2, 3, 5, 6)))
    ratio = up / smooth
    for edge in (ratio[..., 0, 1:-1], ratio[..., -1, 1:-1], ratio[..., 1:-1, 0], ratio[..., 1:-1, -1]):
        np.testing.assert_allclose(edge, 0.75, rtol=1e-12)
    np.testing.assert_allclose(ratio[..., [0, 0, -1, -1], [0, -1, 0, -1]], 0.5625, rtol=1e-12)


def test_each_channel_upsamples_only_itself():
    weight = reference.bilinear_kernel(3)
    taps = np.array([1, 3, 3, 1]) / 4
    assert weight.shape == (3, 3, 4, 4)
    for c in range(3):
        np.testing.assert_array_equal(weight[c, c], np.outer(taps, taps))
    off_diagonal = ~np.eye(3, dtype=bool)
    assert not weight[off_diagonal].any()
