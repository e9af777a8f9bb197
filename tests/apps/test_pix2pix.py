"""helpers.apps.pix2pix_torch: the damaged-digit task, U-Net, PatchGAN geometry, losses, training, scores."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers.apps import pix2pix_torch as pp

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_damage_erases_one_square_inside_the_centre():
    clean = torch.rand(20, 1, 28, 28) * 0.5 + 0.25  # no exact zeros
    damaged = pp.damage(clean, seed=3)
    for before, after in zip(clean, damaged):
        hole = (after[0] == 0).nonzero()
        top, left = hole.min(0).values.tolist()
        bottom, right = hole.max(0).values.tolist()
        side = bottom - top + 1
        assert side == right - left + 1 and 9 <= side <= 13 and len(hole) == side * side
        assert top >= 4 and left >= 4 and bottom <= 23 and right <= 23
        keep = after[0] != 0
        torch.testing.assert_close(after[0][keep], before[0][keep])
    torch.testing.assert_close(pp.damage(clean, seed=3), damaged)
    assert not torch.equal(pp.damage(clean, seed=4), damaged)


def test_make_task_gives_aligned_pairs_in_minus_one_one():
    damaged, clean, labels = pp.make_task("test", 16, seed=0)
    assert damaged.shape == clean.shape == (16, 1, 28, 28) and labels.shape == (16,)
    assert float(clean.min()) == -1.0 and float(clean.max()) == 1.0
    assert ((damaged == clean) | (damaged == 0)).all()


def test_decode_concatenates_the_skip_after_the_upsampled_map():
    x, skip = torch.rand(2, 3, 4, 4), torch.rand(2, 5, 8, 8)
    up = nn.Upsample(scale_factor=2)
    out = pp.decode(x, skip, up, nn.Identity())
    assert out.shape == (2, 8, 8, 8)
    torch.testing.assert_close(out[:, :3], up(x))
    torch.testing.assert_close(out[:, 3:], skip)
    torch.testing.assert_close(pp.decode(x, None, up, nn.Identity()), up(x))


@pytest.mark.parametrize("skips", [True, False])
def test_unet_keeps_the_size_and_stays_in_range(skips):
    g = pp.UNet(skips=skips)
    with torch.no_grad():
        out = g(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert out.shape == (4, 1, 28, 28) and float(out.abs().max()) <= 1.0


def test_skips_carry_the_fine_detail_past_the_bottleneck():
    """With skips the output depends on the encoder's 14×14 map; without, only on the 4×4 bottleneck."""
    calls = []

    def spy(x, skip, up, fuse):
        calls.append(None if skip is None else tuple(skip.shape))
        return pp.decode(x, skip, up, fuse)

    x = torch.rand(2, 1, 28, 28)
    pp.UNet(ch=8, skips=True, decoder=spy)(x)
    assert calls == [(2, 16, 7, 7), (2, 8, 14, 14)]
    calls.clear()
    pp.UNet(ch=8, skips=False, decoder=spy)(x)
    assert calls == [None, None]
    with_skips, without = pp.UNet(skips=True), pp.UNet(skips=False)
    assert sum(p.numel() for p in without.parameters()) < sum(p.numel() for p in with_skips.parameters())


@pytest.mark.parametrize("size", [28, 32, 57, 64, 256])
@pytest.mark.parametrize("layers", [[(4, 2, 1), (4, 2, 1), (4, 1, 1)], [(3, 1, 0), (5, 2, 2), (4, 2, 1)],
                                    pp.PIX2PIX_70])
def test_patch_grid_size_matches_the_real_network(size, layers):
    net = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, padding=p) for k, s, p in layers])
    expected = net(torch.zeros(1, 1, size, size)).shape[-1]
    assert pp.patch_grid_size(size, layers) == expected
    assert pp.conv_layers(net) == [tuple(layer) for layer in layers]


def test_patchgan_gives_a_6x6_grid_and_pix2pix_gives_30x30():
    d = pp.PatchGAN()
    out = d(torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 1, 6, 6) == (3, 1, *(2 * [pp.patch_grid_size(28, pp.conv_layers(d))]))
    assert pp.patch_grid_size(256, pp.PIX2PIX_70) == 30 and pp.receptive_field(pp.PIX2PIX_70) == 70


@pytest.mark.parametrize("layers", [[(4, 2, 1), (4, 2, 1), (4, 1, 1)], [(3, 1, 1), (3, 2, 1)], [(5, 1, 2)]])
def test_receptive_field_is_where_the_gradient_reaches(layers):
    """The input pixels that move one central output cell form a square of the computed side."""
    net = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, padding=p) for k, s, p in layers])
    for conv in net:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    out = net(x)
    centre = out.shape[-1] // 2
    out[0, 0, centre, centre].backward()
    rows, cols = (x.grad[0, 0] != 0).nonzero().unbind(1)
    side = pp.receptive_field(layers)
    assert int(rows.max() - rows.min() + 1) == side == int(cols.max() - cols.min() + 1)


def test_losses():
    torch.manual_seed(0)
    fake, target = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    l1 = (fake - target).abs().mean()
    torch.testing.assert_close(pp.generator_loss(None, fake, target), 100 * l1)
    torch.testing.assert_close(pp.generator_loss(torch.zeros(4, 1, 6, 6), fake, target, l1_weight=10),
                               10 * l1 + math.log(2))
    confident = pp.generator_loss(torch.full((4, 1, 6, 6), 20.0), fake, target, l1_weight=0)
    assert float(confident) < 1e-6  # D calls the fake real: no adversarial pressure left
    assert float(pp.discriminator_loss(torch.zeros(2, 1, 6, 6), torch.zeros(2, 1, 6, 6))) == pytest.approx(math.log(2))
    assert float(pp.discriminator_loss(torch.full((2, 1, 6, 6), 20.0), torch.full((2, 1, 6, 6), -20.0))) < 1e-6


@pytest.mark.parametrize("adversarial", [False, True])
def test_a_few_training_steps_reduce_the_l1(adversarial):
    damaged, clean, _ = pp.make_task("train", 128, seed=0)
    cfg = pp.Pix2PixConfig(adversarial=adversarial, steps=40, batch_size=16, ch=8, lr=2e-3)
    result = pp.train(cfg, damaged, clean)
    l1 = result["losses"]["l1"]
    assert len(l1) == 40 and np.mean(l1[-5:]) < 0.6 * np.mean(l1[:5])
    assert (result["discriminator"] is not None) == adversarial
    assert len(result["losses"]["d"]) == (40 if adversarial else 0)
    assert not result["generator"].training


def test_image_scores_without_and_with_the_judge():
    damaged, clean, labels = pp.make_task("test", 200, seed=0)
    perfect = pp.image_scores(clean, clean, labels, judge=False)
    assert perfect["L1"] == 0 and perfect["PSNR dB"] == math.inf
    hurt = pp.image_scores(damaged, clean, labels, judge=False)
    expected_l1 = float(((damaged - clean).abs() / 2).mean())
    assert hurt["L1"] == pytest.approx(expected_l1) and 5 < hurt["PSNR dB"] < 30
    judged = pp.image_scores(clean, clean, labels)
    assert judged["judge accuracy"] > 0.95


def test_ablation_rows_frame_the_four_generators():
    s = dict(pp.SETTINGS["smoke"], steps=2, ch=8)
    configs = pp.ablation_configs(s)
    assert [(c.skips, c.adversarial) for c in configs] == [(True, True), (True, False), (False, True), (False, False)]
    train_data, test_data = pp.make_task("train", 64, seed=0), pp.make_task("test", 32, seed=1)
    rows, results = pp.ablation(configs[1:2] + configs[3:], train_data, test_data, judge=False)
    assert [row["model"] for row in rows] == ["damaged input (no model)", "U-Net with skips, L1 only",
                                              "U-Net without skips, L1 only", "clean target"]
    assert rows[0] == {**rows[0], **pp.image_scores(test_data[0], test_data[1], test_data[2], judge=False)}
    assert rows[-1]["L1"] == 0 and set(results) == {rows[1]["model"], rows[2]["model"]}
    assert rows[1]["parameters"] > rows[2]["parameters"] > 0
    table = pp.format_table(rows)
    assert table.count("\n") == len(rows) + 1 and "| clean target | 0 |" in table


def test_hole_mask_is_the_erased_square():
    damaged, clean, _ = pp.make_task("test", 50, seed=2)
    mask = pp.hole_mask(damaged)
    assert ((clean != 0) | ~mask).all(), "an MNIST pixel is never exactly 0 in [-1, 1]"
    sides = mask.flatten(1).sum(1).double().sqrt()
    assert ((sides >= 9) & (sides <= 13) & (sides == sides.round())).all()


def test_hole_edge_energy_is_large_for_crisp_strokes_and_zero_for_flat_holes():
    damaged = torch.full((2, 1, 28, 28), -1.0)
    damaged[:, :, 8:20, 8:20] = 0.0
    flat = torch.full_like(damaged, -1.0)
    assert pp.hole_edge_energy(flat, damaged) == 0.0
    crisp = flat.clone()
    crisp[:, :, :, 14:] = 1.0                      # a step from 0 to 1 (on [0, 1]) between columns 13 and 14
    # central differences put 1/2 on columns 13 and 14, two of the hole's 12 columns: (2 · 1/4) / 12
    assert pp.hole_edge_energy(crisp, damaged) == pytest.approx(0.5 / 12)
    ramp = flat.clone()
    ramp[:, :, :, 12:16] = torch.linspace(-1, 1, 6)[1:5]   # the same rise smeared over four columns
    ramp[:, :, :, 16:] = 1.0
    # differences 0.1, 0.2, 0.2, 0.2, 0.2, 0.1 on columns 11 to 16: 0.18 / 12, whereas mean |∇| would not change
    assert pp.hole_edge_energy(ramp, damaged) == pytest.approx(0.18 / 12)
    grey = flat.clone()
    grey[:, :, :, 14:] = 0.0                       # the crisp step at half the contrast
    assert pp.hole_edge_energy(grey, damaged) == pytest.approx(0.25 * 0.5 / 12)
    outside = flat.clone()
    outside[:, :, :, 24:] = 1.0                    # an edge outside the hole does not count
    assert pp.hole_edge_energy(outside, damaged) == 0.0


def test_hole_crops_centre_the_erased_square():
    damaged, clean, _ = pp.make_task("test", 30, seed=3)
    crops = pp.hole_crops(damaged, damaged, size=15)
    assert crops.shape == (30, 1, 15, 15)
    holes = pp.hole_mask(damaged).flatten(1).sum(1)
    assert torch.equal((crops == 0).flatten(1).sum(1), holes), "each crop holds its whole hole"
    assert pp.hole_crops(clean, damaged).shape == (30, 1, 15, 15)


def test_image_scores_measure_the_hole_when_given_the_inputs():
    damaged, clean, labels = pp.make_task("test", 100, seed=1)
    row = pp.image_scores(clean, clean, labels, judge=False, damaged=damaged)
    assert row["hole edge energy"] == pytest.approx(pp.hole_edge_energy(clean, damaged))
    hurt = pp.image_scores(damaged, clean, labels, judge=False, damaged=damaged)
    assert hurt["hole edge energy"] < row["hole edge energy"]
    assert "hole edge energy" not in pp.image_scores(clean, clean, labels, judge=False)


def test_ablation_trains_with_the_decoder_and_loss_it_is_given():
    """The hooks are really called, and handing in the course's own functions changes nothing."""
    s = dict(pp.SETTINGS["smoke"], steps=2, ch=8)
    configs = pp.ablation_configs(s)[:2]          # with skips: adversarial, then L1 only
    train_data, test_data = pp.make_task("train", 64, seed=0), pp.make_task("test", 32, seed=1)
    calls = {"decode": 0, "loss": []}

    def my_decode(x, skip, up, fuse):
        calls["decode"] += 1
        return pp.decode(x, skip, up, fuse)

    def my_loss(fake_logits, fake, target, l1_weight):
        calls["loss"].append(fake_logits is not None)
        return pp.generator_loss(fake_logits, fake, target, l1_weight)

    rows, _ = pp.ablation(configs, train_data, test_data, judge=False, generator_loss_fn=my_loss, decoder=my_decode)
    assert calls["loss"] == [True, True, False, False]
    assert calls["decode"] > 0
    default_rows, _ = pp.ablation(configs, train_data, test_data, judge=False)
    timings = ("train s", "train CPU s")
    assert [{k: v for k, v in row.items() if k not in timings} for row in rows] == \
        [{k: v for k, v in row.items() if k not in timings} for row in default_rows]
    assert "hole edge energy" in rows[0] and rows[-1]["hole edge energy"] > rows[0]["hole edge energy"]
