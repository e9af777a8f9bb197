"""helpers.apps.sr_torch: offline data, degradation, the three methods, their costs, training and metrics."""

import socket
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn

from helpers import torch_utils
from helpers.apps import sr_torch as sr

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails loudly (pooch, urllib, requests all go through socket)."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_bundled_images_load_without_network(no_network):
    package_dir = sr.skimage_data_dir()
    assert not set(sr.TRAIN_IMAGES) & set(sr.TEST_IMAGES), "training and test pictures must be disjoint"
    for name in sr.TRAIN_IMAGES + sr.TEST_IMAGES:
        assert (package_dir / name).is_file(), f"{name} is not shipped inside the scikit-image package"
        image = sr.load_gray(name)
        assert image.ndim == 2 and image.dtype == np.float32 and min(image.shape) >= 200
        assert 0.0 <= image.min() < image.max() <= 1.0


def test_unknown_image_is_an_error_not_a_download(no_network):
    with pytest.raises(FileNotFoundError, match="not shipped"):
        sr.load_gray("no_such_picture.png")


def test_downscale_and_bicubic_shapes():
    hr = torch.rand(2, 1, 30, 33)
    lr = sr.downscale(hr, 3)
    assert lr.shape == (2, 1, 10, 11)
    assert sr.bicubic(lr, 3).shape == hr.shape
    with pytest.raises(ValueError, match="not divisible"):
        sr.downscale(torch.rand(1, 1, 31, 30), 3)
    flat = torch.full((1, 1, 12, 12), 0.3)
    torch.testing.assert_close(sr.bicubic(sr.downscale(flat, 3), 3), flat)


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic with a = −0.5, the kernel of MATLAB's imresize 'bicubic'."""
    a = np.abs(x)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1, np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def _imresize_matrix(n_in: int, scale: float) -> np.ndarray:
    """The (n_out, n_in) matrix of MATLAB's imresize along one axis when shrinking (``contributions`` in
    imresize.m, antialiasing on): the kernel is stretched by 1/scale, its weights normalised, the image mirrored."""
    n_out = int(np.ceil(n_in * scale))
    u = np.arange(1, n_out + 1) / scale + 0.5 * (1 - 1 / scale)   # 1-based input coordinate of each output
    width = 4 / scale
    taps = np.floor(u - width / 2)[:, None] + np.arange(int(np.ceil(width)) + 2)[None, :]
    weights = scale * _cubic(scale * (u[:, None] - taps))
    weights /= weights.sum(1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    matrix = np.zeros((n_out, n_in))
    for row, (where, w) in enumerate(zip(mirror[(taps - 1).astype(int) % (2 * n_in)], weights, strict=True)):
        np.add.at(matrix[row], where, w)
    return matrix


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_is_matlab_imresize_away_from_the_border(scale):
    """Lesson 09's claim: antialiased bicubic in PyTorch computes imresize(hr, 1/scale, 'bicubic') inside the image;
    the borders differ (MATLAB mirrors the image, PyTorch renormalises the cut kernel)."""
    hr = np.random.default_rng(scale).random((12 * scale, 15 * scale))
    matlab = _imresize_matrix(hr.shape[0], 1 / scale) @ hr @ _imresize_matrix(hr.shape[1], 1 / scale).T
    ours = F.interpolate(torch.from_numpy(hr)[None, None], scale_factor=1 / scale, mode="bicubic", antialias=True,
                         align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(ours[3:-3, 3:-3], matlab[3:-3, 3:-3], atol=1e-12)
    assert np.abs(ours - matlab).max() > 1e-3
    clipped = np.clip(matlab, 0, 1)[3:-3, 3:-3]
    np.testing.assert_allclose(sr.downscale(torch.from_numpy(hr)[None, None], scale)[0, 0].numpy()[3:-3, 3:-3],
                               clipped, atol=1e-12)


def test_make_pairs_crops_to_a_multiple_of_the_scale():
    (pair,) = sr.make_pairs(["coins.png"], scale=3)  # 303×384: both divisible by 3
    assert pair.hr.shape[-2:] == (303, 384) and pair.lr.shape[-2:] == (101, 128) and pair.up.shape == pair.hr.shape
    (pair,) = sr.make_pairs(["chelsea.png"], scale=4)  # 300×451 → 300×448
    assert pair.hr.shape[-2:] == (300, 448) and pair.lr.shape[-2:] == (75, 112)


def test_mnist_pairs_are_14_to_28():
    lr, hr = sr.mnist_pairs(8, scale=2)
    assert lr.shape == (8, 1, 14, 14) and hr.shape == (8, 1, 28, 28)
    assert 0.0 <= float(lr.min()) and float(lr.max()) <= 1.0


def test_patches_stay_aligned_under_flips_and_turns():
    """Degrading an HR patch gives its LR patch (away from the border): crops, turns and flips agree."""
    rng = np.random.default_rng(1)
    image = torch.from_numpy(rng.random((1, 1, 90, 120)).astype(np.float32))
    pair = sr.SRImage("noise", image, sr.downscale(image, 3), sr.bicubic(sr.downscale(image, 3), 3))
    sampler = sr.PatchSampler([pair], scale=3, patch=12, seed=0)
    lr, up, hr = sampler(16)
    assert lr.shape == (16, 1, 12, 12) and up.shape == hr.shape == (16, 1, 36, 36)
    torch.testing.assert_close(sr.downscale(hr, 3)[..., 2:-2, 2:-2], lr[..., 2:-2, 2:-2], atol=1e-5, rtol=0)
    torch.testing.assert_close(sr.bicubic(lr, 3)[..., 9:-9, 9:-9], up[..., 9:-9, 9:-9], atol=1e-5, rtol=0)


def test_residual_models_start_near_bicubic():
    """With the global skip the learned part is a correction: zero it and the model is bicubic."""
    lr = torch.rand(2, 1, 10, 12)
    espcn, srcnn = sr.ESPCN(3), sr.SRCNN()
    for model in (espcn, srcnn):
        last = model.to_subpixels if model is espcn else model.body[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    with torch.no_grad():
        torch.testing.assert_close(espcn(lr), sr.bicubic(lr, 3))
        torch.testing.assert_close(srcnn(sr.bicubic(lr, 3)), sr.bicubic(lr, 3))
        assert not torch.allclose(sr.ESPCN(3, residual=False)(lr), sr.ESPCN(3)(lr))


def test_model_shapes():
    lr = torch.rand(2, 1, 10, 12)
    assert sr.ESPCN(3)(lr).shape == (2, 1, 30, 36)
    assert sr.ESPCN(2)(lr).shape == (2, 1, 20, 24)
    assert sr.SRCNN()(sr.bicubic(lr, 3)).shape == (2, 1, 30, 36)
    assert sr.Bicubic(3)(lr).shape == (2, 1, 30, 36)


def test_icnr_starts_without_checkerboard():
    """ICNR makes every scale×scale block of the first output uniform; a plain init does not."""
    torch.manual_seed(0)
    lr = torch.rand(1, 1, 8, 8)
    for scale in (2, 3):
        out = sr.ESPCN(scale).head(lr)
        blocks = out[..., ::scale, ::scale].repeat_interleave(scale, -1).repeat_interleave(scale, -2)
        torch.testing.assert_close(out, blocks)
        plain = sr.ESPCN(scale, icnr=False).head(lr)
        blocks = plain[..., ::scale, ::scale].repeat_interleave(scale, -1).repeat_interleave(scale, -2)
        assert (plain - blocks).abs().max() > 1e-3
    with pytest.raises(ValueError, match="multiple"):
        torch_utils.icnr_(torch.empty(8, 4, 3, 3), 3)


def test_parameters_and_flops_per_output_pixel():
    espcn, srcnn = sr.ESPCN(3), sr.SRCNN()
    assert sr.n_parameters(espcn) == (25 * 64 + 64) + (64 * 9 * 32 + 32) + (32 * 9 * 9 + 9)
    assert sr.n_parameters(srcnn) == (81 * 64 + 64) + (64 * 32 + 32) + (32 * 25 + 1)
    assert sr.n_parameters(sr.Bicubic(3)) == 0
    # ESPCN works on LR pixels: its multiply-adds per LR pixel are shared by scale² = 9 output pixels.
    # Both read a bicubic upsampling (SRCNN as input, residual ESPCN as skip): 16 multiply-adds more.
    bicubic = 2 * 16
    assert sr.flops_per_output_pixel(espcn, scale=3) == pytest.approx(
        2 * (25 * 64 + 64 * 9 * 32 + 32 * 9 * 9) / 9 + bicubic)
    assert sr.flops_per_output_pixel(sr.ESPCN(3, residual=False), scale=3) == pytest.approx(
        2 * (25 * 64 + 64 * 9 * 32 + 32 * 9 * 9) / 9)
    assert sr.flops_per_output_pixel(srcnn, scale=3) == pytest.approx(2 * (81 * 64 + 64 * 32 + 32 * 25) + bicubic)
    assert sr.flops_per_output_pixel(sr.Bicubic(3)) == 32


def test_psnr_ssim_match_skimage():
    rng = np.random.default_rng(0)
    a, b = rng.random((40, 50)), rng.random((40, 50))
    p, s = sr.psnr_ssim(b, a, border=3)
    assert p == pytest.approx(peak_signal_noise_ratio(a[3:-3, 3:-3], b[3:-3, 3:-3], data_range=1.0))
    assert s == pytest.approx(structural_similarity(a[3:-3, 3:-3], b[3:-3, 3:-3], data_range=1.0))
    assert sr.psnr_ssim(a, a + 1e-3, border=0)[1] == pytest.approx(1.0, abs=1e-4)


def _tiny_images():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:60, 0:60] / 60.0
    pictures = [np.sin(7 * x + 3 * y) * 0.4 + 0.5, (x > 0.4).astype(float) * 0.8 + 0.1,
                rng.random((60, 60)) * 0.2 + 0.4]
    images = []
    for k, picture in enumerate(pictures):
        hr = torch.from_numpy(picture.astype(np.float32))[None, None]
        lr = sr.downscale(hr, 3)
        images.append(sr.SRImage(f"synthetic{k}", hr, lr, sr.bicubic(lr, 3)))
    return images


@pytest.mark.parametrize("make", [lambda: sr.ESPCN(3, n1=16, n2=8, residual=False),
                                  lambda: sr.SRCNN(n1=16, n2=8, residual=False)])
def test_a_few_training_steps_reduce_the_loss(make):
    torch.manual_seed(0)
    sampler = sr.PatchSampler(_tiny_images(), scale=3, patch=8, seed=0)
    model = make()
    history = sr.train(model, sampler, steps=60, batch_size=8, lr=3e-3)
    assert history["steps"] == 60 and len(history["losses"]) == 60
    assert np.mean(history["losses"][-10:]) < 0.5 * np.mean(history["losses"][:5])
    assert not model.training


def test_evaluate_builds_one_row_per_method():
    images = _tiny_images()
    rows = sr.evaluate({"bicubic": sr.Bicubic(3), "ESPCN": sr.ESPCN(3, n1=8, n2=8)}, images, scale=3, repeats=1)
    assert [row["method"] for row in rows] == ["bicubic", "ESPCN"]
    expected = np.mean([sr.psnr_ssim(sr.bicubic(im.lr, 3)[0, 0].numpy(), im.hr[0, 0].numpy(), 3)[0] for im in images])
    assert rows[0]["PSNR dB"] == pytest.approx(expected)
    assert rows[0]["parameters"] == 0 and rows[1]["parameters"] > 0 and rows[1]["ms/megapixel"] > 0
    table = sr.format_table(rows)
    assert table.count("\n") == 3 and "| bicubic | 0 |" in table


def test_predict_reads_the_input_the_model_expects():
    (image,) = _tiny_images()[:1]
    identity = nn.Identity()
    identity.input_kind = "up"
    np.testing.assert_allclose(sr.predict(identity, image), image.up[0, 0].clamp(0, 1).numpy())
    np.testing.assert_allclose(sr.predict(sr.Bicubic(3), image), image.up[0, 0].numpy(), atol=1e-6)


def _course_loop_by_hand(model, sampler, steps, batch_size, lr, milestone):
    """Adam on the MSE with one ten-fold drop after ``milestone`` steps: what train's default path must stay."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        if step == milestone:
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.1
        lr_patch, up_patch, hr_patch = sampler(batch_size)
        loss = F.mse_loss(model(up_patch if model.input_kind == "up" else lr_patch), hr_patch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_train_without_a_loop_is_the_course_loop():
    """The default path: Adam, MSE, the drop after four fifths of the steps; ``plain_loop`` is the same without it."""
    def run(fn):
        torch.manual_seed(0)
        model = sr.ESPCN(3, n1=8, n2=8)
        return fn(model, sr.PatchSampler(_tiny_images(), scale=3, patch=6, seed=0))

    expected = run(lambda m, s: _course_loop_by_hand(m, s, 10, 4, 1e-2, milestone=8))
    np.testing.assert_allclose(run(lambda m, s: sr.train(m, s, 10, batch_size=4, lr=1e-2)["losses"]), expected,
                               rtol=1e-5)
    flat = run(lambda m, s: _course_loop_by_hand(m, s, 10, 4, 1e-2, milestone=10))
    np.testing.assert_allclose(run(lambda m, s: sr.plain_loop(m, s, 10, 4, 1e-2)), flat, rtol=1e-5)


def test_train_hands_its_schedule_to_a_given_loop():
    """``loop=`` is really called: four fifths of the steps at lr, the rest at lr/10, batches on the device."""
    calls = []

    def spy(model, sampler, steps, batch_size, lr):
        calls.append((steps, batch_size, lr))
        lr_patch, up_patch, hr_patch = sampler(batch_size)
        calls.append((lr_patch.device.type, tuple(lr_patch.shape), tuple(hr_patch.shape)))
        model.train()
        return [0.5] * steps

    model = sr.ESPCN(3, n1=8, n2=8)
    history = sr.train(model, sr.PatchSampler(_tiny_images(), scale=3, patch=6, seed=0), 10, batch_size=4, lr=1e-2,
                       loop=spy)
    assert calls[0] == (8, 4, 1e-2) and calls[2][:2] == (2, 4) and calls[2][2] == pytest.approx(1e-3)
    assert calls[1] == ("cpu", (4, 1, 6, 6), (4, 1, 18, 18))
    assert history["steps"] == 10 and history["losses"] == [0.5] * 10 and not model.training
    assert history["seconds"] >= 0 and history["cpu_seconds"] >= 0


def test_train_with_the_plain_loop_learns_like_the_course_loop():
    torch.manual_seed(0)
    model = sr.ESPCN(3, n1=16, n2=8, residual=False)
    history = sr.train(model, sr.PatchSampler(_tiny_images(), scale=3, patch=8, seed=0), 60, batch_size=8, lr=3e-3,
                       loop=sr.plain_loop)
    assert history["steps"] == 60 and len(history["losses"]) == 60
    assert np.mean(history["losses"][-10:]) < 0.5 * np.mean(history["losses"][:5])


def test_a_time_limit_skips_the_second_call_of_a_loop():
    calls = []

    def slow(model, sampler, steps, batch_size, lr):
        calls.append(steps)
        start = time.process_time()
        while time.process_time() - start < 0.05:
            pass
        return [0.0] * steps

    history = sr.train(sr.ESPCN(2, n1=4, n2=4), sr.PatchSampler(_tiny_images(), scale=3, patch=6, seed=0), 10,
                       loop=slow, time_limit=0.01)
    assert calls == [8] and history["steps"] == 8


def test_every_app_settings_table_has_exactly_the_run_profiles():
    from helpers import runtime
    from helpers.apps import pix2pix_torch, sr_torch

    for table in (sr_torch.SETTINGS, pix2pix_torch.SETTINGS):
        assert tuple(table) == runtime.PROFILES
