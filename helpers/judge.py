"""The judge: a small MNIST classifier that measures generated digits, in NumPy only.

A GAN's loss says little about how good its digits are, so the course ships a
classifier (trained by ``scripts/train_judge.py``, weights in ``data/judge.npz``,
SHA-256 checked on load) and scores a batch of generated digits with it:

* ``fid`` — the Fréchet distance between Gaussians fitted to the judge's penultimate
  features of the samples and of the MNIST *test* set (lower is better);
* ``inception_score`` — ``exp(E_x KL(p(y|x) || p(y)))``: high when each digit is
  recognised confidently *and* the classes are varied (at most 10);
* ``confident`` — the share of samples whose top class has probability > 0.9;
* ``coverage`` — the entropy of the histogram of predicted classes divided by
  ``log(10)``: 1.0 when all ten digits are equally frequent, 0 for a single class.

:func:`real_reference` gives the same numbers for real *training* digits, so every
score has its real-data value beside it. These scores come from *this* classifier:
they are not comparable with FID/IS computed with Inception-v3 or any other network.

The inference is plain NumPy (im2col + matrix products), so the module runs in a
Keras kernel without PyTorch and in a PyTorch kernel without TensorFlow.

Used in lessons 07, 08 and 10.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from . import DATA_DIR
from .arrays import squeeze_channel
from .data import verify_file

JUDGE_FILE = "judge.npz"
#: SHA-256 of ``data/judge.npz`` as written by ``scripts/train_judge.py`` (see data/README.md).
JUDGE_SHA256 = "7943df0a70e59ef2a04ecf611ba8430dcb54138fcb91b2297e0d7fc13136c86c"
NUM_CLASSES = 10
CONFIDENT_P = 0.9
_CHUNK = 1000  # images per im2col chunk: bounds memory to a few tens of MB


class JudgeError(RuntimeError):
    """The judge's weights are missing, altered or unreadable."""


def judge_path() -> Path:
    """Where the judge's weights live: ``data/judge.npz`` (``COURSE_DATA_DIR`` overrides the folder)."""
    return Path(os.environ.get("COURSE_DATA_DIR", DATA_DIR)) / JUDGE_FILE


# --------------------------------------------------------------------------- inputs

def as_unit_images(images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> np.ndarray:
    """Bring a batch to float32 ``(N, 28, 28)`` in [0, 1].

    Accepts ``(N, 28, 28)``, ``(N, 1, 28, 28)``, ``(N, 28, 28, 1)`` or one ``(28, 28)``
    image; uint8 pixels are divided by 255 (``value_range`` is then ignored), floats are
    mapped linearly from ``value_range`` (e.g. ``(-1, 1)`` for a tanh generator) and clipped.
    """
    x = squeeze_channel(images)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            "the judge expects 28×28 digits shaped (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1); "
            f"got {np.shape(images)}"
        )
    if len(x) == 0:
        raise ValueError("the judge got an empty batch")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"images must be uint8 or floating point, got {x.dtype}")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the images contain NaN or infinite values")
    return np.clip((x.astype(np.float32) - lo) / np.float32(hi - lo), 0.0, 1.0)


# --------------------------------------------------------------------------- network

def _conv3x3_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3×3 convolution, padding 1, then ReLU. ``x`` is channels-last (N, H, W, C); ``w`` PyTorch's (O, C, 3, 3)."""
    n, h, wd, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # (N, H, W, C, 3, 3)
    cols = cols.reshape(n * h * wd, c * 9)  # (C, kh, kw) order, as PyTorch flattens its weight
    out = cols @ w.reshape(len(w), -1).T + b
    return np.maximum(out, 0.0, out=out).reshape(n, h, wd, len(w))


def _maxpool2(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Judge:
    """The classifier: conv3×3(16)-ReLU-pool · conv3×3(32)-ReLU-pool · fc(128)-ReLU · fc(10).

    Weights are stored in PyTorch's layouts; ``features`` are the 128 ReLU outputs of the
    penultimate layer, ``predict_proba`` the softmax over the ten digits.
    """

    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items() if not k.startswith("meta_")}
        self.meta = {k[5:]: weights[k] for k in weights if k.startswith("meta_")}
        self.feature_dim = int(self.w["fc1_w"].shape[0])

    def _forward(self, images: ArrayLike, value_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        x = as_unit_images(images, value_range)
        feats, logits = [], []
        for start in range(0, len(x), _CHUNK):
            h = x[start:start + _CHUNK, :, :, None]
            h = _maxpool2(_conv3x3_relu(h, self.w["conv1_w"], self.w["conv1_b"]))
            h = _maxpool2(_conv3x3_relu(h, self.w["conv2_w"], self.w["conv2_b"]))
            h = h.transpose(0, 3, 1, 2).reshape(len(h), -1)  # flatten as PyTorch does: (C, H, W)
            f = np.maximum(h @ self.w["fc1_w"].T + self.w["fc1_b"], 0.0)
            feats.append(f)
            logits.append(f @ self.w["fc2_w"].T + self.w["fc2_b"])
        return np.concatenate(feats), np.concatenate(logits)

    def features(self, images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> np.ndarray:
        """Penultimate features ``(N, 128)`` — what the Fréchet distance compares."""
        return self._forward(images, value_range)[0]

    def logits(self, images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> np.ndarray:
        """The ten class logits of each image, ``(N, 10)``."""
        return self._forward(images, value_range)[1]

    def predict_proba(self, images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> np.ndarray:
        """Class probabilities ``(N, 10)``."""
        return _softmax(self.logits(images, value_range))

    def predict(self, images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> np.ndarray:
        """The recognised digit of each image, ``(N,)``."""
        return self.logits(images, value_range).argmax(axis=1)

    def features_and_proba(self, images: ArrayLike,
                           value_range: tuple[float, float] = (0, 1)) -> tuple[np.ndarray, np.ndarray]:
        """Both in one pass (what :func:`scores` needs)."""
        feats, logits = self._forward(images, value_range)
        return feats, _softmax(logits)


# --------------------------------------------------------------------------- loading

def verify_judge(path: str | Path | None = None, expected_sha256: str | None = None) -> Path:
    """Check that the judge's weights are present and unaltered; return the path.

    Raises :class:`JudgeError` that says what is wrong and how to fix it.
    """
    fix = ("Restore it with `git checkout -- data/judge.npz` in the course folder, or retrain it with "
           "`python scripts/train_judge.py` (which prints the new hash to put into helpers/judge.py).")
    return verify_file(path if path is not None else judge_path(), expected_sha256 or JUDGE_SHA256,
                       what="the judge's weights", fix=fix, error=JudgeError)


@lru_cache(maxsize=4)
def _load(path: str, expected_sha256: str | None) -> Judge:
    verified = verify_judge(path, expected_sha256)
    try:
        with np.load(verified) as archive:
            weights = {k: archive[k] for k in archive.files}
    except Exception as exc:  # a verified file should load; say so if it does not
        raise JudgeError(f"could not read the judge's weights from {verified}: {exc}") from exc
    return Judge(weights)


def load_judge(path: str | Path | None = None, *, expected_sha256: str | None = None) -> Judge:
    """The shipped judge, hash-checked on the first load and cached for the process."""
    return _load(str(Path(path) if path is not None else judge_path()), expected_sha256)


# --------------------------------------------------------------------------- metrics

def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), the Fréchet distance between two Gaussians.

    Tr((Σ₁Σ₂)^½) is computed as the sum of the square roots of the eigenvalues of the
    symmetric matrix Σ₁^½ Σ₂ Σ₁^½ (the same eigenvalues), with ``scipy.linalg.eigh``: equal
    to the usual ``scipy.linalg.sqrtm`` formula (pytorch-fid), but stable when a covariance
    is singular — which happens here, because some ReLU features are always 0.
    """
    mu1, mu2 = np.atleast_1d(np.float64(mu1)), np.atleast_1d(np.float64(mu2))
    sigma1, sigma2 = np.atleast_2d(np.float64(sigma1)), np.atleast_2d(np.float64(sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"mismatched statistics: {mu1.shape}, {sigma1.shape} vs {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    values, vectors = linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = root1 @ sigma2 @ root1
    trace_covmean = np.sqrt(np.clip(linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean, 0.0))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``(N, D)`` features, in float64 (the Gaussian that FID compares)."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def inception_score(proba: np.ndarray, eps: float = 1e-12) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))`` over the whole batch (one split)."""
    proba = np.asarray(proba, np.float64)
    marginal = proba.mean(axis=0, keepdims=True)
    kl = np.sum(proba * (np.log(proba + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def class_coverage(proba: np.ndarray) -> float:
    """Entropy of the predicted-class histogram divided by log(10): 1 = all ten digits equally often."""
    counts = np.bincount(np.asarray(proba).argmax(axis=1), minlength=NUM_CLASSES).astype(np.float64)
    p = counts / counts.sum()
    p = p[p > 0]
    return float(max(0.0, -(p * np.log(p)).sum() / np.log(NUM_CLASSES)))  # max: no -0.0 for one class


@lru_cache(maxsize=1)
def test_stats() -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the judge's features on the 10,000 MNIST test digits (cached)."""
    from .data import load_mnist

    judge = load_judge()
    if "test_mu" in judge.w and "test_sigma" in judge.w:  # shipped with the weights
        return np.float64(judge.w["test_mu"]), np.float64(judge.w["test_sigma"])
    x, _ = load_mnist("test", dtype="uint8")
    return gaussian_stats(judge.features(x))


def scores(images: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> dict:
    """The judge's verdict on a batch of digits (at least a few hundred for a stable FID).

    Returns ``{"fid", "inception_score", "confident", "coverage", "n"}``; see the module docstring.
    """
    judge = load_judge()
    feats, proba = judge.features_and_proba(images, value_range)
    if len(feats) < 2:
        raise ValueError("scores need at least two images (a covariance of one sample is undefined)")
    mu, sigma = gaussian_stats(feats)
    mu_test, sigma_test = test_stats()
    return {
        "fid": frechet_distance(mu, sigma, mu_test, sigma_test),
        "inception_score": inception_score(proba),
        "confident": float(np.mean(proba.max(axis=1) > CONFIDENT_P)),
        "coverage": class_coverage(proba),
        "n": int(len(feats)),
    }


@lru_cache(maxsize=16)
def real_reference(n: int = 5000, seed: int = 0) -> dict:
    """:func:`scores` for ``n`` real training digits (a seeded random subset) against the test set.

    Compare a GAN's scores with this row computed for the same ``n``: the Fréchet distance
    of a finite sample is biased upwards, so real-vs-real is not 0.
    """
    from .data import load_mnist

    x, _ = load_mnist("train", n=n, dtype="uint8", seed=seed)
    return scores(x)


def accuracy(images: ArrayLike, labels: ArrayLike, value_range: tuple[float, float] = (0, 1)) -> float:
    """Share of ``images`` the judge assigns to ``labels``."""
    labels = np.asarray(labels).reshape(-1)
    predicted = load_judge().predict(images, value_range)
    if len(predicted) != len(labels):
        raise ValueError(f"{len(predicted)} images but {len(labels)} labels")
    return float(np.mean(predicted == labels))
