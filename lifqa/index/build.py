"""Build an index from a corpus: read, chunk, assess sources, BM25, embed, FAISS, manifest.

Rebuilding with an unchanged corpus and settings is a no-op. Builds are atomic
and serialised by a lock file, so two processes building the same index
produce one valid index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
from filelock import FileLock

from lifqa import __version__
from lifqa.chunking import chunk_document, retrieval_text, split_sentences
from lifqa.encoder import export_for_queries, get_encoder, resolve_model_path, resolve_variant
from lifqa.errors import InputError, LifqaError, SettingsError
from lifqa.index import layout
from lifqa.index.bm25 import build_bm25
from lifqa.index.dense import build_faiss
from lifqa.index.embed import embed_build
from lifqa.index.embed_cache import EmbeddingCache
from lifqa.encoder_pool import PoolEmbedder
from lifqa.index.store import write_store
from lifqa.readers import ReaderLimits
from lifqa.index.doc_cache import DocumentCache
from lifqa.parallel import ordered_map
from lifqa.reliability.facts import Fact, conflicts_from_facts, extract_facts
from lifqa.reliability.flags import SourceAssessment, assess_document
from lifqa.reliability.passages import chunk_flags
from lifqa.reliability.structure import DocumentAnalysis, analyse_document
from lifqa.settings import Settings
from lifqa.sources import CorpusScan, SourcesReport, read_sources, scan_sources
from lifqa.sources.fingerprint import corpus_fingerprint
from lifqa.tokenize import Tokenizer
from lifqa.types import Chunk, Document, Flag

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class BuildResult:
    build_dir: Path
    manifest: dict[str, Any]
    rebuilt: bool
    warnings: tuple[str, ...] = ()


# Modules whose code shapes what an index holds; editing one (say a reliability
# rule) makes existing indexes stale, so `lifqa index` rebuilds them.
_SHAPING_MODULES = ("sources/__init__.py", "sources/scan.py", "sources/folder.py", "sources/beir.py", "sources/merge.py",
                    "library/__init__.py", "library/items.py", "library/files.py", "provenance.py", "library/zotero.py",
                    "library/bibtex.py", "library/csljson.py", "library/ris.py", "readers/__init__.py",
                    "readers/limits.py", "decoding.py", "readers/text.py", "readers/build.py", "readers/pdf.py",
                    "readers/pdf_extract.py", "readers/pdf_layout.py", "readers/pdf_paragraphs.py",
                    "readers/pdf_header.py", "readers/pdf_pages.py", "readers/author_names.py", "readers/journal_line.py",
                    "readers/jats.py", "readers/pubmed.py", "readers/xmlsafe.py", "chunking.py", "tokenize.py",
                    "reliability/structure.py", "reliability/flags.py", "reliability/passages.py", "reliability/tiers.py",
                    "reliability/facts.py", "index/build.py", "index/embed.py", "index/bm25.py", "index/dense.py", "index/store.py")


def export_answer_graphs() -> None:
    """Export the ONNX graphs of the models fine-tuned here while the build has time, so no answer waits for one: the
    span reader's, and the relevance model's where one was trained (``make cross-encoder``; it is not shipped). Once
    per machine and model, each named by its delta file's sha256. A model that cannot be exported costs what it serves,
    not the build: answering says why when it needs the model."""
    from lifqa import relevance
    from lifqa.answer import short
    from lifqa.finetuned import export_graph

    for kind, (weights, record) in ((short.KIND, short.bundled_paths()), (relevance.KIND, relevance.bundled_paths())):
        if kind is relevance.KIND and not record.is_file():
            continue
        try:
            export_graph(weights, record, kind)
        except SettingsError as exc:
            log.warning("the %s's graph was not exported: %s", kind.name, exc)


def code_fingerprint() -> str:
    return layout.modules_fingerprint(_SHAPING_MODULES)


def build_key(fingerprint: str, settings: Settings) -> str:
    material = json.dumps({"corpus": fingerprint, "settings": settings.index_fingerprint(), "format": layout.FORMAT_VERSION,
                           "readers": [settings.pdf_max_pages, settings.pdf_max_seconds],
                           "lifqa": __version__, "code": code_fingerprint(), "encoder": resolve_variant(settings.encoder)},
                          sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def index_status(corpus: str | Path, index_dir: str | Path, settings: Settings) -> str:
    """'missing', 'current' or 'stale' (corpus, settings or lifqa changed since the build)."""
    try:
        build = layout.active_build(index_dir)
        manifest = layout.read_manifest(build)
    except LifqaError:
        return "missing"
    return "current" if manifest.get("build_key") == build_key(corpus_fingerprint(corpus), settings) else "stale"


def build_index(corpus: str | Path | CorpusScan, index_dir: str | Path, settings: Settings, *, force: bool = False,
                metadata_path: str | Path | None = None, progress: Progress | None = None,
                runner: "Runner | None" = None) -> BuildResult:
    """``corpus``: a path, or a scan of it already made (lifqa.evaluate names its cache folder from one).
    ``runner``: where reading, chunking and embedding run (default: this process; lifqa.index.ray_build.RayRunner:
    a Ray cluster). Every runner publishes the same index."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise InputError(f"the index folder {index_dir} is a file. Give a folder for the index, e.g. --index indexes")
    index_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, fraction: None)
    with FileLock(str(index_dir / ".lock")):
        sources = corpus if isinstance(corpus, CorpusScan) else scan_sources(corpus)  # lists the folder, parses its libraries
        fingerprint = corpus_fingerprint(sources)  # hashes every corpus file: once per build (the reading reuses the hashes)
        key = build_key(fingerprint, settings)
        if not force:
            current = _current_if_valid(index_dir, key)
            if current is not None:
                return BuildResult(current, layout.read_manifest(current), rebuilt=False)
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=index_dir))
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; an index is read by other users too (a service account)
        try:
            manifest, warnings = _write_build(sources, tmp, settings, key, fingerprint, metadata_path, report, runner or LocalRunner(settings.encode_workers))
            manifest["build_seconds"] = round(time.perf_counter() - started, 3)
            manifest["files"] = layout.file_checksums(tmp)
            (tmp / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            layout.fsync_tree(tmp)
            final = index_dir / f"build-{key[:12]}-{int(time.time() * 1000)}"
            os.rename(tmp, final)
            _publish(index_dir, final.name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _remove_old_builds(index_dir, keep=final.name)
        report("done", 1.0)
        return BuildResult(final, manifest, rebuilt=True, warnings=tuple(warnings))


def _current_if_valid(index_dir: Path, key: str) -> Path | None:
    try:
        build = layout.active_build(index_dir)
        manifest = layout.read_manifest(build)
        if manifest.get("build_key") != key or manifest.get("format_version") != layout.FORMAT_VERSION:
            return None
        layout.verify_files(build, manifest)
        return build
    except LifqaError:
        return None


def _publish(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / f".{layout.CURRENT}.{os.getpid()}.tmp"
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    with pointer_tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, index_dir / layout.CURRENT)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    """Old builds, and what a killed build left behind (its temporary folder or pointer file)."""
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and (path.name.startswith("build-") or path.name.startswith(".tmp-build-")):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.startswith(f".{layout.CURRENT}.") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class DocChunks:
    """One document's chunks and sentences (sentence numbers are the document's own, from 0), and what its
    one structure analysis yields: its facts, each chunk's passage flags, and the analysis for the assess stage."""

    chunks: tuple[Chunk, ...]
    ranges: tuple[tuple[int, int], ...]  # per chunk: its sentences [lo, hi)
    sentences: tuple[tuple[str, int, int, bool], ...]  # (doc_id, start, end, is_heading)
    facts: tuple[Fact, ...]  # what the conflict check compares across documents
    passage_flags: tuple[tuple[Flag, ...], ...]  # per chunk: its flags beyond its source's (stored with the chunk)
    analysis: DocumentAnalysis  # the document's structure, for the assess stage's rules


def chunk_one(doc: Document, chunk_size: int, chunk_overlap: int) -> DocChunks:
    """Per-document work of the chunking stage: independent of every other document, so it runs anywhere.
    The document's structure is analysed here, once per build; facts and passage flags come from it."""
    doc_sentences = split_sentences(doc.text)
    analysis = analyse_document(doc, [(s.start, s.end, s.is_heading) for s in doc_sentences])
    starts = np.asarray([s.start for s in doc_sentences], dtype=np.int64)
    ends = np.asarray([s.end for s in doc_sentences], dtype=np.int64)
    chunks, ranges = [], []
    for chunk in chunk_document(doc, chunk_size, chunk_overlap):
        chunks.append(chunk)
        ranges.append((int(np.searchsorted(starts, chunk.char_start, side="left")), int(np.searchsorted(ends, chunk.char_end, side="right"))))
    return DocChunks(tuple(chunks), tuple(ranges), tuple((doc.doc_id, s.start, s.end, s.is_heading) for s in doc_sentences),
                     tuple(extract_facts(doc, analysis)), chunk_flags(chunks, doc, analysis), analysis)


PARALLEL_MIN = 32  # documents from which per-document work is spread over processes


def parallel_map(fn: Callable[[Any], Any], items: list[Any], desc: str) -> list[Any]:
    """``[fn(x) for x in items]`` over $LIFQA_BUILD_PROCESSES processes (default: one per core) from
    PARALLEL_MIN items on, with a bar (forked: see lifqa.parallel)."""
    processes = int(os.environ.get("LIFQA_BUILD_PROCESSES") or os.cpu_count() or 1)
    workers = processes if len(items) >= PARALLEL_MIN else 1
    return list(ordered_map(fn, [(item,) for item in items], workers=workers, start="fork", desc=desc, unit="doc",
                            chunksize=max(1, min(16, len(items) // (4 * processes)))))


def _chunk_task(args: tuple[Document, int, int]) -> DocChunks:
    return chunk_one(*args)


def _assess_task(args: tuple[Document, list[dict[str, Any]], DocumentAnalysis]) -> SourceAssessment:
    return assess_document(*args)


def assemble(per_doc: list[DocChunks]) -> tuple[list[Chunk], list[tuple[int, int]], list[tuple[str, int, int, bool]]]:
    """Chunks, their global sentence ranges and all sentences, in document order."""
    chunks: list[Chunk] = []
    chunk_sentences: list[tuple[int, int]] = []
    sentences: list[tuple[str, int, int, bool]] = []
    for part in per_doc:
        base = len(sentences)
        sentences.extend(part.sentences)
        chunks.extend(part.chunks)
        chunk_sentences.extend((base + lo, base + hi) for lo, hi in part.ranges)
    return chunks, chunk_sentences, sentences


def _chunks_json(part: DocChunks) -> dict[str, Any]:
    return {"chunks": [asdict(c) for c in part.chunks], "ranges": part.ranges, "sentences": part.sentences,
            "facts": [asdict(f) for f in part.facts], "passage_flags": [[f.to_dict() for f in fs] for fs in part.passage_flags],
            "analysis": part.analysis.to_json()}


def _chunks_from_json(data: dict[str, Any]) -> DocChunks:
    return DocChunks(tuple(Chunk(**c) for c in data["chunks"]), tuple((lo, hi) for lo, hi in data["ranges"]),
                     tuple((d, s, e, bool(h)) for d, s, e, h in data["sentences"]),
                     tuple(Fact(**{**f, "number": tuple(f["number"]) if f["number"] is not None else None}) for f in data["facts"]),
                     tuple(tuple(Flag(**f) for f in fs) for fs in data["passage_flags"]),
                     DocumentAnalysis.from_json(data["analysis"]))


def _assessment_json(a: SourceAssessment) -> dict[str, Any]:
    return {"doc_id": a.doc_id, "tier": a.tier, "flags": [f.to_dict() for f in a.flags], "reasons": list(a.reasons)}


def _assessment_from_json(data: dict[str, Any]) -> SourceAssessment:
    return SourceAssessment(data["doc_id"], data["tier"], tuple(Flag(**f) for f in data["flags"]), tuple(data["reasons"]))


_CODECS = {"chunks": (_chunks_json, _chunks_from_json), "assess": (_assessment_json, _assessment_from_json)}


def _cached(work: DocumentCache, kind: str, items: list[Any], compute: Callable[[list[Any]], list[Any]]) -> list[Any]:
    """Per-item results from the document cache; the missing ones computed in one call and stored."""
    encode, decode = _CODECS[kind]
    keys = [work.key(kind, item) for item in items]
    found = work.get_many(keys, decode)
    todo = [i for i, value in enumerate(found) if value is None]
    if todo:
        fresh = compute([items[i] for i in todo])
        work.put_many(((keys[i], value) for i, value in zip(todo, fresh)), encode)
        for i, value in zip(todo, fresh):
            found[i] = value
    return found


def save_float16(path: Path, vectors: np.ndarray, block: int = 65_536) -> None:
    """``np.save(path, vectors.astype(np.float16))`` without the whole half-precision copy in memory (2.5 GB for the
    3.3 million sentences of a million passages): converted and written a block of rows at a time."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=vectors.shape)
    for start in range(0, len(vectors), block):
        out[start:start + block] = vectors[start:start + block]
    out.flush()
    del out


class LocalRunner:
    """Reading, chunking and embedding on this machine: the default runner of :func:`build_index`.
    ``encode_workers`` (the setting): 1 embeds in this process, more (or ``auto``) on a pool of
    single-threaded encoder processes (lifqa.encoder_pool)."""

    def __init__(self, encode_workers: int | str = 1) -> None:
        self.encode_workers = encode_workers

    def read(self, sources: CorpusScan, metadata_path: str | Path | None, limits: ReaderLimits, cache_dir: Path) -> SourcesReport:
        return read_sources(sources, metadata_path, cache_dir=cache_dir, limits=limits)

    def chunk(self, documents: list[Document], chunk_size: int, chunk_overlap: int) -> list[DocChunks]:
        return parallel_map(_chunk_task, [(doc, chunk_size, chunk_overlap) for doc in documents], "chunking")

    def embedder(self, encoder: Any) -> Callable[[list[str]], np.ndarray]:
        if self.encode_workers == 1:
            return encoder.encode_documents
        return PoolEmbedder(encoder, self.encode_workers)  # close() it: build_index does


class Runner(Protocol):
    """Where a build's per-document and embedding work runs: :class:`LocalRunner`, or
    ``lifqa.index.ray_build.RayRunner`` (a Ray cluster). The build around it is the same."""

    def read(self, sources: CorpusScan, metadata_path: str | Path | None, limits: ReaderLimits, cache_dir: Path) -> SourcesReport: ...

    def chunk(self, documents: list[Document], chunk_size: int, chunk_overlap: int) -> list[DocChunks]: ...

    def embedder(self, encoder: Any) -> Callable[[list[str]], np.ndarray]: ...


def _write_build(sources: CorpusScan, out: Path, settings: Settings, key: str, fingerprint: str, metadata_path: str | Path | None,
                 report: Progress, runner: "Runner") -> tuple[dict[str, Any], list[str]]:
    report("reading corpus", 0.02)
    corpus_report = runner.read(sources, metadata_path, ReaderLimits(settings.pdf_max_pages, settings.pdf_max_seconds), out.parent)
    documents = list(corpus_report.documents)
    by_id = {doc.doc_id: doc for doc in documents}

    report("chunking", 0.08)
    with DocumentCache.open(out.parent, {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap}) as work:
        parts = _cached(work, "chunks", documents, lambda todo: runner.chunk(todo, settings.chunk_size, settings.chunk_overlap))
        chunks, chunk_sentences, sentences = assemble(parts)

        report("assessing sources", 0.12)
        conflicts = conflicts_from_facts(fact for part in parts for fact in part.facts)
        mine = [[c for c in conflicts if any(doc.doc_id in v["doc_ids"] for v in c["values"])] for doc in documents]
        analyses = {doc.doc_id: part.analysis for doc, part in zip(documents, parts)}  # the one analysis of each document
        assessed = _cached(work, "assess", list(zip(documents, mine)),
                           lambda todo: parallel_map(_assess_task, [(doc, c, analyses[doc.doc_id]) for doc, c in todo], "assessing sources"))
        assessments = {doc.doc_id: a for doc, a in zip(documents, assessed)}
        work.keep_only_used()
        document_work = {"done": work.misses, "reused": work.hits}
    write_store(out / layout.STORE, documents, chunks, chunk_sentences, sentences,
                {doc_id: (a.tier, list(a.flags)) for doc_id, a in assessments.items()},
                [flags for part in parts for flags in part.passage_flags])
    (out / layout.RELIABILITY).write_text(json.dumps({"conflicts": conflicts}, indent=2, ensure_ascii=False), encoding="utf-8")

    report("BM25 index", 0.15)
    texts = [retrieval_text(by_id[c.doc_id], c) for c in chunks]
    tokenizer = Tokenizer(stemming=settings.stemming)
    (out / layout.BM25_DIR).mkdir()
    vocab_size = build_bm25(texts, tokenizer, out / layout.BM25_DIR, settings.bm25_k1, settings.bm25_b, settings.bm25_method)

    # The model loads only now, so bad corpus input fails fast. The cache sits beside the builds
    # (out is a temporary folder inside the index folder); if the build fails from here on, what was
    # embedded stays cached and the next build resumes from it.
    report("loading the encoder", 0.18)
    encoder = get_encoder(settings.model_path, settings.encode_batch_size, settings.encoder)
    export_for_queries(encoder)
    export_answer_graphs()
    with EmbeddingCache.open(out.parent, encoder.model_path, encoder.dim, encoder.variant) as cache:
        chunk_vectors, sentence_vectors, workers = embed_build(cache, encoder, runner, settings, by_id, chunks, chunk_sentences,
                                                               sentences, texts, report)
        report("dense index", 0.95)
        dense_info = build_faiss(chunk_vectors, out / layout.FAISS_FILE, settings)
        if dense_info["kind"] != "flat":  # an approximate index re-scores from these; a flat one holds them itself
            np.save(out / layout.CHUNK_VECTORS, chunk_vectors)
        if sentence_vectors is not None:
            save_float16(out / layout.SENTENCE_VECTORS, sentence_vectors)
        cache.keep_only_used()

    report("writing manifest", 0.95)
    manifest = {
        "format_version": layout.FORMAT_VERSION,
        "lifqa_version": __version__,
        "build_key": key,
        "model_id": settings.model_id,
        "model_path": resolve_model_path(settings.model_path),
        "embedding_dim": int(chunk_vectors.shape[1]),
        "settings": settings.index_fingerprint(),
        "corpus": {"path": str(sources.path.resolve()), "fingerprint": fingerprint},
        "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(sentences), "vocabulary": vocab_size},
        "library": corpus_report.library,
        "dense_index": dense_info["kind"],
        "dense": dense_info,
        "encoder": {"variant": encoder.variant, "device": encoder.device, "sentence_pooling": settings.sentence_pooling,
                    "chunk_vectors": "sentences" if settings.composes_chunk_vectors() else "encode"},
        "embedding_cache": {"embedded": cache.misses, "reused": cache.hits},
        "encode_workers": workers,  # processes that embedded (how the build ran, like build_seconds; not index-shaping)
        "document_cache": document_work,
        "warnings": list(corpus_report.warnings) + cache.warnings + work.warnings,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return manifest, list(corpus_report.warnings) + cache.warnings + work.warnings
