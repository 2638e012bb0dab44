"""The Sources tab: every source in one table, and one source with its header, metadata and flagged text."""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Mapping

from lifqa.web.widgets import badges_html, flag_chip, flags_by_kind, highlight, tier_badge


def source_header_html(record: Any) -> str:
    doc = record.document
    return (f'<div class="lq-head"><span class="lq-title" style="font-size:1.15rem">{escape(doc.title)}</span>'
            f'<span class="lq-id">{escape(doc.doc_id)}</span></div>{badges_html(record.tier, record.flags, tier_reasons(record))}')


def metadata_html(metadata: Mapping[str, Any]) -> str:
    rows = []
    for key, value in metadata.items():
        if str(key).startswith("_"):
            continue
        shown = "; ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        rows.append(f"<dt>{escape(str(key))}</dt><dd>{escape(shown)}</dd>")
    return f'<dl class="lq-dl">{"".join(rows)}</dl>' if rows else '<div class="lq-meta">No curator metadata for this document.</div>'


def document_text_html(record: Any) -> str:
    """The full normalised text, escaped, with each flag's evidence quote marked where its offset points."""
    text = record.document.text
    spans = [(f.offset, f.offset + len(f.evidence)) for f in record.flags
             if f.offset is not None and not f.evidence.startswith("metadata:") and text[f.offset:f.offset + len(f.evidence)] == f.evidence]
    return f'<div class="lq-doctext">{highlight(text, spans)}</div>'


def sources_table_html(sources: Iterable[Any]) -> str:
    """Every document in one table: title, tier badge, flag chips, type, publisher, date, length."""
    rows = []
    for record in sources:
        doc, meta = record.document, record.document.metadata
        chips = "".join(flag_chip(group) for group in flags_by_kind(record.flags)) or '<span class="lq-meta">none</span>'
        rows.append(
            f'<tr data-doc-id="{escape(doc.doc_id)}"><td><div class="lq-title">{escape(doc.title)}</div>'
            f'<div class="lq-id">{escape(doc.doc_id)}</div></td><td>{tier_badge(record.tier, tier_reasons(record))}</td>'
            f'<td>{chips}</td><td>{escape(str(meta.get("doc_type", "")))}</td><td>{escape(str(meta.get("publisher", "")))}</td>'
            f'<td>{escape(str(meta.get("date", "")))}</td><td class="lq-num">{len(doc.text.split()):,}</td></tr>')
    head = "".join(f"<th>{name}</th>" for name in ("Source", "Tier", "Flags", "Type", "Publisher", "Date", "Words"))
    return f'<div class="lq-tablewrap"><table class="lq-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def tier_reasons(record: Any) -> list[str]:
    """How the source's tier follows from its flags, when the reliability rules can explain it."""
    from lifqa.reliability import explain_tier

    tier, reasons = explain_tier(record.flags, record.document)
    return list(reasons) if tier == record.tier else []
