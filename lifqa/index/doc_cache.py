"""Per-document build work kept beside the builds, keyed by content, so a rebuild redoes only what changed.

Chunking, fact extraction and the reliability rules are per document (only the cross-document
conflict comparison is not, and it is cheap). A rebuild after adding or changing 10 documents of
5,000 thus chunks and assesses 10 documents, embeds only their new text (the embedding cache), and
rebuilds BM25/FAISS/store from cached parts. A document's key covers everything its result depends
on: its full record (id, title, text, metadata), the chunk settings and the code of the modules that
shape the result; an assessment's key adds the conflicts that name the document.

Values are JSON (nothing is ever unpickled); the caller gives the codec of its records. After a build the cache keeps only the keys that build used, so a removed
document leaves nothing behind. A damaged cache is set aside and the build does the work again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable

from lifqa.index.cache import SqliteCache
from lifqa.index.layout import modules_fingerprint

CACHE_FILE = "documents.sqlite"
_SCHEMA = "CREATE TABLE IF NOT EXISTS work (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_MODULES = ("chunking.py", "reliability/structure.py", "reliability/facts.py", "reliability/flags.py",
            "reliability/passages.py", "reliability/tiers.py", "decoding.py", "index/build.py", "types.py")


def code_key() -> str:
    return modules_fingerprint(_MODULES)


class DocumentCache(SqliteCache):
    """Open with :meth:`open`; one build at a time uses it (the build lock)."""

    kind = "document cache"

    def __init__(self, path: Path, salt: str) -> None:
        self.salt = salt
        self.hits = 0
        self.misses = 0
        self._used: set[str] = set()
        super().__init__(path)

    @classmethod
    def open(cls, index_dir: Path, settings: dict[str, Any]) -> "DocumentCache":
        salt = hashlib.sha256((code_key() + json.dumps(settings, sort_keys=True)).encode()).hexdigest()
        return cls(index_dir / CACHE_FILE, salt)

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute(_SCHEMA)

    def key(self, kind: str, *parts: Any) -> str:
        digest = hashlib.sha256(f"{self.salt}\0{kind}".encode())
        for part in parts:
            digest.update(b"\0" + repr(part).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def get_many(self, keys: list[str], decode: Callable[[Any], Any]) -> list[Any | None]:
        out: list[Any | None] = []
        for key in keys:
            self._used.add(key)
            row = self._con.execute("SELECT value FROM work WHERE key = ?", (key,)).fetchone() if self._con else None
            try:
                out.append(decode(json.loads(row[0])) if row else None)
            except (ValueError, TypeError, KeyError):  # an entry this lifqa cannot read: redo the work
                out.append(None)
        self.hits += sum(value is not None for value in out)
        return out

    def put_many(self, items: Iterable[tuple[str, Any]], encode: Callable[[Any], Any]) -> None:
        rows = [(key, json.dumps(encode(value), ensure_ascii=False)) for key, value in items]
        self.misses += len(rows)
        self._used.update(key for key, _ in rows)
        if self._con is not None:
            self._con.executemany("INSERT OR REPLACE INTO work VALUES (?, ?)", rows)
            self._con.commit()

    def keep_only_used(self) -> None:
        if self._con is None:
            return
        self._con.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY)")
        self._con.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(k,) for k in self._used])
        self._give_back_space(self._con.execute("DELETE FROM work WHERE key NOT IN (SELECT key FROM used)").rowcount)
        self._con.execute("DROP TABLE used")
