"""helpers.tables: Markdown tables rounded for reading."""

from helpers import tables


def test_format_table_rounds_for_reading_unless_a_format_is_given():
    rows = [{"name": "a", "n": 12345, "x": 0.12345, "y": 12.345, "z": 1234.5}]
    assert tables.format_table(rows, ("name", "n", "x", "y", "z")).splitlines() == [
        "| name | n | x | y | z |", "|---|---|---|---|---|", "| a | 12,345 | 0.123 | 12.35 | 1,234 |"]
    assert tables.format_table(rows, ("x",), {"x": "{:.1%}"}).splitlines()[-1] == "| 12.3% |"
