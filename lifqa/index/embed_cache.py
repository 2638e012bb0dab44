"""Vectors already computed, kept beside the builds so a rebuild embeds only new text.

Embedding is nearly all of an index build (SciFact: 884 of 908 s on 2 cores), yet most
rebuilds change little text: a new paper added, a reliability rule edited, lifqa upgraded.
The cache maps (model, text) to its vector in one SQLite file per model in
``INDEX_DIR/embeddings/``. Vectors are committed every block as they are computed, so a build
that is killed or fails part-way resumes where it stopped instead of starting over. Once a
build has all its vectors the cache is trimmed to the texts that build holds, so it never
grows beyond one index's worth of vectors.

A damaged cache is never fatal: it is set aside (renamed ``*.damaged``) and the build embeds
everything, with a warning.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lifqa.encoder import SAME_VECTORS_AS_FP32, model_key
from lifqa.index.cache import SqliteCache

CACHE_DIR = "embeddings"
BLOCK = 1024  # texts embedded and committed together: what a kill can lose

# Format 2: integer keys in a rowid table on 64 KiB pages, 1.6 KB per 384-d vector. (Format 1 kept
# 16-byte blob keys in a WITHOUT ROWID table: each 1.5 KB vector spilled to its own overflow page,
# 4.7 KB a vector.) A file of another format is set aside like a damaged one.
_FORMAT = 2
_SET_FORMAT = "PRAGMA user_version = 2"
_SCHEMA = """
PRAGMA page_size = 65536;
CREATE TABLE IF NOT EXISTS vectors (key INTEGER PRIMARY KEY, vector BLOB NOT NULL);
"""
# The texts this build holds: a temporary table, gone with the connection, so a build that dies
# leaves no marks behind.
_USED = "CREATE TEMP TABLE IF NOT EXISTS used_keys (key INTEGER PRIMARY KEY)"
_WANTED = "CREATE TEMP TABLE IF NOT EXISTS wanted_keys (key INTEGER PRIMARY KEY)"  # the keys one read asks for


def text_key(text: str) -> int:
    """64 bits of the text's sha256: a collision among a billion texts has odds of about 1 in 40."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big", signed=True)


class EmbeddingCache(SqliteCache):
    """One model's vectors. Open with :meth:`open`; used by one build at a time (the build lock)."""

    kind = "embedding cache"
    after_damage = ", embedding everything again"

    def __init__(self, path: Path, dim: int) -> None:
        self.dim = dim
        self.hits = 0  # texts read from the cache
        self.misses = 0  # distinct texts the model had to embed
        super().__init__(path)

    @classmethod
    def open(cls, index_dir: Path, model_path: str, dim: int, variant: str = "torch-fp32") -> "EmbeddingCache":
        """``variant``: the encoder variant (lifqa.encoder.VARIANTS); vectors of different precisions never mix.
        The fp32 variants (torch and ONNX Runtime: the same maths, cosine 1.00000 in bench/encode.py) share the name
        caches had before variants existed, so a library built with one is not embedded again by the other."""
        folder = index_dir / CACHE_DIR
        folder.mkdir(exist_ok=True)
        suffix = "" if variant in SAME_VECTORS_AS_FP32 else f"-{variant}"
        return cls(folder / f"{model_key(model_path, dim)}{suffix}.sqlite", dim)

    def _create(self, con: sqlite3.Connection) -> None:
        con.executescript(_SCHEMA)
        con.execute(_SET_FORMAT)
        con.execute(_USED)

    def _open(self, con: sqlite3.Connection) -> None:
        if not con.execute("SELECT name FROM sqlite_master").fetchall():
            con.executescript(_SCHEMA)
            con.execute(_SET_FORMAT)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version != _FORMAT:
            raise sqlite3.DatabaseError(f"cache format {version}, this lifqa uses format {_FORMAT}")
        con.execute("PRAGMA quick_check").fetchone()
        con.execute(_USED)

    def encode(self, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray],
               progress: Callable[[int, int], None] | None = None, block: int | None = None) -> np.ndarray:
        """Vectors for ``texts`` in order: cached ones read, the rest embedded with ``embed`` ``block`` texts
        at a time and stored. ``embed.expect(n)``, if it exists, hears how many texts are to be embedded."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        rows_of: dict[int, list[int]] = {}
        for row, key in enumerate(keys):
            rows_of.setdefault(key, []).append(row)
        found = self._fill(rows_of, out)
        missing = {key: rows for key, rows in rows_of.items() if key not in found}
        self.hits += len(texts) - sum(len(rows) for rows in missing.values())
        todo = list(missing)
        expect = getattr(embed, "expect", None)
        if todo and expect is not None:
            expect(len(todo))  # a pooled embedder starts its worker processes only for enough texts
        block = block or BLOCK
        for start in range(0, len(todo), block):
            keys_now = todo[start:start + block]
            vectors = np.ascontiguousarray(embed([texts[missing[key][0]] for key in keys_now]), dtype=np.float32)
            for key, vector in zip(keys_now, vectors):
                out[missing[key]] = vector
            self._put(keys_now, vectors)
            self.misses += len(keys_now)
            if progress is not None:
                progress(min(start + block, len(todo)), len(todo))
        self._mark_used(keys)
        return out

    def lookup(self, keys: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Cached vectors of ``keys`` (zeros where absent) and which were found; marks them used."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        rows_of: dict[int, list[int]] = {}
        for row, key in enumerate(keys):
            rows_of.setdefault(key, []).append(row)
        found = np.zeros(len(keys), dtype=bool)
        for key in self._fill(rows_of, out):
            found[rows_of[key]] = True
        self.hits += int(found.sum())
        self._mark_used(list(keys))
        return out, found

    def store(self, keys: Sequence[int], vectors: np.ndarray, computed: bool = True) -> None:
        """Vectors computed outside :meth:`encode` (e.g. sentences pooled from their chunk's pass);
        ``computed=False``: vectors already counted, stored under another key too."""
        self._put(list(keys), np.ascontiguousarray(vectors, dtype=np.float32))
        self._mark_used(list(keys))
        self.misses += len(keys) if computed else 0

    def _fill(self, rows_of: dict[int, list[int]], out: np.ndarray) -> set[int]:
        """Write each cached key's vector into its rows of ``out``; returns the keys found. One join over the
        wanted keys in key order, so the table's pages are read in sequence: a query per key took 1.7x as long
        for the 400,000 vectors of a 1,000-paper rebuild."""
        if self._con is None or not rows_of:
            return set()
        self._con.execute(_WANTED)
        self._con.execute("DELETE FROM wanted_keys")
        self._con.executemany("INSERT INTO wanted_keys VALUES (?)", ((key,) for key in rows_of))
        found = set()
        for key, blob in self._con.execute("SELECT v.key, v.vector FROM wanted_keys CROSS JOIN vectors AS v ON v.key = wanted_keys.key"):
            if len(blob) == 4 * self.dim:
                out[rows_of[key]] = np.frombuffer(blob, dtype=np.float32)
                found.add(key)
        self._con.execute("DELETE FROM wanted_keys")
        return found

    def _put(self, keys: list[int], vectors: np.ndarray) -> None:
        if self._con is None:
            return
        self._con.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                              [(key, vector.tobytes()) for key, vector in zip(keys, vectors)])
        self._con.commit()

    def _mark_used(self, keys: list[int]) -> None:
        if self._con is None:
            return
        self._con.executemany("INSERT OR IGNORE INTO used_keys VALUES (?)", [(key,) for key in keys])

    def keep_only_used(self) -> None:
        """Once a build has all its vectors: drop those of texts it no longer holds."""
        if self._con is None:
            return
        self._give_back_space(self._con.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM used_keys)").rowcount)
        self._con.execute("DELETE FROM used_keys")
        self._con.commit()
