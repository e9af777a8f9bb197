"""helpers.tables: Markdown tables rounded for reading."""

from helpers import tables


def test_format_table_rounds_for_reading_unless_a_format_is_given():
    rows = [{"name": "a", "n": 12345, "x": 0.12345, "y": 12.345, "z": 1234.5}]
    assert tables.format_table(rows, ("name", "n", "x", "y", "z")).splitlines() == [
        "| name | n | x | y | z |", "|---|---|---|---|---|", "| a | 12,345 | 0.123 | 12.35 | 1,234 |"]
    assert tables.format_table(rows, ("x",), {"x": "{:.1%}"}).splitlines()[-1] == "| 12.3% |"


def test_a_text_value_is_written_as_it_is_and_a_missing_one_leaves_the_cell_blank():
    rows = [{"kind": "a", "x": 0.5}, {"kind": "b", "x": "not trained here"}, {"kind": "c", "x": None}, {"kind": "d"}]
    assert tables.format_table(rows, ("kind", "x"), {"x": "{:.3f}"}).splitlines()[2:] == [
        "| a | 0.500 |", "| b | not trained here |", "| c |  |", "| d |  |"]


JUDGED = {"fid": 12.345, "inception_score": 8.765, "confident": 0.91234, "coverage": 0.98765, "n": 500}
REAL = {"fid": 2.0, "inception_score": 9.5, "confident": 0.95, "coverage": 1.0, "n": 500}


def test_score_table_shows_the_judge_s_columns_with_fid_over_real():
    text = tables.score_table({"EMA": JUDGED, "real digits": REAL}, REAL["fid"])
    assert text.splitlines() == [
        "| samples | FID | FID ÷ real | inception-style | confident | coverage |",
        "|---|---|---|---|---|---|",
        "| EMA | 12.35 | 6.2 | 8.77 | 0.912 | 0.988 |",
        "| real digits | 2.00 | 1.0 | 9.50 | 0.950 | 1.000 |"]


def test_score_table_takes_other_columns_by_name_and_leaves_an_unjudged_row_blank():
    rows = {"`k4`": {**JUDGED, "at init": 0.25, "train s": 61.4}, "`k3`": {"at init": 0.5, "after": "not here"}}
    text = tables.score_table(rows, 2.0, first="upsampling", columns=("at init", "after", "FID", "coverage", "train s"),
                              formats={"at init": "{:.3f}", "train s": "{:.0f}"})
    assert text.splitlines() == ["| upsampling | at init | after | FID | coverage | train s |",
                                 "|---|---|---|---|---|---|",
                                 "| `k4` | 0.250 |  | 12.35 | 0.988 | 61 |",
                                 "| `k3` | 0.500 | not here |  |  |  |"]


def test_format_table_refuses_a_column_no_row_has():
    import pytest

    rows = [{"name": "a", "n": 1}, {"name": "b"}]
    assert tables.format_table(rows, ("name", "n")).splitlines()[-1] == "| b |  |"  # blank where a row lacks it
    with pytest.raises(KeyError, match="'nn'"):
        tables.format_table(rows, ("name", "nn"))
