"""Immutable records that flow one way: Document -> Chunk -> Hit -> Citation -> Answer.

Frozen dataclasses (not pydantic models) because thousands of them are made per
query on a large corpus; validation happens at the edges (settings, readers).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

SECTION_KINDS = ("body", "abstract", "caption", "table", "references", "sub-article", "front")


@dataclass(frozen=True, slots=True)
class Section:
    """A span of Document.text that a reader knows the structure of (from markup or layout)."""

    title: str  # the full section path, e.g. "Results › Architecture of the complex"
    start: int
    end: int
    kind: str = "body"  # one of SECTION_KINDS; "references" is never chunked into passages


@dataclass(frozen=True, slots=True)
class Document:
    """One source text after normalisation, with the curator's metadata."""

    doc_id: str
    title: str
    text: str  # normalised text; every Chunk span indexes into it
    source_path: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str = ""  # sha256 of the normalised text, used for fingerprints and duplicates
    also_named: tuple[str, ...] = ()  # other file names with identical content (indexed once)
    noise: tuple[str, ...] = ()  # what normalisation removed (markup, chrome, repeated blocks), verbatim
    # Structure from the reader: page i+1 starts at text offset page_starts[i] (empty: not paginated);
    # printed page labels where the PDF defines them; sections known from markup or layout.
    page_starts: tuple[int, ...] = ()
    page_labels: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()

    def page_at(self, offset: int) -> int:
        """The 1-based physical page holding text offset ``offset`` (0 when not paginated)."""
        return bisect_right(self.page_starts, offset) if self.page_starts else 0

    def page_span(self, start: int, end: int) -> tuple[int, int, str]:
        """(page_start, page_end, page_label) of the text span [start, end)."""
        first, last = self.page_at(start), self.page_at(max(start, end - 1))
        if not first:
            return 0, 0, ""
        labels = [self.page_labels[p - 1] if p - 1 < len(self.page_labels) else "" for p in (first, last)]
        label = labels[0] if first == last or not labels[1] else f"{labels[0]}–{labels[1]}"
        return first, last, label if labels[0] else ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole sentences from one document, with its exact character span."""

    chunk_id: str
    doc_id: str
    text: str
    char_start: int
    char_end: int
    section: str = ""
    position: int = 0  # ordinal of the chunk inside its document
    page_start: int = 0  # 1-based physical pages of a paginated source (PDF); 0 = not paginated
    page_end: int = 0
    page_label: str = ""  # printed page label(s) where the PDF defines them


@dataclass(frozen=True, slots=True)
class Flag:
    """One reliability judgement about a source or passage, always with evidence."""

    kind: str
    severity: str  # "info" | "low" | "medium" | "high"; "info" is used for positive flags
    reason: str
    evidence: str  # a verbatim quote from the document, or "metadata:<field>"
    offset: int | None = None  # character offset of the evidence in Document.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk retrieved for a query, with every score that led to its rank."""

    chunk: Chunk
    score: float  # the score the final ranking used
    bm25: float = 0.0
    dense: float = 0.0
    fused: float = 0.0
    rerank: float | None = None
    rank: int = 0


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage an answer relies on, resolved by code to its source."""

    key: int  # the [n] marker used in the answer text
    doc_id: str
    title: str
    chunk_id: str
    section: str
    text: str
    char_start: int
    char_end: int
    score: float
    tier: str = "unknown"
    flags: tuple[Flag, ...] = ()
    page_start: int = 0
    page_end: int = 0
    page_label: str = ""
    # From the source's library metadata when known (lifqa.references): the label shown beside [n].
    label: str = ""  # e.g. "Datta et al. 2010, p. 9"; "" when the source has neither authors+year nor a citation key
    citation_key: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    doi: str = ""
    journal: str = ""

    @property
    def pages(self) -> str:
        """"p. 9" or "pp. 9–10" (printed labels when the PDF has them); "" when not paginated."""
        return page_text(self.page_start, self.page_end, self.page_label)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["flags"] = [flag.to_dict() for flag in self.flags]
        return out


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One verbatim sentence of the answer and the citation keys that support it."""

    text: str
    citation_keys: tuple[int, ...]
    char_start: int = 0  # span of the sentence inside the cited chunk's text
    char_end: int = 0
    disputed_by: tuple[Mapping[str, Any], ...] = ()  # other values of a fact this sentence states, from other cited sources


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The exact words inside one answer sentence that answer the question ("3976"): a verbatim slice of it."""

    text: str
    sentence: int  # index into Answer.sentences
    char_start: int  # span inside that sentence's text
    char_end: int
    score: float  # the span reader's probability for this span against 'no answer in this sentence'; 1.0 for a row
    method: str = "reader"  # "reader": marked by the span reader; "row": the value of a labelled row the question names


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``Engine.ask`` returns: the answer, its evidence, and how it was made."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    mode: str
    sentences: tuple[AnswerSentence, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    conflicts: tuple[Mapping[str, Any], ...] = ()
    support: float = 0.0  # reranker probability of the best passage; below the threshold means abstain
    short_answer: ShortAnswer | None = None  # only when the span reader is confident (lifqa.answer.short)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "mode": self.mode,
            "support": self.support,
            "short_answer": asdict(self.short_answer) if self.short_answer else None,
            "timings_ms": dict(self.timings_ms),
            "notices": list(self.notices),
            "conflicts": [dict(c) for c in self.conflicts],
        }


def page_text(page_start: int, page_end: int, page_label: str = "") -> str:
    """"p. 9" / "pp. 9–10" for a passage's pages; the printed label when there is one."""
    if not page_start:
        return ""
    if page_label:
        return f"pp. {page_label}" if "–" in page_label else f"p. {page_label}"
    return f"p. {page_start}" if page_end <= page_start else f"pp. {page_start}–{page_end}"
