"""Answers out: an answer with its references as Markdown, BibTeX, RIS or CSL-JSON.

``answer_references`` picks the sources an answer cites (all shown passages when it
abstained), one Reference per source with the pages cited; each format module turns
References into text with a maintained library where one exists.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from lifqa.errors import InputError
from lifqa.references import Reference, citation_pages, reference_of
from lifqa.types import Answer, Document

FORMATS = ("markdown", "bibtex", "ris", "csl-json")
SUFFIXES = {"markdown": ".md", "bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}
MEDIA_TYPES = {"markdown": "text/markdown", "bibtex": "application/x-bibtex", "ris": "application/x-research-info-systems",
               "csl-json": "application/vnd.citationstyles.csl+json"}

DocumentOf = Callable[[str], Document]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown export format '{fmt}'. Valid formats: {', '.join(FORMATS)}")
    return fmt


def cited_keys(answer: Answer) -> list[int]:
    """The [n] keys an answer's sentences cite, or every shown passage's key when it abstained."""
    keys = list(dict.fromkeys(key for s in answer.sentences for key in s.citation_keys))
    return keys or [c.key for c in answer.citations]


def answer_references(answer: Answer, document_of: DocumentOf) -> list[tuple[tuple[int, ...], Reference]]:
    """(markers, Reference) per cited source, in order of first citation; several passages of one source merge."""
    wanted = set(cited_keys(answer))
    grouped: dict[str, list[Any]] = {}
    for citation in answer.citations:
        if citation.key in wanted:
            grouped.setdefault(citation.doc_id, []).append(citation)
    out = []
    for doc_id, citations in grouped.items():
        doc = document_of(doc_id)
        ref = reference_of(doc.doc_id, doc.title, doc.metadata)
        flags = {f.kind for c in citations for f in c.flags}
        ref = ref.with_citation([citation_pages(c) for c in citations], citations[0].tier, flags)
        out.append((tuple(c.key for c in citations), ref))
    return out


def references_text(references: Sequence[Reference], fmt: str) -> str:
    """A bibliography file of ``references`` in one of the formats bibtex, ris or csl-json."""
    from lifqa.export import bibtex, csljson, ris

    writers = {"bibtex": bibtex.write, "ris": ris.write, "csl-json": csljson.write}
    if fmt not in writers:
        raise InputError(f"'{fmt}' is not a bibliography format. Valid formats: {', '.join(writers)}")
    return writers[fmt](references)


def export_answer(answer: Answer, document_of: DocumentOf, fmt: str) -> str:
    """The answer in ``fmt``: Markdown with its reference list, or the cited sources as a bibliography."""
    check_format(fmt)
    refs = answer_references(answer, document_of)
    if fmt == "markdown":
        from lifqa.export.markdown import answer_markdown

        return answer_markdown(answer, refs)
    return references_text([ref for _, ref in refs], fmt)


def merge_references(groups: Iterable[Sequence[tuple[Sequence[int], Reference]]]) -> list[Reference]:
    """One Reference per source over many answers (batch bibliographies), pages cited merged."""
    merged: dict[str, Reference] = {}
    for refs in groups:
        for _, ref in refs:
            first = merged.get(ref.doc_id)
            merged[ref.doc_id] = ref if first is None else first.with_citation(
                first.pages_cited + ref.pages_cited, first.tier, first.flags + ref.flags)
    return list(merged.values())


def answer_from_record(record: dict[str, Any]) -> Answer:
    """An Answer back from its ``to_dict`` form (a batch record), for exporting stored answers."""
    from lifqa.types import AnswerSentence, Citation, Flag, ShortAnswer

    fields = set(Citation.__dataclass_fields__)
    citations = []
    for c in record.get("citations", []):
        data = {k: v for k, v in c.items() if k in fields}
        data["flags"] = tuple(Flag(**f) for f in c.get("flags", []))
        data["authors"] = tuple(c.get("authors") or ())
        citations.append(Citation(**data))
    sentences = tuple(AnswerSentence(s["text"], tuple(s.get("citation_keys", ())), s.get("char_start", 0), s.get("char_end", 0))
                      for s in record.get("sentences", []))
    short = record.get("short_answer")
    short_answer = ShortAnswer(**{k: short[k] for k in ShortAnswer.__dataclass_fields__ if k in short}) if isinstance(short, dict) else None
    return Answer(question=record.get("question", ""), answer=record.get("answer", ""), abstained=bool(record.get("abstained")),
                  citations=tuple(citations), mode=record.get("mode", ""), sentences=sentences,
                  notices=tuple(record.get("notices", ())), support=float(record.get("support", 0.0)), short_answer=short_answer)


def batch_export(records: Iterable[dict[str, Any]], document_of: DocumentOf, fmt: str) -> str:
    """Many stored answers in one file: Markdown sections one per question, or one bibliography of every cited source."""
    check_format(fmt)
    answered = [(r, answer_from_record(r)) for r in records if not r.get("error")]
    if fmt == "markdown":
        from lifqa.export.markdown import answer_markdown, escape

        sections = [f"# {escape(str(r.get('id', '')))}\n\n" + answer_markdown(a, answer_references(a, document_of)) for r, a in answered]
        return "\n---\n\n".join(sections) if sections else "No answers.\n"
    return references_text(merge_references(answer_references(a, document_of) for _, a in answered), fmt)
