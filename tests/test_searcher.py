"""Search without an engine: fusion arithmetic checked against hand-computed values, top rows, and passage diversity."""

import numpy as np
import pytest

from lifqa.search.rerank import fuse, minmax, ranks_of, rrf, zscore
from lifqa.search.searcher import diversify, diversify_adaptive, top_rows


def test_minmax_and_zscore():
    np.testing.assert_allclose(minmax(np.array([2.0, 4.0, 6.0])), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(minmax(np.array([3.0, 3.0])), [0.0, 0.0])
    np.testing.assert_allclose(zscore(np.array([1.0, 3.0])), [-1.0, 1.0])


def test_rrf_hand_computed():
    # doc0: rank 1 in run A, absent from B; doc1: rank 2 in A, rank 1 in B
    fused = rrf([np.array([1.0, 2.0]), np.array([0.0, 1.0])], k=60)
    np.testing.assert_allclose(fused, [1 / 61, 1 / 62 + 1 / 61], rtol=1e-6)


def test_weighted_minmax_fusion_hand_computed():
    bm25 = np.array([10.0, 5.0, 0.0])
    dense = np.array([0.2, 0.8, 0.5])
    everywhere = np.ones(3, dtype=bool)
    fused = fuse(bm25, dense, everywhere, everywhere, "minmax", 0.5, 60)
    np.testing.assert_allclose(fused, [0.5 * 1.0 + 0.5 * 0.0, 0.5 * 0.5 + 0.5 * 1.0, 0.0 + 0.5 * 0.5])
    only_dense = fuse(bm25, dense, everywhere, everywhere, "minmax", 1.0, 60)
    assert list(np.argsort(-only_dense)) == [1, 2, 0]


def test_ranks_and_top_rows():
    np.testing.assert_allclose(ranks_of(np.array([0.1, 0.9, 0.5]), np.array([True, True, False])), [2, 1, 0])
    assert list(top_rows(np.array([0.1, 0.9, 0.5, 0.9]), 3)) == [1, 3, 2]
    assert list(top_rows(np.array([0.1, 0.9, 0.5]), 2, allowed=np.array([True, False, True]))) == [2, 0]


@pytest.mark.parametrize("method", ["minmax", "zscore", "rrf"])
def test_fusion_prefers_a_chunk_both_runs_rank_first(method):
    bm25, dense = np.array([9.0, 1.0, 3.0]), np.array([0.9, 0.1, 0.2])
    fused = fuse(bm25, dense, np.ones(3, bool), np.ones(3, bool), method, 0.5, 60)
    assert int(np.argmax(fused)) == 0


def test_adaptive_cap_lets_a_dominant_document_take_more_passages():
    docs = ["a"] * 9 + ["b", "c", "d"]
    order = np.arange(len(docs))
    assert [docs[i] for i in diversify(order, docs, 5, 2)] == ["a", "a", "b", "c", "d"]
    assert [docs[i] for i in diversify_adaptive(order, docs, 5, 2, window=10, share=0.8, relaxed=3)] == ["a", "a", "a", "b", "c"]
    mixed = ["a", "b", "a", "c", "a", "d", "b", "e"]
    assert list(diversify_adaptive(np.arange(8), mixed, 5, 2, window=8, share=0.8)) == list(diversify(np.arange(8), mixed, 5, 2))
