"""Facts the sources disagree on, under an answer and on the Sources tab, each value with its sources and quotes."""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from lifqa.types import Answer
from lifqa.web.widgets import clip

_BENIGN = ("benign", "explained", "compatible", "consistent")


def conflict_html(conflict: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    """A warning naming every disagreeing value, its sources and their quotes (an explained difference is a note)."""
    status = str(conflict.get("status") or "")
    benign = status.lower() in _BENIGN
    label = str(conflict.get("label") or conflict.get("field") or "a fact").replace("_", " ")
    rows = []
    for value in conflict.get("values", []):
        sources = ", ".join(f"{titles.get(doc, doc)} ({doc})" for doc in value.get("doc_ids", []))
        quotes = "".join(f'<div class="lq-quote">“{escape(clip(quote, 200))}”</div>' for quote in _quotes(value.get("evidence")))
        rows.append(f"<li><b>{escape(str(value.get('value')))}</b> — {escape(sources)}{quotes}</li>")
    if benign:
        head = f"The sources give different values for {escape(label)}, with a known explanation"
    else:
        head = f"Sources disagree on {escape(label)}" + (f" ({escape(status)})" if status and status != "conflict" else "")
    note = f"<div>{escape(str(conflict['note']))}</div>" if conflict.get("note") else ""
    return (f'<div class="lq-conflict{" lq-benign" if benign else ""}" data-field="{escape(str(conflict.get("field", "")))}">'
            f'{"ℹ️" if benign else "⚠️"} <b>{head}</b><ul>{"".join(rows)}</ul>{note}</div>')


def conflicts_html(answer: Answer, titles: Mapping[str, str]) -> str:
    """The answer's conflicts: those about a value the answer states first, open; the rest folded away.

    An answer carries every conflict of its cited sources, and a wiki page can hold
    many; the ones touching the answer's own sentences are what the reader must see.
    """
    text = " ".join(s.text for s in answer.sentences).lower()

    def touches(conflict: Mapping[str, Any]) -> bool:
        values = conflict.get("values", [])
        return any(str(v.get("value", "")).lower() in text or any(q.lower() in text for q in _quotes(v.get("evidence")))
                   for v in values)

    def weight(conflict: Mapping[str, Any]) -> int:
        return 1 if str(conflict.get("status") or "").lower() in _BENIGN else 0

    shown = sorted((c for c in answer.conflicts if touches(c)), key=weight)
    other = sorted((c for c in answer.conflicts if not touches(c)), key=weight)
    out = "".join(conflict_html(c, titles) for c in shown)
    if other:
        fields = ", ".join(dict.fromkeys(str(c.get("label") or c.get("field", "")).replace("_", " ") for c in other))
        out += (f'<details class="lq-notes lq-more"><summary>{len(other)} other fact{"s" if len(other) != 1 else ""} the cited sources '
                f'report differently: {escape(fields)}</summary>{"".join(conflict_html(c, titles) for c in other)}</details>')
    return out


def _quotes(evidence: Any) -> list[str]:
    """Evidence of a conflict value: a quote, a list of quotes, or a list of {"doc_id","quote","offset"}."""
    items = evidence if isinstance(evidence, list) else [evidence]
    out = []
    for item in items[:3]:
        quote = item.get("quote") if isinstance(item, Mapping) else item
        if isinstance(quote, str) and quote:
            out.append(quote)
    return out
