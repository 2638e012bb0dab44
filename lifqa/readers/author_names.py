"""People's names on an article's author line, as "Family, Given" (the library readers' form).

An author line is split on commas, "and", "&", "·" and "|"; affiliation digits, symbols
(*, †, ☯, ✉) and superscript letters set apart are dropped, as are degrees (MD, PhD),
honorifics and IEEE grades. Each part is a name when its words look like one: capitalised
words, initials, particles (van, der, de, O'…). The family name is the last word with
the particles before it ("van der Berg, Pieter"), or the leading word in capitals
("DUPONT Jean"), or the word before trailing initials ("Ball CG"); capitals are set in
title case ("O'CONNELL" -> "O'Connell").
"""

from __future__ import annotations

import re

from lifqa.readers.build import clean_inline

_MARKERS = re.compile(r"[^\w\s'’.,;&|·•-]|[\d_]")  # affiliation digits, *, †, ☯, ¤, ✉ …
_SEPARATORS = re.compile(r"\s*(?:[,;|·•&]|\b(?i:and)\b|\bund\b|\bet\b)\s*")  # Springer "·", Wiley "|"
_LETTER_MARKS = re.compile(r"(?:\s+[a-z])+$")  # superscript letters set apart: "John Smith a", "Jane Doe b"
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le", "ter", "ten", "bin", "al", "el", "y", "zu"}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_NOT_NAMES = {"university", "department", "institute", "hospital", "school", "college", "centre", "center", "faculty", "laboratory",
              "division", "unit", "group", "foundation", "clinic", "research", "sciences", "science", "medicine", "medical", "health",
              "national", "program", "programme", "ministry", "street", "road", "avenue", "the", "of", "for", "from", "with", "in",
              "on", "to", "by", "at", "an", "study", "review", "analysis", "trial", "evidence", "effects", "role", "inc", "ltd", "gmbh",
              "abstract", "graphical", "supplementary", "material", "materials", "methods", "results", "discussion", "conclusion",
              "conclusions", "introduction", "highlights", "information", "article", "original", "paper", "report", "letter",
              "editor", "editorial", "peer", "open", "access", "journal", "volume", "issue", "online", "copyright", "licence",
              "license", "creative", "commons", "citation", "correspondence", "corresponding", "author", "authors", "press"}
_DEGREES = {"md", "phd", "msc", "bsc", "mph", "rn", "dphil", "frcs", "frcp", "frcpc", "mbbs", "mbchb", "ma", "ba", "ms", "bs", "do",
            "dds", "pharmd", "facs", "drph", "mrcp", "dsc", "mba", "psyd", "bn", "mn", "np", "pt", "ot", "lpn", "bpharm", "mpharm",
            "member", "fellow", "ieee", "acm", "senior member", "student member", "life fellow", "life member"}  # and IEEE grades
_HONORIFICS = {"dr", "prof", "professor", "mr", "mrs", "ms", "sir"}
_INITIALS = re.compile(r"^(?:(?:[A-Z][a-z]?\.)+-?(?:[A-Z]\.?)?|[A-Z]{1,2}|[A-Z]-[A-Z])$")
_WORDLIKE = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’-][^\W\d_]+)*\.?$")


def names_in(text: str) -> list[str]:
    """The people named on an author line, "Family, Given" each; [] when the line is not (mostly) names."""
    text = re.sub(r"^(?:by|authors?:?)\s+", "", text.strip(), flags=re.I)
    parts = [_LETTER_MARKS.sub("", p.strip(" ,;")) for p in _SEPARATORS.split(_MARKERS.sub(" ", text))]
    parts = [" ".join(t for t in p.split() if t.lower().strip(".") not in _HONORIFICS) for p in parts]
    parts = [p for p in parts if p and not re.fullmatch(r"[a-z]{1,2}|et al\.?", p)  # superscript letters; "et al."
             and p.replace(".", "").lower() not in _DEGREES and p.lower() not in _SUFFIXES]
    if not parts:
        return []
    names = [person_name(p) for p in parts]
    good = [n for n in names if n]
    return good if len(good) >= 0.75 * len(names) else []


def person_name(text: str) -> str:
    """"Mary J. O’Connell" -> "O’Connell, Mary J."; "John DOUGLAS" -> "Douglas, John"; "" when it is no person's name."""
    tokens = text.split()
    suffix = [t for t in tokens if t.lower() in _SUFFIXES]
    tokens = [t for t in tokens if t.lower() not in _SUFFIXES]
    if not 2 <= len(tokens) <= 6 or not all(_token_ok(t) for t in tokens) or all(_INITIALS.match(t) for t in tokens):
        return ""
    caps = [len(t) > 1 and t.isupper() and not _INITIALS.match(t) for t in tokens]
    initials = [bool(_INITIALS.match(t)) for t in tokens]
    if caps[0] and not caps[-1] and not all(caps):  # "DOUGLAS John": the family name first, in capitals
        split = next(i for i, c in enumerate(caps) if not c)
        family, given = tokens[:split], tokens[split:]
    elif initials[-1] and not initials[0]:  # "Ball CG", "van der Berg J.": the family name, then initials
        split = len(tokens) - next(i for i, c in enumerate(reversed(initials)) if not c)
        family, given = tokens[:split], tokens[split:]
    else:
        split = len(tokens) - 1
        while split > 1 and tokens[split - 1].lower() in _PARTICLES:
            split -= 1
        family, given = tokens[split:], tokens[:split]
    if not given or not family or any(_INITIALS.match(t) for t in family):
        return ""
    family_text = " ".join(_title_case(t) if t.isupper() and len(t) > 1 else t for t in family)
    given_text = " ".join([_title_case(t) if t.isupper() and len(t) > 2 else t for t in given] + suffix)
    return f"{family_text}, {given_text}"


def _token_ok(token: str) -> bool:
    if token.lower() in _PARTICLES:
        return True
    if token.lower().strip(".") in _NOT_NAMES or not (token[:1].isupper() or re.match(r"[a-z]['’][A-Z]", token)):
        return False
    return bool(_INITIALS.match(token) or _WORDLIKE.match(token))


def _title_case(word: str) -> str:
    """"AGYEMAN-DUAH" -> "Agyeman-Duah", "O'CONNELL" -> "O'Connell", "MCDONALD" -> "McDonald"."""
    out = re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word.lower())
    return re.sub(r"^Mc([a-z])", lambda m: "Mc" + m.group(1).upper(), out)


_JUNK_AUTHOR = re.compile(r"[{}<>@]|\bet\s+al\b|journals?\b|press\b|publish|elsevier|springer|wiley|\badmin|\buser\b|\bcorporation\b", re.I)


def info_authors(value: str) -> tuple[str, ...]:
    """The Info dictionary's Author as "Family, Given" names; () when it is a publisher, a login or mangled."""
    value = clean_inline(value)
    if not value or _JUNK_AUTHOR.search(value) or not re.search(r"[^\W\d_]{2}", value):
        return ()
    parts = re.split(r"\s*;\s*|\s+and\s+|\s*&\s*", value) if ";" in value or " and " in value else re.split(r"\s*,\s*", value)
    out = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if "," not in part and " " in part:
            part = person_name(part) or "{1}, {0}".format(*part.rsplit(" ", 1))
        out.append(part)
    return tuple(out)


__all__ = ["names_in", "person_name", "info_authors"]
