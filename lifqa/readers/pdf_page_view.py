"""A page of a PDF as the app shows it: rendered to PNG, with a cited sentence's characters boxed.

Not part of reading a PDF into a Document (so not in the index's code fingerprint): the app calls it
to open a cited passage on its page.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lifqa.readers.build import clean_inline


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


__all__ = ["text_boxes", "render_page", "page_count"]
