"""Read an RIS library with rispy. Files come from L1/L2 lines (Zotero writes the attached PDFs
there, relative to the .ris or as file:// URLs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import rispy

from lifqa.errors import CorpusError
from lifqa.library.files import FileNamer, read_text
from lifqa.library.items import LibraryItem

ITEM_TYPES = {"JOUR": "journalArticle", "JFULL": "journalArticle", "EJOUR": "journalArticle", "MGZN": "magazineArticle",
              "NEWS": "newspaperArticle", "BOOK": "book", "CHAP": "bookSection", "CPAPER": "conferencePaper", "CONF": "conferencePaper",
              "THES": "thesis", "RPRT": "report", "ELEC": "webpage", "UNPB": "preprint", "ENCYC": "encyclopediaArticle"}
_LIST_TAGS = list(rispy.LIST_TYPE_TAGS) + ["L1", "L2", "SN"]
_FIRST = {  # metadata key -> rispy keys, first non-empty wins
    "title": ("title", "primary_title", "translated_title"),
    "journal": ("secondary_title", "journal_name", "alternate_title3", "alternate_title1", "alternate_title2"),
    "volume": ("volume",), "issue": ("number",), "publisher": ("publisher",), "doi": ("doi",),
    "abstract": ("abstract", "notes_abstract"), "language": ("language",), "date": ("date", "publication_year"),
}


def read_ris(path: Path) -> tuple[list[LibraryItem], list[str]]:
    text = read_text(path, "RIS")
    try:
        entries = rispy.loads(text, list_tags=_LIST_TAGS, skip_unknown_tags=True)
    except (OSError, ValueError, IOError) as exc:
        raise CorpusError(f"{path} is not an RIS file ({exc}). Export the library from Zotero as RIS.") from None
    items, warnings, seen = [], [], set()
    name_file = FileNamer(path, warnings)
    for number, entry in enumerate(entries, 1):
        where = f"{path.name} reference {number}"
        key = str(entry.get("id") or entry.get("label") or f"ris{number}")
        if key in seen:
            key = f"{key}-{number}"
        seen.add(key)
        meta: dict[str, Any] = {"item_type": ITEM_TYPES.get(str(entry.get("type_of_reference", "")).upper(), "document")}
        if entry.get("id"):
            meta["citation_key"] = str(entry["id"])
        for target, names in _FIRST.items():
            value = next((entry[n] for n in names if entry.get(n)), None)
            if value:
                meta[target] = " ".join(str(value).split())
        year = str(entry.get("year") or entry.get("publication_year") or "").split("/")[0]
        if year.strip():
            meta["year"] = year.strip()
        meta["authors"] = [str(a) for a in (entry.get("authors") or entry.get("first_authors") or [])]
        meta["editors"] = [str(a) for a in (entry.get("secondary_authors") or [])]
        start, end = entry.get("start_page"), entry.get("end_page")
        if start:
            meta["page_range"] = f"{start}-{end}" if end else str(start)
        urls = [u for u in entry.get("urls") or [] if u]
        if urls:
            meta["url"] = urls[0]
        keywords = [str(k) for k in entry.get("keywords") or [] if k]
        if keywords:
            meta["keywords"] = keywords
            meta["tags"] = keywords
        sn = entry.get("issn") or []
        for value in sn if isinstance(sn, list) else [sn]:
            meta["isbn" if len(str(value).replace("-", "")) in (10, 13) and "x" not in str(value).lower()[:-1] else "issn"] = str(value)
        files = [*(entry.get("file_attachments1") or []), *(entry.get("file_attachments2") or [])]
        attachments = tuple(a for a in (name_file(str(f), where=where) for f in files if f) if a is not None)
        version = hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()
        items.append(LibraryItem(key=key, title=meta.get("title", ""), metadata=meta, attachments=attachments, version=version, where=where))
    if not entries and text.strip():
        warnings.append(f"{path.name}: no references found (RIS references start with 'TY  - ')")
    return items, warnings
