"""docs/design.md fact F2 in full: a transposed convolution as zero insertion + padding + an ordinary convolution.

Lessons 03 and 05 check the stride/padding case; this covers the two parts their prose adds for the general
layer: with dilation d the equivalent convolution is dilated by d too, and ``output_padding`` pads the
zero-inserted input by that many extra rows/columns at the bottom/right only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F


def via_zero_insertion(x, w, stride, padding, dilation, output_padding):
    """F2's recipe with torch.conv2d: (N, C_in, H, W), weight (C_in, C_out, k, k) → ConvTranspose2d's output."""
    n, c_in, h, wd = x.shape
    k = w.shape[-1]
    z = x.new_zeros(n, c_in, (h - 1) * stride + 1, (wd - 1) * stride + 1)
    z[..., ::stride, ::stride] = x
    edge = dilation * (k - 1) - padding
    z = F.pad(z, (edge, edge + output_padding, edge, edge + output_padding))  # (left, right, top, bottom)
    return F.conv2d(z, w.flip(-2, -1).transpose(0, 1), dilation=dilation)


@pytest.mark.parametrize("stride, k, dilation, padding, output_padding",
                         [(2, 3, 1, 0, 0), (2, 4, 1, 1, 1), (2, 3, 2, 1, 1), (3, 3, 2, 2, 2), (2, 3, 3, 0, 2)],
                         ids=str)
def test_transposed_conv_is_zero_insertion_then_dilated_conv(stride, k, dilation, padding, output_padding):
    gen = torch.Generator().manual_seed(stride * 100 + k * 10 + dilation)
    x = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=gen, dtype=torch.float64)
    want = F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation)
    got = via_zero_insertion(x, w, stride, padding, dilation, output_padding)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)


def test_output_padding_goes_at_the_bottom_right_and_dilation_is_needed():
    """The two details are not optional: padding output_padding on top/left, or dropping the dilation, is wrong."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(1, 1, 4, 4, generator=gen, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, generator=gen, dtype=torch.float64)
    want = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, dilation=2)
    z = x.new_zeros(1, 1, 7, 7)
    z[..., ::2, ::2] = x
    kernel = w.flip(-2, -1).transpose(0, 1)
    top_left = F.conv2d(F.pad(z, (4, 3, 4, 3)), kernel, dilation=2)
    assert top_left.shape == want.shape and not torch.allclose(top_left, want)
    undilated = F.conv2d(F.pad(z, (3, 4, 3, 4)), kernel)  # same padding, kernel not dilated: wrong size
    assert undilated.shape != want.shape
