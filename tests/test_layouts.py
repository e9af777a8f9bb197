"""helpers.layouts: weight/tensor layouts and the Keras Conv2DTranspose crop arithmetic (pure NumPy)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from helpers import layouts, reference

RNG = np.random.default_rng(0)


def test_conv_transpose_kernel_layouts_map_each_element():
    keras_kernel = RNG.normal(size=(3, 4, 5, 2))  # (kH, kW, out, in)
    weight = layouts.keras_conv_transpose_kernel_to_torch(keras_kernel)
    assert weight.shape == (2, 5, 3, 4)  # (in, out, kH, kW)
    for kh, kw, o, i in [(0, 0, 0, 0), (2, 3, 4, 1), (1, 2, 3, 0)]:
        assert weight[i, o, kh, kw] == keras_kernel[kh, kw, o, i]
    np.testing.assert_array_equal(layouts.torch_conv_transpose_weight_to_keras(weight), keras_kernel)


def test_conv2d_kernel_conversion_makes_reference_conv2d_compute_keras_conv2d():
    x = RNG.normal(size=(2, 6, 5, 3))  # NHWC
    kernel = RNG.normal(size=(3, 2, 3, 4))  # Keras Conv2D (kH, kW, in, out)
    # Keras Conv2D, padding='valid', written out: y[n,h,w,o] = Σ x[n,h+a,w+b,i]·k[a,b,i,o]
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(1, 2))  # (N, H', W', C, 3, 2)
    keras_y = np.einsum("nhwiab,abio->nhwo", windows, kernel)
    weight = layouts.keras_conv_kernel_to_torch(kernel)
    assert weight.shape == (4, 3, 3, 2)  # (out, in, kH, kW)
    torch_y = reference.conv2d(layouts.nhwc_to_nchw(x), weight)
    np.testing.assert_allclose(layouts.nchw_to_nhwc(torch_y), keras_y, rtol=1e-12)


def test_nhwc_nchw_round_trip():
    x = RNG.normal(size=(2, 3, 4, 5))
    assert layouts.nhwc_to_nchw(x).shape == (2, 5, 3, 4)
    assert layouts.nhwc_to_nchw(x)[1, 4, 2, 3] == x[1, 2, 3, 4]
    np.testing.assert_array_equal(layouts.nchw_to_nhwc(layouts.nhwc_to_nchw(x)), x)


def test_keras_lengths_match_the_article_and_keras_formulas():
    assert layouts.keras_conv_transpose_length(64, 3, 2, "same") == 128  # the article's layer
    assert layouts.keras_conv_transpose_length(64, 3, 2, "valid") == 129
    assert layouts.keras_conv_transpose_length(5, 2, 3, "valid") == 15  # k < s: Keras pads to n·s, PyTorch gives 14
    assert layouts.keras_conv_transpose_length(5, 3, 2, "same", output_padding=0) == 9
    assert layouts.keras_conv_transpose_length(5, 3, 2, "valid", output_padding=1) == 12
    with pytest.raises(ValueError, match="TensorFlow rejects"):
        layouts.keras_conv_transpose_length(5, 4, 2, "same", output_padding=0)
    with pytest.raises(ValueError, match="output_padding"):
        layouts.keras_conv_transpose_length(5, 3, 2, "same", output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        layouts.keras_conv_transpose_length(5, 3, 2, "full")


@pytest.mark.parametrize("k,s,expected", [(3, 2, (0, 1)), (4, 2, (1, 1)), (5, 2, (1, 2)), (3, 1, (1, 1)),
                                          (2, 1, (0, 1)), (2, 2, (0, 0)), (2, 3, (0, -1)), (4, 3, (0, 1))])
def test_same_crop_puts_the_odd_row_at_the_end(k, s, expected):
    assert layouts.keras_conv_transpose_crop(k, s, "same") == expected


def _grid():
    for k, s, padding in itertools.product((1, 2, 3, 4, 5), (1, 2, 3), ("same", "valid")):
        for op in (None, *range(s)):
            if padding == "same" and op == 0 and k % 2 == 0:
                continue
            yield k, s, padding, op


@pytest.mark.parametrize("k,s,padding,op", list(_grid()))
def test_torch_equivalent_gives_keras_size_and_crop(k, s, padding, op):
    eq = layouts.torch_equivalent(k, s, padding, op)
    assert all(0 <= o < s for o in eq.output_padding) and all(c in (0, 1) for c in eq.crop_end)
    for n in (1, 4, 7):
        torch_size = reference.conv_transpose2d_output_size(n, k, s, eq.padding[0], eq.output_padding[0])
        assert torch_size - eq.crop_end[0] == layouts.keras_conv_transpose_length(n, k, s, padding, op)
    before, after = layouts.keras_conv_transpose_crop(k, s, padding, op)
    # PyTorch crops `padding` at the start, then `padding - output_padding` (+ crop_end) at the end
    assert (eq.padding[0], eq.padding[0] - eq.output_padding[0] + eq.crop_end[0]) == (before, after)


def test_keras_numpy_equivalent_is_the_full_result_cropped():
    x, kernel, bias = RNG.normal(size=(2, 5, 4, 3)), RNG.normal(size=(3, 3, 2, 3)), RNG.normal(size=2)
    full = layouts.keras_conv_transpose_numpy(x, kernel, bias, 2, "valid", output_padding=0)  # nothing cropped
    assert full.shape == (2, 11, 9, 2)
    same = layouts.keras_conv_transpose_numpy(x, kernel, bias, 2, "same")
    assert same.shape == (2, 10, 8, 2)
    np.testing.assert_allclose(same, full[:, :10, :8])  # crop (0, 1): all of it at the bottom/right


def test_naive_port_crops_unlike_keras_for_odd_kernels_at_stride_2():
    wrong, impossible = set(), set()
    for k, s in itertools.product((2, 3, 4, 5), (1, 2, 3)):
        try:
            p, op = layouts.naive_torch_padding(k, s)
        except ValueError:
            impossible.add((k, s))
            continue
        if layouts.torch_conv_transpose_crop(p, op) != layouts.keras_conv_transpose_crop(k, s, "same"):
            wrong.add((k, s))
    assert wrong == {(3, 2), (5, 2), (3, 3), (4, 3), (5, 3)}
    assert impossible == {(2, 1), (4, 1)}  # even kernel, stride 1: output_padding would have to be -1
    assert layouts.naive_torch_padding(3, 2) == (1, 1)  # docs/design.md, F6: crops (1, 0), Keras crops (0, 1)
    assert layouts.naive_torch_padding(4, 2) == (1, 0)  # k4 s2: padding=1 is exact


@pytest.mark.parametrize("k,s,p,op", [(k, s, p, op) for k in (2, 3, 4, 5) for s in (1, 2, 3)
                                      for p in range(3) for op in range(s)])
def test_keras_config_for_torch_reproduces_the_crop_or_refuses(k, s, p, op):
    try:
        config = layouts.keras_config_for_torch(k, s, p, op)
    except ValueError:
        options = [(pad, o) for pad in ("same", "valid") for o in (None, *range(s))]
        crops = set()
        for pad, o in options:
            try:
                crops.add(layouts.keras_conv_transpose_crop(k, s, pad, o))
            except ValueError:
                pass
        assert (p, p - op) not in crops
        return
    assert layouts.keras_conv_transpose_crop(k, s, config["padding"], config["output_padding"]) == (p, p - op)


def _depth_to_space(x, r):
    """tf.nn.depth_to_space by its definition: y[n, h·r+i, w·r+j, c] = x[n, h, w, (i·r+j)·C + c]."""
    n, h, w, cr2 = x.shape
    c = cr2 // (r * r)
    y = np.empty((n, h * r, w * r, c), x.dtype)
    for i, j, ch in itertools.product(range(r), range(r), range(c)):
        y[:, i::r, j::r, ch] = x[..., (i * r + j) * c + ch]
    return y


@pytest.mark.parametrize("channels,r", [(2, 2), (3, 3), (1, 2)])
def test_depth_to_space_order_makes_pixel_shuffle_agree(channels, r):
    x = RNG.normal(size=(2, 3, 4, channels * r * r))
    regrouped = layouts.depth_to_space_order_to_pixel_shuffle(x, r)
    shuffled = layouts.nchw_to_nhwc(reference.pixel_shuffle(layouts.nhwc_to_nchw(regrouped), r))
    np.testing.assert_array_equal(shuffled, _depth_to_space(x, r))
    plain = layouts.nchw_to_nhwc(reference.pixel_shuffle(layouts.nhwc_to_nchw(x), r))
    assert np.array_equal(plain, _depth_to_space(x, r)) == (channels == 1)  # docs/design.md, F9


def test_save_and_load_arrays_round_trip_without_pickles(tmp_path):
    path = layouts.save_arrays(tmp_path / "a.npz", {"padding": "same", "strides": [2, 2], "output_padding": None},
                               kernel=np.arange(6.0).reshape(1, 2, 3, 1))
    config, arrays = layouts.load_arrays(path)
    assert config == {"padding": "same", "strides": [2, 2], "output_padding": None}
    np.testing.assert_array_equal(arrays["kernel"], np.arange(6.0).reshape(1, 2, 3, 1))
    with np.load(path, allow_pickle=False) as data:  # readable without pickles
        assert set(data.files) == {"__config__", "kernel"}


def test_layouts_and_port_torch_never_import_tensorflow():
    code = ("import sys, helpers.layouts, helpers.port_torch, helpers.reference; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
