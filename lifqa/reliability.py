"""Reliability flags per source and cross-source fact conflicts (filled in by the reliability issue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from lifqa.types import Chunk, Document, Flag

TIERS = ("high", "medium", "low", "unknown")


@dataclass(frozen=True)
class SourceAssessment:
    doc_id: str
    tier: str
    flags: tuple[Flag, ...]


def assess_sources(documents: Iterable[Document]) -> dict[str, SourceAssessment]:
    return {doc.doc_id: SourceAssessment(doc.doc_id, "unknown", ()) for doc in documents}


def find_conflicts(documents: Iterable[Document]) -> list[dict[str, Any]]:
    return []


def passage_flags(chunk: Chunk, source: Any) -> tuple[Flag, ...]:
    return ()
