"""Train a reference DCGAN from the command line, in either framework, and judge it.

    python -m helpers.gan --framework {torch,keras} --profile {smoke,cpu,gpu} \\
        --upsample KIND --out DIR [--samples N] [--seed S] [--steps N] [--set FIELD=VALUE] \\
        [--resume | --overwrite]

``--resume`` continues the run in ``--out`` from its checkpoint: an interrupted run where it
stopped, a finished one further when ``--steps`` asks for more (the result is the same as one
run of that length). Any other change of settings is refused with a message saying which, and so
is another framework's run. A new run refuses a folder that holds a run (:func:`run_files`) unless
``--overwrite`` removes it first, and a folder it cannot write; settings that break
:meth:`GanConfig.validate`'s rules are refused too: all before anything trains, in one line.
The last line the command prints names the files it wrote.

This package is framework-free (NumPy only at import time): it holds what both
framework modules share — the run configuration (:mod:`helpers.gan.config`: :class:`GanConfig`,
:func:`config_for`, the checkpoint's place :func:`checkpoint_path`), the training loop
(:mod:`helpers.gan.loop`), atomic file writes and the outputs of a run (:mod:`helpers.gan.outputs`) —
the command line (:mod:`helpers.gan.cli`, which judges the samples and imports ``helpers.gan.train_torch``
or ``helpers.gan.train_keras`` only once it knows which one to run), and the measured results of
``docs/gan_results.md`` (:mod:`helpers.gan.published`). The package itself exports only what lessons
07 and 08, the command line and the scripts use (``__all__``); the rest is imported from its module.

The trainer contract
--------------------
``helpers.gan.train_torch`` and ``helpers.gan.train_keras`` each define (tested once against
both in ``tests/gan/test_trainer_contract.py``)::

    train(cfg, out_dir, resume=False, *, device=None, stop_after=None, on_log=None,
          on_epoch=None, progress=True) -> (samples_uint8, info)

* ``cfg``: a :class:`GanConfig` of that framework (another framework's, or one changed since it was
  built so that it breaks :meth:`GanConfig.validate`'s rules: ``ValueError``, before anything is
  written); ``out_dir`` is created if missing.
* ``resume``: continue from the checkpoint in ``out_dir`` (printing ``resumed from PATH at
  step N``), from scratch if there is none. A checkpoint that cannot be read, or whose run may
  not go on as ``cfg`` (:func:`check_resume`: only ``n_samples`` may change, and ``steps`` grow),
  raises :class:`CheckpointError` with a one-line message and leaves the file as it was.
* ``device``: where to train; None picks the GPU if there is one. ``"cpu"`` works for both
  (PyTorch: a ``torch.device`` or its name; Keras: a TensorFlow device name).
* ``stop_after``: end after that many steps of this call, as an interruption would (the
  checkpoint is whatever was last written), then sample and return as usual.
* ``on_log(step, *, loss_d: float, loss_g: float)``: after every step that is a multiple of
  ``cfg.log_every``, and after the last step ``cfg.steps``.
* ``on_epoch(step, g_ema)``: after every step that is a multiple of ``cfg.steps_per_epoch``,
  after that step's log and checkpoint; ``g_ema`` is the EMA generator, a model of the
  framework mapping noise ``(N, cfg.latent_dim)`` to images in [-1, 1].
* ``progress``: a tqdm progress bar.
* after these, a trainer may take keyword-only hooks of its own: PyTorch's ``train_step``,
  ``ema_update`` and ``upsample_block`` let lesson 08's exercises train the model (its ``train`` says how).

``samples_uint8`` is ``(cfg.n_samples, 28, 28)`` uint8 from the EMA generator (its BatchNorm
statistics recalibrated). ``info`` holds at least:

==================  =====  =====================================================================
``steps``           int    steps trained in all, this call included
``steps_this_run``  int    steps this call trained (0 when a finished run is resumed)
``resumed_from``    int    the step this call started from (0 for a fresh run)
``epochs``          float  ``steps / cfg.steps_per_epoch``
``images_per_s``    float  this call's training speed; NaN when it trained no step
``train_s``         float  seconds spent in the training loop, summed over every call of the run
``wall_s``          float  seconds this call took, sampling included
``device``          str    what it trained on, in words
``losses``          dict   the last logged losses ``{"d": float, "g": float}`` (``{}`` before any log)
``history``         dict   every log: ``{"step": [int], "loss_d": [float], "loss_g": [float]}``
``checkpoint``      str    the checkpoint's path
==================  =====  =====================================================================

and what each framework adds (its ``train`` docstring says). Both trainers run one loop,
:func:`helpers.gan.loop.train_loop`, which keeps this cadence and builds these keys. The losses
logged are PyTorch's mean over the interval since the last log and Keras's of the logging step itself. A finished
run trained further drops its last log again where that covered a partial interval
(:func:`drop_partial_log`), so ``history`` equals that of one run of the full length.

Checkpoint: one file, ``checkpoint_path(out_dir, framework)`` (:data:`CHECKPOINT_FILES`:
``checkpoint.pt`` for PyTorch, ``checkpoint_keras.npz`` for Keras), written atomically
(:func:`atomic_write`) every ``cfg.checkpoint_interval`` steps and after the last. It holds
everything the next step depends on (weights, EMA, optimizer states, step, configuration,
loss log); each framework module's ``CHECKPOINT_VERSION`` is stored in it and checked on
``resume``: PyTorch 1 (a ``torch.save`` dict), Keras 2 (``np.savez`` arrays and a JSON
``meta``; version 1 is still read).

Used in lessons 07 and 08.
"""

from . import published
from .config import (
    CHECKPOINT_FILES,
    CHECKPOINT_STEM,
    FRAMEWORKS,
    UPSAMPLE_KINDS,
    CheckpointError,
    GanConfig,
    checkpoint_path,
    config_for,
)
from .outputs import atomic_write

# What lessons 07 and 08 (config_for, UPSAMPLE_KINDS, atomic_write, published), the scripts (FRAMEWORKS,
# GanConfig, CHECKPOINT_STEM) and the trainer contract above (CheckpointError, checkpoint_path,
# CHECKPOINT_FILES) name; everything else is imported from its module.
__all__ = [
    "CHECKPOINT_FILES", "CHECKPOINT_STEM", "FRAMEWORKS", "UPSAMPLE_KINDS", "CheckpointError", "GanConfig",
    "atomic_write", "checkpoint_path", "config_for", "published",
]
