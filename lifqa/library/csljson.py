"""Read a CSL-JSON library (the Citation Style Language's data schema, as Zotero exports it) with the json module.

CSL-JSON has no field for files; a non-standard ``file`` (a path or a list of paths,
relative to the .json) is followed when present.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lifqa.errors import CorpusError
from lifqa.library.files import MAX_LIBRARY_BYTES, FileNamer, read_text
from lifqa.library.items import LibraryItem
from lifqa.references import parse_names

ITEM_TYPES = {"article-journal": "journalArticle", "article-magazine": "magazineArticle", "article-newspaper": "newspaperArticle",
              "book": "book", "chapter": "bookSection", "paper-conference": "conferencePaper", "thesis": "thesis",
              "report": "report", "webpage": "webpage", "post-weblog": "blogPost", "manuscript": "manuscript",
              "entry-encyclopedia": "encyclopediaArticle", "entry-dictionary": "dictionaryEntry", "article": "preprint"}
_TEXT = {"title": "title", "container-title": "journal", "publisher": "publisher", "abstract": "abstract", "volume": "volume",
         "issue": "issue", "page": "page_range", "DOI": "doi", "URL": "url", "ISBN": "isbn", "ISSN": "issn", "language": "language",
         "PMID": "pmid", "PMCID": "pmcid"}


def looks_like_csl(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(x, dict) and "id" in x and ("type" in x or "title" in x) for x in data[:20])


def load_if_csl(path: Path) -> list[Any] | None:
    """The parsed JSON of a .json file lying in a folder corpus when it is a CSL-JSON library, else None (any other JSON)."""
    try:
        if path.stat().st_size > MAX_LIBRARY_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if looks_like_csl(data) else None


def read_csljson(path: Path) -> tuple[list[LibraryItem], list[str]]:
    text = read_text(path, "CSL-JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}). A CSL-JSON library is a JSON list of items.") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise CorpusError(f"{path} is JSON but not CSL-JSON: expected a list of items with 'id' and 'type' (export it from Zotero as CSL JSON)")
    return csl_items(path, data)


def csl_items(path: Path, data: list[Any]) -> tuple[list[LibraryItem], list[str]]:
    """The items of CSL-JSON already parsed from ``path`` (a list of CSL entries)."""
    items, warnings, seen = [], [], set()
    name_file = FileNamer(path, warnings)
    for number, entry in enumerate(data, 1):
        where = f"{path.name} item {number}"
        if not isinstance(entry, dict) or "id" not in entry:
            warnings.append(f"{where}: not a CSL item (no 'id'); skipped")
            continue
        key = str(entry.get("citation-key") or entry.get("id"))
        if key in seen:
            warnings.append(f"{where}: the id '{key}' is used twice; the second item was skipped")
            continue
        seen.add(key)
        meta: dict[str, Any] = {"item_type": ITEM_TYPES.get(str(entry.get("type")), "document"), "citation_key": key}
        for name, target in _TEXT.items():
            value = entry.get(name)
            if isinstance(value, (str, int)) and str(value).strip():
                meta[target] = " ".join(str(value).split())
        meta["authors"] = list(parse_names(entry.get("author") or []))
        meta["editors"] = list(parse_names(entry.get("editor") or []))
        year, date = _issued(entry.get("issued"))
        if year:
            meta["year"] = year
        if date:
            meta["date"] = date
        keywords = [k.strip() for k in str(entry.get("keyword") or "").split(",") if k.strip()]
        if keywords:
            meta["keywords"] = keywords
            meta["tags"] = keywords
        files = entry.get("file") or []
        named = (name_file(str(f), where=where) for f in (files if isinstance(files, list) else [files]) if f)
        attachments = tuple(a for a in named if a is not None)
        version = hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()
        items.append(LibraryItem(key=key, title=str(entry.get("title") or ""), metadata=meta, attachments=attachments,
                                 version=version, where=where))
    return items, warnings


def _issued(value: Any) -> tuple[int | None, str]:
    if not isinstance(value, dict):
        return None, str(value or "")
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        try:
            year = int(parts[0][0])
        except (TypeError, ValueError):
            year = None
        return year, "-".join(str(p) for p in parts[0])
    return None, str(value.get("raw") or value.get("literal") or "")
