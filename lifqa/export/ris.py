"""References as RIS, written (and read back in tests) with rispy."""

from __future__ import annotations

import re
from typing import Any, Sequence

import rispy

from lifqa.references import Reference, export_notes, make_key

RIS_TYPES = {"journalArticle": "JOUR", "magazineArticle": "MGZN", "newspaperArticle": "NEWS", "book": "BOOK",
             "bookSection": "CHAP", "conferencePaper": "CPAPER", "thesis": "THES", "report": "RPRT", "webpage": "ELEC",
             "preprint": "UNPB", "manuscript": "UNPB"}


def record(ref: Reference, key: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"type_of_reference": RIS_TYPES.get(ref.item_type) or ("JOUR" if ref.journal else "GEN"), "id": key}
    if ref.authors:
        entry["authors"] = list(ref.authors)
    if ref.editors:
        entry["secondary_authors"] = list(ref.editors)
    values = {"title": ref.title, "secondary_title": ref.journal, "year": str(ref.year or ""), "volume": ref.volume,
              "number": ref.issue, "publisher": ref.publisher, "doi": ref.doi, "issn": ref.isbn or ref.issn,
              "abstract": ref.abstract, "language": ref.language, "date": ref.date}
    entry.update({k: v for k, v in values.items() if v})
    if ref.pages:
        parts = re.split(r"\s*[-–]+\s*", ref.pages, maxsplit=1)
        entry["start_page"] = parts[0]
        if len(parts) > 1 and parts[1]:
            entry["end_page"] = parts[1]
    if ref.url:
        entry["urls"] = [ref.url]
    if ref.keywords:
        entry["keywords"] = list(ref.keywords)
    notes = export_notes(ref)
    if notes:
        entry["notes"] = notes
    return {k: _one_line(v) for k, v in entry.items()}


def _one_line(value: Any) -> Any:
    """RIS is one tag a line: a newline inside a value would start a bogus tag."""
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value]
    return " ".join(str(value).split())


def write(references: Sequence[Reference]) -> str:
    taken: set[str] = set()
    return rispy.dumps([record(ref, make_key(ref, taken)) for ref in references])
