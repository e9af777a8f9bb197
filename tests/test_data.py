import shutil

import numpy as np
import pytest

from helpers import data
from helpers.data import DataError


@pytest.fixture
def mnist_copy(tmp_path, monkeypatch):
    """A private copy of the data folder, so tests may damage it."""
    shutil.copy(data.mnist_path(), tmp_path / data.MNIST_FILE)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path / data.MNIST_FILE


def test_shipped_file_verifies():
    assert data.verify_mnist() == data.mnist_path()


def test_load_shapes_ranges_and_layouts():
    x, y = data.load_mnist("test")
    assert x.shape == (10_000, 28, 28) and x.dtype == np.float32
    assert y.shape == (10_000,) and set(np.unique(y)) == set(range(10))
    assert x.min() == 0.0 and x.max() == 1.0
    raw, _ = data.load_mnist("test", n=5, dtype="uint8")
    assert raw.dtype == np.uint8 and raw.max() <= 255
    signed, _ = data.load_mnist("test", n=5, value_range=(-1, 1))
    np.testing.assert_allclose(signed, raw / 127.5 - 1, atol=1e-6)
    assert data.load_mnist("train", n=3, channel="first")[0].shape == (3, 1, 28, 28)
    assert data.load_mnist("train", n=3, channel="last")[0].shape == (3, 28, 28, 1)
    assert data.load_mnist("train", n=3, dtype="float64")[0].dtype == np.float64


def test_subset_first_n_and_seeded_random():
    first, labels = data.load_mnist("train", n=4)
    full, full_labels = data.load_mnist("train")
    np.testing.assert_array_equal(first, full[:4])
    np.testing.assert_array_equal(labels, full_labels[:4])
    a, _ = data.load_mnist("train", n=50, seed=3)
    b, _ = data.load_mnist("train", n=50, seed=3)
    c, _ = data.load_mnist("train", n=50, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kwargs, words", [
    ({"split": "validation"}, "split must be one of"),
    ({"n": 0}, "n must be between 1 and 60,000"),
    ({"split": "test", "n": 10_001}, "n must be between 1 and 10,000"),
    ({"dtype": "int32"}, "dtype must be uint8 or a float"),
    ({"channel": "middle"}, "channel must be"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, words):
    with pytest.raises(ValueError, match=words):
        data.load_mnist(**kwargs)


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="not found.*git checkout -- data/mnist.npz"):
        data.load_mnist()


def test_truncated_file(mnist_copy):
    mnist_copy.write_bytes(mnist_copy.read_bytes()[:1_000_000])
    with pytest.raises(DataError, match="1,000,000 bytes.*truncated"):
        data.load_mnist()


def test_altered_file_same_size(mnist_copy):
    raw = bytearray(mnist_copy.read_bytes())
    raw[5_000_000] ^= 0xFF
    mnist_copy.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="wrong SHA-256.*altered"):
        data.load_mnist()


def test_git_lfs_pointer(mnist_copy):
    mnist_copy.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{data.MNIST_SHA256}\nsize {data.MNIST_SIZE}\n"
    )
    with pytest.raises(DataError, match="Git LFS pointer.*git lfs pull"):
        data.load_mnist()


def test_download_only_when_asked_and_verified(tmp_path, monkeypatch):
    target = tmp_path / "fresh" / data.MNIST_FILE
    data.download_mnist(url=data.mnist_path().as_uri(), path=target)
    assert data.verify_mnist(target) == target
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not mnist")
    with pytest.raises(DataError, match="did not verify"):
        data.download_mnist(url=bad.as_uri(), path=tmp_path / "other" / data.MNIST_FILE)
    assert not (tmp_path / "other" / data.MNIST_FILE).exists()
    assert not list((tmp_path / "other").glob("*.part"))


def test_digit_helper():
    d = data.digit(3)
    x, _ = data.load_mnist("test", n=4)
    np.testing.assert_array_equal(d, x[3])


def test_a_download_that_fails_leaves_no_partial_file(tmp_path):
    folder = tmp_path / "offline"
    with pytest.raises(OSError):  # urllib's URLError is an OSError: here, a file that is not there
        data.download_mnist(url=(tmp_path / "missing.npz").as_uri(), path=folder / data.MNIST_FILE)
    assert list(folder.iterdir()) == []
