"""The query engine: one loaded index, shared safely between threads.

``Engine.open`` verifies the index (checksums, format, settings), maps the
store's per-row arrays and the BM25/FAISS/vector files, and loads the encoder
once; chunk texts and documents are read from the store when a query needs
them, so a million-passage index opens in seconds.

The engine is the wiring; each stage lives in its own package and reads the
same ``Question`` record, made once per question (and once per part of a
multi-part question) by ``lifqa.search.question``:

- ``lifqa.search``: a Question in, ranked Hits out (``Searcher``);
- ``lifqa.answer``: Hits in, a cited extractive Answer or an abstention out (``Answerer``).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from lifqa.answer.compose import Answerer
from lifqa.answer.selector import SentenceSelector, best_score
from lifqa.answer.selector import load_params as load_selector_params
from lifqa.answer.sentences import Candidate
from lifqa.encoder import get_encoder, onnx_runtime_installed
from lifqa.errors import IndexCorruptError, InputError
from lifqa.index import layout
from lifqa.index.bm25 import BM25Index
from lifqa.index.dense import DenseIndex
from lifqa.index.store import SourceRecord, Store, open_store
from lifqa.search.question import Question, QuestionReader
from lifqa.search.rerank import CrossEncoderReranker, FeatureReranker, RerankInput, Support, load_params, read_calibration
from lifqa.search.searcher import Found, Searcher
from lifqa.settings import Mode, Settings, make_settings, parse_k, parse_mode
from lifqa.tokenize import Tokenizer
from lifqa.types import Answer, Hit


def encoder_variant(manifest: dict[str, Any], query_encoder: str = "build") -> str:
    """The encoder variant that encodes an index's queries. ``build``: the one that built it, as its manifest records
    it (an index from before variants: torch-fp32); ONNX Runtime fp32's vectors are torch fp32's, so either stands in
    for the other where ONNX Runtime is missing. ``auto``: ONNX Runtime fp32 for an fp32 or bf16 index (bf16 rounds
    torch fp32's maths; one question is encoded in milliseconds either way, and ONNX Runtime loads without torch)."""
    recorded = manifest.get("encoder")
    variant = recorded.get("variant", "torch-fp32") if isinstance(recorded, dict) else "torch-fp32"
    if not onnx_runtime_installed():
        return "torch-fp32" if variant == "onnx-fp32" else variant
    if query_encoder == "auto" and variant in ("torch-fp32", "torch-bf16"):
        return "onnx-fp32"
    return variant


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
            self.sentence_vectors = layout.map_rows(sentence_file) if sentence_file.is_file() else None
            self._conflicts = json.loads((build / layout.RELIABILITY).read_text(encoding="utf-8")).get("conflicts", [])
        except IndexCorruptError:
            raise
        except Exception as exc:  # a file that passed the checksum but cannot be parsed
            raise IndexCorruptError(f"cannot load the index in {build}: {exc}. Rebuild with: {layout.build_hint(index_dir, manifest)} --force") from None
        if not (self.store.n_chunks == self.bm25.num_docs == self.dense.size):
            raise IndexCorruptError(f"the index in {build} is inconsistent (chunk counts differ). Rebuild with: {layout.build_hint(index_dir, manifest)} --force")
        self.encoder = get_encoder(settings.model_path, settings.encode_batch_size, encoder_variant(manifest, settings.query_encoder))
        if manifest.get("embedding_dim", self.encoder.dim) != self.encoder.dim:  # another model: FAISS would assert
            raise IndexCorruptError(
                f"the index in {build} holds {manifest.get('embedding_dim')}-dimensional vectors, but the model "
                f"{self.encoder.model_path} makes {self.encoder.dim}-dimensional ones. Use the model the index was built with, "
                f"or rebuild with: {layout.build_hint(index_dir, manifest)} --force")
        self.feature_reranker = FeatureReranker(reranker_params or load_params(), self.tokenizer)
        # Loaded on first use, so an engine that never selects sentences (training the selector or the reranker,
        # the heuristic selector) opens even when the shipped parameters are stale; shared with with_settings copies.
        self._load_selector = functools.cache(lambda: SentenceSelector(selector_params or load_selector_params()))
        self.calibration = read_calibration(index_dir)
        self.reranker = CrossEncoderReranker(settings.cross_encoder_path) if settings.reranker == "cross-encoder" and settings.cross_encoder_path else self.feature_reranker
        if settings.reranker == "cross-encoder" and not settings.cross_encoder_path:
            raise InputError("reranker='cross-encoder' needs cross_encoder_path: a local cross-encoder model folder")
        self.searcher = Searcher(self.store, self.bm25, self.dense, self.sentence_vectors, self.feature_reranker, self.reranker, settings)
        self._wire()

    def _wire(self) -> None:
        """The stages, for this engine's settings."""
        s = self.settings
        self.reader = QuestionReader(self.tokenizer, self.bm25.idf, self.encoder, s.max_question_chars)
        self.support = Support.of(self.feature_reranker, self.calibration, s.use_calibration, s.abstain_threshold)
        self.answerer = Answerer(self.store, self.sentence_vectors, self.tokenizer, self._conflicts, self.reader, self.searcher,
                                 self.support, self._load_selector, s)

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
        # a setting added after the index was built: the value it was built with
        recorded = {**layout.LEGACY_SETTINGS, **manifest.get("settings", {})}
        settings = make_settings(**{**recorded, **overrides})
        layout.check_compatible(build, manifest, settings)
        return cls(index_dir, build, manifest, settings, reranker_params, selector_params)

    def with_settings(self, **changes: Any) -> "Engine":
        """The same loaded index with some query-time settings changed (evaluation variants)."""
        clone = object.__new__(Engine)
        clone.__dict__.update(self.__dict__)
        clone.settings = self.settings.replace(**changes)
        if {"ivf_nprobe", "ann_rescore", "hnsw_ef_search"} & set(changes):  # the dense search's own parameters
            clone.dense = self.dense.with_settings(clone.settings)
        clone.searcher = self.searcher.with_settings(clone.settings, clone.dense)
        if "query_encoder" in changes:
            clone.encoder = get_encoder(clone.settings.model_path, clone.settings.encode_batch_size,
                                        encoder_variant(self.manifest, clone.settings.query_encoder))
        clone._wire()
        return clone

    @property
    def selector(self) -> SentenceSelector:
        return self._load_selector()

    @property
    def abstain_threshold(self) -> float:
        """The setting when given, else this index's calibration (lifqa calibrate), else the shipped default."""
        return self.support.threshold

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

    # ---- questions ------------------------------------------------------
    def clean_question(self, question: Any) -> tuple[str, tuple[str, ...]]:
        return self.reader.clean(question)

    def question(self, question: Any) -> Question:
        """A question as typed, cleaned, analysed and encoded."""
        return self.reader.encode([self.reader.read(question)])[0]

    def questions(self, questions: Sequence[Any]) -> list[Question]:
        """Many questions, encoded with one encoder call (InputError for the first bad one)."""
        return self.reader.encode([self.reader.read(q) for q in questions])

    def _read_all(self, questions: Sequence[Any]) -> list[Question | InputError]:
        read: list[Question | InputError] = []
        for question in questions:
            try:
                read.append(self.reader.read(question))
            except InputError as exc:
                read.append(exc)
        return read

    def _encode_all(self, read: list[Question | InputError]) -> list[Question | InputError]:
        encoded = iter(self.reader.encode([q for q in read if isinstance(q, Question)]))
        return [q if isinstance(q, InputError) else next(encoded) for q in read]

    def _mode(self, mode: str | Mode | None) -> Mode:
        return self.settings.mode if mode is None else parse_mode(mode)

    def _k(self, k: int | None) -> int:
        return self.settings.k if k is None else parse_k(k)

    def allowed_rows(self, exclude_flags: Iterable[str] = (), min_tier: str | None = None,
                     doc_ids: Iterable[str] | None = None, tags: Iterable[str] = (), collections: Iterable[str] = ()) -> np.ndarray | None:
        """Mask of chunks whose source passes the reliability and library filters (None: no filter)."""
        return self.searcher.allowed_rows(exclude_flags, min_tier, doc_ids, tags, collections)

    # ---- retrieval -------------------------------------------------------
    def search(self, question: str, k: int | None = None, mode: str | Mode | None = None, *,
               exclude_flags: Iterable[str] = (), min_tier: str | None = None, doc_ids: Iterable[str] | None = None,
               tags: Iterable[str] = (), collections: Iterable[str] = ()) -> list[Hit]:
        read = self.reader.read(question)
        allowed = self.allowed_rows(exclude_flags, min_tier, doc_ids, tags, collections)
        return self.searcher.search(self.reader.encode([read])[0], self._k(k), self._mode(mode), allowed).hits

    def ranking(self, question: Question, mode: str | Mode | None = None, depth: int | None = None) -> list[Hit]:
        """Every candidate in final order, without the per-document cap: what evaluation ranks documents by."""
        return self.searcher.ranking(question, self._mode(mode), depth)

    def rerank_candidates(self, question: str | Question, depth: int | None = None) -> RerankInput:
        """The hybrid candidates the reranker would see for a question (used to train it)."""
        return self.searcher.rerank_candidates(question if isinstance(question, Question) else self.question(question), depth)

    # ---- answering -------------------------------------------------------
    def selector_inputs(self, question: Question, found: Found) -> tuple[list[Candidate], np.ndarray]:
        """The answer-eligible sentences of what search found and their selector features (what training sees)."""
        return self.answerer.selector_inputs(question, found.hits, self.answerer.passages(found))

    def support_row(self, question: str) -> np.ndarray:
        """The evidence a calibrated abstention model reads (``CALIBRATED_SUPPORT_FEATURES``; what ``lifqa
        calibrate`` fits on), from the passages ``ask`` would answer from."""
        q = self.question(question)
        found = self.searcher.search(q, self.answerer.depth(q, self.settings.k), self.settings.mode)
        _, features = self.selector_inputs(q, found)
        return np.concatenate([found.evidence, [best_score(features)]]).astype(np.float32)

    def ask(self, question: str, k: int | None = None, mode: str | Mode | None = None, *,
            exclude_flags: Iterable[str] = (), min_tier: str | None = None, doc_ids: Iterable[str] | None = None,
            tags: Iterable[str] = (), collections: Iterable[str] = ()) -> Answer:
        started = time.perf_counter()
        read = self.reader.read(question)
        allowed = self.allowed_rows(exclude_flags, min_tier, doc_ids, tags, collections)
        clock = time.perf_counter()
        encoded = self.reader.encode([read])[0]
        timings = {"encode_ms": _ms(clock)}
        return self.answerer.answer(encoded, self._k(k), self._mode(mode), allowed, timings, started)

    def ask_many(self, questions: Sequence[str], k: int | None = None, mode: str | Mode | None = None, *,
                 exclude_flags: Iterable[str] = (), min_tier: str | None = None,
                 tags: Iterable[str] = (), collections: Iterable[str] = ()) -> list[Answer | InputError]:
        """Answer many questions with one batched encoder call; bad questions come back as InputError values."""
        read = self._read_all(questions)
        allowed = self.allowed_rows(exclude_flags, min_tier, None, tags, collections)
        k_value, mode_value = self._k(k), self._mode(mode)
        clock = time.perf_counter()
        encoded = self._encode_all(read)
        per_question = _ms(clock) / max(1, sum(isinstance(q, Question) for q in read))
        return [q if isinstance(q, InputError) else
                self.answerer.answer(q, k_value, mode_value, allowed, {"encode_ms": round(per_question, 3)}, time.perf_counter())
                for q in encoded]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
