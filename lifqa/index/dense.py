"""Dense retrieval: normalised MiniLM vectors in FAISS, inner product = cosine.

Below ``ann_threshold`` chunks the index is exact (IndexFlatIP): at 100k x 384
floats a flat scan costs about 10 ms on 2 cores, and exact search has no recall
loss. From it, an approximate index keeps queries fast and RAM small: IVF-PQ by
default (``ann_index``; 48 bytes a vector, so 1 M vectors take ~50 MB of RAM, where
HNSW holds every float, 1.5 GB plus its graph). The approximate index only proposes
``ann_rescore`` x k candidates; they are re-scored exactly with the memory-mapped
vectors, which is what brings recall@100 against exact search to ~0.99 (the
build measures it and records it in the manifest). A flat index holds the vectors itself, so its build
writes no second copy of them (151 MB per 1,000 papers): they are read, memory-mapped, from the index file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from lifqa.errors import SettingsError
from lifqa.index import layout

RECALL_QUERIES = 200  # chunk vectors used as queries when a build measures an approximate index's recall@100
RECALL_K = 100
_TRAIN_PER_LIST = 64  # vectors per inverted list that k-means trains on (FAISS asks for 39 to 256)
_EXACT_BLOCK = 16_384  # rows per block of an exact product over memory-mapped vectors (24 MB of floats)


def ivf_lists(n: int, nlist: int) -> int:
    """Inverted lists: the setting, or about 2 sqrt(n) when it is 0 (2,000 at 1 M vectors)."""
    return max(1, min(n, nlist or int(round(2 * math.sqrt(n)))))


def build_faiss(vectors: np.ndarray, path: Path, settings: Any) -> dict[str, Any]:
    """Write the dense index for ``vectors`` and say what it is: ``{"kind", ...parameters, "recall_at_100"}``.
    An approximate index's recall@100 is measured against exact search on RECALL_QUERIES chunk vectors."""
    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if n < settings.ann_threshold:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        faiss.write_index(index, str(path))
        return {"kind": "flat"}
    rng = np.random.default_rng(0)
    if settings.ann_index == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.add(vectors)
        info: dict[str, Any] = {"kind": "hnsw", "m": settings.hnsw_m}
    else:
        if dim % settings.pq_m:
            divisors = ", ".join(str(d) for d in range(1, dim + 1) if dim % d == 0 and d <= 96)
            raise SettingsError(f"pq_m={settings.pq_m} must divide the embedding dimension {dim}; valid values: {divisors}")
        nlist = ivf_lists(n, settings.ivf_nlist)
        sample = vectors[np.sort(rng.choice(n, size=min(n, max(nlist * _TRAIN_PER_LIST, 10_000)), replace=False))]
        nbits = 8 if len(sample) >= 4 * 256 else max(1, int(math.log2(len(sample))) - 1)  # a tiny index: fewer PQ centroids
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, settings.pq_m, nbits, faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # small samples are expected (tests); no warning per build
        index.pq.cp.min_points_per_centroid = 1
        index.cp.niter = 10
        index.train(sample)
        for start in range(0, n, 100_000):
            index.add(vectors[start:start + 100_000])
        info = {"kind": "ivfpq", "nlist": nlist, "m": settings.pq_m, "nbits": nbits, "trained_on": len(sample)}
    faiss.write_index(index, str(path))
    dense = DenseIndex.__new__(DenseIndex)
    dense._setup(index, vectors, settings)
    queries = vectors[rng.choice(n, size=min(n, RECALL_QUERIES), replace=False)]
    info.update({"recall_at_100": round(measure_recall(dense, queries), 4), "recall_queries": len(queries),
                 "nprobe": settings.ivf_nprobe, "rescore": settings.ann_rescore})
    return info


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, rows: np.ndarray | None = None,
              allowed: np.ndarray | None = None) -> np.ndarray:
    """Rows of the k highest inner products for each query, by blocks over (memory-mapped) ``vectors``;
    ``rows``: search only these rows (gathered); ``allowed``: a mask of rows (scanned in order, the others skipped)."""
    n = len(vectors) if rows is None else len(rows)
    k = min(k, n if allowed is None else int(np.count_nonzero(allowed)))
    if k <= 0:
        return np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, n, _EXACT_BLOCK):
        ids = np.arange(start, min(n, start + _EXACT_BLOCK)) if rows is None else rows[start:start + _EXACT_BLOCK]
        block = np.asarray(vectors[start:start + _EXACT_BLOCK] if rows is None else vectors[ids], dtype=np.float32)
        block_scores = queries @ block.T
        if allowed is not None:
            block_scores[:, ~np.asarray(allowed[ids], dtype=bool)] = -np.inf
        scores = np.concatenate([best_scores, block_scores], axis=1)
        candidates = np.concatenate([best_rows, np.broadcast_to(ids, (len(queries), len(ids)))], axis=1)
        keep = np.argpartition(-scores, k - 1, axis=1)[:, :k] if scores.shape[1] > k else np.argsort(-scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(scores, keep, axis=1)
        best_rows = np.take_along_axis(candidates, keep, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_rows, order, axis=1)


def measure_recall(dense: "DenseIndex", queries: np.ndarray, k: int = RECALL_K) -> float:
    """Mean share of the exact top-k rows that the index's own search returns in its top k."""
    exact = exact_top(dense.vectors, queries, k)
    _, found = dense.search(queries, k)
    return float(np.mean([len(set(e.tolist()) & set(f.tolist())) / len(e) for e, f in zip(exact, found)]))


def flat_vectors(index: Any) -> np.ndarray:
    """The vectors a flat index holds, as a read-only array over its own storage (memory-mapped when the index
    was read with IO_FLAG_MMAP). The array does not keep the index alive: whoever holds it must."""
    vectors = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    vectors.flags.writeable = False
    return vectors


def read_chunk_vectors(build: Path) -> np.ndarray:
    """A build folder's chunk vectors as an array of its own: their file, or (a flat index's build has none) the index."""
    if (build / layout.CHUNK_VECTORS).is_file():
        return np.load(build / layout.CHUNK_VECTORS)
    index = faiss.read_index(str(build / layout.FAISS_FILE))
    return np.array(flat_vectors(index))  # copied while ``index`` holds the storage


class DenseIndex:
    """FAISS search plus exact cosine for any chunk, from the memory-mapped vectors: ``vectors_path``, or a flat
    index's own storage when that file does not exist (an index built before flat builds dropped it has both)."""

    def __init__(self, faiss_path: Path, vectors_path: Path, settings: Any) -> None:
        index = faiss.read_index(str(faiss_path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        if vectors_path.is_file():
            vectors = layout.map_rows(vectors_path)
        elif isinstance(index, faiss.IndexFlat):
            vectors = flat_vectors(index)  # self._index keeps the storage alive
        else:
            raise FileNotFoundError(f"{vectors_path.name} (an approximate index re-scores its candidates from it) is missing")
        self._setup(index, vectors, settings)

    def _setup(self, index: Any, vectors: np.ndarray, settings: Any) -> None:
        self._index = index
        self.vectors = vectors
        self.size = int(index.ntotal)
        self.exact = isinstance(index, faiss.IndexFlat)
        self.exact_below = settings.ann_threshold
        self._rescore = settings.ann_rescore
        if hasattr(index, "hnsw"):
            self._params = lambda sel: faiss.SearchParametersHNSW(efSearch=settings.hnsw_ef_search, sel=sel)
        elif hasattr(index, "nprobe"):
            self._params = lambda sel: faiss.SearchParametersIVF(nprobe=settings.ivf_nprobe, sel=sel)
        else:
            self._params = lambda sel: None

    def with_settings(self, settings: Any) -> "DenseIndex":
        """The same index and vectors searched with other query-time parameters (nprobe, rescore, efSearch)."""
        clone = DenseIndex.__new__(DenseIndex)
        clone._setup(self._index, self.vectors, settings)
        return clone

    def search(self, query_vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) per query; ``allowed``: a boolean mask of rows that may be returned.
        Rows beyond what exists are -1. An approximate index's candidates are re-scored exactly."""
        queries = np.ascontiguousarray(np.atleast_2d(query_vectors), dtype=np.float32)
        k = max(1, min(k, self.size))
        if allowed is not None:
            if self.exact:  # a scan of every row, the disallowed skipped
                return self._rescored(queries, list(exact_top(self.vectors, queries, k, allowed=allowed)), k)
            rows = np.flatnonzero(allowed)
            if len(rows) < self.exact_below:  # as cheap as the flat index of a small corpus, and exact
                return self._rescored(queries, list(exact_top(self.vectors, queries, k, rows)), k)
            bits = np.packbits(np.asarray(allowed, dtype=bool), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
            params = self._params(selector)
        else:
            params = self._params(None)
        if self.exact and params is None:
            return self._index.search(queries, k)
        _, found = self._index.search(queries, min(self.size, k * self._rescore), params=params)
        return self._rescored(queries, [f[f >= 0] for f in found], k)

    def _rescored(self, queries: np.ndarray, candidates: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        for i, (query, found) in enumerate(zip(queries, candidates)):
            found = np.unique(found)  # sorted rows: sequential reads of the memory map
            # einsum, not @: BLAS threads a product of this size, and on a busy machine waiting for the
            # second core made 1,600 rows take 10 ms instead of 0.5 (BENCHMARKS.md, "Serving a million passages")
            exact = np.einsum("ij,j->i", np.asarray(self.vectors[found], dtype=np.float32), query)
            order = np.lexsort((found, -exact))[:k]
            scores[i, :len(order)], rows[i, :len(order)] = exact[order], found[order]
        return scores, rows

    def cosine(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[rows], dtype=np.float32) @ query_vector
