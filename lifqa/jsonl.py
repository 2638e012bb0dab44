"""JSON Lines read one way: each non-blank line numbered from 1, decoded or with the reason it is not JSON.

Question files, gold sets, BEIR corpora and queries, batch outputs and evaluation reports all read
their lines here; each caller decides whether a bad line stops it, is reported, or is skipped, and
names the file and line in its own words (``not_json`` gives the usual wording).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator


def jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line, numbered from 1 over all lines (blank ones too).

    A line that is not JSON gives its ``json.JSONDecodeError`` as the value (``.doc`` is the line),
    so the caller can report it with its line number and go on."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, exc


def not_json(where: str, exc: json.JSONDecodeError) -> str:
    """The message for a line that is not JSON: ``where`` is ``file:line`` (or a label and line)."""
    return f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"
