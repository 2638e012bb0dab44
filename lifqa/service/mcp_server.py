"""``lifqa mcp``: the index as Model Context Protocol tools over stdio, for AI assistants.

Three tools, each returning structured content in the models of lifqa.schema (the
``ask --json`` shapes): ``ask`` (verbatim answer sentences, their citations with label,
title, page, DOI and passage text, and every source's flags), ``search`` (ranked
passages) and ``sources`` (the sources with tiers and flags). An assistant can then
quote the user's own library instead of inventing citations. Bad input comes back as a
tool error with the same message the command line gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, Field

from lifqa.errors import InputError, LifqaError
from lifqa.schema import AnswerOut, HitOut, SourceOut
from lifqa.settings import MODES

INSTRUCTIONS = ("Answers from the user's own literature library. `ask` returns sentences copied verbatim from the sources, "
                "each with [n] citations (label, title, page, DOI, the passage) and each source's reliability flags; when "
                "`abstained` is true, no source supports an answer: say so instead of answering from memory. Quote the "
                "sentences and cite them as given.")


class SearchResult(BaseModel):
    hits: list[HitOut] = Field(description="ranked passages, best first")


class SourcesResult(BaseModel):
    sources: list[SourceOut]


def build_server(engine: Any) -> Any:
    """An MCPServer whose tools answer from ``engine``."""
    import anyio
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from lifqa import __version__

    server = MCPServer("lifqa", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    async def call(fn: Callable[[], Any]) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn)
        except LifqaError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(description="Answer a question from the library: verbatim sentences, each cited, with every source's "
                             f"reliability flags. mode: one of {', '.join(MODES)}; k: passages (1-100).")
    async def ask(question: str, k: int | None = None, mode: str | None = None, exclude: list[str] | None = None,
                  min_tier: str | None = None, tags: list[str] | None = None, collections: list[str] | None = None) -> AnswerOut:
        options = _options(k, mode, exclude, min_tier, tags, collections)
        return await call(lambda: AnswerOut.of(engine.ask(question, **options)))

    @server.tool(description="Ranked passages of the library for a query, without an answer.")
    async def search(query: str, k: int | None = None, mode: str | None = None, exclude: list[str] | None = None,
                     min_tier: str | None = None, tags: list[str] | None = None, collections: list[str] | None = None) -> SearchResult:
        options = _options(k, mode, exclude, min_tier, tags, collections)
        return await call(lambda: SearchResult(hits=[HitOut.of(h) for h in engine.search(query, **options)]))

    @server.tool(description="The library's sources with bibliographic data, reliability tier, the tier's reasons and flags; "
                             "doc_id: only that source.")
    async def sources(doc_id: str | None = None) -> SourcesResult:
        def listing() -> SourcesResult:
            if doc_id is None:
                return SourcesResult(sources=[SourceOut.of(r) for r in engine.sources()])
            if doc_id not in engine.store.doc_index:
                raise InputError(f"no source '{doc_id[:200]}' in this index; call sources without doc_id to list them")
            return SourcesResult(sources=[SourceOut.of(engine.source(doc_id))])

        return await call(listing)

    return server


def _options(k: int | None, mode: str | None, exclude: list[str] | None, min_tier: str | None, tags: list[str] | None,
             collections: list[str] | None) -> dict[str, Any]:
    return {"k": k, "mode": mode, "exclude_flags": exclude or (), "min_tier": min_tier, "tags": tags or (),
            "collections": collections or ()}


def run_stdio(index_dir: Path) -> None:
    """Open the index (a missing or damaged one fails here, before the handshake) and serve on stdin/stdout."""
    try:
        import anyio
        import mcp  # noqa: F401
    except ImportError:
        raise InputError("lifqa mcp needs the MCP SDK: pip install 'lifqa[serve]'") from None
    from lifqa.engine import Engine

    server = build_server(Engine.open(index_dir))
    anyio.run(server.run_stdio_async)


__all__ = ["build_server", "run_stdio"]
