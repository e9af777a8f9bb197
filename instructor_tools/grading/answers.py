"""Which course helpers answer which exercise, and a copy of the course package without them.

The repository students clone holds the course's own implementation of many exercises
(``helpers.reference.upsample_nearest`` is lesson 02's first exercise, solved). While a
lesson is graded, its kernel imports a copy of ``helpers`` in which every function listed
here for that lesson has lost its body: it raises :class:`NotImplementedError`, and its
source is gone from the copy, so a submission that calls the answer (or reads and runs its
code) earns nothing. Other lessons' helpers stay whole: later lessons build on them.

What is withheld is what *computes* an answer, not only the function named after it:
``ANSWERS`` also lists the helpers that compute the same thing another way (``conv_matrix``:
``Cᵀ @ x`` is the transposed convolution), and :func:`withheld` adds, through the package's
call graph, every function that only answers use (``reference._linear_taps``, the bilinear
exercise's taps): a helper that anything else in the package still uses (``as_pair``) stays,
or the lesson's other helpers would break with it.

``ANSWERS`` must name every exercise of every lesson (``tests/instructor_tools/grading/
test_answers.py`` checks it); an empty tuple says that no course helper computes it (the
answer is a framework's own, e.g. Keras' ``count_params``, which a student may call).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

#: The course package that the lessons import.
PACKAGE = Path(__file__).resolve().parents[2] / "helpers"

#: The transposed convolution (lesson 03), which computes several exercises of lessons 02 and 04 too.
_TRANSPOSED_CONVOLUTION = ("helpers.reference:conv_transpose2d", "helpers.reference:conv_transpose2d_naive",
                           "helpers.reference:conv_matrix")

#: lesson number -> exercise grade_id -> the helpers that compute its answer ("module:function").
ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "00": {"to_signed_range": ()},
    "01": {"invented_fraction": (), "generator_shapes": (), "shrink": ("helpers.widgets.explorer:shrink",)},
    "02": {
        # Lesson 03's and 04's upsamplers compute these two too: a transposed convolution with a box kernel (nearest)
        # or one tap (zeros), stride = the factor; pixel_shuffle of each channel repeated s² times (nearest).
        "upsample_nearest": ("helpers.reference:upsample_nearest", *_TRANSPOSED_CONVOLUTION,
                             "helpers.reference:pixel_shuffle"),
        "upsample_zeros": ("helpers.reference:upsample_zeros", *_TRANSPOSED_CONVOLUTION),
        "max_unpool2d": ("helpers.reference:max_unpool2d",),
        "interpolate_bilinear": ("helpers.reference:interpolate_bilinear",),
    },
    "03": {
        # conv_matrix(weight, output size, stride, padding).T @ x is the transposed convolution too
        "conv_transpose2d_scatter": ("helpers.reference:conv_transpose2d", "helpers.reference:conv_transpose2d_naive",
                                     "helpers.reference:conv_matrix"),
        "bilinear_kernel": ("helpers.reference:bilinear_kernel",),
        "conv_transpose_output_size": ("helpers.reference:conv_transpose2d_output_size",),
        "conv_transpose2d_via_conv": ("helpers.reference:conv_transpose2d", "helpers.reference:conv_transpose2d_naive",
                                      "helpers.reference:conv_matrix"),
        "adjoint_sides": (),  # reference.conv2d (no exercise) and the learner's own conv_transpose2d_scatter
    },
    "04": {
        # a transposed convolution of ones counts the overlaps; with one-hot kernels, stride r, it is the shuffle
        "overlap_count": ("helpers.reference:overlap_count", *_TRANSPOSED_CONVOLUTION),
        "pixel_shuffle": ("helpers.reference:pixel_shuffle", *_TRANSPOSED_CONVOLUTION),
        # torch_utils.icnr_ and the Keras trainer's icnr_kernel compute it too, handed the sub-kernel
        "icnr": ("helpers.reference:icnr", "helpers.torch_utils:icnr_", "helpers.gan.train_keras:icnr_kernel"),
        # the k4 s2 p1 transposed convolution itself; or lesson 03's zero insertion (upsample_zeros) and conv2d
        "conv_transpose_by_phases": (*_TRANSPOSED_CONVOLUTION, "helpers.reference:upsample_zeros"),
        # plotting.power_spectrum is the mean-removed power, shifted: its row 0 and column 0 are the Nyquist ones
        "nyquist_share": ("helpers.metrics:nyquist_share", "helpers.plotting:power_spectrum"),
    },
    "05": {
        "conv_params": (),  # Keras' count_params
        # a Conv2D kernel (kH, kW, in, out) moves to PyTorch by the same transpose as a Conv2DTranspose one
        "keras_kernel_to_torch": ("helpers.layouts:keras_conv_transpose_kernel_to_torch",
                                  "helpers.layouts:keras_conv_kernel_to_torch"),
        "same_crop": ("helpers.layouts:keras_conv_transpose_crop",),
        # train_keras.ICNR(r, base=...) computes it too, through this function (a class cannot be withheld)
        "icnr_keras": ("helpers.gan.train_keras:icnr_kernel", "helpers.reference:icnr", "helpers.torch_utils:icnr_"),
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
        "inception_score": ("helpers.judge:inception_score",),
        "frechet_distance": ("helpers.judge:frechet_distance",),
    },
    "08": {
        "resize_conv_block": ("helpers.gan.train_torch:resize_conv_block",),
        "train_step": ("helpers.gan.train_torch:train_step",),
        "ema_update": ("helpers.gan.train_torch:ema_update",),
    },
    "09": {
        "psnr": ("helpers.metrics:psnr",),
        "train_sr": ("helpers.apps.sr_torch:train",),
    },
    "10": {
        # pp.UNet's own forward pass runs unet_forward; decode is its decoder step (up, concatenate, fuse)
        "unet_forward": ("helpers.apps.pix2pix_torch:unet_forward", "helpers.apps.pix2pix_torch:decode"),
        "patch_grid_size": ("helpers.apps.pix2pix_torch:patch_grid_size",),
        "generator_loss": ("helpers.apps.pix2pix_torch:generator_loss",),
    },
}


def withheld(lesson: str, package: Path = PACKAGE) -> dict[str, set[str]]:
    """The functions withheld while ``lesson`` (``"02"`` or its file name) is graded: module -> names.

    ``ANSWERS``' functions, and every function of ``package`` (the folder of ``helpers``) that
    only they use, directly or through each other.
    """
    named = {target for targets in ANSWERS.get(lesson[:2], {}).values() for target in targets}
    out: dict[str, set[str]] = {}
    for target in _only_theirs(named, _users(package)):
        module, name = target.split(":")
        out.setdefault(module, set()).add(name)
    return out


def _only_theirs(named: set[str], users: dict[str, set[str]]) -> set[str]:
    """``named`` and every function whose users are all in the set, until nothing more joins."""
    held = set(named)
    while True:
        more = {f for f, who in users.items() if f not in held and who and who <= held}
        if not more:
            return held
        held |= more


def _users(package: Path) -> dict[str, set[str]]:
    """Each top-level function of the package ("module:name") -> where the package refers to it.

    A place is the top-level function or class that refers to it by name ("module:name"), or
    "module:" for a module's own statements (a table of functions, a default argument).
    Names are resolved through the module's own definitions and its imports of the package's
    modules and functions (``from .reference import as_pair``, ``from . import reference``).
    """
    modules = {_module_name(package, path): path for path in sorted(package.rglob("*.py"))}
    functions = {f"{module}:{node.name}" for module, path in modules.items()
                 for node in ast.parse(path.read_text(encoding="utf-8")).body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    users: dict[str, set[str]] = {f: set() for f in functions}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names, aliases = _imports(tree, module, set(modules))
        for node in tree.body:
            defines = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            place = f"{module}:{node.name}" if defines else f"{module}:"
            for ref in ast.walk(node):
                target = None
                if isinstance(ref, ast.Name):
                    target = names.get(ref.id, f"{module}:{ref.id}")
                elif isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name) and ref.value.id in aliases:
                    target = f"{aliases[ref.value.id]}:{ref.attr}"
                if target in users and target != place:
                    users[target].add(place)
    return users


def _module_name(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, module: str, modules: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The package's functions and modules a module imports: local name -> "module:name", local name -> module."""
    names, aliases = {}, {}
    package = module if f"{module}.__init__" in modules or module.count(".") == 0 else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                local = alias.asname or alias.name
                if f"{base}.{alias.name}" in modules:
                    aliases[local] = f"{base}.{alias.name}"
                elif base in modules:
                    names[local] = f"{base}:{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules and alias.asname:
                    aliases[alias.asname] = alias.name
    return names, aliases


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
                message = (f"{self.module}.{item.name} computes an answer to an exercise of this lesson, "
                           "so it is not available while the lesson is graded")
                item.body = ast.parse(f"raise NotImplementedError({message!r})").body
                self.found.add(item.name)
        return node


def without_answers(package: Path, dest: Path, lesson: str) -> Path:
    """Copy the package folder ``package`` (``helpers``) to ``dest`` with ``lesson``'s answers withheld."""
    shutil.copytree(package, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for module, names in withheld(lesson, package).items():
        path = _module_path(dest.parent, module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stripper = _Withhold(names, module)
        stripper.visit(tree)
        missing = names - stripper.found
        if missing:  # a renamed helper must not silently become available again
            raise LookupError(f"{module} has no top-level function {', '.join(sorted(missing))} (see ANSWERS)")
        path.write_text(ast.unparse(tree) + "\n", encoding="utf-8")
    return dest
