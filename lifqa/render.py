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
        pages = f", {c.pages}" if c.pages and not c.label.endswith(c.pages) else ""  # a label already names its pages
        label = f"{c.label} · " if c.label else ""
        lines.append(f"{marker}[{c.key}] {label}{c.title}{pages} — {c.section or '(start)'}  (score {c.score:.3f}; tier {c.tier}; {flags})")
        lines.append(f"     {c.doc_id} chars {c.char_start}-{c.char_end}: " + _clip(c.text, 160))
    for conflict in answer.conflicts:
        lines.append("")
        kind = "sources disagree" if conflict.get("status", "conflict") == "conflict" else "sources differ (benign)"
        where = "in the answer" if conflict.get("in_answer") else "in a cited passage"
        lines.append(f"{kind}, {where}: " + conflict_line(conflict))
    lines.append("")
    lines.append(f"mode {answer.mode}; support {answer.support:.2f}; {answer.timings_ms.get('total_ms', 0):.0f} ms")
    return "\n".join(lines)


def sources_text(records: Iterable[SourceRecord]) -> str:
    """Every source with its tier, why it got that tier, and each flag with its evidence."""
    from lifqa.reliability import explain_tier

    lines = []
    for record in records:
        doc = record.document
        lines.append(f"{doc.doc_id}  [{record.tier}]  {doc.title}")
        meta = ", ".join(f"{k}: {v}" for k, v in doc.metadata.items() if k in ("publisher", "doc_type", "date", "url", "doi", "licence"))
        if meta:
            lines.append(f"    {meta}")
        lines.append("    tier: " + "; ".join(explain_tier(record.flags, doc)[1]))
        for flag in record.flags:
            lines.append(f"    - {flag.kind} ({flag.severity}): {flag.reason}")
            lines.append(f"      evidence {_where(flag.evidence, flag.offset)}: {_evidence(flag.evidence)}")
        if not record.flags:
            lines.append("    no flags")
        lines.append("")
    return "\n".join(lines).rstrip()


def conflict_line(conflict: dict[str, Any]) -> str:
    """One line: field, status, each value with its sources, and the benign reading if any."""
    values = "; ".join(f"{v['value']} ({', '.join(v['doc_ids'])})" for v in conflict.get("values", []))
    status = conflict.get("status", "conflict") + (", within one source" if conflict.get("scope") == "within_source" else "")
    label = conflict.get("label") or conflict.get("field")
    note = f" — {conflict['note']}" if conflict.get("note") else ""
    return f"{label} [{status}]: {values}{note}"


def conflicts_text(conflicts: list[dict[str, Any]]) -> str:
    """Conflicts first, then benign readings, each with the verbatim evidence of every value."""
    if not conflicts:
        return "No conflicting facts found between sources."
    lines = []
    ordered = sorted(conflicts, key=lambda c: c.get("status", "conflict") != "conflict")
    counts = {s: sum(1 for c in conflicts if c.get("status", "conflict") == s) for s in ("conflict", "benign")}
    lines.append(f"{counts['conflict']} conflict(s), {counts['benign']} benign difference(s) between stated facts.")
    for conflict in ordered:
        lines.append("")
        lines.append(textwrap.fill(conflict_line(conflict), 100, subsequent_indent="    "))
        for value in conflict.get("values", []):
            for ev in value.get("evidence", []):
                lines.append(f"    {value['value']}: {ev['doc_id']} {_where(ev['quote'], ev.get('offset'))}: \"{_clip(ev['quote'], 140)}\"")
    return "\n".join(lines)


def _where(evidence: str, offset: int | None) -> str:
    if evidence.startswith("metadata:"):
        return "from the metadata file"
    return f"@{offset}" if offset is not None else "(removed from the text; quoted from the raw file)"


def _evidence(evidence: str) -> str:
    return evidence if evidence.startswith("metadata:") else f"\"{_clip(evidence, 140)}\""


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
