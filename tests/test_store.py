"""The store: per-row arrays memory-mapped, chunks and documents read on demand, no per-chunk objects held."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import lifqa
from lifqa.chunking import chunk_document, split_sentences
from lifqa.errors import IndexCorruptError
from lifqa.index import layout
from lifqa.index.build import build_index
from lifqa.index.store import Store, load_index_reliability, open_store
from lifqa.settings import make_settings
from lifqa.types import Chunk


def _held_objects(obj: object) -> list[tuple[str, int]]:
    """Attributes of ``obj`` that are Python containers or object arrays, with their sizes."""
    out = []
    for name, value in vars(obj).items():
        if isinstance(value, (list, tuple, dict, set)):
            out.append((name, len(value)))
        elif isinstance(value, np.ndarray) and value.dtype == object:
            out.append((name, len(value)))
    return out


def test_the_engine_holds_no_object_per_chunk(engine):
    store = engine.store
    n = store.n_chunks
    assert n > 3 * len(store.doc_ids)  # chunks outnumber documents, so a per-chunk container would show
    for owner in (engine, store):
        big = [(name, size) for name, size in _held_objects(owner) if size >= n]
        assert not big, f"{type(owner).__name__} holds per-chunk containers: {big}"
    assert not isinstance(store.chunks, list)
    for array in (store.chunk_doc, store.chunk_sentences, store.sentence_spans, store.sentence_heading):
        assert isinstance(array, np.memmap)  # mapped from the build folder, not loaded
    assert store.chunk_doc.dtype == np.int32 and store.sentence_spans.dtype == np.int32


def test_chunks_read_on_demand_are_the_chunker_s_chunks(engine):
    """Every chunk read back by row equals what chunking the stored document gives, and row_of inverts it."""
    store = engine.store
    settings = engine.settings
    expected: list[Chunk] = []
    for record in engine.sources():
        expected += list(chunk_document(record.document, settings.chunk_size, settings.chunk_overlap))
    assert list(store.chunks) == expected
    assert [store.chunks[row] for row in range(len(expected))] == expected
    assert store.chunks_at([5, 0, 5]) == [expected[5], expected[0], expected[5]]
    for row, chunk in enumerate(expected):
        assert store.row_of(chunk.chunk_id) == row
        assert store.doc_ids[store.chunk_doc[row]] == chunk.doc_id
        lo, hi = store.chunk_sentences[row]
        text = engine.source(chunk.doc_id).document.text
        for s in range(lo, hi):  # the chunk's sentences are the document's sentences
            start, end = store.sentence_spans[s]
            assert text[start:end] in {x.text for x in split_sentences(text)}
    with pytest.raises(KeyError):
        store.row_of("no-such-chunk")
    with pytest.raises(IndexError):
        store.chunks[len(expected)]


def test_documents_come_from_the_store_with_their_tiers(engine):
    records = engine.sources()
    assert [r.document.doc_id for r in records] == engine.store.doc_ids
    assert [r.tier for r in records] == engine.store.doc_tiers
    for record in records:
        assert engine.source(record.document.doc_id) == record
        for flag in record.flags:
            assert engine.store.doc_index[record.document.doc_id] in engine.store.doc_flags[flag.kind]
    assert set(engine.store.sources) == {r.document.doc_id for r in records}
    assert "nope" not in engine.store.sources


def test_the_caches_are_bounded_and_reads_stay_right(lif_index: Path, engine):
    store = Store(layout.active_build(lif_index), chunk_cache=4, document_cache=2)
    rows = list(range(store.n_chunks))
    random.Random(3).shuffle(rows)
    assert [store.chunk(r) for r in rows] == [engine.store.chunk(r) for r in rows]
    assert [store.source(d).document.text for d in store.doc_ids * 2] == [engine.source(d).document.text for d in store.doc_ids * 2]
    assert len(store._chunks._items) <= 4 and len(store._documents._items) <= 2
    store.close()


def test_store_reads_from_many_threads_match_a_sequential_read(lif_index: Path):
    store = open_store(layout.active_build(lif_index))
    jobs = [[random.Random(seed).randrange(store.n_chunks) for _ in range(60)] for seed in range(16)]
    sequential = [[(store.chunk(r), store.source(store.doc_ids[store.chunk_doc[r]]).document.title) for r in job] for job in jobs]
    fresh = open_store(layout.active_build(lif_index))  # empty caches: every thread goes to SQLite

    def read(job: list[int]) -> list[tuple]:
        return [(fresh.chunks_at([r])[0], fresh.source(fresh.doc_ids[fresh.chunk_doc[r]]).document.title) for r in job]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(read, jobs)) == sequential


def test_an_open_engine_keeps_answering_after_its_build_folder_is_removed(tmp_path: Path, lif_index: Path):
    """A rebuild deletes the previous build folder; an engine opened on it keeps working (one connection held)."""
    copy = tmp_path / "copy"
    shutil.copytree(lif_index, copy)
    engine = lifqa.open(str(copy))
    before = engine.ask("Which receptor subunit does LIF share with IL-6?")
    shutil.rmtree(layout.active_build(copy))
    engine.store._chunks = type(engine.store._chunks)(1)  # nothing cached: the chunks must come from the store again
    assert engine.ask("Which receptor subunit does LIF share with IL-6?").answer == before.answer


def _set_format(index: Path, version: int) -> None:
    build = layout.active_build(index)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["format_version"] = version
    (build / "manifest.json").write_text(json.dumps(manifest))


def test_an_index_of_format_2_asks_for_a_rebuild(tmp_path: Path, lif_index: Path):
    copy = tmp_path / "copy"
    shutil.copytree(lif_index, copy)
    _set_format(copy, 2)
    with pytest.raises(IndexCorruptError) as caught:
        lifqa.open(str(copy))
    assert str(caught.value).startswith(f"the index in {copy} has format 2, this lifqa reads format {layout.FORMAT_VERSION}; rebuild with: lifqa index --corpus ")
    assert str(caught.value).endswith("--force")
    with pytest.raises(IndexCorruptError, match=f"has format 2, this lifqa reads format {layout.FORMAT_VERSION}. Rebuild with"):
        load_index_reliability(copy)



def test_an_index_without_stored_passage_flags_asks_for_the_rebuild_command_in_one_line(tmp_path: Path, lif_index: Path,
                                                                                        corpus_dir: Path):
    """Format 3 was the last without each chunk's passage flags: lifqa.open, ask and sources refuse it, naming the command."""
    copy = tmp_path / "copy"
    shutil.copytree(lif_index, copy)
    _set_format(copy, 3)
    command = f"lifqa index --corpus {corpus_dir.resolve()} --index {copy} --force"
    with pytest.raises(IndexCorruptError) as caught:
        lifqa.open(str(copy))
    assert str(caught.value) == (f"the index in {copy} has format 3, this lifqa reads format {layout.FORMAT_VERSION}; "
                                 f"rebuild with: {command}")
    for argv in (["ask", "Which receptor does LIF bind?"], ["sources"]):
        run = subprocess.run([sys.executable, "-m", "lifqa.cli", *argv, "--index", str(copy)], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ") and "Traceback" not in run.stderr
        assert run.stderr.rstrip("\n").endswith(command) and "has format 3" in run.stderr


def test_each_chunk_keeps_the_passage_flags_its_document_earns(engine):
    """Passage flags are judged at build and stored with the chunk; they are what the rules say of that chunk."""
    from lifqa.reliability.passages import chunk_flags
    from lifqa.reliability.structure import analyse_document

    store = engine.store
    stored = {c.chunk_id: store.passage_flags(c.chunk_id) for c in store.iter_chunks()}
    assert len(stored) == store.n_chunks and sum(map(bool, stored.values())) >= 5
    for chunk in store.iter_chunks():
        doc = store.sources[chunk.doc_id].document
        assert stored[chunk.chunk_id] == chunk_flags([chunk], doc, analyse_document(doc))[0], chunk.chunk_id
    with pytest.raises(KeyError):
        store.passage_flags("no-such-chunk")

@pytest.mark.slow
def test_large_files_are_checked_by_sampled_blocks_and_fully_on_demand(tmp_path: Path, corpus_dir: Path, monkeypatch):
    """Files from layout.SAMPLE_FROM bytes are verified at open by size plus a sampled digest; a change inside a
    sampled block fails the open, a change between blocks passes it but fails the full check (lifqa verify)."""
    monkeypatch.setattr(layout, "SAMPLE_FROM", 64 * 1024)  # the LIF dense index (118 KB of vectors) counts as large
    monkeypatch.setattr(layout, "SAMPLE_BLOCKS", 2)  # first and last 1 KiB only
    monkeypatch.setattr(layout, "SAMPLE_BLOCK_SIZE", 1024)
    index = tmp_path / "index"
    build_index(corpus_dir, index, make_settings(sentence_vectors=False))
    build = layout.active_build(index)
    manifest = layout.read_manifest(build)
    assert "sample_sha256" in manifest["files"]["dense.faiss"]
    assert "sample_sha256" not in manifest["files"]["documents.json"]
    lifqa.open(str(index))  # whole: passes

    vectors = build / "dense.faiss"
    original = vectors.read_bytes()
    middle = len(original) // 2
    vectors.write_bytes(original[:middle] + bytes([original[middle] ^ 1]) + original[middle + 1:])
    lifqa.open(str(index))  # between the sampled blocks: the quick check cannot see it...
    with pytest.raises(IndexCorruptError, match="dense.faiss does not match its recorded checksum"):
        lifqa.open(str(index), verify="full")  # ...the full one does
    from lifqa.cli import main

    assert main(["verify", "--index", str(index)]) == IndexCorruptError.exit_code != 0

    vectors.write_bytes(original[:-10] + bytes([original[-10] ^ 1]) + original[-9:])  # inside the last sampled block
    with pytest.raises(IndexCorruptError, match="dense.faiss does not match its recorded checksum"):
        lifqa.open(str(index))
    vectors.write_bytes(original)
    assert main(["verify", "--index", str(index)]) == 0
