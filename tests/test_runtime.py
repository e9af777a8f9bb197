import numpy as np
import pytest

from helpers import runtime


def test_precedence_argument_env_ci(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert runtime.profile() == "cpu"
    assert runtime.profile("gpu") == "gpu"
    monkeypatch.delenv("COURSE_PROFILE")
    monkeypatch.setenv("CI", "true")
    assert runtime.profile() == "smoke"
    monkeypatch.setenv("CI", "false")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert runtime.profile() == ("gpu" if runtime.cuda_visible() else "cpu")


def test_unknown_profile_is_an_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="Unknown run profile 'turbo'.*smoke, cpu, gpu"):
        runtime.profile()


def test_pick_follows_profile():
    assert runtime.pick(smoke=1, cpu=2, gpu=3, override="smoke") == 1
    assert runtime.pick(smoke=1, cpu=2, gpu=3, override="gpu") == 3


def test_seed_everything_repeats_numpy():
    runtime.seed_everything(7)
    a = np.random.rand(3)
    runtime.seed_everything(7)
    np.testing.assert_array_equal(a, np.random.rand(3))


def test_colab_detection(monkeypatch):
    import sys
    import types

    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not runtime.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert runtime.in_colab()


def test_describe_is_one_line():
    line = runtime.describe("cpu")
    assert "\n" not in line and "profile=cpu" in line


def test_settings_copies_the_profile_in_force():
    table = {"smoke": {"steps": 1}, "cpu": {"steps": 2}, "gpu": {"steps": 3}}
    chosen = runtime.settings(table, "cpu")
    chosen["steps"] = 99
    assert table["cpu"] == {"steps": 2} and runtime.settings(table)["steps"] == 1  # the suite runs in smoke
