"""Lesson 03's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "03_transposed_convolution.ipynb"


def _via_conv(pad: str, kernel: str) -> str:
    """A learner's conv_transpose2d_via_conv with their own padding and kernel expressions."""
    return f'''
def conv_transpose2d_via_conv(x, weight, stride=1, padding=0):
    n, c_in, h, w = x.shape
    kh, kw = weight.shape[2:]
    z = np.zeros((n, c_in, (h - 1) * stride + 1, (w - 1) * stride + 1))
    z[:, :, ::stride, ::stride] = x
    z = np.pad(z, ((0, 0), (0, 0), ({pad[0]}, {pad[0]}), ({pad[1]}, {pad[1]})))
    return conv2d(z, {kernel})
'''


RIGHT_PAD, RIGHT_KERNEL = ("kh - 1 - padding", "kw - 1 - padding"), "weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]"

#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    ("bilinear_kernel", '''
def bilinear_kernel(channels):
    taps = np.array([1, 3, 3, 1]) / 4
    return np.tile(np.outer(taps, taps), (channels, channels, 1, 1))
''', "with the kernel on every pair of channels"),
    ("conv_transpose2d_via_conv", _via_conv(RIGHT_PAD, "weight.transpose(1, 0, 2, 3)"),
     "with the kernel not flipped"),
    ("conv_transpose2d_via_conv", _via_conv(RIGHT_PAD, "weight[:, :, ::-1, ::-1]"),
     "with the in and out channel axes of the kernel not swapped"),
    # .T reverses all four axes: conv2d then reads a kernel whose channel axes do not fit x's channels
    ("conv_transpose2d_via_conv", _via_conv(RIGHT_PAD, "weight.T[:, :, ::-1, ::-1]"),
     "This usually means the kernel's channel axes are not (C_out, C_in)"),
    ("conv_transpose2d_via_conv", _via_conv(("padding", "padding"), RIGHT_KERNEL),
     "with the zeros padded by padding instead of k - 1 - padding"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)
