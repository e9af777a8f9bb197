"""Measures the course uses in more than one place, none of which needs a classifier (the judge's
scores are in :mod:`helpers.judge`). NumPy only.

* :func:`psnr` — how close a reconstruction is to its target (lessons 09–10, lesson 01's explorer).
* Two measures of the checkerboard, which answer different questions:

  - :func:`block_pattern_strength` looks at *one* image in the pixel domain: the 2×2 pattern left once
    each 2×2 block's mean is removed, averaged over the blocks, relative to the image's spread. It sees
    the artifact of one layer on one input (lessons 04 and 08 compare single layers with it).
  - :func:`nyquist_share` looks at a *batch* in the frequency domain: the share of its power that sits
    on the Nyquist row and column of the 2-D FFT. The learner writes it in lesson 04; the GAN package
    scores every run's samples with it (``metrics.json``'s ``checkerboard``).

Used in lessons 04 and 08; by helpers.apps, helpers.gan, helpers.widgets.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .arrays import squeeze_channel


def psnr(estimate: ArrayLike, target: ArrayLike, data_range: float = 1.0,
         axis: int | tuple[int, ...] | None = None) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB, ``10·log10(range² / MSE)``, as ``skimage.metrics`` computes it.

    ``axis=None`` gives one float for the whole arrays; an ``axis`` gives one value per remaining
    index (e.g. ``axis=(1, 2, 3)`` for one PSNR per image of a batch). Identical images give ``inf``.
    """
    diff = np.asarray(estimate, np.float64) - np.asarray(target, np.float64)
    mse = np.mean(diff**2, axis=axis)
    with np.errstate(divide="ignore"):  # MSE 0 → inf, not a warning on stderr
        value = 10.0 * np.log10(data_range**2 / mse)
    return float(value) if axis is None else value


def block_pattern_strength(image: ArrayLike) -> float:
    """The checkerboard one ×2 layer leaves in one ``(H, W)`` image (H, W even), in the pixel domain.

    The image is cut into 2×2 blocks; each block's mean is removed, and what is left is averaged over
    all blocks: the 2×2 pattern every block shares. Its RMS ÷ the image's standard deviation is the
    strength: 0 when no position within a block is systematically brighter, larger the more the four
    output phases differ. A real digit scores near 0; a random transposed convolution clearly above.
    """
    x = np.asarray(image, np.float64)
    if x.ndim != 2 or x.shape[0] % 2 or x.shape[1] % 2:
        raise ValueError(f"block_pattern_strength expects one (H, W) image with even H and W; got {x.shape}")
    h, w = x.shape
    blocks = x.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3)                 # (H/2, W/2, 2, 2)
    pattern = (blocks - blocks.mean(axis=(2, 3), keepdims=True)).mean(axis=(0, 1))  # the average 2×2 leftover
    return float(np.sqrt((pattern**2).mean()) / x.std())


def nyquist_share(images: ArrayLike) -> float:
    """Share of a batch's spectral power (each image's mean removed) that sits at the Nyquist frequency.

    A pure stride-2 checkerboard alternates every pixel, so all its energy lands in the FFT's
    row ``H/2`` or column ``W/2`` (the highest frequency a 28×28 image can hold). A transposed
    convolution's artifact is not pure: it *multiplies* the image (on a smooth patch each of the
    four output phases has its own gain, the sum of its sub-kernel), which shifts the image's own
    spectrum to the Nyquist frequency, so its power spreads *around* that row and column. This
    share counts only what lands exactly on them, so it reads the artifact low (a lower bound, but
    for the little power an image has there of its own: compare with real digits, not with 0). For real
    digits this share is small; a generator built from stride-2 transposed convolutions puts
    noticeably more there, already at initialisation: k3 s2 with its uneven overlap, and k4 s2
    too, whose four output phases use four different sub-kernels. Accepts ``(N, H, W)``,
    ``(N, 1, H, W)``, ``(N, H, W, 1)`` or one ``(H, W)`` image, any dtype; even H and W. 0.0 when
    there is no power.
    """
    x = squeeze_channel(images, np.float64)
    if x.ndim != 3 or x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"nyquist_share expects (N, H, W) images with even H and W; got {np.shape(images)}")
    h, w = x.shape[1:]
    power = np.abs(np.fft.fft2(x - x.mean(axis=(1, 2), keepdims=True))) ** 2
    total = power.sum()
    if total == 0:
        return 0.0
    nyquist = power[:, h // 2, :].sum() + power[:, :, w // 2].sum() - power[:, h // 2, w // 2].sum()
    return float(nyquist / total)
