"""Reference libraries in: a Zotero data folder, BibTeX, CSL-JSON and RIS files.

:func:`read_sources` is what a build reads. It takes whatever ``--corpus`` names:
a Zotero data folder (``zotero.sqlite`` + ``storage/``), a ``.bib``/``.json``/``.ris``
library, or a folder of documents that may also hold library files. Every library
item is one Document (``items.item_document``); a document file that is also a
library item's attachment (same path or same bytes) or has the same DOI is
indexed once, as the item. Items are cached per item (``cache.ItemCache``), so a
rebuild re-reads only items that were added or changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from lifqa.corpus import ReadFiles, read_corpus
from lifqa.errors import CorpusError
from lifqa.index.layout import file_sha256
from lifqa.library.bibtex import read_bibtex
from lifqa.library.cache import ItemCache
from lifqa.library.csljson import looks_like_csl, read_csljson
from lifqa.library.items import LibraryItem, ReadStats, attachment_fingerprint, ft_cache_of, item_doc_id, item_document
from lifqa.library.ris import read_ris
from lifqa.library.zotero import DB_NAME, is_zotero_folder, read_zotero
from lifqa.parallel import ordered_map
from lifqa.readers import ReaderLimits
from lifqa.references import normalise_doi
from lifqa.types import Document

log = logging.getLogger(__name__)

LIBRARY_SUFFIXES = {".bib": "bibtex", ".ris": "ris", ".json": "csl-json"}
_READERS: dict[str, Callable[[Path], tuple[list[LibraryItem], list[str]]]] = {
    "zotero": read_zotero, "bibtex": read_bibtex, "ris": read_ris, "csl-json": read_csljson}
_NOT_LIBRARIES = ("sources.json",)  # the curator metadata file of a folder corpus


@dataclass(frozen=True)
class SourcesReport:
    """What reading a corpus produced (as corpus.CorpusReport) plus the library counts for the build summary."""

    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""
    library: dict[str, Any] = field(default_factory=dict)


def library_kind(path: Path) -> str | None:
    """'zotero', 'bibtex', 'ris' or 'csl-json' when ``path`` is a library; None for a plain corpus."""
    if is_zotero_folder(path):
        return "zotero"
    if path.is_file() and path.suffix.lower() in LIBRARY_SUFFIXES and path.name not in _NOT_LIBRARIES:
        return LIBRARY_SUFFIXES[path.suffix.lower()]
    return None


def libraries_in(folder: Path) -> list[tuple[Path, str]]:
    """Library files lying in a folder corpus (a .json only when it is CSL-JSON, not any JSON)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        kind = library_kind(path)
        if kind == "csl-json":
            try:
                if path.stat().st_size > 100 * 1024 * 1024 or not looks_like_csl(json.loads(path.read_text(encoding="utf-8-sig"))):
                    continue
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
        if kind is not None:
            found.append((path, kind))
    return found


def read_library_items(path: Path, kind: str) -> tuple[list[LibraryItem], list[str]]:
    return _READERS[kind](path)


def _prefix(path: Path, kind: str) -> str:
    return "zotero" if kind == "zotero" else path.stem


def read_library(path: Path, kind: str, cache: ItemCache, stats: ReadStats, warnings: list[str],
                 limits: ReaderLimits | None = None) -> list[Document]:
    """Every item of one library as a Document, from the cache when the item and its files are unchanged."""
    items, item_warnings = read_library_items(path, kind)
    warnings.extend(item_warnings)
    prefix = _prefix(path, kind)
    results: list[tuple[Document, list[str]] | None] = []
    todo: list[tuple[int, LibraryItem, str, str]] = []
    for item in items:
        stats.attachment_paths.update(a.path.resolve() for a in item.attachments if a.path is not None)
        doc_id = item_doc_id(prefix, item.key)
        key = cache.key(doc_id, attachment_fingerprint(item))
        cached = cache.get(key)
        if cached is None:
            todo.append((len(results), item, doc_id, key))
        results.append(cached)
    stats.reused += len(items) - len(todo)
    for (index, _, _, key), (doc, doc_warnings) in zip(todo, _read_items([(item, doc_id) for _, item, doc_id, _ in todo], limits)):
        cache.put(key, doc, doc_warnings)
        results[index] = (doc, doc_warnings)
        stats.read += 1
    docs = []
    for found in results:
        assert found is not None
        doc, doc_warnings = found
        warnings.extend(doc_warnings)
        stats.items += 1
        stats.missing_files += sum(1 for w in doc_warnings if " not found" in w)
        source = doc.metadata.get("text_source", "fulltext")
        stats.text_sources[source] = stats.text_sources.get(source, 0) + 1
        docs.append(doc)
    return docs


_HEAVY = (".pdf", ".xml", ".nxml")


def _item_job(item: LibraryItem, doc_id: str, limits: ReaderLimits | None) -> tuple[Document, list[str]]:
    doc_warnings: list[str] = []
    return item_document(item, doc_id, doc_warnings, limits), doc_warnings


def _read_items(jobs: list[tuple[LibraryItem, str]], limits: ReaderLimits | None) -> list[tuple[Document, list[str]]]:
    """Items' Documents in order; items with PDF/XML files in parallel processes (as the folder reader does)."""
    heavy = sum(1 for item, _ in jobs if any(a.path is not None and a.path.suffix.lower() in _HEAVY for a in item.attachments))
    workers = min(os.cpu_count() or 1, heavy)
    return list(ordered_map(_item_job, [(item, doc_id, limits) for item, doc_id in jobs], workers=workers, start="spawn"))


def read_sources(path: str | Path, metadata_path: str | Path | None = None, cache_dir: str | Path | None = None,
                 limits: ReaderLimits | None = None, read_files: ReadFiles | None = None) -> SourcesReport:
    """Read ``--corpus``: a library, or a folder of documents (plus any library files in it). See the module docstring.
    ``read_files``: where a folder's document files are read (default: local processes; see lifqa.corpus.read_corpus)."""
    path = Path(path).expanduser()
    kind = library_kind(path)
    libraries = [(path, kind)] if kind is not None else libraries_in(path) if path.is_dir() else []
    if not libraries:  # a plain corpus (or a missing path): exactly what the corpus reader makes of it
        report = read_corpus(path, metadata_path, limits, read_files=read_files)
        return SourcesReport(report.documents, report.warnings, report.source)
    cache = ItemCache(Path(cache_dir) if cache_dir is not None else None)
    stats, warnings = ReadStats(), []
    ok = False
    try:
        items: list[Document] = []
        for lib_path, lib_kind in libraries:
            items += read_library(lib_path, lib_kind, cache, stats, warnings, limits)
        ok = True
    finally:
        cache.close(prune=ok)
    loose, corpus_warnings = ([], []) if kind is not None else _read_folder_documents(path, metadata_path, limits, stats, bool(items), read_files)
    docs, dup_warnings = _one_per_item(items, loose)
    warnings += dup_warnings
    if not docs:
        raise CorpusError(f"no items or readable documents in {path}." + (" Warnings: " + "; ".join(warnings[:5]) if warnings else ""))
    for warning in warnings:  # the corpus reader logs its own
        log.warning(warning)
    counts = {"items": stats.items, "items_read": stats.read, "items_reused": stats.reused,
              "missing_files": stats.missing_files, "text_sources": stats.text_sources}
    return SourcesReport(tuple(docs), tuple(warnings + corpus_warnings), str(path), counts)


def _read_folder_documents(folder: Path, metadata_path: str | Path | None, limits: ReaderLimits | None, stats: ReadStats,
                           have_items: bool, read_files: ReadFiles | None = None) -> tuple[list[Document], list[str]]:
    """The folder's documents other than the library items' own files (an empty folder is fine when it has items)."""
    try:
        report = read_corpus(folder, metadata_path, limits, skip_files=frozenset(stats.attachment_paths), read_files=read_files)
    except CorpusError as exc:
        if "no readable documents" not in str(exc) or not have_items:
            raise
        return [], []
    return list(report.documents), list(report.warnings)


def _one_per_item(items: list[Document], loose: list[Document]) -> tuple[list[Document], list[str]]:
    """A document file that is a library item (same DOI, or the same bytes as the item's attachment) is the item."""
    if not items:
        return loose, []
    by_doi = {normalise_doi(d.metadata.get("doi")): i for i, d in enumerate(items) if normalise_doi(d.metadata.get("doi"))}
    by_hash = {d.content_hash: i for i, d in enumerate(items)}
    by_file: dict[str, int] = {}
    for i, d in enumerate(items):
        source = Path(d.source_path)
        if source.is_file():
            by_file[file_sha256(source)] = i
    kept, warnings = [], []
    for doc in loose:
        match = by_doi.get(normalise_doi(doc.metadata.get("doi"))) if normalise_doi(doc.metadata.get("doi")) else None
        why = "the same DOI"
        if match is None and doc.content_hash in by_hash:
            match, why = by_hash[doc.content_hash], "the same text"
        if match is None and doc.source_path and Path(doc.source_path).is_file():
            match, why = by_file.get(file_sha256(Path(doc.source_path))), "the same file"
        if match is None:
            kept.append(doc)
            continue
        item = items[match]
        name = doc.metadata.get("file", doc.doc_id)
        items[match] = replace(item, also_named=item.also_named + (str(name),))
        warnings.append(f"{name} has {why} as library item {item.doc_id}; indexed once, as the item")
    ids = {d.doc_id for d in items}
    for doc in kept:
        if doc.doc_id in ids:
            warnings.append(f"the document '{doc.doc_id}' has the id of a library item; the document was skipped. Rename the file.")
    return items + [d for d in kept if d.doc_id not in ids], warnings


def sources_fingerprint(path: str | Path) -> str:
    """What, besides the folder's text files, a rebuild must notice: library files, their items' files, Zotero's cache files.
    "" for a plain corpus, so plain corpora keep the fingerprints they had."""
    path = Path(path).expanduser()
    kind = library_kind(path)
    libraries = [(path, kind)] if kind else libraries_in(path) if path.is_dir() else []
    if not libraries:
        return ""
    digest = hashlib.sha256()
    for lib_path, lib_kind in libraries:
        digest.update(f"{lib_path}\0{lib_kind}\0".encode())
        files = [lib_path / DB_NAME, lib_path / "better-bibtex.sqlite"] if lib_kind == "zotero" else [lib_path]
        for file in files:
            digest.update(file_sha256(file).encode() if file.is_file() else b"-")
        try:
            items, _ = read_library_items(lib_path, lib_kind)
        except CorpusError as exc:  # the build reports it; the fingerprint just changes with it
            digest.update(str(exc).encode())
            continue
        for item in items:
            for attachment in item.attachments:
                for file in (attachment.path, ft_cache_of(attachment)):
                    stat = file.stat() if file is not None and file.is_file() else None
                    digest.update(f"{file}\0{stat.st_size if stat else -1}\0{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()


__all__ = ["read_sources", "sources_fingerprint", "library_kind", "libraries_in", "SourcesReport", "LIBRARY_SUFFIXES"]
