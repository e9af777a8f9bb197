"""Train a reference DCGAN from the command line, in either framework, and judge it.

    python -m helpers.gan --framework {torch,keras} --profile {smoke,cpu,gpu} \\
        --upsample KIND --out DIR [--samples N] [--seed S] [--steps N] [--resume]

``--resume`` continues the run in ``--out`` from its checkpoint: an interrupted run where it
stopped, a finished one further when ``--steps`` asks for more (the result is the same as one
run of that length). Any other change of settings is refused with a message saying which.

This package is framework-free (NumPy only at import time): it holds what both
framework modules share — the run configuration (:class:`GanConfig`, :func:`config_for`),
atomic file writes, the outputs of a run (:func:`write_outputs`), the checkerboard
measure used by lessons 06 and 07 — and the command line, which imports
``helpers.gan.train_torch`` or ``helpers.gan.train_keras`` only once it knows which one to run.

Contract with the framework modules: each defines

    train(cfg: GanConfig, out_dir: Path, resume: bool = False) -> (samples_uint8, info)

``samples_uint8`` is ``(cfg.samples, 28, 28)`` uint8 from the (EMA) generator; ``info``
holds at least ``steps``, ``images_per_s``, ``wall_s``, ``device`` and ``losses`` (the
last logged ``{"d": ..., "g": ...}``). Each writes its own checkpoint format inside
``out_dir`` through :func:`atomic_write` and raises :class:`CheckpointError` when asked
to resume from a checkpoint it cannot read or must not continue (:func:`check_resume`).
"""

from .config import (
    CHECKPOINT_STEM,
    FRAMEWORK_SETTINGS,
    FRAMEWORKS,
    PROFILE_SETTINGS,
    PROFILES,
    RESUMABLE_CHANGES,
    UPSAMPLE_KINDS,
    CheckpointError,
    GanConfig,
    check_resume,
    config_for,
)
from .metrics import checkerboard_score
from .outputs import (
    atomic_write,
    check_losses,
    check_samples,
    current_umask,
    json_text,
    save_grid_png,
    to_uint8,
    write_json,
    write_outputs,
)

__all__ = [
    "CHECKPOINT_STEM", "FRAMEWORK_SETTINGS", "FRAMEWORKS", "PROFILES", "PROFILE_SETTINGS", "RESUMABLE_CHANGES", "UPSAMPLE_KINDS", "CheckpointError", "GanConfig",
    "atomic_write", "check_losses", "check_resume", "check_samples", "checkerboard_score", "config_for",
    "current_umask", "json_text", "save_grid_png", "to_uint8", "write_json", "write_outputs",
]
