"""A source's bibliographic reference, read from its Document metadata, and its citation label.

One place turns the metadata conventions (``authors`` as "Family, Given", ``year``,
``journal``, ``doi``, ``citation_key``...) into a :class:`Reference`, so the answer's
labels ("Datta et al. 2010, p. 9") and every export format agree on who wrote what.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from lifqa.types import page_text

_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.I)
DOI_IN_TEXT = re.compile(r"\b10\.\d{4,9}/[^\s\"<>,;]+")  # a DOI in running text: ends at a space, comma, semicolon, quote or angle bracket


@dataclass(frozen=True, slots=True)
class Reference:
    """What a bibliography needs about one source; empty strings and () when unknown."""

    doc_id: str
    title: str
    authors: tuple[str, ...] = ()  # "Family, Given" (or a single institutional name)
    editors: tuple[str, ...] = ()
    year: int | None = None
    date: str = ""
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""  # the article's page range in its journal, e.g. "9-17" (metadata "page_range")
    publisher: str = ""
    doi: str = ""
    url: str = ""
    isbn: str = ""
    issn: str = ""
    abstract: str = ""
    language: str = ""
    item_type: str = ""  # Zotero item type (journalArticle, book, ...) when known
    citation_key: str = ""
    keywords: tuple[str, ...] = ()
    retracted: bool = False
    # Filled in for an answer's references: which pages were cited, the source's tier and flag kinds.
    pages_cited: tuple[str, ...] = ()
    tier: str = ""
    flags: tuple[str, ...] = ()

    def with_citation(self, pages: Iterable[str] = (), tier: str = "", flags: Iterable[str] = ()) -> "Reference":
        return replace(self, pages_cited=tuple(dict.fromkeys(p for p in pages if p)), tier=tier, flags=tuple(sorted(set(flags))))


def reference_of(doc_id: str, title: str, metadata: Mapping[str, Any]) -> Reference:
    """The Reference of a document from its metadata (tolerant: strings, lists, odd types)."""
    meta = metadata or {}
    date = _text(meta.get("date"))
    return Reference(
        doc_id=doc_id,
        title=_text(meta.get("title")) or title,
        authors=parse_names(meta.get("authors")),
        editors=parse_names(meta.get("editors")),
        year=parse_year(meta.get("year"), date),
        date=date,
        journal=_text(meta.get("journal") or meta.get("publication") or meta.get("container_title")),
        volume=_text(meta.get("volume")),
        issue=_text(meta.get("issue")),
        pages=_text(meta.get("page_range") or (meta.get("pages") if isinstance(meta.get("pages"), str) else "")),
        publisher=_text(meta.get("publisher")),
        doi=normalise_doi(meta.get("doi")),
        url=_text(meta.get("url")),
        isbn=_text(meta.get("isbn")),
        issn=_text(meta.get("issn")),
        abstract=_text(meta.get("abstract")),
        language=_text(meta.get("language")),
        item_type=_text(meta.get("item_type")),
        citation_key=_text(meta.get("citation_key")),
        keywords=tuple(_text(k) for k in (meta.get("keywords") or ()) if _text(k)) if isinstance(meta.get("keywords"), (list, tuple)) else (),
        retracted=meta.get("retracted") is True,
    )


def parse_names(value: Any) -> tuple[str, ...]:
    """Names as "Family, Given": from a list, or a string joined by ';' or ' and '."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts = re.split(r"\s*;\s*|\s+and\s+", value.strip())
    elif isinstance(value, (list, tuple)):
        parts = [_name_text(v) for v in value]
    else:
        return ()
    return tuple(p.strip() for p in parts if p and p.strip())


def _name_text(value: Any) -> str:
    if isinstance(value, Mapping):  # CSL-style {"family", "given"} or {"literal"}
        if value.get("literal"):
            return str(value["literal"])
        family, given = str(value.get("family") or ""), str(value.get("given") or "")
        return f"{family}, {given}" if family and given else family or given
    return _text(value)


def family_name(name: str) -> str:
    """"Datta, Sandeep" -> "Datta"; a name without a comma is one name (an institution) and stays whole."""
    return split_name(name)[0]


def split_name(name: str) -> tuple[str, str]:
    """(family, given); given is "" for a single (institutional) name."""
    if "," in name:
        family, given = name.split(",", 1)
        return family.strip(), given.strip()
    return name.strip(), ""


def parse_year(year: Any, date: str = "") -> int | None:
    if isinstance(year, int) and not isinstance(year, bool):
        return year
    for text in (_text(year), date):
        match = _YEAR.search(text or "")
        if match:
            return int(match.group(1))
    return None


def normalise_doi(value: Any) -> str:
    """Lower-case DOI without a URL or 'doi:' prefix; "" when the value holds none."""
    match = _DOI.search(_text(value))
    return match.group(0).rstrip(".,;)").lower() if match else ""


def author_label(authors: Sequence[str], year: int | None) -> str:
    """"Datta 2010", "Datta & Smith 2010", "Datta et al. 2010" ("" without authors)."""
    if not authors:
        return ""
    families = [family_name(a) for a in authors]
    who = families[0] if len(families) == 1 else f"{families[0]} & {families[1]}" if len(families) == 2 else f"{families[0]} et al."
    return f"{who} {year}" if year else who


def citation_label(reference: Reference, pages: str = "") -> str:
    """"Datta et al. 2010, p. 9" from authors and year, else the citation key; "" when neither is known."""
    who = author_label(reference.authors, reference.year) or reference.citation_key
    if not who:
        return ""
    return f"{who}, {pages}" if pages else who


def citation_pages(citation: Any) -> str:
    """The cited pages of a Citation or Chunk ("p. 9"; "" for text without pages)."""
    return page_text(int(getattr(citation, "page_start", 0) or 0), int(getattr(citation, "page_end", 0) or 0),
                     str(getattr(citation, "page_label", "") or ""))


def export_notes(ref: Reference) -> list[str]:
    """What an exported entry's note says beyond the bibliography: retraction, pages cited, lifqa's reliability verdict."""
    notes = []
    if ref.retracted:
        notes.append("RETRACTED")
    if ref.pages_cited:
        notes.append("cited " + ", ".join(ref.pages_cited))
    if ref.tier:
        notes.append(f"lifqa reliability tier {ref.tier}" + (f" (flags: {', '.join(ref.flags)})" if ref.flags else ""))
    return notes


def make_key(reference: Reference, taken: set[str]) -> str:
    """The library's citation key when known, else "family" + year + first title word; unique within ``taken``."""
    key = reference.citation_key
    if not key:
        family = _ascii(family_name(reference.authors[0])) if reference.authors else ""
        word = next((w for w in (_ascii(w) for w in reference.title.split()) if len(w) > 3), "")
        key = f"{family.lower()}{reference.year or ''}{word.lower()}" or _ascii(reference.doc_id).lower() or "source"
    key = re.sub(r"[^\w:.\-/]", "", key) or "source"
    base, n = key, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 1) if n <= 26 else n}"
    taken.add(key)
    return key


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value if v is not None)
    return " ".join(str(value).split())


__all__ = ["Reference", "reference_of", "citation_label", "citation_pages", "author_label", "page_text", "make_key",
           "parse_names", "parse_year", "normalise_doi", "DOI_IN_TEXT", "family_name", "split_name"]
