"""Regenerate ``data/healthy_run/``: each lesson's Run All time, and the picture each long cell ends with in the cpu
profile and its time.

    python scripts/make_healthy_run.py                      # every lesson, smoke and cpu
    python scripts/make_healthy_run.py --lessons 09 10 --profiles cpu
    python scripts/make_healthy_run.py --from-book _build/book      # from the book's runs (docs/book.md)

Each lesson runs top to bottom in a fresh kernel per profile (nbclient, as the tests do); its whole time,
kernel start included, goes into ``times.json`` under ``_lessons`` (``{"04": {"smoke": s, "cpu": s}}``), which
``python -m instructor_tools.study_time --write`` stamps into the lesson's header. A long cell is tagged in
``solutions/`` with the metadata ``course: {healthy_run: NAME}``. For every tagged cell the script records
how long it took; from the cpu run it also keeps the last picture drawn by that cell or by the code cells
right after it (up to the next Markdown cell), shrunk to at most 900 pixels wide, as ``NAME.png`` (the
metadata ``picture: -2`` takes the one before the last, and so on), and that picture's description, the alt text
its figure carried (``helpers.plotting.describe``), in ``descriptions.json``; cells that draw nothing but print a
table keep that table, as ``NAME.md``.
With ``--from-book`` nothing runs: the notebooks come from the book's cache
(``python -m instructor_tools.book --profile smoke`` and ``--profile cpu`` first), which records the same
cell timings, so one cpu run serves both (but no whole-lesson time: the book's run is not timed with its
kernel). Run it on a quiet machine: the times are shown to learners (``_run.load``
in ``times.json`` keeps the load average around each run; not with ``--from-book``).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import os
import time
from pathlib import Path

import nbformat
from PIL import Image

from helpers import ROOT, healthy_run, plotting
from helpers.runtime import PROFILES
from instructor_tools.book import execute
from instructor_tools.lesson import HEALTHY_RUN, PICTURE, course_metadata, lessons
from instructor_tools.study_time import LESSON_TIMES

MAX_WIDTH = 900
#: What runs without being asked for: the course's reference machine has no GPU (``--profiles gpu`` on one that does).
DEFAULT_PROFILES = [p for p in PROFILES if p != "gpu"]


def tag(cell) -> str | None:
    return course_metadata(cell).get(HEALTHY_RUN)


def tagged_lessons(root: Path = ROOT) -> list[Path]:
    return [p for p in lessons(root) if any(tag(c) for c in nbformat.read(p, as_version=4).cells)]


def cell_seconds(cell) -> float:
    """Wall time of an executed cell, from the timestamps nbclient records."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        raise ValueError(f"cell {cell.get('id')} has no execution timing")
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def alt_text(output) -> str | None:
    """The description an ``image/png`` output carries (the alt text of a figure given one), or None."""
    return output.get("metadata", {}).get("image/png", {}).get(plotting.ALT) or None


def results(nb) -> dict[str, tuple[float, bytes | None, str | None, str | None]]:
    """``{name: (seconds, the chosen PNG, the last table, the chosen PNG's description)}`` of the cell and the code
    cells after it."""
    out = {}
    for i, cell in enumerate(nb.cells):
        name = tag(cell)
        if not name:
            continue
        pictures, table = [], None
        for following in nb.cells[i:]:
            if following.cell_type != "code":
                break
            for output in following.get("outputs", []):
                data = output.get("data", {})
                if "image/png" in data:
                    pictures.append((base64.b64decode(data["image/png"]), alt_text(output)))
                elif "text/markdown" in data:
                    table = data["text/markdown"]
        index = course_metadata(cell).get(PICTURE, -1)
        if pictures and not -len(pictures) <= index < len(pictures):
            raise ValueError(f"the cells of {name!r} drew {len(pictures)} picture(s), but its metadata asks for "
                             f"picture {index}: was the run cut short (a resumed training draws no epoch grids)?")
        picture, alt = pictures[index] if pictures else (None, None)
        out[name] = (cell_seconds(cell), picture, table, alt)
    return out


def shrink(png: bytes) -> bytes:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def record_description(descriptions: dict, name: str, alt: str | None) -> None:
    """Store ``alt`` as picture ``name``'s description (None: ``name`` has no picture any more, and no
    description); either way it is computed now, so no longer one written by hand."""
    if alt is None:
        descriptions.pop(name, None)
    else:
        descriptions[name] = alt
    by_hand = descriptions.get(healthy_run.BY_HAND)
    if by_hand and name in by_hand.get("names", []):
        by_hand["names"].remove(name)
        if not by_hand["names"]:
            del descriptions[healthy_run.BY_HAND]


def run(path: Path, profile: str, timeout: int) -> nbformat.NotebookNode:
    """The lesson run as the book runs it: a learner's kernel in ``profile`` with an empty ``COURSE_RUNS``, so
    that a training cell never resumes a run left in ``runs/`` (its time would then be that of loading it)."""
    return execute.run(nbformat.read(path, as_version=4), path, profile, timeout)


def from_book(path: Path, profile: str, book: Path) -> nbformat.NotebookNode:
    """The book's executed copy of lesson ``path`` in ``profile``, made from exactly today's sources."""
    nb = nbformat.read(path, as_version=4)
    stored = book / "cache" / profile / f"{path.stem}.{execute.cache_key(nb, profile, execute.inputs_digest())}.ipynb"
    if not stored.is_file():
        raise SystemExit(f"{stored} is missing: build the book first "
                         f"(python -m instructor_tools.book --profile {profile} --out {book})")
    return nbformat.read(stored, as_version=4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", help="lesson numbers (default: every lesson)")
    parser.add_argument("--profiles", nargs="*", default=DEFAULT_PROFILES, choices=PROFILES)
    parser.add_argument("--out", type=Path, default=healthy_run.HEALTHY_RUN_DIR)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--from-book", type=Path, help="take the executed lessons from this book folder's cache")
    args = parser.parse_args(argv)
    wanted = [p for p in lessons() if not args.lessons or p.name[:2] in args.lessons]
    args.out.mkdir(parents=True, exist_ok=True)
    times = healthy_run.load_times(args.out)
    descriptions = healthy_run.load_descriptions(args.out)
    for path in wanted:
        for profile in args.profiles:
            load, started = os.getloadavg()[0], time.perf_counter()
            nb = from_book(path, profile, args.from_book) if args.from_book else run(path, profile, args.timeout)
            seconds = time.perf_counter() - started  # Run All, kernel start included: what the header states
            found = results(nb)
            print(f"{path.name} {profile}: {seconds:.0f} s, load {load:.1f} → "
                  f"{os.getloadavg()[0]:.1f}; " + ", ".join(f"{k} {v[0]:.0f} s" for k, v in found.items()), flush=True)
            if not args.from_book:
                times.setdefault(LESSON_TIMES, {}).setdefault(path.name[:2], {})[profile] = round(seconds, 1)
            for name, (seconds, png, table, alt) in found.items():
                times.setdefault(name, {})[profile] = round(seconds, 1)
                if profile == "cpu":
                    if png is not None:
                        if not alt:  # shown without one, the picture's alt text would say nothing of it
                            raise SystemExit(f"{path.name}: the picture of {name!r} has no description: give its "
                                             "figure one (plotting.describe) and run the lesson again")
                        (args.out / f"{name}.png").write_bytes(shrink(png))
                        (args.out / f"{name}.md").unlink(missing_ok=True)  # an earlier run's table
                        record_description(descriptions, name, alt)
                    elif table is not None:
                        (args.out / f"{name}.md").write_text(table.strip() + "\n", encoding="utf-8")
                        # healthy_run.show would show an earlier run's picture before the table
                        (args.out / f"{name}.png").unlink(missing_ok=True)
                        record_description(descriptions, name, None)
                    else:
                        raise SystemExit(f"{path.name}: the cells of {name!r} drew no picture and printed no table")
            record = times.setdefault("_run", {})
            record.update(date=dt.date.today().isoformat(), cores=os.cpu_count())
            if not args.from_book:  # the book's run was earlier: its load is in the book's own log
                loads = [round(load, 1), round(os.getloadavg()[0], 1)]
                record.setdefault("load", {})[f"{path.name[:2]} {profile}"] = loads
            text = json.dumps(times, indent=1, sort_keys=True) + "\n"
            (args.out / healthy_run.TIMES).write_text(text, encoding="utf-8")
            text = json.dumps(descriptions, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            (args.out / healthy_run.DESCRIPTIONS).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
