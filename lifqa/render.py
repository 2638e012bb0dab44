"""Plain-text renderings of answers, sources and conflicts for the terminal."""

from __future__ import annotations

import textwrap
from typing import Any, Callable, Iterable

from lifqa.index.store import SourceRecord
from lifqa.types import Answer, ShortAnswer


def short_answer_of(answer: Answer) -> ShortAnswer | None:
    """The answer's short answer when it is a verbatim slice of the sentence it names (a stored record may not be)."""
    short = answer.short_answer
    if short is None or answer.abstained or not 0 <= short.sentence < len(answer.sentences):
        return None
    return short if answer.sentences[short.sentence].text[short.char_start:short.char_end] == short.text else None


def short_answer_keys(answer: Answer) -> tuple[int, ...]:
    """The citation keys of the sentence holding the short answer (none without one)."""
    short = short_answer_of(answer)
    return answer.sentences[short.sentence].citation_keys if short else ()


def emphasised(text: str, span: tuple[int, int] | None, escape: Callable[[str], str], strong: Callable[[str], str]) -> str:
    """``text`` escaped for its format with the characters of ``span`` wrapped by ``strong`` (spaces at the span's
    edges left outside, where Markdown needs them); the one place a short answer is cut out of the text holding it."""
    start, end = span if span else (0, 0)
    start, end = max(0, start), min(len(text), end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return escape(text)
    return escape(text[:start]) + strong(escape(text[start:end])) + escape(text[end:])


def sentence_with_short_answer(answer: Answer, index: int, escape: Callable[[str], str], strong: Callable[[str], str]) -> str:
    """Answer sentence ``index`` escaped for its format, the short answer inside it (if it is this one's) in ``strong``."""
    short = short_answer_of(answer)
    span = (short.char_start, short.char_end) if short and short.sentence == index else None
    return emphasised(answer.sentences[index].text, span, escape, strong)


def short_answer_line(answer: Answer) -> str:
    """"3976 [1]": the short answer and the markers of the sentence it is in; "" without one."""
    short = short_answer_of(answer)
    return f"{' '.join(short.text.split())} {markers_text(short_answer_keys(answer))}" if short else ""


def markers_text(keys: Iterable[int]) -> str:
    """"[1][2]": citation markers as every answer rendering writes them."""
    return "".join(f"[{key}]" for key in keys)


def answer_text(answer: Answer, width: int = 100) -> str:
    lines = []
    for notice in answer.notices:
        lines.append(f"note: {notice}")
    if short := short_answer_line(answer):
        lines.append(short)
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
