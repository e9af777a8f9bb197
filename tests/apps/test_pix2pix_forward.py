"""pp.unet_forward is the U-Net's forward pass, and a forward_fn handed in (lesson 10's exercise) is the one used."""

from __future__ import annotations

import torch

from helpers.apps import pix2pix_torch as pp


def _written_out(g, x):
    """The forward pass of the U-Net before forward_fn existed, copied from it: what unet_forward must keep."""
    e1 = g.enc1(x)
    e2 = g.enc2(e1)
    h = g.enc3(e2)
    h = g.decoder(h, e2 if g.skips else None, g.up3, g.fuse3)
    h = g.decoder(h, e1 if g.skips else None, g.up2, g.fuse2)
    return torch.tanh(g.out(g.up1(h)))


def test_the_default_forward_pass_is_unchanged():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    for skips in (True, False):
        g = pp.UNet(ch=8, skips=skips).eval()
        with torch.no_grad():
            assert torch.equal(g(x), _written_out(g, x))
            assert torch.equal(pp.unet_forward(g, x), _written_out(g, x))


def test_ablation_trains_with_the_forward_pass_it_is_given():
    """The learner's forward pass is really called, and handing in the course's own changes nothing."""
    s = dict(pp.SETTINGS["smoke"], steps=2, ch=8)
    configs = pp.ablation_configs(s)[:2]
    train_data, test_data = pp.make_task("train", 64, seed=0), pp.make_task("test", 32, seed=1)
    calls = []

    def my_forward(g, x):
        calls.append(tuple(x.shape))
        return pp.unet_forward(g, x)

    rows, results = pp.ablation(configs, train_data, test_data, judge=False, forward_fn=my_forward)
    assert (s["batch_size"], 1, 28, 28) in calls  # a training step went through it
    assert all(result["generator"].forward_fn is my_forward for result in results.values())
    default_rows, _ = pp.ablation(configs, train_data, test_data, judge=False)
    timings = ("train s", "train CPU s")
    assert [{k: v for k, v in row.items() if k not in timings} for row in rows] == \
        [{k: v for k, v in row.items() if k not in timings} for row in default_rows]
