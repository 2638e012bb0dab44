"""Per-document build work is cached by content: a rebuild redoes only changed documents and equals a fresh build."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lifqa.index import layout
from lifqa.index.build import _chunk_task, build_index, parallel_map
from lifqa.settings import make_settings

pytestmark = pytest.mark.slow  # builds real indexes with the model

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _rows(build: Path) -> list[list[tuple]]:
    con = sqlite3.connect(build / layout.STORE)
    try:
        return [con.execute(sql).fetchall() for sql in ("SELECT * FROM documents ORDER BY doc_id", "SELECT * FROM chunks ORDER BY row",
                                                        "SELECT * FROM sentences ORDER BY row")]
    finally:
        con.close()


def test_rebuild_redoes_only_changed_documents_and_equals_a_fresh_build(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = sorted(CORPUS.glob("*.txt"))[:4]
    for path in files:
        (corpus / path.name).write_text(path.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    settings = make_settings()
    first = build_index(corpus, tmp_path / "index", settings)
    assert first.manifest["document_cache"] == {"done": 8, "reused": 0}  # 4 chunked + 4 assessed

    changed = corpus / files[0].name
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA new closing sentence about LIF signalling.\n", encoding="utf-8")
    (corpus / files[1].name).unlink()
    second = build_index(corpus, tmp_path / "index", settings)
    work = second.manifest["document_cache"]
    assert work["done"] + work["reused"] == 6  # 3 documents, each chunked and assessed
    # the untouched two are not chunked again; only the changed one and those whose conflicts changed are assessed again
    assert work["reused"] >= 2 and work["done"] <= 4
    removed_id = files[1].stem
    assert all(removed_id not in str(row) for row in _rows(second.build_dir)[0])

    fresh = build_index(corpus, tmp_path / "fresh", settings)
    assert _rows(second.build_dir) == _rows(fresh.build_dir)
    assert (second.build_dir / layout.RELIABILITY).read_text() == (fresh.build_dir / layout.RELIABILITY).read_text()


def test_parallel_chunking_equals_serial(monkeypatch):
    from lifqa.sources import read_sources

    documents = list(read_sources(CORPUS).documents) * 8  # 40 documents: above the parallel threshold
    monkeypatch.setenv("LIFQA_BUILD_PROCESSES", "2")
    parallel = parallel_map(_chunk_task, [(d, 700, 150) for d in documents], "chunking")
    monkeypatch.setenv("LIFQA_BUILD_PROCESSES", "1")
    serial = parallel_map(_chunk_task, [(d, 700, 150) for d in documents], "chunking")
    assert parallel == serial and len(parallel) == 40
