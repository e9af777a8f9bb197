"""Which course helpers answer which exercise, and a copy of the course package without them.

The repository students clone holds the course's own implementation of many exercises
(``helpers.reference.upsample_nearest`` is lesson 02's first exercise, solved). While a
lesson is graded, its kernel imports a copy of ``helpers`` in which every function listed
here for that lesson has lost its body: it raises :class:`NotImplementedError`, and its
source is gone from the copy, so a submission that calls the answer (or reads and runs its
code) earns nothing. Other lessons' helpers stay whole: later lessons build on them.

``ANSWERS`` must name every exercise of every lesson (``tests/instructor_tools/grading/
test_answers.py`` checks it); an empty tuple says that no course helper computes it (the
answer is a framework's own, e.g. Keras' ``count_params``, which a student may call).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

#: lesson number -> exercise grade_id -> the helpers that compute its answer ("module:function").
ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "00": {"to_signed_range": ()},
    "01": {"invented_fraction": (), "generator_shapes": (), "shrink": ("helpers.widgets.explorer:shrink",)},
    "02": {
        "upsample_nearest": ("helpers.reference:upsample_nearest",),
        "upsample_zeros": ("helpers.reference:upsample_zeros",),
        "max_unpool2d": ("helpers.reference:max_unpool2d",),
        "interpolate_bilinear": ("helpers.reference:interpolate_bilinear",),
    },
    "03": {
        "conv_transpose2d_scatter": ("helpers.reference:conv_transpose2d", "helpers.reference:conv_transpose2d_naive"),
        "conv_transpose_output_size": ("helpers.reference:conv_transpose2d_output_size",),
        "conv_transpose2d_via_conv": ("helpers.reference:conv_transpose2d", "helpers.reference:conv_transpose2d_naive"),
        "adjoint_sides": (),  # reference.conv2d (no exercise) and the learner's own conv_transpose2d_scatter
    },
    "04": {
        "overlap_count": ("helpers.reference:overlap_count",),
        "pixel_shuffle": ("helpers.reference:pixel_shuffle",),
    },
    "05": {
        "conv_params": (),  # Keras' count_params
        "keras_kernel_to_torch": ("helpers.layouts:keras_conv_transpose_kernel_to_torch",),
        "same_crop": ("helpers.layouts:keras_conv_transpose_crop",),
    },
    "06": {
        "nearest_source_index": (),  # PyTorch's own interpolate
        "padding_for_size": (),
        "keras_same_in_torch": ("helpers.layouts:torch_equivalent",),
    },
    "07": {
        "build_generator": ("helpers.gan.train_keras:build_generator",),
        "build_discriminator": ("helpers.gan.train_keras:build_discriminator",),
        "gan_losses": ("helpers.gan.train_keras:discriminator_loss", "helpers.gan.train_keras:generator_loss"),
    },
    "08": {
        "resize_conv_block": ("helpers.gan.train_torch:resize_conv_block",),
        "train_step": ("helpers.gan.train_torch:train_step",),
        "ema_update": ("helpers.gan.train_torch:ema_update",),
    },
    "09": {
        "psnr": ("helpers.apps.common:psnr",),
        "train_sr": ("helpers.apps.sr_torch:train",),
    },
    "10": {
        "decode": ("helpers.apps.pix2pix_torch:decode",),
        "patch_grid_size": ("helpers.apps.pix2pix_torch:patch_grid_size",),
        "generator_loss": ("helpers.apps.pix2pix_torch:generator_loss",),
    },
}


def withheld(lesson: str) -> dict[str, set[str]]:
    """The functions withheld while ``lesson`` (``"02"`` or its file name) is graded: module -> names."""
    out: dict[str, set[str]] = {}
    for targets in ANSWERS.get(lesson[:2], {}).values():
        for target in targets:
            module, name = target.split(":")
            out.setdefault(module, set()).add(name)
    return out


def _module_path(package_root: Path, module: str) -> Path:
    path = package_root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


class _Withhold(ast.NodeTransformer):
    """Replace the body of each named top-level function (docstring included) with a ``raise``."""

    def __init__(self, names: set[str], module: str):
        self.names, self.module, self.found = names, module, set()

    def visit_Module(self, node: ast.Module) -> ast.Module:  # noqa: N802 - ast's naming
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in self.names:
                message = (f"{self.module}.{item.name} is the answer to an exercise of this lesson, "
                           "so it is not available while the lesson is graded")
                item.body = ast.parse(f"raise NotImplementedError({message!r})").body
                self.found.add(item.name)
        return node


def without_answers(package: Path, dest: Path, lesson: str) -> Path:
    """Copy the package folder ``package`` (``helpers``) to ``dest`` with ``lesson``'s answers withheld."""
    shutil.copytree(package, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for module, names in withheld(lesson).items():
        path = _module_path(dest.parent, module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stripper = _Withhold(names, module)
        stripper.visit(tree)
        missing = names - stripper.found
        if missing:  # a renamed helper must not silently become available again
            raise LookupError(f"{module} has no top-level function {', '.join(sorted(missing))} (see ANSWERS)")
        path.write_text(ast.unparse(tree) + "\n", encoding="utf-8")
    return dest
