"""Per-item document cache: re-indexing a library re-reads only items that were added or changed.

An item's key is a hash of its library version/metadata, the bytes of its
attachments and the code that reads them (``items.attachment_fingerprint`` plus
:func:`code_version`); the value is the finished Document as JSON. The cache is a
SQLite file beside the index builds (the build lock serialises writers); entries
no build used are dropped at the end of each build.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from lifqa.index.cache import SqliteCache
from lifqa.types import Document, Section

FILE_NAME = "library-items.sqlite"
_TUPLE_FIELDS = {f.name for f in fields(Document) if str(f.type).startswith("tuple")}


def code_version() -> str:
    """Hash of the modules that turn an item into a Document: editing one invalidates the cache."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("library/*.py"), package / "decoding.py", package / "types.py", *package.glob("readers/*.py")]):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class ItemCache(SqliteCache):
    """``get``/``put`` Documents by item key; ``close`` drops entries this run did not touch. No-op without a folder."""

    kind = "library item cache"
    after_damage = ", reading every item again"

    def __init__(self, folder: Path | None) -> None:
        self._used: set[str] = set()
        self._code = code_version()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        super().__init__(folder / FILE_NAME if folder is not None else None)

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, document TEXT NOT NULL, warnings TEXT NOT NULL)")

    def key(self, doc_id: str, fingerprint: str) -> str:
        return hashlib.sha256(f"{doc_id}\0{fingerprint}\0{self._code}".encode()).hexdigest()

    def get(self, key: str) -> tuple[Document, list[str]] | None:
        if self._con is None:
            return None
        row = self._con.execute("SELECT document, warnings FROM items WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            doc = document_from_json(json.loads(row[0]))
        except (TypeError, ValueError, KeyError):
            return None
        self._used.add(key)
        return doc, list(json.loads(row[1]))

    def put(self, key: str, doc: Document, warnings: list[str]) -> None:
        if self._con is None:
            return
        self._used.add(key)
        self._con.execute("INSERT OR REPLACE INTO items VALUES (?,?,?)",
                          (key, json.dumps(document_to_json(doc), ensure_ascii=False, default=str), json.dumps(warnings, ensure_ascii=False)))

    def close(self, prune: bool = True) -> None:
        if self._con is None:
            return
        try:
            if prune:
                self._con.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY)")
                self._con.executemany("INSERT INTO used VALUES (?)", [(k,) for k in self._used])
                self._give_back_space(self._con.execute("DELETE FROM items WHERE key NOT IN (SELECT key FROM used)").rowcount)
            self._con.commit()
        finally:
            super().close()


def document_to_json(doc: Document) -> dict[str, Any]:
    out = {f.name: getattr(doc, f.name) for f in fields(Document)}
    if "sections" in out:
        out["sections"] = [asdict(s) for s in out["sections"]]
    return out


def document_from_json(data: dict[str, Any]) -> Document:
    values = {name: _tuples(value) if name in _TUPLE_FIELDS else value for name, value in data.items()}
    if "sections" in values:
        values["sections"] = tuple(Section(**s) for s in data["sections"])
    return Document(**values)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


__all__ = ["ItemCache", "code_version", "document_to_json", "document_from_json"]
