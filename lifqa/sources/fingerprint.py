"""The corpus fingerprint: what an index's build key, and the name of an evaluation's cached index, hold of the corpus.

sha256 over every document and curator metadata file (its name and bytes) and, for each
reference library, its file's bytes and each item's files by name, size and modification
time (a library's attachments may lie outside the folder). It changes when a file is
changed, added or removed, a library is edited, or an item's file changes. Computed from
one :class:`~lifqa.sources.scan.CorpusScan`, whose hashes the build's reading then reuses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lifqa.library.items import ft_cache_of
from lifqa.library.zotero import DB_NAME
from lifqa.sources.scan import CorpusScan, as_scan


def corpus_fingerprint(corpus: str | Path | CorpusScan) -> str:
    scan = as_scan(corpus)
    digest = hashlib.sha256()
    for name, path in _hashed_files(scan):
        digest.update(name.encode("utf-8") + b"\0" + scan.hashes(path).encode() + b"\n")
    digest.update(_libraries_fingerprint(scan).encode())
    return digest.hexdigest()


def _hashed_files(scan: CorpusScan) -> list[tuple[str, Path]]:
    if scan.path.is_file():
        return [(scan.path.name, scan.path)]
    if scan.listing is None:  # a Zotero data folder (its files are its library's) or a missing path
        return []
    return [(scan.listing.name_of(path), path) for path in scan.listing.fingerprinted()]


def _libraries_fingerprint(scan: CorpusScan) -> str:
    """The libraries' files and their items' files; "" without libraries, so plain corpora keep the fingerprints they had."""
    if not scan.libraries:
        return ""
    digest = hashlib.sha256()
    for library in scan.libraries:
        digest.update(f"{library.path}\0{library.kind}\0".encode())
        files = [library.path / DB_NAME, library.path / "better-bibtex.sqlite"] if library.kind == "zotero" else [library.path]
        for file in files:
            digest.update(scan.hashes(file).encode() if file.is_file() else b"-")
        if library.error is not None:  # the build reports it; the fingerprint just changes with it
            digest.update(str(library.error).encode())
            continue
        for item in library.items:
            for attachment in item.attachments:
                for file in (attachment.path, ft_cache_of(attachment)):
                    stat = file.stat() if file is not None and file.is_file() else None
                    digest.update(f"{file}\0{stat.st_size if stat else -1}\0{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()


__all__ = ["corpus_fingerprint"]
