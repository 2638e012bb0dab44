"""Search: a Question in, ranked Hits out.

``Searcher.search`` runs the stages in order:

1. which chunks may be found: library tags and collections, reliability flags and tiers, document ids
   (``allowed_rows``);
2. candidates: BM25 scores over every chunk and the FAISS top ``candidate_k``, over their union with
   both scores known (``Candidates``);
3. fusion and reranking of the top ``rerank_depth`` (lifqa.search.rerank);
4. weighting by source tier (``TIER_WEIGHT``);
5. at most ``max_per_doc`` passages per document (``diversify``), relaxed for a document that
   dominates the evidence (``diversify_adaptive``).

It returns ``Found``: the hits with their store rows, what the reranker saw, and the question-level
evidence the abstention model reads, which is all that answering needs from search.

Library filters keep sources by their tags and collections (``--tag``, ``--collection``). Matching is
case-insensitive. A collection is stored as its path ("Signalling/Receptors"); asking for
"Signalling" also keeps items of its subcollections, and a leaf name ("Receptors") matches wherever
that collection sits.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from lifqa.errors import InputError
from lifqa.reliability import TIERS, check_flag_kinds
from lifqa.search.question import Question
from lifqa.search.rerank import FeatureReranker, Reranker, RerankInput, fuse
from lifqa.settings import Mode, Settings
from lifqa.types import Hit

TIER_WEIGHT = {"high": 1.0, "medium": 0.92, "low": 0.8, "unknown": 0.92}


@dataclass(frozen=True)
class Candidates:
    """The chunks the retrievers found for one question, each with both retrievers' scores and its fused score."""

    rows: np.ndarray  # store rows
    bm25: np.ndarray
    dense: np.ndarray  # cosine with the question, also for chunks only BM25 found
    in_bm25: np.ndarray  # found by BM25 (among its top rows)
    in_dense: np.ndarray  # found by FAISS
    fused: np.ndarray

    def take(self, index: Any) -> "Candidates":
        """The candidates at ``index`` (an order or a slice), every score taken alike."""
        return Candidates(*(a[index] for a in (self.rows, self.bm25, self.dense, self.in_bm25, self.in_dense, self.fused)))

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Found:
    """What search hands to answering."""

    hits: list[Hit]  # ranked
    rows: Mapping[str, int]  # the store row of each hit's chunk, by chunk id
    rerank_input: RerankInput  # the candidates as the reranker saw them (what it is trained on)
    evidence: np.ndarray  # question-level evidence for abstention (``SUPPORT_FEATURES``)


class Searcher:
    """Ranked hits for a Question over one loaded index."""

    def __init__(self, store: Any, bm25: Any, dense: Any, sentence_vectors: np.ndarray | None,
                 feature_reranker: FeatureReranker, reranker: Reranker, settings: Settings) -> None:
        self.store = store
        self.bm25 = bm25
        self.dense = dense
        self.sentence_vectors = sentence_vectors
        self.feature_reranker = feature_reranker
        self.reranker = reranker
        self.settings = settings
        # per document, not per chunk: a chunk's document is store.chunk_doc[row]
        self._tier_weight = np.asarray([TIER_WEIGHT.get(tier, 0.9) for tier in store.doc_tiers], dtype=np.float32)
        self._tier_rank = np.asarray([TIERS.index(t) if t in TIERS else len(TIERS) for t in store.doc_tiers], dtype=np.int64)

    def with_settings(self, settings: Settings, dense: Any) -> "Searcher":
        clone = copy.copy(self)
        clone.settings, clone.dense = settings, dense
        return clone

    def allowed_rows(self, exclude_flags: Iterable[str] = (), min_tier: str | None = None,
                     doc_ids: Iterable[str] | None = None, tags: Iterable[str] = (), collections: Iterable[str] = ()) -> np.ndarray | None:
        """Mask of chunks whose source passes the reliability and library filters (None: no filter)."""
        exclude = check_flag_kinds(exclude_flags)
        tags, collections = split_values(tags), split_values(collections)
        store = self.store
        keep = np.ones(len(store.doc_ids), dtype=bool)  # per document
        if tags or collections:
            check_known(list(store.doc_tags), list(store.doc_collections), tags, collections)
            keep &= library_documents(store.doc_tags, store.doc_collections, len(store.doc_ids), tags, collections)
        if doc_ids is not None:
            chosen = np.zeros(len(store.doc_ids), dtype=bool)
            chosen[[store.doc_index[d] for d in doc_ids if d in store.doc_index]] = True
            keep &= chosen
        elif not exclude and min_tier is None and not (tags or collections):
            return None
        if min_tier is not None and min_tier not in TIERS[:3]:
            raise InputError(f"unknown tier '{min_tier}'. Valid tiers: {', '.join(TIERS[:3])}")
        for kind in exclude:
            keep[store.doc_flags.get(kind, np.zeros(0, dtype=np.int64))] = False
        if min_tier is not None:
            keep &= self._tier_rank <= TIERS.index(min_tier)
        return keep[store.chunk_doc]

    def search(self, question: Question, k: int, mode: Mode, allowed: np.ndarray | None = None,
               timings: dict[str, float] | None = None, depth: int | None = None, *,
               max_per_doc: int | None = None) -> Found:
        """The top ``k`` hits. ``depth``: candidates taken from each retriever (default: candidate_k, or k if larger);
        ``max_per_doc``: the per-document cap instead of the setting's (0: none)."""
        s = self.settings
        timings = {} if timings is None else timings
        candidates = self.candidates(question, mode, allowed, min(self.store.n_chunks, depth or max(s.candidate_k, k)), timings)

        clock = time.perf_counter()
        head = min(len(candidates), max(s.rerank_depth, k))
        scored = min(head, s.rerank_depth)  # only the top rerank_depth are rescored; a deeper k keeps fused order below them
        batch = self._rerank_input(question, candidates.take(slice(0, scored)))
        probabilities, evidence = self.feature_reranker.score_with_evidence(batch)
        rows, fused = candidates.rows, candidates.fused
        final = fused[:head].copy()
        below = np.zeros(head, dtype=bool)
        if mode == Mode.HYBRID_RERANK:
            final[:scored] = self.reranker.score(batch) if self.reranker is not self.feature_reranker else probabilities
            below[scored:] = True
        if s.reliability_weighting:
            final = final * self._tier_weight[self.store.chunk_doc[rows[:head]]]
        ranked_order = np.lexsort((np.arange(head), -final, below))
        head_docs = [self.store.doc_ids[d] for d in self.store.chunk_doc[rows[:head]]]
        cap = s.max_per_doc if max_per_doc is None else max_per_doc
        if s.passage_diversity == "adaptive":
            order = diversify_adaptive(ranked_order, head_docs, k, cap)
        else:
            order = diversify(ranked_order, head_docs, k, cap)
        timings["rerank_ms"] = _ms(clock)
        chunks = self.store.chunks_at(rows[order])
        hits = [
            Hit(chunk=chunks[rank], score=float(final[i]), bm25=float(candidates.bm25[i]), dense=float(candidates.dense[i]),
                fused=float(fused[i]), rerank=float(probabilities[i]) if i < scored else None, rank=rank + 1)
            for rank, i in enumerate(order)
        ]
        return Found(hits, {chunk.chunk_id: int(rows[i]) for chunk, i in zip(chunks, order)}, batch, evidence)

    def candidates(self, question: Question, mode: Mode, allowed: np.ndarray | None, depth: int,
                   timings: dict[str, float]) -> Candidates:
        """BM25's and FAISS's top ``depth`` allowed chunks, in fused order."""
        s = self.settings
        clock = time.perf_counter()
        bm25_all = self.bm25.term_scores(question.tokens)  # also in dense mode: the reranker and abstention use it
        timings["bm25_ms"] = _ms(clock)
        clock = time.perf_counter()
        if mode == Mode.BM25:
            dense_rows = np.zeros(0, dtype=np.int64)
        else:  # restricted to the allowed chunks by the index itself, or exactly over those rows
            _, found = self.dense.search(question.vector[None, :], depth, allowed)
            dense_rows = found[0][found[0] >= 0]
        bm25_rows = np.zeros(0, dtype=np.int64)
        if mode != Mode.DENSE:
            bm25_rows = top_rows(bm25_all, depth, allowed)
            if mode != Mode.BM25:
                bm25_rows = bm25_rows[bm25_all[bm25_rows] > 0]  # a zero BM25 score is no evidence
        rows = np.unique(np.concatenate([bm25_rows, dense_rows])).astype(np.int64)
        bm25 = bm25_all[rows]
        dense = self.dense.cosine(question.vector, rows)  # also in bm25 mode: the reranker and abstention use it
        in_bm25, in_dense = np.isin(rows, bm25_rows), np.isin(rows, dense_rows)
        timings["dense_ms"] = _ms(clock)

        clock = time.perf_counter()
        if mode == Mode.BM25:
            fused = bm25
        elif mode == Mode.DENSE:
            fused = dense
        else:
            fused = fuse(bm25, dense, in_bm25, in_dense, s.fusion, s.fusion_alpha, s.rrf_k)
        candidates = Candidates(rows, bm25, dense, in_bm25, in_dense, fused).take(np.lexsort((rows, -fused)))
        timings["fuse_ms"] = _ms(clock)
        return candidates

    def ranking(self, question: Question, mode: Mode, depth: int | None = None) -> list[Hit]:
        """Every candidate in final order, without the per-document cap: what evaluation ranks documents by.
        The candidates are the same as for ``search`` (candidate_k from each retriever), so the order of the
        top is the same too."""
        candidates = self.settings.candidate_k
        return self.search(question, depth or 2 * candidates, mode, depth=candidates, max_per_doc=0).hits

    def rerank_candidates(self, question: Question, depth: int | None = None) -> RerankInput:
        """The hybrid candidates the reranker sees for a question (what it is trained on); ``depth``: how many
        (default: rerank_depth)."""
        depth = self.settings.rerank_depth if depth is None else depth
        candidates = self.candidates(question, Mode.HYBRID, None, min(self.store.n_chunks, max(self.settings.candidate_k, 1)), {})
        return self._rerank_input(question, candidates.take(slice(0, min(len(candidates), depth))))

    def _rerank_input(self, question: Question, candidates: Candidates) -> RerankInput:
        return RerankInput(
            question=question,
            chunks=self.store.chunks_at(candidates.rows),
            fused=candidates.fused, bm25=candidates.bm25, dense=candidates.dense,
            in_bm25=candidates.in_bm25, in_dense=candidates.in_dense,
            sentence_cos=[self._sentence_cosines(int(r), question.vector) for r in candidates.rows],
        )

    def _sentence_cosines(self, row: int, vector: np.ndarray) -> np.ndarray:
        if self.sentence_vectors is None:
            return np.zeros(0, dtype=np.float32)
        lo, hi = self.store.chunk_sentences[row]
        return np.asarray(self.sentence_vectors[lo:hi], dtype=np.float32) @ vector


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


# ---- passage diversity -------------------------------------------------------------------------------------------
def diversify(order: np.ndarray, doc_ids: Sequence[str], k: int, max_per_doc: int) -> np.ndarray:
    """The first k of ``order`` taking at most ``max_per_doc`` chunks per document, then
    topping up from the rest in order, so one long source cannot fill every slot."""
    if max_per_doc <= 0:
        return order[:k]
    return _capped(order, doc_ids, k, lambda doc: max_per_doc)


def _capped(order: np.ndarray, doc_ids: Sequence[str], k: int, cap_of: Callable[[str], int]) -> np.ndarray:
    """The first k of ``order`` with at most ``cap_of(doc)`` chunks per document, topped up from the rest in order."""
    taken, skipped, per_doc = [], [], {}
    for i in order:
        doc = doc_ids[int(i)]
        if per_doc.get(doc, 0) < cap_of(doc):
            per_doc[doc] = per_doc.get(doc, 0) + 1
            taken.append(int(i))
        else:
            skipped.append(int(i))
        if len(taken) == k:
            break
    return np.asarray((taken + skipped)[:k], dtype=np.int64)


# A document "dominates the evidence" when it holds at least DOMINANT_SHARE of the top DOMINANCE_WINDOW
# candidates; it may then take up to DOMINANT_CAP passages. Chosen on the COVID-QA and LIF train splits
# with bench/diversity_sweep.py (BENCHMARKS.md, "Passage diversity").
DOMINANCE_WINDOW = 10
DOMINANT_SHARE = 0.8
DOMINANT_CAP = 3


def diversify_adaptive(order: np.ndarray, doc_ids: Sequence[str], k: int, max_per_doc: int,
                       window: int = DOMINANCE_WINDOW, share: float = DOMINANT_SHARE, relaxed: int = DOMINANT_CAP) -> np.ndarray:
    """Like :func:`diversify`, but the cap relaxes for a document that dominates the top candidates:
    one long article holding the answer is not starved by a rule meant to keep several sources."""
    if max_per_doc <= 0:
        return order[:k]
    top = [doc_ids[int(i)] for i in order[:window]]
    counts: dict[str, int] = {}
    for doc in top:
        counts[doc] = counts.get(doc, 0) + 1
    dominant = {doc for doc, n in counts.items() if n >= share * len(top)}
    return _capped(order, doc_ids, k, lambda doc: max(max_per_doc, relaxed) if doc in dominant else max_per_doc)


# ---- library filters ---------------------------------------------------------------------------------------------
def split_values(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Values from repeated or comma-separated options, stripped, duplicates dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        for part in str(value).split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return tuple(out)


def _values(metadata: Mapping[str, Any], key: str) -> list[str]:
    value = metadata.get(key) or []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def known(documents: Iterable[Any], key: str) -> list[str]:
    """Every tag (key="tags") or collection path (key="collections") of the documents, sorted."""
    return sorted({v for doc in documents for v in _values(doc.metadata, key)}, key=str.lower)


def collection_matches(path: str, wanted: str) -> bool:
    path, wanted = path.lower().strip("/"), wanted.lower().strip("/")
    return path == wanted or path.startswith(wanted + "/") or path.rsplit("/", 1)[-1] == wanted


def check_known(present_tags: Iterable[str], present_collections: Iterable[str], tags: tuple[str, ...], collections: tuple[str, ...]) -> None:
    """An unknown tag or collection is an error naming the ones this index has (a typo should not silently match nothing)."""
    for what, key, asked, present in (("tag", "tags", tags, present_tags), ("collection", "collections", collections, present_collections)):
        present = sorted(set(present), key=str.lower)
        for value in asked:
            hit = any(value.lower() == p.lower() for p in present) if key == "tags" else any(collection_matches(p, value) for p in present)
            if not hit:
                listed = ", ".join(present[:30]) + (" ..." if len(present) > 30 else "") if present else "none (index a Zotero or BibTeX library to get them)"
                raise InputError(f"no source in this index has the {what} '{value}'. {what.capitalize()}s present: {listed}")


def library_documents(doc_tags: Mapping[str, Any], doc_collections: Mapping[str, Any], count: int,
                      tags: tuple[str, ...], collections: tuple[str, ...]) -> Any:
    """Boolean mask over ``count`` documents having one of the tags and one of the collections, from the documents of each tag and
    collection path (index arrays), so an index need not read every document's metadata."""
    mask = np.ones(count, dtype=bool)
    if tags:
        wanted, chosen = {t.lower() for t in tags}, np.zeros(count, dtype=bool)
        for tag, docs in doc_tags.items():
            if tag.lower() in wanted:
                chosen[np.asarray(docs, dtype=np.int64)] = True
        mask &= chosen
    if collections:
        chosen = np.zeros(count, dtype=bool)
        for path, docs in doc_collections.items():
            if any(collection_matches(path, c) for c in collections):
                chosen[np.asarray(docs, dtype=np.int64)] = True
        mask &= chosen
    return mask


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
