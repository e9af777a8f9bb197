"""Arrays from any framework as NumPy, and image batches in one shape.

The loader, the plots, the checks and the measures all take what a lesson hands them: a NumPy
array, a PyTorch tensor or a TensorFlow tensor, channel axis first, last or absent. They convert
here, once, so none of them needs to import another for it. NumPy only.

Used in lesson 06; by helpers.checks, helpers.gan.outputs, helpers.judge, helpers.metrics, helpers.plotting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def to_numpy(value: Any) -> Any:
    """Framework tensors become NumPy arrays; everything else passes through."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor
        return value.detach().cpu().numpy()
    if type(value).__module__.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
        return value.numpy()
    return value


def squeeze_channel(images: ArrayLike, dtype: DTypeLike = None) -> np.ndarray:
    """A batch of single-channel images as ``(N, H, W)``: drops the channel axis of ``(N, 1, H, W)``
    or ``(N, H, W, 1)``; ``(N, H, W)`` passes through and one ``(H, W)`` image becomes ``(1, H, W)``.

    A framework tensor becomes a NumPy array first (:func:`to_numpy`); ``dtype`` converts (None keeps it).
    """
    x = np.asarray(to_numpy(images), dtype)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    return x
