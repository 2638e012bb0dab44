"""Read a corpus into Documents: a folder of files or a BEIR ``corpus.jsonl``; attach curator metadata.

Each file is read by ``lifqa.readers`` (text/Markdown/HTML, PDF, JATS, PubMed XML),
chosen by content; PDFs and XML are parsed in parallel processes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from lifqa.errors import CorpusError
from lifqa.jsonl import jsonl_rows
from lifqa.parallel import ordered_map
from lifqa.readers import READ_SUFFIXES, ReaderLimits, read_path
from lifqa.readers.text import (  # noqa: F401 - re-exported: callers import these from lifqa.corpus
    _drop_repeated_blocks, decode_file, first_line_title, make_document, normalise,
)
from lifqa.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = READ_SUFFIXES  # .txt .md .markdown .html .htm .pdf .xml .nxml
METADATA_NAMES = ("sources.toml", "sources.json")
METADATA_FIELDS = ("doc_id", "title", "publisher", "url", "doi", "date", "doc_type", "licence", "authors", "notes", "flags", "suppress_flags")
DOC_TYPES = ("encyclopedia", "vendor", "wiki", "review", "lay_summary", "preprint", "article", "abstract", "other")

@dataclass(frozen=True)
class CorpusReport:
    """What reading a corpus produced: documents plus warnings for the user."""

    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""


def read_corpus(path: str | Path, metadata_path: str | Path | None = None, limits: ReaderLimits | None = None,
                skip_files: frozenset[Path] = frozenset(), read_files: ReadFiles | None = None) -> CorpusReport:
    """Read a folder of documents (text, Markdown, HTML, PDF, JATS, PubMed XML) or a BEIR ``corpus.jsonl``.
    ``skip_files``: resolved paths a library in the folder already reads as its items' attachments.
    ``read_files``: runs ``read_path`` over the folder's files elsewhere (a Ray cluster), results in order."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}. Give a folder of .txt/.md/.html/.pdf/.xml files or a BEIR corpus.jsonl.")
    if path.is_file():
        if path.suffix == ".jsonl":
            docs, warnings = _read_beir(path)
        else:
            raise CorpusError(f"{path} is a file but not a BEIR corpus.jsonl; give a folder of documents or a .jsonl file.")
    else:
        docs, warnings = _read_folder(path, metadata_path, limits or ReaderLimits(), skip_files, read_files)
    docs, dup_warnings = _merge_duplicates(docs)
    warnings += dup_warnings
    if not docs:
        raise CorpusError(
            f"no readable documents in {path}. Put .txt, .md, .html, .pdf or JATS/PubMed .xml files there "
            f"(or pass a BEIR corpus.jsonl).{' Warnings: ' + '; '.join(warnings) if warnings else ''}"
        )
    for warning in warnings:
        log.warning(warning)
    return CorpusReport(tuple(docs), tuple(warnings), str(path))


# How a folder's files are read: (file, name, curator metadata) jobs and limits in, (documents, warnings) per job out, in order.
ReadFiles = Callable[[list[tuple[Path, str, dict[str, Any]]], ReaderLimits], Iterable[tuple[list[Document], list[str]]]]

# Files worth a worker process: parsing them costs far more than starting one.
_HEAVY_SUFFIXES = (".pdf", ".xml", ".nxml")


def _read_folder(folder: Path, metadata_path: str | Path | None, limits: ReaderLimits,
                 skip_files: frozenset[Path] = frozenset(), read_files: ReadFiles | None = None) -> tuple[list[Document], list[str]]:
    warnings: list[str] = []
    metadata = load_metadata(folder, metadata_path, warnings)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and not _hidden(p, folder)
                   and (not skip_files or p.resolve() not in skip_files))
    jobs = [(file, file.relative_to(folder).as_posix()) for file in files]
    jobs = [(file, rel, metadata.pop(rel, {})) for file, rel in jobs]
    docs = []
    for found, file_warnings in (read_files or _read_all)(jobs, limits):
        docs.extend(found)
        warnings.extend(file_warnings)
    for rel, meta in metadata.items():
        warnings.append(f"metadata names '{rel}' (line {meta.get('_line', '?')}), which is not in {folder}; that entry is ignored")
    return docs, warnings


def _read_all(jobs: list[tuple[Path, str, dict[str, Any]]], limits: ReaderLimits) -> Iterator[tuple[list[Document], list[str]]]:
    """Read every file, in order; PDFs and XML in parallel processes (all cores) when there are several,
    with a progress bar counting files on a terminal."""
    heavy = sum(1 for file, _, _ in jobs if file.suffix.lower() in _HEAVY_SUFFIXES)
    workers = min(os.cpu_count() or 1, heavy)
    yield from ordered_map(read_path, [(file, rel, meta, limits) for file, rel, meta in jobs], workers=workers, start="spawn",
                           desc="reading files", unit="file")


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


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


def _read_beir(path: Path) -> tuple[list[Document], list[str]]:
    docs, warnings = [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, row in jsonl_rows(handle):
            try:
                if isinstance(row, json.JSONDecodeError):
                    raise row  # reported below with the other ways a line is not a BEIR record
                doc_id, text = str(row["_id"]), str(row.get("text") or "")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                warnings.append(f"{path.name} line {number}: skipped, not a BEIR record with _id and text ({exc})")
                continue
            title = str(row.get("title") or "")
            raw = f"{title}\n\n{text}" if title else text
            docs.append(make_document(doc_id, raw, {"title": title or None, "doc_id": doc_id}, source_path=f"{path}:{number}", keep_id=True))
    return docs, warnings


def _merge_duplicates(docs: Iterable[Document]) -> tuple[list[Document], list[str]]:
    """Index identical texts once; the kept Document lists the other names."""
    by_hash: dict[str, Document] = {}
    order: list[str] = []
    warnings = []
    seen_ids: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen_ids:
            warnings.append(f"two documents share the id '{doc.doc_id}' ({doc.source_path}); the second was skipped. Give it a doc_id in the metadata file.")
            continue
        seen_ids.add(doc.doc_id)
        first = by_hash.get(doc.content_hash)
        if first is None:
            by_hash[doc.content_hash] = doc
            order.append(doc.content_hash)
            continue
        by_hash[doc.content_hash] = replace(first, also_named=first.also_named + (doc.metadata.get("file", doc.doc_id),))
        warnings.append(f"{doc.metadata.get('file', doc.doc_id)} has the same content as {first.metadata.get('file', first.doc_id)}; indexed once as '{first.doc_id}'")
    return [by_hash[h] for h in order], warnings


def iter_text_files(folder: Path) -> Iterator[Path]:
    """Files the folder reader would consider, for fingerprinting without reading them all."""
    yield from sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix.lower() in TEXT_SUFFIXES or p.name in METADATA_NAMES) and not _hidden(p, folder))
