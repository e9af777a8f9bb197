"""PyTorch side of the course's plumbing: device choice and MNIST as tensors.

Imports PyTorch only (never TensorFlow).
"""

from __future__ import annotations

import torch

from .data import load_mnist


def device(prefer: str | None = None, verbose: bool = True) -> torch.device:
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
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        memory = torch.cuda.get_device_properties(dev).total_memory / 2**30
        return f"PyTorch {torch.__version__} on {name} ({memory:.0f} GiB)"
    if dev.type == "mps":
        return f"PyTorch {torch.__version__} on Apple GPU (mps)"
    return f"PyTorch {torch.__version__} on CPU ({torch.get_num_threads()} threads)"


def mnist_tensors(split: str = "train", n: int | None = None, *, device: str | torch.device = "cpu",
                  value_range=(-1.0, 1.0), seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as ``(N, 1, 28, 28)`` float32 images and int64 labels, already on ``device``."""
    x, y = load_mnist(split, n, value_range=value_range, channel="first", seed=seed)
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def mnist_loader(split: str = "train", n: int | None = None, *, batch_size: int = 128, shuffle: bool = True,
                 value_range=(-1.0, 1.0), seed: int = 0, **loader_kwargs) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` over MNIST (CPU tensors; move batches with ``.to(device)``)."""
    x, y = mnist_tensors(split, n, value_range=value_range)
    generator = torch.Generator().manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, **loader_kwargs)
