"""helpers.apps.pix2pix_torch: the hole edge energy recorded during training (lesson 10's curves)."""

import pytest
import torch

from helpers.apps import pix2pix_torch as pp

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_the_hole_curve_is_measured_on_the_probe_and_leaves_the_training_alone():
    damaged, clean, _ = pp.make_task("train", 64, seed=0)
    probe = pp.make_task("test", 24, seed=1)[0]
    cfg = pp.Pix2PixConfig(steps=7, batch_size=8, ch=8)
    plain = pp.train(cfg, damaged, clean)
    probed = pp.train(cfg, damaged, clean, probe=probe, probe_every=3)
    assert probed["hole"]["step"] == [0, 3, 6, 7]
    energies = probed["hole"]["hole edge energy"]
    assert len(energies) == 4 and len(set(energies)) == 4, "each point measures the generator of its own step"
    # the last point is the trained generator's measure, as the lesson's table takes it
    assert energies[-1] == pytest.approx(pp.hole_edge_energy(pp.translate(probed["generator"], probe), probe))
    # the first is the untrained generator's: a fresh one from the same seed, in eval mode
    torch.manual_seed(cfg.seed)
    fresh = pp.UNet(cfg.ch)
    assert energies[0] == pytest.approx(pp.hole_edge_energy(pp.translate(fresh, probe), probe))
    assert plain["losses"] == probed["losses"] and plain["hole"] == {"step": [], "hole edge energy": []}
    for a, b in zip(plain["generator"].state_dict().values(), probed["generator"].state_dict().values()):
        assert torch.equal(a, b), "measuring the hole must not change what is trained"


def test_ablation_records_each_generators_hole_curve_on_the_held_out_digits():
    s = dict(pp.SETTINGS["smoke"], steps=4, ch=8)
    configs = pp.ablation_configs(s)[:2]
    train_data, test_data = pp.make_task("train", 64, seed=0), pp.make_task("test", 32, seed=1)
    rows, results = pp.ablation(configs, train_data, test_data, judge=False, probe_every=2, n_probe=32)
    for row in rows[1:-1]:
        hole = results[row["model"]]["hole"]
        assert hole["step"] == [0, 2, 4]
        assert hole["hole edge energy"][-1] == pytest.approx(row["hole edge energy"])
    _, unprobed = pp.ablation(configs, train_data, test_data, judge=False)
    assert all(result["hole"]["step"] == [] for result in unprobed.values())
