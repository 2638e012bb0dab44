"""Immutable records that flow one way: Document -> Chunk -> Hit -> Citation -> Answer.

Frozen dataclasses (not pydantic models) because thousands of them are made per
query on a large corpus; validation happens at the edges (settings, readers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "mode": self.mode,
            "support": self.support,
            "timings_ms": dict(self.timings_ms),
            "notices": list(self.notices),
            "conflicts": [dict(c) for c in self.conflicts],
        }
