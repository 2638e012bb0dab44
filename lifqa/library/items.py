"""One library item -> one Document: the item's metadata plus the text of its best attachment.

Every reader (Zotero, BibTeX, CSL-JSON, RIS) produces :class:`LibraryItem` records;
this module turns each into a Document. Text comes from the first readable
attachment (PDF before XML before HTML before plain text) read by ``lifqa.readers``, else Zotero's full-text cache
(``.zotero-ft-cache``) beside an attachment, else the abstract (``abstract_only``),
else the title and metadata (``metadata_only``), so every item is findable.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from lifqa.decoding import decode_file
from lifqa.index.layout import file_sha256
from lifqa.readers import ReaderLimits, read_path
from lifqa.readers.build import library_first
from lifqa.readers.text import make_document
from lifqa.references import normalise_doi, parse_year
from lifqa.types import Document

log = logging.getLogger(__name__)

TEXT_SOURCES = ("fulltext", "abstract_only", "metadata_only")
FT_CACHE = ".zotero-ft-cache"  # Zotero's extracted text of an attachment, in the attachment's folder
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024  # larger files are reported, not read
_PREFERENCE = {".pdf": 0, ".xml": 1, ".html": 2, ".htm": 2, ".md": 3, ".markdown": 3, ".txt": 3}
_MIME_SUFFIX = {"application/pdf": ".pdf", "text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt",
                "text/markdown": ".md", "application/xml": ".xml", "text/xml": ".xml"}
# Zotero item types -> the corpus doc_type the reliability rules know.
DOC_TYPES = {"journalArticle": "article", "conferencePaper": "article", "book": "article", "bookSection": "article",
             "thesis": "article", "report": "article", "preprint": "preprint", "encyclopediaArticle": "encyclopedia",
             "dictionaryEntry": "encyclopedia", "webpage": "other", "blogPost": "other", "forumPost": "other"}


@dataclass(frozen=True)
class Attachment:
    """A file of an item; ``path`` None when the library names a file that cannot be located."""

    path: Path | None
    mime: str = ""
    label: str = ""  # how the library names it, for messages
    linked: bool = False  # a linked file (outside Zotero's storage folder)


@dataclass(frozen=True)
class LibraryItem:
    """An item as a library describes it: stable key, metadata (the Document.metadata conventions), files."""

    key: str  # unique within its library: Zotero item key, BibTeX/CSL id, RIS ID or ordinal
    title: str
    metadata: Mapping[str, Any]
    attachments: tuple[Attachment, ...] = ()
    version: str = ""  # what changes when the library edits the item (Zotero version/dateModified, entry text)
    where: str = ""  # for messages: "lib.bib line 12", "zotero.sqlite item ABCD1234"


@dataclass
class ReadStats:
    """Counts for the build summary."""

    items: int = 0
    read: int = 0  # items whose text was read now
    reused: int = 0  # items taken from the per-item cache
    text_sources: dict[str, int] = field(default_factory=lambda: {k: 0 for k in TEXT_SOURCES})
    missing_files: int = 0
    attachment_paths: set[Path] = field(default_factory=set)  # every file an item names, so a folder reader skips them


def item_doc_id(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key


def attachment_fingerprint(item: LibraryItem, sha256: Callable[[Path], str] = file_sha256) -> str:
    """sha256 over the item's version and every attachment's (and full-text cache's) bytes: the cache key of the item.
    ``sha256``: the file hash (a build passes one that hashes each file once)."""
    digest = hashlib.sha256(repr((item.key, item.version, sorted(item.metadata.items(), key=lambda kv: kv[0]))).encode())
    for attachment in item.attachments:
        for path in (attachment.path, ft_cache_of(attachment)):
            if path is not None and path.is_file():
                digest.update(str(path).encode() + b"\0" + sha256(path).encode())
            else:
                digest.update(b"missing:" + str(path).encode())
    return digest.hexdigest()


def ft_cache_of(attachment: Attachment) -> Path | None:
    if attachment.path is None or attachment.linked:
        return None
    return attachment.path.parent / FT_CACHE


def _suffix(attachment: Attachment) -> str:
    suffix = attachment.path.suffix.lower() if attachment.path is not None else ""
    return suffix if suffix in _PREFERENCE else _MIME_SUFFIX.get(attachment.mime.split(";")[0].strip().lower(), suffix)


def item_document(item: LibraryItem, doc_id: str, warnings: list[str], limits: ReaderLimits | None = None) -> Document:
    """The Document of one item (see the module docstring for where its text comes from)."""
    meta = {k: v for k, v in item.metadata.items() if v not in (None, "", [], ())}
    if meta.get("doi"):
        meta["doi"] = normalise_doi(meta["doi"]) or None
    year = parse_year(meta.get("year"), str(meta.get("date") or ""))
    if year:
        meta["year"] = year
    if item.metadata.get("item_type") in DOC_TYPES and "doc_type" not in meta:
        meta["doc_type"] = DOC_TYPES[item.metadata["item_type"]]
    title = item.title or str(meta.get("title") or "") or item.key
    meta["title"] = title
    meta["doc_id"] = doc_id
    for attachment in sorted(item.attachments, key=lambda a: _PREFERENCE.get(_suffix(a), 9)):
        if attachment.path is None or not attachment.path.is_file():
            warnings.append(f"{item.where}: attachment {attachment.label or attachment.path} not found"
                            + (" (a linked file)" if attachment.linked else "")
                            + "; the item is indexed without it")
            continue
        doc = _read_attachment(attachment, doc_id, meta, warnings, item.where, limits)
        if doc is not None:
            return doc
    abstract = str(meta.get("abstract") or "").strip()
    if abstract:
        meta.update(text_source="abstract_only", doc_type=meta.get("doc_type") if meta.get("doc_type") == "preprint" else "abstract")
        return make_document(doc_id, f"{title}\n\n{abstract}", meta, source_path=item.where, keep_id=True)
    meta["text_source"] = "metadata_only"
    return make_document(doc_id, metadata_text(title, meta), meta, source_path=item.where, keep_id=True)


def metadata_text(title: str, meta: Mapping[str, Any]) -> str:
    """What an item without text or abstract is found by: its title, authors, venue, year, tags."""
    lines = [title]
    if meta.get("authors"):
        lines.append("; ".join(meta["authors"]))
    venue = ", ".join(str(meta[k]) for k in ("journal", "publisher") if meta.get(k))
    if venue or meta.get("year"):
        lines.append(f"{venue} ({meta.get('year', 'n.d.')})".strip())
    if meta.get("tags"):
        lines.append("Tags: " + ", ".join(meta["tags"]))
    return "\n".join(lines)


def _read_attachment(attachment: Attachment, doc_id: str, meta: dict[str, Any], warnings: list[str], where: str,
                     limits: ReaderLimits | None) -> Document | None:
    path = attachment.path
    assert path is not None
    name = f"{doc_id}{_suffix(attachment) or path.suffix}"
    if path.stat().st_size > MAX_ATTACHMENT_BYTES:
        warnings.append(f"{where}: attachment {path.name} is larger than {MAX_ATTACHMENT_BYTES >> 20} MB; not read")
        return _from_ft_cache(attachment, doc_id, meta, warnings, where)
    doc = _read_with_readers(path, name, meta, warnings, where, limits)
    if doc is None:
        return _from_ft_cache(attachment, doc_id, meta, warnings, where)
    return _as_item(doc, doc_id, meta, "fulltext", str(path))


def _read_with_readers(path: Path, name: str, meta: dict[str, Any], warnings: list[str], where: str,
                       limits: ReaderLimits | None) -> Document | None:
    """The file's text through lifqa.readers (PDF, JATS, PubMed XML, HTML, text), which report rather than raise."""
    docs, reader_warnings = read_path(path, name, dict(meta), limits)
    warnings.extend(f"{where}: {w}" for w in reader_warnings)
    docs = [d for d in docs if d.text.strip()]
    return docs[0] if docs else None


def _from_ft_cache(attachment: Attachment, doc_id: str, meta: dict[str, Any], warnings: list[str], where: str) -> Document | None:
    cache = ft_cache_of(attachment)
    if cache is None or not cache.is_file():
        return None
    raw, problem = decode_file(cache)
    if not raw or not raw.strip():
        return None
    warnings.append(f"{where}: {attachment.path.name if attachment.path else 'attachment'} could not be read; "
                    "used Zotero's full-text cache of it instead")
    doc = make_document(doc_id, raw, dict(meta), source_path=str(cache), keep_id=True)
    return _as_item(doc, doc_id, meta, "fulltext", str(cache))


def _as_item(doc: Document, doc_id: str, meta: Mapping[str, Any], text_source: str, source_path: str) -> Document:
    """The reader's Document (its text, pages, noise) under the item's id, title and metadata."""
    merged = {**library_first({k: v for k, v in doc.metadata.items() if k != "doc_id"}, dict(meta)), "text_source": text_source}
    merged.pop("doc_id", None)
    merged["file"] = Path(source_path).name
    return replace(doc, doc_id=doc_id, title=str(meta.get("title") or doc.title), metadata=merged, source_path=source_path)
