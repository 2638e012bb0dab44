"""Dense index by size: exact below ann_threshold, IVF-PQ (re-scored exactly) above, its recall measured."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import lifqa
from lifqa.errors import SettingsError
from lifqa.index.build import build_index
from lifqa.index import layout
from lifqa.index.dense import DenseIndex, build_faiss, exact_top, ivf_lists, measure_recall, read_chunk_vectors
from lifqa.settings import make_settings


def _clustered(n: int, dim: int = 384, clusters: int = 200, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: neighbourhoods like text embeddings have, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def held_out() -> np.ndarray:
    """Queries from the same distribution as the indexed vectors, not indexed themselves."""
    return _clustered(20_000 + 100)[20_000:]


@pytest.fixture(scope="module")
def ivfpq(tmp_path_factory: pytest.TempPathFactory) -> tuple[DenseIndex, np.ndarray, dict]:
    folder = tmp_path_factory.mktemp("dense")
    vectors = _clustered(20_000 + 100)[:20_000]  # the last 100 are held-out queries (HELD_OUT)
    np.save(folder / "vectors.npy", vectors)
    settings = make_settings(ann_threshold=5_000)
    info = build_faiss(vectors, folder / "dense.faiss", settings)
    return DenseIndex(folder / "dense.faiss", folder / "vectors.npy", settings), vectors, info


def test_below_the_threshold_the_index_is_exact(tmp_path: Path):
    vectors = _clustered(2_000)
    np.save(tmp_path / "v.npy", vectors)
    settings = make_settings(ann_threshold=5_000)
    assert build_faiss(vectors, tmp_path / "d.faiss", settings) == {"kind": "flat"}
    dense = DenseIndex(tmp_path / "d.faiss", tmp_path / "v.npy", settings)
    queries = _clustered(20, seed=1)
    _, rows = dense.search(queries, 100)
    assert (rows == exact_top(vectors, queries, 100)).all()


def test_a_flat_index_serves_its_own_vectors_without_a_second_copy(tmp_path: Path):
    """A flat build writes no chunk_vectors.npy: exact cosines and filtered scans read the index's memory-mapped
    storage, and give what the same index with a vectors file gives."""
    vectors = _clustered(2_000)
    settings = make_settings(ann_threshold=5_000)
    build_faiss(vectors, tmp_path / layout.FAISS_FILE, settings)
    alone = DenseIndex(tmp_path / layout.FAISS_FILE, tmp_path / layout.CHUNK_VECTORS, settings)
    assert np.array_equal(alone.vectors, vectors) and not alone.vectors.flags.writeable
    np.save(tmp_path / "copy.npy", vectors)
    with_copy = DenseIndex(tmp_path / layout.FAISS_FILE, tmp_path / "copy.npy", settings)
    queries = _clustered(20, seed=1)
    allowed = np.arange(len(vectors)) % 3 == 0
    for options in ({}, {"allowed": allowed}):
        a, b = alone.search(queries, 50, **options), with_copy.search(queries, 50, **options)
        assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], atol=1e-6)
    rows = np.array([5, 17, 1_999])
    assert np.allclose(alone.cosine(queries[0], rows), vectors[rows] @ queries[0], atol=1e-6)
    assert np.array_equal(read_chunk_vectors(tmp_path), vectors)


def test_an_approximate_index_without_its_vectors_file_is_refused(tmp_path: Path):
    vectors = _clustered(3_000)
    settings = make_settings(ann_threshold=1_000)
    build_faiss(vectors, tmp_path / layout.FAISS_FILE, settings)
    with pytest.raises(FileNotFoundError, match="chunk_vectors.npy"):
        DenseIndex(tmp_path / layout.FAISS_FILE, tmp_path / layout.CHUNK_VECTORS, settings)


@pytest.mark.slow
def test_above_the_threshold_ivfpq_is_built_and_its_recall_recorded(ivfpq):
    dense, vectors, info = ivfpq
    assert info["kind"] == "ivfpq" and info["nlist"] == ivf_lists(20_000, 0) == 283 and info["m"] == 48 and info["nbits"] == 8
    assert info["recall_queries"] == 200 and 0.95 <= info["recall_at_100"] <= 1.0
    assert not dense.exact
    # held-out queries (not index vectors) are found as well as the build measured
    assert measure_recall(dense, held_out()) >= 0.95


def test_the_compressed_codes_alone_would_miss_what_exact_rescoring_finds(tmp_path: Path, ivfpq):
    """The exact re-scoring of the candidates is what carries recall: without it (rescore 1) recall drops."""
    dense, vectors, _ = ivfpq
    plain = DenseIndex.__new__(DenseIndex)
    plain._setup(dense._index, vectors, make_settings(ann_threshold=5_000, ann_rescore=1, ivf_nprobe=4))
    queries = held_out()
    assert measure_recall(plain, queries) < measure_recall(dense, queries) - 0.02


def test_filtered_search_returns_only_allowed_rows_both_ways(ivfpq):
    dense, vectors, _ = ivfpq
    queries = held_out()[:30]
    rng = np.random.default_rng(4)
    for share in (0.8, 0.05):  # 16,000 allowed: the IVF selector; 1,000 allowed (< ann_threshold): exact over those rows
        allowed = rng.random(len(vectors)) < share
        _, rows = dense.search(queries, 50, allowed)
        assert (rows >= 0).all() and allowed[rows].all()
        exact = exact_top(vectors, queries, 50, np.flatnonzero(allowed))
        recall = np.mean([len(set(e) & set(f)) / 50 for e, f in zip(exact.tolist(), rows.tolist())])
        assert recall >= (0.95 if share > 0.5 else 1.0), (share, recall)


def test_pq_m_must_divide_the_dimension(tmp_path: Path):
    with pytest.raises(SettingsError, match=r"pq_m=50 must divide the embedding dimension 384; valid values: .*48"):
        build_faiss(_clustered(300), tmp_path / "d.faiss", SimpleNamespace(**{**make_settings().model_dump(), "ann_threshold": 10, "pq_m": 50}))
    with pytest.raises(SettingsError, match="ivf_nprobe"):
        make_settings(ivf_nprobe=0)


def test_an_ivfpq_index_of_the_lif_corpus_answers_the_gold_questions(tmp_path: Path, corpus_dir: Path, engine, gold):
    """A threshold of 10 chunks stands in for 100,000+: IVF-PQ with few lists probed, then the same checks as the
    exact index: the gold test questions find a relevant source in the top 5 about as often, and filters hold."""
    result = build_index(corpus_dir, tmp_path / "ivf", make_settings(ann_threshold=10))
    assert result.manifest["dense"]["kind"] == "ivfpq" and result.manifest["dense"]["recall_at_100"] == 1.0  # 77 chunks: all re-scored
    approximate = lifqa.open(str(tmp_path / "ivf"), ivf_nprobe=2, ann_rescore=1)  # really approximate
    assert not approximate.dense.exact
    questions = [q for q in gold.split("test").questions if q.answerable]

    def found(e, mode: str) -> float:
        return float(np.mean([bool({h.chunk.doc_id for h in e.search(q.question, k=5, mode=mode)} & set(q.relevant_doc_ids)) for q in questions]))

    assert found(approximate, "dense") >= found(engine, "dense") - 0.15
    assert found(approximate, "hybrid+rerank") >= found(engine, "hybrid+rerank") - 0.05
    # every list probed and every chunk re-scored: the approximate index ranks exactly like the flat one
    wide = approximate.with_settings(ivf_nprobe=1000, ann_rescore=64)
    for q in questions[:10]:
        assert [h.chunk.chunk_id for h in wide.search(q.question, k=10, mode="dense")] == \
               [h.chunk.chunk_id for h in engine.search(q.question, k=10, mode="dense")]
    answered = [approximate.ask(q.question) for q in questions[:10]]
    assert sum(not a.abstained for a in answered) >= 7
    for a in answered:
        for s in a.sentences:
            assert s.text in a.citations[s.citation_keys[0] - 1].text

    low = {r.document.doc_id for r in approximate.sources() if r.tier == "low"}
    flagged = {r.document.doc_id for r in approximate.sources() if any(f.kind == "ai_generated" for f in r.flags)}
    assert low and flagged
    for mode in ("dense", "hybrid"):
        hits = approximate.search("What does LIF do in stem cells?", k=10, mode=mode, min_tier="medium")
        assert hits and not {h.chunk.doc_id for h in hits} & low
        hits = approximate.search("What does LIF do in stem cells?", k=10, mode=mode, exclude_flags=["ai_generated"])
        assert hits and not {h.chunk.doc_id for h in hits} & flagged
        one = sorted(low)[0]
        hits = approximate.search("What does LIF do in stem cells?", k=10, mode=mode, doc_ids=[one])
        assert hits and {h.chunk.doc_id for h in hits} == {one}


def test_query_time_parameters_follow_with_settings(ivfpq):
    dense, vectors, _ = ivfpq
    narrow = dense.with_settings(make_settings(ann_threshold=5_000, ivf_nprobe=1, ann_rescore=1))
    assert measure_recall(narrow, held_out()) < measure_recall(dense, held_out())
