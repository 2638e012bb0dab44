"""Hybrid retrieval: BM25 and dense runs over the same chunks, fused.

Fusion is done over the union of both candidate lists with *both* scores known
for every candidate (BM25 scores come for all chunks at once; cosines are
exact from the stored vectors), so a chunk found by only one retriever is not
silently given the other retriever's minimum. Raw-score averaging is not
offered: BM25 and cosine live on different scales.
"""

from __future__ import annotations


import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant run carries no ranking signal and becomes all zeros."""
    if scores.size == 0:
        return scores.astype(np.float32)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - low) / (high - low)).astype(np.float32)


def zscore(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores.astype(np.float32)
    std = float(scores.std())
    if std < 1e-12:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - scores.mean()) / std).astype(np.float32)


def rrf(ranks: list[np.ndarray], k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion: sum of 1/(k + rank) over runs; rank is 1-based, 0 means absent."""
    fused = np.zeros(len(ranks[0]), dtype=np.float32)
    for run in ranks:
        present = run > 0
        fused[present] += 1.0 / (k + run[present])
    return fused


def ranks_of(scores: np.ndarray, in_run: np.ndarray) -> np.ndarray:
    """1-based rank of each candidate within the run it came from (0 where not in that run)."""
    ranks = np.zeros(len(scores), dtype=np.float32)
    members = np.flatnonzero(in_run)
    order = members[np.argsort(-scores[members], kind="stable")]
    ranks[order] = np.arange(1, len(order) + 1, dtype=np.float32)
    return ranks


def fuse(bm25: np.ndarray, dense: np.ndarray, in_bm25: np.ndarray, in_dense: np.ndarray,
         method: str, alpha: float, rrf_k: int) -> np.ndarray:
    """Fused score per candidate; ``alpha`` is the dense weight for normalised fusion."""
    if method == "rrf":
        return rrf([ranks_of(bm25, in_bm25), ranks_of(dense, in_dense)], rrf_k)
    normalise = minmax if method == "minmax" else zscore
    return (1.0 - alpha) * normalise(bm25) + alpha * normalise(dense)


def top_rows(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indexes of the k best scores (descending, ties by index), skipping rows not allowed."""
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
        k = min(k, int(allowed.sum()))
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


