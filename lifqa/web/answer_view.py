"""The Ask tab's answer: the short answer, sentences with [n] markers, a low-tier caution, passage cards, Markdown and bibliography downloads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any, Callable, Mapping, Sequence

from lifqa.render import sentence_with_short_answer, short_answer_keys, short_answer_of
from lifqa.types import Answer, AnswerSentence, Citation, ShortAnswer
from lifqa.web.widgets import SEVERITY_RANK, badges_html, bold_html, flag_notes_html, highlight


def answer_spans(citation: Citation, sentences: Sequence[AnswerSentence]) -> list[tuple[int, int]]:
    """Where the answer's sentences sit inside this cited passage (only spans that match verbatim)."""
    return [(s.char_start, s.char_end) for s in sentences
            if citation.key in s.citation_keys and citation.text[s.char_start:s.char_end] == s.text]


def cited_keys(answer: Answer) -> set[int]:
    return {key for sentence in answer.sentences for key in sentence.citation_keys}


def answer_html(answer: Answer) -> str:
    """The answer with a clickable [n] marker after each sentence, linking to its passage card."""
    if answer.abstained:
        why = ("None of the retrieved passages supports an answer"
               + (f" (best support {answer.support:.2f} is under the answer threshold)." if answer.citations else
                  ": no passage passed the filters.")
               + (" The closest passages are shown below." if answer.citations else ""))
        return (f'<div class="lq-answer lq-abstain"><b>{escape(answer.answer)}</b>'
                f'<span class="lq-why">{escape(why)}</span></div>')
    titles = {c.key: f"{c.title} — {c.section}" if c.section else c.title for c in answer.citations}
    parts = [f"{sentence_with_short_answer(answer, i, escape, bold_html)}{_markers_html(sentence.citation_keys, titles)}"
             for i, sentence in enumerate(answer.sentences)]
    return f'<div class="lq-answer">{_short_answer_html(answer, titles)}{" ".join(parts)}</div>'


def _short_answer_html(answer: Answer, titles: Mapping[int, str]) -> str:
    """The answer's first line: the short answer in bold with the markers of its sentence ("" without one); on hover,
    how it was found."""
    short = short_answer_of(answer)
    if short is None:
        return ""
    return (f'<div class="lq-short" title="{escape(short_answer_origin(answer, short))}"><b>{escape(short.text)}</b>'
            f'{_markers_html(short_answer_keys(answer), titles)}</div>')


def short_answer_origin(answer: Answer, short: ShortAnswer) -> str:
    """What found the short answer, in words: a researcher judges a value by where it came from."""
    if short.method == "row":
        return f'The value of the labelled row "{answer.sentences[short.sentence].text}", whose label the question names'
    return (f"Marked inside answer sentence {short.sentence + 1} by the span reader trained here (probability "
            f"{short.score:.2f} against no answer in the sentence)")


def _markers_html(keys: Sequence[int], titles: Mapping[int, str]) -> str:
    """Clickable [n] markers, each linking to its passage card and naming its source on hover."""
    return "".join(f'<a class="lq-cite" href="#lq-cite-{key}" title="{escape(titles.get(key, ""))}">[{key}]</a>' for key in keys)


def reliability_note_html(answer: Answer) -> str:
    """A caution when answer sentences rest on low-tier sources (empty when none do)."""
    if answer.abstained:
        return ""
    cited = cited_keys(answer)
    weak = [c for c in answer.citations if c.key in cited and c.tier == "low"]
    if not weak:
        return ""
    worst = max((SEVERITY_RANK.get(f.severity, 0) for c in weak for f in c.flags), default=0)
    kinds = sorted({f.kind.replace("_", " ") for c in weak for f in c.flags if worst and SEVERITY_RANK.get(f.severity, 0) == worst})
    keys = ", ".join(f"[{c.key}]" for c in weak)
    scope = "Every sentence of this answer comes" if len(weak) == len(cited) else f"The sentences citing {keys} come"
    flags = f" (flagged: {', '.join(kinds)})" if kinds else ""
    return (f'<div class="lq-caution">⚠️ {escape(scope)} from low-reliability sources{escape(flags)}. '
            "Set a minimum source tier in the sidebar to answer from stronger sources only.</div>")


def short_answer_span(citation: Citation, sentences: Sequence[AnswerSentence], short: ShortAnswer | None) -> tuple[int, int] | None:
    """Where the short answer sits inside this cited passage (None when its sentence is not marked in it)."""
    if short is None or not 0 <= short.sentence < len(sentences):
        return None
    sentence = sentences[short.sentence]
    if not answer_spans(citation, [sentence]) or sentence.text[short.char_start:short.char_end] != short.text:
        return None
    return sentence.char_start + short.char_start, sentence.char_start + short.char_end


def citation_card(citation: Citation, sentences: Sequence[AnswerSentence], cited: bool, short: ShortAnswer | None = None) -> str:
    """One passage: source title, section, tier badge and flag chips, the passage with the answer sentence marked
    (and the short answer in it in bold)."""
    show_section = citation.section and citation.section != citation.title
    section = f'<span class="lq-section">· {escape(citation.section)}</span>' if show_section else ""
    pages = f'<span class="lq-pages" data-page="{citation.page_start}">{escape(citation.pages)}</span>' if citation.page_start else ""
    passage = highlight(citation.text, answer_spans(citation, sentences), strong=short_answer_span(citation, sentences, short))
    return (
        f'<div class="lq-card{" lq-cited" if cited else ""}" id="lq-cite-{citation.key}" data-doc-id="{escape(citation.doc_id)}">'
        f'<div class="lq-head"><span class="lq-key">[{citation.key}]</span>{_label_html(citation)}<span class="lq-title">{escape(citation.title)}</span>{pages}{section}'
        f'<span class="lq-score" title="final ranking score">score {citation.score:.3f}</span></div>'
        f'{badges_html(citation.tier, citation.flags)}'
        f'<div class="lq-passage">{passage}</div>'
        f'<div class="lq-id">{escape(citation.doc_id)} · characters {citation.char_start}–{citation.char_end}</div>'
        f"{flag_notes_html(citation.flags)}</div>"
    )


def _label_html(citation: Citation) -> str:
    """Who and when ("Datta et al. 2010", else the citation key) beside the [n] marker; the pages have their own span."""
    from lifqa.references import author_label

    label = author_label(citation.authors, citation.year) or citation.citation_key
    return f'<span class="lq-label">{escape(label)}</span>' if label else ""


@dataclass(frozen=True)
class AnswerExport:
    """One way to take an answer away: a download button's label, content, file name and media type."""

    fmt: str
    label: str
    data: str
    file_name: str
    mime: str


def answer_exports(answer: Answer, document_of: Callable[[str], Any]) -> tuple[str, list[AnswerExport]]:
    """The answer as Markdown (for the copy box) and the Markdown, BibTeX and RIS downloads under it."""
    from lifqa.export import MEDIA_TYPES, SUFFIXES, export_answer

    stem = re.sub(r"[^a-z0-9]+", "-", answer.question.lower()).strip("-")[:60] or "answer"
    labels = {"markdown": "Download Markdown", "bibtex": "Download BibTeX", "ris": "Download RIS"}
    files = [AnswerExport(fmt, label, export_answer(answer, document_of, fmt), f"{stem}{SUFFIXES[fmt]}", MEDIA_TYPES[fmt])
             for fmt, label in labels.items()]
    return files[0].data, files
