"""Reference libraries: a Zotero data folder, BibTeX, CSL-JSON and RIS files.

Which paths are libraries (:func:`library_kind`, :func:`libraries_in`), each parsed
once into its items (:class:`ParsedLibrary`), and every item read as one Document
(:func:`read_library`, ``items.item_document``). Items are cached per item
(``cache.ItemCache``), so a rebuild re-reads only items that were added or changed.
A build reads libraries through ``lifqa.sources``, beside a folder's other documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from lifqa.errors import CorpusError
from lifqa.index.layout import file_sha256
from lifqa.library.bibtex import read_bibtex
from lifqa.library.cache import ItemCache
from lifqa.library.csljson import csl_items, load_if_csl, read_csljson
from lifqa.library.items import LibraryItem, ReadStats, attachment_fingerprint, item_doc_id, item_document
from lifqa.library.ris import read_ris
from lifqa.library.zotero import is_zotero_folder, read_zotero
from lifqa.parallel import ordered_map
from lifqa.readers import ReaderLimits
from lifqa.types import Document

LIBRARY_SUFFIXES = {".bib": "bibtex", ".ris": "ris", ".json": "csl-json"}
_READERS: dict[str, Callable[[Path], tuple[list[LibraryItem], list[str]]]] = {
    "zotero": read_zotero, "bibtex": read_bibtex, "ris": read_ris, "csl-json": read_csljson}
_NOT_LIBRARIES = ("sources.json",)  # the curator metadata file of a folder corpus


@dataclass(frozen=True)
class ParsedLibrary:
    """One library, parsed once: its items and warnings, or why it cannot be read (raised when a build reads it)."""

    path: Path
    kind: str
    items: tuple[LibraryItem, ...] = ()
    warnings: tuple[str, ...] = ()
    error: CorpusError | None = None


def library_kind(path: Path) -> str | None:
    """'zotero', 'bibtex', 'ris' or 'csl-json' when ``path`` is a library; None for a plain corpus."""
    if is_zotero_folder(path):
        return "zotero"
    if path.is_file() and path.suffix.lower() in LIBRARY_SUFFIXES and path.name not in _NOT_LIBRARIES:
        return LIBRARY_SUFFIXES[path.suffix.lower()]
    return None


def parse_library(path: Path, kind: str) -> ParsedLibrary:
    """The items of the library at ``path``; a library that cannot be read keeps its error."""
    try:
        items, warnings = _READERS[kind](path)
    except CorpusError as exc:
        return ParsedLibrary(path, kind, error=exc)
    return ParsedLibrary(path, kind, tuple(items), tuple(warnings))


def libraries_in(files: Iterable[Path]) -> list[ParsedLibrary]:
    """The library files among a folder's files, each parsed once. A .json is a library only when it is CSL-JSON,
    not any JSON: its one parse both tells that and gives its items."""
    found = []
    for path in files:
        kind = LIBRARY_SUFFIXES.get(path.suffix.lower()) if path.name not in _NOT_LIBRARIES else None
        if kind == "csl-json":
            data = load_if_csl(path)
            if data is not None:
                items, warnings = csl_items(path, data)
                found.append(ParsedLibrary(path, kind, tuple(items), tuple(warnings)))
        elif kind is not None:
            found.append(parse_library(path, kind))
    return found


def _prefix(path: Path, kind: str) -> str:
    return "zotero" if kind == "zotero" else path.stem


def read_library(library: ParsedLibrary, cache: ItemCache, stats: ReadStats, warnings: list[str],
                 limits: ReaderLimits | None = None, sha256: Callable[[Path], str] = file_sha256) -> list[Document]:
    """Every item of one library as a Document, from the cache when the item and its files are unchanged.
    ``sha256``: the file hash for the items' cache keys (a build passes one that hashes each file once)."""
    if library.error is not None:
        raise library.error
    items = library.items
    warnings.extend(library.warnings)
    prefix = _prefix(library.path, library.kind)
    results: list[tuple[Document, list[str]] | None] = []
    todo: list[tuple[int, LibraryItem, str, str]] = []
    for item in items:
        stats.attachment_paths.update(a.path.resolve() for a in item.attachments if a.path is not None)
        doc_id = item_doc_id(prefix, item.key)
        key = cache.key(doc_id, attachment_fingerprint(item, sha256))
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


__all__ = ["ParsedLibrary", "library_kind", "parse_library", "libraries_in", "read_library", "LIBRARY_SUFFIXES"]
