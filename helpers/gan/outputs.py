"""What a GAN run writes: atomic files (honouring the umask), strict JSON, the sample grid, the metrics;
which of those files a folder holds, and whether a run may write there.

Used by helpers.gan, helpers.gan.cli, helpers.gan.train_keras, helpers.gan.train_torch.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..arrays import squeeze_channel
from .config import CHECKPOINT_FILES, FRAMEWORKS, checkpoint_path

#: What :func:`write_outputs` writes into a run's folder, next to the trainer's checkpoint (:data:`CHECKPOINT_FILES`).
OUTPUT_FILES = {"samples": "samples.npy", "grid": "grid.png", "metrics": "metrics.json"}


class OutputFolderError(RuntimeError):
    """A run's folder cannot take the run: it cannot be written, or it holds a run the new one would overwrite."""


def current_umask() -> int:
    """The process's file-creation mask, read without changing it where the system allows.

    Linux says it in ``/proc/self/status`` (``Umask:``); elsewhere it is read the classic way,
    ``os.umask(0)`` and straight back, which another thread creating a file in between would see.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write_fn: Callable[[io.BufferedWriter], None]) -> Path:
    """Write ``path`` so that it is either the old file or the complete new one, never half of either.

    ``write_fn(f)`` writes into a temporary file in the same folder (a binary file object);
    it is flushed, fsynced and renamed over ``path`` with ``os.replace`` (atomic on POSIX
    and Windows). If ``write_fn`` raises, the temporary file is removed and ``path`` is untouched.
    The file gets the permissions any new file would (``0o666`` less the umask), not the
    owner-only ``0o600`` of the temporary file it starts as.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # POSIX (Windows knows only read-only, which mkstemp does not set)
            os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def to_uint8(images: ArrayLike, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Generator outputs in ``value_range`` → ``(N, 28, 28)`` uint8 (channel axis dropped)."""
    x = squeeze_channel(images, np.float32)
    lo, hi = value_range
    return np.clip(np.rint((x - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)


def check_samples(samples: np.ndarray, n: int | None = None) -> None:
    """Raise ValueError unless ``samples`` is ``(n, 28, 28)`` uint8."""
    if (not isinstance(samples, np.ndarray) or samples.dtype != np.uint8 or samples.ndim != 3
            or samples.shape[1:] != (28, 28)):
        raise ValueError(f"samples must be a (N, 28, 28) uint8 array; got {getattr(samples, 'dtype', type(samples))} "
                         f"{getattr(samples, 'shape', '')}")
    if n is not None and len(samples) != n:
        raise ValueError(f"expected {n} samples, got {len(samples)}")


def check_losses(losses: dict) -> None:
    """Raise FloatingPointError when a loss is NaN or infinite (a diverged run)."""
    bad = {k: v for k, v in losses.items() if not math.isfinite(float(v))}
    if bad:
        raise FloatingPointError(f"training diverged: non-finite losses {bad}")


def save_grid_png(path: str | Path, samples_uint8: np.ndarray, n: int = 100) -> Path:
    """A ``√n × √n`` grid of the first ``n`` samples as a grey PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting import image_grid

    ncols = int(math.ceil(math.sqrt(min(n, len(samples_uint8)))))
    grid = image_grid(samples_uint8[:n].astype(np.float32) / 255.0, ncols=ncols)
    scale = 3  # nearest-neighbour enlargement so the digits are visible

    def write(f: io.BufferedWriter):
        plt.imsave(f, np.kron(grid, np.ones((scale, scale), np.float32)), cmap="gray", vmin=0, vmax=1, format="png")

    return atomic_write(path, write)


def write_outputs(out_dir: str | Path, samples_uint8: np.ndarray, metrics: dict) -> list[Path]:
    """Write ``samples.npy``, ``grid.png`` and ``metrics.json`` (:data:`OUTPUT_FILES`) into ``out_dir``, each
    once and atomically; return their paths. Judging the samples is the caller's (``helpers.gan.cli``)."""
    out_dir = Path(out_dir)
    check_samples(samples_uint8)
    return [atomic_write(out_dir / OUTPUT_FILES["samples"], lambda f: np.save(f, samples_uint8)),
            save_grid_png(out_dir / OUTPUT_FILES["grid"], samples_uint8),
            write_json(out_dir / OUTPUT_FILES["metrics"], metrics)]


def written_files(out_dir: str | Path, framework: str) -> list[Path]:
    """The files a finished run of ``framework`` has in ``out_dir``: its checkpoint, then :data:`OUTPUT_FILES`."""
    return [checkpoint_path(out_dir, framework), *(Path(out_dir) / name for name in OUTPUT_FILES.values())]


def run_files(out_dir: str | Path) -> list[Path]:
    """The files of a run, of either framework, that ``out_dir`` holds (checkpoints first); others are not a run's."""
    names = [*CHECKPOINT_FILES.values(), *OUTPUT_FILES.values()]
    return [Path(out_dir) / name for name in names if (Path(out_dir) / name).is_file()]


def run_frameworks(out_dir: str | Path) -> set[str]:
    """The frameworks whose run ``out_dir`` holds: told by their checkpoints, or by what metrics.json records
    (a folder whose checkpoint was deleted, or a metrics.json that cannot be read, tells nothing)."""
    out_dir = Path(out_dir)
    found = {framework for framework in FRAMEWORKS if checkpoint_path(out_dir, framework).is_file()}
    try:
        recorded = json.loads((out_dir / OUTPUT_FILES["metrics"]).read_text())["config"]["framework"]
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    return found | ({recorded} if recorded in FRAMEWORKS else set())


def prepare_out_dir(out_dir: str | Path, framework: str, *, resume: bool, overwrite: bool) -> list[Path]:
    """Make ``out_dir`` ready for a run of ``framework`` before it trains; return the files ``overwrite`` removed.

    Raises :class:`OutputFolderError`, with a one-line message that says what to do, when the folder cannot be
    created or written (a file in the way, a read-only place), or when the run would overwrite another's
    files: a new run into a folder that holds one (unless ``overwrite``: its files are removed first), or a
    ``resume`` of ``framework`` into a folder that holds another framework's run, or outputs but no checkpoint
    of ``framework`` to continue from. Only the files of :func:`run_files` count, and only they are removed.
    """
    out_dir = Path(out_dir)
    _check_writable(out_dir)
    held = run_files(out_dir)
    if not held:
        return []
    names = ", ".join(p.name for p in held)
    others = sorted(run_frameworks(out_dir) - {framework})
    if resume and others:
        raise OutputFolderError(
            f"--out {out_dir} holds a {others[0]} run ({names}); --resume continues a run in its own framework: "
            f"resume it with --framework {others[0]}, or train {framework} into another --out.")
    if resume and not checkpoint_path(out_dir, framework).is_file():
        raise OutputFolderError(
            f"--out {out_dir} holds a run's outputs ({names}) but no {CHECKPOINT_FILES[framework]} to resume "
            f"from: start it again with --overwrite instead of --resume, or choose another --out.")
    if resume:
        return []
    if not overwrite:
        raise OutputFolderError(
            f"--out {out_dir} already holds a run ({names}): continue it with --resume, replace it with "
            f"--overwrite, or choose another --out.")
    for path in held:
        path.unlink()
    return held


def _check_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and write a file into it (and remove it): permissions alone do not tell, root ignores them."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"--out {out_dir} is a file, not a folder: choose a folder for the run's files.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(f"--out {out_dir}: cannot create the folder ({err.strerror or err}).") from None
    try:
        with tempfile.TemporaryFile(dir=out_dir, prefix=".write-test."):
            pass
    except OSError as err:
        raise OutputFolderError(f"--out {out_dir}: cannot write into the folder ({err.strerror or err}).") from None


def json_text(value: object) -> str:
    """Strict JSON (RFC 8259) for ``value``: NaN and ±infinity, which it cannot hold, become ``null``
    (a rate over no steps, a ratio over zero); NumPy scalars and arrays and paths become plain values."""
    return json.dumps(_plain(value), indent=2, allow_nan=False)


def write_json(path: str | Path, value: object) -> Path:
    """:func:`json_text` of ``value``, written atomically to ``path``."""
    text = json_text(value)
    return atomic_write(path, lambda f: f.write(text.encode()))


def _plain(value: object):
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
