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
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from filelock import FileLock
from tqdm import tqdm

from lifqa import __version__
from lifqa.chunking import chunk_document, split_sentences
from lifqa.corpus import iter_text_files
from lifqa.library import library_kind, read_sources, sources_fingerprint
from lifqa.encoder import get_encoder, resolve_model_path
from lifqa.errors import IndexCorruptError, InputError, LifqaError
from lifqa.index import layout
from lifqa.index.bm25 import build_bm25
from lifqa.index.dense import build_faiss
from lifqa.index.embed_cache import EmbeddingCache
from lifqa.index.store import write_store
from lifqa.readers import ReaderLimits
from lifqa.facts import find_conflicts
from lifqa.reliability import assess_sources
from lifqa.settings import Settings
from lifqa.tokenize import Tokenizer
from lifqa.types import Chunk, Document

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class BuildResult:
    build_dir: Path
    manifest: dict[str, Any]
    rebuilt: bool
    warnings: tuple[str, ...] = ()


def corpus_fingerprint(corpus: str | Path) -> str:
    """sha256 over every corpus file's name and bytes: changes when any document or the metadata does."""
    corpus = Path(corpus)
    digest = hashlib.sha256()
    files = [corpus] if corpus.is_file() else [] if library_kind(corpus) == "zotero" else list(iter_text_files(corpus))
    for path in files:
        name = path.name if corpus.is_file() else path.relative_to(corpus).as_posix()
        digest.update(name.encode("utf-8") + b"\0" + layout.sha256_file(path).encode() + b"\n")
    digest.update(sources_fingerprint(corpus).encode())  # libraries: their files and their items' attachments ("" otherwise)
    return digest.hexdigest()


# Modules whose code shapes what an index holds; editing one (say a reliability
# rule) makes existing indexes stale, so `lifqa index` rebuilds them.
_SHAPING_MODULES = ("library/__init__.py", "library/items.py", "library/zotero.py", "library/bibtex.py", "library/csljson.py",
                    "library/ris.py", "corpus.py", "readers/__init__.py", "readers/text.py", "readers/build.py", "readers/pdf.py", "readers/jats.py",
                    "readers/pubmed.py", "readers/xmlsafe.py", "chunking.py", "tokenize.py", "reliability.py", "facts.py", "index/build.py", "index/bm25.py",
                    "index/dense.py", "index/store.py")


def code_fingerprint() -> str:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _SHAPING_MODULES:
        path = package / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_key(fingerprint: str, settings: Settings) -> str:
    material = json.dumps({"corpus": fingerprint, "settings": settings.index_fingerprint(), "format": layout.FORMAT_VERSION,
                           "readers": [settings.pdf_max_pages, settings.pdf_max_seconds],
                           "lifqa": __version__, "code": code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def index_status(corpus: str | Path, index_dir: str | Path, settings: Settings) -> str:
    """'missing', 'current' or 'stale' (corpus, settings or lifqa changed since the build)."""
    try:
        build = layout.active_build(index_dir)
        manifest = layout.read_manifest(build)
    except LifqaError:
        return "missing"
    return "current" if manifest.get("build_key") == build_key(corpus_fingerprint(corpus), settings) else "stale"


def build_index(corpus: str | Path, index_dir: str | Path, settings: Settings, *, force: bool = False,
                metadata_path: str | Path | None = None, progress: Progress | None = None) -> BuildResult:
    corpus, index_dir = Path(corpus), Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise InputError(f"the index folder {index_dir} is a file. Give a folder for the index, e.g. --index indexes")
    index_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, fraction: None)
    with FileLock(str(index_dir / ".lock")):
        fingerprint = corpus_fingerprint(corpus)  # hashes every corpus file: once per build
        key = build_key(fingerprint, settings)
        if not force:
            current = _current_if_valid(index_dir, key)
            if current is not None:
                return BuildResult(current, layout.read_manifest(current), rebuilt=False)
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=index_dir))
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; an index is read by other users too (a service account)
        try:
            manifest, warnings = _write_build(corpus, tmp, settings, key, fingerprint, metadata_path, report)
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


def retrieval_text(doc: Document, chunk: Chunk) -> str:
    """What BM25 and the encoder see: the chunk with its document title and section as context."""
    parts = [doc.title]
    if chunk.section and not chunk.text.startswith(chunk.section) and chunk.section != doc.title:
        parts.append(chunk.section)
    parts.append(chunk.text)
    return "\n".join(parts)


def _write_build(corpus: Path, out: Path, settings: Settings, key: str, fingerprint: str, metadata_path: str | Path | None,
                 report: Progress) -> tuple[dict[str, Any], list[str]]:
    report("reading corpus", 0.02)
    corpus_report = read_sources(corpus, metadata_path, cache_dir=out.parent,
                                 limits=ReaderLimits(settings.pdf_max_pages, settings.pdf_max_seconds))
    documents = list(corpus_report.documents)
    by_id = {doc.doc_id: doc for doc in documents}

    report("chunking", 0.08)
    chunks: list[Chunk] = []
    chunk_sentences: list[tuple[int, int]] = []
    sentences: list[tuple[str, int, int, bool]] = []
    for doc in documents:
        doc_sentences = split_sentences(doc.text)
        base = len(sentences)
        sentences.extend((doc.doc_id, s.start, s.end, s.is_heading) for s in doc_sentences)
        starts = np.asarray([s.start for s in doc_sentences], dtype=np.int64)
        ends = np.asarray([s.end for s in doc_sentences], dtype=np.int64)
        for chunk in chunk_document(doc, settings.chunk_size, settings.chunk_overlap):
            lo = int(np.searchsorted(starts, chunk.char_start, side="left"))
            hi = int(np.searchsorted(ends, chunk.char_end, side="right"))
            chunks.append(chunk)
            chunk_sentences.append((base + lo, base + hi))

    report("assessing sources", 0.12)
    conflicts = find_conflicts(documents)
    assessments = assess_sources(documents, conflicts)
    write_store(out / layout.STORE, documents, chunks, chunk_sentences, sentences,
                {doc_id: (a.tier, list(a.flags)) for doc_id, a in assessments.items()})
    (out / layout.RELIABILITY).write_text(json.dumps({"conflicts": conflicts}, indent=2, ensure_ascii=False), encoding="utf-8")

    report("BM25 index", 0.15)
    texts = [retrieval_text(by_id[c.doc_id], c) for c in chunks]
    tokenizer = Tokenizer(stemming=settings.stemming)
    (out / layout.BM25_DIR).mkdir()
    vocab_size = build_bm25(texts, tokenizer, out / layout.BM25_DIR, settings.bm25_k1, settings.bm25_b, settings.bm25_method)

    # The model loads only now, so bad corpus input fails fast. The cache sits beside the builds
    # (out is a temporary folder inside the index folder); if the build fails from here on, what was
    # embedded stays cached and the next build resumes from it.
    encoder = get_encoder(settings.model_path, settings.encode_batch_size)
    with EmbeddingCache.open(out.parent, encoder.model_path, encoder.dim) as cache:
        chunk_vectors = _embed(cache, encoder, texts, "embedding chunks", (0.2, 0.6), report)
        np.save(out / layout.CHUNK_VECTORS, chunk_vectors)
        dense_kind = build_faiss(chunk_vectors, out / layout.FAISS_FILE, settings.ann_threshold, settings.hnsw_m)
        if settings.sentence_vectors:
            sentence_texts = [by_id[doc_id].text[s:e] for doc_id, s, e, _ in sentences]
            sentence_vectors = _embed(cache, encoder, sentence_texts, "embedding sentences", (0.6, 0.95), report)
            np.save(out / layout.SENTENCE_VECTORS, sentence_vectors.astype(np.float16))
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
        "corpus": {"path": str(corpus.resolve()), "fingerprint": fingerprint},
        "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(sentences), "vocabulary": vocab_size},
        "library": corpus_report.library,
        "dense_index": dense_kind,
        "embedding_cache": {"embedded": cache.misses, "reused": cache.hits},
        "warnings": list(corpus_report.warnings) + cache.warnings,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return manifest, list(corpus_report.warnings) + cache.warnings


def _embed(cache: EmbeddingCache, encoder: Any, texts: list[str], stage: str, span: tuple[float, float],
           report: Progress) -> np.ndarray:
    """Vectors for ``texts`` through the cache; progress goes to the caller (the app's bar) and a tqdm bar on a terminal."""
    report(stage, span[0])
    bar = tqdm(desc=stage, unit="text", disable=not sys.stderr.isatty(), leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        report(stage, span[0] + (span[1] - span[0]) * done / max(total, 1))

    try:
        return cache.encode(texts, encoder.encode_documents, advance)
    finally:
        bar.close()


def check_compatible(build: Path, manifest: dict[str, Any], settings: Settings) -> None:
    """Refuse an index made with another format, model or chunking than the settings ask for."""
    hint = f"rebuild with: {layout.build_hint(build.parent, manifest)} --force"
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {build.parent} has format {manifest.get('format_version')}, this lifqa reads format {layout.FORMAT_VERSION}; {hint}")
    recorded = manifest.get("settings", {})
    for name, wanted in settings.index_fingerprint().items():
        if recorded.get(name) != wanted:
            raise IndexCorruptError(f"the index in {build.parent} was built with {name}={recorded.get(name)!r}, but the settings ask for {wanted!r}; {hint}")
