"""The SQLite life every build cache shares: a damaged file is set aside with a warning, unused keys are dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lifqa.index.cache import SqliteCache
from lifqa.index.doc_cache import DocumentCache
from lifqa.index.embed_cache import EmbeddingCache
from lifqa.library.cache import FILE_NAME, ItemCache
from lifqa.types import Document


class Notes(SqliteCache):
    kind = "note cache"
    after_damage = ", noting again"

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS notes (key TEXT PRIMARY KEY, value TEXT)")


def test_a_damaged_file_is_set_aside_with_a_warning_and_a_new_one_works(tmp_path: Path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"not a database" * 100)
    with Notes(path) as cache:
        assert cache.warnings and cache.warnings[0].startswith(f"note cache {path} could not be used (")
        assert cache.warnings[0].endswith("set aside as notes.damaged, noting again")
        cache._con.execute("INSERT INTO notes VALUES ('a', '1')")
        cache._con.commit()
    assert (tmp_path / "notes.damaged").read_bytes().startswith(b"not a database")
    with Notes(path) as again:
        assert not again.warnings and again._con.execute("SELECT value FROM notes").fetchall() == [("1",)]


def test_without_a_path_the_cache_holds_nothing(tmp_path: Path):
    with Notes(None) as cache:
        assert cache._con is None and not cache.warnings
    assert list(tmp_path.iterdir()) == []


def test_only_the_keys_in_use_are_kept(tmp_path: Path):
    with Notes(tmp_path / "notes.sqlite") as cache:
        cache._con.executemany("INSERT INTO notes VALUES (?, ?)", [("a", "1"), ("b", "2"), ("c", "3")])
        cache._con.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY)")
        cache._con.executemany("INSERT INTO used VALUES (?)", [("a",), ("c",)])
        cache._con.commit()
        cache._give_back_space(cache._con.execute("DELETE FROM notes WHERE key NOT IN (SELECT key FROM used)").rowcount)
        assert cache._con.execute("SELECT key FROM notes ORDER BY key").fetchall() == [("a",), ("c",)]
    other = sqlite3.connect(tmp_path / "notes.sqlite")  # committed: another connection sees only the kept keys
    assert other.execute("SELECT key FROM notes ORDER BY key").fetchall() == [("a",), ("c",)]
    other.close()


@pytest.mark.parametrize("make, name", [
    (lambda folder: DocumentCache(folder / "documents.sqlite", "salt"), "documents"),
    (lambda folder: EmbeddingCache(folder / "model.sqlite", 4), "model"),
    (lambda folder: ItemCache(folder), FILE_NAME.removesuffix(".sqlite")),
])
def test_every_build_cache_sets_a_damaged_file_aside(tmp_path: Path, make, name: str):
    (tmp_path / f"{name}.sqlite").write_bytes(b"garbage" * 1000)
    with make(tmp_path) as cache:
        assert len(cache.warnings) == 1 and f"set aside as {name}.damaged" in cache.warnings[0]
    assert (tmp_path / f"{name}.damaged").is_file() and (tmp_path / f"{name}.sqlite").is_file()


def test_the_item_cache_keeps_what_a_run_used(tmp_path: Path):
    doc = Document("d", "title", "text")
    cache = ItemCache(tmp_path)
    cache.put("k1", doc, [])
    cache.put("k2", doc, ["warned"])
    cache.close()
    cache = ItemCache(tmp_path)
    assert cache.get("k2") == (doc, ["warned"])
    cache.close()
    cache = ItemCache(tmp_path)
    assert cache.get("k1") is None and cache.get("k2") == (doc, ["warned"])
    cache.close()
    assert ItemCache(None).get("k2") is None


def test_the_embedding_cache_keeps_what_a_build_used(tmp_path: Path):
    with EmbeddingCache(tmp_path / "m.sqlite", 2) as cache:
        cache.store([1, 2], np.array([[1, 0], [0, 1]], dtype=np.float32))
    with EmbeddingCache(tmp_path / "m.sqlite", 2) as cache:
        vectors, found = cache.lookup([2])
        assert found.tolist() == [True] and vectors.tolist() == [[0, 1]]
        cache.keep_only_used()
        assert cache.lookup([1])[1].tolist() == [False]
