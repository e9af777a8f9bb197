"""PyTorch side of the course's plumbing: device choice, the mixed precision a device gets,
MNIST as tensors, and ICNR initialisation.

Imports PyTorch only (never TensorFlow).

Used in lessons 06, 08, 09 and 10.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .data import load_mnist

#: ``torch.amp.GradScaler("mps")`` works from PyTorch 2.8 on (earlier it failed in ``unscale_``,
#: which needs float64 on the device); autocast on ``mps`` exists from 2.5 on.
MPS_GRAD_SCALER_TORCH = (2, 8)


def pick_device(prefer: str | None = None, verbose: bool = True) -> torch.device:
    """CUDA if available, else Apple ``mps``, else CPU (``prefer`` forces one); prints one line."""
    if prefer is not None:
        chosen = torch.device(prefer)
    elif torch.cuda.is_available():
        chosen = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        chosen = torch.device("mps")
    else:
        chosen = torch.device("cpu")
    if verbose:
        print(describe(chosen))
    return chosen


def describe(dev: torch.device) -> str:
    """One line: PyTorch's version, the device, and the mixed precision it gets (:func:`mixed_precision`)."""
    dev = torch.device(dev)
    amp = f"mixed precision: {mixed_precision(dev)}"
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        memory = torch.cuda.get_device_properties(dev).total_memory / 2**30
        major, minor = torch.cuda.get_device_capability(dev)
        return f"PyTorch {torch.__version__} on {name} ({memory:.0f} GiB, compute capability {major}.{minor}; {amp})"
    if dev.type == "mps":
        return f"PyTorch {torch.__version__} on Apple GPU (mps; {amp})"
    return f"PyTorch {torch.__version__} on CPU ({torch.get_num_threads()} threads; {amp})"


@dataclass(frozen=True)
class MixedPrecision:
    """What ``torch.autocast`` runs in on a device: ``dtype`` (None: no autocast, float32 throughout)
    and whether the losses need a ``torch.amp.GradScaler`` (float16's narrow range loses small
    gradients to underflow; bfloat16 has float32's range and needs none)."""

    dtype: torch.dtype | None
    grad_scaler: bool
    reason: str

    def __str__(self) -> str:
        if self.dtype is None:
            return "float32 (no autocast)"
        name = str(self.dtype).removeprefix("torch.")
        return f"{name} + GradScaler" if self.grad_scaler else name


def _torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def mixed_precision(dev: str | torch.device) -> MixedPrecision:
    """The autocast precision for ``dev`` when mixed precision is switched on.

    * CUDA with native bfloat16 (compute capability 8.0 or more: A100, H100, RTX 30xx/40xx; and ROCm):
      bfloat16, no gradient scaler;
    * other CUDA cards (T4, V100, GTX 10xx): float16 with a gradient scaler. They would *run* bfloat16
      (``torch.cuda.is_bf16_supported()`` says True, counting emulation), but emulated, without the
      tensor cores that make mixed precision pay;
    * Apple ``mps``: float16 with a gradient scaler (PyTorch 2.8 or later; before that, no autocast);
    * the CPU: bfloat16, no gradient scaler (the reference switches it on only on request);
    * anything else: no autocast.
    """
    dev = torch.device(dev)
    if dev.type == "cuda":
        if torch.version.hip:
            return MixedPrecision(torch.bfloat16, False, "ROCm GPU: bfloat16")
        major, minor = torch.cuda.get_device_capability(dev)
        if (major, minor) >= (8, 0):
            return MixedPrecision(torch.bfloat16, False, f"compute capability {major}.{minor}: native bfloat16")
        return MixedPrecision(torch.float16, True,
                              f"compute capability {major}.{minor}: no native bfloat16, so float16 with loss scaling")
    if dev.type == "mps":
        if _torch_version() >= MPS_GRAD_SCALER_TORCH:
            return MixedPrecision(torch.float16, True, "Apple GPU: float16 with loss scaling")
        return MixedPrecision(None, False, f"Apple GPU: mixed precision needs PyTorch "
                                           f"{'.'.join(map(str, MPS_GRAD_SCALER_TORCH))} or later")
    if dev.type == "cpu":
        return MixedPrecision(torch.bfloat16, False, "CPU: bfloat16")
    return MixedPrecision(None, False, f"{dev.type}: no mixed precision in this course")


def mnist_tensors(split: str = "train", n: int | None = None, *, device: str | torch.device = "cpu",
                  value_range: tuple[float, float] = (-1.0, 1.0),
                  seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as ``(N, 1, 28, 28)`` float32 images and int64 labels, already on ``device``."""
    x, y = load_mnist(split, n, value_range=value_range, channel="first", seed=seed)
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def icnr_(weight: torch.Tensor, scale: int = 2,
          init: Callable[[torch.Tensor], object] = nn.init.kaiming_normal_) -> torch.Tensor:
    """ICNR (Aitken et al. 2017) in place on a conv weight ``(C·scale², C_in, k, k)`` that feeds a pixel shuffle.

    A sub-kernel for ``C`` channels is drawn with ``init`` (default He normal, as
    :func:`helpers.reference.icnr`) and each of its filters repeated ``scale²`` times, so that
    the shuffle's sub-pixels start equal: conv + pixel shuffle begins as conv + nearest-neighbour
    upsampling, with no checkerboard (zero the bias too: a bias per sub-pixel is a checkerboard).
    """
    out_channels = weight.shape[0]
    if out_channels % (scale * scale):
        raise ValueError(f"{out_channels} output channels are not a multiple of scale² = {scale * scale}")
    sub = torch.empty((out_channels // (scale * scale), *weight.shape[1:]), dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        init(sub)
        # PixelShuffle takes channel c·s² + k to sub-pixel k of output channel c.
        weight.copy_(sub.repeat_interleave(scale * scale, dim=0))
    return weight
