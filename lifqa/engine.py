"""The query engine: one loaded index, shared safely between threads.

``Engine.open`` verifies the index (checksums, format, settings), maps the
store's per-row arrays and the BM25/FAISS/vector files, and loads the encoder
once; chunk texts and documents are read from the store when a query needs
them, so a million-passage index opens in seconds. ``search`` returns ranked Hits; ``ask`` turns them into a cited
extractive Answer or an abstention.
"""

from __future__ import annotations

import functools
import json
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from lifqa.answer import NO_ANSWER, SentenceCandidate, render, select_sentences
from lifqa.calibration import read_calibration
from lifqa.encoder import get_encoder
from lifqa.errors import IndexCorruptError, InputError
from lifqa.index import layout
from lifqa.index.bm25 import BM25Index
from lifqa.index.dense import DenseIndex
from lifqa.index.store import SourceRecord, Store, open_store
from lifqa.facts import conflicts_for_answer
from lifqa.filters import check_known as check_known_filters
from lifqa.filters import library_documents, split_values
from lifqa.references import citation_label, citation_pages, reference_of
from lifqa.reliability import TIERS, check_flag_kinds, passage_flags
from lifqa.rerank import SUPPORT_FEATURES, CrossEncoderReranker, FeatureReranker, RerankInput, load_params
from lifqa.question_parts import split_question
from lifqa.retrieve import fuse, top_rows
from lifqa.selector import Candidate, MemoTokenizer, SentenceSelector, best_score, eligible, question_kind, question_terms
from lifqa.selector import feature_matrix as selector_features
from lifqa.selector import load_params as load_selector_params
from lifqa.sentence_types import SentenceType, classify
from lifqa.settings import MODES, Mode, Settings, make_settings
from lifqa.tokenize import Tokenizer, identifiers
from lifqa.types import Answer, AnswerSentence, Chunk, Citation, Hit

def encoder_variant(manifest: dict[str, Any]) -> str:
    """The encoder variant an index was built with, as its manifest records it."""
    recorded = manifest.get("encoder")
    return recorded.get("variant", "torch-fp32") if isinstance(recorded, dict) else "torch-fp32"


TIER_WEIGHT = {"high": 1.0, "medium": 0.92, "low": 0.8, "unknown": 0.92}
# Control characters, zero-width and bidi-override characters: invisible, so a pasted question
# could hide text or display reversed; they become spaces and the user is told.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class Engine:
    """Search and ask over one index. Construct with :meth:`open`."""

    def __init__(self, index_dir: Path, build: Path, manifest: dict[str, Any], settings: Settings,
                 reranker_params: dict[str, Any] | None = None, selector_params: dict[str, Any] | None = None) -> None:
        self.index_dir = index_dir
        self.build = build
        self.manifest = manifest
        self.settings = settings
        try:
            self.store: Store = open_store(build)
            self.tokenizer = Tokenizer(stemming=settings.stemming)
            self.bm25 = BM25Index(build / layout.BM25_DIR, self.tokenizer)
            self.dense = DenseIndex(build / layout.FAISS_FILE, build / layout.CHUNK_VECTORS, settings)
            sentence_file = build / layout.SENTENCE_VECTORS
            self.sentence_vectors = np.load(sentence_file, mmap_mode="r") if sentence_file.is_file() else None
            self._conflicts = json.loads((build / layout.RELIABILITY).read_text(encoding="utf-8")).get("conflicts", [])
        except IndexCorruptError:
            raise
        except Exception as exc:  # a file that passed the checksum but cannot be parsed
            raise IndexCorruptError(f"cannot load the index in {build}: {exc}. Rebuild with: {layout.build_hint(index_dir, manifest)} --force") from None
        if not (self.store.n_chunks == self.bm25.num_docs == self.dense.size):
            raise IndexCorruptError(f"the index in {build} is inconsistent (chunk counts differ). Rebuild with: {layout.build_hint(index_dir, manifest)} --force")
        # Queries are encoded by the variant that encoded the corpus (an index from before variants: torch-fp32).
        self.encoder = get_encoder(settings.model_path, settings.encode_batch_size, encoder_variant(manifest))
        if manifest.get("embedding_dim", self.encoder.dim) != self.encoder.dim:  # another model: FAISS would assert
            raise IndexCorruptError(
                f"the index in {build} holds {manifest.get('embedding_dim')}-dimensional vectors, but the model "
                f"{self.encoder.model_path} makes {self.encoder.dim}-dimensional ones. Use the model the index was built with, "
                f"or rebuild with: {layout.build_hint(index_dir, manifest)} --force")
        # per document, not per chunk: a chunk's document is store.chunk_doc[row]
        self._tier_weight = np.asarray([TIER_WEIGHT.get(tier, 0.9) for tier in self.store.doc_tiers], dtype=np.float32)
        self._tier_rank = np.asarray([TIERS.index(t) if t in TIERS else len(TIERS) for t in self.store.doc_tiers], dtype=np.int64)
        self._feature_reranker = FeatureReranker(reranker_params or load_params(), self.tokenizer)
        self._selector_params = selector_params
        self.calibration = read_calibration(index_dir)
        self._support_model = (self.calibration or {}).get("support") if settings.use_calibration else None
        self._reranker = CrossEncoderReranker(settings.cross_encoder_path) if settings.reranker == "cross-encoder" and settings.cross_encoder_path else self._feature_reranker
        if settings.reranker == "cross-encoder" and not settings.cross_encoder_path:
            raise InputError("reranker='cross-encoder' needs cross_encoder_path: a local cross-encoder model folder")

    @functools.cached_property
    def _selector(self) -> SentenceSelector:
        """Loaded on first use, so an engine that never selects sentences (training the selector or the
        reranker, the heuristic selector) opens even when the shipped parameters are stale."""
        return SentenceSelector(self._selector_params or load_selector_params())

    # ---- construction -------------------------------------------------
    @classmethod
    def open(cls, index_dir: str | Path = "indexes", verify: bool | str = True, reranker_params: dict[str, Any] | None = None,
             selector_params: dict[str, Any] | None = None, **overrides: Any) -> "Engine":
        """``verify``: True checks every file's size and checksum (files of layout.SAMPLE_FROM bytes or more by a
        sampled digest), "full" hashes every byte, False skips it.
        ``reranker_params``/``selector_params``: parameters other than the shipped ones (training, comparing candidates)."""
        index_dir = Path(index_dir)
        build = layout.active_build(index_dir)
        manifest = layout.read_manifest(build)
        if verify:
            layout.verify_files(build, manifest, full=verify == "full")
        recorded = {k: v for k, v in manifest.get("settings", {}).items()}
        settings = make_settings(**{**recorded, **overrides})
        layout.check_compatible(build, manifest, settings)
        return cls(index_dir, build, manifest, settings, reranker_params, selector_params)

    def with_settings(self, **changes: Any) -> "Engine":
        """The same loaded index with some query-time settings changed (evaluation variants)."""
        return _with_settings(self, **changes)

    def support_row(self, question: str) -> np.ndarray:
        """The evidence a calibrated abstention model reads (``CALIBRATED_SUPPORT_FEATURES``; what ``lifqa
        calibrate`` fits on), from the passages ``ask`` would answer from."""
        text, _ = self.clean_question(question)
        vector = self.encoder.encode_queries([text])[0]
        hits, _, evidence = self._search(text, vector, self._answer_depth(text, self.settings.k), self.settings.mode, None, {})
        _, features = self.selector_inputs(text, vector, hits)
        return np.concatenate([evidence, [best_score(features)]]).astype(np.float32)

    def _support(self, evidence: np.ndarray, selector_features: np.ndarray | None) -> float:
        """The probability that the question is answerable: the index's calibrated model (which may also read the
        best answer sentence's score, from ``selector_features``) or the shipped one."""
        if self._reads_answer_evidence:
            evidence = np.concatenate([evidence, [best_score(selector_features)]])
        return self._feature_reranker.support(evidence, self._support_model)

    @property
    def _reads_answer_evidence(self) -> bool:
        return self._support_model is not None and len(self._support_model["features"]) > len(SUPPORT_FEATURES)

    def _answer_depth(self, text: str, k: int) -> int:
        """Passages the trained selector may quote from (more for definitions: often one sentence of a lower-ranked passage)."""
        depth = self.settings.answer_depth
        if question_kind(text) in ("expansion", "definition"):
            depth = max(depth, self.settings.rerank_depth)
        return max(k, depth)

    # ---- sources --------------------------------------------------------
    def sources(self) -> list[SourceRecord]:
        """Every document (read from the store: a listing, not a query-path call)."""
        return self.store.all_sources()

    def source(self, doc_id: str) -> SourceRecord:
        try:
            return self.store.source(doc_id)
        except KeyError:
            known = sorted(self.store.doc_ids)
            listed = ", ".join(known[:50]) + (f" ... ({len(known):,} in all)" if len(known) > 50 else "")
            raise InputError(f"no document '{doc_id}' in this index; known ids: {listed}") from None

    def conflicts(self) -> list[dict[str, Any]]:
        return list(self._conflicts)

    # ---- query checks ---------------------------------------------------
    def clean_question(self, question: Any) -> tuple[str, tuple[str, ...]]:
        return clean_question(question, self.settings.max_question_chars)

    def _mode(self, mode: str | Mode | None) -> Mode:
        return self.settings.mode if mode is None else parse_mode(mode)

    def _k(self, k: int | None) -> int:
        return self.settings.k if k is None else parse_k(k)

    def allowed_rows(self, exclude_flags: Iterable[str] = (), min_tier: str | None = None,
                     doc_ids: Iterable[str] | None = None, tags: Iterable[str] = (), collections: Iterable[str] = ()) -> np.ndarray | None:
        """Mask of chunks whose source passes the reliability and library filters (None: no filter)."""
        exclude = check_flag_kinds(exclude_flags)
        tags, collections = split_values(tags), split_values(collections)
        store = self.store
        keep = np.ones(len(store.doc_ids), dtype=bool)  # per document
        if tags or collections:
            check_known_filters(list(store.doc_tags), list(store.doc_collections), tags, collections)
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

    # ---- retrieval -------------------------------------------------------
    def search(self, question: str, k: int | None = None, mode: str | Mode | None = None, *,
               exclude_flags: Iterable[str] = (), min_tier: str | None = None, doc_ids: Iterable[str] | None = None,
               tags: Iterable[str] = (), collections: Iterable[str] = ()) -> list[Hit]:
        text, _ = self.clean_question(question)
        allowed = self.allowed_rows(exclude_flags, min_tier, doc_ids, tags, collections)
        vector = self.encoder.encode_queries([text])[0]
        hits, _, _ = self._search(text, vector, self._k(k), self._mode(mode), allowed, {})
        return hits

    def _search(self, text: str, vector: np.ndarray, k: int, mode: Mode, allowed: np.ndarray | None,
                timings: dict[str, float], depth: int | None = None) -> tuple[list[Hit], RerankInput, np.ndarray]:
        """Ranked hits, the reranker's view of the candidates, and the question-level evidence for abstention.
        ``depth``: candidates taken from each retriever (default: candidate_k, or k if larger)."""
        s = self.settings
        clock = time.perf_counter()
        n = self.store.n_chunks
        depth = min(n, depth or max(s.candidate_k, k))
        bm25_all = self.bm25.scores(text)  # also in dense mode: the reranker and abstention use it
        timings["bm25_ms"] = _ms(clock)
        clock = time.perf_counter()
        if mode == Mode.BM25:
            dense_rows = np.zeros(0, dtype=np.int64)
        else:  # restricted to the allowed chunks by the index itself, or exactly over those rows
            _, found = self.dense.search(vector[None, :], depth, allowed)
            dense_rows = found[0][found[0] >= 0]
        bm25_rows = np.zeros(0, dtype=np.int64)
        if mode != Mode.DENSE:
            bm25_rows = top_rows(bm25_all, depth, allowed)
            if mode != Mode.BM25:
                bm25_rows = bm25_rows[bm25_all[bm25_rows] > 0]  # a zero BM25 score is no evidence
        rows = np.unique(np.concatenate([bm25_rows, dense_rows])).astype(np.int64)
        bm25 = bm25_all[rows]
        dense = self.dense.cosine(vector, rows)  # also in bm25 mode: the reranker and abstention use it
        in_bm25, in_dense = np.isin(rows, bm25_rows), np.isin(rows, dense_rows)
        timings["dense_ms"] = _ms(clock)

        clock = time.perf_counter()
        if mode == Mode.BM25:
            fused = bm25
        elif mode == Mode.DENSE:
            fused = dense
        else:
            fused = fuse(bm25, dense, in_bm25, in_dense, s.fusion, s.fusion_alpha, s.rrf_k)
        order = np.lexsort((rows, -fused))
        rows, bm25, dense, fused, in_bm25, in_dense = (a[order] for a in (rows, bm25, dense, fused, in_bm25, in_dense))
        timings["fuse_ms"] = _ms(clock)

        clock = time.perf_counter()
        head = min(len(rows), max(s.rerank_depth, k))
        scored = min(head, s.rerank_depth)  # only the top rerank_depth are rescored; a deeper k keeps fused order below them
        batch = self._rerank_input(text, vector, rows[:scored], fused[:scored], bm25[:scored], dense[:scored], in_bm25[:scored], in_dense[:scored])
        probabilities, evidence = self._feature_reranker.score_with_evidence(batch)
        final = fused[:head].copy()
        below = np.zeros(head, dtype=bool)
        if mode == Mode.HYBRID_RERANK:
            final[:scored] = self._reranker.score(batch) if self._reranker is not self._feature_reranker else probabilities
            below[scored:] = True
        if s.reliability_weighting:
            final = final * self._tier_weight[self.store.chunk_doc[rows[:head]]]
        ranked_order = np.lexsort((np.arange(head), -final, below))
        head_docs = [self.store.doc_ids[d] for d in self.store.chunk_doc[rows[:head]]]
        if s.passage_diversity == "adaptive":
            order = diversify_adaptive(ranked_order, head_docs, k, s.max_per_doc)
        else:
            order = diversify(ranked_order, head_docs, k, s.max_per_doc)
        timings["rerank_ms"] = _ms(clock)
        chunks = self.store.chunks_at(rows[order])
        hits = [
            Hit(chunk=chunks[rank], score=float(final[i]), bm25=float(bm25[i]), dense=float(dense[i]),
                fused=float(fused[i]), rerank=float(probabilities[i]) if i < scored else None, rank=rank + 1)
            for rank, i in enumerate(order)
        ]
        return hits, batch, evidence

    def ranking(self, text: str, vector: np.ndarray, mode: str | Mode | None = None, depth: int | None = None) -> list[Hit]:
        """Every candidate in final order, without the per-document cap: what evaluation ranks documents by.
        The candidates are the same as for ``search`` (candidate_k from each retriever), so the order of the
        top is the same too. ``text`` must be a cleaned question and ``vector`` its encoding."""
        engine = _with_settings(self, max_per_doc=0)
        candidates = self.settings.candidate_k
        hits, _, _ = engine._search(text, vector, depth or 2 * candidates, self._mode(mode), None, {}, depth=candidates)
        return hits

    def rerank_candidates(self, question: str, depth: int | None = None) -> RerankInput:
        """The hybrid candidates the reranker would see for a question (used to train it)."""
        text, _ = self.clean_question(question)
        vector = self.encoder.encode_queries([text])[0]
        return self.rerank_candidates_for(text, vector, depth)

    def rerank_candidates_for(self, text: str, vector: np.ndarray, depth: int | None = None) -> RerankInput:
        engine = self if depth is None else _with_settings(self, rerank_depth=depth)
        _, batch, _ = engine._search(text, vector, 1, Mode.HYBRID, None, {})
        return batch

    def _rerank_input(self, text: str, vector: np.ndarray, rows: np.ndarray, fused: np.ndarray, bm25: np.ndarray,
                      dense: np.ndarray, in_bm25: np.ndarray, in_dense: np.ndarray) -> RerankInput:
        terms = tuple(dict.fromkeys(self.tokenizer(text)))
        return RerankInput(
            query=text,
            query_terms=terms,
            query_idf=self.bm25.idf(list(terms)),
            chunks=self.store.chunks_at(rows),
            fused=fused, bm25=bm25, dense=dense, in_bm25=in_bm25, in_dense=in_dense,
            sentence_cos=[self._sentence_cosines(int(r), vector) for r in rows],
        )

    def _sentence_cosines(self, row: int, vector: np.ndarray) -> np.ndarray:
        if self.sentence_vectors is None:
            return np.zeros(0, dtype=np.float32)
        lo, hi = self.store.chunk_sentences[row]
        return np.asarray(self.sentence_vectors[lo:hi], dtype=np.float32) @ vector

    # ---- answering -------------------------------------------------------
    def ask(self, question: str, k: int | None = None, mode: str | Mode | None = None, *,
            exclude_flags: Iterable[str] = (), min_tier: str | None = None, doc_ids: Iterable[str] | None = None,
            tags: Iterable[str] = (), collections: Iterable[str] = ()) -> Answer:
        started = time.perf_counter()
        text, notices = self.clean_question(question)
        allowed = self.allowed_rows(exclude_flags, min_tier, doc_ids, tags, collections)
        clock = time.perf_counter()
        vector = self.encoder.encode_queries([text])[0]
        timings = {"encode_ms": _ms(clock)}
        return self._answer(text, vector, self._k(k), self._mode(mode), allowed, notices, timings, started)

    def ask_many(self, questions: Sequence[str], k: int | None = None, mode: str | Mode | None = None, *,
                 exclude_flags: Iterable[str] = (), min_tier: str | None = None,
                 tags: Iterable[str] = (), collections: Iterable[str] = ()) -> list[Answer | InputError]:
        """Answer many questions with one batched encoder call; bad questions come back as InputError values."""
        cleaned: list[tuple[str, tuple[str, ...]] | InputError] = []
        for question in questions:
            try:
                cleaned.append(self.clean_question(question))
            except InputError as exc:
                cleaned.append(exc)
        allowed = self.allowed_rows(exclude_flags, min_tier, None, tags, collections)
        k_value, mode_value = self._k(k), self._mode(mode)
        texts = [c[0] for c in cleaned if not isinstance(c, InputError)]
        clock = time.perf_counter()
        vectors = iter(self.encoder.encode_queries(texts))
        per_question = _ms(clock) / max(1, len(texts))
        out: list[Answer | InputError] = []
        for item in cleaned:
            if isinstance(item, InputError):
                out.append(item)
                continue
            out.append(self._answer(item[0], next(vectors), k_value, mode_value, allowed, item[1],
                                    {"encode_ms": round(per_question, 3)}, time.perf_counter()))
        return out

    def _answer(self, text: str, vector: np.ndarray, k: int, mode: Mode, allowed: np.ndarray | None,
                notices: tuple[str, ...], timings: dict[str, float], started: float) -> Answer:
        deep = self.settings.answer_selector == "trained"
        hits, _, evidence = self._search(text, vector, self._answer_depth(text, k) if deep else k, mode, allowed, timings)
        clock = time.perf_counter()
        memo = QuestionMemo.of(self.tokenizer)  # the question and each of its parts read the same passages
        candidates, features = self.selector_inputs(text, vector, hits, memo) if self._reads_answer_evidence else ([], None)
        top_support = self._support(evidence, features) if hits else 0.0
        threshold = self.abstain_threshold
        sentences = []
        if deep and features is None and top_support >= threshold:  # an abstaining question needs no sentences
            candidates, features = self.selector_inputs(text, vector, hits, memo)
        if deep:
            picked = self._choose(candidates, features) if top_support >= threshold else []
            parts = split_question(text)
            if picked and len(parts) > 1:
                hits, picked = self._cover_parts(parts, hits, picked, mode, allowed, timings, memo)
            hits, sentences = _show_answer_passages(hits, picked, k)
        citations = tuple(self._citation(hit) for hit in hits)
        if deep:
            sentences = self._state_disagreements(sentences, citations)
        elif top_support >= threshold:  # the earlier heuristic (answer_selector="heuristic"), kept for comparison
            candidates = self._sentence_candidates(hits[: min(3, len(hits))], vector)
            terms = list(dict.fromkeys(self.tokenizer(text)))
            idf = dict(zip(terms, (float(x) for x in self.bm25.idf(terms))))
            sentences = select_sentences(idf, vector, candidates, self.tokenizer, self.settings.answer_max_sentences, identifiers(text))
        abstained = not sentences
        if abstained and not hits:
            notices = notices + ("No passages passed the filters; relax --exclude, --min-tier, --tag or --collection.",)
        timings["answer_ms"] = _ms(clock)
        timings["total_ms"] = _ms(started)
        cited = {key for s in sentences for key in s.citation_keys}
        conflicts = self._conflicts_for([c for c in citations if c.key in cited], sentences)
        return Answer(
            question=text,
            answer=NO_ANSWER if abstained else render(sentences),
            abstained=abstained,
            citations=citations,
            mode=mode.value,
            sentences=tuple(sentences),
            timings_ms={name: round(value, 3) for name, value in timings.items()},
            notices=notices,
            conflicts=tuple(conflicts),
            support=round(top_support, 4),
        )

    @property
    def abstain_threshold(self) -> float:
        """The setting when given, else this index's calibration (lifqa calibrate), else the shipped default."""
        if self.settings.abstain_threshold is not None:
            return self.settings.abstain_threshold
        if self.settings.use_calibration and self.calibration is not None:
            return float(self.calibration["threshold"])
        return self._feature_reranker.abstain_threshold

    def _citation(self, hit: Hit) -> Citation:
        record = self.store.sources[hit.chunk.doc_id]
        return Citation(
            key=hit.rank, doc_id=hit.chunk.doc_id, title=record.document.title, chunk_id=hit.chunk.chunk_id,
            section=hit.chunk.section, text=hit.chunk.text, char_start=hit.chunk.char_start, char_end=hit.chunk.char_end,
            score=round(hit.score, 6), tier=record.tier, flags=record.flags + passage_flags(hit.chunk, record),
            page_start=hit.chunk.page_start, page_end=hit.chunk.page_end, page_label=hit.chunk.page_label,
            **self._reference_fields(hit),
        )

    def _reference_fields(self, hit: Hit) -> dict[str, Any]:
        """Label and bibliographic fields of a citation, from its source's metadata."""
        doc = self.store.sources[hit.chunk.doc_id].document
        ref = reference_of(doc.doc_id, doc.title, doc.metadata)
        return {"label": citation_label(ref, citation_pages(hit.chunk)), "citation_key": ref.citation_key, "authors": ref.authors,
                "year": ref.year, "doi": ref.doi, "journal": ref.journal}

    def _sentence_candidates(self, hits: list[Hit], vector: np.ndarray) -> list[SentenceCandidate]:
        out = []
        for hit in hits:
            row = self.store.row_of(hit.chunk.chunk_id)
            lo, hi = self.store.chunk_sentences[row]
            for s in range(int(lo), int(hi)):
                if self.store.sentence_heading[s]:
                    continue
                start, end = (int(x) for x in self.store.sentence_spans[s])
                rel_start, rel_end = start - hit.chunk.char_start, end - hit.chunk.char_start
                vec = np.asarray(self.sentence_vectors[s]) if self.sentence_vectors is not None else None
                out.append(SentenceCandidate(hit.chunk.text[rel_start:rel_end], rel_start, rel_end, vec, hit.rank, hit.rank, hit.rerank or 0.0))
        return out

    def selector_inputs(self, text: str, vector: np.ndarray, hits: Sequence[Hit],
                        memo: QuestionMemo | None = None) -> tuple[list[Candidate], np.ndarray]:
        """The answer-eligible sentences of the passages and their selector features (also what training sees)."""
        terms = question_terms(text, self.tokenizer)
        idf = dict(zip(terms, (float(x) for x in self.bm25.idf(terms))))
        ids = identifiers(text)
        memo = memo or QuestionMemo.of(self.tokenizer)
        candidates = eligible(self._selector_candidates(hits, vector, memo), set(terms), ids, memo.tokenize, text)
        return candidates, selector_features(text, vector, idf, ids, candidates, memo.tokenize)

    def _choose(self, candidates: Sequence[Candidate], features: np.ndarray) -> list[AnswerSentence]:
        chosen = self._selector.choose(candidates, self._selector.probabilities(features), self.settings.answer_max_sentences,
                                       self.settings.answer_tier_lead)
        return [AnswerSentence(c.text, (c.citation_key,), c.chunk_start, c.chunk_end) for c, _ in chosen]

    def _cover_parts(self, parts: Sequence[str], hits: list[Hit], picked: list[AnswerSentence], mode: Mode,
                     allowed: np.ndarray | None, timings: dict[str, float], memo: QuestionMemo) -> tuple[list[Hit], list[AnswerSentence]]:
        """A multi-part question: each part the answer does not yet answer (no picked sentence the
        selector rates at least keep_min for that part) gets its own best sentence, retrieved for the
        part alone; its passage joins the hits so that it is cited."""
        hits, picked = list(hits), list(picked)
        vectors = self.encoder.encode_queries(list(parts))
        for part, part_vector in zip(parts, vectors):
            # the picked sentences are rated for the part among all the passages' sentences, as the selector was
            # trained: its features compare each sentence with the question's best candidate
            candidates, features = self.selector_inputs(part, part_vector, hits, memo)
            rated = self._selector.probabilities(features)
            mine = [i for i, c in enumerate(candidates)
                    if any(c.citation_key == p.citation_keys[0] and c.chunk_start == p.char_start for p in picked)]
            if mine and float(rated[mine].max()) >= self._selector.keep_min:
                continue  # already answered
            part_hits, _, evidence = self._search(part, part_vector, max(len(hits), self.settings.answer_depth), mode, allowed, timings)
            if not part_hits:
                continue
            candidates, features = self.selector_inputs(part, part_vector, part_hits, memo)
            if self._support(evidence, features) < self.abstain_threshold:
                continue
            best = self._selector.choose(candidates, self._selector.probabilities(features), 1, self.settings.answer_tier_lead)
            if not best or best[0][1] < self._selector.keep_min:
                continue
            cand = best[0][0]
            hit = part_hits[cand.passage_rank - 1]
            row = next((h.rank for h in hits if h.chunk.chunk_id == hit.chunk.chunk_id), None)
            if row is None:
                hits.append(replace(hit, rank=len(hits) + 1))
                row = len(hits)
            sentence = AnswerSentence(cand.text, (row,), cand.chunk_start, cand.chunk_end)
            if all(p.text != sentence.text for p in picked):
                picked.append(sentence)
        return hits, picked

    def _state_disagreements(self, sentences: list[AnswerSentence], citations: Sequence[Citation]) -> list[AnswerSentence]:
        """Each sentence stating a fact another cited source contradicts carries the other values
        (``disputed_by``); when the other source has the higher tier, its sentence leads instead.
        Benign differences (facts.py) are not disagreements."""
        by_key = {c.key: c for c in citations}
        rank = {tier: i for i, tier in enumerate(("high", "medium", "unknown", "low"))}
        out: list[AnswerSentence] = []
        for sentence in sentences:
            cited = by_key[sentence.citation_keys[0]]
            start, end = cited.char_start + sentence.char_start, cited.char_start + sentence.char_end
            for conflict in self._conflicts:
                if conflict.get("status") != "conflict":
                    continue
                own = [v for v in conflict["values"] if any(ev["doc_id"] == cited.doc_id and start <= ev["offset"] < end for ev in v["evidence"])]
                if not own:
                    continue
                others = []
                for value in conflict["values"]:
                    if value is own[0]:
                        continue
                    for ev in value["evidence"]:
                        where = self._cited_sentence(ev["doc_id"], ev["offset"], citations)
                        if where is not None and ev["doc_id"] != cited.doc_id:
                            others.append((value, ev, where))
                            break
                if not others:
                    continue
                lead = min(others, key=lambda o: rank.get(o[2][0].tier, 2))
                if rank.get(lead[2][0].tier, 2) < rank.get(cited.tier, 2):  # the other source is more reliable: it leads
                    other_citation, (lo, hi) = lead[2][0], lead[2][1]
                    led = AnswerSentence(other_citation.text[lo:hi], (other_citation.key,), lo, hi)
                    disputes = [(own[0], {"doc_id": cited.doc_id, "quote": sentence.text}, (cited, None))]
                    disputes += [o for o in others if o is not lead]
                    sentence = led
                else:
                    disputes = others
                sentence = replace(sentence, disputed_by=tuple(
                    {"value": value["value"], "field": conflict["field"], "label": conflict["label"], "doc_id": ev["doc_id"],
                     "citation_key": where[0].key, "tier": where[0].tier, "quote": ev["quote"]} for value, ev, where in disputes))
                break
            if not any(s.text == sentence.text and s.citation_keys == sentence.citation_keys for s in out):
                out.append(sentence)
        return out

    def _cited_sentence(self, doc_id: str, offset: int, citations: Sequence[Citation]) -> tuple[Citation, tuple[int, int]] | None:
        """The citation whose passage holds a document offset, and the span of the sentence there (inside the passage)."""
        for citation in citations:
            if citation.doc_id != doc_id or not citation.char_start <= offset < citation.char_end:
                continue
            row = self.store.row_of(citation.chunk_id)
            lo, hi = (int(x) for x in self.store.chunk_sentences[row])
            for s in range(lo, hi):
                a, b = (int(x) for x in self.store.sentence_spans[s])
                if a <= offset < b:
                    return citation, (a - citation.char_start, b - citation.char_start)
            return citation, (offset - citation.char_start, offset - citation.char_start)
        return None

    def _selector_candidates(self, hits: Sequence[Hit], vector: np.ndarray, memo: QuestionMemo) -> list[Candidate]:
        out = []
        for hit in hits:
            row = self.store.row_of(hit.chunk.chunk_id)
            lo, hi = (int(x) for x in self.store.chunk_sentences[row])
            tier = self.store.sources[hit.chunk.doc_id].tier
            vectors = np.asarray(self.sentence_vectors[lo:hi], dtype=np.float32) if self.sentence_vectors is not None else None
            cos = vectors @ vector if vectors is not None else np.zeros(hi - lo, dtype=np.float32)
            for j, sentence, rel_start, rel_end, kind in self._typed_sentences(row, hit.chunk, memo):
                neighbours = [float(cos[x]) for x in (j - 1, j + 1) if 0 <= x < hi - lo]
                out.append(Candidate(sentence, rel_start, rel_end, vectors[j] if vectors is not None else None, hit.rank, hit.rank,
                                     hit.rerank or 0.0, tier, kind, j, hi - lo, max(neighbours, default=0.0), hit.chunk.doc_id))
        return out

    def _typed_sentences(self, row: int, chunk: Chunk, memo: QuestionMemo) -> tuple[TypedSentence, ...]:
        """A chunk's sentences that are not headings, with their span in the chunk and their type (kept in ``memo``
        for the rest of the question: its parts look at the same passages)."""
        typed = memo.typed.get(row)
        if typed is None:
            lo, hi = (int(x) for x in self.store.chunk_sentences[row])
            title = self.store.sources[chunk.doc_id].document.title
            found = []
            for j, s in enumerate(range(lo, hi)):
                start, end = (int(x) for x in self.store.sentence_spans[s])
                rel_start, rel_end = start - chunk.char_start, end - chunk.char_start
                sentence = chunk.text[rel_start:rel_end]
                is_title = bool(title) and sentence.strip().lower() == title.strip().lower()
                kind = classify(sentence, bool(self.store.sentence_heading[s]) or is_title, chunk.section)
                if kind is not SentenceType.HEADING:
                    found.append((j, sentence, rel_start, rel_end, kind))
            typed = memo.typed[row] = tuple(found)
        return typed

    def _conflicts_for(self, citations: Sequence[Citation], sentences: Sequence[AnswerSentence]) -> list[dict[str, Any]]:
        """Conflicts (and benign readings) whose fact is stated inside a cited passage; those in the answer's own sentences first."""
        return conflicts_for_answer(self._conflicts, citations, sentences)


TypedSentence = tuple[int, str, int, int, SentenceType]  # index in the chunk, text, start, end, type


@dataclass
class QuestionMemo:
    """What answering one question computes once for its passages and reuses for each part of it. Scoped to
    the question, so the engine holds nothing per chunk (tests/test_store.py)."""

    tokenize: MemoTokenizer
    typed: dict[int, tuple[TypedSentence, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, tokenizer: Tokenizer) -> "QuestionMemo":
        return cls(MemoTokenizer(tokenizer))


def _show_answer_passages(hits: list[Hit], sentences: list[AnswerSentence], k: int) -> tuple[list[Hit], list[AnswerSentence]]:
    """The first k hits, except that a passage an answer sentence quotes from beyond them takes the
    place of the last one not quoted: an answer is always cited. The place is taken from a document that
    keeps another passage on show where there is one, so quoting never hides a source (the per-document
    cap chose those sources). Ranks and citation keys renumbered."""
    quoted = [key for s in sentences for key in s.citation_keys]
    shown = list(hits[:k])
    for key in dict.fromkeys(quoted):
        hit = hits[key - 1]
        if hit in shown:
            continue
        replaceable = [i for i in range(len(shown)) if shown[i].rank not in quoted]
        shown_per_doc = Counter(h.chunk.doc_id for h in shown)
        shared = [i for i in replaceable if shown_per_doc[shown[i].chunk.doc_id] > 1 or shown[i].chunk.doc_id == hit.chunk.doc_id]
        if shared or replaceable:
            shown[(shared or replaceable)[-1]] = hit
    shown.sort(key=lambda h: h.rank)
    new_key = {hit.rank: i + 1 for i, hit in enumerate(shown)}
    sentences = [replace(s, citation_keys=tuple(new_key[key] for key in s.citation_keys)) for s in sentences]
    return [replace(hit, rank=i + 1) for i, hit in enumerate(shown)], sentences


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


def _with_settings(engine: Engine, **changes: Any) -> Engine:
    clone = object.__new__(Engine)
    clone.__dict__.update(engine.__dict__)
    clone.settings = engine.settings.replace(**changes)
    if {"ivf_nprobe", "ann_rescore", "hnsw_ef_search"} & set(changes):  # the dense search's own parameters
        clone.dense = engine.dense.with_settings(clone.settings)
    clone._support_model = (engine.calibration or {}).get("support") if clone.settings.use_calibration else None
    return clone


def clean_question(question: Any, max_chars: int = 2000) -> tuple[str, tuple[str, ...]]:
    """Validated question text plus notices (e.g. truncation) to show the user."""
    if not isinstance(question, str):
        raise InputError(f"the question must be text, not {type(question).__name__}")
    hidden = sum(1 for ch in _CONTROL.findall(question) if not ch.isspace())
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InputError("the question is empty. Type a question, e.g. lifqa ask \"Which receptor does LIF bind?\"")
    if not any(ch.isalnum() for ch in text):
        raise InputError(f"the question {text[:40]!r} has no letters or digits to search for. Ask in words, e.g. \"What is LIF?\"")
    notices: tuple[str, ...] = ()
    if hidden:
        notices = (f"Removed {hidden} invisible control character{'s' * (hidden > 1)} from the question.",)
    if len(text) > max_chars:
        notices += (f"The question was {len(text):,} characters long; only the first {max_chars:,} were used.",)
        text = text[:max_chars]
    return text, notices


def parse_mode(mode: str | Mode) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise InputError(f"unknown mode '{mode}'. Valid modes: {', '.join(MODES)}") from None


def parse_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise InputError(f"k={k!r} is out of range: use a whole number from 1 to 100")
    return k


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
