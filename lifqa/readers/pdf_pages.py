"""Printed page numbers -> page labels, so a PDF is cited by the page its reader sees.

Many article PDFs carry their journal pagination only in the running header or
footer ("Page 9 of 11", "306", "Rehabilitation Research and Practice 3"), not as
PDF page labels. The reader already finds the lines at each page's edges; here
their numbers are matched against the physical page: a number that advances
with the page on most numbered pages (printed = physical + a fixed offset) is
the pagination. A run that does not advance consistently (a volume number, a
year, a figure's axis) is ignored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_ALONE = re.compile(r"^(?:page|p\.)?\s*(\d{1,5})(?:\s*(?:of|/)\s*(\d{1,5}))?$", re.I)
_PAGE_WORD = re.compile(r"\bpage\s+(\d{1,5})(?:\s+of\s+(\d{1,5}))?\b", re.I)
_LEADING = re.compile(r"^(\d{1,5})\s+(?=[^\W\d_])")  # "306 Clinical Science (2003) 104"
_TRAILING = re.compile(r"(?<=[^\W\d_]|[.)])\s+(\d{1,5})$")  # "Rehabilitation Research and Practice 3"
_EXTEND = 2  # unnumbered pages labelled beyond either end of a run (a first page printed without its number)


def _numbers(text: str) -> tuple[set[int], set[int]]:
    """Page-number candidates in one edge line, and any "of N" totals it states."""
    text = " ".join(text.split()).strip("-–—[]() ")  # "- 3 -", "[3]"
    found: set[int] = set()
    totals: set[int] = set()
    for pattern in (_ALONE, _PAGE_WORD):
        match = pattern.search(text) if pattern is _PAGE_WORD else pattern.match(text)
        if match:
            found.add(int(match.group(1)))
            if match.group(2):
                totals.add(int(match.group(2)))
    for pattern in (_LEADING, _TRAILING):
        match = pattern.search(text)
        if match:
            found.add(int(match.group(1)))
    return {n for n in found if n > 0}, totals


def printed_page_labels(edge_lines: Sequence[Sequence[str]], pdf_labels: Sequence[str] = ()) -> tuple[str, ...]:
    """Page labels for a document whose page ``i`` has the edge lines ``edge_lines[i]``.

    The printed numbers when they form a consistent run (at least two pages, and at
    least half the pages that print a number agree on the offset); pages between
    numbered ones are filled in, and up to two beyond either end unless an "of N"
    total shows the file is an excerpt of a longer article. Otherwise, or where the
    run gives no label, the PDF's own labels (those that differ from the physical number).
    """
    count = len(edge_lines)
    fallback = tuple(pdf_labels[i] if i < len(pdf_labels) else "" for i in range(count))
    candidates: list[set[int]] = []
    totals: set[int] = set()
    for lines in edge_lines:
        numbers: set[int] = set()
        for line in lines:
            found, stated = _numbers(line)
            numbers |= found
            totals |= stated
        candidates.append(numbers)
    offsets: Counter[int] = Counter()
    for index, numbers in enumerate(candidates):
        offsets.update({n - (index + 1) for n in numbers})
    numbered = sum(1 for numbers in candidates if numbers)
    if not offsets:
        return fallback
    (offset, agree), = offsets.most_common(1)
    if agree < 2 or agree * 2 < numbered or offset == 0:
        return fallback  # no run, or the printed numbers are the physical ones (nothing to add)
    matched = [i for i, numbers in enumerate(candidates) if i + 1 + offset in numbers]
    first, last = matched[0], matched[-1]
    excerpt = bool(totals) and count not in totals
    if not excerpt:
        first, last = max(0, first - _EXTEND), min(count - 1, last + _EXTEND)
    # a PDF label that only repeats the physical number says nothing; beside a printed run it would
    # make a passage across the excerpt's pages 1 and 2 read "pp. 1–9"
    labels = ["" if label == str(i + 1) else label for i, label in enumerate(fallback)]
    for index in range(first, last + 1):
        if index + 1 + offset >= 1:
            labels[index] = str(index + 1 + offset)
    return tuple(labels)


__all__ = ["printed_page_labels"]
