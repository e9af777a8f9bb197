"""helpers.reference against torch.nn.functional, on random inputs, to float32 rounding.

Each case runs in float64 (which pins the semantics: any indexing slip shows far above 1e-10)
and in float32 (the tolerance the course promises).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

F = torch.nn.functional

from helpers import reference as ref  # noqa: E402

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-5, atol=2e-5)}


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def close(actual, expected, dtype):
    expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype} != {np.dtype(dtype)}"
    np.testing.assert_allclose(actual, expected, **TOL[dtype])


# --------------------------------------------------------------------------- conv2d

CONV_CASES = [
    # (N, Cin, H, W), Cout, (kH, kW), stride, padding, dilation, groups
    ((1, 1, 5, 5), 1, (3, 3), 1, 0, 1, 1),
    ((2, 3, 7, 6), 4, (1, 1), 1, 0, 1, 1),  # kernel 1
    ((2, 3, 9, 8), 5, (2, 3), (2, 1), (1, 0), 1, 1),  # non-square everything
    ((1, 4, 11, 10), 6, (3, 2), (3, 2), (2, 1), (2, 3), 2),  # dilation + padding + groups
    ((3, 6, 8, 9), 6, (3, 3), 2, 1, 1, 3),
    ((2, 4, 10, 7), 8, (2, 2), (4, 3), 0, 1, 4),  # stride > kernel, depthwise-like
    ((1, 2, 6, 6), 3, (6, 6), 1, 0, 1, 1),  # kernel = input
    ((1, 2, 4, 5), 2, (3, 3), 1, (3, 2), (2, 2), 1),  # padding > kernel reach
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv2d_matches_torch(case, dtype, with_bias):
    shape, cout, k, stride, padding, dilation, groups = case
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    x = rand(rng, shape, dtype)
    w = rand(rng, (cout, shape[1] // groups, *k), dtype)
    b = rand(rng, (cout,), dtype) if with_bias else None
    got = ref.conv2d(x, w, b, stride, padding, dilation, groups)
    want = F.conv2d(t(x), t(w), None if b is None else t(b), stride, padding, dilation, groups)
    close(got, want, dtype)


# --------------------------------------------------------------------------- conv_transpose2d

TRANSPOSE_CASES = [
    # (N, Cin, H, W), Cout, (kH, kW), stride, padding, output_padding, groups, dilation
    ((1, 1, 3, 3), 1, (3, 3), 2, 0, 0, 1, 1),
    ((64 // 16, 8, 7, 7), 4, (4, 4), 2, 1, 0, 1, 1),  # a small DCGAN layer
    ((2, 3, 4, 5), 2, (1, 1), 1, 0, 0, 1, 1),  # kernel 1
    ((2, 3, 4, 5), 2, (1, 1), 3, 0, 2, 1, 1),  # kernel 1, stride 3, output_padding < stride
    ((2, 3, 5, 4), 5, (2, 3), (3, 2), (1, 0), (2, 1), 1, 1),  # stride > kernel, non-square
    ((1, 4, 5, 6), 6, (3, 2), (2, 3), (2, 1), (1, 2), 2, (2, 1)),  # groups + dilation + padding
    ((3, 6, 4, 4), 9, (3, 3), 1, 1, (1, 1), 3, 2),  # output_padding < dilation (stride 1)
    ((2, 4, 3, 5), 8, (5, 3), 2, (3, 1), 1, 4, (1, 2)),
    ((1, 2, 6, 3), 3, (4, 5), (1, 2), (2, 3), (0, 1), 1, (3, 1)),  # padding > 0 with dilation
    ((2, 2, 2, 2), 2, (3, 3), 4, 0, 3, 2, 1),  # stride > kernel, output_padding = stride - 1
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
@pytest.mark.parametrize("fn", [ref.conv_transpose2d, ref.conv_transpose2d_naive], ids=["vectorised", "naive"])
def test_conv_transpose2d_matches_torch(fn, case, dtype):
    shape, cout, k, stride, padding, output_padding, groups, dilation = case
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    x = rand(rng, shape, dtype)
    w = rand(rng, (shape[1], cout // groups, *k), dtype)
    b = rand(rng, (cout,), dtype)
    for bias in (None, b):
        got = fn(x, w, bias, stride, padding, output_padding, groups, dilation)
        want = F.conv_transpose2d(t(x), t(w), None if bias is None else t(bias), stride, padding, output_padding,
                                  groups, dilation)
        close(got, want, dtype)
        expected_size = ref.conv_transpose2d_output_size(shape[2:], k, stride, padding, output_padding, dilation)
        assert got.shape[2:] == expected_size


def test_conv_transpose2d_random_configs():
    """Many random configurations (seeded) beyond the hand-picked ones."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        groups = int(rng.choice([1, 2, 3]))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        k = tuple(int(v) for v in rng.integers(1, 6, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
        hw = tuple(int(v) for v in rng.integers(1, 6, 2))
        p = tuple(int(rng.integers(0, (d_ * (k_ - 1) + 1) // 2 + 1)) for k_, d_ in zip(k, d))
        x = rand(rng, (int(rng.integers(1, 3)), cin, *hw), np.float64)
        w = rand(rng, (cin, cout // groups, *k), np.float64)
        try:
            want = F.conv_transpose2d(t(x), t(w), None, s, p, op, groups, d)
        except RuntimeError:  # torch rejects it (an empty output): so must we
            with pytest.raises(ValueError):
                ref.conv_transpose2d(x, w, None, s, p, op, groups, d)
            continue
        close(ref.conv_transpose2d(x, w, None, s, p, op, groups, d), want, np.float64)


@pytest.mark.parametrize("case", [((7, 7), 4, 2, 1, 0, 1), ((5, 9), (3, 2), (2, 3), (1, 0), (1, 2), 1),
                                  (4, 3, 1, 2, 0, 3), (1, 5, 3, 0, 2, 1), ((6, 2), 3, (2, 2), 1, (1, 0), (1, 2))],
                         ids=str)
def test_output_size_matches_torch(case):
    size, k, s, p, op, d = case
    hw = size if isinstance(size, tuple) else (size, size)
    x = torch.zeros(1, 1, *hw)
    kk = k if isinstance(k, tuple) else (k, k)
    want = F.conv_transpose2d(x, torch.zeros(1, 1, *kk), None, s, p, op, 1, d).shape[2:]
    got = ref.conv_transpose2d_output_size(size, k, s, p, op, d)
    assert (got if isinstance(got, tuple) else (got, got)) == tuple(want)


def test_output_size_settles_the_ambiguity():
    # A stride-2 convolution maps 7 and 8 to 4; output_padding picks which one comes back.
    for h in (7, 8):
        assert ref.conv2d(np.zeros((1, 1, h, h)), np.zeros((1, 1, 3, 3)), stride=2, padding=1).shape[2] == 4
    assert ref.conv_transpose2d_output_size(4, 3, 2, 1, 0) == 7
    assert ref.conv_transpose2d_output_size(4, 3, 2, 1, 1) == 8
    assert isinstance(ref.conv_transpose2d_output_size(4, 3, 2, 1, 1), int)


# --------------------------------------------------------------------------- nearest, zeros, pooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,scale", [((1, 1, 3, 4), 2), ((2, 3, 5, 2), (3, 1)), ((1, 2, 1, 1), 4),
                                         ((2, 1, 4, 3), (1, 5)),
                                         ((1, 1, 2, 2), 2.0)], ids=str)
def test_upsample_nearest_matches_torch(shape, scale, dtype):
    x = rand(np.random.default_rng(0), shape, dtype)
    sf = scale if isinstance(scale, tuple) else (scale, scale)
    close(ref.upsample_nearest(x, scale), F.interpolate(t(x), scale_factor=sf, mode="nearest"), dtype)


@pytest.mark.parametrize("shape,scale", [((1, 1, 3, 4), 2), ((2, 3, 5, 2), (3, 2)), ((1, 2, 2, 2), 1)], ids=str)
def test_upsample_zeros_is_a_one_by_one_transposed_conv(shape, scale):
    x = rand(np.random.default_rng(1), shape, np.float64)
    s = scale if isinstance(scale, tuple) else (scale, scale)
    c = shape[1]
    eye = torch.ones(c, 1, 1, 1, dtype=torch.float64)
    want = F.conv_transpose2d(t(x), eye, None, s, 0, (s[0] - 1, s[1] - 1), c)
    got = ref.upsample_zeros(x, scale)
    close(got, want, np.float64)
    assert np.count_nonzero(got) == np.count_nonzero(x)


POOL_CASES = [((1, 1, 4, 4), 2, None), ((2, 3, 7, 5), (2, 3), None), ((2, 2, 6, 7), 3, (2, 1)), ((1, 2, 5, 5), 2, 3),
              ((1, 1, 3, 3), 3, None), ((2, 1, 6, 6), (1, 2), (2, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k,s", POOL_CASES, ids=str)
def test_max_pool_and_unpool_match_torch(shape, k, s, dtype):
    x = rand(np.random.default_rng(2), shape, dtype)
    values, idx = ref.max_pool2d(x, k, s, return_indices=True)
    tv, ti = F.max_pool2d(t(x), k, s, return_indices=True)
    close(values, tv, dtype)
    np.testing.assert_array_equal(idx, ti.numpy())
    assert idx.dtype == np.int64
    close(ref.max_pool2d(x, k, s), tv, dtype)
    # the default size and the original input's size (pooling may have dropped rows): where
    # torch refuses (an index outside the output), so must we
    for size in (None, shape):
        try:
            want = F.max_unpool2d(tv, ti, k, s, output_size=None if size is None else size[2:])
        except (RuntimeError, ValueError):
            with pytest.raises(ValueError):
                ref.max_unpool2d(values, idx, k, s, output_size=size)
        else:
            close(ref.max_unpool2d(values, idx, k, s, output_size=size), want, dtype)


def test_max_pool_ties_take_the_first_maximum():
    x = np.zeros((1, 1, 2, 2))
    values, idx = ref.max_pool2d(x, 2, return_indices=True)
    assert idx[0, 0, 0, 0] == F.max_pool2d(t(x), 2, return_indices=True)[1].item() == 0


# --------------------------------------------------------------------------- bilinear

BILINEAR_CASES = [
    ((1, 1, 3, 4), dict(size=(6, 8))),
    ((2, 3, 5, 4), dict(size=(7, 9))),  # non-integer ratio
    ((1, 2, 6, 5), dict(size=(4, 3))),  # downsampling
    ((1, 1, 1, 4), dict(size=(3, 5))),  # one row
    ((2, 1, 4, 4), dict(size=1)),
    ((1, 2, 5, 3), dict(scale_factor=1.5)),  # floor(5·1.5)=7: torch samples with 1/scale, not 5/7
    ((1, 1, 4, 6), dict(scale_factor=(2, 0.75))),
    ((1, 1, 3, 3), dict(scale_factor=2.6)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape,kwargs", BILINEAR_CASES, ids=str)
def test_bilinear_matches_torch(shape, kwargs, align_corners, dtype):
    x = rand(np.random.default_rng(4), shape, dtype)
    want = F.interpolate(t(x), mode="bilinear", align_corners=align_corners, **kwargs)
    close(ref.interpolate_bilinear(x, align_corners=align_corners, **kwargs), want, dtype)


def test_source_coordinates_conventions():
    np.testing.assert_allclose(ref.source_coordinates(2, 4, False), [-0.25, 0.25, 0.75, 1.25])
    np.testing.assert_allclose(ref.source_coordinates(2, 4, True), [0, 1 / 3, 2 / 3, 1])


# --------------------------------------------------------------------------- pixel shuffle, C, overlap, ICNR

@pytest.mark.parametrize("shape,r", [((1, 4, 2, 3), 2), ((2, 18, 3, 2), 3), ((1, 3, 2, 2), 1), ((2, 8, 1, 1), 2)],
                         ids=str)
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r):
    x = rand(np.random.default_rng(5), shape, np.float32)
    y = ref.pixel_shuffle(x, r)
    close(y, F.pixel_shuffle(t(x), r), np.float32)
    close(ref.pixel_unshuffle(y, r), F.pixel_unshuffle(t(y), r), np.float32)
    np.testing.assert_array_equal(ref.pixel_unshuffle(y, r), x)


@pytest.mark.parametrize("case", [((1, 1, 3, 3), (4, 4), 1, 0, 1), ((2, 3, 2, 3), (5, 6), (2, 1), (1, 2), 1),
                                  ((1, 2, 3, 2), (7, 6), 2, 1, (2, 1))], ids=str)
def test_conv_matrix_is_conv_and_its_transpose_is_conv_transpose(case):
    wshape, size, s, p, d = case
    rng = np.random.default_rng(6)
    w = rand(rng, wshape, np.float64)
    C = ref.conv_matrix(w, size, s, p, d)
    x = rand(rng, (wshape[1], *size), np.float64)
    y = F.conv2d(t(x[None]), t(w), None, s, p, d)
    close(C @ x.ravel(), y.numpy().ravel(), np.float64)
    # Cᵀ: PyTorch's transposed conv with the same weight (layout (in, out) ↔ conv's (out, in))
    z = rand(rng, y.shape[1:], np.float64)
    smallest = ref.conv_transpose2d_output_size(y.shape[2:], wshape[2:], s, p, 0, d)
    out_pad = tuple(int(v) for v in np.subtract(size, smallest))
    want = F.conv_transpose2d(t(z[None]), t(w), None, s, p, out_pad, 1, d)
    close(C.T @ z.ravel(), want.numpy().ravel(), np.float64)


def test_conv_matrix_single_channel_shape():
    C = ref.conv_matrix(np.ones((3, 3)), 4)
    assert C.shape == (4, 16)
    assert (C.sum(axis=1) == 9).all()


@pytest.mark.parametrize("k,s,size,p", [(3, 2, 5, 0), ((4, 3), (2, 3), (3, 4), (1, 0)), (5, 2, 6, 2), (1, 3, 2, 0)],
                         ids=str)
def test_overlap_count_is_a_transposed_conv_of_ones(k, s, size, p):
    kk = k if isinstance(k, tuple) else (k, k)
    hw = size if isinstance(size, tuple) else (size, size)
    ones = torch.ones(1, 1, *hw, dtype=torch.float64), torch.ones(1, 1, *kk, dtype=torch.float64)
    want = F.conv_transpose2d(*ones, None, s, p)
    got = ref.overlap_count(k, s, size, p)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, want[0, 0].numpy())


@pytest.mark.parametrize("k,ratio", [(3, 4.0), (4, 1.0), (5, 2.25)])
def test_checkerboard_interior_ratios(k, ratio):
    counts = ref.overlap_count(k, 2, 8)
    inner = counts[k - 1:-(k - 1), k - 1:-(k - 1)]
    assert inner.max() / inner.min() == pytest.approx(ratio)


def test_icnr_makes_pixel_shuffle_equal_nearest_upsampling():
    rng = np.random.default_rng(7)
    w = ref.icnr((12, 2, 3, 3), 2, rng=0)
    assert w.shape == (12, 2, 3, 3) and w.dtype == np.float32
    np.testing.assert_array_equal(w, ref.icnr((12, 2, 3, 3), 2, rng=0))  # seeded
    x = rand(rng, (2, 2, 5, 4), np.float32)
    shuffled = F.pixel_shuffle(F.conv2d(t(x), t(w), padding=1), 2)
    nearest = F.interpolate(F.conv2d(t(x), t(w[::4].copy()), padding=1), scale_factor=2, mode="nearest")
    close(ref.pixel_shuffle(ref.conv2d(x, w, padding=1), 2), shuffled, np.float32)
    np.testing.assert_allclose(shuffled.numpy(), nearest.numpy(), rtol=1e-6, atol=1e-6)
    assert not np.allclose(w[0], w[4])  # distinct output channels get distinct kernels
    assert abs(w.std() - np.sqrt(2 / 18)) < 0.15
    with pytest.raises(ValueError, match="divisible"):
        ref.icnr((6, 2, 3, 3), 2)



@pytest.mark.parametrize("scale", [2, 3])
def test_torch_icnr_equals_the_numpy_reference_on_the_same_sub_kernel(scale):
    from helpers.torch_utils import icnr_

    sub = rand(np.random.default_rng(scale), (2, 3, 3, 3), np.float32)
    expected = ref.icnr((2 * scale * scale, 3, 3, 3), scale, init=lambda shape, rng: sub)
    weight = icnr_(torch.empty(2 * scale * scale, 3, 3, 3), scale, init=lambda w: w.copy_(t(sub)))
    np.testing.assert_array_equal(weight.numpy(), expected)
    torch.manual_seed(0)  # the default sub-kernel is He normal, as in the reference
    assert abs(icnr_(torch.empty(4 * 64, 32, 3, 3), 2).std().item() - np.sqrt(2 / (32 * 9))) < 0.005

# --------------------------------------------------------------------------- invalid arguments

X = np.zeros((1, 2, 4, 4))
W_T = np.zeros((2, 3, 3, 3))
INVALID = [
    ("output_padding", ref.conv_transpose2d, (X, W_T), dict(stride=2, output_padding=2)),
    ("output_padding", ref.conv_transpose2d, (X, W_T), dict(stride=1, dilation=1, output_padding=1)),
    ("output_padding", ref.conv_transpose2d_naive, (X, W_T), dict(stride=(2, 1), output_padding=(1, 1))),
    ("output_padding", ref.conv_transpose2d_output_size, (4, 3), dict(stride=2, output_padding=-1)),
    ("output_padding", ref.conv_transpose2d_output_size, (4, 3), dict(stride=2, dilation=3, output_padding=3)),
    ("padding", ref.conv_transpose2d, (np.zeros((1, 2, 1, 1)), W_T), dict(padding=2)),
    ("weight", ref.conv_transpose2d, (X, np.zeros((3, 2, 3, 3))), {}),
    ("groups", ref.conv_transpose2d, (X, W_T), dict(groups=3)),
    ("stride", ref.conv_transpose2d, (X, W_T), dict(stride=0)),
    ("stride", ref.conv_transpose2d, (X, W_T), dict(stride=(1, 2, 3))),
    ("bias", ref.conv_transpose2d, (X, W_T), dict(bias=np.zeros(2))),
    ("x", ref.conv_transpose2d, (X[0], W_T), {}),
    ("larger than the padded input", ref.conv2d, (X, np.zeros((1, 2, 5, 3))), {}),
    ("larger than the padded input", ref.conv2d, (X, np.zeros((1, 2, 3, 3))), dict(dilation=2)),
    ("padding", ref.conv2d, (X, np.zeros((1, 2, 3, 3))), dict(padding=-1)),
    ("groups", ref.conv2d, (X, np.zeros((3, 1, 3, 3))), dict(groups=2)),
    ("input channels", ref.conv2d, (X, np.zeros((2, 3, 3, 3))), {}),
    ("dilation", ref.conv2d, (X, np.zeros((1, 2, 1, 1))), dict(dilation=0)),
    ("scale_factor", ref.upsample_nearest, (X, 1.5), {}),
    ("scale_factor", ref.upsample_nearest, (X, (2, 0)), {}),
    ("scale_factor", ref.upsample_nearest, (X, True), {}),
    ("scale_factor", ref.upsample_zeros, (X, 2.5), {}),
    ("kernel_size", ref.max_pool2d, (X, 5), {}),
    ("indices", ref.max_unpool2d, (np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 1), np.int64), 2), {}),
    ("indices", ref.max_unpool2d, (np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2), {}),
    ("output_size", ref.max_unpool2d, (np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int64), 2),
     dict(output_size=(6, 4))),
    ("size and scale_factor", ref.interpolate_bilinear, (X,), {}),
    ("size and scale_factor", ref.interpolate_bilinear, (X,), dict(size=3, scale_factor=2)),
    ("size", ref.interpolate_bilinear, (X,), dict(size=(0, 3))),
    ("scale_factor", ref.interpolate_bilinear, (X,), dict(scale_factor=-2)),
    ("upscale_factor", ref.pixel_shuffle, (X, 2), {}),
    ("downscale_factor", ref.pixel_unshuffle, (np.zeros((1, 1, 3, 4)), 2), {}),
    ("larger than the padded input", ref.conv_matrix, (np.ones((3, 3)), 2), {}),
    ("padding", ref.overlap_count, (3, 2, 1), dict(padding=2)),
]


@pytest.mark.parametrize("word,fn,args,kwargs", INVALID, ids=lambda v: v if isinstance(v, str) else "")
def test_invalid_arguments_raise_value_error_naming_the_argument(word, fn, args, kwargs):
    with pytest.raises(ValueError, match=word):
        fn(*args, **kwargs)


def test_torch_rejects_what_we_reject():
    """Spot-check that the limits we enforce are PyTorch's, not stricter or looser."""
    x, w = torch.zeros(1, 2, 4, 4), torch.zeros(2, 3, 3, 3)
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    F.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1)  # allowed: smaller than the dilation
    ref.conv_transpose2d(x.numpy(), w.numpy(), stride=1, dilation=2, output_padding=1)
    with pytest.raises(RuntimeError):
        F.conv2d(x, torch.zeros(1, 2, 5, 3))


def test_reference_imports_no_framework():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ref))
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"torch", "tensorflow", "keras", "jax"}
