"""The one JSON Lines reader: line numbers count every line, blank ones are skipped, a bad line is handed back."""

from __future__ import annotations

import json
from pathlib import Path

from lifqa.jsonl import jsonl_rows, not_json


def test_rows_are_numbered_over_all_lines_and_blank_lines_are_skipped():
    lines = ['{"id": "q1"}', "", "   ", '["a list"]', "7\n"]
    assert list(jsonl_rows(lines)) == [(1, {"id": "q1"}), (4, ["a list"]), (5, 7)]


def test_a_line_that_is_not_json_comes_back_as_its_error_with_its_number():
    rows = list(jsonl_rows(['{"id": "q1"}', '{"id": ', '{"id": "q3"}']))
    assert [number for number, _ in rows] == [1, 2, 3]
    number, error = rows[1]
    assert isinstance(error, json.JSONDecodeError) and error.doc == '{"id": '
    assert rows[2] == (3, {"id": "q3"}), "reading goes on after a bad line"
    assert not_json(f"gold.jsonl:{number}", error) == "gold.jsonl:2: not valid JSON (Expecting value at column 8)"


def test_a_file_handle_keeps_its_line_numbers(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n{oops}\n', encoding="utf-8")
    with path.open(encoding="utf-8") as handle:
        rows = list(jsonl_rows(handle))
    assert rows[:2] == [(1, {"a": 1}), (3, {"a": 2})]
    assert rows[2][0] == 4 and isinstance(rows[2][1], json.JSONDecodeError)
