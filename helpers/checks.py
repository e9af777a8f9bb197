"""Instant feedback for exercises.

Each check compares what an exercise returned with what it should return and, when
they differ, raises :class:`CheckFailed` with a message that says *what* is wrong:
the type, the shape, the dtype, the first wrong position with both values, or the
edge case that broke. A passing check prints one line starting with a tick.

The comparison itself is the pure function :func:`explain_mismatch`, so the grader
can give the same words in its own process, on plain data.

Grading hook: when the environment variable ``COURSE_PROBE`` is set, checks do not
compare anything. They hand ``(name, actual)`` to :func:`_emit_probe`, which the
grader reads from the kernel's output, and return quietly.

Notebook support: :func:`install_stub_handler` (the setup cell) keeps a learner's Run All going past an
unsolved exercise or a failed check, and :func:`yours_or_reference` lets demo cells draw before the
exercise they use is solved.

Used in lessons 00, 01, 02, 03, 04, 05, 06, 07, 08, 09 and 10.
"""

from __future__ import annotations

import ast
import base64
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .arrays import to_numpy

#: What every unsolved exercise stub raises (the build tool writes it into the stub).
STUB_MESSAGE = "Exercise {name!r} is not solved yet: replace this line with your solution."
STUB_MARKER = "is not solved yet: replace this line"
PROBE_MIME = "application/vnd.course.probe+json"
_ISINSTANCE = isinstance


class CheckFailed(AssertionError):
    """An exercise returned something other than what the check expected."""


def stub_message(name: str) -> str:
    """The message of the ``NotImplementedError`` that an unsolved exercise raises."""
    return STUB_MESSAGE.format(name=name)


def is_stub_error(exc: BaseException) -> bool:
    """True for the error an exercise raises before it is solved."""
    return isinstance(exc, NotImplementedError) and STUB_MARKER in str(exc)


# --------------------------------------------------------------------------- values

def _fmt(value: Any) -> str:
    """A value as messages show it: floats to 6 digits, anything else by its repr, cut to 80 characters."""
    try:
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.6g}"
        if type(value) is int and value.bit_length() > 200:  # its repr is long, slow, or (over 4300 digits) an error
            return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"
        if isinstance(value, (complex, np.complexfloating)):
            return f"{complex(value):.6g}"
        text = repr(value[:81] if isinstance(value, (str, bytes)) else value)
    except Exception:  # a repr that raises or recurses too deep must not hide the mismatch
        text = f"<{_type_name(value)}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def explain_mismatch(
    actual: Any,
    expected: Any,
    name: str = "result",
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_dtype: bool = False,
) -> str | None:
    """Return ``None`` when ``actual`` matches ``expected``, else a sentence saying why not.

    Total: whatever ``actual`` is, the answer is ``None`` or a message, never an exception.
    """
    try:
        return _explain(actual, expected, name, rtol, atol, check_dtype)
    except Exception:  # a value no branch foresaw (a raising __eq__, a huge list...) is a mismatch, not a crash
        return f"{name}: expected {_fmt(expected)}, got {_type_name(actual)} {_fmt(actual)}"


def _explain(actual: Any, expected: Any, name: str, rtol: float, atol: float, check_dtype: bool) -> str | None:
    actual, expected = to_numpy(actual), to_numpy(expected)
    if actual is None and expected is not None:
        return f"{name}: got None. Did the function forget to `return` its result?"
    if isinstance(expected, np.ndarray):
        return _explain_array(actual, expected, name, rtol, atol, check_dtype)
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list, np.ndarray)) or getattr(actual, "ndim", 1) == 0:
            return f"{name}: expected a sequence like {_fmt(expected)}, got {_type_name(actual)} {_fmt(actual)}"
        if len(actual) != len(expected):
            return f"{name}: expected {len(expected)} items, got {len(actual)}; {_first_difference(actual, expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            why = explain_mismatch(a, e, f"{name}[{i}]", rtol=rtol, atol=atol, check_dtype=check_dtype)
            if why:
                return why
        return None
    if isinstance(expected, (bool, np.bool_)) or isinstance(expected, str):
        if type(actual) is not type(expected) and not (
            isinstance(expected, (bool, np.bool_)) and isinstance(actual, (bool, np.bool_))
        ):
            return f"{name}: expected {_type_name(expected)} {_fmt(expected)}, got {_type_name(actual)} {_fmt(actual)}"
        return None if actual == expected else f"{name}: expected {_fmt(expected)}, got {_fmt(actual)}"
    if isinstance(expected, (int, float, np.integer, np.floating)):
        return _explain_number(actual, expected, name, rtol, atol)
    if expected is None:
        return None if actual is None else f"{name}: expected None, got {_type_name(actual)} {_fmt(actual)}"
    return None if actual == expected else f"{name}: expected {_fmt(expected)}, got {_fmt(actual)}"


def _first_difference(actual: Any, expected: Any) -> str:
    """Where two sequences of different lengths part: the first item missing, extra or different (never a cut repr)."""
    same = lambda a, e: explain_mismatch(a, e) is None  # noqa: E731 - the items' own comparison
    i = 0
    while i < min(len(actual), len(expected)) and same(actual[i], expected[i]):
        i += 1
    if i == len(actual):
        return f"missing from item {i} on: {_fmt(expected[i])}"
    if i == len(expected):
        return f"item {i} is one too many: {_fmt(actual[i])}"
    if len(actual) < len(expected) and all(same(a, e) for a, e in zip(actual[i:], expected[i + 1:])):
        return f"item {i} is missing: {_fmt(expected[i])}"
    if len(actual) > len(expected) and all(same(a, e) for a, e in zip(actual[i + 1:], expected[i:])):
        return f"item {i} is one too many: {_fmt(actual[i])}"
    return f"the first difference is item {i}: expected {_fmt(expected[i])}, got {_fmt(actual[i])}"


def _explain_number(actual: Any, expected: Any, name: str, rtol: float, atol: float) -> str | None:
    if isinstance(actual, np.ndarray) and actual.shape == ():
        actual = actual.item()
    if isinstance(actual, (bool, np.bool_)) or not isinstance(actual, (int, float, np.integer, np.floating)):
        return f"{name}: expected a number like {_fmt(expected)}, got {_type_name(actual)} {_fmt(actual)}"
    try:
        a, e = float(actual), float(expected)
    except OverflowError:  # an integer beyond any float: only exact equality can tell
        return None if actual == expected else f"{name}: expected {_fmt(expected)}, got {_fmt(actual)}"
    if isinstance(expected, (int, np.integer)) and isinstance(actual, (float, np.floating)):
        return None if a == e else f"{name}: expected the whole number {expected}, got {_fmt(actual)}"
    if not np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return f"{name}: expected {_fmt(expected)}, got {_fmt(actual)} (difference {abs(a - e):.3g})"
    return None


#: How messages name the dtype kinds that are not numbers.
_KINDS = {"O": "Python objects", "U": "strings", "S": "bytes", "M": "dates", "m": "time spans", "V": "records"}


def _nested_shape(value: Any, depth: int = 0) -> tuple | str:
    """The shape of nested lists and tuples (an array in them counts with its shape), or why they have none."""
    if isinstance(value, np.ndarray):
        return value.shape
    if not isinstance(value, (list, tuple)):
        return ()
    if depth >= 32:
        return "a list nested more than 32 levels deep"
    shapes = set()
    for item in value:
        shape = _nested_shape(item, depth + 1)
        if isinstance(shape, str):
            return shape
        shapes.add(shape)
    if len(shapes) > 1:
        return "a ragged list (rows of different lengths)"
    return (len(value), *(shapes.pop() if shapes else ()))


def _first_non_number(value: Any, pos: tuple = ()) -> tuple[tuple, Any] | None:
    """The position and value of the first item of nested lists that NumPy cannot hold as a number."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _first_non_number(item, (*pos, i))
            if found:
                return found
        return None
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind in "biufc" else (pos, value)
    if isinstance(value, (int, float, complex, np.number, np.bool_)) and not (
            type(value) is int and not -(2**63) <= value < 2**64):
        return None
    return pos, value


def _explain_array(actual: Any, expected: Any, name: str, rtol: float, atol: float, check_dtype: bool) -> str | None:
    if isinstance(actual, (list, tuple)):
        shape = _nested_shape(actual)
        if isinstance(shape, str):
            return f"{name}: expected an array of shape {expected.shape}, got {shape}"
    elif not isinstance(actual, (np.ndarray, int, float, np.generic)):
        return f"{name}: expected an array of shape {expected.shape}, got {_type_name(actual)}"
    array = actual if isinstance(actual, np.ndarray) else np.asarray(actual)
    if expected.dtype.kind not in "biufc":  # strings or objects: only a notebook's own check has those
        same = array.dtype.kind == expected.dtype.kind and array.shape == expected.shape
        if same and np.array_equal(array, expected):
            return None
        return f"{name}: expected {_fmt(expected)}, got {_fmt(array)}"
    if array.dtype.kind not in "biufc":
        odd = None if isinstance(actual, np.ndarray) else _first_non_number(actual)
        if odd is None:
            return f"{name}: expected numbers, got an array of {_KINDS.get(array.dtype.kind, str(array.dtype))}"
        where = f" at position {odd[0]}" if odd[0] else ""
        got = "None" if odd[1] is None else f"{_type_name(odd[1])} {_fmt(odd[1])}"
        return f"{name}: expected numbers, got {got}{where}"
    if array.shape != expected.shape:
        hint = ""
        if array.ndim != expected.ndim:
            hint = f" ({array.ndim} dimensions instead of {expected.ndim})"
        elif array.size == expected.size:
            hint = " (same number of elements: a reshape or transpose is off?)"
        return f"{name}: expected shape {expected.shape}, got {array.shape}{hint}"
    if check_dtype and array.dtype != expected.dtype:
        return f"{name}: expected dtype {expected.dtype}, got {array.dtype}"
    with np.errstate(all="ignore"):  # inf - inf and NaN are reported, not warned about
        return _explain_values(array, expected, name, rtol, atol)


def _explain_values(actual: np.ndarray, expected: np.ndarray, name: str, rtol: float, atol: float) -> str | None:
    if expected.dtype.kind in "biu" and actual.dtype.kind == "f" and np.any(
            np.isfinite(actual) & (actual != np.round(actual))):
        return f"{name}: expected whole numbers ({expected.dtype}), got fractions ({actual.dtype})"
    common = np.result_type(actual.dtype, expected.dtype, np.float64)  # complex stays complex
    a, e = actual.astype(common, copy=False), expected.astype(common, copy=False)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if np.any(nan_a & ~nan_e):
        pos = tuple(int(i) for i in np.argwhere(nan_a & ~nan_e)[0])
        return f"{name}: NaN at position {pos}, where {_fmt(e[pos])} was expected"
    wrong = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not wrong.any():
        return None
    pos = tuple(int(i) for i in np.argwhere(wrong)[0])
    count = int(wrong.sum())
    difference = np.abs(a - e)
    difference = difference[~np.isnan(difference)]  # np.nanmax would warn when all are NaN
    worst = float(difference.max()) if difference.size else float("nan")
    return (
        f"{name}: {count} of {wrong.size} values differ; the first at position {pos}: "
        f"expected {_fmt(e[pos])}, got {_fmt(a[pos])} (largest difference {worst:.3g})"
    )


# --------------------------------------------------------------------------- grading hook

def probing() -> bool:
    """True while the grader probes the notebook (``COURSE_PROBE`` set)."""
    return bool(os.environ.get("COURSE_PROBE"))


def encode(value: Any) -> dict:
    """Plain-data form of a check's value: numbers, strings, bools and arrays as bytes."""
    value = to_numpy(value)
    if value is None or isinstance(value, (bool, str)):
        return {"kind": "plain", "value": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "plain", "value": value}
    if isinstance(value, (tuple, list)):
        return {"kind": "seq", "items": [encode(v) for v in value]}
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)  # not ascontiguousarray: it would make a 0-d array 1-d
        array = array if array.flags.c_contiguous else array.copy(order="C")
        if array.dtype.kind not in "biuf":
            return {"kind": "invalid", "type": f"array of {array.dtype}"}
        return {
            "kind": "array",
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    return {"kind": "invalid", "type": type(value).__name__}


def _emit_probe(name: str, actual: Any, **options: Any) -> None:
    """Report ``actual`` to the grader (see the module docstring)."""
    from IPython.display import display

    try:
        payload = {"name": name, "value": encode(actual), "options": options}
    except Exception as exc:  # a value that cannot even be encoded earns nothing
        payload = {"name": name, "value": {"kind": "invalid", "type": repr(exc)[:200]}, "options": options}
    display({PROBE_MIME: json.dumps(payload), "text/plain": f"probe {name}"}, raw=True)


def _reached(expected: Any) -> dict:
    """The probe option that says an expected value reached the kernel (the grader sends ``None`` in its place).

    The grader reads it from the solution's own run and refuses the lesson: a graded cell that the
    grader failed to reduce would otherwise hand its expected values to every student's kernel.
    """
    return {} if expected is None else {"expected_in_kernel": True}


def _mistake_values(mistakes: dict[str, Any] | None) -> dict:
    """The probe option that hands the grader the known mistakes' values, encoded.

    Only the solution's run has them (the grader runs the students' test cells with ``mistakes=None``):
    the grader names a mistake in its own process, as the instant check does in the learner's kernel.
    """
    if not mistakes:
        return {}
    return {"mistakes": {str(says): encode(value) for says, value in mistakes.items() if value is not _FAILED}}


# --------------------------------------------------------------------------- checks

def _passed(message: str) -> None:
    print(f"\u2713 {message}")


def check_array(actual: Any, expected: Any, name: str = "result", *, rtol: float = 1e-5, atol: float = 1e-6,
                check_dtype: bool = False, mistakes: dict[str, Any] | None = None) -> None:
    """Values, shape (and optionally dtype) of an array against the expected array.

    ``mistakes``: known wrong answers, ``{"with the kernel not flipped": the array that mistake gives}``; a result
    equal to one of them is told so (see :func:`diagnosis`).
    """
    if probing():
        return _emit_probe(name, actual, rtol=rtol, atol=atol, check_dtype=check_dtype, **_reached(expected),
                           **_mistake_values(mistakes))
    why = explain_mismatch(actual, np.asarray(to_numpy(expected)), name, rtol=rtol, atol=atol, check_dtype=check_dtype)
    if why:
        raise CheckFailed(why + diagnosis(actual, mistakes, rtol=rtol, atol=atol))
    _passed(f"{name}: shape {np.shape(to_numpy(actual))}, all values match")


def check_value(actual: Any, expected: Any, name: str = "result", *, rtol: float = 1e-5, atol: float = 1e-8,
                mistakes: dict[str, Any] | None = None) -> None:
    """A number, string, bool or tuple (e.g. a shape) against the expected one; ``mistakes``: see check_array."""
    if probing():
        return _emit_probe(name, actual, rtol=rtol, atol=atol, **_reached(expected), **_mistake_values(mistakes))
    why = explain_mismatch(actual, expected, name, rtol=rtol, atol=atol)
    if why:
        raise CheckFailed(why + diagnosis(actual, mistakes, rtol=rtol, atol=atol))
    _passed(f"{name} = {_fmt(to_numpy(actual))}")


def check_raises(fn: Callable, exception: type[BaseException], *args, name: str | None = None, **kwargs) -> None:
    """An edge case: ``fn(*args, **kwargs)`` must raise ``exception`` (a stub's error propagates)."""
    name = name or f"{getattr(fn, '__name__', 'function')}{_call_text(args, kwargs)}"
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        if is_stub_error(exc):
            raise
        raised = exc
    else:
        raised = None
    if probing():  # builtins as they were at import: a submission that patches them later changes nothing
        return _emit_probe(name, _ISINSTANCE(raised, exception))
    if not isinstance(raised, exception):
        got = "nothing" if raised is None else f"{type(raised).__name__}: {raised}"
        raise CheckFailed(f"{name}: expected {exception.__name__} for this edge case, but it raised {got}")
    _passed(f"{name} raises {exception.__name__}: {raised}")


def _call_text(args: tuple, kwargs: dict) -> str:
    def short(v: Any):
        v = to_numpy(v)
        if isinstance(v, np.ndarray):
            return f"<array {v.shape}>"
        if callable(v) and hasattr(v, "__name__"):  # its repr holds a memory address: the grader matches names
            return f"<function {v.__name__}>"
        text = _fmt(v)
        return f"<{_type_name(v)}>" if "\n" in text else text  # a model's repr is a page, not a name

    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def check_function(fn: Callable, reference: Callable, cases: Iterable, *, name: str | None = None,
                   rtol: float = 1e-5, atol: float = 1e-6, check_dtype: bool = False,
                   mistakes: dict[str, Callable] | None = None, hints: dict[str, str] | None = None) -> None:
    """Call ``fn`` and ``reference`` on each case and compare the results.

    A case is a tuple of positional arguments, or a pair ``(args_tuple, kwargs_dict)``.
    The failing case is named in the message.

    ``mistakes``: known wrong versions of the exercise, ``{"with the kernel not flipped": a function with the
    reference's signature that makes that mistake}``. When ``fn``'s result is wrong and equals a mistake's on the
    same case, the message names the mistake. ``hints``: ``{regular expression: what it usually means}``; when
    ``fn`` raises, the check fails with one line (the exception and the learner's own line) and, if the
    expression matches ``"ErrorType: message"``, what it usually means. ``mistakes`` is an expected value for the
    grader (write it in the test cell itself, like ``reference``): the students' runs get ``None``, the solution's
    run reports the mistakes' values and the grader names them in its own process. Under a grader an error in
    ``fn`` is raised as it is.
    """
    fname = name or getattr(fn, "__name__", "function")
    cases = list(cases)
    for case in cases:
        with_kwargs = len(case) == 2 and isinstance(case[1], dict) and isinstance(case[0], tuple)
        args, kwargs = case if with_kwargs else (case, {})
        label = f"{fname}{_call_text(args, kwargs)}"
        if probing():
            actual = fn(*args, **kwargs)
            variants = {says: _quietly(variant, args, kwargs) for says, variant in (mistakes or {}).items()}
            _emit_probe(label, actual, rtol=rtol, atol=atol, check_dtype=check_dtype, **_reached(reference),
                        **_mistake_values(variants))
            continue
        try:
            actual = fn(*args, **kwargs)
        except Exception as exc:
            if is_stub_error(exc) or grading():
                raise
            raise CheckFailed(raised_line(label, exc, hints, fn)) from exc
        why = explain_mismatch(actual, to_numpy(reference(*args, **kwargs)), label, rtol=rtol, atol=atol,
                               check_dtype=check_dtype)
        if why:
            variants = {says: _quietly(variant, args, kwargs) for says, variant in (mistakes or {}).items()}
            raise CheckFailed(why + diagnosis(actual, variants, rtol=rtol, atol=atol, check_dtype=check_dtype))
    if not probing():
        _passed(f"{fname}: all {len(cases)} cases match")


_FAILED = object()  # what a known mistake's function gave when it raised: equal to nothing


def _quietly(variant: Callable, args: tuple, kwargs: dict) -> Any:
    """A known mistake's result on a case, or a value equal to nothing when the mistake cannot run on it."""
    try:
        return variant(*args, **kwargs)
    except Exception:  # a mistake that fails on this case explains nothing here
        return _FAILED


def diagnosis(actual: Any, mistakes: dict[str, Any] | None, **tolerances: Any) -> str:
    """`` Your result is exactly the one computed <says>.`` for the first known mistake ``actual`` equals, else ``""``.

    ``mistakes`` maps a phrase that completes "computed ..." ("with the kernel not flipped") to the value that
    mistake gives.
    """
    for says, value in (mistakes or {}).items():
        if value is not _FAILED and explain_mismatch(actual, value, **tolerances) is None:
            return f". Your result is exactly the one computed {says}."
    return ""


def raised_line(label: str, exc: BaseException, hints: dict[str, str] | None = None,
                fn: Callable | None = None) -> str:
    """One line for an exercise that raised: the call, the exception, the learner's own line, and a hint if known.

    The line is ``fn``'s own (the exercise's line that called what failed), or, when ``fn`` is a lambda of the
    test cell, the innermost line outside the course's package and the installed libraries.
    """
    error = f"{type(exc).__name__}: {exc}".strip()
    first = error.splitlines()[0] if error else type(exc).__name__
    where = _own_line(exc, getattr(fn, "__code__", None) if getattr(fn, "__name__", "") != "<lambda>" else None)
    text = f"{label} raised {_short_text(first, 200)}" + (f", at {where}" if where else "")
    for pattern, says in (hints or {}).items():
        if re.search(pattern, error):
            return f"{text}. This usually means {says}."
    return text


def _short_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: Folders whose frames are not the learner's: this package, the standard library, installed packages.
_NOT_YOURS = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.__file__))


def _own_line(exc: BaseException, code: Any = None) -> str:
    """``line N of your code: `…` `` of the last frame running ``code`` (if any ran it), else of the innermost
    frame that is the learner's own (a notebook cell or their file)."""
    import linecache

    found, own = "", ""
    tb = exc.__traceback__
    while tb is not None:
        frame, lineno = tb.tb_frame, tb.tb_lineno
        filename = frame.f_code.co_filename
        path = filename if filename.startswith("<") else os.path.abspath(filename)
        if not (path.startswith(_NOT_YOURS) or "site-packages" in path or "dist-packages" in path):
            source = linecache.getline(filename, lineno).strip()
            found = f"line {lineno} of your code: `{_short_text(source, 100)}`" if source else f"line {lineno}"
            if frame.f_code is code:
                own = found
        tb = tb.tb_next
    return own or found


# --------------------------------------------------------------------------- notebook support

def yours_or_reference(yours: Callable, reference: Callable, name: str | None = None) -> Callable:
    """Your exercise while it runs; the course's ``reference`` while it is still the unsolved stub.

    The first call that meets the stub's error prints one line and switches to ``reference`` for good,
    so the cells below still draw their figures. Any other error of yours is raised as usual.
    """
    label = name or getattr(yours, "__name__", "your function")
    current = [yours]

    @functools.wraps(yours)
    def call(*args: Any, **kwargs: Any) -> Any:
        if current[0] is yours:
            try:
                return yours(*args, **kwargs)
            except NotImplementedError as exc:
                if not is_stub_error(exc):
                    raise
                module = getattr(reference, "__module__", None)
                where = getattr(reference, "__qualname__", repr(reference))
                where = f"{module}.{where}" if module and module != "__main__" else where
                print(f"{label}: not solved yet, so the course's {where} stands in for it here")
                current[0] = reference
        return current[0](*args, **kwargs)

    return call


#: Set ``COURSE_STUB_ERRORS=raise`` to turn the Run-All mode off: every error stops its cell with a traceback.
STUB_ERRORS_ENV = "COURSE_STUB_ERRORS"
#: The environment variables that mark a grading kernel: the course's grader, nbgrader's autograde and validate.
GRADING_ENV = ("COURSE_PROBE", "NBGRADER_EXECUTION")
_STUB_NAME = re.compile(r"Exercise '([^']+)' " + re.escape(STUB_MARKER))


def grading() -> bool:
    """True where an unsolved or wrong exercise must stay an error: a grader's kernel, or ``COURSE_STUB_ERRORS=raise``.

    nbgrader sets ``NBGRADER_EXECUTION`` (``autograde``, ``validate``) in the environment that its kernels
    inherit; the course's grader sets ``COURSE_PROBE`` and ``COURSE_STUB_ERRORS=raise``.
    """
    return os.environ.get(STUB_ERRORS_ENV) == "raise" or any(os.environ.get(name) for name in GRADING_ENV)


def unfinished_line(exc: BaseException) -> str | None:
    """The one line a learner sees for an unsolved exercise or a failed check; ``None`` for any other error."""
    if is_stub_error(exc):
        found = _STUB_NAME.search(str(exc))
        name = found.group(1) if found else "this exercise"
        return f"\u2717 {name}: not solved yet (write it in its cell, run that cell, then this one)"
    if isinstance(exc, CheckFailed):
        return f"\u2717 {exc}"
    return None


def report_unfinished(exc: BaseException) -> bool:
    """Print :func:`unfinished_line` on stderr and return True, or return False for any other error.

    Called by the cells that :class:`KeepRunning` rewrote. stderr, so that the line reads as a failure, nbgrader
    scores a cell that shows it 0 and nbval (``conftest.py``) fails on it unless it is an unsolved stub.
    """
    line = unfinished_line(exc)
    if line is None:
        return False
    print(line, file=sys.stderr)
    return True


def _here(name: str) -> ast.expr:
    """``helpers.checks.<name>`` as an expression that needs nothing in the learner's namespace (``%reset`` safe)."""
    module = ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant(__name__)],
                      [ast.keyword("fromlist", ast.List([ast.Constant(name)], ast.Load()))])
    return ast.Attribute(module, name, ast.Load())


class UnfinishedStopsHere:
    """The context manager a :class:`KeepRunning` cell runs in: it swallows an unsolved exercise or a failed check.

    Everything else leaves the ``with`` untouched. Unlike an ``except`` clause that re-raises, a ``with`` hands the
    exception on without running any code of the cell's own after the failing line, so the cell's frame ends where
    the error was raised: ``tb_lineno`` *and* ``f_lineno`` name the learner's line (ipykernel's traceback reads
    ``f_lineno``, as its cells' file names end in ``.py`` but are no files), exactly as without the transformer.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: Any) -> bool:
        return isinstance(error, Exception) and report_unfinished(error)


class KeepRunning(ast.NodeTransformer):
    """IPython AST transformer: a cell stopped by an unsolved exercise or a failed check prints one line and completes.

    The cell's code becomes::

        _course_cell_value = None                          # only if it ends with an expression
        with UnfinishedStopsHere():                        # a stub or CheckFailed: one line, and on to the tail
            <the cell's statements>
            _course_cell_value = <its last expression>     # only if it ends with one
        _course_cell_value                                 # IPython displays it, as it did the last expression

    Every statement of the cell keeps its own line and column, so a learner's traceback is the one they would get
    without the transformer (same entries, same arrow), on Python 3.11 to 3.13.

    Why a transformer: JupyterLab's Run All (and Colab's) stops at the first cell whose execute reply has the
    status ``error``, and IPython sets that status for every exception that leaves the cell's code, custom
    exception handlers (``set_custom_exc``) included. Only code that catches the exception inside the cell
    keeps the status ``ok``, so every later cell still runs. Every other exception (a typo, a ``NameError``,
    a shape error in the learner's own code) still stops the cell with its traceback.
    """

    VALUE = "_course_cell_value"

    def visit_Module(self, node: ast.Module) -> ast.Module:  # noqa: N802 - ast's naming
        """Wrap the cell's statements (after any ``from __future__`` import) in the ``with`` above."""
        if grading():  # checked per cell too: the variable may be set after the setup cell ran
            return node
        first = 0
        while first < len(node.body) and isinstance(node.body[first], ast.ImportFrom) \
                and node.body[first].module == "__future__":
            first += 1
        body = node.body[first:]
        if not body:
            return node
        last = body[-1]
        head: list[ast.stmt] = []
        tail: list[ast.stmt] = []
        if isinstance(last, ast.Expr):
            store = ast.copy_location(ast.Assign([ast.Name(self.VALUE, ast.Store())], last.value), last)
            body = [*body[:-1], store]
            head = [ast.copy_location(ast.Assign([ast.Name(self.VALUE, ast.Store())], ast.Constant(None)), body[0])]
            tail = [ast.copy_location(ast.Expr(ast.Name(self.VALUE, ast.Load())), last)]
        wrapped = ast.copy_location(ast.With([ast.withitem(ast.Call(_here("UnfinishedStopsHere"), [], []))], body),
                                    body[0])
        wrapped.end_lineno, wrapped.end_col_offset = last.end_lineno, last.end_col_offset
        node.body = [*node.body[:first], *head, wrapped, *tail]
        return ast.fix_missing_locations(node)


def install_stub_handler() -> None:
    """In a learner's IPython kernel: an unsolved exercise or a failed check never stops Run All.

    Registers :class:`KeepRunning` (once), so such a cell prints one line (``✗ upsample_nearest: not solved
    yet``, ``✗ <the check's message>``) instead of a traceback into ``helpers`` and completes; every later cell
    runs. Off, errors raising as usual, wherever :func:`grading` holds: under the course's grader
    (``COURSE_PROBE``), nbgrader's autograde and validate (``NBGRADER_EXECUTION``) and ``COURSE_STUB_ERRORS=raise``,
    so that an unsolved or wrong exercise still earns nothing. Outside IPython it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.ast_transformers[:] = [t for t in shell.ast_transformers if type(t).__name__ != KeepRunning.__name__]
    if not grading():
        shell.ast_transformers.append(KeepRunning())
