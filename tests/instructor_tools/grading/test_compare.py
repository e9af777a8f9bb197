"""Plain-data comparison in the grader's process: probes, their decoding, and why it happens here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import checks
from instructor_tools.grading.compare import BadProbe, Probe, compare_probes, decode


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
