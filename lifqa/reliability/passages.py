"""Flags of one passage beyond its source's: inside an off-topic section, or citing a key the
reference list resolves to a DOI (positive), cannot trace, or does not hold at all.

Computed at build for every chunk from the document's analysis and stored with the chunk
(``chunks.flags`` in the store); a query reads the stored flags.
"""

from __future__ import annotations

from typing import Sequence

from lifqa.reliability.structure import (
    DocumentAnalysis,
    checkable_key,
    is_own_symbol,
    quote_around,
    resolve_key,
    symbols,
)
from lifqa.reliability.tiers import MAX_PER_KIND
from lifqa.types import Chunk, Document, Flag


def chunk_flags(chunks: Sequence[Chunk], doc: Document, analysis: DocumentAnalysis) -> tuple[tuple[Flag, ...], ...]:
    """The passage flags of each of a document's chunks, from its analysis (the build's call)."""
    return tuple(_flags_of(chunk, doc.text, analysis) for chunk in chunks)


def _flags_of(chunk: Chunk, text: str, analysis: DocumentAnalysis) -> tuple[Flag, ...]:
    out = []
    length = max(1, chunk.char_end - chunk.char_start)
    for run in analysis.off_topic:
        overlap = min(chunk.char_end, run.end) - max(chunk.char_start, run.start)
        if overlap * 2 < length:
            continue
        lo, hi = max(chunk.char_start, run.start), min(chunk.char_end, run.end)
        mention = next(((tok, pos + lo) for tok, pos in symbols(text[lo:hi]) if not is_own_symbol(tok, analysis.subjects)), None)
        at = mention[1] if mention else lo
        offset, quote = quote_around(text, at, at + (len(mention[0]) if mention else 1), analysis)
        out.append(Flag("off_topic_content", "medium",
                        f"this passage lies in a part of the document that never names {run.subject} and is about {run.symbol}",
                        quote, offset))
    positive = negative = 0
    for cite in analysis.citations:
        if not chunk.char_start <= cite.start < chunk.char_end:
            continue
        for key in cite.keys:
            entry = resolve_key(key, cite.style, text, analysis.entries)
            if entry is not None and entry.doi and positive < MAX_PER_KIND:
                positive += 1
                out.append(Flag("cites_sources", "info", f"this passage cites {key}, which the reference list resolves to doi:{entry.doi}",
                                cite.text, cite.start))
            elif entry is None and checkable_key(cite, analysis.entries) and negative < MAX_PER_KIND:
                negative += 1
                out.append(Flag("unverifiable_references", "medium", f"this passage cites {key}, which no reference-list entry matches",
                                cite.text, cite.start))
            elif entry is not None and not entry.checkable and negative < MAX_PER_KIND:
                negative += 1
                out.append(Flag("unverifiable_references", "low", f"this passage cites {key}, whose reference cannot be traced (no DOI, initials-only authors)",
                                cite.text, cite.start))
    return tuple(out)
