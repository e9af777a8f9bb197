"""Lesson 02's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "02_upsampling_from_scratch.ipynb"

#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    ("upsample_nearest", '''
def upsample_nearest(x, scale_factor):
    sh, sw = scale_factor if isinstance(scale_factor, tuple) else (scale_factor, scale_factor)
    if int(sh) != sh or int(sw) != sw or sh < 1 or sw < 1:
        raise ValueError("scale_factor must be whole numbers >= 1")
    return np.tile(x, (1, 1, sh, sw))
''', "with np.tile"),
    ("interpolate_bilinear", '''
def interpolate_bilinear(x, size, align_corners=False):
    h_out, w_out = (size, size) if np.isscalar(size) else size
    h, w = x.shape[2:]

    def taps(n_in, n_out):
        i = np.arange(n_out)
        if align_corners:
            src = np.maximum((i + 0.5) * n_in / n_out - 0.5, 0)
        else:
            src = i * (n_in - 1) / max(n_out - 1, 1)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    r0, r1, tr = taps(h, h_out)
    c0, c1, tc = taps(w, w_out)
    rows = x[:, :, r0] * (1 - tr)[:, None] + x[:, :, r1] * tr[:, None]
    return rows[..., c0] * (1 - tc) + rows[..., c1] * tc
''', "with the two align_corners formulas swapped"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)
