"""What a healthy run looks like: the picture a lesson's long cell ends with in the course's own
cpu-profile run, and how long that cell took, shown before the learner runs it.

The pictures, their descriptions (alt text) and the times live in ``data/healthy_run/`` and are regenerated
by ``python scripts/make_healthy_run.py`` from the solutions, run top to bottom in each profile.

Used in lessons 07, 08, 09 and 10.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from . import DATA_DIR, runtime
from .plotting import describe as describe_figure

HEALTHY_RUN_DIR = DATA_DIR / "healthy_run"
TIMES = "times.json"
#: ``{NAME: sentence}``: each picture's description, the alt text its figure had in the reference run.
DESCRIPTIONS = "descriptions.json"
#: The key of ``descriptions.json`` listing the descriptions written by hand (``{"note": …, "names": [...]}``):
#: pictures kept before figures had descriptions; the script replaces each one it records.
BY_HAND = "_by_hand"


def load_times(folder: Path = HEALTHY_RUN_DIR) -> dict:
    """``{name: {"smoke": s, "cpu": s, ...}, "_lessons": {"04": {"smoke": s, ...}}, "_run": {...}}`` as the script
    wrote it (each tagged cell's time, each lesson's whole Run All, the loads); {} if there is none yet."""
    path = folder / TIMES
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_descriptions(folder: Path = HEALTHY_RUN_DIR) -> dict:
    """``{name: sentence, "_by_hand": {...}}`` as stored; {} if there is none yet."""
    path = folder / DESCRIPTIONS
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def description(name: str, folder: Path = HEALTHY_RUN_DIR) -> str | None:
    """The stored description of picture ``name``, or None (none stored, or a blank one)."""
    text = load_descriptions(folder).get(name)
    if not isinstance(text, str):  # absent, or the "_by_hand" record
        return None
    return " ".join(text.split()) or None


def undescribed(folder: Path = HEALTHY_RUN_DIR) -> list[str]:
    """The pictures in ``folder`` without a stored description (their alt text would be a generic one)."""
    return sorted(p.stem for p in folder.glob("*.png") if not description(p.stem, folder))


class Note:
    """A line of Markdown: Jupyter and the book render it, anything that reads plain text gets it without backticks."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:  # text/plain, and print() outside IPython
        return self.markdown.replace("`", "")


def _seconds(value: float) -> str:
    if value < 1:  # the smoke profile's shortest cells: "0 s" would read as "not measured"
        return "under 1 s"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def describe(name: str, folder: Path = HEALTHY_RUN_DIR) -> str:
    """One line of Markdown: how long the cell took in each profile in the course's run, and where this run stands."""
    times = load_times(folder).get(name)
    if not times:
        return f"{name}: no reference run recorded yet (`python scripts/make_healthy_run.py`)"
    measured = " · ".join(f"`{p}` {_seconds(times[p])}" for p in runtime.PROFILES if p in times)
    missing = [p for p in runtime.PROFILES if p not in times]
    return (f"The next cell took {measured} in the course's reference run on a 2-core CPU machine"
            + (f" ({', '.join(f'`{p}`' for p in missing)}: not measured)" if missing else "")
            + f". This run's profile: `{runtime.profile()}`.")


def show(name: str, folder: Path = HEALTHY_RUN_DIR, size: float = 9.0, shows: str = "") -> None:
    """Display :func:`describe` and the picture the cpu-profile reference run ended with (or its table).

    The figure's description, its alt text, says it is the reference run's picture, then what it shows: ``shows``
    where given (e.g. "a grid of 64 generated digits after 4,000 steps"), else the description the picture's own
    figure had in that run (``descriptions.json``), else a generic phrase.

    Everything is displayed here, once, and the figure closed: the cells that call this end with the call, so a
    figure returned would be displayed again as the cell's value, and one left open again by matplotlib's inline
    backend when the cell ends.
    """
    from IPython.display import display

    display(Note(describe(name, folder)))
    path = folder / f"{name}.png"
    table = folder / f"{name}.md"
    if not path.is_file() and table.is_file():
        display(Note(f"What a healthy run ends with (the course's reference run, `cpu` profile):\n\n"
                     f"{table.read_text(encoding='utf-8')}"))
        return
    if not path.is_file():
        display(Note(f"(no picture: `{path.name}` is missing; `python scripts/make_healthy_run.py` makes it)"))
        return
    image = plt.imread(path)
    height, width = image.shape[:2]
    fig, ax = plt.subplots(figsize=(size, size * height / width))
    ax.imshow(image)
    ax.axis("off")
    ax.set_title("what a healthy run ends with: the course's reference run, cpu profile", fontsize=10)
    fig.tight_layout()
    what = " ".join(shows.split()) or description(name, folder) or "the picture the next cell ends with"
    what = what.rstrip(".")
    describe_figure(fig, f"What a healthy run ends with, in the course's reference run (cpu profile): {what}.")
    display(fig)
    plt.close(fig)
