"""NumPy reference implementations of every upsampling operation the course builds.

The lessons' checks and the tests compare learners' code with these functions, and the
tests compare these functions with ``torch.nn.functional`` (to float32 rounding), so they
must be right rather than clever. Conventions mirror PyTorch one to one:

* arrays are NCHW (``(batch, channels, height, width)``);
* argument names, defaults and weight layouts are those of ``torch.nn.functional``:
  ``conv2d`` weights are ``(out, in/groups, kH, kW)``, ``conv_transpose2d`` weights are
  ``(in, out/groups, kH, kW)``;
* a size-like argument is an int or a pair ``(height, width)``;
* an invalid argument raises :class:`ValueError` naming the argument and saying why.

This module is pure NumPy: it never imports a framework.

Used in lessons 02, 03, 04, 05 and 06.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

__all__ = [
    "upsample_nearest",
    "upsample_zeros",
    "max_pool2d",
    "max_unpool2d",
    "source_coordinates",
    "interpolate_bilinear",
    "conv2d",
    "conv_transpose2d",
    "conv_transpose2d_naive",
    "conv_transpose2d_output_size",
    "bilinear_kernel",
    "pixel_shuffle",
    "pixel_unshuffle",
    "conv_matrix",
    "overlap_count",
    "icnr",
    "as_int",
    "as_pair",
]


# --------------------------------------------------------------------------- argument checks (also the widgets')

def as_int(value: object, name: str, minimum: int) -> int:
    """A whole number ``>= minimum`` (an integral float such as ``2.0`` is accepted, a bool is not)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got the bool {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        value = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_pair(value: object, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints → ``(height, width)``, each ``>= minimum``."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), "
                             f"got {len(value)} values: {tuple(value)!r}")
        return as_int(value[0], f"{name}[0]", minimum), as_int(value[1], f"{name}[1]", minimum)
    v = as_int(value, name, minimum)
    return v, v


def _nchw(x: ArrayLike, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a 4-D NCHW array (batch, channels, height, width), got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {x.dtype}")
    return x


def _float_dtype(*arrays) -> np.dtype:
    """float32 stays float32, float64 stays float64, integers become float64."""
    return np.promote_types(np.result_type(*arrays), np.float32)


def _bias(bias: ArrayLike | None, channels: int, dtype: np.dtype) -> np.ndarray | None:
    if bias is None:
        return None
    bias = np.asarray(bias)
    if bias.shape != (channels,):
        raise ValueError(f"bias must have shape ({channels},) (one value per output channel), got {bias.shape}")
    return bias.astype(dtype, copy=False).reshape(1, channels, 1, 1)


# --------------------------------------------------------------------------- nearest, zeros, unpooling

def upsample_nearest(x: ArrayLike, scale_factor: int | tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour upsampling by whole factors: every pixel becomes an ``sh × sw`` block.

    Equals ``F.interpolate(x, scale_factor=scale_factor, mode="nearest")`` for integer factors.
    """
    x = _nchw(x)
    try:
        sh, sw = as_pair(scale_factor, "scale_factor", 1)
    except ValueError as err:
        raise ValueError(f"{err} (nearest upsampling here takes whole factors: 1, 2, 3, ...)") from None
    return np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)


def upsample_zeros(x: ArrayLike, scale_factor: int | tuple[int, int]) -> np.ndarray:
    """Bed of nails: each value at the top-left corner of its ``sh × sw`` block, zeros elsewhere.

    The same as a stride-``s`` transposed convolution with a 1×1 identity kernel and
    ``output_padding = s - 1``; it is the zero insertion inside every transposed convolution.
    """
    x = _nchw(x)
    sh, sw = as_pair(scale_factor, "scale_factor", 1)
    n, c, h, w = x.shape
    out = np.zeros((n, c, h * sh, w * sw), dtype=x.dtype)
    out[:, :, ::sh, ::sw] = x
    return out


def _pool_output(size: int, kernel: int, stride: int, name: str) -> int:
    if kernel > size:
        raise ValueError(f"kernel_size ({kernel}) is larger than the input {name} ({size})")
    return (size - kernel) // stride + 1


def max_pool2d(x: ArrayLike, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               return_indices: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max pooling without padding (``F.max_pool2d``); ``stride`` defaults to ``kernel_size``.

    With ``return_indices=True`` also returns, for each output, the position of its maximum
    as a flat index ``row * W + col`` into its input channel (PyTorch's convention), which
    :func:`max_unpool2d` uses to put the value back. A tie goes to the first maximum in
    row-major order within the window.
    """
    x = _nchw(x)
    kh, kw = as_pair(kernel_size, "kernel_size", 1)
    sh, sw = as_pair(kernel_size if stride is None else stride, "stride", 1)
    n, c, h, w = x.shape
    ho, wo = _pool_output(h, kh, sh, "height"), _pool_output(w, kw, sw, "width")
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    flat = windows.reshape(n, c, ho, wo, kh * kw)
    best = flat.argmax(axis=-1)
    values = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    if not return_indices:
        return values
    rows = np.arange(ho)[:, None] * sh + best // kw
    cols = np.arange(wo)[None, :] * sw + best % kw
    return values, (rows * w + cols).astype(np.int64)


def max_unpool2d(x: ArrayLike, indices: ArrayLike, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 output_size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Put each pooled value back where its maximum came from; zeros elsewhere (``F.max_unpool2d``).

    The default output size is ``(H - 1) * stride + kernel_size``; ``output_size`` (``(H, W)``,
    or a full ``(N, C, H, W)`` shape) chooses another one within ``stride`` of it, e.g. the
    original input's size when pooling dropped a row.
    """
    x = _nchw(x)
    indices = np.asarray(indices)
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the shape of x {x.shape}, got {indices.shape}")
    if indices.dtype.kind not in "iu":
        raise ValueError("indices must be integers (from max_pool2d(..., return_indices=True)), "
                         f"got dtype {indices.dtype}")
    kh, kw = as_pair(kernel_size, "kernel_size", 1)
    sh, sw = as_pair(kernel_size if stride is None else stride, "stride", 1)
    n, c, h, w = x.shape
    default = ((h - 1) * sh + kh, (w - 1) * sw + kw)
    if output_size is None:
        ho, wo = default
    else:
        size = tuple(output_size)
        if len(size) == 4:
            size = size[2:]
        if len(size) != 2:
            raise ValueError(f"output_size must be (H, W) or (N, C, H, W), got {tuple(output_size)!r}")
        ho, wo = as_int(size[0], "output_size[0]", 1), as_int(size[1], "output_size[1]", 1)
        for got, dflt, s, axis in ((ho, default[0], sh, "height"), (wo, default[1], sw, "width")):
            if not dflt - s < got < dflt + s:
                raise ValueError(
                    f"output_size {axis} must be between {dflt - s + 1} and {dflt + s - 1} "
                    f"(within stride {s} of the default {dflt}), got {got}"
                )
    if indices.size and (indices.min() < 0 or indices.max() >= ho * wo):
        raise ValueError(f"indices must lie in [0, {ho * wo}) for an output of size {ho}×{wo}; "
                         f"got values from {indices.min()} to {indices.max()}")
    out = np.zeros((n, c, ho * wo), dtype=x.dtype)
    np.put_along_axis(out, indices.reshape(n, c, -1), x.reshape(n, c, -1), axis=2)
    return out.reshape(n, c, ho, wo)


# --------------------------------------------------------------------------- bilinear

def source_coordinates(in_size: int, out_size: int, align_corners: bool = False,
                       scale: float | None = None) -> np.ndarray:
    """Where each output pixel samples the input, in input pixel units (pixel centres at 0, 1, ...).

    ``align_corners=False`` maps pixel *centres*: ``src = (dst + 0.5) * in/out - 0.5`` (PyTorch
    uses ``1/scale`` for ``in/out`` when it was given a scale factor); the first and last
    samples fall a little outside the input and are clamped by :func:`interpolate_bilinear`.
    ``align_corners=True`` pins the corner pixels: ``src = dst * (in - 1)/(out - 1)``.
    Returns float64 coordinates, unclamped.
    """
    in_size, out_size = as_int(in_size, "in_size", 1), as_int(out_size, "out_size", 1)
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return dst * ratio
    ratio = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
    return (dst + 0.5) * ratio - 0.5


def _linear_taps(in_size: int, out_size: int, align_corners: bool, scale: float | None):
    src = np.maximum(source_coordinates(in_size, out_size, align_corners, scale), 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, src - lo


def interpolate_bilinear(x: ArrayLike, size: int | tuple[int, int] | None = None,
                         scale_factor: float | tuple[float, float] | None = None,
                         align_corners: bool = False) -> np.ndarray:
    """Bilinear resizing, ``F.interpolate(x, size, scale_factor, mode="bilinear", align_corners)``.

    Give exactly one of ``size`` (int or ``(H, W)``) and ``scale_factor`` (number or pair; the
    output is ``floor(H * scale)``). Each output pixel mixes the 2 × 2 input pixels around its
    source coordinate (see :func:`source_coordinates`), weighted by distance.
    """
    x = _nchw(x)
    n, c, h, w = x.shape
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    scales = (None, None)
    if size is not None:
        ho, wo = as_pair(size, "size", 1)
    else:
        pair = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
        if len(pair) != 2 or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in pair):
            raise ValueError(f"scale_factor must be a positive number or a pair of them, got {scale_factor!r}")
        scales = (float(pair[0]), float(pair[1]))
        ho, wo = int(np.floor(h * scales[0])), int(np.floor(w * scales[1]))
        if ho < 1 or wo < 1:
            raise ValueError(f"scale_factor {scale_factor!r} makes an empty output ({ho}×{wo}) from {h}×{w}")
    dtype = _float_dtype(x)
    xf = x.astype(np.float64)
    top, bottom, wy = _linear_taps(h, ho, align_corners, None if align_corners else scales[0])
    left, right, wx = _linear_taps(w, wo, align_corners, None if align_corners else scales[1])
    rows = xf[:, :, top] * (1 - wy)[:, None] + xf[:, :, bottom] * wy[:, None]  # (N, C, Ho, W)
    out = rows[..., left] * (1 - wx) + rows[..., right] * wx
    return out.astype(dtype)


# --------------------------------------------------------------------------- convolution

def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1, groups: int = 1) -> np.ndarray:
    """2-D cross-correlation, ``F.conv2d`` (weight ``(out, in/groups, kH, kW)``).

    Vectorised as im2col (a strided window view) followed by one tensor contraction per group.
    """
    x, weight = _nchw(x), _nchw(weight, "weight")
    sh, sw = as_pair(stride, "stride", 1)
    ph, pw = as_pair(padding, "padding", 0)
    dh, dw = as_pair(dilation, "dilation", 1)
    groups = as_int(groups, "groups", 1)
    n, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    if cin % groups or cout % groups:
        raise ValueError(f"groups ({groups}) must divide both the input channels ({cin}) "
                         f"and the output channels ({cout})")
    if cin_g * groups != cin:
        raise ValueError(f"weight expects {cin_g * groups} input channels "
                         f"(shape[1] × groups = {cin_g} × {groups}), x has {cin}")
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + 2 * ph or ew > w + 2 * pw:
        raise ValueError(
            f"the kernel ({eh}×{ew} with dilation) is larger than the padded input ({h + 2 * ph}×{w + 2 * pw})"
        )
    dtype = _float_dtype(x, weight)
    b = _bias(bias, cout, dtype)
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(xp, (eh, ew), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw)
    ho, wo = windows.shape[2], windows.shape[3]
    out = np.empty((n, cout, ho, wo), dtype=dtype)
    cout_g = cout // groups
    wgt = weight.astype(dtype, copy=False)
    for g in range(groups):
        part = np.tensordot(windows[:, g * cin_g:(g + 1) * cin_g], wgt[g * cout_g:(g + 1) * cout_g],
                            axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, out_g)
        out[:, g * cout_g:(g + 1) * cout_g] = part.transpose(0, 3, 1, 2)
    return out if b is None else out + b


def conv_transpose2d_output_size(size: int | tuple[int, int] | None, kernel_size: int | tuple[int, int],
                                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                                 output_padding: int | tuple[int, int] = 0,
                                 dilation: int | tuple[int, int] = 1) -> int | tuple[int, int]:
    """``H_out = (H_in - 1)·stride - 2·padding + dilation·(kernel_size - 1) + output_padding + 1``.

    Ints give an int; pairs give a pair. ``output_padding`` must be smaller than the stride or
    the dilation: it only picks one of the ``stride`` input sizes that a convolution maps to
    the same output size, it adds no zeros of its own.
    """
    pairs_given = any(isinstance(v, (tuple, list, np.ndarray))
                      for v in (size, kernel_size, stride, padding, output_padding, dilation))
    hs = as_pair(size, "size", 1)
    ks = as_pair(kernel_size, "kernel_size", 1)
    ss = as_pair(stride, "stride", 1)
    ps = as_pair(padding, "padding", 0)
    ops = as_pair(output_padding, "output_padding", 0)
    ds = as_pair(dilation, "dilation", 1)
    out = []
    for axis, h, k, s, p, op, d in zip(("height", "width"), hs, ks, ss, ps, ops, ds, strict=True):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding ({op}) must be smaller than either the stride ({s}) or the dilation ({d}) ({axis})"
            )
        size_out = (h - 1) * s - 2 * p + d * (k - 1) + op + 1
        if size_out < 1:
            raise ValueError(f"padding ({p}) is too large: the output {axis} would be {size_out}")
        out.append(size_out)
    return tuple(out) if pairs_given else out[0]


def _transpose_setup(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None, stride: int | tuple[int, int],
                     padding: int | tuple[int, int], output_padding: int | tuple[int, int], groups: int,
                     dilation: int | tuple[int, int]):
    x, weight = _nchw(x), _nchw(weight, "weight")
    groups = as_int(groups, "groups", 1)
    n, cin, h, w = x.shape
    cin_w, cout_g, kh, kw = weight.shape
    if cin_w != cin:
        raise ValueError(f"weight must have shape (in={cin}, out/groups, kH, kW) for a transposed convolution, "
                         f"got {weight.shape} (its first axis is the input channels)")
    if cin % groups:
        raise ValueError(f"groups ({groups}) must divide the input channels ({cin})")
    ho, wo = conv_transpose2d_output_size((h, w), (kh, kw), stride, padding, output_padding, dilation)
    s, p, op, d = (as_pair(stride, "stride", 1), as_pair(padding, "padding", 0),
                   as_pair(output_padding, "output_padding", 0), as_pair(dilation, "dilation", 1))
    dtype = _float_dtype(x, weight)
    b = _bias(bias, cout_g * groups, dtype)
    # The full canvas before cropping `padding` from each side; output_padding rows sit at the end.
    full = ((h - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0], (w - 1) * s[1] + d[1] * (kw - 1) + 1 + op[1])
    return x.astype(dtype, copy=False), weight.astype(dtype, copy=False), b, s, p, d, groups, (ho, wo), full


def conv_transpose2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int] = 1) -> np.ndarray:
    """Transposed convolution, ``F.conv_transpose2d`` (weight ``(in, out/groups, kH, kW)``).

    Every input pixel scatters a copy of the kernel, scaled by its value, into the output at
    ``stride`` steps; overlapping copies add up; ``padding`` rows and columns are then cropped
    from each side. Vectorised: one matrix product gives every kernel-weighted copy at once
    (``(N·H·W, in) @ (in, kH·kW·out)``), then ``kH·kW`` strided slice-adds lay them down
    (col2im), channels last so each add touches contiguous memory.
    """
    x, weight, b, (sh, sw), (ph, pw), (dh, dw), groups, (ho, wo), (hf, wf) = _transpose_setup(
        x, weight, bias, stride, padding, output_padding, groups, dilation)
    n, cin, h, w = x.shape
    _, cout_g, kh, kw = weight.shape
    cin_g = cin // groups
    canvas = np.zeros((n, hf, wf, cout_g * groups), dtype=x.dtype)
    rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, cin)
    for g in range(groups):
        wg = weight[g * cin_g:(g + 1) * cin_g].transpose(0, 2, 3, 1).reshape(cin_g, kh * kw * cout_g)
        copies = (rows[:, g * cin_g:(g + 1) * cin_g] @ wg).reshape(n, h, w, kh, kw, cout_g)
        channels = slice(g * cout_g, (g + 1) * cout_g)
        for i in range(kh):
            for j in range(kw):
                out_y = slice(i * dh, i * dh + (h - 1) * sh + 1, sh)
                out_x = slice(j * dw, j * dw + (w - 1) * sw + 1, sw)
                canvas[:, out_y, out_x, channels] += copies[:, :, :, i, j]
    out = np.ascontiguousarray(canvas[:, ph:ph + ho, pw:pw + wo].transpose(0, 3, 1, 2))
    return out if b is None else out + b


def conv_transpose2d_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                           output_padding: int | tuple[int, int] = 0, groups: int = 1,
                           dilation: int | tuple[int, int] = 1) -> np.ndarray:
    """The same as :func:`conv_transpose2d`, written as the lesson explains it: for every input
    value, add the kernel scaled by that value into the output at ``stride`` steps. Python loops
    over batch, input channels and pixels: easy to read, slow to run (see the benchmark).
    """
    x, weight, b, (sh, sw), (ph, pw), (dh, dw), groups, (ho, wo), (hf, wf) = _transpose_setup(
        x, weight, bias, stride, padding, output_padding, groups, dilation)
    n, cin, h, w = x.shape
    _, cout_g, kh, kw = weight.shape
    cin_g = cin // groups
    canvas = np.zeros((n, cout_g * groups, hf, wf), dtype=x.dtype)
    for b_ in range(n):
        for ci in range(cin):
            out_channels = slice((ci // cin_g) * cout_g, (ci // cin_g + 1) * cout_g)
            for r in range(h):
                for c in range(w):
                    canvas[b_, out_channels, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                           c * sw:c * sw + dw * (kw - 1) + 1:dw] += x[b_, ci, r, c] * weight[ci]
    out = canvas[:, :, ph:ph + ho, pw:pw + wo].copy()
    return out if b is None else out + b


# --------------------------------------------------------------------------- a fixed upsampler as a transposed conv

def bilinear_kernel(channels: int) -> np.ndarray:
    """The ``(channels, channels, 4, 4)`` weight with which a k4 s2 p1 :func:`conv_transpose2d` is bilinear ×2.

    Each channel upsamples itself (zero off the diagonal) with the outer product of ``[1, 3, 3, 1] / 4``:
    at ×2 with half-pixel centres an output pixel lies 1/4 of an input pixel from its nearer input centre
    and 3/4 from the farther, so it takes 3/4 and 1/4 of them. Away from the outer ring of output pixels
    this equals ``interpolate_bilinear(x, 2H×2W, align_corners=False)``; on that ring the transposed
    convolution reads zero padding where bilinear clamps to the edge (FCN's initialisation, Long et al. 2015).
    """
    c = as_int(channels, "channels", 1)
    taps = np.array([1.0, 3.0, 3.0, 1.0]) / 4
    weight = np.zeros((c, c, 4, 4))
    weight[np.arange(c), np.arange(c)] = np.outer(taps, taps)
    return weight


# --------------------------------------------------------------------------- pixel shuffle

def pixel_shuffle(x: ArrayLike, upscale_factor: int) -> np.ndarray:
    """``(N, C·r², H, W) → (N, C, H·r, W·r)``, PyTorch's channel order: channel ``c·r² + i·r + j``
    becomes the pixel at offset ``(i, j)`` of each ``r × r`` block of output channel ``c``."""
    x = _nchw(x)
    r = as_int(upscale_factor, "upscale_factor", 1)
    n, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"the channels ({c}) must be divisible by upscale_factor² ({r * r})")
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)


def pixel_unshuffle(x: ArrayLike, downscale_factor: int) -> np.ndarray:
    """The inverse of :func:`pixel_shuffle`: ``(N, C, H·r, W·r) → (N, C·r², H, W)``."""
    x = _nchw(x)
    r = as_int(downscale_factor, "downscale_factor", 1)
    n, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"the height and width ({h}×{w}) must be divisible by downscale_factor ({r})")
    return x.reshape(n, c, h // r, r, w // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)


# --------------------------------------------------------------------------- the convolution as a matrix

def conv_matrix(weight: ArrayLike, input_size: int | tuple[int, int], stride: int | tuple[int, int] = 1,
                padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> np.ndarray:
    """The dense matrix ``C`` of a (small) convolution, so that for one image ``x`` of shape
    ``(in, H, W)``: ``conv2d(x[None], weight, ...)[0].ravel() == C @ x.ravel()``.

    ``weight`` is ``(out, in, kH, kW)`` or a single-channel ``(kH, kW)``; ``input_size`` is
    ``(H, W)`` or an int. ``C`` has shape ``(out·H_out·W_out, in·H·W)``: row ``o`` holds the
    kernel taps that output ``o`` reads. Its transpose ``Cᵀ`` is the transposed convolution.
    """
    weight = np.asarray(weight)
    if weight.ndim == 2:
        weight = weight[None, None]
    weight = _nchw(weight, "weight")
    h, w = as_pair(input_size, "input_size", 1)
    sh, sw = as_pair(stride, "stride", 1)
    ph, pw = as_pair(padding, "padding", 0)
    dh, dw = as_pair(dilation, "dilation", 1)
    cout, cin, kh, kw = weight.shape
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + 2 * ph or ew > w + 2 * pw:
        raise ValueError(f"the kernel ({eh}×{ew} with dilation) is larger than the padded input "
                         f"({h + 2 * ph}×{w + 2 * pw})")
    ho, wo = (h + 2 * ph - eh) // sh + 1, (w + 2 * pw - ew) // sw + 1
    matrix = np.zeros((cout, ho, wo, cin, h, w), dtype=_float_dtype(weight))
    for oh in range(ho):
        for ow in range(wo):
            for i in range(kh):
                for j in range(kw):
                    r, c = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                    if 0 <= r < h and 0 <= c < w:  # taps on the zero padding read nothing
                        matrix[:, oh, ow, :, r, c] += weight[:, :, i, j]
    return matrix.reshape(cout * ho * wo, cin * h * w)


# --------------------------------------------------------------------------- checkerboards and ICNR

def overlap_count(kernel_size: int | tuple[int, int], stride: int | tuple[int, int],
                  size: int | tuple[int, int] | None, padding: int | tuple[int, int] = 0) -> np.ndarray:
    """How many kernel taps land on each output pixel of a transposed convolution.

    ``size`` is the input size (int or ``(H, W)``). Returns an int array of the output's
    shape (``padding`` cropped from each side): an even map means every output pixel gets
    the same number of contributions; a kernel size that the stride does not divide gives a
    checkerboard (k3 s2: 4, 2 and 1 contributions side by side in 2-D).
    """
    kh, kw = as_pair(kernel_size, "kernel_size", 1)
    sh, sw = as_pair(stride, "stride", 1)
    h, w = as_pair(size, "size", 1)
    ph, pw = as_pair(padding, "padding", 0)

    def along(k: int, s: int, n: int, p: int, axis: str):
        counts = np.zeros((n - 1) * s + k, dtype=np.int64)
        for start in range(0, (n - 1) * s + 1, s):
            counts[start:start + k] += 1
        if 2 * p >= len(counts):
            raise ValueError(f"padding ({p}) crops the whole output {axis} ({len(counts)})")
        return counts[p:len(counts) - p]

    return np.outer(along(kh, sh, h, ph, "height"), along(kw, sw, w, pw, "width"))


def icnr(shape: tuple[int, int, int, int], upscale_factor: int = 2, rng: int | np.random.Generator | None = None,
         init: Callable[[tuple[int, ...], np.random.Generator], ArrayLike] | None = None) -> np.ndarray:
    """ICNR initialisation (Aitken et al. 2017) for a convolution followed by ``pixel_shuffle``.

    ``shape`` is the conv2d weight shape ``(out·r², in, kH, kW)``. A kernel for ``out`` channels
    is drawn (``init(shape, rng)``; default He normal, ``std = sqrt(2 / fan_in)``) and each
    of its filters is repeated for the ``r²`` sub-pixel channels that ``pixel_shuffle`` puts
    into one ``r × r`` block. At initialisation conv + pixel shuffle then equals conv + nearest
    upsampling: no checkerboard to unlearn.
    """
    if len(tuple(shape)) != 4:
        raise ValueError(f"shape must be a conv2d weight shape (out·r², in, kH, kW), got {tuple(shape)!r}")
    cout, cin, kh, kw = (as_int(v, f"shape[{i}]", 1) for i, v in enumerate(shape))
    r = as_int(upscale_factor, "upscale_factor", 1)
    if cout % (r * r):
        raise ValueError(f"shape[0] ({cout}) must be divisible by upscale_factor² ({r * r})")
    rng = np.random.default_rng(rng)
    sub_shape = (cout // (r * r), cin, kh, kw)
    if init is None:
        sub = rng.normal(0.0, np.sqrt(2.0 / (cin * kh * kw)), size=sub_shape)
    else:
        sub = np.asarray(init(sub_shape, rng))
        if sub.shape != sub_shape:
            raise ValueError(f"init must return an array of shape {sub_shape}, got {sub.shape}")
    return np.repeat(sub, r * r, axis=0).astype(np.float32)
