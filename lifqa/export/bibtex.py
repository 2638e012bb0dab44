"""References as BibTeX, written (and read back in tests) with bibtexparser v2."""

from __future__ import annotations

import re
from typing import Sequence

import bibtexparser
from bibtexparser import model

from lifqa.references import Reference, export_notes, make_key

ENTRY_TYPES = {"journalArticle": "article", "magazineArticle": "article", "newspaperArticle": "article", "book": "book",
               "bookSection": "incollection", "conferencePaper": "inproceedings", "thesis": "phdthesis", "report": "techreport",
               "webpage": "online", "preprint": "misc", "manuscript": "unpublished"}
CONTAINER = {"incollection": "booktitle", "inproceedings": "booktitle"}


def entry_type(ref: Reference) -> str:
    return ENTRY_TYPES.get(ref.item_type) or ("article" if ref.journal else "misc")


def _value(text: str) -> str:
    """A field value bibtexparser can enclose in braces: unbalanced braces would end the field early, so they go."""
    depth = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            break
    return text if depth == 0 else text.replace("{", "").replace("}", "")


def entry_fields(ref: Reference, kind: str) -> list[tuple[str, str]]:
    fields = [("author", " and ".join(ref.authors)), ("editor", " and ".join(ref.editors)), ("title", ref.title),
              (CONTAINER.get(kind, "journal"), ref.journal), ("year", str(ref.year or "")), ("volume", ref.volume),
              ("number", ref.issue), ("pages", re.sub(r"\s*[-–]+\s*", "--", ref.pages)), ("publisher", ref.publisher), ("doi", ref.doi),
              ("url", ref.url), ("isbn", ref.isbn), ("issn", ref.issn), ("keywords", ", ".join(ref.keywords))]
    notes = export_notes(ref)
    fields.append(("note", "; ".join(notes)))
    return [(name, _value(value)) for name, value in fields if value]


def write(references: Sequence[Reference]) -> str:
    taken: set[str] = set()
    entries = []
    for ref in references:
        kind = entry_type(ref)
        entries.append(model.Entry(kind, make_key(ref, taken), [model.Field(k, v) for k, v in entry_fields(ref, kind)]))
    return bibtexparser.write_string(bibtexparser.Library(entries))
