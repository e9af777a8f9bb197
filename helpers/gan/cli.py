"""The command line: ``python -m helpers.gan --framework {torch,keras} --profile … --out DIR`` (:mod:`helpers.gan`).

Used by python -m helpers.gan (helpers.gan.__main__).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from pathlib import Path

from .config import FRAMEWORKS, PROFILES, UPSAMPLE_KINDS, CheckpointError, config_for, parse_setting
from .outputs import check_losses, check_samples, write_json, write_outputs


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m helpers.gan``."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.gan",
        description="Train the course's reference DCGAN on MNIST and judge its samples with the shipped classifier.",
    )
    parser.add_argument("--framework", required=True, choices=FRAMEWORKS)
    parser.add_argument("--profile", default=None, choices=PROFILES,
                        help="smoke (seconds), cpu (minutes on a laptop) or gpu; default: helpers.runtime.profile()")
    parser.add_argument("--upsample", default="convtranspose", choices=UPSAMPLE_KINDS)
    parser.add_argument("--out", required=True, type=Path,
                        help="folder for the checkpoint, samples.npy, grid.png, metrics.json")
    parser.add_argument("--samples", type=_positive_int, default=None, help="digits to generate and judge")
    parser.add_argument("--seed", type=_int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--steps", type=_positive_int, default=None, help="override the profile's number of steps")
    parser.add_argument("--set", dest="settings", metavar="FIELD=VALUE", type=setting_argument, action="append",
                        default=[], help="change one setting of the profile, e.g. --set g_hidden=512 (repeatable; "
                                         "for trying a recipe: the run's metrics.json and checkpoint record it)")
    return parser


def _train_fn(framework: str):  # imported late: the other framework is never loaded
    return importlib.import_module(f"helpers.gan.train_{framework}").train


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (2 for bad arguments or an unreadable checkpoint)."""
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

