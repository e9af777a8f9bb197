"""The training loop both trainers run (:func:`train_loop`), with its resume flow and the ``info`` it reports.

Framework-free (NumPy's world only: it imports neither PyTorch nor TensorFlow): each trainer supplies a
*run* (:class:`Run`) that knows how to take one step, read the losses to log, and save and restore its
checkpoint; this module decides *when*: the ``while`` condition, the logging, checkpoint and
``on_epoch`` cadence, the progress bar, the resume messages, and the keys of ``info`` that
:mod:`helpers.gan` documents. So both trainers keep the contract in one place.

Used by helpers.gan.train_keras, helpers.gan.train_torch.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

from .config import CheckpointError, GanConfig, OnEpoch, OnLog, check_resume, drop_partial_log, last_losses

#: Said to fix any checkpoint that cannot be resumed.
START_AFRESH = "Delete it (or choose another --out) to start afresh."


class Run(Protocol):
    """What :func:`train_loop` needs of a trainer's run: its state and five operations."""

    cfg: GanConfig
    step: int                  # steps trained so far
    history: dict[str, list]   # the loss log (:func:`helpers.gan.config.new_history`)
    trained_s: float           # seconds trained in earlier calls (restored by ``resume``)

    def one_step(self) -> None:
        """Train one step (batch, update, EMA) and add 1 to ``step``."""

    def log_losses(self) -> tuple[float, float]:
        """``(loss_d, loss_g)`` to log at ``step``, as Python floats (the one read-back from the device)."""

    def save(self, path: Path, trained_s: float) -> None:
        """Write the checkpoint atomically; ``trained_s`` is the run's training time so far, all calls together."""

    def resume(self, path: Path) -> None:
        """Restore ``step``, ``history``, ``trained_s`` and every weight from ``path``, after
        :func:`check_saved_run`; :class:`CheckpointError` when it cannot or must not be."""

    def finish(self) -> None:
        """Wait for the device to finish the steps queued (so that the clock read next is true)."""


def check_saved_run(saved_config: object, trained_steps: object, cfg: GanConfig, path: Path) -> int:
    """Check that the run whose checkpoint at ``path`` holds ``saved_config`` (a :meth:`GanConfig.to_dict`)
    and ``trained_steps`` may go on as ``cfg`` (:func:`~helpers.gan.config.check_resume`); return the steps
    as an int. :class:`CheckpointError` with a one-line message otherwise."""
    try:
        saved = GanConfig.from_dict(saved_config)
    except (AttributeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} holds an unreadable configuration ({exc}). {START_AFRESH}") from None
    try:
        step = int(trained_steps)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} holds no step count ({exc}). {START_AFRESH}") from None
    check_resume(saved, cfg, step, path)
    return step


def start(run: Run, path: Path, resume: bool) -> int:
    """Continue from the checkpoint at ``path`` when ``resume`` asks (from scratch, saying so, when there is
    none); return the step this call starts from. A finished run trained further drops its last, partial log
    (:func:`~helpers.gan.config.drop_partial_log`): the steps after it log that interval again."""
    if resume and path.exists():
        run.resume(path)
        if run.step < run.cfg.steps:
            drop_partial_log(run.history, run.cfg.log_every)
        print(f"resumed from {path} at step {run.step}", flush=True)
    elif resume:
        print(f"no checkpoint at {path}: starting from scratch", flush=True)
    return run.step


def log(run: Run) -> tuple[float, float]:
    """Append the run's losses at its step to the history; :class:`FloatingPointError` if one is not finite."""
    loss_d, loss_g = run.log_losses()
    if not (math.isfinite(loss_d) and math.isfinite(loss_g)):
        raise FloatingPointError(f"training diverged at step {run.step}: loss_d={loss_d}, loss_g={loss_g}")
    for key, value in (("step", run.step), ("loss_d", loss_d), ("loss_g", loss_g)):
        run.history[key].append(value)
    return loss_d, loss_g


def train_loop(run: Run, path: Path, *, stop_after: int | None = None, on_log: OnLog | None = None,
               on_epoch: OnEpoch | None = None, g_ema: object = None, progress: bool = True) -> float:
    """Train ``run`` up to ``cfg.steps`` (or ``stop_after`` more steps); return the seconds it took.

    After every step that is a multiple of ``cfg.log_every``, and after the last, the losses are logged
    (:func:`log`) and handed to ``on_log``; after every multiple of ``cfg.checkpoint_interval``, and after
    the last, the checkpoint is written; after every multiple of ``cfg.steps_per_epoch``, ``on_epoch(step,
    g_ema)`` is called: in that order, as :mod:`helpers.gan` documents.
    """
    from tqdm.auto import tqdm

    cfg, first_step = run.cfg, run.step
    started = time.perf_counter()
    with tqdm(total=cfg.steps, initial=run.step, desc=f"DCGAN {cfg.framework} {cfg.upsample}", unit="step",
              disable=not progress, mininterval=1.0) as bar:
        while run.step < cfg.steps and (stop_after is None or run.step - first_step < stop_after):
            run.one_step()
            bar.update(1)
            last = run.step == cfg.steps
            if run.step % cfg.log_every == 0 or last:
                loss_d, loss_g = log(run)
                bar.set_postfix(loss_d=f"{loss_d:.3f}", loss_g=f"{loss_g:.3f}", refresh=False)
                if on_log is not None:
                    on_log(run.step, loss_d=loss_d, loss_g=loss_g)
            if run.step % cfg.checkpoint_interval == 0 or last:
                run.save(path, run.trained_s + time.perf_counter() - started)
            if on_epoch is not None and run.step % cfg.steps_per_epoch == 0:
                on_epoch(run.step, g_ema)
    run.finish()
    return time.perf_counter() - started


def run_info(run: Run, first_step: int, run_s: float, started: float, path: Path, device: str) -> dict:
    """The keys of ``info`` both trainers report (:mod:`helpers.gan`'s table): ``started`` is the
    ``time.perf_counter()`` at which this call began, ``device`` what it trained on, in words."""
    cfg, steps_run = run.cfg, run.step - first_step
    return {
        "steps": run.step, "steps_this_run": steps_run, "resumed_from": first_step,
        "epochs": run.step / cfg.steps_per_epoch,
        "images_per_s": steps_run * cfg.batch_size / run_s if steps_run and run_s > 0 else float("nan"),
        "train_s": run.trained_s + run_s, "wall_s": time.perf_counter() - started,
        "device": device, "losses": last_losses(run.history), "history": run.history, "checkpoint": str(path),
    }
