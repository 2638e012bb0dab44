"""An answer as Markdown: the answer with its [n] markers, then a numbered reference list.

Written by hand: Markdown is plain text with a few characters to escape, no library needed.
"""

from __future__ import annotations

import re
from typing import Sequence

from lifqa.references import Reference, author_label
from lifqa.types import Answer

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def escape(text: str) -> str:
    """Corpus text shown literally (no emphasis, links or HTML from a title)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def reference_line(ref: Reference) -> str:
    """Authors (year). Title. *Journal* volume(issue), pages. DOI — pages cited; tier; flags."""
    parts = []
    if ref.authors:
        names = "; ".join(ref.authors[:10]) + ("; et al." if len(ref.authors) > 10 else "")
        parts.append(f"{escape(names)} ({ref.year or 'n.d.'}).")
    elif ref.year:
        parts.append(f"({ref.year}).")
    parts.append(f"{escape(ref.title).rstrip('.')}.")
    if ref.journal:
        where = f"*{escape(ref.journal)}*"
        if ref.volume:
            where += f" {escape(ref.volume)}" + (f"({escape(ref.issue)})" if ref.issue else "")
        if ref.pages:
            where += f", {escape(ref.pages)}"
        parts.append(where + ".")
    elif ref.publisher:
        parts.append(f"{escape(ref.publisher)}.")
    if ref.doi:
        parts.append(f"https://doi.org/{ref.doi}")
    elif ref.url:
        parts.append(f"<{ref.url}>" if " " not in ref.url and ">" not in ref.url else escape(ref.url))
    notes = []
    if ref.pages_cited:
        notes.append("cited " + ", ".join(ref.pages_cited))
    if ref.citation_key:
        notes.append(f"key `{ref.citation_key.replace('`', '')}`")
    if ref.tier:
        notes.append(f"reliability tier {ref.tier}")
    notes.append("flags: " + (", ".join(f.replace("_", " ") for f in ref.flags) if ref.flags else "none"))
    if ref.retracted and "retracted" not in ref.flags:
        notes.append("RETRACTED")
    return " ".join(parts) + " — " + "; ".join(notes)


def answer_markdown(answer: Answer, references: Sequence[tuple[Sequence[int], Reference]]) -> str:
    labels = {c.key: c.label for c in answer.citations if c.label}
    lines = [f"**Question:** {escape(answer.question)}", ""]
    if answer.abstained:
        lines += [f"**Answer:** {escape(answer.answer)}", ""]
    else:
        sentences = []
        for s in answer.sentences:
            markers = "".join(f"[{k}]" for k in s.citation_keys)
            who = "; ".join(labels[k] for k in s.citation_keys if k in labels)
            sentences.append(f"{escape(s.text)} {markers}" + (f" ({escape(who)})" if who else ""))
        lines += ["**Answer:** " + " ".join(sentences), ""]
    lines.append("## Closest passages (none supports an answer)" if answer.abstained else "## References")
    lines.append("")
    for number, (keys, ref) in enumerate(references, 1):
        markers = "".join(f"[{k}]" for k in keys)
        label = author_label(ref.authors, ref.year) or ref.citation_key
        lines.append(f"{number}. {markers} " + (f"**{escape(label)}** — " if label else "") + reference_line(ref))
    if not references:
        lines.append("No sources.")
    return "\n".join(lines) + "\n"
