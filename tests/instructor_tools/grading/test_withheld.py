"""Answers through helpers that are not the answer's own: graded on the real lessons 02 and 03, they earn nothing.

The copy of ``helpers`` a graded kernel imports withholds what computes an exercise's answer
(``grading/answers.py``): here, a private helper of the answer (lesson 02's bilinear taps) and a
helper that computes the same thing another way (lesson 03's convolution matrix, transposed).
"""

from __future__ import annotations

import copy
import sys

import nbformat
import pytest
from planted_lesson import LESSON, POINTS, TARGET, TIMEOUT, grade_id, solution_code, solved_except, student_notebook

from helpers import ROOT
from instructor_tools.grading import Limits, grade_folder
from instructor_tools.grading.notebook import load_lesson

LESSON_03 = "03_transposed_convolution.ipynb"
TRANSPOSED = ("conv_transpose2d_scatter", "conv_transpose2d_via_conv")

BILINEAR_FROM_PRIVATE_TAPS = '''
import numpy as np
from helpers import reference


def interpolate_bilinear(x, size, align_corners=False):
    h_out, w_out = (size, size) if np.isscalar(size) else size
    r0, r1, tr = reference._linear_taps(x.shape[2], h_out, align_corners, None)
    c0, c1, tc = reference._linear_taps(x.shape[3], w_out, align_corners, None)
    rows = x[:, :, r0] * (1 - tr)[:, None] + x[:, :, r1] * tr[:, None]
    return rows[..., c0] * (1 - tc) + rows[..., c1] * tc
'''


# Lesson 02's first two exercises through lesson 03's transposed convolution (a box kernel, one tap).
FROM_LATER_LESSONS = '''
import numpy as np
from helpers import reference


def _through_transposed_convolution(x, scale, taps):
    sh, sw = reference.as_pair(scale, "scale_factor", 1)  # whole factors only, as the exercise asks
    kernel = np.zeros((sh, sw), dtype=x.dtype)
    kernel[taps] = 1
    weight = np.eye(x.shape[1], dtype=x.dtype)[:, :, None, None] * kernel  # channel c to channel c only
    return reference.conv_transpose2d(x, weight, stride=(sh, sw)).astype(x.dtype)


def upsample_nearest(x, scale):
    return _through_transposed_convolution(x, scale, (slice(None), slice(None)))  # a box of ones


def upsample_zeros(x, scale):
    return _through_transposed_convolution(x, scale, (0, 0))  # one tap: a bed of nails
'''
LATER = ("upsample_nearest", "upsample_zeros")

# Both exercises of lesson 04 through the transposed convolution its demos use: of ones (the overlap
# count), and with one-hot kernels, stride r (the pixel shuffle).
LESSON_04 = "04_checkerboard_artifacts.ipynb"
FROM_TRANSPOSED = '''
import numpy as np
from helpers import reference


def overlap_count(kernel_size, stride, size):
    ones = np.ones((1, 1, size, size))
    kernel = np.ones((1, 1, kernel_size, kernel_size))
    return reference.conv_transpose2d(ones, kernel, stride=stride)[0, 0].astype(np.int64)


def pixel_shuffle(x, upscale_factor):
    r, c_in = upscale_factor, x.shape[1]
    weight = np.zeros((c_in, c_in // (r * r), r, r), dtype=x.dtype)  # input channel c*r*r + i*r + j -> tap (i, j) of c
    for k in range(c_in):
        weight[k, k // (r * r), (k % (r * r)) // r, k % r] = 1
    return reference.conv_transpose2d(x, weight, stride=r).astype(x.dtype)
'''


# Lesson 03's adjoint test without its transpose: both sides are equal when Cᵀ is right, so one side twice.
SAME_SIDE_TWICE = '''
import numpy as np
from helpers import reference


def adjoint_sides(x, y, weight, stride=1, padding=0, transpose=None):
    side = float(np.vdot(reference.conv2d(x, weight, stride=stride, padding=padding), y))
    return side, side
'''


# Lesson 04's and 05's new exercises composed from course helpers that compute them another way (a red team's).
LESSON_05 = "05_upsampling_in_keras.ipynb"
COMPOSED_04 = {
    "icnr": '''
import numpy as np
import torch
from helpers import torch_utils


def icnr(w0, r):
    out = torch.empty((len(w0) * r * r, *w0.shape[1:]), dtype=torch.float64)
    torch_utils.icnr_(out, r, init=lambda t: t.copy_(torch.from_numpy(np.asarray(w0))))
    return out.numpy()
''',
    "conv_transpose_by_phases": '''
import numpy as np
from helpers import reference


def conv_transpose_by_phases(x, weight):
    z = np.pad(reference.upsample_zeros(x, 2), ((0, 0), (0, 0), (2, 1), (2, 1)))
    return reference.conv2d(z, np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)))
''',
    "nyquist_share": '''
from helpers import plotting


def nyquist_share(images):
    power = plotting.power_spectrum(images)  # shifted: the Nyquist row and column are row 0 and column 0
    total = power.sum()
    return 0.0 if total == 0 else float((power[0].sum() + power[:, 0].sum() - power[0, 0]) / total)
''',
}
COMPOSED_05 = {"icnr_keras": '''
import numpy as np
from helpers import reference


def icnr_keras(kernel0, r):
    k = np.asarray(kernel0)
    kh, kw, c_in, c = k.shape
    t = reference.icnr((c * r * r, c_in, kh, kw), r, init=lambda shape, rng: k.transpose(3, 2, 0, 1))
    t = t.reshape(c, r * r, c_in, kh, kw).transpose(1, 0, 2, 3, 4).reshape(c * r * r, c_in, kh, kw)
    return t.transpose(2, 3, 1, 0)
'''}


def transposed_from_conv_matrix(name: str) -> str:
    return f'''
import numpy as np
from helpers import reference


def {name}(x, weight, stride=1, padding=0):
    n, _, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    size = ((h - 1) * stride - 2 * padding + kh, (w - 1) * stride - 2 * padding + kw)
    matrix = reference.conv_matrix(weight, size, stride=stride, padding=padding)  # C of the conv that undoes it
    return (x.reshape(n, -1) @ matrix).reshape(n, c_out, *size)  # each image times Cᵀ
'''


def lesson_with(name: str, code: dict[str, str]):
    """Lesson ``name``'s student version, every exercise solved, those in ``code`` replaced by it."""
    solution = nbformat.read(ROOT / "solutions" / name, as_version=4)
    nb = copy.deepcopy(nbformat.read(ROOT / "notebooks" / name, as_version=4))
    solved = {grade_id(c): c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        if grade_id(cell) in solved:
            cell.source = code.get(grade_id(cell), solved[grade_id(cell)])
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Both planted submissions and the untouched solutions, graded once: (lesson, student) -> Graded."""
    folder = tmp_path_factory.mktemp("withheld") / "submissions"
    notebooks = {
        ("02", "private_taps"): (LESSON, solved_except(TARGET, BILINEAR_FROM_PRIVATE_TAPS)),
        ("02", "later_lessons"): (LESSON, student_notebook({ex: FROM_LATER_LESSONS if ex in LATER
                                                            else solution_code(ex) for ex in POINTS})),
        ("03", "conv_matrix"): (LESSON_03, lesson_with(LESSON_03, {ex: transposed_from_conv_matrix(ex)
                                                                       for ex in TRANSPOSED})),
        ("04", "transposed"): (LESSON_04, lesson_with(LESSON_04, {ex: FROM_TRANSPOSED
                                                                  for ex in ("overlap_count", "pixel_shuffle")})),
        ("03", "same_side_twice"): (LESSON_03, lesson_with(LESSON_03, {"adjoint_sides": SAME_SIDE_TWICE})),
        ("04", "composed"): (LESSON_04, lesson_with(LESSON_04, COMPOSED_04)),
        ("05", "composed"): (LESSON_05, lesson_with(LESSON_05, COMPOSED_05)),
    }
    for (_, student), (name, nb) in notebooks.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / name)
    result = grade_folder(folder, lessons=["02", "03", "04", "05"], limits=Limits(timeout=TIMEOUT), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    return {(g.notebook[:2], g.student_id): g for g in result}


def points(g, exercise: str) -> float:
    return sum(r.points for r in g.rows if r.exercise == exercise)


def rows(g):
    return [(r.grade_id, r.status, r.points, r.message) for r in g.rows]


@pytest.mark.slow
def test_the_bilinear_exercise_through_the_answers_private_taps_earns_nothing(graded):
    g = graded[("02", "private_taps")]
    assert points(g, TARGET) == 0, rows(g)
    assert {r.status for r in g.rows if r.exercise == TARGET} <= {"failed", "error"}, rows(g)
    for exercise, full in POINTS.items():  # the other exercises, solved, were graded as usual
        if exercise != TARGET:
            assert points(g, exercise) == full, rows(g)


@pytest.mark.slow
def test_the_transposed_convolutions_through_the_convolution_matrix_earn_nothing(graded):
    g = graded[("03", "conv_matrix")]
    lesson = load_lesson(ROOT / "solutions" / LESSON_03)
    for exercise in TRANSPOSED:
        assert points(g, exercise) == 0, rows(g)
    full = sum(t.points for t in lesson.tests if t.exercise == "conv_transpose_output_size")
    assert full > 0 and points(g, "conv_transpose_output_size") == full, rows(g)  # graded as usual


@pytest.mark.slow
def test_nearest_and_zeros_through_the_transposed_convolution_of_a_later_lesson_earn_nothing(graded):
    g = graded[("02", "later_lessons")]
    for exercise, full in POINTS.items():
        assert points(g, exercise) == (0 if exercise in LATER else full), rows(g)


@pytest.mark.slow
def test_lesson_04_through_the_transposed_convolution_of_its_demos_earns_nothing(graded):
    g = graded[("04", "transposed")]
    lesson = load_lesson(ROOT / "solutions" / LESSON_04)
    for exercise in ("overlap_count", "pixel_shuffle"):
        assert points(g, exercise) == 0, rows(g)
    for exercise in ("icnr", "nyquist_share"):  # solved, and needing neither: graded as usual
        full = sum(t.points for t in lesson.tests if t.exercise == exercise)
        assert full > 0 and points(g, exercise) == full, rows(g)


@pytest.mark.slow
@pytest.mark.parametrize(("lesson", "exercises"), [("04", COMPOSED_04), ("05", COMPOSED_05)])
def test_new_exercises_composed_from_helpers_that_compute_them_another_way_earn_nothing(graded, lesson, exercises):
    """torch_utils.icnr_ or reference.icnr handed the sub-kernel, zero insertion + conv2d, the plotting spectrum."""
    g = graded[(lesson, "composed")]
    for exercise in exercises:
        assert points(g, exercise) == 0, rows(g)
    others = {t.exercise for t in load_lesson(ROOT / "solutions" / g.notebook).tests} - set(exercises)
    assert others and all(points(g, ex) > 0 for ex in others), rows(g)  # the solved ones were graded as usual


@pytest.mark.slow
def test_the_adjoint_test_without_the_transpose_earns_nothing(graded):
    """One side returned twice: the check hands adjoint_sides a wrong Cᵀ too, whose sides differ."""
    g = graded[("03", "same_side_twice")]
    assert points(g, "adjoint_sides") == 0, rows(g)
    assert points(g, "conv_transpose2d_scatter") > 0, rows(g)
