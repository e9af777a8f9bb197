import json

import numpy as np
import pytest

from helpers import checks
from helpers.checks import CheckFailed, explain_mismatch


def test_matching_values_pass_and_print_a_tick(capsys):
    checks.check_array(np.ones((2, 3)), np.ones((2, 3)), name="ones")
    checks.check_value((1, 28, 28), (1, 28, 28), name="shape")
    out = capsys.readouterr().out
    assert out.count("\u2713") == 2 and "ones" in out


@pytest.mark.parametrize("actual, expected, words", [
    (None, np.zeros(3), "got None. Did the function forget to `return`"),
    (np.zeros((3, 2)), np.zeros((2, 3)), "expected shape (2, 3), got (3, 2) (same number of elements"),
    (np.zeros((2, 3, 1)), np.zeros((2, 3)), "3 dimensions instead of 2"),
    ("text", np.zeros(2), "expected an array of shape (2,), got str"),
    (np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]),
     "1 of 3 values differ; the first at position (1,): expected 2, got 2.5"),
    (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN at position (0,)"),
    (np.array([0.5, 1.0]), np.array([0, 1]), "expected whole numbers"),
    (3, 4, "expected 4, got 3"),
    ("4", 4, "expected a number like 4, got str"),
    ((1, 2), (1, 2, 3), "expected 3 items"),
    ([(1, 4, 4), (2, 8, 9)], [(1, 4, 4), (2, 8, 8)], "result[1][2]: expected 8, got 9"),
])
def test_mismatch_messages_name_the_problem(actual, expected, words):
    message = explain_mismatch(actual, expected)
    assert message is not None and words in message


def test_dtype_only_checked_when_asked():
    a, e = np.zeros(2, np.float64), np.zeros(2, np.float32)
    assert explain_mismatch(a, e) is None
    assert "expected dtype float32, got float64" in explain_mismatch(a, e, check_dtype=True)


def test_always_equal_object_does_not_pass():
    class Liar:
        def __eq__(self, other):
            return True

    assert explain_mismatch(Liar(), np.zeros(2)) is not None
    assert explain_mismatch(Liar(), 3) is not None
    assert explain_mismatch(Liar(), "x") is not None


def test_check_function_names_the_failing_case():
    def bad(x, factor):
        return x if factor == 1 else x * 0

    with pytest.raises(CheckFailed, match=r"bad\(<array \(2,\)>, 2\)"):
        checks.check_function(bad, lambda x, f: x, [(np.ones(2), 1), (np.ones(2), 2)])


def test_check_raises():
    def strict(x):
        if x < 0:
            raise ValueError("x must be >= 0")
        return x

    checks.check_raises(strict, ValueError, -1)
    with pytest.raises(CheckFailed, match="expected ValueError for this edge case, but it raised nothing"):
        checks.check_raises(strict, ValueError, 1)


def test_stub_errors_propagate_out_of_checks():
    def stub(x):
        raise NotImplementedError(checks.stub_message("stub"))

    with pytest.raises(NotImplementedError, match="is not solved yet"):
        checks.check_function(stub, lambda x: x, [(1,)])
    with pytest.raises(NotImplementedError):
        checks.check_raises(stub, ValueError, 1)
    assert checks.is_stub_error(NotImplementedError(checks.stub_message("a")))
    assert not checks.is_stub_error(NotImplementedError("something else"))


def test_probe_mode_reports_plain_data_and_does_not_judge(monkeypatch):
    shown = []
    monkeypatch.setenv("COURSE_PROBE", "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    checks.check_array(np.arange(4, dtype=np.int16), np.zeros(4), name="wrong but probed")
    payload = json.loads(shown[0][checks.PROBE_MIME])
    assert payload["name"] == "wrong but probed"
    assert payload["value"]["kind"] == "array" and payload["value"]["shape"] == [4]
    assert checks.encode(object())["kind"] == "invalid"
    assert checks.encode(np.array([object()]))["kind"] == "invalid"
