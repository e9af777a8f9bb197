"""Train a reference DCGAN from the command line, in either framework, and judge it.

    python -m helpers.gan --framework {torch,keras} --profile {smoke,cpu,gpu} \\
        --upsample KIND --out DIR [--samples N] [--seed S] [--steps N] [--resume]

``--resume`` continues the run in ``--out`` from its checkpoint: an interrupted run where it
stopped, a finished one further when ``--steps`` asks for more (the result is the same as one
run of that length). Any other change of settings is refused with a message saying which.

This module is framework-free (NumPy only at import time): it holds what both
framework modules share — the run configuration (:class:`GanConfig`, :func:`config_for`),
atomic file writes, the outputs of a run (:func:`write_outputs`), the checkerboard
measure used by lessons 06 and 07 — and the command line, which imports
``helpers.gan_torch`` or ``helpers.gan_keras`` only once it knows which one to run.

Contract with the framework modules: each defines

    train(cfg: GanConfig, out_dir: Path, resume: bool = False) -> (samples_uint8, info)

``samples_uint8`` is ``(cfg.samples, 28, 28)`` uint8 from the (EMA) generator; ``info``
holds at least ``steps``, ``images_per_s``, ``wall_s``, ``device`` and ``losses`` (the
last logged ``{"d": ..., "g": ...}``). Each writes its own checkpoint format inside
``out_dir`` through :func:`atomic_write` and raises :class:`CheckpointError` when asked
to resume from a checkpoint it cannot read or must not continue (:func:`check_resume`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FRAMEWORKS = ("torch", "keras")
PROFILES = ("smoke", "cpu", "gpu")
#: The generator's upsampling block: k4 s2 transposed conv (DCGAN), k3 s2 transposed conv
#: (uneven overlap: checkerboards), nearest resize + 3×3 conv, 3×3 conv to 4C + pixel shuffle (ICNR init).
UPSAMPLE_KINDS = ("convtranspose", "convtranspose3", "resize_conv", "pixel_shuffle")
CHECKPOINT_STEM = "checkpoint"  # each framework adds its own suffix
#: The settings ``--resume`` may change: the digits judged at the end, and the steps (only upwards).
RESUMABLE_CHANGES = ("samples", "steps")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read (truncated, corrupt, or from another configuration)."""


@dataclass
class GanConfig:
    """Everything that defines a training run; saved into every checkpoint and metrics.json.

    Architecture (both frameworks): G: z(latent_dim) → dense 7·7·g_width → BN-ReLU →
    [g_refine × (3×3 conv → BN-ReLU) at 7×7] → up ×2 to 14×14×(g_width/2) → BN-ReLU → up ×2 to 28×28×1 → tanh;
    D: conv4×4 s2 (d_width) → LeakyReLU → conv4×4 s2 (2·d_width) → BN → LeakyReLU →
    [dense d_hidden → BN → LeakyReLU] → dense 1. With ``g_refine = d_hidden = 0`` this is the plain
    DCGAN of lessons 06 and 07.
    """

    framework: str = "torch"
    profile: str = "cpu"
    upsample: str = "convtranspose"
    seed: int = 0
    samples: int = 5000          # digits written to samples.npy and judged
    steps: int = 3000            # generator updates
    batch_size: int = 64
    n_train: int = 60_000        # MNIST training digits used (a subset makes an "epoch" short)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    latent_dim: int = 64
    g_width: int = 128           # channels at 7×7 (halved at 14×14)
    d_width: int = 64            # channels of D's first conv (doubled in the second)
    g_refine: int = 0            # 3×3 conv blocks in G at 7×7, before the first upsampling
    d_hidden: int = 0            # units of a dense layer before D's logit; 0 = none
    ema_decay: float = 0.999     # exponential moving average of G's weights; 0 turns it off
    ema_start: int = 0           # steps before the average starts (it copies G until then)
    checkpoint_every: int = 0    # steps between checkpoints; 0 = once an epoch (n_train // batch_size)
    log_every: int = 50          # steps between loss logs
    label_smoothing: float = 0.0  # real-label target 1 - label_smoothing for D
    extra: dict = field(default_factory=dict)  # framework-specific knobs, e.g. {"threads": 1, "compile": True}

    def __post_init__(self):
        for name, allowed in (("framework", FRAMEWORKS), ("profile", PROFILES), ("upsample", UPSAMPLE_KINDS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("samples", "steps", "batch_size", "n_train", "latent_dim", "g_width", "d_width"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)!r}")
        for name in ("g_refine", "d_hidden"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be 0 or more; got {getattr(self, name)!r}")
        if self.samples > 60_000:
            raise ValueError(f"samples must be at most 60,000 (the real reference uses as many training digits); got {self.samples}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1); got {self.ema_decay}")
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size ({self.batch_size}) cannot exceed n_train ({self.n_train})")

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.n_train // self.batch_size)

    @property
    def checkpoint_interval(self) -> int:
        return self.checkpoint_every or self.steps_per_epoch

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GanConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def same_run(self, other: GanConfig) -> bool:
        """True when ``other`` trains the same model the same way (``samples`` may differ)."""
        return set(self.changes(other)) <= {"samples"}

    def changes(self, other: GanConfig) -> dict[str, tuple]:
        """``{field: (mine, other's)}`` for every field in which ``other`` differs."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}


def check_resume(saved: GanConfig, cfg: GanConfig, trained_steps: int, path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless the run whose checkpoint is at ``path`` (configuration
    ``saved``, ``trained_steps`` steps done) can go on as ``cfg``; the message is one line saying how.

    Only ``samples`` (the digits generated and judged at the end) and ``steps`` may differ, and
    ``steps`` must not be fewer than the steps already trained. More steps train a finished run
    further, exactly as a run started with that many would have gone: neither trainer depends on
    the total (the learning rate is constant, the EMA starts at a fixed step, logs and checkpoints
    fall on fixed multiples; the last, partial log interval of a finished run is dropped again).
    """
    changed = {k: v for k, v in saved.changes(cfg).items() if k not in RESUMABLE_CHANGES}
    if changed:
        diff = ", ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in changed.items())
        raise CheckpointError(
            f"{path} was written by a different configuration ({diff}). --resume continues a run with its own "
            f"settings (only --steps may grow and --samples change): resume with --profile {saved.profile} "
            f"--upsample {saved.upsample} --seed {saved.seed}, or train the new settings into another --out.")
    if cfg.steps < trained_steps:
        raise CheckpointError(
            f"{path} has already trained {trained_steps} steps, more than the {cfg.steps} asked for: resume with "
            f"--steps {trained_steps} or more, or train the shorter run into another --out.")


#: Per profile (and framework, where they differ): the settings :func:`config_for` starts from.
PROFILE_SETTINGS: dict[str, dict] = {
    # smoke: seconds, one CPU thread (tiny tensors gain nothing from more, and lose a lot on a busy machine)
    "smoke": dict(steps=12, batch_size=32, n_train=384, samples=256, g_width=32, d_width=16, g_refine=1, d_hidden=32,
                  ema_decay=0.9, log_every=4, checkpoint_every=6, extra={"threads": 1}),
    # cpu: minutes on a 2-core laptop. Measured (docs/gan_results.md): a dense hidden layer in D (d_hidden) was the
    # largest gain by far (it lets D judge a digit's overall shape), one 3×3 refining block at 7×7 in G the next,
    # then a learning rate of 5·10⁻⁴ for both; TTUR, LR decay, β₂ = 0.99 and a wider D conv did not pay.
    # An EMA with decay 0.99 is on a par with the raw generator at this length (0.999 still averages in the poor
    # generators of the first thousand steps).
    "cpu": dict(steps=1800, batch_size=64, n_train=60_000, samples=5000, g_width=128, d_width=32, g_refine=1,
                d_hidden=512, lr=5e-4, ema_decay=0.99, ema_start=0),
    # gpu: the cpu profile's architecture with a wider D, DCGAN's learning rate and a long EMA (not measured
    # here: no CUDA GPU was available; the code path runs on the CPU in the tests).
    "gpu": dict(steps=10_000, batch_size=128, n_train=60_000, samples=10_000, g_width=128, d_width=64, g_refine=1,
                d_hidden=1024, ema_decay=0.999, ema_start=1000),
}
#: Framework-specific changes on top of PROFILE_SETTINGS, keyed by (framework, profile).
FRAMEWORK_SETTINGS: dict[tuple[str, str], dict] = {
    # Keras has 8 minutes for the cpu profile (PyTorch 5) and runs a step about as fast: it spends them on more steps.
    ("keras", "cpu"): dict(steps=3600),
}


def config_for(framework: str, profile: str, upsample: str = "convtranspose", seed: int = 0,
               samples: int | None = None, **overrides) -> GanConfig:
    """The reference configuration for a framework and run profile; ``overrides`` change any field."""
    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    settings = dict(PROFILE_SETTINGS[profile])
    settings.update(FRAMEWORK_SETTINGS.get((framework, profile), {}))
    if samples is not None:
        settings["samples"] = samples
    settings.update(overrides)
    return GanConfig(framework=framework, profile=profile, upsample=upsample, seed=seed, **settings)


# --------------------------------------------------------------------------- files

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


def to_uint8(images, value_range=(-1.0, 1.0)) -> np.ndarray:
    """Generator outputs in ``value_range`` → ``(N, 28, 28)`` uint8 (channel axis dropped)."""
    x = np.asarray(images, np.float32)
    if x.ndim == 4:
        x = x[:, 0] if x.shape[1] == 1 else x[..., 0]
    lo, hi = value_range
    return np.clip(np.rint((x - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)


def check_samples(samples: np.ndarray, n: int | None = None) -> None:
    """Raise ValueError unless ``samples`` is ``(n, 28, 28)`` uint8."""
    if not isinstance(samples, np.ndarray) or samples.dtype != np.uint8 or samples.ndim != 3 or samples.shape[1:] != (28, 28):
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

    from .plotting import image_grid

    grid = image_grid(samples_uint8[:n].astype(np.float32) / 255.0, ncols=int(math.ceil(math.sqrt(min(n, len(samples_uint8))))))
    scale = 3  # nearest-neighbour enlargement so the digits are visible

    def write(f):
        plt.imsave(f, np.kron(grid, np.ones((scale, scale), np.float32)), cmap="gray", vmin=0, vmax=1, format="png")

    return atomic_write(path, write)


def write_outputs(out_dir: str | Path, samples_uint8: np.ndarray, info: dict) -> dict:
    """Write ``samples.npy``, ``grid.png`` and ``metrics.json`` into ``out_dir``; return the metrics.

    The metrics hold the judge's scores of the samples, the same scores for as many real
    training digits (``real``), the ratio ``fid / real["fid"]``, and everything in ``info``.
    """
    from . import judge

    out_dir = Path(out_dir)
    check_samples(samples_uint8)
    atomic_write(out_dir / "samples.npy", lambda f: np.save(f, samples_uint8))
    save_grid_png(out_dir / "grid.png", samples_uint8)
    started = time.perf_counter()
    scored = judge.scores(samples_uint8)
    real = judge.real_reference(len(samples_uint8))
    metrics = {
        **scored,
        "fid_ratio": scored["fid"] / real["fid"] if real["fid"] > 0 else float("inf"),
        "checkerboard": checkerboard_score(samples_uint8),
        "real": real,
        "judge": "helpers.judge (small MNIST CNN shipped in data/judge.npz; not comparable with Inception-v3 scores)",
        "judge_s": time.perf_counter() - started,
        **info,
    }
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def json_text(value) -> str:
    """Strict JSON (RFC 8259) for ``value``: NaN and ±infinity, which it cannot hold, become ``null``
    (a rate over no steps, a ratio over zero); NumPy scalars and arrays and paths become plain values."""
    return json.dumps(_plain(value), indent=2, allow_nan=False)


def write_json(path: str | Path, value) -> Path:
    """:func:`json_text` of ``value``, written atomically to ``path``."""
    text = json_text(value)
    return atomic_write(path, lambda f: f.write(text.encode()))


def _plain(value):
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


# --------------------------------------------------------------------------- checkerboard

def checkerboard_score(images) -> float:
    """Share of the spectral power (DC excluded) that sits at the Nyquist frequency.

    A stride-2 checkerboard alternates every pixel, so all its energy lands in the FFT's
    row ``H/2`` or column ``W/2`` (the highest frequency a 28×28 image can hold). For real
    digits this share is small; a generator with uneven overlap (k3 s2 transposed conv)
    puts noticeably more there, already at initialisation. Accepts ``(N, H, W)``,
    ``(N, 1, H, W)``, ``(N, H, W, 1)`` or one ``(H, W)`` image, any dtype; even H and W.
    """
    x = np.asarray(images, np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4:
        x = x[:, 0] if x.shape[1] == 1 else x[..., 0]
    if x.ndim != 3 or x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"checkerboard_score expects (N, H, W) images with even H and W; got {np.shape(images)}")
    h, w = x.shape[1:]
    power = np.abs(np.fft.fft2(x - x.mean(axis=(1, 2), keepdims=True))) ** 2
    total = power.sum()
    if total == 0:
        return 0.0
    nyquist = power[:, h // 2, :].sum() + power[:, :, w // 2].sum() - power[:, h // 2, w // 2].sum()
    return float(nyquist / total)


# --------------------------------------------------------------------------- command line

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.gan",
        description="Train the course's reference DCGAN on MNIST and judge its samples with the shipped classifier.",
    )
    parser.add_argument("--framework", required=True, choices=FRAMEWORKS)
    parser.add_argument("--profile", default=None, choices=PROFILES,
                        help="smoke (seconds), cpu (minutes on a laptop) or gpu; default: helpers.runtime.profile()")
    parser.add_argument("--upsample", default="convtranspose", choices=UPSAMPLE_KINDS)
    parser.add_argument("--out", required=True, type=Path, help="folder for the checkpoint, samples.npy, grid.png, metrics.json")
    parser.add_argument("--samples", type=_positive_int, default=None, help="digits to generate and judge")
    parser.add_argument("--seed", type=_int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--steps", type=_positive_int, default=None, help="override the profile's number of steps")
    return parser


def _train_fn(framework: str):
    return importlib.import_module(f"helpers.gan_{framework}").train


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (2 for bad arguments or an unreadable checkpoint)."""
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on a bad argument
    from .runtime import profile as current_profile

    overrides = {"steps": args.steps} if args.steps else {}
    try:
        cfg = config_for(args.framework, args.profile or current_profile(), args.upsample, args.seed, args.samples,
                         **overrides)
    except ValueError as err:
        parser.error(str(err))
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"DCGAN · {cfg.framework} · profile {cfg.profile} · upsample {cfg.upsample} · {cfg.steps} steps "
          f"of {cfg.batch_size} · seed {cfg.seed} → {args.out}", flush=True)
    try:
        samples, info = _train_fn(cfg.framework)(cfg, args.out, resume=args.resume)
        check_samples(samples, cfg.samples)
        check_losses(info.get("losses", {}))
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    # cli_wall_s: from argument parsing to the metrics (framework import, data, training, sampling, judging)
    metrics = write_outputs(args.out, samples, {**info, "config": cfg.to_dict(), "cli_wall_s": None})
    metrics["cli_wall_s"] = time.perf_counter() - started
    write_json(args.out / "metrics.json", metrics)
    real = metrics["real"]
    speed = info.get("images_per_s", float("nan"))
    speed = f"{speed:.0f} img/s" if math.isfinite(speed) else "no steps left to train"
    print(f"judge: FID {metrics['fid']:.2f} (real {real['fid']:.2f}, ×{metrics['fid_ratio']:.1f}) · "
          f"IS {metrics['inception_score']:.2f} (real {real['inception_score']:.2f}) · "
          f"confident {metrics['confident']:.3f} · coverage {metrics['coverage']:.3f} · "
          f"{speed} · {info.get('wall_s', float('nan')):.0f} s on {info.get('device')}")
    return 0


if __name__ == "__main__":
    # `python -m helpers.gan` runs this file as the module __main__, a second copy of helpers.gan. The
    # trainers raise helpers.gan.CheckpointError, which __main__'s `except CheckpointError` would not
    # catch (a traceback instead of a one-line error): run the command line of the copy they import.
    from helpers.gan import main as _main

    sys.exit(_main())
