"""Plain-text renderings of answers, sources and conflicts for the terminal."""

from __future__ import annotations

import textwrap
from typing import Any, Iterable

from lifqa.index.store import SourceRecord
from lifqa.types import Answer


def answer_text(answer: Answer, width: int = 100) -> str:
    lines = []
    for notice in answer.notices:
        lines.append(f"note: {notice}")
    lines.append(textwrap.fill(answer.answer, width))
    lines.append("")
    cited = {key for s in answer.sentences for key in s.citation_keys}
    heading = "Closest passages (none supports an answer):" if answer.abstained else "Sources:"
    lines.append(heading)
    for c in answer.citations:
        marker = "*" if c.key in cited else " "
        flags = ", ".join(sorted({f.kind for f in c.flags})) or "no flags"
        lines.append(f"{marker}[{c.key}] {c.title} — {c.section or '(start)'}  (score {c.score:.3f}; tier {c.tier}; {flags})")
        lines.append(f"     {c.doc_id} chars {c.char_start}-{c.char_end}: " + _clip(c.text, 160))
    for conflict in answer.conflicts:
        lines.append("")
        lines.append("conflict: " + conflict_line(conflict))
    lines.append("")
    lines.append(f"mode {answer.mode}; support {answer.support:.2f}; {answer.timings_ms.get('total_ms', 0):.0f} ms")
    return "\n".join(lines)


def sources_text(records: Iterable[SourceRecord]) -> str:
    lines = []
    for record in records:
        doc = record.document
        lines.append(f"{doc.doc_id}  [{record.tier}]  {doc.title}")
        meta = ", ".join(f"{k}: {v}" for k, v in doc.metadata.items() if k in ("publisher", "doc_type", "date", "url", "doi", "licence"))
        if meta:
            lines.append(f"    {meta}")
        for flag in record.flags:
            where = f" @{flag.offset}" if flag.offset is not None else ""
            lines.append(f"    - {flag.kind} ({flag.severity}): {flag.reason}")
            lines.append(f"      evidence{where}: \"{_clip(flag.evidence, 140)}\"")
        lines.append("")
    return "\n".join(lines).rstrip()


def conflict_line(conflict: dict[str, Any]) -> str:
    values = "; ".join(f"{v['value']} ({', '.join(v['doc_ids'])})" for v in conflict.get("values", []))
    note = f" — {conflict['note']}" if conflict.get("note") else ""
    return f"{conflict.get('field')}: {values}{note}"


def conflicts_text(conflicts: list[dict[str, Any]]) -> str:
    if not conflicts:
        return "No conflicting facts found between sources."
    return "\n".join(conflict_line(c) for c in conflicts)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
