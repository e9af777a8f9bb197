"""helpers.runs: where a lesson's training run writes, and when it starts a new folder."""

import pytest

from helpers import ROOT, runs


def first(x):
    return x + 1


def second(x):
    return x + 2


def test_a_run_folder_is_named_by_the_run_the_profile_and_its_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RUNS", str(tmp_path))
    assert runs.run_folder("08_dcgan", "abc", "f00d", profile="cpu") == tmp_path / "08_dcgan_cpu_abc_f00d"
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    assert runs.run_folder("08_ablation", "resize_conv") == tmp_path / "08_ablation_gpu_resize_conv"


def test_without_course_runs_the_runs_live_in_the_course_folder(monkeypatch):
    monkeypatch.delenv("COURSE_RUNS", raising=False)
    assert runs.run_folder("08_dcgan", "k", profile="cpu") == ROOT / "runs" / "08_dcgan_cpu_k"


def test_the_smoke_profile_gets_a_fresh_empty_folder_each_time(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RUNS", str(tmp_path))
    a, b = (runs.run_folder("08_dcgan", "k", profile="smoke") for _ in range(2))
    assert a != b and a.is_dir() and not any(a.iterdir()) and tmp_path not in a.parents


def test_the_code_hash_changes_with_any_function_s_source():
    assert runs.code_hash(first, second) == runs.code_hash(first, second)
    assert len(runs.code_hash(first)) == 8
    assert len({runs.code_hash(first), runs.code_hash(second), runs.code_hash(first, second)}) == 3
    with pytest.raises(TypeError):
        runs.code_hash(len)  # a built-in has no source: refused, not hashed as empty
