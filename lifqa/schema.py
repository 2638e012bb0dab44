"""The JSON lifqa prints and serves: one pydantic model per record.

``ask --json``, ``search --json``, ``sources --json``, the HTTP API (``lifqa serve``)
and the MCP tools (``lifqa mcp``) all dump these models, so the shapes cannot drift
apart. The engine's records stay frozen dataclasses (thousands are made per query);
these models are made once per response, at the edge. ``extra="forbid"``: a field
added to a record's ``to_dict`` but not here fails loudly instead of vanishing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lifqa.types import Answer, Hit


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlagOut(_Out):
    """One reliability judgement, always with its evidence."""

    kind: str
    severity: str = Field(description="info, low, medium or high; info marks a positive flag")
    reason: str
    evidence: str = Field(description="a verbatim quote from the source, or metadata:<field>")
    offset: int | None = Field(None, description="character offset of the evidence in the source's text")


class CitationOut(_Out):
    """A passage the answer relies on, resolved to its source."""

    key: int = Field(description="the [n] marker in the answer text")
    doc_id: str
    title: str
    chunk_id: str
    section: str
    text: str = Field(description="the passage, verbatim")
    char_start: int
    char_end: int
    score: float
    tier: str = Field(description="reliability tier of the source: high, medium, low or unknown")
    flags: list[FlagOut]
    page_start: int = Field(description="first physical page (1-based); 0 when the source is not paginated")
    page_end: int
    page_label: str = Field(description="printed page label(s) where the PDF defines them")
    label: str = Field(description='e.g. "Datta et al. 2010, p. 9"; "" without authors and year')
    citation_key: str
    authors: list[str]
    year: int | None
    doi: str
    journal: str


class SentenceOut(_Out):
    """One verbatim sentence of the answer and the citations that support it."""

    text: str
    citation_keys: list[int]
    char_start: int = Field(description="span of the sentence inside the cited passage's text")
    char_end: int
    disputed_by: list[dict[str, Any]] = Field(description="other values of a fact this sentence states, from other sources")


class ShortAnswerOut(_Out):
    """The exact words inside one answer sentence that answer the question, a verbatim slice of it."""

    text: str = Field(description='e.g. "3976"; always sentences[sentence].text[char_start:char_end]')
    sentence: int = Field(description="index into the answer's sentences")
    char_start: int = Field(description="span of the short answer inside that sentence's text")
    char_end: int
    score: float = Field(description="the span reader's probability for this span against 'no answer in this sentence'; shown from the threshold chosen on train; 1.0 for a labelled row's value")
    method: Literal["reader", "row"] = Field(description="'reader': marked by the span reader; 'row': the value of a "
                                             "labelled row (\"Entrez 3976\") whose label the question names")


class AnswerOut(_Out):
    """What ``ask`` returns: verbatim sentences, their citations, and the flags of every source."""

    question: str
    answer: str = Field(description="the answer sentences with [n] markers, or why there is no answer")
    abstained: bool = Field(description="true when no passage supports an answer")
    citations: list[CitationOut]
    sentences: list[SentenceOut]
    mode: str
    support: float = Field(description="probability that the best passage answers the question")
    short_answer: ShortAnswerOut | None = Field(description="the exact words that answer the question, inside one answer "
                                                "sentence; null when the span reader is not confident, for why/how/definition "
                                                "questions, and when the answer abstained")
    timings_ms: dict[str, float]
    notices: list[str]
    conflicts: list[dict[str, Any]] = Field(description="facts on which cited sources disagree")

    @classmethod
    def of(cls, answer: Answer) -> "AnswerOut":
        return cls.model_validate(answer.to_dict())


class HitOut(_Out):
    """One ranked passage of ``search``, with every score that led to its rank."""

    rank: int
    chunk_id: str
    doc_id: str
    section: str
    score: float
    bm25: float
    dense: float
    fused: float
    rerank: float | None
    text: str
    page_start: int
    page_end: int
    page_label: str

    @classmethod
    def of(cls, hit: Hit) -> "HitOut":
        c = hit.chunk
        return cls(rank=hit.rank, chunk_id=c.chunk_id, doc_id=c.doc_id, section=c.section, score=hit.score, bm25=hit.bm25,
                   dense=hit.dense, fused=hit.fused, rerank=hit.rerank, text=c.text, page_start=c.page_start,
                   page_end=c.page_end, page_label=c.page_label)


class SourceOut(_Out):
    """A source with its bibliographic reference, reliability tier, the tier's reasons and each flag."""

    doc_id: str
    title: str
    citation_key: str
    authors: list[str]
    year: int | None
    doi: str
    journal: str
    metadata: dict[str, Any]
    tier: str
    tier_reasons: list[str]
    flags: list[FlagOut]

    @classmethod
    def of(cls, record: Any) -> "SourceOut":
        """From an index's SourceRecord (lifqa.index.store)."""
        from lifqa.references import reference_of
        from lifqa.reliability import explain_tier

        doc = record.document
        ref = reference_of(doc.doc_id, doc.title, doc.metadata)
        return cls(doc_id=doc.doc_id, title=doc.title, citation_key=ref.citation_key, authors=list(ref.authors), year=ref.year,
                   doi=ref.doi, journal=ref.journal, metadata=dict(doc.metadata), tier=record.tier,
                   tier_reasons=list(explain_tier(record.flags, doc)[1]), flags=[FlagOut(**f.to_dict()) for f in record.flags])


class SourceTextOut(SourceOut):
    """One source as ``GET /sources/{doc_id}`` gives it: the listing's record plus its normalised text."""

    text: str

    @classmethod
    def of(cls, record: Any) -> "SourceTextOut":
        return cls(**SourceOut.of(record).model_dump(), text=record.document.text)


def dump(model: BaseModel | list[BaseModel]) -> Any:
    """Plain JSON-ready data of a model (or a list of them), in field order."""
    if isinstance(model, list):
        return [m.model_dump(mode="json") for m in model]
    return model.model_dump(mode="json")


__all__ = ["AnswerOut", "CitationOut", "FlagOut", "HitOut", "SentenceOut", "ShortAnswerOut", "SourceOut", "SourceTextOut", "dump"]
