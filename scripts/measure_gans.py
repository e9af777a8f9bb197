"""Run the reference DCGAN's command line for every framework × upsampling kind and tabulate the results.

    python scripts/measure_gans.py                      # cpu profile, both frameworks, all four kinds
    python scripts/measure_gans.py --frameworks torch --kinds convtranspose --write
    python scripts/measure_gans.py --table-only --write # rebuild the table from runs already made
    python scripts/measure_gans.py --profile gpu --frameworks torch --kinds convtranspose \
        --stages 1000,2000,5000,10000 --write            # one long run, judged along the way
    python scripts/measure_gans.py --frameworks torch --kinds convtranspose --seeds 0,1,2 --write
                                                        # one kind from three seeds, with their mean

Each run is a separate ``python -m helpers.gan`` process (so no process imports both frameworks),
timed from start to exit — the "whole CLI run" of the targets, judging included. Results go to
``runs/measure/<profile>/<framework>_<kind>/``; the table (one row per framework and kind, plus the
judge's real-data reference row, the targets met or missed, and the machine's load average before
and after each run) is printed and, with ``--write``, written to ``docs/gan_results.md``, replacing
that profile's table only.

``--set FIELD=VALUE`` (repeatable) passes a changed setting to every run, to try a recipe; its runs go to
``runs/measure/<profile>+FIELD=VALUE…/`` and its table under its own heading, beside the profile's own.

``--stages`` trains one run in stages — the first stage from scratch, each later one with ``--resume``
and ``--steps`` set to the next count — and judges it at the end of each, so a long recipe (the gpu
profile's, on a CPU) is scored along the way. A stage already recorded in ``stages.jsonl`` is not run
again: the same command, run again after an interruption, goes on from the last finished stage.

``--seeds`` trains each framework and kind once per seed (``runs/measure/<profile>-seeds/<framework>_<kind>_seed<S>/``)
and tabulates a row per seed and their mean, checked against the mean's own target where the profile has one
(:data:`MEAN_TARGETS`): a recipe must hold from every start, not from the one it was tuned on.

Timings are only meaningful on a quiet machine: the load average is recorded beside each run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from helpers import ROOT
from helpers.gan import CHECKPOINT_STEM, FRAMEWORKS, UPSAMPLE_KINDS
from helpers.gan.cli import setting_argument
from helpers.runtime import PROFILES

#: docs/design.md, "GAN targets": (wall seconds, inception-style score, coverage, FID ÷ real-vs-real) per profile.
TARGETS = {
    ("torch", "cpu"): (300, 9.0, 0.97, 10.0), ("keras", "cpu"): (480, 9.0, 0.97, 10.0),
    ("torch", "gpu"): (None, 9.3, None, 3.0), ("keras", "gpu"): (None, 9.3, None, 3.0),
    ("torch", "smoke"): (60, None, None, None), ("keras", "smoke"): (60, None, None, None),
}
#: docs/design.md, "GAN targets": the inception-style score the mean of the seeds must reach (``--seeds``).
MEAN_TARGETS = {("torch", "cpu"): 9.1}


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def run_one(framework: str, kind: str, profile: str, out: Path, seed: int, threads: int | None,
            extra: tuple[str, ...] = ()) -> dict:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "helpers.gan", "--framework", framework, "--profile", profile,
               "--upsample", kind, "--out", str(out), "--seed", str(seed), *extra]
    load_before = load_average()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (out / "cli.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "cli.log").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr[-20_000:])
    if result.returncode != 0:
        print(f"  {framework}/{kind} failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
        return {}
    record = {"cli_wall_s": wall, "load_before": load_before, "load_after": load_average(), "threads": threads,
              "measured_on": time.strftime("%Y-%m-%d", time.gmtime())}
    (out / "measure.json").write_text(json.dumps(record, indent=2))
    return record


def verdict(framework: str, profile: str, m: dict, wall: float | None) -> str:
    wall_max, is_min, cov_min, fid_max = TARGETS.get((framework, profile), (None,) * 4)
    missed = []
    if wall_max and wall is not None and wall > wall_max:
        missed.append(f"wall > {wall_max} s by {wall - wall_max:.0f} s (+{100 * (wall / wall_max - 1):.0f} %)")
    if is_min and m["inception_score"] < is_min:
        missed.append(f"IS < {is_min}")
    if cov_min and m["coverage"] < cov_min:
        missed.append(f"coverage < {cov_min}")
    if fid_max and m["fid_ratio"] > fid_max:
        missed.append(f"FID > {fid_max}× real")
    return "met" if not missed else "missed: " + ", ".join(missed)


def run_stages(framework: str, kind: str, profile: str, out: Path, seed: int, threads: int | None,
               stages: list[int], extra: tuple[str, ...] = ()) -> None:
    """Train to each count in ``stages`` in turn (resuming the checkpoint), appending each stage's scores
    and timing to ``out/stages.jsonl``; stages already there are skipped."""
    log = out / "stages.jsonl"
    done = {r["steps"] for r in read_stages(log)}
    for steps in stages:
        if steps in done:
            continue
        resume = ("--resume",) if any(out.glob(f"{CHECKPOINT_STEM}*")) else ()
        print(f"  stage {steps:,} steps (load {load_average()}) …", flush=True)
        record = run_one(framework, kind, profile, out, seed, threads, ("--steps", str(steps), *resume, *extra))
        if not record:
            raise SystemExit(f"{framework}/{kind}: the stage to {steps} steps failed; see {out / 'cli.log'}")
        metrics = json.loads((out / "metrics.json").read_text())
        if metrics["steps"] != steps:
            raise SystemExit(f"{framework}/{kind}: asked for {steps} steps, the run reports {metrics['steps']}")
        with log.open("a") as f:
            f.write(json.dumps({**metrics, **record}) + "\n")
        print(f"  {steps:,} steps: inception-style {metrics['inception_score']:.2f}, FID ÷ real "
              f"{metrics['fid_ratio']:.1f} ({record['cli_wall_s']:.0f} s)", flush=True)


def read_stages(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


def stage_table(profile: str, base: Path, frameworks, kinds) -> str:
    """One row per stage of each run made with ``--stages``."""
    lines = ["| framework | upsampling | steps | FID | FID ÷ real | inception-style | confident | coverage | "
             "train images/s | stage wall s | load avg before → after | device | targets |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for framework in frameworks:
        for kind in kinds:
            for r in read_stages(base / f"{framework}_{kind}" / "stages.jsonl"):
                lines.append(
                    f"| {framework} | `{kind}` | {r['steps']:,} | {r['fid']:.2f} | {r['fid_ratio']:.1f} | "
                    f"{r['inception_score']:.2f} | {r['confident']:.3f} | {r['coverage']:.3f} | "
                    f"{r['images_per_s']:,.0f} | {r['cli_wall_s']:.0f} | {r['load_before']} → {r['load_after']} | "
                    f"{r['device']} | {verdict(framework, profile, r, None)} |")
    return "\n".join(lines)


def write_section(path: Path, key: str, body: str) -> None:
    """Put ``body`` under the marker ``<!-- table:key -->`` in ``path``, replacing that section only."""
    text = path.read_text() if path.exists() else "# GAN results\n\n"
    head, *sections = text.split("<!-- table:")
    kept = {s.split(" -->", 1)[0]: s for s in sections}
    kept[key] = f"{key} -->\n{body}\n"
    path.write_text(head + "".join("<!-- table:" + kept[k] for k in kept))


def table(profile: str, base: Path, frameworks, kinds) -> str:
    rows, real = [], None
    for framework in frameworks:
        for kind in kinds:
            folder = base / f"{framework}_{kind}"
            if not (folder / "metrics.json").exists():
                rows.append(f"| {framework} | `{kind}` | not measured |" + " |" * 12)
                continue
            m = json.loads((folder / "metrics.json").read_text())
            extra = json.loads((folder / "measure.json").read_text()) if (folder / "measure.json").exists() else {}
            wall = extra.get("cli_wall_s")
            real = m["real"]
            rows.append(
                f"| {framework} | `{kind}` | {m['fid']:.2f} | {m['fid_ratio']:.1f} | {m['inception_score']:.2f} | "
                f"{m['confident']:.3f} | {m['coverage']:.3f} | {m.get('checkerboard', float('nan')):.3f} | "
                f"{m['steps']:,} | {m['images_per_s']:,.0f} | "
                f"{f'{wall:.0f}' if wall is not None else 'n/a'} | {extra.get('load_before', 'n/a')} → "
                f"{extra.get('load_after', 'n/a')} | {m['device']} | {verdict(framework, profile, m, wall)} | "
                f"{extra.get('measured_on', 'n/a')} |")
    lines = [TABLE_HEADER, *rows]
    if real is not None:
        lines.append(f"| real training digits ({real['n']:,}) | — | {real['fid']:.2f} | 1.0 | "
                     f"{real['inception_score']:.2f} | {real['confident']:.3f} | {real['coverage']:.3f} "
                     "| | | | | | | | |")
    return "\n".join(lines)


#: The results table's header (:func:`table`); ``measured`` is the day each row's run was made, so that a table
#: whose rows were measured at different times (:func:`merge_rows`) says so row by row.
TABLE_HEADER = ("| framework | upsampling | FID | FID ÷ real | inception-style | confident | coverage | checkerboard | "
                "steps | train images/s | CLI wall s | load avg (1/5/15 min) before → after | device | targets | "
                "measured |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def merge_rows(old_section: str, new_table: str) -> str:
    """``new_table`` (:func:`table` of some frameworks and kinds) with the rows of the other frameworks and kinds
    kept from the table in ``old_section`` (a results section as :func:`write_section` wrote it), so that
    remeasuring one framework does not drop the other's rows. Kept rows written before the ``measured`` column
    get the day of the old table's stamp ("Table written YYYY-MM-DD …")."""
    def key(line: str) -> tuple[str, str]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        return cells[0], cells[1]

    header_cells = TABLE_HEADER.splitlines()[0].count("|") - 1
    stamp = re.search(r"Table written (\d{4}-\d{2}-\d{2})", old_section)
    new_lines = new_table.splitlines()
    new_rows = {key(line): line for line in new_lines[2:] if not line.startswith("| real")}
    old_rows = [line for line in old_section.splitlines()[2:] if line.startswith("| ") and "|---" not in line]
    kept = {}
    for line in old_rows:
        if key(line)[0] in ("framework",) or line.startswith("| real") or key(line) in new_rows:
            continue
        if line.count("|") - 1 < header_cells:  # a row from before the measured column
            line += f" {stamp.group(1) if stamp else 'n/a'} |"
        kept[key(line)] = line
    rows = [new_rows.get(k) or kept[k] for k in sorted({**kept, **new_rows}, key=_row_order)]
    real = [line for line in new_lines if line.startswith("| real")] or \
           [line for line in old_section.splitlines() if line.startswith("| real")]
    return "\n".join([*new_lines[:2], *rows, *real])


def _row_order(key: tuple[str, str]) -> tuple[int, int]:
    framework, kind = key
    kinds = [f"`{k}`" for k in UPSAMPLE_KINDS]
    return (FRAMEWORKS.index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS),
            kinds.index(kind) if kind in kinds else len(kinds))


def read_section(path: Path, key: str) -> str:
    """The text under ``<!-- table:key -->`` in ``path`` ("" when there is none)."""
    if not path.exists():
        return ""
    for section in path.read_text().split("<!-- table:")[1:]:
        name, _, body = section.partition(" -->")
        if name == key:
            return body
    return ""


def seed_table(profile: str, base: Path, frameworks, kinds, seeds: list[int]) -> str:
    """A row per seed of each framework and kind (``--seeds``), then the seeds' mean and its verdict."""
    lines = ["| framework | upsampling | seed | FID | FID ÷ real | inception-style | confident | coverage | steps | "
             "train images/s | CLI wall s | load avg before → after | targets |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for framework in frameworks:
        for kind in kinds:
            measured = []
            for seed in seeds:
                folder = base / f"{framework}_{kind}_seed{seed}"
                if not (folder / "metrics.json").exists():
                    lines.append(f"| {framework} | `{kind}` | {seed} | not measured |" + " |" * 9)
                    continue
                m = json.loads((folder / "metrics.json").read_text())
                timing = json.loads((folder / "measure.json").read_text())
                measured.append((m, timing["cli_wall_s"]))
                lines.append(
                    f"| {framework} | `{kind}` | {seed} | {m['fid']:.2f} | {m['fid_ratio']:.1f} | "
                    f"{m['inception_score']:.2f} | {m['confident']:.3f} | {m['coverage']:.3f} | {m['steps']:,} | "
                    f"{m['images_per_s']:,.0f} | {timing['cli_wall_s']:.0f} | {timing['load_before']} → "
                    f"{timing['load_after']} | {verdict(framework, profile, m, timing['cli_wall_s'])} |")
            if len(measured) == len(seeds):
                lines.append(mean_row(framework, kind, profile, measured))
    return "\n".join(lines)


def mean_row(framework: str, kind: str, profile: str, measured: list[tuple[dict, float]]) -> str:
    """The seeds' mean (the worst wall time), judged by the profile's targets and the mean's own."""
    def mean(key: str) -> float:
        return sum(m[key] for m, _ in measured) / len(measured)

    means = {key: mean(key) for key in ("fid", "fid_ratio", "inception_score", "confident", "coverage",
                                        "images_per_s")}
    wall = max(w for _, w in measured)
    result = verdict(framework, profile, means, wall)
    target = MEAN_TARGETS.get((framework, profile))
    if target is not None and means["inception_score"] < target:
        result = ("missed: " if result == "met" else result + ", ") + f"mean IS < {target}"
    return (f"| {framework} | `{kind}` | **mean of {len(measured)}** | {means['fid']:.2f} | {means['fid_ratio']:.1f} | "
            f"**{means['inception_score']:.2f}** | {means['confident']:.3f} | {means['coverage']:.3f} | | "
            f"{means['images_per_s']:,.0f} | {wall:.0f} (slowest) | | {result} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", choices=PROFILES)
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--kinds", nargs="+", default=list(UPSAMPLE_KINDS), choices=UPSAMPLE_KINDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for each run (default: all cores)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "measure")
    parser.add_argument("--stages", type=lambda text: sorted(int(s) for s in text.split(",")), default=None,
                        help="train one run in stages, judged at each of these step counts (comma-separated)")
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",")], default=None,
                        help="train each framework and kind from each of these seeds (comma-separated)")
    parser.add_argument("--set", dest="settings", metavar="FIELD=VALUE", action="append", default=[],
                        type=setting_argument,
                        help="a changed setting for every run (repeatable), e.g. --set g_hidden=512")
    parser.add_argument("--table-only", action="store_true", help="do not train; tabulate the runs already there")
    parser.add_argument("--write", action="store_true", help="write the table into --doc")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "gan_results.md",
                        help="the Markdown file --write puts the table in (default: docs/gan_results.md)")
    args = parser.parse_args(argv)
    staged, seeded = args.stages is not None, args.seeds is not None
    if staged and seeded:
        parser.error("--stages and --seeds do not go together: measure a seed's stages one seed at a time")
    changed = "".join(f"+{k}={v}" for k, v in args.settings)
    key = f"{args.profile}{'-stages' if staged else ''}{'-seeds' if seeded else ''}{changed}"
    base = args.runs / key
    extra = tuple(a for k, v in args.settings for a in ("--set", f"{k}={v}"))
    if not args.table_only:
        for framework in args.frameworks:
            for kind, seed in ((kind, seed) for kind in args.kinds for seed in (args.seeds or [args.seed])):
                out = base / (f"{framework}_{kind}_seed{seed}" if seeded else f"{framework}_{kind}")
                print(f"{framework}/{kind} seed {seed}: training ({args.profile} profile, load {load_average()}) …",
                      flush=True)
                if staged:
                    run_stages(framework, kind, args.profile, out, seed, args.threads, args.stages, extra)
                    continue
                # a remeasurement replaces the run measured before (the CLI refuses that unless told)
                record = run_one(framework, kind, args.profile, out, seed, args.threads, ("--overwrite", *extra))
                if record:
                    print(f"  done in {record['cli_wall_s']:.0f} s", flush=True)
    if seeded:
        text = seed_table(args.profile, base, args.frameworks, args.kinds, args.seeds)
    else:
        text = (stage_table if staged else table)(args.profile, base, args.frameworks, args.kinds)
    print(text)
    if args.write:
        title = (f"the {args.profile} profile's run, judged in stages" if staged
                 else f"{args.profile} profile, seeds {', '.join(map(str, args.seeds))}" if seeded
                 else f"{args.profile} profile")
        title += f", with {', '.join(f'{k}={v}' for k, v in args.settings)}" if args.settings else ""
        seeds = f"seeds {', '.join(map(str, args.seeds))}" if seeded else f"seed {args.seed}"
        subset = [*(["--frameworks", *args.frameworks] if set(args.frameworks) != set(FRAMEWORKS) else []),
                  *(["--kinds", *args.kinds] if set(args.kinds) != set(UPSAMPLE_KINDS) else [])]
        command = " ".join(["python scripts/measure_gans.py --profile", args.profile, *subset,
                            *(["--stages", ",".join(map(str, args.stages))] if staged else []),
                            *(["--seeds", ",".join(map(str, args.seeds))] if seeded else []),
                            *(f"--set {k}={v}" for k, v in args.settings)])
        stamp = (f"## Results, {title}\n\nTable written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
                 f"{platform.node()} ({os.cpu_count()} CPUs) by `{command}` from the runs "
                 f"in `runs/measure/{key}/` ({seeds}; the load average of each run is in its row).\n\n")
        if subset and not (staged or seeded):
            # the rows not measured now stay as they were, each with the day it was measured
            text = merge_rows(read_section(args.doc, key), text)
            stamp += "The other rows are kept from the table before; the `measured` column has each row's day.\n\n"
        write_section(args.doc, key, stamp + text)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
