"""The command line: ``python -m helpers.gan --framework {torch,keras} --profile … --out DIR`` (:mod:`helpers.gan`),
and the judging of a run's samples (:func:`judge_samples`).

Used by python -m helpers.gan (helpers.gan.__main__); :func:`main` is also a console-script entry point.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import sys
import time
from pathlib import Path
from typing import NoReturn

import numpy as np

from .config import (
    FRAMEWORKS,
    NOT_SETTABLE,
    PROFILES,
    UPSAMPLE_DESCRIPTIONS,
    UPSAMPLE_KINDS,
    CheckpointError,
    GanConfig,
    config_for,
    parse_setting,
)
from .outputs import (
    OutputFolderError,
    check_losses,
    check_samples,
    prepare_out_dir,
    write_outputs,
    written_files,
)


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


def setting_argument(text: str) -> tuple[str, object]:
    """``--set``'s argument type: :func:`~helpers.gan.config.parse_setting`, its message kept by argparse."""
    try:
        return parse_setting(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _profile_defaults(name: str) -> str:
    """``name``'s value in each profile, e.g. ``smoke 12, cpu 4,000 (keras 8,000), gpu 10,000``: the first
    framework's, then another's where it differs."""
    parts = []
    for profile in PROFILES:
        first, *others = ((framework, getattr(config_for(framework, profile), name)) for framework in FRAMEWORKS)
        differing = "".join(f" ({framework} {value:,})" for framework, value in others if value != first[1])
        parts.append(f"{profile} {first[1]:,}{differing}")
    return ", ".join(parts)


def _epilog() -> str:
    """What ``--help`` shows below the options: the upsampling kinds, one line each; the folder rules; an example."""
    width = max(map(len, UPSAMPLE_KINDS))
    kinds = "\n".join(f"  {kind:<{width}}  {text}" for kind, text in UPSAMPLE_DESCRIPTIONS.items())
    return (f"upsampling kinds (--upsample), the generator's two ×2 blocks:\n{kinds}\n\n"
            "A run writes its checkpoint, samples.npy, grid.png and metrics.json into --out;\n"
            "a folder that holds a run is refused unless --resume continues it (same\n"
            "framework) or --overwrite replaces it.\n\n"
            "example:\n  python -m helpers.gan --framework torch --profile cpu --upsample resize_conv "
            "--out runs/torch_resize_conv\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m helpers.gan``: every option's help says its default."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.gan",
        description="Train the course's reference DCGAN on MNIST and judge its samples with the shipped classifier.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,  # the kinds' lines stay lines
    )
    parser.add_argument("--framework", required=True, choices=FRAMEWORKS, help="the trainer (required)")
    parser.add_argument("--profile", default=None, choices=PROFILES,
                        help="smoke (seconds), cpu (minutes on a laptop) or gpu (default: helpers.runtime.profile(): "
                             "COURSE_PROFILE if set, smoke under CI, gpu with a CUDA GPU, else cpu)")
    parser.add_argument("--upsample", default="convtranspose", choices=UPSAMPLE_KINDS,
                        help="the generator's upsampling kind, listed below (default: %(default)s)")
    parser.add_argument("--out", required=True, type=Path,
                        help="folder for the checkpoint, samples.npy, grid.png, metrics.json (required)")
    parser.add_argument("--samples", type=_positive_int, default=None,
                        help=f"digits to generate and judge (default: the profile's: {_profile_defaults('n_samples')})")
    parser.add_argument("--seed", type=_int, default=0, help="seeds the weights, data order and noise "
                                                             "(default: %(default)s)")
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint (default: off; a new run refuses a folder "
                            "that holds one)")
    reuse.add_argument("--overwrite", action="store_true",
                       help="remove the run --out holds (its checkpoint, samples, grid, metrics) and train a new "
                            "one (default: off)")
    parser.add_argument("--steps", type=_positive_int, default=None,
                        help=f"override the profile's number of steps (default: {_profile_defaults('steps')})")
    settable = ", ".join(f.name for f in dataclasses.fields(GanConfig) if f.name not in NOT_SETTABLE)
    parser.add_argument("--set", dest="settings", metavar="FIELD=VALUE", type=setting_argument, action="append",
                        default=[], help="change one setting of the profile, e.g. --set g_hidden=512 (repeatable; "
                                         "for trying a recipe: the run's metrics.json and checkpoint record it). "
                                         f"FIELD is one of: {settable} (default: none changed)")
    return parser


def _train_fn(framework: str):  # imported late: the other framework is never loaded
    return importlib.import_module(f"helpers.gan.train_{framework}").train


def judge_samples(samples_uint8: np.ndarray) -> dict:
    """The judge's scores of a run's samples (:func:`helpers.judge.scores`), the same for as many real training
    digits (``real``), the ratio ``fid / real["fid"]``, their checkerboard (:func:`helpers.metrics.nyquist_share`),
    which judge scored them, and the seconds it took (``judge_s``): the metrics.json a run's ``info`` joins."""
    from .. import judge
    from ..metrics import nyquist_share

    started = time.perf_counter()
    scored = judge.scores(samples_uint8)
    real = judge.real_reference(len(samples_uint8))
    return {
        **scored,
        "fid_ratio": scored["fid"] / real["fid"] if real["fid"] > 0 else float("inf"),
        "checkerboard": nyquist_share(samples_uint8),
        "real": real,
        "judge": "helpers.judge (small MNIST CNN shipped in data/judge.npz; not comparable with Inception-v3 scores)",
        "judge_s": time.perf_counter() - started,
    }


def _refuse(message: str) -> NoReturn:
    """End the command before it trains: one line on stderr, exit status 2 (as for a bad argument)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status: 2 for bad arguments or settings, an ``--out`` that cannot take
    the run, or an unreadable checkpoint (these end with one ``error:`` line), 1 for a run that diverged."""
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on a bad argument
    from ..runtime import profile as current_profile

    overrides = dict(args.settings)
    if args.steps:
        overrides["steps"] = args.steps
    try:
        cfg = config_for(args.framework, args.profile or current_profile(), args.upsample, args.seed, args.samples,
                         **overrides)
    except ValueError as err:
        _refuse(str(err))
    try:  # before the framework loads and trains: a folder that cannot take the run fails in a second
        removed = prepare_out_dir(args.out, cfg.framework, resume=args.resume, overwrite=args.overwrite)
    except OutputFolderError as err:
        _refuse(str(err))
    if removed:
        print(f"--overwrite: removed the earlier run's {', '.join(p.name for p in removed)}", flush=True)
    print(f"DCGAN · {cfg.framework} · profile {cfg.profile} · upsample {cfg.upsample} · {cfg.steps} steps "
          f"of {cfg.batch_size} · seed {cfg.seed} → {args.out}", flush=True)
    try:
        samples, info = _train_fn(cfg.framework)(cfg, args.out, resume=args.resume)
        check_samples(samples, cfg.n_samples)
        check_losses(info.get("losses", {}))
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    metrics = {**judge_samples(samples), **info, "config": cfg.to_dict()}
    # cli_wall_s: from argument parsing to the metrics (framework import, data, training, sampling, judging)
    metrics["cli_wall_s"] = time.perf_counter() - started
    write_outputs(args.out, samples, metrics)
    real = metrics["real"]
    speed = info.get("images_per_s", float("nan"))
    speed = f"{speed:.0f} img/s" if math.isfinite(speed) else "no steps left to train"
    print(f"judge: FID {metrics['fid']:.2f} (real {real['fid']:.2f}, ×{metrics['fid_ratio']:.1f}) · "
          f"IS {metrics['inception_score']:.2f} (real {real['inception_score']:.2f}) · "
          f"confident {metrics['confident']:.3f} · coverage {metrics['coverage']:.3f} · "
          f"{speed} · {info.get('wall_s', float('nan')):.0f} s on {info.get('device')}")
    print(f"wrote {', '.join(str(path) for path in written_files(args.out, cfg.framework))}")  # the last line
    return 0
