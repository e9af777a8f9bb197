"""Measure lessons 09–10's tables in one run profile: ``python scripts/measure_sr_pix2pix.py --profile cpu``.

Prints (Markdown) the machine's load, then

* super-resolution ×2 on MNIST and ×3 on held-out natural images (bicubic, SRCNN, ESPCN:
  parameters, FLOPs per output pixel, speed, PSNR/SSIM) and ESPCN's gain over bicubic,
  checked against the lesson's target (≥ 0.5 dB in the cpu profile, ≥ 1.0 dB in gpu);
* the pix2pix ablation (U-Net with/without skips × with/without the adversarial term:
  L1, PSNR and the judge's recognition rate on held-out damaged digits).

The settings are the lessons' own (``helpers.apps.sr_torch.SETTINGS``, ``helpers.apps.pix2pix_torch.SETTINGS``),
so the numbers are what the notebooks compute in that profile. Timings depend on the
machine and on what else runs on it: the load average is printed before and after, and each
training reports its wall-clock time and its CPU time (on a shared machine the wall clock also
counts everyone else's work).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from helpers import runtime
from helpers.apps import pix2pix_torch as pp
from helpers.apps import sr_torch as sr
from helpers.torch_utils import pick_device

TARGET_DB = {"smoke": 0.0, "cpu": 0.5, "gpu": 1.0}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def measure_mnist_sr(s: dict, dev) -> str:
    torch.manual_seed(0)
    lr_train, hr_train = sr.mnist_pairs(s["mnist_n"], 2, "train")
    lr_test, hr_test = sr.mnist_pairs(200, 2, "test")
    model = sr.ESPCN(2)
    sampler = sr.PatchSampler(sr.as_images(lr_train, hr_train, 2), scale=2, patch=14, seed=0)
    history = sr.train(model, sampler, s["mnist_steps"], batch_size=s["batch_size"], lr=s["lr"], device=dev)
    methods = {"bicubic": sr.Bicubic(2), "ESPCN ×2": model}
    rows = sr.evaluate(methods, sr.as_images(lr_test, hr_test, 2), 2, dev, repeats=1)
    return (f"MNIST ×2 (14→28), {history['steps']} steps in {history['seconds']:.0f} s "
            f"({history['cpu_seconds']:.0f} s CPU), mean over 200 test digits\n\n"
            + sr.format_table(rows, ("method", "parameters", "PSNR dB", "SSIM")))


def measure_sr(s: dict, dev, profile: str) -> str:
    scale = s["scale"]
    train = sr.make_pairs(sr.TRAIN_IMAGES, scale, s["max_side"])
    test = sr.make_pairs(sr.TEST_IMAGES, scale, s["max_side"])
    models, trained = {"bicubic": sr.Bicubic(scale)}, []
    runs = (("SRCNN 9-1-5", sr.SRCNN(), s["steps_srcnn"]), ("ESPCN", sr.ESPCN(scale), s["steps_espcn"]))
    for name, model, steps in runs:
        torch.manual_seed(0)
        sampler = sr.PatchSampler(train, scale, s["patch"], seed=0)
        history = sr.train(model, sampler, steps, batch_size=s["batch_size"], lr=s["lr"], device=dev,
                           time_limit=s["seconds"])
        trained.append(f"{name}: {history['steps']} steps in {history['seconds']:.0f} s "
                       f"({history['cpu_seconds']:.0f} s CPU) (final loss {np.mean(history['losses'][-50:]):.5f})")
        models[name] = model
    rows = sr.evaluate(models, test, scale, dev)
    gain = rows[2]["PSNR dB"] - rows[0]["PSNR dB"]
    per_image = ["| method | " + " | ".join(im.name for im in test) + " |", "|---|" + "---|" * len(test)]
    per_image += ["| " + row["method"] + " | " + " | ".join(f"{row['psnr:' + im.name]:.2f}" for im in test) + " |"
                  for row in rows]
    verdict = "meets" if gain >= TARGET_DB[profile] else "MISSES"
    return "\n".join([
        f"×{scale} on held-out pictures {', '.join(sr.TEST_IMAGES)} (trained on {', '.join(sr.TRAIN_IMAGES)})",
        *trained, "", sr.format_table(rows), "", "PSNR (dB) per test picture:", "", *per_image, "",
        f"ESPCN − bicubic: {gain:+.2f} dB ({verdict} the {profile} target of ≥ {TARGET_DB[profile]} dB)",
        f"Published, other data (Set5 ×3, Dong et al. 2016): bicubic {sr.PUBLISHED_SET5_X3['bicubic']} dB, "
        f"SRCNN 9-5-5 trained on ImageNet {sr.PUBLISHED_SET5_X3['SRCNN 9-5-5 (ImageNet)']} dB",
    ])


def measure_pix2pix(s: dict, dev, skips: str = "both") -> str:
    train_data = pp.make_task("train", s["n_train"], seed=0)
    test_data = pp.make_task("test", s["n_test"], seed=1)
    configs = [c for c in pp.ablation_configs(s) if skips == "both" or c.skips == (skips == "with")]
    rows, _ = pp.ablation(configs, train_data, test_data, device=dev)
    return (f"pix2pix on damaged MNIST digits: {s['steps']} steps of {s['batch_size']} "
            f"from {s['n_train']:,} training digits, scored on {s['n_test']:,} held-out test digits\n\n"
            + pp.format_table(rows))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", choices=runtime.PROFILES)
    parser.add_argument("--part", default="all", choices=("all", "sr", "pix2pix"))
    parser.add_argument("--skips", default="both", choices=("both", "with", "without"),
                        help="pix2pix: only the U-Nets with (or without) skips, "
                             "e.g. to run the halves in two processes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: PyTorch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(verbose=True)
    print(f"profile {args.profile} · {load()} · torch threads {torch.get_num_threads()}\n")
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.part in ("all", "sr"):
        s = sr.settings(args.profile)
        print(measure_mnist_sr(s, dev), "\n", flush=True)
        print(measure_sr(s, dev, args.profile), "\n", flush=True)
        print(load(), "\n", flush=True)
    if args.part in ("all", "pix2pix"):
        print(measure_pix2pix(pp.settings(args.profile), dev, args.skips), "\n", flush=True)
    print(f"total {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu_start:.0f} s CPU · {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
