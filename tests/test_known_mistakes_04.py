"""Lesson 04's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "04_checkerboard_artifacts.ipynb"

#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    ("pixel_shuffle", '''
def pixel_shuffle(x, upscale_factor):
    r = upscale_factor
    n, c, h, w = x.shape
    return x.reshape(n, r, r, c // (r * r), h, w).transpose(0, 3, 4, 1, 5, 2).reshape(n, c // (r * r), h * r, w * r)
''', "with TensorFlow's channel order"),
    ("pixel_shuffle", '''
def pixel_shuffle(x, upscale_factor):
    r = upscale_factor
    n, c, h, w = x.shape
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 3, 5, 2).reshape(n, c // (r * r), h * r, w * r)
''', "with i and j swapped"),
    ("icnr", '''
def icnr(w0, r):
    return np.tile(w0, (r * r, 1, 1, 1))
''', "with the whole w0 repeated r·r times (np.tile)"),
    ("conv_transpose_by_phases", '''
def conv_transpose_by_phases(x, weight):
    n, _, h, w = x.shape
    phases = np.empty((n, weight.shape[1], 2, 2, h, w))
    for a in (0, 1):
        for b in (0, 1):
            sub = weight[:, :, 1 - a::2, 1 - b::2].transpose(1, 0, 2, 3)
            phases[:, :, a, b] = reference.conv2d(x, sub, padding=1)[:, :, a:a + h, b:b + w]
    return pixel_shuffle(phases.reshape(n, -1, h, w), 2)
''', "with the sub-kernels not flipped"),
    ("conv_transpose_by_phases", '''
def conv_transpose_by_phases(x, weight):
    n, _, h, w = x.shape
    phases = np.empty((n, weight.shape[1], 2, 2, h, w))
    for a in (0, 1):
        for b in (0, 1):
            sub = weight[:, :, a::2, b::2][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            phases[:, :, a, b] = reference.conv2d(x, sub, padding=1)[:, :, a:a + h, b:b + w]
    return pixel_shuffle(phases.reshape(n, -1, h, w), 2)
''', "with phase (a, b) given weight[:, :, a::2, b::2]"),
    ("conv_transpose_by_phases", '''
def conv_transpose_by_phases(x, weight):
    n, _, h, w = x.shape
    phases = np.empty((n, weight.shape[1], 2, 2, h, w))
    for a in (0, 1):
        for b in (0, 1):
            sub = weight[:, :, 1 - a::2, 1 - b::2][:, :, ::-1, ::-1]
            phases[:, :, a, b] = reference.conv2d(x, sub, padding=1)[:, :, a:a + h, b:b + w]
    return pixel_shuffle(phases.reshape(n, -1, h, w), 2)
''', "This usually means that the sub-kernel's channel axes are not swapped"),
    ("nyquist_share", '''
def nyquist_share(images):
    shares = []
    for image in images:
        h, w = image.shape
        power = np.abs(np.fft.fft2(image - image.mean())) ** 2
        nyquist = power[h // 2, :].sum() + power[:, w // 2].sum() - power[h // 2, w // 2]
        shares.append(nyquist / power.sum())
    return float(np.mean(shares))
''', "as the mean of each image's own share"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)
