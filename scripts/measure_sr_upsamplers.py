"""Which upsampler? The study of ``docs/results_sr_upsamplers.md``: ×2 colour super-resolution, upsampler swapped.

    python scripts/measure_sr_upsamplers.py --steps 3000 --seeds 0 1 2 --jobs 2 --out runs/sr_upsamplers

Trains :class:`helpers.apps.sr_upsamplers.UpsamplerSR` of every kind at every seed (one process per seed,
``--jobs`` at a time, one torch thread each), measures PSNR and the phase spread on lesson 09's held-out
pictures at the checkpoints, and writes into ``--out``: ``rows.json`` (every measurement), ``summary.md``
(the tables of the docs page), ``curves.png`` and ``crops.png`` (seed 0's models on the flattest mid-grey
crop of each held-out picture). Lesson 09 runs the same study, shorter (``sr_upsamplers.SETTINGS``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

from helpers.apps import sr_figures  # noqa: E402
from helpers.apps import sr_torch as sr  # noqa: E402
from helpers.apps import sr_upsamplers as su  # noqa: E402


def checkpoints(steps: int) -> list[int]:
    return sorted({0, *(c for c in (50, 100, 150, 300, 600, 1000, 2000, 3000, 6000, 10_000) if c < steps), steps})


def one_seed(seed: int, steps: int, out: Path) -> list[dict]:
    torch.set_num_threads(1)
    train, test = (sr.make_pairs(names, 2, colour=True) for names in (sr.TRAIN_IMAGES, sr.TEST_IMAGES))
    rows, models = su.study(train, test, steps=steps, seeds=[seed], checkpoints=checkpoints(steps), patch=24,
                            batch_size=16, lr=1e-3)
    for (kind, _), model in models.items():
        torch.save(model.state_dict(), out / f"{kind}_seed{seed}.pt")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/sr_upsamplers"))
    parser.add_argument("--figures-only", action="store_true",
                        help="draw the figures again from --out's rows.json and models, without training")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.figures_only:
        figures(json.loads((args.out / "rows.json").read_text()), args)
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [r for part in pool.map(one_seed, args.seeds, [args.steps] * len(args.seeds),
                                       [args.out] * len(args.seeds)) for r in part]
    wall = time.perf_counter() - started
    (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    test = sr.make_pairs(sr.TEST_IMAGES, 2, colour=True)
    bicubic = su.baseline(test)
    steps = checkpoints(args.steps)
    parts = [su.summary_table(rows, step, bicubic) for step in steps if step in (0, 300, args.steps)]
    seconds = {kind: sum(r["seconds"] for r in rows if r["kind"] == kind and r["step"] == args.steps) / len(args.seeds)
               for kind in su.KINDS}
    parts.append("training seconds per run (mean over seeds): "
                 + ", ".join(f"{kind} {s:.0f}" for kind, s in seconds.items()))
    parts.append(f"wall {wall:.0f} s for {len(args.seeds)} seeds, {args.jobs} jobs; "
                 f"load average after: {os.getloadavg()}")
    (args.out / "summary.md").write_text("\n\n".join(parts) + "\n")
    print("\n\n".join(parts))
    figures(rows, args)


def figures(rows: list[dict], args: argparse.Namespace) -> None:
    test = sr.make_pairs(sr.TEST_IMAGES, 2, colour=True)
    bicubic = su.baseline(test)

    sr_figures.study(rows, bicubic, su.KINDS).savefig(args.out / "curves.png", dpi=120)
    models = {}
    for kind in su.KINDS:
        model = su.UpsamplerSR(kind)
        model.load_state_dict(torch.load(args.out / f"{kind}_seed{args.seeds[0]}.pt"))
        models[su.KINDS[kind]] = model.eval()
    for im in test:
        truth = sr.truth(im)
        estimates = {name: sr.predict(m, im) for name, m in models.items()}
        crops = sr_figures.crops_with_errors(estimates, truth, sr_figures.window(truth, 32, flat=True), stretch=True)
        crops.suptitle(f"{im.name}: seed {args.seeds[0]}, after {args.steps} steps, flattest mid-grey 32×32 crop")
        crops.savefig(args.out / f"crops_{Path(im.name).stem}.png", dpi=100)


if __name__ == "__main__":
    main()
