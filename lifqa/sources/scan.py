"""A ``--corpus`` path looked at once: what it is, its files, its reference libraries, and its files' hashes.

One :class:`CorpusScan` serves both steps of a build that need the corpus: the fingerprint
(is the index current?) and the reading. Between them the folder is listed once, each
library parsed once and each file hashed at most once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lifqa.index.layout import file_sha256
from lifqa.library import ParsedLibrary, libraries_in, library_kind, parse_library
from lifqa.sources.folder import FolderListing, list_folder


class FileHashes:
    """``file_sha256`` that hashes each file once, however many steps ask (a file is known by its resolved path)."""

    def __init__(self) -> None:
        self._known: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        key = path.resolve()
        digest = self._known.get(key)
        if digest is None:
            digest = self._known[key] = file_sha256(path)
        return digest


@dataclass(frozen=True)
class CorpusScan:
    """What ``--corpus`` names, looked at once (:func:`scan_sources`)."""

    path: Path
    library_kind: str | None  # the path itself is a library: 'zotero', 'bibtex', 'ris' or 'csl-json'
    listing: FolderListing | None  # a folder's files; None for a file, a Zotero data folder or a missing path
    libraries: tuple[ParsedLibrary, ...]  # the path itself, or the library files in the folder, each parsed
    hashes: FileHashes = field(default_factory=FileHashes, compare=False, repr=False)  # fills as files are hashed


def scan_sources(corpus: str | Path) -> CorpusScan:
    """List a folder, find and parse its libraries; the files are hashed later, when a step first needs each."""
    path = Path(corpus).expanduser()
    kind = library_kind(path)
    listing = list_folder(path) if kind is None and path.is_dir() else None
    if kind is not None:
        libraries: tuple[ParsedLibrary, ...] = (parse_library(path, kind),)
    else:
        libraries = tuple(libraries_in(listing.files)) if listing is not None else ()
    return CorpusScan(path, kind, listing, libraries)


def as_scan(corpus: str | Path | CorpusScan) -> CorpusScan:
    return corpus if isinstance(corpus, CorpusScan) else scan_sources(corpus)


__all__ = ["CorpusScan", "FileHashes", "scan_sources", "as_scan"]
