"""The course on a card in one call: every lesson PyTorch runs, executed in the gpu profile, and the DCGAN command.

    bash scripts/gpu_check.sh [--out DIR]          # on a CUDA machine (docs/gpu.md): the gpu profile
    bash scripts/gpu_check.sh --dry-run --out DIR  # anywhere: the smoke profile, so that the script cannot rot

Prints the card, its driver and the library versions; executes lessons 00 (the environment check), 06, 08, 09 and
10 from ``solutions/`` with nbclient, each in a fresh learner's kernel (:func:`instructor_tools.book.execute.run`:
the profile through ``COURSE_PROFILE``, an empty ``COURSE_RUNS``, so that nothing resumes an old run); runs
``python -m helpers.gan --framework torch --profile gpu`` once; times the training loop's step as it was and as it
is now, side by side (``scripts/bench_gan_torch.py --side-by-side``); times each, and writes a Markdown table (lesson or
command, wall time, the lesson's own scores, the card) to ``--doc`` and to ``--out``, with every executed notebook
and the command's metrics.json in ``--out``. A lesson that fails is named in the table with its cell, the others
still run, and the script exits 1.

A lesson's scores are read from its own variables once its last cell has run (:data:`SCORE_PROBES`: one more
cell, run in the lesson's kernel and left out of the notebook written): a probe that no longer finds its variable
reports ``probe failed`` in the table, and the test suite's dry run (``tests/gan/test_gpu_check.py``) fails on it.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat

from helpers import ROOT

#: The lessons PyTorch runs (00: the environment check every learner starts with).
LESSONS = ("00", "06", "08", "09", "10")
#: The marker the probe cell prints its JSON after.
SCORES_MARK = "GPU_CHECK_SCORES "
#: Per lesson, an expression over the lesson's own variables: ``{score name: value}`` once its last cell has run.
SCORE_PROBES = {
    "00": '{"environment checks passed": f"{len(rows) - len(problems)} of {len(rows)}", '
          '**({"not passed": ", ".join(problems)} if problems else {})}',
    "08": '{"inception-style": verdict["inception_score"], "FID ÷ real": verdict["fid"] / real_judged["fid"], '
          '"coverage": verdict["coverage"], "training images/s": info["images_per_s"]}',
    "09": '{"ESPCN − bicubic dB": gain["ESPCN"], "SRCNN − bicubic dB": gain["SRCNN 9-1-5"], '
          '"ESPCN target dB": target, "target met": None if target is None else bool(gain["ESPCN"] >= target)}',
    "10": '{"full model PSNR dB": by_name["U-Net with skips, L1 + adversarial"]["PSNR dB"], '
          '"full model judge accuracy": by_name["U-Net with skips, L1 + adversarial"]["judge accuracy"]}',
}
#: The scores of the DCGAN command, from its metrics.json.
GAN_SCORES = {"inception-style": "inception_score", "FID ÷ real": "fid_ratio", "coverage": "coverage",
              "training images/s": "images_per_s", "training s": "train_s"}
#: Packages whose versions the report names.
VERSIONS = ("torch", "numpy", "matplotlib", "scipy", "scikit-image", "nbclient", "ipykernel", "torchinfo")


@dataclass
class Row:
    """One line of the table: a lesson or the command, its wall time, its scores, or what failed."""

    name: str
    seconds: float
    scores: dict = field(default_factory=dict)
    error: str | None = None


def probe_cell(lesson: str) -> nbformat.NotebookNode:
    """The cell that prints ``lesson``'s scores as JSON (``{"probe failed": why}`` if an expression fails)."""
    expression = SCORE_PROBES.get(lesson, "{}")
    return nbformat.v4.new_code_cell(
        "import json as _gpu_check_json\n"
        "try:\n"
        f"    _gpu_check_scores = {expression}\n"
        "except Exception as _gpu_check_error:\n"
        '    _gpu_check_scores = {"probe failed": f"{type(_gpu_check_error).__name__}: {_gpu_check_error}"}\n'
        f"print({SCORES_MARK!r} + _gpu_check_json.dumps(_gpu_check_scores, default=float))\n")


def read_scores(cell) -> dict:
    """The scores the probe cell printed."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    lines = [line for line in text.splitlines() if line.startswith(SCORES_MARK)]
    if not lines:
        return {"probe failed": "it printed no scores"}
    return json.loads(lines[-1][len(SCORES_MARK):])


def lesson_path(lesson: str, root: Path = ROOT) -> Path:
    (path,) = sorted((root / "solutions").glob(f"{lesson}_*.ipynb"))
    return path


def run_lesson(lesson: str, profile: str, out: Path, cell_timeout: int, root: Path = ROOT) -> Row:
    """Execute ``lesson``'s solution in ``profile`` with its probe; write the executed notebook (probe left out)."""
    from instructor_tools.book import execute

    path = lesson_path(lesson, root)
    nb = nbformat.read(path, as_version=4)
    probed = copy.deepcopy(nb)
    probed.cells.append(probe_cell(lesson))
    started = time.perf_counter()
    try:
        executed = execute.run(probed, path, profile, cell_timeout)
    except execute.LessonError as error:  # names the lesson and its cell
        return Row(path.stem, time.perf_counter() - started, error=str(error))
    seconds = time.perf_counter() - started
    scores = read_scores(executed.cells.pop())
    nbformat.write(executed, out / path.name)
    return Row(path.stem, seconds, scores)


def run_gan(profile: str, out: Path, timeout: int) -> Row:
    """``python -m helpers.gan --framework torch --profile <profile>`` once, in a scratch folder; its metrics.json
    goes to ``out`` (the checkpoint and samples stay behind: a device call brings back few files)."""
    name = f"python -m helpers.gan --framework torch --profile {profile}"
    with tempfile.TemporaryDirectory(prefix="gpu-check-gan-") as scratch:
        command = [sys.executable, "-m", "helpers.gan", "--framework", "torch", "--profile", profile,
                   "--out", scratch, "--overwrite"]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=ROOT, timeout=timeout, text=True, capture_output=True)
        except subprocess.TimeoutExpired:
            return Row(name, time.perf_counter() - started, error=f"ran longer than {timeout} s")
        seconds = time.perf_counter() - started
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", flush=True)
        if done.returncode:
            return Row(name, seconds, error=f"exit status {done.returncode}: {done.stderr.strip()[-500:]}")
        metrics = json.loads((Path(scratch) / "metrics.json").read_text())
        shutil.copy(Path(scratch) / "metrics.json", out / "gan_metrics.json")
    return Row(name, seconds, {label: metrics[key] for label, key in GAN_SCORES.items()})


def run_bench(profile: str, steps: int, batch_sizes: list[int], timeout: int) -> tuple[Row, str]:
    """The side-by-side bench (today's step vs the fast one) as its own process: its row, and its table."""
    command = [sys.executable, "scripts/bench_gan_torch.py", "--side-by-side", "--profile", profile,
               "--steps", str(steps), "--batch-sizes", *map(str, batch_sizes)]
    name = " ".join(["python", *command[1:]])
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=timeout, text=True, capture_output=True)
    except subprocess.TimeoutExpired:
        return Row(name, time.perf_counter() - started, error=f"ran longer than {timeout} s"), ""
    seconds = time.perf_counter() - started
    if done.returncode:
        return Row(name, seconds, error=f"exit status {done.returncode}: {done.stderr.strip()[-500:]}"), ""
    return Row(name, seconds, {"table": "below"}), done.stdout


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    """The card, its driver, and the versions of Python, CUDA, cuDNN and the packages the lessons use."""
    import torch

    info = {"python": platform.python_version(), **{name: _version(name) for name in VERSIONS}}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(card=f"{props.name} ({props.total_memory / 2**30:.0f} GiB, compute capability "
                         f"{props.major}.{props.minor}, {props.multi_processor_count} SMs)",
                    cuda=str(torch.version.cuda), cudnn=str(torch.backends.cudnn.version()))
        if shutil.which("nvidia-smi"):
            smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True)
            info["driver"] = smi.stdout.strip() or smi.stderr.strip()
    else:
        info["card"] = f"none: CPU ({os.cpu_count()} cores)"
    return info


def _cell(value: object) -> str:
    if value is None:  # a score the profile has no target for
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def table(rows: list[Row], env: dict[str, str], profile: str, bench: str = "") -> str:
    """The Markdown report: what ran where, then one row per lesson or command."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = " · ".join(f"{k} {v}" for k, v in env.items() if k not in ("card",))
    lines = [f"# The course on a card: `bash scripts/gpu_check.sh` ({profile} profile)", "",
             f"**{env['card']}** · {when} · load {' '.join(f'{v:.1f}' for v in os.getloadavg())}", "",
             versions, "",
             "| lesson or command | wall s | scores | card |", "|---|---|---|---|"]
    for row in rows:
        scores = (f"**FAILED**: {row.error.splitlines()[0]}" if row.error
                  else " · ".join(f"{k} {_cell(v)}" for k, v in row.scores.items()) or "—")
        lines.append(f"| {row.name} | {row.seconds:.1f} | {scores.replace('|', '/')} | {env['card'].split(' (')[0]} |")
    total = sum(row.seconds for row in rows)
    lines += ["", f"Total: {total:.0f} s."]
    if bench:
        lines += ["", "## The training loop's step: today's vs the fast one (`bench_gan_torch.py --side-by-side`)",
                  "", bench.strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="the smoke profile, on whatever device there is (the test suite runs this)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "runs" / "gpu_check"),
                        help="folder for the executed notebooks, the table and the command's metrics.json "
                             "(default: $OUT, else runs/gpu_check)")
    parser.add_argument("--doc", type=Path, default=None,
                        help="where the table goes as well (default: docs/gpu_check.md; none in a dry run)")
    parser.add_argument("--lessons", nargs="*", default=list(LESSONS), choices=LESSONS)
    parser.add_argument("--no-gan", action="store_true", help="skip the DCGAN command")
    parser.add_argument("--no-bench", action="store_true", help="skip the side-by-side bench")
    parser.add_argument("--bench-steps", type=int, default=None,
                        help="timed steps of each bench row (default: 500; 3 in a dry run)")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=None,
                        help="more batch sizes for the fast step in the bench (default: 512 2048; 64 in a dry run)")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="start nothing more after this many seconds (the device's 600 s call): what is left "
                             "is named in the table as not run")
    parser.add_argument("--cell-timeout", type=int, default=420, help="seconds a cell may run (default: 420)")
    args = parser.parse_args(argv)
    import torch

    profile = "smoke" if args.dry_run else "gpu"
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; --dry-run checks the script on a CPU", file=sys.stderr)
        return 2
    doc = args.doc or (None if args.dry_run else ROOT / "docs" / "gpu_check.md")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    for key, value in env.items():
        print(f"{key}: {value}", flush=True)
    started = time.perf_counter()
    rows, bench = [], ""
    steps = args.bench_steps or (3 if args.dry_run else 500)
    work = [(f"lesson {lesson}", lambda lesson=lesson: run_lesson(lesson, profile, out, args.cell_timeout))
            for lesson in args.lessons]
    if not args.no_bench:
        sizes = args.batch_sizes if args.batch_sizes is not None else ([64] if args.dry_run else [512, 2048])
        work.append(("bench", lambda: run_bench(profile, steps, sizes, args.cell_timeout)))
    if not args.no_gan:
        work.append(("python -m helpers.gan", lambda: run_gan(profile, out, timeout=args.cell_timeout)))
    for name, job in work:
        if args.deadline_s is not None and time.perf_counter() - started > args.deadline_s:
            rows.append(Row(name, 0.0, error=f"not run: past --deadline-s {args.deadline_s:.0f}"))
            continue
        print(f"== {name} ({profile})", flush=True)
        result = job()
        row, bench = (result if isinstance(result, tuple) else (result, bench))
        rows.append(row)
        print(f"   {row.seconds:.1f} s · {row.error or row.scores}", flush=True)
    report = table(rows, env, profile, bench)
    (out / "gpu_check.md").write_text(report)
    if doc is not None:
        doc.write_text(report)
    print(report, flush=True)
    failed = [row.name for row in rows if row.error]
    if failed:
        print(f"gpu_check: FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
