"""The reference DCGANs' measured results, read from ``docs/gan_results.md``.

``scripts/measure_gans.py --write`` writes that file's results tables; the recipe's history ("What
each addition bought") is a table in the same file, one row per addition with the command that
measured it. Lessons 07 and 08 show these tables through :func:`recipe_markdown`, so the scores they
state are the measured ones, never numbers copied into their prose.

Used in lessons 07 and 08.
"""

from __future__ import annotations

from pathlib import Path

from .. import ROOT

RESULTS = ROOT / "docs" / "gan_results.md"
ADDITIONS_HEADING = "## What each addition bought"


def markdown_table(text: str, after: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table that follows the line starting with ``after``, each a dict
    from the header's cells to the row's (Markdown left as it is). ``KeyError`` when there is no such
    line or no table after it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(after)), None)
    if start is None:
        raise KeyError(f"no line starting with {after!r}")
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    if len(rows) < 2:
        raise KeyError(f"no table after {after!r}")
    header, body = rows[0], rows[2:]  # rows[1] is the |---| line
    return [dict(zip(header, row)) for row in body]


def measured(profile: str = "cpu", path: Path = RESULTS) -> list[dict[str, str]]:
    """The rows of ``profile``'s results table (``scripts/measure_gans.py --profile PROFILE --write``)."""
    return markdown_table(path.read_text(encoding="utf-8"), f"<!-- table:{profile} -->")


def additions(path: Path = RESULTS) -> list[dict[str, str]]:
    """The rows of "What each addition bought": what was added to the plain DCGAN, in order, and its scores."""
    return markdown_table(path.read_text(encoding="utf-8"), ADDITIONS_HEADING)


def spread(profile: str = "cpu", path: Path = RESULTS) -> str:
    """One line: how far apart the measured runs of ``profile``'s results table end (every framework and kind
    measured), e.g. "8 runs (torch, keras × 4 kinds): checkerboard 0.003 to 0.003, inception-style 9.06 to 9.18,
    FID ÷ real 1.8 to 2.5" — so a lesson's prose can point at it rather than copy numbers that a remeasurement
    changes. The real-data row and kinds not measured are left out."""
    rows = [r for r in measured(profile, path)
            if r["framework"] in ("torch", "keras") and r.get("inception-style", "") not in ("", "not measured")]
    if not rows:
        return f"no measured runs in the {profile} profile's table of {path.name}"

    def low_high(column: str) -> str:
        values = sorted((r[column] for r in rows), key=float)  # as the table writes them: 9.00 stays 9.00
        return f"{column} {values[0]} to {values[-1]}"

    frameworks = ", ".join(dict.fromkeys(r["framework"] for r in rows))
    kinds = len({r["upsampling"] for r in rows})
    return (f"{len(rows)} runs ({frameworks} × {kinds} kinds): "
            + ", ".join(low_high(c) for c in ("checkerboard", "inception-style", "FID ÷ real")))


def recipe_markdown(framework: str, profile: str = "cpu", path: Path = RESULTS) -> str:
    """A Markdown summary for a lesson: what each addition bought, then the measured reference run of
    ``framework`` in ``profile`` (its ``convtranspose`` row) against the targets. A copy of the course without
    ``docs/`` (a grader's sandbox, say) gets one line saying where the measurements are, not an error."""
    if not path.is_file():
        return (f"The measured results are in `docs/gan_results.md` of the course repository; this copy of the "
                f"course does not have it ({path}).")
    steps = additions(path)
    # Each row adds one change to the row above, judged on the samples it gives (the explorer's 2,000 or 5,000).
    lines = ["| added to the row above | steps | samples judged | inception-style | FID ÷ real |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['addition']} | {r['steps']} | {r['samples']} | {r['inception-style']} | {r['FID ÷ real']} |"
              for r in steps]
    row = next((r for r in measured(profile, path)
                if r["framework"] == framework and r["upsampling"] == "`convtranspose`"), None)
    if row is None or row.get("inception-style", "") in ("", "not measured"):
        ref = f"\n\nThe {framework} reference run of the {profile} profile has not been measured yet."
    else:
        ref = (f"\n\nThe whole {profile}-profile recipe, {framework} `convtranspose`, as the command line runs it "
               f"({row['steps']} steps, {row['CLI wall s']} s on a 2-core CPU): inception-style "
               f"**{row['inception-style']}**, FID **{row['FID ÷ real']}×** real, coverage {row['coverage']} — "
               f"targets {row['targets']}.")
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return "\n".join(lines) + ref + f"\n\n(Read from `{where}`.)"
