"""Decide a graded test's verdict in the grader's own process, on plain data.

A probe is what a check displayed under ``COURSE_PROBE=1``: JSON text holding the check's
name and the student's value encoded by :func:`helpers.checks.encode`. :func:`decode`
turns it back into Python numbers, strings, tuples and NumPy arrays built here from bytes,
so no object the student's code made ever reaches a comparison. The expected values and
the tolerances are the solution run's probes; the submission's own ``options`` are ignored.

Nothing a kernel prints can crash the grader: :func:`parse_probe` raises only :class:`BadProbe`,
decoded arrays are capped at the probe budget, and :func:`compare_probes` and :func:`decide`
answer any input with a message or a :class:`Verdict` (``failed`` for a wrong or malformed value).

A cell that fails because an earlier one did not complete (a ``NameError`` for a name that
cell was to define, after a timeout or after the kernel ran out of memory and was restarted
without it) is reported as that earlier cell's failure (:func:`explained`): what went wrong,
not the error that followed from it.

The hidden tests never travel back in a message. A student's code can read each cell's source as it
runs (an IPython input transformer, a ``pre_run_cell`` hook) and put it in an exception's message, in
its class's name, or in a string it returns. So text the kernel controls (an error's name and message,
a string in a "got ..." mismatch, a check's name the solution does not have) is shown only for cells
that ran before the first graded test cell could have run in that kernel (:func:`mark_quotable`): the
kernel runs cells in index order, and a restart replays them in that order. For later cells, a message
names the exception only when its name is one of Python's builtin exceptions or of a short list of
NumPy, PyTorch and TensorFlow errors, and a string the student's code returned is told by its length.
Numbers, shapes and dtypes stay: they are the learner's feedback.
"""

from __future__ import annotations

import ast
import base64
import binascii
import builtins
import json
import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.checks import STUB_MARKER, diagnosis, explain_mismatch

MAX_DEPTH = 16
MAX_ITEMS = 100_000
MAX_ARRAY_BYTES = 64 << 20  # the probe budget (runner.Limits.probe_mb): no honest array is larger
MAX_ELEMENTS = 8 << 20  # comparisons make float64 copies: 64 MB each
MAX_MESSAGE = 500
NOT_ATTEMPTED = "not attempted: the exercise still raises NotImplementedError; write your solution in its cell"
UNDEFINED_NAME = re.compile(r"name '([^']{1,200})' is not defined")
ARRAY_DTYPE = re.compile(r"[<>|=][biuf][1-9][0-9]?")  # byte order, kind, item size: '<f8', '|b1'
WITHHELD = "its message is not shown: it could quote the hidden tests; run the notebook to see it"
#: Errors of the frameworks the lessons use, named in a message even after a graded test cell has run.
FRAMEWORK_ERRORS = frozenset({
    "AxisError", "LinAlgError", "UFuncTypeError", "DTypePromotionError", "TooHardError",  # NumPy
    "OutOfMemoryError",  # PyTorch (torch.cuda.OutOfMemoryError)
    "InvalidArgumentError", "ResourceExhaustedError", "FailedPreconditionError", "UnimplementedError",
    "InternalError", "NotFoundError", "OutOfRangeError", "UnknownError", "OpError",  # TensorFlow
})
SAFE_ERRORS = FRAMEWORK_ERRORS | {name for name, obj in vars(builtins).items()
                                  if isinstance(obj, type) and issubclass(obj, BaseException)}
#: Types a value the grader cannot encode may be named by, after a graded test cell has run.
SAFE_TYPES = frozenset({name for name, obj in vars(builtins).items() if isinstance(obj, type)} | {
    "NoneType", "function", "method", "builtin_function_or_method", "generator", "module",
    "ndarray", "matrix", "Tensor", "EagerTensor", "ResourceVariable", "Parameter", "DataFrame", "Series"})


class BadProbe(ValueError):
    """A probe that is not plain data of the expected form."""


class Unencodable:
    """Stands for a value the kernel could not encode (an object, a string array...)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def decode(value: Any, depth: int = 0) -> Any:
    """Plain data from an encoded probe value; :class:`BadProbe` for anything else."""
    if depth > MAX_DEPTH:
        raise BadProbe("value nested too deeply")
    if not isinstance(value, dict):
        raise BadProbe("malformed value")
    kind = value.get("kind")
    if kind == "plain":
        v = value.get("value")
        if v is None or type(v) in (bool, int, float, str):
            return v
        raise BadProbe("malformed plain value")
    if kind == "seq":
        items = value.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise BadProbe("malformed sequence")
        return tuple(decode(v, depth + 1) for v in items)
    if kind == "array":
        return _decode_array(value)
    if kind == "invalid":
        type_name = value.get("type")
        return Unencodable(type_name[:100] if isinstance(type_name, str) else "object")
    raise BadProbe("malformed value")


def _decode_array(value: dict) -> np.ndarray:
    dtype, shape, data = value.get("dtype"), value.get("shape"), value.get("data")
    if not (isinstance(dtype, str) and isinstance(shape, list) and isinstance(data, str)):
        raise BadProbe("malformed array")
    # Only what encode writes (``dtype.str`` of a number array): np.dtype parses far more, with warnings.
    if not ARRAY_DTYPE.fullmatch(dtype):  # the kernel's text: not quoted
        raise BadProbe("array of a dtype that cannot be graded (numbers only)")
    if len(shape) > 32 or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape):
        raise BadProbe("malformed array shape")
    # In Python ints: np.prod wraps around on a forged shape such as [2**32, 2**32], and an empty
    # dimension must not let the others claim more than NumPy can index.
    if math.prod(max(n, 1) for n in shape) > MAX_ELEMENTS or len(data) > MAX_ARRAY_BYTES // 3 * 4 + 4:
        raise BadProbe(f"array larger than the grader accepts ({MAX_ELEMENTS} values, {MAX_ARRAY_BYTES >> 20} MB)")
    try:
        dt = np.dtype(dtype)
        raw = base64.b64decode(data, validate=True)
    except (TypeError, ValueError, binascii.Error):
        raise BadProbe("malformed array data") from None
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise BadProbe("array data does not match its shape")
    return np.frombuffer(raw, dtype=dt).reshape(shape)


@dataclass
class Probe:
    """What one check reported: its name, the decoded value, the tolerances it used."""

    name: str
    value: Any
    options: dict


def parse_probe(text: str) -> Probe:
    """A probe from its JSON text; :class:`BadProbe` for anything that is not one."""
    if not isinstance(text, str):
        raise BadProbe("not text")
    try:
        payload = json.loads(text)
    except RecursionError:
        raise BadProbe("nested too deeply") from None
    except json.JSONDecodeError:
        raise BadProbe("not JSON") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise BadProbe("a number too long to read") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        raise BadProbe("no name")
    options = payload.get("options") if isinstance(payload.get("options"), dict) else {}
    return Probe(payload["name"], decode(payload.get("value")), options)


@dataclass
class Verdict:
    """A graded test's outcome: its status and, unless it passed, why."""

    status: str  # passed | failed | error | timeout | not_attempted
    message: str = ""


def _options(options: dict) -> dict:
    """The tolerances the solution's check used (only the known keys, only numbers)."""
    out = {}
    for key in ("rtol", "atol"):
        value = options.get(key)
        if type(value) in (int, float) and 0 <= value <= 1e300:  # not NaN, and float() cannot overflow
            out[key] = float(value)
    if isinstance(options.get("check_dtype"), bool):
        out["check_dtype"] = options["check_dtype"]
    return out


def compare_probes(expected: list[Probe], texts: list[str]) -> str | None:
    """``None`` when the student's probes match the solution's, else the first reason why not."""
    if not isinstance(texts, (list, tuple)):
        return "the test's output was tampered with or corrupted (no list of probes)"
    got: dict[str, list[Probe]] = {}
    for text in texts:
        try:
            probe = parse_probe(text)
        except BadProbe as exc:
            return f"the test's output was tampered with or corrupted ({exc})"
        got.setdefault(probe.name, []).append(probe)
    wanted = Counter(p.name for p in expected)
    for name, probes in got.items():
        if name not in wanted:  # a name the kernel made up: not quoted
            return "an unexpected check in the test's output (the test cell was changed or forged)"
        if len(probes) > wanted[name]:
            return f"check {name!r} reported {len(probes)} times instead of {wanted[name]}"
    seen: Counter = Counter()
    for probe in expected:
        index = seen[probe.name]
        seen[probe.name] += 1
        mine = got.get(probe.name, [])
        if index >= len(mine):
            return f"{probe.name}: this check never ran"
        actual = mine[index].value
        if isinstance(actual, Unencodable):
            return (f"{probe.name}: got a {type_label(actual.type_name)}, which is not a value the grader can accept "
                    "(numbers, strings, tuples or arrays)")
        if isinstance(probe.value, Unencodable):
            return (f"{probe.name}: the solution's own value cannot be graded ({probe.value.type_name}); "
                    "tell the instructor")
        why = explain_mismatch(actual, probe.value, probe.name, **_options(probe.options))
        if why and _holds_text(actual):  # told again without the student's strings
            why = (explain_mismatch(_without_text(actual), probe.value, probe.name, **_options(probe.options))
                   or f"{probe.name}: the value differs")
            if isinstance(actual, str) and "not shown>" not in why:  # "got str", and how long
                why = f"{why} {_Text(actual)!r}"
        if why:
            return why + _diagnosis(actual, probe)
    return None


def _diagnosis(actual: Any, probe: Probe) -> str:
    """The known mistake the student's value equals (the solution run's ``mistakes`` option), as checks says it."""
    mistakes = probe.options.get("mistakes")
    if not isinstance(mistakes, dict):
        return ""
    values = {}
    for says, encoded in mistakes.items():
        try:
            values[_short(says, 200)] = decode(encoded)
        except BadProbe:
            continue
    return diagnosis(actual, values, **_options(probe.options))


class _Text:
    """Stands for a string the student's code returned, in a mismatch message: its length, never its text."""

    def __init__(self, text: str):
        self.length = len(text)

    def __repr__(self) -> str:
        return f"<{self.length} character{'' if self.length == 1 else 's'}, not shown>"


_Text.__name__ = "str"  # messages name a value by its type: "got str <12 characters, not shown>"


def _holds_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, tuple) and any(_holds_text(v) for v in value))


def _without_text(value: Any) -> Any:
    """``value`` with each string in it (decoded values nest only in tuples) replaced by a :class:`_Text`."""
    if isinstance(value, str):
        return _Text(value)
    if isinstance(value, tuple):
        return tuple(_without_text(v) for v in value)
    return value


def type_label(type_name: str) -> str:
    """A type's name as a message may show it: a class the student named could carry any text."""
    return type_name if type_name in SAFE_TYPES else "object"


def error_label(ename: str) -> str:
    """An exception's name as a message may show it after a graded test cell has run (see the module's doc)."""
    return ename if ename in SAFE_ERRORS else "an exception"


def mark_quotable(results: list, first_test: int) -> list:
    """``results`` with each cell's ``quotable`` set: whether text its kernel controls may be shown.

    Only for the cells before ``first_test``, the first graded test cell: none of them can have run
    after it in that kernel (cells run in index order, a restart replays them in that order), so
    none can know the hidden tests. A result that is not a dict is left as it is.
    """
    return [{**r, "quotable": i < first_test} if isinstance(r, dict) else r for i, r in enumerate(results)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _failure(result: dict, timeout: float) -> Verdict | None:
    """The verdict on a cell that did not complete (``None`` if it did)."""
    verdict = _own_failure(result, timeout)
    where = result.get("explained_by")  # set by :func:`explained`: the earlier cell this one failed for
    if verdict is not None and isinstance(where, str):
        verdict.message = _short(f"{verdict.message} ({where})", MAX_MESSAGE)
    return verdict


def _own_failure(result: dict, timeout: float) -> Verdict | None:
    status = result.get("status")
    # The worker's own words, naming the limit: a spent budget, the watchdog's kill, a death, memory.
    reason = _text(result.get("reason"))
    if status == "timeout":
        return Verdict("timeout", _short(reason, MAX_MESSAGE) if reason else
                       f"stopped after {timeout:g} s: an infinite loop, or far too slow")
    if status == "died":
        code = result.get("exit_code")
        return Verdict("error", _short(reason, MAX_MESSAGE) if reason else
                       f"the kernel died (exit code {code if type(code) is int else '?'}): "
                       "os._exit, a crash, or out of memory")
    if status == "not_run":
        return Verdict("error", _short(f"not run: {reason or 'the kernel stopped'}", MAX_MESSAGE))
    if status == "error":
        ename, evalue = _text(result.get("ename")), _text(result.get("evalue"))
        # The course's stub names itself; nbgrader's is a bare ``raise NotImplementedError()``.
        if ename == "NotImplementedError" and (STUB_MARKER in evalue or not evalue.strip()):
            return Verdict("not_attempted", NOT_ATTEMPTED)
        quotable = result.get("quotable", True) is True
        if reason:  # the worker recognised an allocation that failed; its words name the exception
            if not quotable and ename and ename != error_label(ename):
                reason = reason.replace(f"({ename})", f"({error_label(ename)})", 1)
                if ename in reason:
                    reason = "the kernel ran out of memory (the grader's memory limit)"
            return Verdict("error", _short(reason, MAX_MESSAGE))
        if ename == "MemoryError":
            return Verdict("error", "ran out of memory (the grader's memory limit)")
        if not quotable:
            return Verdict("error", f"{error_label(ename)}: {WITHHELD}")
        return Verdict("error", _short(f"{ename}: {evalue}", MAX_MESSAGE))
    return None


def failure_message(result: dict, timeout: float) -> str:
    """What went wrong in a cell that did not complete, in the words of a verdict ("" if it completed)."""
    try:
        verdict = _failure(result, timeout) if isinstance(result, dict) else None
    except Exception:  # noqa: BLE001 - a malformed result: say so rather than raise
        return "the cell did not complete"
    return verdict.message if verdict else ""


def first_line(code: str) -> str:
    """A cell's first line of code, short: how a message points at a cell."""
    lines = [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
    return _short(lines[0], 60) if lines else ""


def bound_names(code: str) -> set[str]:
    """The names a cell's code binds at its top level: assignments, imports, definitions (none if unreadable)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager  # a cell may hold magics

        tree = ast.parse(TransformerManager().transform_cell(code))
    except Exception:  # noqa: BLE001 - not Python: it binds nothing we can name (RecursionError, MemoryError too)
        return set()
    names: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)  # not its body: those are its own names
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif not isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            todo.extend(ast.iter_child_nodes(node))
    return names


def explained(results: list, cells: list[str], index: int, unquoted: Collection[int] = ()) -> dict:
    """Cell ``index``'s result, or, when it failed only because an earlier cell did not complete, that cell's.

    The failure that follows from an earlier one is a ``NameError`` for a name that the
    earlier cell defines: the kernel was interrupted in it (a timeout), it raised, or the
    kernel died in it and was restarted without it (out of memory, a crash). The earliest
    such cell is the cause; its result comes back with ``explained_by`` saying where it is,
    with its first line unless it is one of ``unquoted`` (graded test cells: their hidden tests)
    or ran after a graded test cell (not ``quotable``, see :func:`mark_quotable`).
    """
    result = results[index]
    if not (isinstance(result, dict) and result.get("status") == "error" and result.get("ename") == "NameError"):
        return result
    missing = UNDEFINED_NAME.search(_text(result.get("evalue")))
    if not missing:
        return result
    for j in range(index):
        earlier = results[j]
        if isinstance(earlier, dict) and earlier.get("status") != "ok" and missing[1] in bound_names(cells[j]):
            hidden = j in unquoted or earlier.get("quotable", True) is not True
            quoted = "" if hidden else f", `{first_line(cells[j])}`,"
            return {**earlier, "explained_by": f"code cell {j + 1}{quoted} was to define {missing[1]!r}, "
                                               "which this cell needs"}
    return result


def decide(expected: list[Probe], cell: dict, exercise_cell: dict | None, timeout: float) -> Verdict:
    """The verdict on one graded test, from its cell's run (and its exercise cell's); never raises."""
    try:
        return _decide(expected, cell, exercise_cell, timeout)
    except Exception as exc:  # a result no branch foresaw: this test's error, never the batch's
        return Verdict("error", f"the grader could not judge this test ({type(exc).__name__}); tell the instructor")


def _decide(expected: list[Probe], cell: dict, exercise_cell: dict | None, timeout: float) -> Verdict:
    if not isinstance(cell, dict):
        return Verdict("error", "the test did not complete")
    if cell.get("status") != "ok":
        # An exercise cell that failed explains its tests' failure better than the tests do.
        if isinstance(exercise_cell, dict) and exercise_cell.get("status") != "ok":
            upstream = _failure(exercise_cell, timeout)
            if upstream is not None:
                if upstream.status != "not_attempted":  # that message speaks of the exercise already
                    upstream.message = f"in the exercise cell: {upstream.message}"
                return upstream
        return _failure(cell, timeout) or Verdict("error", "the test did not complete")
    why = compare_probes(expected, cell.get("probes", []))
    if why is None:
        return Verdict("passed")
    if cell.get("probe_overflow"):
        why = "the test's output exceeded the grader's limit; " + why
    return Verdict("failed", _short(why, MAX_MESSAGE))
