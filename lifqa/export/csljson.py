"""References as CSL-JSON (the Citation Style Language's data schema), written with the json module:
the format is plain JSON, so no extra library is needed."""

from __future__ import annotations

import json
from typing import Any, Sequence

from lifqa.references import Reference, export_notes, make_key, split_name

CSL_TYPES = {"journalArticle": "article-journal", "magazineArticle": "article-magazine", "newspaperArticle": "article-newspaper",
             "book": "book", "bookSection": "chapter", "conferencePaper": "paper-conference", "thesis": "thesis",
             "report": "report", "webpage": "webpage", "preprint": "article", "manuscript": "manuscript"}


def csl_name(name: str) -> dict[str, str]:
    family, given = split_name(name)
    return {"family": family, "given": given} if given else {"literal": family}


def item(ref: Reference, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": key, "citation-key": key,
                           "type": CSL_TYPES.get(ref.item_type) or ("article-journal" if ref.journal else "document"),
                           "title": ref.title}
    if ref.authors:
        out["author"] = [csl_name(a) for a in ref.authors]
    if ref.editors:
        out["editor"] = [csl_name(a) for a in ref.editors]
    if ref.year:
        out["issued"] = {"date-parts": [[ref.year]]}
    values = {"container-title": ref.journal, "volume": ref.volume, "issue": ref.issue, "page": ref.pages,
              "publisher": ref.publisher, "DOI": ref.doi, "URL": ref.url, "ISBN": ref.isbn, "ISSN": ref.issn,
              "abstract": ref.abstract, "language": ref.language, "keyword": ", ".join(ref.keywords)}
    out.update({k: v for k, v in values.items() if v})
    notes = export_notes(ref)
    if notes:
        out["note"] = "; ".join(notes)
    return out


def write(references: Sequence[Reference]) -> str:
    taken: set[str] = set()
    return json.dumps([item(ref, make_key(ref, taken)) for ref in references], ensure_ascii=False, indent=2) + "\n"
