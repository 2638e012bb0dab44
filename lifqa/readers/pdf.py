"""PDF files with a text layer -> a Document with pages, via pypdfium2 (PDFium; permissive licence).

Text comes from PDFium's text page one character at a time with its box, so the
layout can be rebuilt rather than trusted to the content stream's order:

1. characters -> lines (PDFium's own line breaks, split again at wide gaps);
2. per page, a vertical gutter is looked for; lines on either side of it are
   columns, read left then right between the full-width lines above and below
   (titles, wide tables), so a heading stays before the text under it;
3. running headers/footers, page numbers and licence lines that repeat across
   pages go to ``noise``; rules and dot leaders are dropped;
4. lines -> paragraphs by spacing and font; line-end hyphens are joined or kept
   by the document's own vocabulary ("immuno-|logical" -> "immunological", but
   "IL-|6", "N-|terminal", "gp130-|dependent" keep theirs);
5. the reference list becomes a "references" section, one entry per line;
6. title, authors, journal, year, volume, pages and DOI come from page 1 and the
   running heads (``pdf_header``); page numbers printed in the headers/footers
   become the page labels citations show (``pdf_pages``).

Every paragraph records the page it starts on, so each character offset of the
text maps to its physical page (``Document.page_at``), which the page view opens.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lifqa.readers.limits import ReaderLimits
from lifqa.readers.build import clean_inline, doc_id_for, merge_metadata
from lifqa.readers.pdf_header import baseline_bands, is_cover, read_header
from lifqa.readers.pdf_pages import printed_page_labels
from lifqa.types import Document, Section

_HYPHENS = ("-", "\u2010", "\u00ad", "\u2011")
_REF_HEADING = re.compile(r"^\s*(?:\d+\.?\s*)?(references|bibliography|literature cited|works cited|reference list|cited literature)\s*:?\s*$", re.I)
_REF_MARKER = re.compile(r"^\s*(?:\[\d{1,4}\]|\d{1,4}[.)]?\s+(?=[A-Z]))")
_DOT_LEADER = re.compile(r"(?:\s*[.·…](?:\s?[.·…]){3,}\s*)")
_RULE_LINE = re.compile(r"^[\s_\-–—=.·•~*]{3,}$")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_WORD = re.compile(r"[^\W\d_][\w]*", re.U)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|[.,+-]B$|-BoldMT|Bd$", re.I)


@dataclass
class _Line:
    page: int  # 0-based
    text: str
    x0: float
    y0: float  # bottom (PDF coordinates: y grows upwards)
    x1: float
    y1: float  # top
    size: float
    bold: bool
    column: int = 0  # 0 full width / single column, 1 left, 2 right
    marked: str = ""  # on the first pages: the text with each raised, smaller run ("Smithᵃ,ᵇ") as "*", for author lines


@dataclass
class _Page:
    number: int
    width: float
    height: float
    lines: list[_Line] = field(default_factory=list)


class PdfError(Exception):
    """A PDF that cannot be read; the message says why."""


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


# ---------------------------------------------------------------- extraction
def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc)
        reason = re.sub(r"^.*PDFium:\s*", "", message).strip(" .()") or "unreadable"
        if "password" in message.lower():
            raise PdfError("it is encrypted (password-protected); save an unprotected copy and index that") from None
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 2048))
            tail = handle.read()
        if b"%%EOF" not in tail:
            raise PdfError(f"it is truncated or corrupt (no end-of-file marker; PDFium: {reason}); download it again") from None
        raise PdfError(f"it is corrupt or not a PDF (PDFium: {reason})") from None


def extract_pages(path: Path, limits: ReaderLimits, warnings: list[str], name: str) -> tuple[list[_Page], dict[str, str], list[str], int]:
    """Lines with boxes and fonts, per page, within the page and time limits."""
    pdf = _open(path)
    try:
        total = len(pdf)
        count = min(total, limits.max_pages)
        if total > limits.max_pages:
            warnings.append(f"{name}: has {total} pages; read the first {limits.max_pages} (raise the pdf_max_pages setting to read more)")
        pages, started = [], time.perf_counter()
        for index in range(count):
            if index and time.perf_counter() - started > limits.max_seconds:
                warnings.append(f"{name}: reading took longer than {limits.max_seconds:g} s; kept the first {index} of {total} pages "
                                f"(raise the pdf_max_seconds setting to read all)")
                break
            page = pdf[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    header_page = index == 0 or (index == 1 and is_cover(pages[0].lines))  # where the authors are
                    pages.append(_Page(index, width, height, _page_lines(textpage, index, marks=header_page, marks_above=0.4 * height)))
                finally:
                    textpage.close()
            finally:
                page.close()
        labels = [_label(pdf, i) for i in range(len(pages))]
        try:
            pdf_meta = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
        except Exception:  # metadata in a broken encoding is not worth losing the text for
            pdf_meta = {}
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 2048))
            if b"%%EOF" not in handle.read():
                warnings.append(f"{name}: looks truncated (no end-of-file marker); indexed the {len(pages)} page(s) PDFium could recover")
        return pages, pdf_meta, labels, total
    finally:
        pdf.close()


def _label(pdf: pdfium.PdfDocument, index: int) -> str:
    try:
        return pdf.get_page_label(index) or ""
    except Exception:
        return ""


def _page_lines(textpage: pdfium.PdfTextPage, page_index: int, marks: bool = False, marks_above: float = 0.0) -> list[_Line]:
    """Characters -> lines. PDFium marks most line ends; a jump to another baseline or a gap wider
    than 1.2 em also ends a line (justified text set without line breaks; two columns on one baseline).
    A line's size is its first character's font size times the text matrix's vertical scale (PDFium's
    font size alone is often the unscaled 1.0). With ``marks`` (the header pages), superscripts glued to a
    word (an author's affiliation letters) are found from the font boxes and kept apart in ``marked``, on
    the lines above ``marks_above`` (where a title and its author lines are) that have a character raised
    off the baseline."""
    raw = textpage.raw
    n = textpage.count_chars()
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    left_ref, right_ref, bottom_ref, top_ref = ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
    char_box = pdfium_c.FPDFText_GetCharBox
    page_text = textpage.get_text_range()  # one call for the text; PDFium gives one UTF-16 unit per character
    if len(page_text) != n:
        page_text = "".join(chr(c) if 0 < c < 0x110000 else "\x00" for c in (pdfium_c.FPDFText_GetUnicode(raw, i) for i in range(n)))
    lines: list[_Line] = []
    chars: list[str] = []
    x0 = y0 = x1 = y1 = 0.0
    raised = 0.0  # the highest character bottom of the line: a superscript (or a quote mark) sits above the baseline
    first = -1
    matrix = pdfium_c.FS_MATRIX()
    prev_right = prev_size = prev_mid = 0.0

    def flush(end: int) -> None:
        """End the line of the characters [first, end) of the text page."""
        nonlocal chars, first
        text = "".join(chars).strip()
        if text and first >= 0:
            weight = pdfium_c.FPDFText_GetFontWeight(raw, first)
            pdfium_c.FPDFText_GetMatrix(raw, first, matrix)
            size = round(pdfium_c.FPDFText_GetFontSize(raw, first) * math.hypot(matrix.c, matrix.d), 1)
            lines.append(_Line(page_index, text, x0, y0, x1, y1, size, weight >= 600 or _bold_name(raw, first),
                               marked=_superscripts_marked(raw, page_text, first, end)
                               if marks and y1 > marks_above and raised - y0 > 0.4 * (y1 - y0) else ""))
        chars, first = [], -1

    for i, ch in enumerate(page_text):
        if ch == "\n" or ch == "\r":
            flush(i)
            continue
        if ch == "\x02" or ch == "\ufffe":  # PDFium's mark for a hyphen it saw break a word at a line end
            ch = "-"
        elif ch == "\x00":
            continue
        if ch.isspace():
            if chars:
                chars.append(" ")
            continue
        char_box(raw, i, left_ref, right_ref, bottom_ref, top_ref)
        l, r, b, t = left.value, right.value, bottom.value, top.value
        size = t - b
        mid = (t + b) / 2
        if first >= 0:
            em = prev_size if prev_size > size else size
            if l - prev_right > 1.2 * (em if em > 4.0 else 4.0) or l < prev_right - 2 * (em if em > 4.0 else 4.0) \
                    or abs(mid - prev_mid) > 0.6 * (em if em > 2.0 else 2.0):
                flush(i)
        if first < 0:
            first = i
            x0, y0, x1, y1, raised = l, b, r, t, b
        else:
            if l < x0:
                x0 = l
            if b < y0:
                y0 = b
            elif b > raised:
                raised = b
            if r > x1:
                x1 = r
            if t > y1:
                y1 = t
        chars.append(ch)
        prev_right, prev_size, prev_mid = r, size, mid
    flush(n)
    return _join_pieces(lines)


def _superscripts_marked(raw: Any, page_text: str, start: int, end: int) -> str:
    """The text of the line of characters [start, end) with each run of superscript letters or digits as one
    "*" ("" when it has none): a character whose font box (PDFium's loose box: the font's size, not the
    glyph's ink) is under 0.8 of the one before it and raised above its baseline. "Smithᵃ,ᵇ" -> "Smith*,*",
    so an affiliation letter is not read as part of a name."""
    rect = pdfium_c.FS_RECTF()
    out: list[str] = []
    ref_height = ref_bottom = 0.0
    raised = found = False
    for i in range(start, end):
        ch = page_text[i]
        if not ch.isalnum():
            out.append(" " if ch.isspace() else "-" if ch in ("\x02", "\ufffe") else "" if ch == "\x00" else ch)
            continue
        pdfium_c.FPDFText_GetLooseCharBox(raw, i, rect)
        box_height, box_bottom = abs(rect.top - rect.bottom), min(rect.top, rect.bottom)
        if ref_height and box_height < 0.8 * ref_height and box_bottom > ref_bottom + 0.15 * ref_height:
            if not raised:
                out.append("*")
            raised = found = True
            continue
        out.append(ch)
        raised, ref_height, ref_bottom = False, box_height, box_bottom
    return " ".join("".join(out).split()) if found else ""


def _join_pieces(lines: list[_Line]) -> list[_Line]:
    """Pieces of one printed line that PDFium reported apart (words drawn one by one, justified
    text) -> one line, when the gap between them is under an em; wider gaps are column gutters."""
    rows = baseline_bands(sorted(lines, key=lambda l: (-round(l.y1), l.x0)), 0.6)
    out: list[_Line] = []
    for row in rows:
        row.sort(key=lambda l: l.x0)
        current = row[0]
        for piece in row[1:]:
            if 0 <= piece.x0 - current.x1 < max(current.size, piece.size, 4.0) and abs(piece.size - current.size) < 1.0:
                marked = f"{current.marked or current.text} {piece.marked or piece.text}" if current.marked or piece.marked else ""
                current = _Line(current.page, f"{current.text} {piece.text}", current.x0, min(current.y0, piece.y0), piece.x1,
                                max(current.y1, piece.y1), current.size, current.bold and piece.bold, marked=marked)
            else:
                out.append(current)
                current = piece
        out.append(current)
    return out


def _bold_name(raw: Any, index: int) -> bool:
    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    length = pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, 128, flags)
    return length > 0 and bool(_BOLD_FONT.search(buffer.value.decode("latin-1")))


# ---------------------------------------------------------------- layout
def _columns(page: _Page) -> list[_Line]:
    """The page's lines in reading order: full-width lines split the page into bands; inside a
    band the left column is read before the right one."""
    lines = page.lines
    if len(lines) < 6:
        return _merge_rows(sorted(lines, key=lambda l: (-round(l.y1, 0), l.x0)))
    gutter = _gutter(page)
    if gutter is None:
        return _merge_rows(sorted(lines, key=lambda l: (-round(l.y1, 0), l.x0)))
    for line in lines:
        line.column = 1 if line.x1 <= gutter + 1 else 2 if line.x0 >= gutter - 1 else 0
    spanning = _merge_rows(sorted((l for l in lines if l.column == 0), key=lambda l: (-round(l.y1, 0), l.x0)))
    pending = [l for l in lines if l.column]
    out: list[_Line] = []
    for wide in spanning:
        above = [l for l in pending if l.y1 > wide.y1 + 0.5]
        if above:
            out += _column_order(above)
            pending = [l for l in pending if l.y1 <= wide.y1 + 0.5]
        out.append(wide)
    return out + _column_order(pending)


def _column_order(lines: list[_Line]) -> list[_Line]:
    return _merge_rows(sorted(lines, key=lambda l: (l.column, -round(l.y1, 0), l.x0)))


def _merge_rows(lines: list[_Line]) -> list[_Line]:
    """Pieces of one row of a column (a reference number set apart from its entry, words in
    separate text objects) -> one line, pieces left to right. ``lines`` come sorted top-down."""
    rows: list[list[_Line]] = []
    for line in lines:
        if rows:
            last = rows[-1]
            top, bottom = max(l.y1 for l in last), min(l.y0 for l in last)
            height = max(min(top - bottom, line.y1 - line.y0), 1.0)
            overlap = min(top, line.y1) - max(bottom, line.y0)
            if last[0].column == line.column and last[0].page == line.page and overlap > 0.6 * height:
                last.append(line)
                continue
        rows.append([line])
    out = []
    for row in rows:
        if len(row) == 1:
            out.append(row[0])
            continue
        row.sort(key=lambda l: l.x0)
        main = max(row, key=lambda l: len(l.text))
        out.append(_Line(main.page, " ".join(l.text for l in row), min(l.x0 for l in row), min(l.y0 for l in row),
                         max(l.x1 for l in row), max(l.y1 for l in row), main.size, all(l.bold for l in row), main.column))
    return out


def _gutter(page: _Page) -> float | None:
    """An x that (almost) no line crosses, with at least three lines on each side (numpy over candidate xs)."""
    lines = page.lines
    x0 = np.array([l.x0 for l in lines])
    x1 = np.array([l.x1 for l in lines])
    wide = (x1 - x0) > 0.12 * page.width
    steps = 80
    xs = page.width * np.arange(int(steps * 0.15), int(steps * 0.85) + 1) / steps
    crossing = ((x0[None, :] < xs[:, None] - 1) & (x1[None, :] > xs[:, None] + 1)).sum(axis=1)
    left = ((x1[None, :] <= xs[:, None] + 1) & wide).sum(axis=1)
    right = ((x0[None, :] >= xs[:, None] - 1) & wide).sum(axis=1)
    ok = (left >= 3) & (right >= 3) & (crossing <= 0.3 * len(lines))
    if not ok.any():
        return None
    # fewest crossings, then the most lines with a side, then nearest the middle
    order = np.lexsort((np.abs(xs - page.width / 2), -np.minimum(left, right), crossing))
    return float(next(xs[i] for i in order if ok[i]))


def _noise_keys(pages: list[_Page]) -> tuple[set[str], set[int], set[int]]:
    """Line texts (digits masked) that repeat at the top or bottom of pages: running headers,
    footers, licence lines. Returns (keys, ids of single page-number lines, ids of the lines at the
    page edges); only edge lines are ever removed, so a lone number inside the text stays."""
    counts: Counter[str] = Counter()
    page_numbers: set[int] = set()
    edges: set[int] = set()
    for page in pages:
        if not page.lines:
            continue
        top = sorted(page.lines, key=lambda l: -l.y1)
        edge = top[:3] + top[-3:]
        seen = set()
        for line in edge:
            if line.y1 > page.height * 0.9 or line.y0 < page.height * 0.1 or line in top[:2] or line in top[-2:]:
                edges.add(id(line))
                key = _mask(line.text)
                if key and key not in seen:
                    seen.add(key)
                    counts[key] += 1
                if _PAGE_NUMBER.match(line.text.strip()):
                    page_numbers.add(id(line))
    need = 2 if len(pages) <= 4 else max(2, int(0.3 * len(pages)))
    return {key for key, n in counts.items() if n >= need}, page_numbers, edges


def _mask(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def layout_document(pages: list[_Page], path: Path, name: str, meta: dict[str, Any], pdf_meta: dict[str, str],
                    labels: list[str]) -> Document:
    noise: list[str] = []
    repeated, page_numbers, edges = _noise_keys(pages)
    printed = printed_page_labels([[l.text for l in page.lines if id(l) in edges] for page in pages], labels)
    # the header is read from the first pages as printed: a title that is also the running head stays in it
    front = [list(page.lines) for page in pages[:2]]
    ordered: list[_Line] = []
    for page in pages:
        kept = []
        for line in page.lines:
            stripped = line.text.strip()
            if id(line) in page_numbers or (id(line) in edges and _mask(stripped) in repeated and len(stripped) < 250) \
                    or _RULE_LINE.match(stripped):
                noise.append(stripped)
            else:
                kept.append(line)
        page.lines = kept
        for line in _columns(page):
            line.text = _DOT_LEADER.sub(" ", clean_inline(line.text)).strip()
            if line.text:
                ordered.append(line)
    vocabulary, hyphenated = _vocabulary(ordered)
    body_size = _body_size(ordered)
    # a heading is larger than both the document's and its page's body text (a page of references is set smaller)
    page_body = {page.number: max(body_size, _body_size([l for l in ordered if l.page == page.number])) for page in pages}
    paragraphs = _paragraphs(ordered, page_body, vocabulary, hyphenated)
    text, page_starts, sections = _assemble(paragraphs, len(pages))
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


def _body_size(lines: list[_Line]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _vocabulary(lines: list[_Line]) -> tuple[set[str], set[str]]:
    """Words of the document (lower case), and the hyphenated compounds it writes inside lines."""
    words: set[str] = set()
    compounds: set[str] = set()
    after_hyphen = False
    for line in lines:
        body = line.text[:-1] if line.text.endswith(_HYPHENS) else line.text
        tokens = body.split()
        if after_hyphen:
            tokens = tokens[1:]  # the second half of a broken word is no word of the document
        if line.text.endswith(_HYPHENS) and tokens:
            tokens = tokens[:-1]
        after_hyphen = line.text.endswith(_HYPHENS)
        for token in tokens:
            token = token.strip(".,;:()[]{}\"'“”‘’").lower()
            if not token:
                continue
            if "-" in token.strip("-"):
                compounds.add(token)
            words.update(_WORD.findall(token))
    return words, compounds


def join_hyphenated(before: str, after: str, vocabulary: set[str], compounds: set[str]) -> str:
    """Join a line ending in a hyphen to the next: drop the hyphen when it only broke the word."""
    head = before[:-1]
    prefix = re.search(r"[\w]+$", head)
    suffix = re.match(r"[\w]+", after)
    if before.endswith("\u00ad"):
        return head + after
    if not prefix or not suffix:
        return before + after
    p, s = prefix.group(0), suffix.group(0)
    joined, compound = (p + s).lower(), f"{p}-{s}".lower()
    keep = (any(ch.isdigit() for ch in p[-1:]) or len(p) == 1 or any(ch.isupper() for ch in p[1:]) or s[:1].isupper()
            or s[:1].isdigit() or p.isupper())
    if keep or compound in compounds:
        return before + after
    if joined in vocabulary:
        return head + after
    if p.lower() in vocabulary and s.lower() in vocabulary and len(p) > 2:
        return before + after  # two words of the document joined by a real hyphen ("self-renewal")
    if s.lower() in vocabulary and len(s) >= 5:
        # the rest is a longer word of the document on its own: a compound ("non-identified", "socio-demographic");
        # a short rest is more often a syllable ("harb-our", "inha-led")
        return before + after
    return head + after


@dataclass
class _Paragraph:
    text: str
    page: int
    kind: str  # "text" | "heading" | "ref"
    page_breaks: list[tuple[int, int]] = field(default_factory=list)  # (offset in text, page) where a later page starts


def _is_heading(line: _Line, body: float) -> bool:
    text = line.text
    if _REF_HEADING.match(text):
        return True  # "References" on a line of its own, whatever its style
    if len(text) > 120 or len(text.split()) > 14:
        return False
    if text.endswith((".", ",", ";")) and not re.match(r"^\d+(\.\d+)*\.?\s", text):
        return False
    if line.size >= body + 1.0:
        return True
    return line.bold and line.size >= body - 0.5 and not text[:1].islower() and text.count(",") <= 2 and len(text.split()) <= 12


def _paragraphs(lines: list[_Line], page_body: dict[int, float], vocabulary: set[str], compounds: set[str]) -> list[_Paragraph]:
    """Lines -> paragraphs, headings and reference entries; sizes are judged against the body size
    of the line's own page (a reference list is set smaller than the text)."""
    out: list[_Paragraph] = []
    current: _Paragraph | None = None
    prev: _Line | None = None
    in_refs = False
    right_edge: dict[tuple[int, int], float] = {}
    for line in lines:
        key = (line.page, line.column)
        right_edge[key] = max(right_edge.get(key, 0.0), line.x1)
    for line in lines:
        body = page_body.get(line.page, 10.0)
        heading = _is_heading(line, body) and not (in_refs and line.size < body + 1.0 and not _REF_HEADING.match(line.text))
        text = line.text
        if heading and _REF_HEADING.match(text):
            in_refs = True
        elif heading and in_refs and not _REF_MARKER.match(text) and line.size >= body + 1.0:
            in_refs = False  # a larger heading after the references (an appendix)
        kind = "heading" if heading else "ref" if in_refs else "text"
        start_new = current is None or current.kind != kind or prev is None or _breaks(prev, line, body, current)
        if kind == "ref" and prev is not None and current is not None and current.kind == "ref" and not start_new:
            start_new = bool(_REF_MARKER.match(text)) or (prev.text.endswith(".") and prev.x1 < right_edge[(prev.page, prev.column)] - 15)
        if start_new:
            current = _Paragraph(text, line.page, kind)
            out.append(current)
        else:
            assert current is not None
            if line.page != prev.page:
                current.page_breaks.append((len(current.text) + 1, line.page))
            if current.text.endswith(_HYPHENS) and text[:1].isalpha():
                current.text = join_hyphenated(current.text, text, vocabulary, compounds)
                if current.page_breaks and current.page_breaks[-1][0] > len(current.text):
                    current.page_breaks[-1] = (len(current.text) - len(text), line.page)
            else:
                current.text += " " + text
        prev = line
    return out


def _breaks(prev: _Line, line: _Line, body: float, current: _Paragraph) -> bool:
    """Whether ``line`` starts a new paragraph after ``prev``."""
    if current.kind == "heading":
        return not (prev.page == line.page and abs(prev.size - line.size) < 0.6 and 0 <= prev.y0 - line.y1 < 1.2 * line.size)
    if abs(prev.size - line.size) > 1.0:
        return True
    moved_back = line.page != prev.page or line.y1 > prev.y1 + 1 or abs(line.x0 - prev.x0) > (prev.x1 - prev.x0) * 0.6
    if moved_back:  # a new column or page: the paragraph goes on unless the last one ended a sentence
        return prev.text.endswith((".", "!", "?", ":")) and not line.text[:1].islower()
    gap = prev.y0 - line.y1
    return gap > 0.75 * max(body, 1.0)


def _assemble(paragraphs: list[_Paragraph], page_count: int) -> tuple[str, list[int], list[Section]]:
    parts: list[str] = []
    length = 0
    page_starts: list[int | None] = [None] * page_count
    sections: list[Section] = []
    ref_start: int | None = None
    ref_title = ""
    for para in paragraphs:
        if parts:
            parts.append("\n" if para.kind == "ref" and prev_kind in ("ref", "refhead") else "\n\n")
            length += len(parts[-1])
        start = length
        parts.append(para.text)
        length += len(para.text)
        if page_starts[para.page] is None:
            page_starts[para.page] = start
        for offset, page in para.page_breaks:
            if page_starts[page] is None:
                page_starts[page] = start + offset
        is_ref_heading = para.kind == "heading" and _REF_HEADING.match(para.text)
        if is_ref_heading:
            if ref_start is not None:
                sections.append(Section(ref_title, ref_start, start - 2, "references"))
            ref_start, ref_title = start, para.text
            prev_kind = "refhead"
            continue
        if ref_start is not None and para.kind != "ref":
            sections.append(Section(ref_title, ref_start, start - 2, "references"))
            ref_start = None
        prev_kind = para.kind
    if ref_start is not None:
        sections.append(Section(ref_title, ref_start, length, "references"))
    text = "".join(parts)
    # a page whose text all went to noise (or an empty page) starts where the next page's text does
    filled: list[int] = []
    following = len(text)
    for value in reversed(page_starts):
        following = value if value is not None else following
        filled.append(following)
    filled.reverse()
    starts = []
    for value in filled:  # offsets must not decrease (a column read out of order must not break bisect)
        starts.append(max(value, starts[-1]) if starts else value)
    return text, starts, sections


# ---------------------------------------------------------------- page view
def text_boxes(path: Path | str, page_number: int, quote: str) -> list[tuple[float, float, float, float]]:
    """Boxes (left, bottom, right, top; PDF points) of the characters of ``quote`` on a 1-based page.

    Matched on letters and digits only (ligatures expanded), so the quote is found whatever the
    normalisation did to hyphens, spaces and line breaks. A quote running on to the next page
    highlights the part on this page (its longest leading or trailing part found here).
    """
    key = _key(quote)
    if not key:
        return []
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_number - 1]
        textpage = page.get_textpage()
        try:
            raw = textpage.raw
            index: list[int] = []
            page_key: list[str] = []
            for i in range(textpage.count_chars()):
                code = pdfium_c.FPDFText_GetUnicode(raw, i)
                for ch in _key(chr(code) if code < 0x110000 else ""):
                    page_key.append(ch)
                    index.append(i)
            haystack = "".join(page_key)
            start, length = _best_match(haystack, key)
            if length == 0:
                return []
            boxes = []
            seen = set()
            for i in index[start:start + length]:
                if i in seen:
                    continue
                seen.add(i)
                boxes.append(textpage.get_charbox(i))
            return _merge_boxes(boxes)
        finally:
            textpage.close()
            page.close()
    finally:
        pdf.close()


def _key(text: str) -> str:
    return "".join(ch for ch in clean_inline(text).lower() if ch.isalnum())


def _best_match(haystack: str, key: str) -> tuple[int, int]:
    found = haystack.find(key)
    if found != -1:
        return found, len(key)
    # the longest prefix or suffix present (a sentence broken across pages), by halving
    best = (0, 0)
    lo, hi = 12, len(key)
    while lo <= hi:
        mid = (lo + hi) // 2
        at = haystack.find(key[:mid])
        if at != -1:
            best, lo = (at, mid), mid + 1
        else:
            hi = mid - 1
    lo, hi = 12, len(key)
    while lo <= hi:
        mid = (lo + hi) // 2
        at = haystack.find(key[-mid:])
        if at != -1:
            if mid > best[1]:
                best = (at, mid)
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def _merge_boxes(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Character boxes -> one box per run of characters on a line."""
    out: list[list[float]] = []
    for left, bottom, right, top in boxes:
        if out:
            last = out[-1]
            same_line = abs(last[1] - bottom) < 0.5 * max(top - bottom, 1) and -1 <= left - last[2] < 3 * max(top - bottom, 1)
            if same_line:
                last[0], last[1], last[2], last[3] = min(last[0], left), min(last[1], bottom), max(last[2], right), max(last[3], top)
                continue
        out.append([left, bottom, right, top])
    return [tuple(b) for b in out]  # type: ignore[misc]


def render_page(path: Path | str, page_number: int, boxes: list[tuple[float, float, float, float]] = (), scale: float = 1.5) -> bytes:
    """A 1-based page as PNG bytes, with ``boxes`` (PDF points) highlighted in translucent yellow."""
    import io

    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_number - 1]
        try:
            height = page.get_height()
            image = page.render(scale=scale).to_pil().convert("RGBA")
        finally:
            page.close()
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle([left * scale - 1, (height - top) * scale - 1, right * scale + 1, (height - bottom) * scale + 1],
                       fill=(255, 220, 0, 110), outline=(230, 150, 0, 255))
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def page_count(path: Path | str) -> int:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


__all__ = ["read_pdf", "text_boxes", "render_page", "page_count", "join_hyphenated"]
