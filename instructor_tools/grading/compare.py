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
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.checks import STUB_MARKER, explain_mismatch

MAX_DEPTH = 16
MAX_ITEMS = 100_000
MAX_ARRAY_BYTES = 64 << 20  # the probe budget (runner.Limits.probe_mb): no honest array is larger
MAX_ELEMENTS = 8 << 20  # comparisons make float64 copies: 64 MB each
MAX_MESSAGE = 500
NOT_ATTEMPTED = "not attempted: the exercise still raises NotImplementedError; write your solution in its cell"
UNDEFINED_NAME = re.compile(r"name '([^']{1,200})' is not defined")
ARRAY_DTYPE = re.compile(r"[<>|=][biuf][1-9][0-9]?")  # byte order, kind, item size: '<f8', '|b1'


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
    if not ARRAY_DTYPE.fullmatch(dtype):
        raise BadProbe(f"array of dtype {_short(dtype, 20)!r} cannot be graded")
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
        if name not in wanted:
            return f"unexpected check {_short(name)!r} in the test's output (the test cell was changed or forged)"
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
            return (f"{probe.name}: got a {actual.type_name}, which is not a value the grader can accept "
                    "(numbers, strings, tuples or arrays)")
        if isinstance(probe.value, Unencodable):
            return (f"{probe.name}: the solution's own value cannot be graded ({probe.value.type_name}); "
                    "tell the instructor")
        why = explain_mismatch(actual, probe.value, probe.name, **_options(probe.options))
        if why:
            return why
    return None


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
        if reason:  # the worker recognised an allocation that failed
            return Verdict("error", _short(reason, MAX_MESSAGE))
        if ename == "MemoryError":
            return Verdict("error", "ran out of memory (the grader's memory limit)")
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
    with its first line unless it is one of ``unquoted`` (graded test cells: their hidden tests).
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
            quoted = "" if j in unquoted else f", `{first_line(cells[j])}`,"
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
