"""helpers.gan.train_keras.icnr_kernel: the function that lesson 05's grading withholds and ICNR computes with."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from helpers.gan.train_keras import ICNR, icnr_kernel


def _conv_then_depth_to_space(x, kernel, block):
    return tf.nn.depth_to_space(tf.nn.conv2d(x, kernel, 1, "SAME"), block).numpy()


def test_icnr_kernel_makes_depth_to_space_nearest_upsampling_and_the_pytorch_order_does_not():
    rng = np.random.default_rng(0)
    kernel0 = rng.normal(size=(3, 3, 2, 3)).astype(np.float32)
    x = rng.normal(size=(1, 5, 6, 2)).astype(np.float32)
    for block in (2, 3):
        kernel = np.asarray(icnr_kernel(kernel0, block))
        assert kernel.shape == (3, 3, 2, 3 * block * block)
        for copy in range(block * block):  # sub-pixel (i, j) reads channels (i·block + j)·C + c: whole copies
            np.testing.assert_array_equal(kernel[..., copy * 3:(copy + 1) * 3], kernel0)
        nearest = keras.layers.UpSampling2D(block)(tf.nn.conv2d(x, kernel0, 1, "SAME")).numpy()
        np.testing.assert_allclose(_conv_then_depth_to_space(x, kernel, block), nearest, atol=1e-5)
        repeated = np.repeat(kernel0, block * block, axis=-1)  # PyTorch's pixel-shuffle order
        assert np.abs(_conv_then_depth_to_space(x, repeated, block) - nearest).max() > 0.1


def test_icnr_initializer_tiles_the_kernel_it_draws():
    kernel0 = np.random.default_rng(1).normal(size=(1, 2, 3, 2)).astype(np.float32)
    drawn = ICNR(2, base=lambda shape, dtype=None: kernel0)((1, 2, 3, 8))
    np.testing.assert_array_equal(np.asarray(drawn), np.asarray(icnr_kernel(kernel0, 2)))
