"""A PDF's lines in reading order -> paragraphs, headings and reference entries -> the document text.

Lines join into paragraphs by spacing and font; a line-end hyphen is joined or kept by the
document's own vocabulary ("immuno-|logical" -> "immunological", but "IL-|6", "N-|terminal",
"gp130-|dependent" keep theirs); the reference list becomes a "references" section, one entry
per line. Every paragraph records the page it starts on, so each character offset of the text
maps to its physical page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from lifqa.readers.pdf_extract import Line
from lifqa.types import Section

_HYPHENS = ("-", "\u2010", "\u00ad", "\u2011")
_REF_HEADING = re.compile(r"^\s*(?:\d+\.?\s*)?(references|bibliography|literature cited|works cited|reference list|cited literature)\s*:?\s*$", re.I)
_REF_MARKER = re.compile(r"^\s*(?:\[\d{1,4}\]|\d{1,4}[.)]?\s+(?=[A-Z]))")
_WORD = re.compile(r"[^\W\d_][\w]*", re.U)


def body_text_size(lines: list[Line]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def document_vocabulary(lines: list[Line]) -> tuple[set[str], set[str]]:
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


def _is_heading(line: Line, body: float) -> bool:
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


def paragraphs_of(lines: list[Line], page_body: dict[int, float], vocabulary: set[str], compounds: set[str]) -> list[_Paragraph]:
    """Lines -> paragraphs, headings and reference entries; sizes are judged against the body size
    of the line's own page (a reference list is set smaller than the text)."""
    out: list[_Paragraph] = []
    current: _Paragraph | None = None
    prev: Line | None = None
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


def _breaks(prev: Line, line: Line, body: float, current: _Paragraph) -> bool:
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


def assemble_text(paragraphs: list[_Paragraph], page_count: int) -> tuple[str, list[int], list[Section]]:
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
