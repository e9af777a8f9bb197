"""MNIST, offline and verified.

The course ships ``data/mnist.npz`` (see ``data/README.md`` for its provenance) and
checks its SHA-256 before the first use in a process. Nothing is downloaded unless
you call :func:`download_mnist` yourself.

Used in lessons 00, 01, 02, 04, 05 and 06.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from . import DATA_DIR
from .config import GIT_REF, GITHUB_REPOSITORY

MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
MNIST_SIZE = 11_490_519
MNIST_URL = f"https://raw.githubusercontent.com/{GITHUB_REPOSITORY}/{GIT_REF}/data/{MNIST_FILE}"
SPLITS = {"train": ("x_train", "y_train", 60_000), "test": ("x_test", "y_test", 10_000)}

_verified: dict[tuple[str, int, int, str], bool] = {}


class DataError(RuntimeError):
    """The course's data file is missing, incomplete or altered."""


def mnist_path() -> Path:
    """Where the course expects MNIST: ``data/mnist.npz`` (``COURSE_DATA_DIR`` overrides the folder)."""
    return Path(os.environ.get("COURSE_DATA_DIR", DATA_DIR)) / MNIST_FILE


def sha256(path: str | Path) -> str:
    """The SHA-256 of a file, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | Path, expected_sha256: str, *, what: str, fix: str, error: type[Exception] | None = None,
                size: int | None = None) -> Path:
    """Check that a shipped file (``what``: "the data", "the weights") is present and unaltered; return its path.

    Raises ``error`` (default :class:`DataError`) saying what is wrong, followed by ``fix``: missing,
    a Git LFS pointer instead of the file, the wrong ``size`` (when given), the wrong SHA-256.
    A file that passed is not hashed again in this process until its size or mtime changes.
    """
    error = error or DataError
    path = Path(path)
    if not path.exists():
        raise error(f"{what[0].upper() + what[1:]} not found at {path}. {fix}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected_sha256)
    if _verified.get(key):
        return path
    with open(path, "rb") as f:
        head = f.read(200)
    if head.startswith(b"version https://git-lfs"):
        raise error(f"{path} is a Git LFS pointer, not {what} ({stat.st_size} bytes). "
                    f"Run `git lfs pull` in the course folder, or: {fix}")
    if size is not None and stat.st_size != size:
        raise error(f"{path} has {stat.st_size:,} bytes, expected {size:,}: the file is "
                    f"{'truncated' if stat.st_size < size else 'altered'}. {fix}")
    digest = sha256(path)
    if digest != expected_sha256:
        raise error(f"{path} has the wrong SHA-256 ({digest[:12]}…, expected {expected_sha256[:12]}…): "
                    f"the file was altered. {fix}")
    _verified[key] = True
    return path


def verify_mnist(path: str | Path | None = None) -> Path:
    """Check that the MNIST archive is present and unaltered; return its path.

    Raises :class:`DataError` that says what is wrong and how to fix it.
    """
    fix = ("Restore it with `git checkout -- data/mnist.npz` in the course folder, "
           "or call helpers.data.download_mnist() to fetch the course's copy.")
    return verify_file(path if path is not None else mnist_path(), MNIST_SHA256, what="MNIST", fix=fix,
                       size=MNIST_SIZE)


def download_mnist(url: str = MNIST_URL, path: str | Path | None = None) -> Path:
    """Fetch the course's copy of MNIST (only when you ask), verify it, and move it in place."""
    path = Path(path) if path is not None else mnist_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
        try:
            with urllib.request.urlopen(url) as response:
                shutil.copyfileobj(response, tmp)
        except BaseException:  # no network, a refused URL, Ctrl-C: no half-downloaded file stays behind
            os.unlink(tmp.name)
            raise
    try:
        verify_mnist(tmp.name)
    except DataError as err:
        os.unlink(tmp.name)
        raise DataError(f"The download from {url} did not verify: {err}") from None
    os.replace(tmp.name, path)
    return path


def load_mnist(
    split: str = "train",
    n: int | None = None,
    *,
    dtype: str | np.dtype = "float32",
    value_range: tuple[float, float] = (0.0, 1.0),
    channel: str | None = None,
    seed: int | None = None,
    path: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` from the verified MNIST archive.

    split: ``"train"`` (60,000) or ``"test"`` (10,000).
    n: keep only ``n`` images: the first ``n``, or a random subset when ``seed`` is given.
    dtype: ``"uint8"`` returns the raw pixels (``value_range`` is then ignored); a float
        dtype scales them linearly to ``value_range``, e.g. ``(0, 1)`` or ``(-1, 1)``.
    channel: ``None`` gives ``(N, 28, 28)``; ``"first"`` ``(N, 1, 28, 28)`` (PyTorch);
        ``"last"`` ``(N, 28, 28, 1)`` (Keras).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if channel not in (None, "first", "last"):
        raise ValueError(f"channel must be None, 'first' or 'last', got {channel!r}")
    xkey, ykey, total = SPLITS[split]
    if n is not None and not (0 < n <= total):
        raise ValueError(f"n must be between 1 and {total:,} for split {split!r}, got {n}")
    with np.load(verify_mnist(path)) as archive:
        x, y = archive[xkey], archive[ykey]
    if n is not None:
        index = np.random.default_rng(seed).choice(total, n, replace=False) if seed is not None else slice(n)
        x, y = x[index], y[index]
    dtype = np.dtype(dtype)
    if dtype != np.uint8:
        if not np.issubdtype(dtype, np.floating):
            raise ValueError(f"dtype must be uint8 or a float type, got {dtype}")
        lo, hi = value_range
        x = (x.astype(dtype) * np.asarray((hi - lo) / 255.0, dtype) + np.asarray(lo, dtype)).astype(dtype)
    if channel == "first":
        x = x[:, None]
    elif channel == "last":
        x = x[..., None]
    return x, y.astype(np.int64)


def digit(index: int = 0, split: str = "test", **kwargs) -> np.ndarray:
    """One MNIST image as a float ``(28, 28)`` array in [0, 1] — handy for demonstrations."""
    x, _ = load_mnist(split, n=index + 1, **kwargs)
    return x[index]
