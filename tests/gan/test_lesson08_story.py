"""Lesson 08 tells one story: upsampling first, the engineering in an optional part at the end."""

import re

import nbformat

from helpers import ROOT
from instructor_tools import lesson

LESSON = ROOT / "solutions" / "08_dcgan_pytorch.ipynb"
ENGINEERING = ("torch.compile", "channels-last", "mixed precision", "atomically", "One device for everything")


def cells():
    return nbformat.read(LESSON, as_version=4).cells


def headings():
    return [line[3:] for cell in cells() if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("## ")]


def test_the_sections_come_in_the_story_s_order_with_the_engineering_optional_at_the_end():
    expected = ["1. The generator", "2. Training: the step", "3. Training your model", "4. The judge",
                "5. The ablation", "Optional:", "What to remember", "Questions", "Answers", "References"]
    found = headings()
    assert len(found) == len(expected) and all(h.startswith(e) for h, e in zip(found, expected, strict=True)), found


def test_the_engineering_is_lectured_only_in_the_optional_part():
    text = "\n".join(cell.source for cell in cells() if cell.cell_type == "markdown")
    story = text[text.index("## 1. The generator"):text.index("## Optional:")]
    assert [word for word in ENGINEERING if word in story] == []
    optional = text[text.index("## Optional:"):text.index("## What to remember")]
    assert all(word in optional for word in ENGINEERING)


def test_the_ablation_ends_with_what_mnist_shows_before_the_optional_part():
    markdown = [cell.source for cell in cells() if cell.cell_type == "markdown"]
    last = markdown[[i for i, s in enumerate(markdown) if s.startswith("## Optional:")][0] - 1]
    assert last.startswith("### What MNIST shows") and "docs/gan_results.md" in last


def test_the_last_grid_of_the_training_cell_is_the_judged_samples():
    training = next(c for c in cells() if lesson.course_metadata(c).get(lesson.HEALTHY_RUN) == "08_training")
    grids = re.findall(r"show_grid\((\w+)", training.source)
    assert grids[-1] == "samples"  # what train() returned and the judge scores, not an epoch's g_ema
