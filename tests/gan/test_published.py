"""helpers.gan.published reads the measured tables of docs/gan_results.md for lessons 07 and 08."""

from __future__ import annotations

import pytest

from helpers.gan import published

DOC = """# GAN results

## What each addition bought

| addition | steps | samples | inception-style | FID ÷ real | command |
|---|---|---|---|---|---|
| none | 2,000 | 2,000 | 6.15 | 28.8 | `E` |
| `g_hidden=512` | 1,800 | 5,000 | 8.99 | 2.7 | `E g_hidden=512` |

Prose.

<!-- table:cpu -->
## Results, cpu profile

| framework | upsampling | FID ÷ real | inception-style | coverage | steps | CLI wall s | targets |
|---|---|---|---|---|---|---|---|
| torch | `convtranspose` | 2.4 | 9.04 | 0.998 | 4,000 | 281 | met |
| keras | `convtranspose` | not measured | | | | | |
"""


def test_markdown_table_reads_the_table_after_a_line(tmp_path):
    rows = published.markdown_table(DOC, "## What each addition bought")
    assert rows == [{"addition": "none", "steps": "2,000", "samples": "2,000", "inception-style": "6.15",
                     "FID ÷ real": "28.8", "command": "`E`"},
                    {"addition": "`g_hidden=512`", "steps": "1,800", "samples": "5,000", "inception-style": "8.99",
                     "FID ÷ real": "2.7", "command": "`E g_hidden=512`"}]
    with pytest.raises(KeyError, match="no line"):
        published.markdown_table(DOC, "## Missing")
    with pytest.raises(KeyError, match="no table"):
        published.markdown_table("## Heading\n\nno table here\n", "## Heading")


def test_recipe_markdown_states_the_measured_row_and_says_when_there_is_none(tmp_path):
    path = tmp_path / "gan_results.md"
    path.write_text(DOC)
    text = published.recipe_markdown("torch", path=path)
    assert text.startswith("| added to the row above |") and "| `g_hidden=512` | 1,800 | 5,000 | 8.99 | 2.7 |" in text
    assert "4,000 steps, 281 s" in text and "**9.04**" in text and "**2.4×**" in text and "targets met" in text
    assert "has not been measured yet" in published.recipe_markdown("keras", path=path)
    missing = published.recipe_markdown("torch", path=tmp_path / "nowhere.md")  # a copy of the course without docs/
    assert missing.startswith("The measured results are in `docs/gan_results.md`") and "nowhere.md" in missing


def test_the_shipped_results_have_both_tables_with_scores():
    steps = published.additions()
    assert len(steps) >= 4 and all(float(r["inception-style"]) > 1 for r in steps)
    rows = {(r["framework"], r["upsampling"]): r for r in published.measured("cpu")}
    for framework in ("torch", "keras"):
        row = rows[(framework, "`convtranspose`")]
        assert 1 < float(row["inception-style"]) <= 10 and int(row["steps"].replace(",", "")) > 0


def test_spread_gives_the_range_of_every_measured_run(tmp_path):
    doc = tmp_path / "results.md"
    doc.write_text("""<!-- table:cpu -->
## Results, cpu profile

| framework | upsampling | FID ÷ real | inception-style | checkerboard | targets |
|---|---|---|---|---|---|
| torch | `convtranspose` | 2.4 | 9.21 | 0.003 | met |
| torch | `resize_conv` | 1.9 | 9.08 | 0.004 | met |
| keras | `convtranspose` | 2.3 | 9.12 | 0.003 | met |
| keras | `pixel_shuffle` | not measured | | | |
| real training digits (5,000) | — | 1.0 | 9.65 | | |
""")
    assert published.spread("cpu", doc) == ("3 runs (torch, keras × 2 kinds): checkerboard 0.003 to 0.004, "
                                            "inception-style 9.08 to 9.21, FID ÷ real 1.9 to 2.4")
    doc.write_text(doc.read_text().replace("9.21 |", "not measured |").replace("9.08", "").replace("9.12", ""))
    assert published.spread("cpu", doc) == "no measured runs in the cpu profile's table of results.md"
