"""A BEIR ``corpus.jsonl``: one Document per record (``_id``, ``title``, ``text``); bad lines become warnings."""

from __future__ import annotations

import json
from pathlib import Path

from lifqa.jsonl import jsonl_rows
from lifqa.readers.text import make_document
from lifqa.types import Document


def read_beir(path: Path) -> tuple[list[Document], list[str]]:
    docs, warnings = [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, row in jsonl_rows(handle):
            try:
                if isinstance(row, json.JSONDecodeError):
                    raise row  # reported below with the other ways a line is not a BEIR record
                doc_id, text = str(row["_id"]), str(row.get("text") or "")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                warnings.append(f"{path.name} line {number}: skipped, not a BEIR record with _id and text ({exc})")
                continue
            title = str(row.get("title") or "")
            raw = f"{title}\n\n{text}" if title else text
            docs.append(make_document(doc_id, raw, {"title": title or None, "doc_id": doc_id}, source_path=f"{path}:{number}", keep_id=True))
    return docs, warnings


__all__ = ["read_beir"]
