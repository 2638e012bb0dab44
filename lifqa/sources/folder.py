"""A folder of documents: listed once, curator metadata (``sources.toml``/``sources.json``) attached, its files read.

Each file is read by ``lifqa.readers`` (text/Markdown/HTML, PDF, JATS, PubMed XML),
chosen by content; PDFs and XML are parsed in parallel processes. Hidden files and
folders (a name starting with a dot, such as ``.lifqa``) are never listed.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from lifqa.errors import CorpusError
from lifqa.parallel import ordered_map
from lifqa.readers import READ_SUFFIXES, ReaderLimits, read_path
from lifqa.types import Document

METADATA_NAMES = ("sources.toml", "sources.json")
METADATA_FIELDS = ("doc_id", "title", "publisher", "url", "doi", "date", "doc_type", "licence", "authors", "notes", "flags", "suppress_flags")
DOC_TYPES = ("encyclopedia", "vendor", "wiki", "review", "lay_summary", "preprint", "article", "abstract", "other")

# How a folder's files are read: (file, name, curator metadata) jobs and limits in, (documents, warnings) per job out, in order.
ReadFiles = Callable[[list[tuple[Path, str, dict[str, Any]]], ReaderLimits], Iterable[tuple[list[Document], list[str]]]]

# Files worth a worker process: parsing them costs far more than starting one.
_HEAVY_SUFFIXES = (".pdf", ".xml", ".nxml")


@dataclass(frozen=True)
class FolderListing:
    """Every visible file under a corpus folder, from one walk, in path order."""

    root: Path
    files: tuple[Path, ...]

    def documents(self) -> tuple[Path, ...]:
        """The files a reader reads (.txt .md .markdown .html .htm .pdf .xml .nxml)."""
        return tuple(p for p in self.files if p.suffix.lower() in READ_SUFFIXES)

    def fingerprinted(self) -> tuple[Path, ...]:
        """The documents and the curator metadata file: what the corpus fingerprint hashes."""
        return tuple(p for p in self.files if p.suffix.lower() in READ_SUFFIXES or p.name in METADATA_NAMES)

    def name_of(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def list_folder(folder: Path) -> FolderListing:
    """One walk of ``folder``: each subfolder listed once, hidden ones not entered, symbolic links to folders not
    followed (a symbolic link to a file is a file)."""
    files = []
    for where, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        base = Path(where)
        files.extend(base / name for name in names if not name.startswith(".") and (base / name).is_file())
    return FolderListing(folder, tuple(sorted(files)))


def read_folder(listing: FolderListing, metadata_path: str | Path | None, limits: ReaderLimits,
                skip_files: frozenset[Path] = frozenset(), read_files: ReadFiles | None = None) -> tuple[list[Document], list[str]]:
    """The listed documents with their curator metadata, in path order.
    ``skip_files``: resolved paths a library in the folder already reads as its items' files.
    ``read_files``: runs ``read_path`` over the files elsewhere (a Ray cluster), results in order."""
    warnings: list[str] = []
    metadata = load_metadata(listing.root, metadata_path, warnings)
    files = [p for p in listing.documents() if not skip_files or p.resolve() not in skip_files]
    jobs = [(file, listing.name_of(file)) for file in files]
    jobs_with_meta = [(file, rel, metadata.pop(rel, {})) for file, rel in jobs]
    docs = []
    for found, file_warnings in (read_files or _read_all)(jobs_with_meta, limits):
        docs.extend(found)
        warnings.extend(file_warnings)
    for rel, meta in metadata.items():
        warnings.append(f"metadata names '{rel}' (line {meta.get('_line', '?')}), which is not in {listing.root}; that entry is ignored")
    return docs, warnings


def _read_all(jobs: list[tuple[Path, str, dict[str, Any]]], limits: ReaderLimits) -> Iterator[tuple[list[Document], list[str]]]:
    """Read every file, in order; PDFs and XML in parallel processes (all cores) when there are several,
    with a progress bar counting files on a terminal."""
    heavy = sum(1 for file, _, _ in jobs if file.suffix.lower() in _HEAVY_SUFFIXES)
    workers = min(os.cpu_count() or 1, heavy)
    yield from ordered_map(read_path, [(file, rel, meta, limits) for file, rel, meta in jobs], workers=workers, start="spawn",
                           desc="reading files", unit="file")


def load_metadata(folder: Path, metadata_path: str | Path | None, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Read ``sources.toml``/``sources.json``: per-file curator metadata, validated."""
    if metadata_path is None:
        found = [folder / name for name in METADATA_NAMES if (folder / name).is_file()]
        if not found:
            return {}
        metadata_path = found[0]
    metadata_path = Path(metadata_path)
    text = _read_metadata_text(metadata_path)
    try:
        if metadata_path.suffix == ".json":
            table = json.loads(text)
        else:
            table = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"malformed metadata file {metadata_path}: {exc}. Fix that line and run the command again.") from None
    lines = _key_lines(text)
    out: dict[str, dict[str, Any]] = {}
    for key, entry in table.items():
        where = f"{metadata_path} line {lines.get(key, '?')}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: entry '{key}' must be a table of fields ({', '.join(METADATA_FIELDS)})")
        if Path(key).is_absolute() or ".." in Path(key).parts or "\\" in key:
            raise CorpusError(f"{where}: '{key}' points outside the corpus folder; metadata keys must be file names inside {folder}")
        unknown = sorted(set(entry) - set(METADATA_FIELDS))
        if unknown:
            raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)} for '{key}'. Valid fields: {', '.join(METADATA_FIELDS)}")
        doc_type = entry.get("doc_type")
        if doc_type is not None and doc_type not in DOC_TYPES:
            raise CorpusError(f"{where}: doc_type '{doc_type}' for '{key}' is not one of {', '.join(DOC_TYPES)}")
        out[key] = {**entry, "_line": lines.get(key, "?")}
    return out


def _read_metadata_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"metadata file {path} does not exist. Give an existing sources.toml or sources.json, or leave --metadata out.") from None
    except OSError as exc:
        raise CorpusError(f"cannot read metadata file {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CorpusError(f"metadata file {path} line {line} is not UTF-8 text. Save the file as UTF-8 and run the command again.") from None


def _key_lines(text: str) -> dict[str, int]:
    lines = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r'\s*\[\s*"?([^"\]]+)"?\s*\]\s*$', line) or re.match(r'\s*"([^"]+)"\s*:\s*\{', line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


__all__ = ["FolderListing", "list_folder", "read_folder", "load_metadata", "ReadFiles", "METADATA_NAMES", "METADATA_FIELDS", "DOC_TYPES"]
