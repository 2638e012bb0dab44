"""The embedding cache: rebuilds embed only new text, a failed build resumes, a damaged cache is not fatal."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lifqa.chunking import split_sentences
from lifqa.encoder import get_encoder, model_key
from lifqa.index import embed_cache, layout
from lifqa.index.build import build_index
from lifqa.index.dense import read_chunk_vectors
from lifqa.index.embed_cache import EmbeddingCache
from lifqa.settings import make_settings

pytestmark = pytest.mark.slow  # builds real indexes with the model

NEW_DOCUMENT = ("Oncostatin M is another IL-6 family cytokine. It signals through gp130 like LIF does. "
                "Unlike LIF, it also binds its own receptor, OSMR.")


@pytest.fixture()
def corpus(tmp_path: Path, corpus_dir: Path) -> Path:
    copy = tmp_path / "corpus"
    shutil.copytree(corpus_dir, copy, ignore=shutil.ignore_patterns("gold"))
    return copy


def _cache_rows(index: Path) -> int:
    (path,) = (index / embed_cache.CACHE_DIR).glob("*.sqlite")
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    finally:
        con.close()


def _title_lines(index: Path) -> int:
    """Distinct title/section lines of a build's chunks: encoded beside its sentences to compose chunk vectors."""
    from lifqa.chunking import context_line
    from lifqa.index.store import Store

    store = Store(layout.active_build(index))
    try:
        return len({context_line(store.source(c.doc_id).document, c) for c in store.iter_chunks()})
    finally:
        store.close()


def _vectors(index: Path) -> np.ndarray:
    return read_chunk_vectors(layout.active_build(index))


def test_forced_rebuild_embeds_nothing_and_keeps_the_vectors(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = build_index(corpus, index, make_settings())
    counts = first.manifest["counts"]
    lines = _title_lines(index)
    assert first.manifest["embedding_cache"]["reused"] == 0
    # Every sentence and title/section line was embedded once (a repeated sentence only once); chunk vectors are
    # composed from them, not embedded.
    assert 0 < first.manifest["embedding_cache"]["embedded"] <= counts["sentences"] + lines
    vectors = _vectors(index)

    second = build_index(corpus, index, make_settings(), force=True)
    assert second.rebuilt
    # sentences, lines and the composed chunk vectors all come from the cache
    assert second.manifest["embedding_cache"] == {"embedded": 0, "reused": counts["chunks"] + counts["sentences"] + lines}
    assert np.array_equal(_vectors(index), vectors)


def test_fp32_variants_share_vectors_and_other_precisions_never_mix(corpus: Path, tmp_path: Path):
    """A library built with torch fp32 is not embedded again when `auto` moves it to ONNX Runtime fp32 (the same
    vectors); int8 vectors are different and get a cache of their own."""
    index = tmp_path / "index"
    first = build_index(corpus, index, make_settings(encoder="torch-fp32"))
    texts = first.manifest["counts"]["chunks"] + first.manifest["counts"]["sentences"] + _title_lines(index)
    onnx = build_index(corpus, index, make_settings(encoder="onnx-fp32"))
    assert onnx.rebuilt and onnx.manifest["encoder"]["variant"] == "onnx-fp32"
    assert onnx.manifest["embedding_cache"] == {"embedded": 0, "reused": texts}
    int8 = build_index(corpus, index, make_settings(encoder="onnx-int8"))
    assert int8.manifest["embedding_cache"]["reused"] == 0 and int8.manifest["embedding_cache"]["embedded"] > 0


def test_added_document_embeds_only_its_own_text(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = build_index(corpus, index, make_settings())
    (corpus / "005_oncostatin.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    second = build_index(corpus, index, make_settings())
    before, after = first.manifest["counts"], second.manifest["counts"]
    assert after["documents"] == 6 and after["chunks"] - before["chunks"] == 1 and after["sentences"] - before["sentences"] == 3
    assert second.manifest["embedding_cache"]["embedded"] == 3 + 1  # its three sentences and its title line


def test_cache_holds_only_the_published_build(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index(corpus, index, make_settings(sentence_vectors=False))
    full = _cache_rows(index)
    removed = sorted(corpus.glob("00[0-4]*"))[2]  # the AI wiki page
    removed.unlink()
    second = build_index(corpus, index, make_settings(sentence_vectors=False))
    assert _cache_rows(index) == second.manifest["counts"]["chunks"] < full


def test_failed_embedding_resumes_from_what_was_committed(tmp_path: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch):
    encoder = get_encoder(variant="torch-fp32")  # exact comparisons: bf16 rounds differently per batch shape
    text = sorted(corpus_dir.glob("000_*.txt"))[0].read_text(encoding="utf-8")
    texts = list(dict.fromkeys(text[s.start:s.end] for s in split_sentences(text)))[:30]
    assert len(texts) == 30
    monkeypatch.setattr(embed_cache, "BLOCK", 10)
    calls: list[int] = []

    def failing_after_one_block(batch: list[str]) -> np.ndarray:
        if calls:
            raise KeyboardInterrupt  # what Ctrl-C or a kill does to a build part-way
        calls.append(len(batch))
        return encoder.encode_documents(batch)

    cache = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim)
    with pytest.raises(KeyboardInterrupt):
        cache.encode(texts, failing_after_one_block)
    cache.close()

    embedded: list[str] = []

    def counting(batch: list[str]) -> np.ndarray:
        embedded.extend(batch)
        return encoder.encode_documents(batch)

    resumed = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim)
    vectors = resumed.encode(texts, counting)
    assert embedded == texts[10:] and resumed.hits == 10
    fresh = encoder.encode_documents(texts)
    assert np.allclose(vectors, fresh, atol=1e-5)


def test_damaged_cache_is_set_aside_and_the_build_succeeds(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index(corpus, index, make_settings(sentence_vectors=False))
    (path,) = (index / embed_cache.CACHE_DIR).glob("*.sqlite")
    path.write_bytes(b"this is not a database" * 100)
    result = build_index(corpus, index, make_settings(sentence_vectors=False), force=True)
    assert result.rebuilt and any("embedding cache" in w and "set aside" in w for w in result.warnings)
    assert path.with_suffix(".damaged").is_file()
    assert result.manifest["embedding_cache"]["embedded"] == result.manifest["counts"]["chunks"]
    assert _cache_rows(index) == result.manifest["counts"]["chunks"]


def test_model_key_changes_with_the_model_files(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 384}', encoding="utf-8")
    (model / "weights.bin").write_bytes(b"\x00" * 1000)
    key = model_key(str(model), 384)
    assert model_key(str(model), 384) == key and model_key(str(model), 768) != key
    (model / "weights.bin").write_bytes(b"\x00" * 999 + b"\x01")  # same size, other weights
    assert model_key(str(model), 384) != key


def test_cache_of_another_format_is_set_aside(tmp_path: Path):
    encoder = get_encoder(variant="torch-fp32")  # exact comparisons: bf16 rounds differently per batch shape
    path = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim).path
    path.unlink()
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID; PRAGMA user_version = 1;")
    con.close()
    cache = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim)
    assert any("format 1" in w and "set aside" in w for w in cache.warnings)
    vectors = cache.encode(["LIF binds LIFR and gp130."], encoder.encode_documents)
    assert cache.misses == 1 and vectors.shape == (1, encoder.dim) and path.with_suffix(".damaged").is_file()
