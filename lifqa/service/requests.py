"""Request bodies of the HTTP API: the options of ``lifqa ask``/``search``/``batch``, by the same names.

Unknown fields are refused (a misspelt option must not be ignored silently). Values are
checked by the engine itself (mode, k, flag kinds, tiers, tags), so a bad value gets the
same message over HTTP as on the command line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lifqa.settings import MODES

ASK_FORMATS = ("json", "text", "markdown", "bibtex", "ris", "csl-json")


class QueryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int | None = Field(None, description="passages to return, 1-100 (default 5)")
    mode: str | None = Field(None, description=f"retrieval mode: {', '.join(MODES)} (default hybrid+rerank)")
    exclude: list[str] = Field(default_factory=list, description="flag kinds whose sources are left out, e.g. ai_generated")
    min_tier: str | None = Field(None, description="leave out sources below this tier: high, medium or low")
    tags: list[str] = Field(default_factory=list, description="only sources with any of these library tags")
    collections: list[str] = Field(default_factory=list, description="only sources in any of these library collections")

    def engine_options(self) -> dict[str, Any]:
        return {"k": self.k, "mode": self.mode, "exclude_flags": self.exclude, "min_tier": self.min_tier,
                "tags": self.tags, "collections": self.collections}


class AskRequest(QueryOptions):
    question: str = Field(description="the question, in words")
    format: Literal["json", "text", "markdown", "bibtex", "ris", "csl-json"] = Field(
        "json", description="json (the ask --json object), text, markdown, or the cited sources as bibtex, ris or csl-json")


class SearchRequest(QueryOptions):
    query: str


class BatchQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    question: str


class BatchRequest(QueryOptions):
    questions: list[str | BatchQuestion] = Field(description="questions, or {id, question} objects; ids default to 1, 2, ...")
    batch_size: int = Field(32, ge=1, le=256, description="questions encoded together")


__all__ = ["ASK_FORMATS", "AskRequest", "BatchQuestion", "BatchRequest", "QueryOptions", "SearchRequest"]
