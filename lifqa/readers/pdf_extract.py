"""PDF -> pages of lines: PDFium's characters, one at a time with their boxes and fonts, joined into lines.

PDFium marks most line ends; a jump to another baseline or a gap wider than 1.2 em also ends
a line, and pieces of one printed line reported apart are joined again. On the header pages,
superscripts glued to a word (an author's affiliation letters) are kept apart for ``pdf_header``.
The page and time limits are applied here, and an unreadable file becomes a ``PdfError`` that
says why.
"""

from __future__ import annotations

import ctypes
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lifqa.readers.limits import ReaderLimits
from lifqa.readers.pdf_header import baseline_bands, is_cover

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|[.,+-]B$|-BoldMT|Bd$", re.I)


@dataclass
class Line:
    """A printed line as PDFium laid it out: its text, box (PDF points) and font."""

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
class Page:
    """A page's size (PDF points) and its lines."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


class PdfError(Exception):
    """A PDF that cannot be read; the message says why."""


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


def extract_pages(path: Path, limits: ReaderLimits, warnings: list[str], name: str) -> tuple[list[Page], dict[str, str], list[str], int]:
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
                    pages.append(Page(index, width, height, page_lines(textpage, index, marks=header_page, marks_above=0.4 * height)))
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


def page_lines(textpage: pdfium.PdfTextPage, page_index: int, marks: bool = False, marks_above: float = 0.0) -> list[Line]:
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
    lines: list[Line] = []
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
            lines.append(Line(page_index, text, x0, y0, x1, y1, size, weight >= 600 or _bold_name(raw, first),
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


def _join_pieces(lines: list[Line]) -> list[Line]:
    """Pieces of one printed line that PDFium reported apart (words drawn one by one, justified
    text) -> one line, when the gap between them is under an em; wider gaps are column gutters."""
    rows = baseline_bands(sorted(lines, key=lambda l: (-round(l.y1), l.x0)), 0.6)
    out: list[Line] = []
    for row in rows:
        row.sort(key=lambda l: l.x0)
        current = row[0]
        for piece in row[1:]:
            if 0 <= piece.x0 - current.x1 < max(current.size, piece.size, 4.0) and abs(piece.size - current.size) < 1.0:
                marked = f"{current.marked or current.text} {piece.marked or piece.text}" if current.marked or piece.marked else ""
                current = Line(current.page, f"{current.text} {piece.text}", current.x0, min(current.y0, piece.y0), piece.x1,
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
