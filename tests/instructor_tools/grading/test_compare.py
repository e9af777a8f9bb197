"""Plain-data comparison in the grader's process: probes, their decoding, and why it happens here."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter

import numpy as np
import pytest

from helpers import checks
from instructor_tools.grading.compare import (
    MAX_MESSAGE,
    NOT_ATTEMPTED,
    BadProbe,
    Probe,
    Verdict,
    bound_names,
    compare_probes,
    decide,
    decode,
    explained,
    mark_quotable,
    parse_probe,
)


def probe(name, value, **options) -> str:
    return json.dumps({"name": name, "value": checks.encode(value), "options": options})


EXPECTED = [Probe("f(1)", np.arange(4.0).reshape(2, 2), {"rtol": 1e-5, "atol": 1e-6}), Probe("g", 0.75, {})]


def test_the_numpy_trick_would_fool_checks_made_in_the_students_kernel(monkeypatch):
    """Why comparing in the grader matters: with np.isclose patched, an in-kernel check passes a wrong array."""
    right = np.arange(6.0).reshape(2, 3)
    with pytest.raises(checks.CheckFailed):
        checks.check_array(right + 1, right)
    monkeypatch.setattr(np, "isclose", lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool))
    checks.check_array(right + 1, right)  # fooled


def test_matching_probes_pass_and_order_does_not_matter():
    assert compare_probes(EXPECTED, [probe("g", 0.75), probe("f(1)", np.arange(4.0).reshape(2, 2))]) is None


@pytest.mark.parametrize("texts, words", [
    ([probe("f(1)", np.arange(4.0).reshape(2, 2))], "never ran"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", 0.75), probe("g", 0.75)], "2 times"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", 0.75), probe("h", 1)], "unexpected check"),
    ([probe("f(1)", np.arange(4.0).reshape(4)), probe("g", 0.75)], "expected shape (2, 2), got (4,)"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2) + 1, rtol=1e9, atol=1e9), probe("g", 0.75)], "4 of 4 values differ"),
    ([probe("f(1)", object()), probe("g", 0.75)], "not a value the grader can accept"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), probe("g", True)], "expected a number"),
    ([probe("f(1)", np.arange(4.0).reshape(2, 2)), "{not json"], "tampered"),
])
def test_probes_that_do_not_match(texts, words):
    assert words in compare_probes(EXPECTED, texts)


def test_decode_accepts_plain_data_only():
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = decode(checks.encode(array))
    assert back.dtype == np.int16 and np.array_equal(back, array) and not back.flags.writeable
    assert decode(checks.encode([(1, 2), "a", None, 2.5])) == ((1, 2), "a", None, 2.5)
    bad = [{"kind": "array", "dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="},
           {"kind": "array", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="},
           {"kind": "array", "dtype": "<f8", "shape": [1], "data": "***"},
           {"kind": "plain", "value": {"__class__": "x"}}, {"kind": "pickle", "data": ""}]
    nested = {"kind": "plain", "value": 1}
    for _ in range(40):
        nested = {"kind": "seq", "items": [nested]}
    for value in [*bad, nested]:
        with pytest.raises(BadProbe):
            decode(value)


# --------------------------------------------------------------------------- hostile and odd values

ARRAY = np.arange(6.0).reshape(2, 3)


def raw(name, value) -> str:
    """A probe's text with an encoded value written by hand (what a forged or broken kernel could print)."""
    return json.dumps({"name": name, "value": value})


def array_value(shape, dtype="<f8", data="") -> dict:
    return {"kind": "array", "dtype": dtype, "shape": shape, "data": data}


def nested_seq(depth: int) -> dict:
    value = {"kind": "plain", "value": 1}
    for _ in range(depth):
        value = {"kind": "seq", "items": [value]}
    return value


ONE = "got str <1 character, not shown>"  # a string the student's code returned is told by its length
HOSTILE = {  # id: (expected value, the probe's text, words the message must hold)
    "ragged list": (ARRAY, probe("v", [[1, 2], [3]]), "expected an array of shape (2, 3), got a ragged list"),
    "string in an array": (ARRAY, probe("v", [[1, 2, 3], ["a", 2, 3]]), f"{ONE} at position (1, 0)"),
    "None in an array": (ARRAY, probe("v", [[1, 2, 3], [None, 2, 3]]), "got None at position (1, 0)"),
    "number for a string": ("relu", probe("v", 3), "expected str 'relu', got int 3"),
    "string in a sequence": ((1, 2), probe("v", (1, "2")), f"v[1]: expected a number like 2, {ONE}"),
    "mixed sequence": ((1, 2, 3), probe("v", (1, "a", None)), f"v[1]: expected a number like 2, {ONE}"),
    "mixed sequence for an array": (ARRAY, probe("v", (1, "a", None, [2])), "ragged list"),
    "sequence for a number": (0.75, probe("v", (0.75,)), "expected a number like 0.75, got tuple"),
    "10**400 for a float": (0.75, probe("v", 10**400), "expected 0.75, got <int of about 401 digits>"),
    "10**400 for an int": (3, probe("v", 10**400), "expected 3, got <int of about 401 digits>"),
    "10**400 for an array": (ARRAY, probe("v", 10**400), "expected numbers, got int <int of about 401 digits>"),
    "10**400 in a list": (ARRAY, probe("v", [[10**400] * 3] * 2), "at position (0, 0)"),
    "5000-digit integer": (3, '{"name": "v", "value": {"kind": "plain", "value": 1' + "0" * 5000 + "}}",
                           "corrupted (a number too long to read)"),
    "shape [2**64]": (ARRAY, raw("v", array_value([2**64])), "malformed array shape"),
    "shape of 2**36 values": (ARRAY, raw("v", array_value([4096, 4096, 4096])), "larger than the grader accepts"),
    "empty dimension, huge others": (ARRAY, raw("v", array_value([0, 2**22, 2**22])), "larger than the grader"),
    "negative dimension": (ARRAY, raw("v", array_value([-1])), "malformed array shape"),
    "float dimension": (ARRAY, raw("v", array_value([2.0])), "malformed array shape"),
    "bool dimension": (ARRAY, raw("v", array_value([True])), "malformed array shape"),
    "empty shape, no data": (ARRAY, raw("v", array_value([])), "does not match its shape"),
    "empty shape": (ARRAY, raw("v", array_value([], data="AAAAAAAA8D8=")), "got () (0 dimensions instead of 2)"),
    "complex array": (ARRAY, raw("v", array_value([1], "<c16", "A" * 24)), "array of a dtype that cannot be graded"),
    "unknown dtype": (ARRAY, raw("v", array_value([1], "x" * 16, "AAAAAAAAAAA=")), "cannot be graded"),
    "long dtype": (ARRAY, raw("v", array_value([1], "<f8" + " " * 100, "AAAAAAAAAAA=")),
                   "array of a dtype that cannot be graded"),
    "deep JSON": (3, '{"name": "v", "value": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "deep sequence": ((1,), raw("v", nested_seq(40)), "value nested too deeply"),
    "long sequence": ((1,), raw("v", {"kind": "seq", "items": [nested_seq(0)] * 100_001}), "malformed sequence"),
    "NaN": (0.75, raw("v", {"kind": "plain", "value": float("nan")}), "expected 0.75, got nan"),
    "infinity": (0.75, raw("v", {"kind": "plain", "value": float("inf")}), "expected 0.75, got inf"),
    "inf in an array": (ARRAY, probe("v", np.full((2, 3), np.inf)), "6 of 6 values differ"),
    "NaN in an array": (ARRAY, probe("v", np.full((2, 3), np.nan)), "NaN at position (0, 0)"),
    "bool for an int": (1, probe("v", True), "expected a number like 1, got bool True"),
    "int for a bool": (True, probe("v", 1), "expected bool True, got int 1"),
    "bool array for floats": (ARRAY, probe("v", np.ones((2, 3), bool)), "values differ"),
    "string for an array": (ARRAY, probe("v", "abc"), "expected an array of shape (2, 3), got str"),
    "huge string": ("relu", probe("v", "x" * 1_000_000), "expected str 'relu', got str <1000000 characters"),
    "object": (ARRAY, probe("v", object()), "not a value the grader can accept"),
    "invalid, odd type name": (3, raw("v", {"kind": "invalid", "type": {"a": [1]}}), "got a object"),
    "dict as a plain value": (3, raw("v", {"kind": "plain", "value": {"a": 1}}), "malformed plain value"),
    "no value": (3, json.dumps({"name": "v"}), "malformed value"),
    "name not a string": (3, json.dumps({"name": 5, "value": checks.encode(3)}), "no name"),
    "not an object": (3, "[1, 2]", "no name"),
    "not text": (3, 5, "corrupted (not text)"),
    "long unexpected name": (3, probe("x" * 100_000, 3), "an unexpected check in the test's output"),
}


@pytest.mark.parametrize("expected, text, words", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_and_odd_values_fail_with_a_message_and_never_raise(expected, text, words):
    verdict = decide([Probe("v", expected, {})], {"status": "ok", "probes": [text]}, None, 10)
    assert verdict.status == "failed" and words in verdict.message, verdict.message
    assert len(verdict.message) <= MAX_MESSAGE


@pytest.mark.parametrize("expected, actual", [
    (0.0, -0.0), (0, -0.0), (-0.0, 0), (float("nan"), float("nan")), (ARRAY, ARRAY.tolist()), ((), ()),
    (np.zeros((0, 3)), np.zeros((0, 3))), (2**63, 2**63), ("", ""),
])
def test_odd_but_right_values_pass(expected, actual):
    assert decide([Probe("v", expected, {})], {"status": "ok", "probes": [probe("v", actual)]}, None, 10).status \
        == "passed"
    zero_dimensional = raw("v", array_value([], data="AAAAAAAA8D8="))  # 1.0
    assert decide([Probe("v", 1.0, {})], {"status": "ok", "probes": [zero_dimensional]}, None, 10).status == "passed"


@pytest.mark.parametrize("cell, status, words", [
    ({"status": "ok", "probes": "not a list"}, "failed", "no list of probes"),
    ({"status": "ok"}, "failed", "never ran"),
    ({"status": "error", "ename": 5, "evalue": None}, "error", ""),
    ({"status": "error", "ename": "ValueError", "evalue": "x" * 10_000}, "error", "ValueError: xxx"),
    ({"status": "died", "exit_code": {"a": 1}}, "error", "exit code ?"),
    ({"status": "not_run", "reason": ["a"]}, "error", "the kernel stopped"),
    ({"status": object()}, "error", "did not complete"),
    ("not a dict", "error", "did not complete"),
    (None, "error", "did not complete"),
])
def test_malformed_results_never_raise(cell, status, words):
    verdict = decide([Probe("v", 3, {})], cell, {"status": [1]}, 10)
    assert verdict.status == status and words in verdict.message and len(verdict.message) <= MAX_MESSAGE


def test_solution_options_that_are_not_sane_tolerances_are_ignored():
    for bad in (10**400, float("nan"), float("inf"), -1, "1", True, None):
        expected = [Probe("v", 1.0, {"rtol": bad, "atol": bad, "check_dtype": bad})]
        assert "expected 1, got 2" in compare_probes(expected, [probe("v", 2.0)])


@pytest.mark.parametrize("evalue", ["", "  ", checks.stub_message("f")])
def test_stubs_course_and_nbgrader_are_not_attempted_in_words_a_student_understands(evalue):
    stub = {"status": "error", "ename": "NotImplementedError", "evalue": evalue}
    assert decide([Probe("v", 3, {})], stub, None, 10) == Verdict("not_attempted", NOT_ATTEMPTED)
    upstream = decide([Probe("v", 3, {})], {"status": "error", "ename": "NameError", "evalue": "f"}, stub, 10)
    assert upstream == Verdict("not_attempted", NOT_ATTEMPTED)
    assert NOT_ATTEMPTED.startswith("not attempted") and "write your solution in its cell" in NOT_ATTEMPTED
    assert "replace this line" not in NOT_ATTEMPTED  # the stub's words, addressed to the notebook's reader


def test_other_not_implemented_errors_are_errors():
    cell = {"status": "error", "ename": "NotImplementedError", "evalue": "strided convolution"}
    assert decide([Probe("v", 3, {})], cell, None, 10) == Verdict("error", "NotImplementedError: strided convolution")


# --------------------------------------------------------------------------- random JSON

SCALARS = [None, True, False, 0, 1, -1, 2, 3, 2**31, 2**63, -(2**63) - 1, 10**400, 0.5, -0.0, 1e308, float("nan"),
           float("inf"), float("-inf"), "", "a", "`", "\x1b[31m", "plain", "seq", "array", "invalid", "<f8", "|b1",
           "<i2", "|O", "<c16", "AAAAAAAAAAA=", "AAA=", "***", "v", "w"]
KEYS = ["kind", "value", "items", "dtype", "shape", "data", "type", "name", "options", "rtol", "atol", "check_dtype"]


def random_json(rng, depth=0):
    """Any JSON, leaning towards the keys and values of probes so that decoding gets deep."""
    roll = rng.random()
    if depth > 5 or roll < 0.35:
        return rng.choice(SCALARS)
    if roll < 0.55:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    if roll < 0.7:
        return {rng.choice(KEYS): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    kind = rng.choice(["plain", "seq", "array", "invalid", "other"])
    if kind == "array":
        shape = [rng.choice([0, 1, 2, 3, -1, 2**40, 1.5]) for _ in range(rng.randrange(4))]
        data = base64.b64encode(rng.randbytes(rng.randrange(50))).decode()
        value = {"kind": "array", "dtype": rng.choice(["<f8", "<f4", "|i1", "<u2", "|b1", "<c8", "|O", "<M8[D]", "S3"]),
                 "shape": shape, "data": data}
    else:
        value = {"kind": kind, "value": random_json(rng, depth + 1),
                 "items": [random_json(rng, depth + 1) for _ in range(rng.randrange(4))], "type": rng.choice(SCALARS)}
    for key in rng.sample(list(value), rng.randrange(2)):  # now and then a key goes missing
        del value[key]
    return value


def random_python(rng, depth=0):
    """A value a student's function could honestly return: numbers, strings, (ragged) lists, arrays."""
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice([s for s in SCALARS if not isinstance(s, str) or len(s) < 3] + [0.75, 2.5])
    if roll < 0.7:
        return [random_python(rng, depth + 1) for _ in range(rng.choice([0, 2, 2, 3]))]
    shape = rng.choice([(), (0,), (2, 3), (3, 2), (6,), (2, 3, 1)])
    values = np.array([rng.choice([0, 1, 2.5, -0.0, np.nan, np.inf, 5]) for _ in range(int(np.prod(shape)))])
    with np.errstate(all="ignore"):
        return values.astype(rng.choice(["<f8", "<f4", "<i8", "|i1", "|u1", "|b1"])).reshape(shape)


def mutate(rng, value):
    """``value`` with one node somewhere replaced by random JSON (or left alone)."""
    if rng.random() < 0.5:
        return value
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key]) if rng.random() < 0.7 else random_json(rng)}
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        return value[:i] + [mutate(rng, value[i])] + value[i + 1:]
    return random_json(rng)


def random_text(rng):
    value = mutate(rng, checks.encode(random_python(rng))) if rng.random() < 0.6 else random_json(rng)
    payload = {"name": rng.choice(["v", "v", "v", "w", "\x00", "x" * 200]), "value": value,
               "options": random_json(rng)}
    text = json.dumps(payload if rng.random() < 0.95 else random_json(rng))
    if rng.random() < 0.1:  # a cut or a stray character
        cut = rng.randrange(len(text) + 1)
        text = text[:cut] + rng.choice(["", "}", "]", '"', "\\", "\x00"]) + text[cut + rng.randrange(3):]
    return text


RANDOM_EXPECTED = [ARRAY, np.arange(6, dtype=np.int8).reshape(2, 3), np.zeros(0), 0.75, 3, "relu", True, None, (1, 2),
                   ((1, 2.5), "a"), ()]


def test_random_json_never_raises():
    rng = random.Random(20240601)
    outcomes = Counter()
    for _ in range(3000):
        text = random_text(rng)
        try:
            parse_probe(text)
            outcomes["parsed"] += 1
        except BadProbe:
            outcomes["bad"] += 1
        for expected in RANDOM_EXPECTED:
            why = compare_probes([Probe("v", expected, {})], [text, text][: rng.randrange(1, 3)])
            assert why is None or isinstance(why, str)
            verdict = decide([Probe("v", expected, {})], {"status": "ok", "probes": [text]}, None, 10)
            assert verdict.status in ("passed", "failed") and len(verdict.message) <= MAX_MESSAGE
            outcomes[verdict.status] += 1
    assert min(outcomes.values()) > 100, outcomes  # every path was taken


def test_the_workers_reason_for_a_stop_is_the_message():
    budget = {"status": "timeout", "reason": "the submission used up the grader's time budget of 60 s", "probes": []}
    assert decide([], budget, None, 5) == Verdict("timeout", budget["reason"])
    assert decide([], {"status": "timeout", "probes": []}, None, 5).message.startswith("stopped after 5 s")
    killed = {"status": "died", "exit_code": -9, "probes": [],
              "reason": "the kernel ran out of its 2048 MB of memory (its processes used 2300 MB together)"}
    assert decide([], killed, None, 5) == Verdict("error", killed["reason"])
    memory = {"status": "error", "ename": "MemoryError", "evalue": "", "reason": "the kernel ran out of memory "
              "(MemoryError): it may use 2048 MB"}
    assert decide([], memory, None, 5) == Verdict("error", memory["reason"])


CELLS = ["import torch as th, numpy.linalg\nfrom os import path as p", "%matplotlib agg\nbig = bytearray(9)",
         "def answer():\n    inner = 1\n    return inner\nclass Net: pass\nfor i, (a, *b) in []: pass",
         "if True:\n    model: int = 1\nwith open('f') as handle: pass\n[k for k in ()]", "checks.check_value(x, None)"]


def test_bound_names_are_the_top_level_names_a_cell_defines():
    assert bound_names(CELLS[0]) == {"th", "numpy", "p"}
    assert bound_names(CELLS[1]) == {"big"}  # magics are read as IPython reads them
    assert bound_names(CELLS[2]) == {"answer", "Net", "i", "a", "b"}  # not a function's own locals
    assert bound_names(CELLS[3]) == {"model", "handle"}  # not a comprehension's variable
    assert bound_names("def (") == set() and bound_names("(" * 10_000) == set()


DIED = {"status": "died", "exit_code": -9, "probes": [],
        "reason": "the kernel ran out of its 300 MB of memory (its processes used 610 MB together) and was stopped"}


def name_error(name: str) -> dict:
    return {"status": "error", "ename": "NameError", "evalue": f"name '{name}' is not defined", "probes": []}


@pytest.mark.parametrize("name, cause", [("big", 1), ("th", 0)])
def test_a_name_error_after_the_cell_that_defines_it_failed_is_reported_as_that_cell(name, cause):
    """A cell that died (out of memory, then restarted without it) or timed out: its failure is the message."""
    failed = [DIED, {"status": "timeout", "probes": []}]
    results = [{"status": "ok"}] * 4 + [name_error(name)]
    results[cause] = failed[cause == 0]
    verdict = decide([Probe("v", 3, {})], explained(results, CELLS, 4), None, 10)
    if cause == 1:
        assert verdict.status == "error" and verdict.message.startswith(DIED["reason"])
    else:
        assert verdict.status == "timeout" and verdict.message.startswith("stopped after 10 s")
    assert f"code cell {cause + 1}, `{CELLS[cause].splitlines()[0]}`, was to define {name!r}" in verdict.message
    assert "NameError" not in verdict.message
    unquoted = decide([Probe("v", 3, {})], explained(results, CELLS, 4, unquoted={cause}), None, 10)
    assert f"code cell {cause + 1} was to define {name!r}" in unquoted.message  # a test cell's hidden tests


def test_other_failures_are_their_own():
    results = [{"status": "ok"}, DIED, {"status": "ok"}, {"status": "ok"}]
    for own in (name_error("elsewhere"), name_error("answer"), {"status": "error", "ename": "ValueError",
                                                                "evalue": "name 'big' is not defined"}):
        assert explained([*results, own], CELLS, 4) is own  # no failed cell defines it, or not a NameError
    assert explained([*results, {"status": "ok"}], CELLS, 4) == {"status": "ok"}
    assert explained([*results, "junk"], CELLS, 4) == "junk"


# --------------------------------------------------------------------------- what the kernel says, after a test ran

SECRET = "checks.check_function(f, None, [(rng.normal(size=(1, 2, 5, 4)),)])"  # a hidden test's source


def error(ename: str, evalue: str, **more) -> dict:
    return {"status": "error", "ename": ename, "evalue": evalue, "probes": [], **more}


def test_only_cells_before_the_first_graded_test_cell_are_quotable():
    results = mark_quotable([{"status": "ok", "quotable": True}] * 5 + ["junk"], 2)
    assert [r["quotable"] for r in results[:5]] == [True, True, False, False, False]  # the kernel's own key overridden
    assert results[5] == "junk"


@pytest.mark.parametrize("ename, shown", [("ValueError", "ValueError"), ("LinAlgError", "LinAlgError"),
                                          ("InvalidArgumentError", "InvalidArgumentError"),
                                          (SECRET, "an exception"), ("Secret_" + "x" * 30, "an exception")])
def test_after_a_test_ran_an_error_keeps_only_a_known_exception_name(ename, shown):
    cell = mark_quotable([error(ename, SECRET)], 0)[0]
    verdict = decide([Probe("v", 3, {})], cell, None, 10)
    assert verdict == Verdict("error", f"{shown}: its message is not shown: it could quote the hidden tests; "
                                       "run the notebook to see it")
    upstream = decide([Probe("v", 3, {})], error("NameError", "x"), cell, 10)  # an exercise cell after a test
    assert SECRET not in upstream.message and upstream.message.startswith(f"in the exercise cell: {shown}:")


def test_before_any_test_ran_an_error_shows_its_message():
    cell = mark_quotable([error("NameError", "name 'np' is not defined")], 1)[0]
    assert decide([Probe("v", 3, {})], cell, None, 10) == Verdict("error", "NameError: name 'np' is not defined")


def test_after_a_test_ran_the_stub_is_still_not_attempted_and_memory_still_named():
    stub = mark_quotable([error("NotImplementedError", checks.stub_message("f"))], 0)[0]
    assert decide([Probe("v", 3, {})], stub, None, 10) == Verdict("not_attempted", NOT_ATTEMPTED)
    forged = mark_quotable([error(SECRET, "out of memory", reason=f"the kernel ran out of memory ({SECRET}): it "
                                                                   "may use 2048 MB")], 0)[0]
    verdict = decide([Probe("v", 3, {})], forged, None, 10)
    assert verdict == Verdict("error", "the kernel ran out of memory (an exception): it may use 2048 MB")


@pytest.mark.parametrize("expected, value, words", [
    ("relu", SECRET, f"v: expected str 'relu', got str <{len(SECRET)} characters, not shown>"),
    (ARRAY, SECRET, f"v: expected an array of shape (2, 3), got str <{len(SECRET)} characters, not shown>"),
    (3, SECRET, f"v: expected a number like 3, got str <{len(SECRET)} characters, not shown>"),
    ((1, "a"), (1, SECRET), f"v[1]: expected str 'a', got str <{len(SECRET)} characters, not shown>"),
    ((1, 2), (1, 2, SECRET), f"v: expected 2 items, got 3; item 2 is one too many: <{len(SECRET)} characters, "
     "not shown>"),
])
def test_a_mismatch_never_quotes_a_string_the_students_code_returned(expected, value, words):
    verdict = decide([Probe("v", expected, {})], {"status": "ok", "probes": [probe("v", value)]}, None, 10)
    assert verdict.status == "failed" and words in verdict.message, verdict.message
    assert "rng.normal" not in verdict.message


def test_a_mismatch_keeps_numbers_shapes_and_the_solutions_own_string():
    verdict = decide([Probe("v", ARRAY, {})], {"status": "ok", "probes": [probe("v", ARRAY.T)]}, None, 10)
    assert "expected shape (2, 3), got (3, 2)" in verdict.message
    assert "expected 'relu', got 'tanh'" not in decide([Probe("v", "relu", {})], {"status": "ok", "probes": [
        probe("v", "tanh")]}, None, 10).message  # told by its length: "got str <4 characters, not shown>"
    assert decide([Probe("v", 3, {})], {"status": "ok", "probes": [probe("v", 4)]}, None, 10).message == \
        "v: expected 3, got 4 (difference 1)"


def test_a_type_the_grader_cannot_encode_is_named_only_when_it_is_a_known_one():
    for type_name, shown in (("dict", "got a dict"), (SECRET, "got a object"), ("Tensor", "got a Tensor")):
        text = json.dumps({"name": "v", "value": {"kind": "invalid", "type": type_name}})
        assert shown in decide([Probe("v", 3, {})], {"status": "ok", "probes": [text]}, None, 10).message


def test_a_cell_that_ran_after_a_test_is_not_quoted_in_an_explanation():
    results = mark_quotable([{"status": "ok"}] * 2 + [DIED, {"status": "ok"}, name_error("big")], 1)
    verdict = decide([Probe("v", 3, {})], explained(results, ["x = 1", "check()", CELLS[1], "", ""], 4), None, 10)
    assert "code cell 3 was to define 'big'" in verdict.message and "%matplotlib" not in verdict.message


def _known(**mistakes) -> dict:
    """A solution probe's options with known mistakes, as helpers.checks writes them."""
    return {"mistakes": {says.replace("_", " "): checks.encode(value) for says, value in mistakes.items()}}


def test_the_grader_names_a_known_mistake_from_the_solutions_run():
    expected = [Probe("f", np.repeat(ARRAY, 2, axis=1), _known(with_np_tile=np.tile(ARRAY, 2)))]
    verdict = decide(expected, {"status": "ok", "probes": [probe("f", np.tile(ARRAY, 2))]}, None, 10)
    assert verdict.status == "failed"
    assert verdict.message.endswith("values differ; the first at position (0, 1): expected 0, got 1 (largest "
                                    "difference 1). Your result is exactly the one computed with np tile."), verdict
    other = decide(expected, {"status": "ok", "probes": [probe("f", ARRAY.repeat(2, axis=1) + 1)]}, None, 10)
    assert other.status == "failed" and "Your result" not in other.message
    right = decide(expected, {"status": "ok", "probes": [probe("f", np.repeat(ARRAY, 2, axis=1))]}, None, 10)
    assert right.status == "passed"


def test_a_submission_cannot_name_its_own_mistake_or_break_the_diagnosis():
    """Only the solution's probe options count; a malformed mistake in them is passed over, never a crash."""
    forged = probe("f", ARRAY + 1, **_known(forged_words=ARRAY + 1))
    verdict = decide([Probe("f", ARRAY, {})], {"status": "ok", "probes": [forged]}, None, 10)
    assert verdict.status == "failed" and "forged" not in verdict.message
    broken = {"mistakes": {"with junk": {"kind": "array", "dtype": "<f8", "shape": [9], "data": "AAAA"},
                           "with a sign flip": checks.encode(-ARRAY)}}
    verdict = decide([Probe("f", ARRAY, broken)], {"status": "ok", "probes": [probe("f", -ARRAY)]}, None, 10)
    assert verdict.message.endswith("Your result is exactly the one computed with a sign flip."), verdict
    assert decide([Probe("f", ARRAY, {"mistakes": ["not", "a", "dict"]})],
                  {"status": "ok", "probes": [probe("f", -ARRAY)]}, None, 10).status == "failed"
