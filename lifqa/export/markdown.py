"""An answer as Markdown: the short answer in bold, the answer with its [n] markers, then a numbered reference list.

Written by hand: Markdown is plain text with a few characters to escape, no library needed.
"""

from __future__ import annotations

import re
from typing import Sequence

from lifqa.references import Reference, author_label
from lifqa.render import markers_text, sentence_with_short_answer, short_answer_keys, short_answer_of
from lifqa.types import Answer

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")
_SPACES = re.compile(r"\s+")


def escape(text: str) -> str:
    """Corpus text shown literally (no emphasis, links or HTML from a title)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _inline(text: str) -> str:
    """A piece of a line escaped like ``escape``, keeping one space at its edges where it joins the next piece."""
    return _SPECIAL.sub(r"\\\1", _SPACES.sub(" ", text))


def _bold(escaped: str) -> str:
    return f"**{escaped}**"


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


def _answer_lines(answer: Answer) -> list[str]:
    """The answer's paragraph(s): the short answer in bold with its markers as the first line when there is one, then
    the sentences with their markers and labels (the short answer in bold inside its sentence)."""
    if answer.abstained:
        return [f"**Answer:** {escape(answer.answer)}", ""]
    labels = {c.key: c.label for c in answer.citations if c.label}
    sentences = []
    for i, s in enumerate(answer.sentences):
        who = "; ".join(labels[k] for k in s.citation_keys if k in labels)
        text = sentence_with_short_answer(answer, i, _inline, _bold).strip()
        sentences.append(f"{text} {markers_text(s.citation_keys)}" + (f" ({escape(who)})" if who else ""))
    short = short_answer_of(answer)
    if short is None:
        return ["**Answer:** " + " ".join(sentences), ""]
    return [f"**Answer:** {_bold(escape(short.text))} {markers_text(short_answer_keys(answer))}", "", " ".join(sentences), ""]


def answer_markdown(answer: Answer, references: Sequence[tuple[Sequence[int], Reference]]) -> str:
    lines = [f"**Question:** {escape(answer.question)}", "", *_answer_lines(answer)]
    lines.append("## Closest passages (none supports an answer)" if answer.abstained else "## References")
    lines.append("")
    for number, (keys, ref) in enumerate(references, 1):
        markers = "".join(f"[{k}]" for k in keys)
        label = author_label(ref.authors, ref.year) or ref.citation_key
        lines.append(f"{number}. {markers} " + (f"**{escape(label)}** — " if label else "") + reference_line(ref))
    if not references:
        lines.append("No sources.")
    return "\n".join(lines) + "\n"
