"""helpers.gan.published reads the measured tables of docs/gan_results.md for lessons 07 and 08."""

from __future__ import annotations

import pytest

from helpers.gan import published

DOC = """# GAN results

## What each addition bought

| addition | steps | inception-style | FID ÷ real | command |
|---|---|---|---|---|
| none | 2,000 | 6.15 | 28.8 | `E` |
| `g_hidden=512` | 1,800 | 8.99 | 2.7 | `E g_hidden=512` |

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
    assert rows == [{"addition": "none", "steps": "2,000", "inception-style": "6.15", "FID ÷ real": "28.8",
                     "command": "`E`"},
                    {"addition": "`g_hidden=512`", "steps": "1,800", "inception-style": "8.99", "FID ÷ real": "2.7",
                     "command": "`E g_hidden=512`"}]
    with pytest.raises(KeyError, match="no line"):
        published.markdown_table(DOC, "## Missing")
    with pytest.raises(KeyError, match="no table"):
        published.markdown_table("## Heading\n\nno table here\n", "## Heading")


def test_recipe_markdown_states_the_measured_row_and_says_when_there_is_none(tmp_path):
    path = tmp_path / "gan_results.md"
    path.write_text(DOC)
    text = published.recipe_markdown("torch", path=path)
    assert text.startswith("| added to the row above |") and "| `g_hidden=512` | 1,800 | 8.99 | 2.7 |" in text
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
