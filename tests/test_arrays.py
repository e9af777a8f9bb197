"""helpers.arrays: any framework's arrays as NumPy, image batches as (N, H, W)."""

import numpy as np
import torch

from helpers.arrays import squeeze_channel, to_numpy


def test_squeeze_channel_drops_only_a_single_channel_axis():
    x = np.arange(2 * 4 * 6).reshape(2, 4, 6)
    for batch in (x, x[:, None], x[..., None]):
        np.testing.assert_array_equal(squeeze_channel(batch), x)
    assert squeeze_channel(x[0]).shape == (1, 4, 6) and squeeze_channel(x, np.float32).dtype == np.float32
    assert squeeze_channel(np.zeros((2, 3, 4, 6))).shape == (2, 3, 4, 6)  # three channels: left to the caller


def test_to_numpy_converts_a_torch_tensor_and_passes_anything_else_through():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(to_numpy(torch.tensor(x, requires_grad=True)), x)
    assert to_numpy(x) is x and to_numpy([1, 2]) == [1, 2]
