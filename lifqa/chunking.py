"""Split normalised text into sentences and sentence-aligned chunks.

Sentence splitting is a small regex splitter rather than a library (pysbd,
nltk): it must return exact character offsets into the normalised text, run on
millions of sentences, and need no downloaded data. Line breaks always end a
sentence, because normalised web text puts headings, bullets and table rows on
lines of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from lifqa.types import Chunk, Document

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "et al", "al", "vs", "fig", "figs", "dr", "mr", "mrs", "ms", "prof", "cf", "approx", "no",
    "ca", "inc", "ltd", "co", "corp", "vol", "pp", "p", "eq", "ref", "refs", "resp", "st", "chr", "jr", "sr",
    "spp", "sp", "var", "subsp", "min", "max", "mol", "wt", "ed", "eds", "etc",
}
# The lookbehind and possessive quantifiers keep splitting linear: without them a
# line of 100,000 dots takes minutes (each dot restarts a backtracking scan).
_BOUNDARY = re.compile(r"""(?<![.!?…])[.!?…]++["')\]’”]*+\s++(?=["'(\[‘“]?[A-Z0-9α-ωΑ-Ω•\-])""")
_LIST_NUMBER = re.compile(r"\s*\d{1,3}")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")
_BULLET = re.compile(r"^\s*(?:[-*•·▸]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str
    is_heading: bool = False


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` with offsets; ``text[s.start:s.end] == s.text`` always."""
    out: list[Sentence] = []
    lines = list(_lines(text))
    for index, (line_start, line) in enumerate(lines):
        following = lines[index + 1][1] if index + 1 < len(lines) else ""
        heading = is_heading(line, following)
        for start, end in _line_sentences(line):
            out.append(Sentence(line_start + start, line_start + end, line[start:end], heading))
    return out


def _lines(text: str) -> Iterator[tuple[int, str]]:
    position = 0
    for line in text.split("\n"):
        if line.strip():
            yield position, line
        position += len(line) + 1


def _line_sentences(line: str) -> Iterator[tuple[int, int]]:
    start = len(line) - len(line.lstrip())
    for match in _BOUNDARY.finditer(line):
        candidate_end = match.start() + len(match.group(0).rstrip())
        if _LIST_NUMBER.fullmatch(line, start, match.start()):
            continue  # a list number such as "1. The Hidden Project Manager"
        before = _word_before(line, start, match.start())
        if before:
            word = before.lower().rstrip(".")
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue  # "e.g. X", "et al. X", an initial as in "Zhou, W. Diemer"
        if candidate_end > start:
            yield start, candidate_end
        start = match.end()
    end = len(line.rstrip())
    if end > start:
        yield start, end


def _word_before(line: str, start: int, end: int) -> str:
    """The ASCII word (letters and dots, starting with a letter) that ends at ``end``.

    A backward scan instead of a ``[A-Za-z][A-Za-z.]*$`` search, which is
    quadratic on a long run of letters that ends in a digit.
    """
    first = end
    while first > start and line[first - 1] in _WORD_CHARS:
        first -= 1
    while first < end and line[first] == ".":
        first += 1
    return line[first:end]


def is_heading(line: str, following: str = "") -> bool:
    """A short title-like line followed by body text: a section heading."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return True
    if not _heading_like(stripped):
        return False
    nxt = following.strip()
    return bool(nxt) and not _heading_like(nxt)


def _heading_like(line: str) -> bool:
    if not line or len(line) > 80 or len(line.split()) > 10:
        return False
    if line[-1] in ".;,!?:" or line.startswith(("-", "*", "•", "|", "[", "(")):
        return False
    if ": " in line and not re.match(r"^\d+\.\s", line):
        return False  # a "label: value" row, unless a numbered heading like "1. The Signal: LIF"
    return line[0].isupper() or line[0].isdigit()


def heading_text(line: str) -> str:
    return line.strip().lstrip("#").strip()


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Whole-sentence chunks of about ``chunk_size`` characters, restarting at headings.

    Consecutive chunks of one section share trailing sentences up to
    ``chunk_overlap`` characters. A sentence longer than four chunk sizes (a
    run-on line without punctuation) is cut at spaces so one bad line cannot
    make a giant chunk.

    When the reader knows the document's sections (JATS, PDF), a chunk never
    crosses a section boundary (a caption stays its own passage), takes the
    section's full path as its ``section``, and reference lists are left out:
    their entries are never answer sentences. Paginated documents give each
    chunk its pages.
    """
    sentences = _cap_length(split_sentences(doc.text), doc.text, 4 * chunk_size)
    known = [(s.start, s.end, s.title, s.kind) for s in doc.sections]
    if known:
        sentences = [s for s in sentences if _known_section(known, s.start)[3] != "references"]
    chunks: list[Chunk] = []
    current: list[Sentence] = []
    section = ""
    current_known: tuple[int, int, str, str] | None = None

    def flush(keep_overlap: bool) -> list[Sentence]:
        if not current:
            return []
        start, end = current[0].start, current[-1].end
        page_start, page_end, page_label = doc.page_span(start, end)
        chunks.append(Chunk(
            chunk_id=f"{doc.doc_id}#{len(chunks)}",
            doc_id=doc.doc_id,
            text=doc.text[start:end],
            char_start=start,
            char_end=end,
            section=current_known[2] if current_known is not None and current_known[2] else section,
            position=len(chunks),
            page_start=page_start,
            page_end=page_end,
            page_label=page_label,
        ))
        if not keep_overlap or chunk_overlap == 0:
            return []
        kept: list[Sentence] = []
        for sentence in reversed(current[1:]):
            if sum(s.end - s.start for s in kept) + sentence.end - sentence.start > chunk_overlap:
                break
            kept.insert(0, sentence)
        return kept

    for sentence in sentences:
        if known:
            here = _known_section(known, sentence.start)
            if here != current_known:
                if any(not s.is_heading for s in current):  # headings alone go on with the section under them
                    current = flush(keep_overlap=False)
                current_known = here
        if sentence.is_heading:
            # a run of headings longer than a chunk (a long table of contents) is cut too,
            # so it cannot grow into one giant chunk
            if any(not s.is_heading for s in current) or (current and sentence.end - current[0].start > chunk_size):
                current = flush(keep_overlap=False)
            section = heading_text(sentence.text)
            current.append(sentence)
            continue
        size = (sentence.end - current[0].start) if current else 0
        if current and size > chunk_size and any(not s.is_heading for s in current):
            overlap = flush(keep_overlap=True)
            current = overlap
        current.append(sentence)
    flush(keep_overlap=False)
    return chunks


_NO_SECTION = (0, 0, "", "")


def _known_section(known: list[tuple[int, int, str, str]], offset: int) -> tuple[int, int, str, str]:
    """The innermost reader-known section holding ``offset`` (sections are in text order)."""
    found = _NO_SECTION
    for section in known:
        if section[0] > offset:
            break
        if offset < section[1]:
            found = section
    return found


def _cap_length(sentences: list[Sentence], text: str, limit: int) -> list[Sentence]:
    out = []
    for sentence in sentences:
        if sentence.end - sentence.start <= limit:
            out.append(sentence)
            continue
        start = sentence.start
        while start < sentence.end:
            end = min(sentence.end, start + limit)
            if end < sentence.end:
                space = text.rfind(" ", start + limit // 2, end)
                end = space if space > start else end
            piece_end = end
            while piece_end > start and text[piece_end - 1].isspace():
                piece_end -= 1
            if piece_end > start:
                out.append(Sentence(start, piece_end, text[start:piece_end], sentence.is_heading))
            start = end
            while start < sentence.end and text[start].isspace():
                start += 1
    return out


def retrieval_text(doc: Document, chunk: Chunk) -> str:
    """What BM25 and the encoder see: the chunk with its document title and section as context."""
    return f"{context_line(doc, chunk)}\n{chunk.text}"


def context_line(doc: Document, chunk: Chunk) -> str:
    """The title (and section, unless the chunk opens with it) that :func:`retrieval_text` puts before a chunk."""
    if chunk.section and not chunk.text.startswith(chunk.section) and chunk.section != doc.title:
        return f"{doc.title}\n{chunk.section}"
    return doc.title
