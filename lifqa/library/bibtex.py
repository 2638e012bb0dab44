"""Read a BibTeX library (as Zotero or Better BibTeX export it) with bibtexparser v2.

Each entry is an item; ``file = {...}`` names its files: Zotero's
``Description:path:mime;...`` (``\\:`` escapes a colon in a Windows path), JabRef's
``:path:PDF`` or a bare path, relative to the .bib's folder. LaTeX in text fields
is decoded with pylatexenc (bibtexparser's own dependency); file paths are left raw.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import bibtexparser
from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts
from pylatexenc.latex2text import LatexNodes2Text

from lifqa.library.files import FileNamer, read_text
from lifqa.library.items import Attachment, LibraryItem

ITEM_TYPES = {"article": "journalArticle", "book": "book", "inbook": "bookSection", "incollection": "bookSection",
              "inproceedings": "conferencePaper", "conference": "conferencePaper", "phdthesis": "thesis",
              "mastersthesis": "thesis", "thesis": "thesis", "techreport": "report", "report": "report", "online": "webpage",
              "misc": "document", "unpublished": "manuscript"}
_TEXT = {"title": "title", "journal": "journal", "journaltitle": "journal", "booktitle": "journal", "publisher": "publisher",
         "school": "publisher", "institution": "publisher", "abstract": "abstract", "volume": "volume", "number": "issue",
         "pages": "page_range", "year": "year", "date": "date", "doi": "doi", "url": "url", "isbn": "isbn", "issn": "issn",
         "language": "language", "pmid": "pmid", "pmcid": "pmcid"}
_SPLIT_SEMI = re.compile(r"(?<!\\);")
_SPLIT_COLON = re.compile(r"(?<!\\):")
_latex = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)


def read_bibtex(path: Path) -> tuple[list[LibraryItem], list[str]]:
    text = read_text(path, "BibTeX")
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # its warnings about bad blocks are reported below, with line numbers
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    warnings = [f"{path.name} line {block.start_line + 1}: not a BibTeX entry ({_why(block)}); skipped"
                for block in library.failed_blocks]
    items, seen = [], set()
    name_file = FileNamer(path, warnings)
    for entry in library.entries:
        where = f"{path.name} line {entry.start_line + 1}"
        if entry.key in seen:
            warnings.append(f"{where}: the key '{entry.key}' is used twice; the second entry was skipped")
            continue
        seen.add(entry.key)
        fields = {name.lower(): f.value for name, f in entry.fields_dict.items()}
        meta: dict[str, Any] = {"item_type": ITEM_TYPES.get(entry.entry_type.lower(), "document"), "citation_key": entry.key}
        for name, target in _TEXT.items():
            value = fields.get(name)
            if isinstance(value, str) and value.strip() and target not in meta:
                meta[target] = _decode(value)
        meta["authors"] = _names(fields.get("author"))
        meta["editors"] = _names(fields.get("editor"))
        keywords = [k.strip() for k in re.split(r"[,;]", _decode(fields.get("keywords") or "")) if k.strip()]
        if keywords:
            meta["keywords"] = keywords
            meta["tags"] = keywords  # Zotero and Better BibTeX export an item's tags as its keywords
        attachments = tuple(_files(name_file, fields.get("file"), where))
        raw = entry.raw or repr(sorted(fields.items(), key=lambda kv: kv[0]))
        items.append(LibraryItem(key=entry.key, title=meta.get("title", ""), metadata=meta, attachments=attachments,
                                 version=hashlib.sha256(str(raw).encode()).hexdigest(), where=where))
    return items, warnings


def _why(block: Any) -> str:
    error = getattr(block, "error", None)
    lines = str(getattr(error, "abort_reason", None) or error or "").strip().splitlines()
    return lines[0][:120] if lines else type(error).__name__ if error else "unparsable text"


def _decode(value: Any) -> str:
    text = str(value)
    if "\\" in text or "{" in text or "$" in text:
        try:
            text = _latex.latex_to_text(text)
        except Exception:  # pylatexenc gives up on odd input: keep the raw text rather than lose the field
            pass
    return " ".join(text.split())


def _names(value: Any) -> list[str]:
    """SplitNameParts gives NameParts(first, von, last, jr); "von Last, Jr, First" -> "von Last, First"."""
    if not value:
        return []
    out = []
    for person in value if isinstance(value, list) else [value]:
        if hasattr(person, "last"):
            family = _decode(" ".join([*person.von, *person.last]))
            given = _decode(" ".join(person.first))
            name = f"{family}, {given}" if family and given else family or given
        else:
            name = _decode(person)
        if name:
            out.append(name)
    return out


def _files(name_file: FileNamer, value: Any, where: str) -> list[Attachment]:
    if not value:
        return []
    out = []
    for part in _SPLIT_SEMI.split(str(value)):
        pieces = [p.replace("\\:", ":").replace("\\;", ";").replace("\\\\", "\\") for p in _SPLIT_COLON.split(part)]
        if len(pieces) >= 3:  # Description:path:mime (Zotero, JabRef)
            label, name, mime = pieces[0], ":".join(pieces[1:-1]), pieces[-1]
        else:
            label, name, mime = "", ":".join(pieces), ""
        attachment = name_file(name, mime if "/" in mime else "", label or name, where) if name.strip() else None
        if attachment is not None:
            out.append(attachment)
    return out
