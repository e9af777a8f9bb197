"""Moving weights and tensors between Keras and PyTorch, in plain NumPy.

Why a NumPy module: no module of the course imports both TensorFlow and PyTorch, so
whatever the two sides must agree on — weight layouts, NHWC/NCHW, and the exact
cropping of a Keras ``Conv2DTranspose`` — lives here, and both
:mod:`helpers.port_keras` and :mod:`helpers.port_torch` use it.

Layouts (docs/design.md, F5):

==========================  ===============================
Keras ``Conv2DTranspose``   ``(kH, kW, out, in)``
PyTorch ``ConvTranspose2d`` ``(in, out/groups, kH, kW)``
Keras ``Conv2D``            ``(kH, kW, in, out)``
PyTorch ``Conv2d``          ``(out, in/groups, kH, kW)``
==========================  ===============================

Keras ``Conv2DTranspose`` sizes and crops (TensorFlow backend, docs/design.md, F6):
the layer computes the *full* transposed convolution, of length
``L = (n-1)·s + d·(k-1) + 1`` along each spatial axis, then keeps ``H_out`` rows of
it, cropping ``before`` rows at the top and the rest at the bottom
(``before = max(L - H_out, 0) // 2``, the padding TensorFlow's ``SAME`` convolution
would use). When ``L - H_out`` is odd the bottom loses one row more than the top:
PyTorch's ``padding`` crops both ends equally, so that crop needs one more step.

Used in lessons 05 and 06.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .reference import as_pair, conv_transpose2d

# --------------------------------------------------------------------------- weight and tensor layouts


def keras_conv_transpose_kernel_to_torch(kernel: ArrayLike) -> np.ndarray:
    """Keras ``Conv2DTranspose`` kernel ``(kH, kW, out, in)`` → PyTorch ``ConvTranspose2d`` weight
    ``(in, out, kH, kW)``."""
    return np.ascontiguousarray(np.asarray(kernel).transpose(3, 2, 0, 1))


def torch_conv_transpose_weight_to_keras(weight: ArrayLike) -> np.ndarray:
    """PyTorch ``ConvTranspose2d`` weight ``(in, out, kH, kW)`` → Keras ``Conv2DTranspose`` kernel
    ``(kH, kW, out, in)``."""
    return np.ascontiguousarray(np.asarray(weight).transpose(2, 3, 1, 0))


def keras_conv_kernel_to_torch(kernel: ArrayLike) -> np.ndarray:
    """Keras ``Conv2D`` kernel ``(kH, kW, in, out)`` → PyTorch ``Conv2d`` weight ``(out, in, kH, kW)``."""
    return np.ascontiguousarray(np.asarray(kernel).transpose(3, 2, 0, 1))


def nhwc_to_nchw(x: ArrayLike) -> np.ndarray:
    """Keras' channels-last batch ``(N, H, W, C)`` → PyTorch's ``(N, C, H, W)``."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2))


def nchw_to_nhwc(x: ArrayLike) -> np.ndarray:
    """PyTorch's ``(N, C, H, W)`` → Keras' channels-last ``(N, H, W, C)``."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1))



def depth_to_space_order_to_pixel_shuffle(x: ArrayLike, upscale_factor: int, axis: int = -1) -> np.ndarray:
    """Reorder channels so that PyTorch's ``pixel_shuffle`` gives what ``tf.nn.depth_to_space`` gave
    (docs/design.md, F9).

    Both turn ``C·r²`` channels into an ``r × r`` block of ``C`` channels, but they read
    the sub-pixel ``(i, j)`` of output channel ``c`` from different input channels:
    TensorFlow from ``(i·r + j)·C + c`` (sub-pixel major), PyTorch from ``c·r² + i·r + j``
    (channel major). With ``C = 1`` the two orders coincide. Works on activations
    (channel ``axis``) and on the output-channel axis of the convolution feeding them.
    """
    x = np.moveaxis(np.asarray(x), axis, -1)
    r2 = upscale_factor * upscale_factor
    if x.shape[-1] % r2:
        raise ValueError(f"the channels ({x.shape[-1]}) must be divisible by upscale_factor² ({r2})")
    c = x.shape[-1] // r2
    out = x.reshape(*x.shape[:-1], r2, c).swapaxes(-1, -2).reshape(x.shape)
    return np.ascontiguousarray(np.moveaxis(out, -1, axis))


# --------------------------------------------------------------------------- Keras Conv2DTranspose arithmetic


def _check_padding(padding: str) -> str:
    padding = padding.lower()
    if padding not in ("same", "valid"):
        raise ValueError(f"Keras padding must be 'same' or 'valid', got {padding!r}")
    return padding


def keras_conv_transpose_length(n: int, kernel_size: int, stride: int, padding: str = "valid",
                                output_padding: int | None = None, dilation: int = 1) -> int:
    """The output length of a Keras 3 ``Conv2DTranspose`` along one axis (mirrors Keras' own formula).

    ``valid``: ``(n-1)·s + K + op`` with ``op = max(K, s) - K`` when ``output_padding`` is None;
    ``same``: ``n·s`` when ``output_padding`` is None, else ``(n-1)·s + K % 2 + op``;
    ``K = d·(k-1) + 1`` is the dilated kernel's extent.
    """
    padding = _check_padding(padding)
    extent = dilation * (kernel_size - 1) + 1
    if output_padding is not None and not 0 <= output_padding < stride:
        raise ValueError(f"output_padding must satisfy 0 <= output_padding < stride={stride}, got {output_padding}")
    if padding == "valid":
        op = max(extent, stride) - extent if output_padding is None else output_padding
        return (n - 1) * stride + extent + op
    if output_padding is None:
        return n * stride
    if extent % 2 + output_padding == 0:  # TensorFlow: a 'same' conv of the output would not give back n
        raise ValueError("TensorFlow rejects padding='same' with output_padding=0 for an even kernel extent")
    return (n - 1) * stride + extent % 2 + output_padding


def keras_conv_transpose_crop(kernel_size: int, stride: int, padding: str = "valid",
                              output_padding: int | None = None, dilation: int = 1) -> tuple[int, int]:
    """Rows ``(before, after)`` that Keras crops from the full transposed convolution along one axis.

    ``after`` is negative when the output is *longer* than the full result: those rows
    receive no input at all (only the bias), like PyTorch's ``output_padding`` rows.
    The crop does not depend on the input length ``n``.
    """
    n = 8  # any n gives the same crop: every length below is (n-1)·s plus a constant
    full = (n - 1) * stride + dilation * (kernel_size - 1) + 1
    out = keras_conv_transpose_length(n, kernel_size, stride, padding, output_padding, dilation)
    total = full - out
    before = max(total, 0) // 2  # TensorFlow pads (and so crops) the smaller half at the start
    return before, total - before


def torch_conv_transpose_crop(padding: int, output_padding: int = 0) -> tuple[int, int]:
    """Rows ``(before, after)`` that PyTorch's ``ConvTranspose2d(padding=p, output_padding=op)`` crops.

    PyTorch removes ``p`` rows at both ends, then gives back ``op`` rows at the end.
    """
    return padding, padding - output_padding


@dataclass(frozen=True)
class TorchEquivalent:
    """A Keras ``Conv2DTranspose`` configuration written in PyTorch's terms.

    ``ConvTranspose2d(kernel_size, stride, padding, output_padding, dilation)`` followed
    by dropping ``crop_end`` more rows/columns at the bottom/right (``(rows, cols)``).
    ``crop_end`` is ``(0, 0)`` when PyTorch's symmetric padding suffices.
    """

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    crop_end: tuple[int, int]

    @property
    def needs_crop(self) -> bool:
        """True when the Keras output must lose rows or columns at the end."""
        return any(self.crop_end)


def torch_equivalent(kernel_size: int | tuple[int, int], strides: int | tuple[int, int] = 1, padding: str = "valid",
                     output_padding: int | tuple[int, int] | None = None,
                     dilation_rate: int | tuple[int, int] = 1) -> TorchEquivalent:
    """The PyTorch settings that reproduce a Keras ``Conv2DTranspose`` exactly, asymmetric crop included.

    Per axis, with Keras cropping ``(before, after)``:
    ``after >= before`` → ``padding=before`` and crop ``after - before`` more rows at the end;
    ``after < 0`` (output longer than the full result) → ``padding=0, output_padding=-after``.
    """
    padding = _check_padding(padding)
    ks, ss = as_pair(kernel_size, "kernel_size", 1), as_pair(strides, "strides", 1)
    ds = as_pair(dilation_rate, "dilation_rate", 1)
    ops = (None, None) if output_padding is None else as_pair(output_padding, "output_padding", 0)
    pads, out_pads, crops = [], [], []
    for k, s, d, op in zip(ks, ss, ds, ops, strict=True):
        before, after = keras_conv_transpose_crop(k, s, padding, op, d)
        if after >= before:
            pads.append(before)
            out_pads.append(0)
            crops.append(after - before)
        else:  # only happens with before == 0: rows of bias only at the end, which output_padding adds
            pads.append(0)
            out_pads.append(-after)
            crops.append(0)
    return TorchEquivalent(ks, ss, tuple(pads), tuple(out_pads), ds, tuple(crops))


def naive_torch_padding(kernel_size: int, stride: int) -> tuple[int, int]:
    """The tempting (wrong) port of Keras ``padding="same"``: ``padding=(k-1)//2`` and the
    ``output_padding`` that makes the size ``n·s``. Right size, but for an odd kernel with
    stride 2 it crops the top row Keras keeps: the result is shifted by one pixel."""
    p = (kernel_size - 1) // 2
    op = stride - kernel_size + 2 * p
    if not 0 <= op < stride:
        raise ValueError(f"no output_padding gives n·s for k={kernel_size}, s={stride} with padding={p}")
    return p, op


def keras_config_for_torch(kernel_size: int, stride: int, padding: int = 0, output_padding: int = 0,
                           dilation: int = 1) -> dict:
    """A Keras ``(padding, output_padding)`` that crops exactly like PyTorch's ``(padding, output_padding)``.

    Tries every Keras option (``same``/``valid`` × ``output_padding`` None, 0 … s-1) and
    returns the first whose crop matches, preferring ``output_padding=None``. Raises
    ``ValueError`` when none does (e.g. ``padding=2`` with ``k=3``): Keras then needs a
    ``Cropping2D`` after a ``valid`` layer.
    """
    target = torch_conv_transpose_crop(padding, output_padding)
    for keras_padding in ("valid", "same"):
        for keras_op in (None, *range(stride)):
            try:
                crop = keras_conv_transpose_crop(kernel_size, stride, keras_padding, keras_op, dilation)
            except ValueError:
                continue
            if crop == target:
                return {"padding": keras_padding, "output_padding": keras_op}
    raise ValueError(f"no Keras Conv2DTranspose setting crops like PyTorch padding={padding}, "
                     f"output_padding={output_padding} (k={kernel_size}, s={stride}, d={dilation})")


# --------------------------------------------------------------------------- exchange files


def save_arrays(path: str | Path, config: dict | None = None, **arrays) -> Path:
    """Write arrays and a JSON-able ``config`` to one ``.npz`` (no pickles, so loading is safe)."""
    path = Path(path)
    meta = np.frombuffer(json.dumps(config or {}, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __config__=meta, **{k: np.asarray(v) for k, v in arrays.items()})
    path.write_bytes(buffer.getvalue())
    return path


def load_arrays(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read what :func:`save_arrays` wrote: ``(config, arrays)``."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__config__"}
        config = json.loads(data["__config__"].tobytes().decode("utf-8")) if "__config__" in data.files else {}
    return config, arrays


# --------------------------------------------------------------------------- the NumPy equivalent


def keras_conv_transpose_numpy(x: ArrayLike, kernel: ArrayLike, bias: ArrayLike | None = None,
                               strides: int | tuple[int, int] = 1, padding: str = "valid",
                               output_padding: int | tuple[int, int] | None = None,
                               dilation_rate: int | tuple[int, int] = 1) -> np.ndarray:
    """What a Keras ``Conv2DTranspose`` (no activation) computes, in NumPy: NHWC in, NHWC out.

    Converts the layouts, runs :func:`helpers.reference.conv_transpose2d` with the settings
    of :func:`torch_equivalent`, and drops the extra end rows/columns of the asymmetric crop.
    """
    kernel = np.asarray(kernel)
    eq = torch_equivalent(kernel.shape[:2], strides, padding, output_padding, dilation_rate)
    y = conv_transpose2d(nhwc_to_nchw(x), keras_conv_transpose_kernel_to_torch(kernel), bias, stride=eq.stride,
                         padding=eq.padding, output_padding=eq.output_padding, dilation=eq.dilation)
    return nchw_to_nhwc(y[:, :, : y.shape[2] - eq.crop_end[0], : y.shape[3] - eq.crop_end[1]])
