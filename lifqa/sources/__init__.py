"""``--corpus`` in, Documents out: the one entry through which builds, evaluations and tools read a corpus.

:func:`read_sources` takes whatever ``--corpus`` names: a folder of documents (text,
Markdown, HTML, PDF, JATS, PubMed XML) that may also hold reference libraries, a BEIR
``corpus.jsonl``, a Zotero data folder, or a ``.bib``/``.json``/``.ris`` library. Every
library item is one Document (``lifqa.library``); a document file that is also an item's
attachment (same path or same bytes) or has the same DOI is indexed once, as the item.

A build first looks at the corpus once (:func:`~lifqa.sources.scan.scan_sources`: one
folder listing, each library parsed once), fingerprints that look
(:mod:`lifqa.sources.fingerprint`) and, when the index is not current, reads from it,
reusing its parsed libraries and file hashes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifqa.errors import CorpusError
from lifqa.library import read_library
from lifqa.library.cache import ItemCache
from lifqa.library.items import ReadStats
from lifqa.readers import ReaderLimits
from lifqa.sources.beir import read_beir
from lifqa.sources.folder import FolderListing, ReadFiles, read_folder
from lifqa.sources.merge import merge_duplicates, one_per_item
from lifqa.sources.scan import CorpusScan, as_scan, scan_sources
from lifqa.types import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourcesReport:
    """What reading a corpus produced: documents, warnings for the user, and the library counts for the build summary."""

    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""
    library: dict[str, Any] = field(default_factory=dict)


def read_sources(corpus: str | Path | CorpusScan, metadata_path: str | Path | None = None, cache_dir: str | Path | None = None,
                 limits: ReaderLimits | None = None, read_files: ReadFiles | None = None) -> SourcesReport:
    """Read ``--corpus`` (see the module docstring); ``corpus`` may be the build's scan of it.
    ``cache_dir``: where library items are cached between builds. ``read_files``: where a folder's document files
    are read (default: local processes; see lifqa.sources.folder.read_folder)."""
    scan = as_scan(corpus)
    if not scan.libraries:  # a plain corpus, or a missing path
        return _read_documents(scan, metadata_path, limits, read_files=read_files)
    cache = ItemCache(Path(cache_dir) if cache_dir is not None else None)
    stats, warnings = ReadStats(), []
    ok = False
    try:
        items: list[Document] = []
        for library in scan.libraries:
            items += read_library(library, cache, stats, warnings, limits, scan.hashes)
        ok = True
    finally:
        cache.close(prune=ok)
    loose, corpus_warnings = ([], []) if scan.library_kind is not None else _folder_documents(scan, metadata_path, limits, stats, bool(items), read_files)
    docs, dup_warnings = one_per_item(items, loose, scan.hashes)
    warnings += dup_warnings
    if not docs:
        raise CorpusError(f"no items or readable documents in {scan.path}." + (" Warnings: " + "; ".join(warnings[:5]) if warnings else ""))
    for warning in warnings:  # the folder's own were logged as they were read
        log.warning(warning)
    counts = {"items": stats.items, "items_read": stats.read, "items_reused": stats.reused,
              "missing_files": stats.missing_files, "text_sources": stats.text_sources}
    return SourcesReport(tuple(docs), tuple(warnings + corpus_warnings), str(scan.path), counts)


def _read_documents(scan: CorpusScan, metadata_path: str | Path | None, limits: ReaderLimits | None,
                    skip_files: frozenset[Path] = frozenset(), read_files: ReadFiles | None = None) -> SourcesReport:
    """A folder's documents (``skip_files`` aside) or a BEIR file's, identical texts merged; an error when there are none."""
    path = scan.path
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}. Give a folder of .txt/.md/.html/.pdf/.xml files or a BEIR corpus.jsonl.")
    if path.is_file():
        if path.suffix != ".jsonl":
            raise CorpusError(f"{path} is a file but not a BEIR corpus.jsonl; give a folder of documents or a .jsonl file.")
        docs, warnings = read_beir(path)
    else:
        listing = scan.listing or FolderListing(path, ())
        docs, warnings = read_folder(listing, metadata_path, limits or ReaderLimits(), skip_files, read_files)
    docs, dup_warnings = merge_duplicates(docs)
    warnings += dup_warnings
    if not docs:
        raise CorpusError(
            f"no readable documents in {path}. Put .txt, .md, .html, .pdf or JATS/PubMed .xml files there "
            f"(or pass a BEIR corpus.jsonl).{' Warnings: ' + '; '.join(warnings) if warnings else ''}"
        )
    for warning in warnings:
        log.warning(warning)
    return SourcesReport(tuple(docs), tuple(warnings), str(path))


def _folder_documents(scan: CorpusScan, metadata_path: str | Path | None, limits: ReaderLimits | None, stats: ReadStats,
                      have_items: bool, read_files: ReadFiles | None = None) -> tuple[list[Document], list[str]]:
    """The folder's documents other than the library items' own files (an empty folder is fine when it has items)."""
    try:
        report = _read_documents(scan, metadata_path, limits, skip_files=frozenset(stats.attachment_paths), read_files=read_files)
    except CorpusError as exc:
        if "no readable documents" not in str(exc) or not have_items:
            raise
        return [], []
    return list(report.documents), list(report.warnings)


__all__ = ["read_sources", "SourcesReport", "CorpusScan", "scan_sources"]
