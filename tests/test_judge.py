"""The judge: NumPy-only inference that matches a direct convolution, hash-checked weights, and
metrics that behave as their definitions say on real digits, on degenerate batches and on noise."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy import linalg, signal

from helpers import ROOT, judge
from helpers.data import load_mnist


@pytest.fixture(scope="module")
def test_digits():
    return load_mnist("test", n=2000, dtype="uint8")


def test_module_imports_neither_framework():
    code = ("import sys, helpers.judge as j; j.load_judge(); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_conv_matches_scipy_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)  # channels-last
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)  # PyTorch (O, C, kh, kw)
    b = rng.normal(size=4).astype(np.float32)
    got = judge._conv3x3_relu(x, w, b)
    want = np.zeros((2, 6, 5, 4))
    for n in range(2):
        for o in range(4):
            want[n, :, :, o] = b[o] + sum(signal.correlate2d(x[n, :, :, c], w[o, c], mode="same") for c in range(3))
    np.testing.assert_allclose(got, np.maximum(want, 0), rtol=1e-5, atol=1e-5)


def test_accuracy_of_the_shipped_judge(test_digits):
    x, y = test_digits
    assert judge.accuracy(x, y) >= 0.985
    assert float(judge.load_judge().meta["test_accuracy"]) >= 0.99


def test_input_layouts_and_value_ranges_agree(test_digits):
    x = test_digits[0][:64]
    j = judge.load_judge()
    p = j.predict_proba(x)
    assert p.shape == (64, 10) and np.allclose(p.sum(axis=1), 1.0)
    unit = x.astype(np.float32) / 255
    np.testing.assert_allclose(j.predict_proba(unit[:, None]), p, atol=1e-5)
    np.testing.assert_allclose(j.predict_proba((unit * 2 - 1)[..., None], value_range=(-1, 1)), p, atol=1e-5)
    assert j.features(x).shape == (64, j.feature_dim)
    with pytest.raises(ValueError, match="28×28"):
        j.predict_proba(np.zeros((3, 32, 32)))
    with pytest.raises(ValueError, match="NaN"):
        j.predict_proba(np.full((2, 28, 28), np.nan))


def test_tampered_or_missing_weights_are_refused(tmp_path):
    bad = tmp_path / judge.JUDGE_FILE
    shutil.copy(judge.judge_path(), bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(judge.JudgeError, match="SHA-256"):
        judge.load_judge(bad)
    with pytest.raises(judge.JudgeError, match="not found"):
        judge.load_judge(tmp_path / "missing.npz")
    assert isinstance(judge.load_judge(), judge.Judge) and judge.load_judge() is judge.load_judge()  # cached


def test_frechet_distance_matches_the_sqrtm_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 0.5
    (m1, s1), (m2, s2) = judge.gaussian_stats(a), judge.gaussian_stats(b)
    want = (m1 - m2) @ (m1 - m2) + np.trace(s1 + s2 - 2 * np.real(linalg.sqrtm(s1 @ s2)))
    assert judge.frechet_distance(m1, s1, m2, s2) == pytest.approx(want, rel=1e-6)
    assert judge.frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-6)
    singular = np.diag([1.0, 0.0, 2.0])  # dead features: no NaN, no warning needed
    assert np.isfinite(judge.frechet_distance(np.zeros(3), singular, np.ones(3), singular))


def test_inception_score_and_coverage_definitions():
    one_hot = np.eye(10)[np.arange(100) % 10]
    assert judge.inception_score(one_hot) == pytest.approx(10.0, rel=1e-6)
    assert judge.class_coverage(one_hot) == pytest.approx(1.0)
    same = np.tile(np.eye(10)[3], (50, 1))
    assert judge.inception_score(same) == pytest.approx(1.0, rel=1e-6)
    assert judge.class_coverage(same) == 0.0
    two = np.eye(10)[np.arange(100) % 2]
    assert judge.class_coverage(two) == pytest.approx(np.log(2) / np.log(10))


def test_scores_separate_real_digits_from_one_digit_and_noise(test_digits):
    x, y = test_digits
    real = judge.real_reference(1000)
    assert set(real) == {"fid", "inception_score", "confident", "coverage", "n"} and real["n"] == 1000
    assert real["inception_score"] > 9.0 and real["coverage"] > 0.99 and real["confident"] > 0.9
    ones = judge.scores(x[y == 1][:300])
    assert ones["coverage"] < 0.1 and ones["inception_score"] < 1.5 and ones["fid"] > 10 * real["fid"]
    noise = judge.scores(np.random.default_rng(0).integers(0, 256, (300, 28, 28), dtype=np.uint8))
    assert noise["fid"] > 20 * real["fid"] and noise["inception_score"] < real["inception_score"]
    mixed = judge.scores(x[:1000])
    assert mixed["fid"] < ones["fid"] and mixed["inception_score"] > 9.0
