"""``lifqa mcp`` driven by the MCP SDK's own client over stdio: tools, structured answers, errors."""

from __future__ import annotations

import pytest

import os
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

from lifqa.schema import AnswerOut, HitOut, SourceOut

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which receptor subunit does LIF share with IL-6?"


def server_params(index: Path) -> StdioServerParameters:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return StdioServerParameters(command=sys.executable, args=["-m", "lifqa.cli", "mcp", "--index", str(index)], env=env, cwd=str(ROOT))


def without_timings(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def test_tools_answer_with_the_ask_json_models(lif_index, engine):
    async def session_checks() -> None:
        async with stdio_client(server_params(lif_index)) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "lifqa" and "verbatim" in (init.instructions or "")
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) == {"ask", "search", "sources"}
            assert tools["ask"].input_schema["required"] == ["question"]
            assert set(tools["ask"].output_schema["properties"]) == set(AnswerOut.model_fields)

            result = await session.call_tool("ask", {"question": QUESTION, "k": 4})
            assert not result.is_error
            expected = AnswerOut.of(engine.ask(QUESTION, k=4)).model_dump(mode="json")
            assert without_timings(result.structured_content) == without_timings(expected)
            cited = result.structured_content["citations"][0]
            assert {"label", "title", "page_start", "doi", "text", "flags", "tier"} <= set(cited)
            assert QUESTION in result.content[0].text  # the same object as text, for clients without structured content

            result = await session.call_tool("search", {"query": "gp130", "k": 3, "mode": "bm25"})
            assert result.structured_content == {"hits": [HitOut.of(h).model_dump(mode="json")
                                                           for h in engine.search("gp130", k=3, mode="bm25")]}
            result = await session.call_tool("sources", {})
            assert result.structured_content == {"sources": [SourceOut.of(r).model_dump(mode="json") for r in engine.sources()]}
            doc_id = engine.sources()[0].document.doc_id
            result = await session.call_tool("sources", {"doc_id": doc_id})
            assert [s["doc_id"] for s in result.structured_content["sources"]] == [doc_id]

            for name, arguments, says in [
                ("ask", {"question": "   "}, "the question is empty"),
                ("ask", {"question": QUESTION, "mode": "magic"}, "Valid modes: bm25, dense, hybrid, hybrid+rerank"),
                ("ask", {"question": QUESTION, "k": 500}, "from 1 to 100"),
                ("ask", {"question": QUESTION, "min_tier": "platinum"}, "platinum"),
                ("ask", {"question": 42}, "question"),
                ("search", {"query": ""}, "empty"),
                ("sources", {"doc_id": "no-such-doc"}, "no source 'no-such-doc'"),
            ]:
                result = await session.call_tool(name, arguments)
                assert result.is_error and says in result.content[0].text, (name, arguments, result.content)
            result = await session.call_tool("ask", {"question": QUESTION})  # still serving after the errors
            assert not result.is_error and result.structured_content["citations"]

    anyio.run(session_checks)


@pytest.mark.slow
def test_a_missing_index_fails_before_the_handshake_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "lifqa.cli", "mcp", "--index", str(tmp_path / "none")], input="", capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1 and done.stdout == ""  # stdout is the protocol channel: nothing but JSON-RPC may go there
    assert done.stderr.strip().startswith("error: no index in") and "lifqa index --corpus" in done.stderr
