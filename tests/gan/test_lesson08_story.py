"""Lesson 08 tells one story: upsampling first, the engineering in an optional part at the end."""

import ast
import re

import nbformat
import pytest

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


def lesson_settings() -> dict:
    """The lesson's SETTINGS table, read from its cell (a literal)."""
    for cell in cells():
        for node in ast.parse(cell.source).body if cell.cell_type == "code" else []:
            if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["SETTINGS"]:
                return ast.literal_eval(node.value)
    raise AssertionError("lesson 08 has no SETTINGS table")


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
def test_section_3s_recipe_takes_the_learners_step_in_every_profile(profile):
    """Section 3 trains the profile's recipe with the learner's train_step, which has no R1 term: a recipe with a
    penalty would stop that run with the trainer's refusal, in the profile nobody had run here."""
    import torch

    from helpers import gan
    from helpers.gan import train_torch

    cfg = gan.config_for("torch", profile, "resize_conv", **lesson_settings()[profile]["recipe"])
    run = train_torch._TorchRun(cfg, torch.device("cpu"), step_hook=train_torch.train_step,
                                data=torch.zeros(cfg.batch_size, 1, 28, 28))
    assert run.step_hook is train_torch.train_step
