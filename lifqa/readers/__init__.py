"""Readers: one module per file format, each turning one file into Documents.

``read_path`` picks the reader from the file's content (``%PDF-`` magic, the XML
root element), not from its extension alone, so a PDF saved as ``.txt`` or a
JATS article saved as ``.xml`` is still read right. Every reader returns
``(documents, warnings)`` and never raises on bad input: a broken file becomes a
warning naming it and the reason.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from lifqa.readers.limits import ReaderLimits
from lifqa.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
READ_SUFFIXES = TEXT_SUFFIXES + (".pdf", ".xml", ".nxml")

_SNIFF_BYTES = 8192
_XML_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")
_XML_PROLOGUE = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*|<\?[^>]*\?>\s*)*<(?![?!])", re.S)
_JATS_ROOTS = {"article", "pmc-articleset"}
_PUBMED_ROOTS = {"PubmedArticleSet", "PubmedArticle", "PubmedBookArticle"}


def sniff(path: Path) -> str:
    """The reader a file needs, from its first bytes: "pdf", "jats", "pubmed", "xml:<root>" or "text"."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return "text"  # the text reader reports the read error
    if b"%PDF-" in head[:1024]:  # pdfium, like most readers, accepts junk before the header
        return "pdf"
    prologue = _XML_PROLOGUE.match(head)
    if prologue and (head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml") or b"<!DOCTYPE" in head[:prologue.end()]
                     or path.suffix.lower() in (".xml", ".nxml")):
        root = _XML_ROOT.match(head, prologue.end() - 1)
        name = root.group(1).decode("ascii", "replace") if root else ""
        local = name.rsplit(":", 1)[-1]
        if local in _JATS_ROOTS:
            return "jats"
        if local in _PUBMED_ROOTS:
            return "pubmed"
        if local.lower() == "html":
            return "text"
        return f"xml:{name}"
    return "text"


def read_path(path: Path, name: str, meta: dict[str, Any] | None = None,
              limits: ReaderLimits | None = None) -> tuple[list[Document], list[str]]:
    """Documents and warnings for one file; ``name`` (its path relative to the corpus folder) gives the doc_id."""
    path, meta, limits = Path(path), dict(meta or {}), limits or ReaderLimits()
    kind = sniff(path)
    try:
        if kind == "pdf":
            from lifqa.readers.pdf import read_pdf

            return read_pdf(path, name, meta, limits)
        if kind == "jats":
            from lifqa.readers.jats import read_jats

            return read_jats(path, name, meta)
        if kind == "pubmed":
            from lifqa.readers.pubmed import read_pubmed

            return read_pubmed(path, name, meta)
        if kind.startswith("xml:"):
            return [], [f"skipped {name}: an XML file with root element <{kind[4:]}>, which is neither JATS (<article>) "
                        f"nor PubMed (<PubmedArticleSet>); convert it to one of those or to text"]
        from lifqa.readers.text import read_text_file

        return read_text_file(path, name, meta)
    except Exception as exc:  # a reader bug on one odd file must not stop a corpus of thousands
        log.debug("reader failed on %s", path, exc_info=True)
        return [], [f"skipped {name}: it could not be read ({type(exc).__name__}: {str(exc)[:200]})"]
