"""Lesson 09 §6: colour pairs, the upsampler study's network and measure, train()'s evaluations, the SR figures."""

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.apps import sr_figures
from helpers.apps import sr_torch as sr
from helpers.apps import sr_upsamplers as su

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_colour_pairs_keep_three_channels_and_grey_pictures_repeat_theirs():
    chelsea, camera = sr.make_pairs(["chelsea.png", "camera.png"], 2, max_side=64, colour=True)
    assert chelsea.hr.shape == chelsea.up.shape == (1, 3, 64, 64) and chelsea.lr.shape == (1, 3, 32, 32)
    assert not torch.equal(chelsea.hr[:, 0], chelsea.hr[:, 2]), "a colour picture has different channels"
    assert torch.equal(camera.hr[:, 0], camera.hr[:, 1]) and torch.equal(camera.hr[:, 1], camera.hr[:, 2])
    grey, = sr.make_pairs(["camera.png"], 2, max_side=64)
    assert torch.allclose(grey.hr[0, 0], camera.hr[0, 0], atol=1e-6)
    assert sr.truth(chelsea).shape == (3, 64, 64) and sr.truth(grey).shape == (64, 64)


def test_phase_spread_is_the_spread_of_the_four_phase_gains():
    truth = np.random.default_rng(0).uniform(0.2, 0.8, (3, 20, 20))
    assert su.phase_spread(truth, truth, border=0) == pytest.approx(0.0, abs=1e-12)
    assert su.phase_spread(1.1 * truth, truth, border=0) == pytest.approx(0.0, abs=1e-12), "one gain everywhere"
    gain = np.ones((20, 20))
    gain[::2, ::2], gain[1::2, 1::2] = 1.02, 0.99
    assert su.phase_spread(gain * truth, truth, border=0) == pytest.approx(0.03)
    assert su.phase_spread(gain * truth, truth, border=2) == pytest.approx(0.03)
    with pytest.raises(ValueError, match="even"):
        su.phase_spread(truth[..., :19], truth[..., :19], border=0)


@pytest.mark.parametrize("kind", list(su.KINDS))
def test_every_kind_doubles_the_size_and_only_icnr_starts_as_nearest(kind):
    torch.manual_seed(0)
    model = su.UpsamplerSR(kind).eval()
    x = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (1, 3, 18, 22)
    blocks_equal = torch.allclose(out, F.interpolate(out[..., ::2, ::2], scale_factor=2, mode="nearest"), atol=1e-6)
    assert blocks_equal == (kind == "pixel_shuffle"), "ICNR (and only ICNR) starts with equal 2×2 blocks"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="resize_conv"):
        su.UpsamplerSR("bilinear")


def _tiny_images():
    return sr.make_pairs(["chelsea.png", "coffee.png"], 2, max_side=48, colour=True)


@pytest.mark.parametrize("use_loop", [False, True])
def test_train_evaluates_at_the_listed_steps_with_any_loop(use_loop):
    images = _tiny_images()
    seen = []

    def evaluate(step, model):
        seen.append((step, model.training))
        return su.measure(model, images[:1])["PSNR dB"]

    def learner_loop(model, sampler, steps, batch_size, lr):  # the exercise's signature, its own Adam
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            lr_patch, _, hr_patch = sampler(batch_size)
            loss = F.mse_loss(model(lr_patch), hr_patch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    torch.manual_seed(0)
    model = su.UpsamplerSR("resize_conv")
    history = sr.train(model, sr.PatchSampler(images, 2, 8, seed=0), 10, batch_size=2, evaluate_at=(0, 3, 10),
                       evaluate=evaluate, loop=learner_loop if use_loop else None)
    assert [step for step, _ in history["evaluations"]] == [0, 3, 10]
    assert [step for step, _ in seen] == [0, 3, 10] and not any(training for _, training in seen)
    psnr_before, psnr_after = history["evaluations"][0][1], history["evaluations"][-1][1]
    assert psnr_after > psnr_before, "ten steps of Adam from a random start improve PSNR"
    assert history["evaluations"][-1][1] == pytest.approx(su.measure(model, images[:1])["PSNR dB"])
    assert len(history["losses"]) == 10 and history["seconds"] >= 0 and history["cpu_seconds"] >= 0


def test_train_without_evaluate_has_no_evaluations():
    images = _tiny_images()
    history = sr.train(su.UpsamplerSR("convtranspose"), sr.PatchSampler(images, 2, 8), 2, batch_size=2)
    assert "evaluations" not in history


def test_study_rows_cover_every_kind_seed_and_checkpoint():
    images = _tiny_images()
    rows, models = su.study(images, images[:1], ["convtranspose3", "pixel_shuffle"], steps=3, seeds=[0, 1],
                            checkpoints=(0, 3), patch=8, batch_size=2, lr=1e-3)
    assert {(r["kind"], r["seed"], r["step"]) for r in rows} == {
        (k, s, c) for k in ("convtranspose3", "pixel_shuffle") for s in (0, 1) for c in (0, 3)}
    assert set(models) == {(k, s) for k in ("convtranspose3", "pixel_shuffle") for s in (0, 1)}
    start = {r["kind"]: r["phase spread"] for r in rows if r["step"] == 0 and r["seed"] == 0}
    assert start["convtranspose3"] > 10 * start["pixel_shuffle"], "a random k3 s2 starts striped, ICNR does not"
    summary = su.summary(rows, 3)
    assert [r["kind"] for r in summary] == ["convtranspose3", "pixel_shuffle"] and summary[0]["seeds"] == 2
    lo, hi = summary[0]["PSNR dB range"]
    assert lo <= summary[0]["PSNR dB"] <= hi


def test_window_finds_edges_or_a_flat_mid_grey_patch():
    image = np.full((64, 64), 0.5)
    image[40:, :] = np.indices((24, 64))[1] % 2  # stripes at the bottom: all the edges
    image[:20, :] = 0.02                          # a flat black band at the top: flat, but too dark
    rows, cols = sr_figures.window(image, 16, margin=2)
    assert rows.start >= 40 - 16 and rows.stop > 40, "the edge-rich crop overlaps the stripes"
    rows, cols = sr_figures.window(image, 16, flat=True, margin=2)
    assert rows.start >= 20 and rows.stop <= 40, "the flat crop is the mid-grey band"
    dark = np.zeros((64, 64))
    dark[:, 32:] = np.indices((64, 32))[1] % 2 * 0.05
    rows, cols = sr_figures.window(dark, 16, flat=True, margin=2)
    assert cols.stop <= 32, "with no mid-grey region, the flattest crop"
    with pytest.raises(ValueError, match="bigger"):
        sr_figures.window(image[:10, :10], 16)


def test_crops_with_errors_shows_estimate_minus_truth_on_one_scale():
    truth = np.random.default_rng(1).uniform(size=(3, 20, 20))
    estimates = {"a": truth + 0.1, "b": truth - 0.2}
    crop = (slice(2, 12), slice(4, 14))
    fig = sr_figures.crops_with_errors(estimates, truth, crop)
    errors = [ax.images[0] for ax in fig.axes[len(estimates) + 1: 2 * len(estimates) + 1]]
    np.testing.assert_allclose(errors[0].get_array(), np.full((10, 10), 0.1), atol=1e-6)
    np.testing.assert_allclose(errors[1].get_array(), np.full((10, 10), -0.2), atol=1e-6)
    assert errors[0].get_clim() == errors[1].get_clim() == pytest.approx((-0.2, 0.2))


def test_against_steps_draws_one_line_per_method_and_the_baseline():
    rows = [{"kind": k, "seed": s, "step": t, "m": v + s} for k, v in (("x", 1.0), ("y", 5.0)) for s in (0, 1)
            for t in (0, 10)]
    curves = sr_figures.curves_from_rows(rows, "m")
    assert curves["x"] == [(0, 1.5, 1.0, 2.0), (10, 1.5, 1.0, 2.0)]
    ax = sr_figures.against_steps(curves, "m", baseline=3.0)
    assert len(ax.lines) == 3 and list(ax.lines[-1].get_ydata()) == [3.0, 3.0]


def test_the_figures_take_their_title():
    truth = np.zeros((8, 8))
    fig = sr_figures.crops_with_errors({"a": truth + 0.1}, truth, (slice(0, 4), slice(0, 4)), title="crop of x")
    assert fig._suptitle.get_text() == "crop of x"
    ax = sr_figures.against_steps({"x": [(0, 1.0, 1.0, 1.0), (5, 2.0, 2.0, 2.0)]}, "m", title="while training")
    assert ax.get_title() == "while training"
    assert sr_figures.crops_with_errors({"a": truth}, truth, (slice(0, 4), slice(0, 4)))._suptitle is None
