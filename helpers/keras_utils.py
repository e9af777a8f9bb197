"""TensorFlow/Keras side of the course's plumbing: device choice and MNIST as ``tf.data``.

Imports TensorFlow and Keras only (never PyTorch).

Used in lessons 05 and 07.
"""

from __future__ import annotations

from .data import load_mnist
from .quiet import start_tensorflow

tf, keras = start_tensorflow()  # TensorFlow's C++ start-up lines, filtered (see helpers.quiet)


def pick_device(verbose: bool = True) -> str:
    """``/GPU:0`` when TensorFlow sees a GPU, else ``/CPU:0``; prints one line."""
    gpus = tf.config.list_physical_devices("GPU")
    chosen = "/GPU:0" if gpus else "/CPU:0"
    if verbose:
        where = f"{len(gpus)} GPU(s)" if gpus else "CPU"
        print(f"TensorFlow {tf.__version__} · Keras {keras.__version__} ({keras.backend.backend()} backend) on {where}")
    return chosen


def mnist_dataset(split: str = "train", n: int | None = None, *, batch_size: int = 128, shuffle: bool = True,
                  value_range: tuple[float, float] = (-1.0, 1.0), seed: int = 0,
                  labels: bool = False) -> tf.data.Dataset:
    """MNIST as a batched ``tf.data.Dataset`` of ``(B, 28, 28, 1)`` float32 images (and labels)."""
    x, y = load_mnist(split, n, value_range=value_range, channel="last")
    ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
