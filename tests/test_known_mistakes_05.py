"""Lesson 05's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "05_upsampling_in_keras.ipynb"

#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    ("keras_kernel_to_torch", '''
def keras_kernel_to_torch(kernel):
    return np.transpose(kernel, (2, 3, 0, 1))
''', "with the in and out axes swapped"),
    ("keras_kernel_to_torch", '''
def keras_kernel_to_torch(kernel):
    return kernel.T
''', "with kH and kW swapped"),
    ("same_crop", '''
import math

def same_crop(kernel_size, stride):
    total = kernel_size - stride
    return math.ceil(total / 2), total // 2
''', "with the odd row cropped at the top"),
    ("same_crop", '''
def same_crop(kernel_size, stride):
    crop = (kernel_size - stride) // 2
    return crop, crop
''', "with the same crop at both ends"),
    ("icnr_keras", '''
def icnr_keras(kernel0, r):
    return np.repeat(kernel0, r * r, axis=-1)
''', "PyTorch's pixel-shuffle order"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)
