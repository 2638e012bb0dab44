"""PDF files with a text layer -> a Document with pages, via pypdfium2 (PDFium; permissive licence).

Text comes from PDFium's text page one character at a time with its box, so the
layout can be rebuilt rather than trusted to the content stream's order:

1. characters -> lines (PDFium's own line breaks, split again at wide gaps; ``pdf_extract``);
2. per page, a vertical gutter is looked for; lines on either side of it are
   columns, read left then right between the full-width lines above and below
   (titles, wide tables), so a heading stays before the text under it (``pdf_layout``);
3. running headers/footers, page numbers and licence lines that repeat across
   pages go to ``noise`` (found by ``pdf_layout``); rules and dot leaders are dropped;
4. lines -> paragraphs by spacing and font; line-end hyphens are joined or kept
   by the document's own vocabulary ("immuno-|logical" -> "immunological", but
   "IL-|6", "N-|terminal", "gp130-|dependent" keep theirs; ``pdf_paragraphs``);
5. the reference list becomes a "references" section, one entry per line (``pdf_paragraphs``);
6. title, authors, journal, year, volume, pages and DOI come from page 1 and the
   running heads (``pdf_header``); page numbers printed in the headers/footers
   become the page labels citations show (``pdf_pages``).

Every paragraph records the page it starts on, so each character offset of the
text maps to its physical page (``Document.page_at``), which the page view
(``pdf_page_view``) opens. This module runs the steps in order.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from lifqa.readers.build import clean_inline, doc_id_for, merge_metadata
from lifqa.readers.limits import ReaderLimits
from lifqa.readers.pdf_extract import Line, Page, PdfError, extract_pages
from lifqa.readers.pdf_header import is_cover, read_header
from lifqa.readers.pdf_layout import mask_digits, noise_keys, reading_order
from lifqa.readers.pdf_pages import printed_page_labels
from lifqa.readers.pdf_paragraphs import assemble_text, body_text_size, document_vocabulary, paragraphs_of
from lifqa.types import Document

_DOT_LEADER = re.compile(r"(?:\s*[.·…](?:\s?[.·…]){3,}\s*)")
_RULE_LINE = re.compile(r"^[\s_\-–—=.·•~*]{3,}$")


def read_pdf(path: Path, name: str, meta: dict[str, Any], limits: ReaderLimits) -> tuple[list[Document], list[str]]:
    warnings: list[str] = []
    try:
        pages, pdf_meta, labels, total = extract_pages(path, limits, warnings, name)
    except PdfError as exc:
        return [], [f"skipped {name}: {exc}"]
    chars = sum(len(line.text) for page in pages for line in page.lines)
    if total and chars < 20 * len(pages):
        return [], [f"skipped {name}: no text layer (a scanned PDF?); run OCR first, e.g. `ocrmypdf {name} {Path(name).stem}-ocr.pdf`, "
                    f"and index the OCR'd file"]
    empty = [p.number + 1 for p in pages if not p.lines]
    if empty:
        warnings.append(f"{name}: page{'s' * (len(empty) > 1)} {', '.join(map(str, empty[:10]))}{' …' if len(empty) > 10 else ''} "
                        f"{'have' if len(empty) > 1 else 'has'} no text layer (scanned?); the rest is indexed. Run OCR (ocrmypdf) to read "
                        f"{'them' if len(empty) > 1 else 'it'} too")
    doc = layout_document(pages, path, name, meta, pdf_meta, labels)
    return [doc], warnings


def layout_document(pages: list[Page], path: Path, name: str, meta: dict[str, Any], pdf_meta: dict[str, str],
                    labels: list[str]) -> Document:
    noise: list[str] = []
    repeated, page_numbers, edges = noise_keys(pages)
    printed = printed_page_labels([[l.text for l in page.lines if id(l) in edges] for page in pages], labels)
    # the header is read from the first pages as printed: a title that is also the running head stays in it
    front = [list(page.lines) for page in pages[:2]]
    ordered: list[Line] = []
    for page in pages:
        kept = []
        for line in page.lines:
            stripped = line.text.strip()
            if id(line) in page_numbers or (id(line) in edges and mask_digits(stripped) in repeated and len(stripped) < 250) \
                    or _RULE_LINE.match(stripped):
                noise.append(stripped)
            else:
                kept.append(line)
        page.lines = kept
        for line in reading_order(page):
            line.text = _DOT_LEADER.sub(" ", clean_inline(line.text)).strip()
            if line.text:
                ordered.append(line)
    vocabulary, hyphenated = document_vocabulary(ordered)
    body_size = body_text_size(ordered)
    # a heading is larger than both the document's and its page's body text (a page of references is set smaller)
    page_body = {page.number: max(body_size, body_text_size([l for l in ordered if l.page == page.number])) for page in pages}
    paragraphs = paragraphs_of(ordered, page_body, vocabulary, hyphenated)
    text, page_starts, sections = assemble_text(paragraphs, len(pages))
    first = front[1] if len(front) > 1 and is_cover(front[0]) else front[0] if front else []  # after a download cover sheet
    header = read_header(first, pages[0].height if pages else 0.0, list(dict.fromkeys(noise)), pdf_meta)
    found = header.metadata()
    found["text_source"] = "fulltext"
    title = str(meta.get("title") or found.pop("title", "") or doc_id_for(name, meta))
    return Document(
        doc_id=doc_id_for(name, meta), title=title, text=text, source_path=str(path),
        metadata=merge_metadata(found, meta, name), content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        noise=tuple(dict.fromkeys(noise)), page_starts=tuple(page_starts), page_labels=printed if any(printed) else (),
        sections=tuple(sections),
    )


__all__ = ["read_pdf", "layout_document", "PdfError"]
