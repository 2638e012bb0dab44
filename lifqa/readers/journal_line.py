"""A journal's citation line, as running heads and first-page banners print it.

"International Psychogeriatrics (2014), 26:1, 147–154", "J. Smith et al. / Journal of
Affective Disorders 150 (2013) 1–10", "PLoS ONE | www.plosone.org | Volume 7 | Issue 3",
"JAMA. 2019;321(5):456-467": the journal's name, then its year, volume, issue and
pages in one of a few orders publishers use. A name counts as a journal when it has
a word journals are named with, or when the full "volume and pages" shape follows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_JOURNAL_LINE = re.compile(
    r"^(?:[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}\s+et al\.?\s*(?:\((?:19|20)\d{2}\))?\s*[,./|]?\s*)?"  # "J. Smith et al. / "
    r"(?P<journal>[A-Z][A-Za-z&.,'’ -]{2,90}?)[,.]?\s*(?:\(?(?:19|20)\d{2}\)?|\d+\s*[:(]|DOI\b|\|\s*(?:www\.|https?://|Vol|DOI\b))")
_JOURNAL_WORD = re.compile(
    r"\b(?:Journal|J|Sci|Science|Sciences|Med|Medicine|Biol|Biology|Res|Research|Rev|Reviews?|Lett|Letters|Proc|Proceedings|Acta|"
    r"Annals|Archives|International|Nature|Cell|PLoS|PLOS|PeerJ|BMC|eLife|Frontiers|Outcomes|Psychogeriatrics|Lancet|Bulletin|"
    r"Comput|Chem|Phys|Clin|Genet|Immunol|Virol|Microbiol|Neurosci|Rep|Reports|Commun|Communications|Practice|Psychology|"
    r"Psychiatry|Neurology|Oncology|Cardiology|Pediatrics|Paediatrics|Surgery|Nursing|Health|Diseases?|Therapy|Therapeutics|"
    r"Pharmacology|Physiology|Ecology|Evolution|Genetics|Genomics|Bioinformatics|Cancer|Epidemiology|Trials|Advances|Studies|"
    r"Quarterly|Transactions|Disorders|Rehabilitation|Ageing|Aging|Gerontology|Engineering|Physics|Chemistry|Mathematics|"
    r"BMJ|JAMA|PNAS|NEJM|EMBO|FEBS|Blood|Brain|Neuron|Gut|Chest|Stroke|Pain|Circulation|Diabetes)\b\.?")
_DETAILS = re.compile(  # "(2014), 26:1, 147–154", "2021; 12: 101-140", "(2003) 104, 305–313", "2012, 7(3), 45–67"
    r"[\s,.;|]*(?:\(?(?P<year>(?:19|20)\d\d)\)?\s*[,;:|]?\s*)?(?P<volume>\d{1,4})(?:\s*\((?P<issue>(?!(?:19|20)\d\d\))[\w–-]{1,9})\))?"
    r"(?:\s*[:,;]\s*(?:(?P<first>\d{1,6})\s*[-–]\s*(?P<last>\d{1,6})|(?P<number>\d{1,6})(?:\s*[,:]\s*(?P<first2>\d{1,6})\s*[-–]\s*(?P<last2>\d{1,6}))?))?")
_VOLUME_YEAR_PAGES = re.compile(  # Elsevier: "150 (2013) 1–10"
    r"[\s,.;]*(?P<volume>\d{1,4})\s*\((?P<year>(?:19|20)\d\d)\)\s*(?P<first>\d{1,6})\s*[-–]\s*(?P<last>\d{1,6})")
_VOLUME_WORD = re.compile(  # "Vol. 12, No. 3, 123–145", "Volume 7 | Issue 3", "Volume 2012, Article ID 486084"
    r"\bVol(?:ume|\.)?\s*(?P<volume>\d{1,4})\b(?:.*?\b(?:Issue|No\.)\s*(?P<issue>\d{1,4}))?"
    r"(?:\s*[,:]?\s*(?:pp?\.\s*)?(?P<first>\d{1,6})\s*[-–]\s*(?P<last>\d{1,6}))?", re.I)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def journal_line(lines: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The journal named in a running head or on the first lines of page 1, with the year, volume, issue and
    pages that follow it ("International Psychogeriatrics (2014), 26:1, 147–154")."""
    for line in lines:
        line = re.sub(r"^\d{1,5}\s*\|\s*", "", line.strip())  # "1234 | Brain 2019: 142; …", the page number first
        match = _JOURNAL_LINE.match(line)
        if not match:
            continue
        if re.search(r"\b(?:in|of|and|for|the|on|at|to|with|a)$", match.group("journal").strip(" ,.;"), re.I):
            continue  # a sentence that runs on into a number ("Cancer in 2013"), not a name
        details = citation_details(line[match.end("journal"):])
        # a journal's word in the name, or the full shape "Name (2013) 225:361–373" (Psychopharmacology, Neuron)
        if _JOURNAL_WORD.search(match.group("journal")) or ("volume" in details and ("page_range" in details or "issue" in details)):
            raw = match.group("journal").strip()
            journal = raw.strip(" ,.;") + ("." if raw.endswith(".") else "")
            volume = _VOLUME_WORD.search(line[match.end("journal"):])
            if volume and "volume" not in details:  # "PLoS ONE | www.plosone.org | Volume 7 | Issue 3 | e33000"
                details.update(_volume_details(volume))
            if "year" not in details:
                year = _YEAR.search(line)
                if year:
                    details["year"] = int(year.group(1))
            return journal, details
    return "", {}


def citation_details(rest: str) -> dict[str, Any]:
    """Year, volume, issue and page range from what follows a journal's name: "(2014), 26:1, 147–154",
    "2021; 12: 101-140", "(2003) 104, 305–313"; "2010, 4:1" (volume 4, article 1) gives the volume only."""
    out: dict[str, Any] = {}
    elsevier = _VOLUME_YEAR_PAGES.match(rest)
    if elsevier:
        return {"year": int(elsevier.group("year")), "volume": elsevier.group("volume"),
                "page_range": f"{elsevier.group('first')}–{elsevier.group('last')}"}
    match = _DETAILS.match(rest)
    if not match:
        return out
    if match.group("year"):
        out["year"] = int(match.group("year"))
    elif _YEAR.fullmatch(match.group("volume")):
        out["year"] = int(match.group("volume"))  # a year and nothing after it
        return out
    out["volume"] = match.group("volume")
    first, last = match.group("first") or match.group("first2"), match.group("last") or match.group("last2")
    issue = match.group("issue") or (match.group("number") if first else None)
    if issue:
        out["issue"] = issue
    if first and last and int(last) >= int(first):
        out["page_range"] = f"{first}–{last}"
    return out


def details_after(journal: str, text: str) -> dict[str, Any]:
    """Volume (and issue, pages) where page 1 names the journal again, in a citation line."""
    for match in re.finditer(re.escape(journal), text):
        details = citation_details(text[match.end():match.end() + 60])
        if "volume" in details:
            details.pop("year", None)
            return details
    return {}


def _volume_details(match: re.Match[str]) -> dict[str, Any]:
    """Volume, issue and pages of a "Vol. 12, No. 3, 123–145" match."""
    details: dict[str, Any] = {"volume": match.group("volume")}
    if match.group("issue"):
        details["issue"] = match.group("issue")
    if match.group("first") and int(match.group("last")) >= int(match.group("first")):
        details["page_range"] = f"{match.group('first')}–{match.group('last')}"
    return details


def volume_line(text: str) -> dict[str, Any] | None:
    """Volume, issue, pages and year of a line that opens with the volume ("Volume 2012, Article ID 486084,
    10 pages", "Vol. 12, No. 3, 123–145"); None for any other line."""
    match = _VOLUME_WORD.match(text)
    if not match:
        return None
    details = _volume_details(match)
    year = _YEAR.search(text)
    if year:
        details["year"] = int(year.group(1))
    return details


def names_a_journal(text: str) -> bool:
    """Whether a name has a word journals are named with ("Journal", "Research", "PLoS", "BMJ" …)."""
    return bool(_JOURNAL_WORD.search(text))


__all__ = ["journal_line", "citation_details", "details_after", "volume_line", "names_a_journal"]
