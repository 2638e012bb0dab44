"""Reading order and page furniture of a PDF's pages of lines.

A vertical gutter is looked for on each page; lines on either side of it are columns, read
left then right between the full-width lines above and below (titles, wide tables), so a
heading stays before the text under it. Lines that repeat at the top or bottom of pages
(running headers and footers, page numbers, licence lines) are found here so the reader can
move them to ``noise``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from lifqa.readers.pdf_extract import Line, Page

_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)


def reading_order(page: Page) -> list[Line]:
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
    out: list[Line] = []
    for wide in spanning:
        above = [l for l in pending if l.y1 > wide.y1 + 0.5]
        if above:
            out += _column_order(above)
            pending = [l for l in pending if l.y1 <= wide.y1 + 0.5]
        out.append(wide)
    return out + _column_order(pending)


def _column_order(lines: list[Line]) -> list[Line]:
    return _merge_rows(sorted(lines, key=lambda l: (l.column, -round(l.y1, 0), l.x0)))


def _merge_rows(lines: list[Line]) -> list[Line]:
    """Pieces of one row of a column (a reference number set apart from its entry, words in
    separate text objects) -> one line, pieces left to right. ``lines`` come sorted top-down."""
    rows: list[list[Line]] = []
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
        out.append(Line(main.page, " ".join(l.text for l in row), min(l.x0 for l in row), min(l.y0 for l in row),
                         max(l.x1 for l in row), max(l.y1 for l in row), main.size, all(l.bold for l in row), main.column))
    return out


def _gutter(page: Page) -> float | None:
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


def noise_keys(pages: list[Page]) -> tuple[set[str], set[int], set[int]]:
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
                key = mask_digits(line.text)
                if key and key not in seen:
                    seen.add(key)
                    counts[key] += 1
                if _PAGE_NUMBER.match(line.text.strip()):
                    page_numbers.add(id(line))
    need = 2 if len(pages) <= 4 else max(2, int(0.3 * len(pages)))
    return {key for key, n in counts.items() if n >= need}, page_numbers, edges


def mask_digits(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))
