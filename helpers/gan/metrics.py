"""Measures of a GAN's samples that need no classifier (the judge's scores are in :mod:`helpers.apps.judge`).

Used in lesson 04; helpers.gan and helpers.gan.outputs use it too.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..data import squeeze_channel


def checkerboard_score(images: ArrayLike) -> float:
    """Share of the spectral power (DC excluded) that sits at the Nyquist frequency.

    A pure stride-2 checkerboard alternates every pixel, so all its energy lands in the FFT's
    row ``H/2`` or column ``W/2`` (the highest frequency a 28×28 image can hold). A transposed
    convolution's artifact is not pure: it *multiplies* the image (on a smooth patch each of the
    four output phases has its own gain, the sum of its sub-kernel), which shifts the image's own
    spectrum to the Nyquist frequency, so its power spreads *around* that row and column. This
    score counts only what lands exactly on them, so it reads the artifact low (a lower bound, but
    for the little power an image has there of its own: compare with real digits, not with 0). For real
    digits this share is small; a generator built from stride-2 transposed convolutions puts
    noticeably more there, already at initialisation: k3 s2 with its uneven overlap, and k4 s2
    too, whose four output phases use four different sub-kernels. Accepts ``(N, H, W)``,
    ``(N, 1, H, W)``, ``(N, H, W, 1)`` or one ``(H, W)`` image, any dtype; even H and W.
    """
    x = squeeze_channel(images, np.float64)
    if x.ndim != 3 or x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"checkerboard_score expects (N, H, W) images with even H and W; got {np.shape(images)}")
    h, w = x.shape[1:]
    power = np.abs(np.fft.fft2(x - x.mean(axis=(1, 2), keepdims=True))) ** 2
    total = power.sum()
    if total == 0:
        return 0.0
    nyquist = power[:, h // 2, :].sum() + power[:, :, w // 2].sum() - power[:, h // 2, w // 2].sum()
    return float(nyquist / total)
