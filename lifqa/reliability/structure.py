"""The structure of one document that the reliability rules and fact extraction read.

Sections (between heading sentences), the reference list and its parsed entries, in-text citation
keys, the document's subject symbols and the off-topic runs of sections. Analysed once per document
during a build (``lifqa.index.build.chunk_one``); the rules in ``lifqa.reliability.flags`` and
``lifqa.reliability.passages`` and the facts in ``lifqa.reliability.facts`` take the analysis as an
argument, and the query side reads what they stored, never this module. This module knows no rule.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from lifqa.chunking import split_sentences
from lifqa.references import DOI_IN_TEXT
from lifqa.types import Document

QUOTE_LIMIT = 220  # characters of a flag's evidence quote


@dataclass(frozen=True)
class SectionSpan:
    """The text from one heading sentence to the next (the first has no heading)."""

    heading: str
    start: int
    end: int


@dataclass(frozen=True)
class RefEntry:
    """One reference-list entry, parsed enough to tell whether it can be checked."""

    start: int
    end: int
    number: int | None
    label: str | None
    doi: str | None
    year: str | None
    journal: bool
    initials_only: str | None  # the initials-only author string, if that is all it names

    @property
    def checkable(self) -> bool:
        return bool(self.doi) or (self.journal and bool(self.year) and not self.initials_only)


@dataclass(frozen=True)
class CitationKey:
    """An in-text citation such as ``(Huyton2007An)``, ``[3]`` or ``[@turnley2004]``."""

    text: str
    start: int
    keys: tuple[str, ...]
    style: str  # "label" | "number" | "pandoc" | "author-year"


@dataclass(frozen=True)
class OffTopic:
    """A run of sections that never names the subject and is dominated by another symbol."""

    start: int
    end: int
    headings: tuple[str, ...]
    subject: str
    symbol: str
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class DocumentAnalysis:
    """What :func:`analyse_document` found in one document; plain data, so a build caches it as JSON."""

    sentences: tuple[tuple[int, int, bool], ...]  # (start, end, is_heading)
    sections: tuple[SectionSpan, ...]
    ref_spans: tuple[tuple[int, int], ...]
    entries: tuple[RefEntry, ...]
    citations: tuple[CitationKey, ...]
    subjects: tuple[str, ...]
    off_topic: tuple[OffTopic, ...]
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(s[0] for s in self.sentences))

    def sentence_at(self, offset: int) -> tuple[int, int] | None:
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and self.sentences[i][0] <= offset < self.sentences[i][1]:
            return self.sentences[i][0], self.sentences[i][1]
        return None

    def in_refs(self, offset: int) -> bool:
        return any(a <= offset < b for a, b in self.ref_spans)

    def in_off_topic(self, offset: int) -> bool:
        return any(o.start <= offset < o.end for o in self.off_topic)

    def to_json(self) -> dict[str, Any]:
        return {"sentences": self.sentences, "sections": [asdict(s) for s in self.sections], "ref_spans": self.ref_spans,
                "entries": [asdict(e) for e in self.entries], "citations": [asdict(c) for c in self.citations],
                "subjects": self.subjects, "off_topic": [asdict(o) for o in self.off_topic]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DocumentAnalysis":
        return cls(
            tuple((s, e, bool(h)) for s, e, h in data["sentences"]),
            tuple(SectionSpan(**s) for s in data["sections"]),
            tuple((a, b) for a, b in data["ref_spans"]),
            tuple(RefEntry(**e) for e in data["entries"]),
            tuple(CitationKey(c["text"], c["start"], tuple(c["keys"]), c["style"]) for c in data["citations"]),
            tuple(data["subjects"]),
            tuple(OffTopic(o["start"], o["end"], tuple(o["headings"]), o["subject"], o["symbol"],
                           tuple((tok, n) for tok, n in o["counts"])) for o in data["off_topic"]),
        )


def analyse_document(doc: Document, sentences: Sequence[tuple[int, int, bool]] | None = None) -> DocumentAnalysis:
    """Sections, reference list, citation keys and off-topic runs of one document. ``sentences``:
    its (start, end, is_heading) spans when the caller has split it already (the build has)."""
    if sentences is None:
        sentences = [(s.start, s.end, s.is_heading) for s in split_sentences(doc.text)]
    sentences = [tuple(s) for s in sentences]
    sections = _sections(doc.text, sentences)
    known_refs = [(sec.start, sec.end) for sec in doc.sections if sec.kind == "references"]
    if known_refs:  # the reader found the reference list (JATS markup, PDF layout): one entry per line
        ref_spans = known_refs
        entries = [_parse_entry(doc.text, s, e) for a, b in known_refs for s, e in _line_spans_in(doc.text, a, b)
                   if _YEAR.search(doc.text, s, e) or DOI_IN_TEXT.search(doc.text, s, e)]
    else:
        ref_spans, entries = _reference_list(doc.text, sentences)
    citations = _citation_keys(doc.text, ref_spans)
    subjects = _subject(doc)
    off_topic = _off_topic(doc.text, sections, subjects, ref_spans) if subjects else []
    return DocumentAnalysis(tuple(sentences), tuple(sections), tuple(ref_spans), tuple(entries), tuple(citations), subjects,
                            tuple(off_topic))


def _sections(text: str, sentences: Sequence[tuple[int, int, bool]]) -> list[SectionSpan]:
    heads = [(s, e) for s, e, h in sentences if h]
    out, heading, start = [], "", 0
    for s, e in heads:
        if s > start or heading:
            out.append(SectionSpan(heading, start, s))
        heading, start = text[s:e].strip().lstrip("#").strip(), s
    out.append(SectionSpan(heading, start, len(text)))
    return [sec for sec in out if text[sec.start:sec.end].strip()]


def quote_around(text: str, start: int, end: int, analysis: DocumentAnalysis | None = None, limit: int = QUOTE_LIMIT) -> tuple[int, str]:
    """A verbatim quote around text[start:end]: its sentence (or line), clipped at word
    boundaries to ``limit`` characters. Returns (offset, quote)."""
    span = analysis.sentence_at(start) if analysis else None
    if span is None or span[1] < end:
        span = (text.rfind("\n", 0, start) + 1, (text.find("\n", end) + 1 or len(text) + 1) - 1)
    a, b = span
    if b - a > limit:
        a = max(a, start - limit // 3)
        if a > span[0]:
            space = text.find(" ", a, start)
            a = space + 1 if space != -1 else a
        b = min(b, max(end, a + limit))
        if b < span[1]:
            space = text.rfind(" ", max(end, a + 1), b)
            b = space if space != -1 else b
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, text[a:b]


# ---------------------------------------------------------------- references and citation keys
_REF_HEADING = re.compile(
    r"^\s*(?:#+\s*)?(?:\d+\.?\s*)?(references|bibliography|works cited|literature cited|cited literature|key publications|"
    r"publications|sources|citations|further reading)\s*:?\s*$", re.I)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_JOURNAL = re.compile(r"\bvol\.?\s*\d+|\b\d+\s*\(\d+\)\s*:\s*\d+|\bpp?\.\s*\d+|\d+\s*:\s*\d+\s*[–-]\s*\d+|"
                      r"\b(?:Journal|Proceedings|Reviews?|Letters|Annals|Acta|Bulletin|Transactions)\b")
_ENTRY_PREFIX = re.compile(r"^\s*(?:[-*•]\s*)?(?:\[(?P<n1>\d{1,4})\]|(?P<n2>\d{1,4})[.)])?\s*(?:\((?P<l1>[^()\s]{3,80})\)|\[(?P<l2>[^\]\s]{3,80})\])?\s*")
_INITIALS_ONLY = re.compile(r"^((?:[A-Z]\.\s*){1,8}(?:et\s+al\.?)?)\s*(?:,|[\"“]|$)")
_KEY_LABEL = re.compile(r"\(([A-Z][\w‐'’\-]*?\d{4}[\w‐'’\-:]*(?:\s*;\s*[A-Z][\w‐'’\-]*?\d{4}[\w‐'’\-:]*)*)\)")
_KEY_NUMBER = re.compile(r"\[(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]")
_KEY_PANDOC = re.compile(r"\[@([\w:.\-]+)(?:\s*;\s*@[\w:.\-]+)*\]")
_KEY_AUTHOR_YEAR = re.compile(r"\(([A-Z][A-Za-z'’\-]+)(?:\s+et al\.?|\s+(?:and|&)\s+[A-Z][A-Za-z'’\-]+)?,?\s+((?:19|20)\d{2})[a-z]?\)")


def _reference_list(text: str, sentences: Sequence[tuple[int, int, bool]]) -> tuple[list[tuple[int, int]], list[RefEntry]]:
    """Reference sections (a heading such as "References" or "Key Publications" and the
    entry lines under it) and their parsed entries; failing that, numbered lines with a DOI."""
    headings = sorted({s for s, _, h in sentences if h})
    spans, entries = [], []
    lines = list(_line_spans(text))
    i = 0
    while i < len(lines):
        s, e = lines[i]
        if not _REF_HEADING.match(text[s:e]):
            i += 1
            continue
        end, j = e, i + 1
        while j < len(lines):
            ls, le = lines[j]
            line = text[ls:le]
            if _REF_HEADING.match(line) or (ls in headings and not (_YEAR.search(line) or DOI_IN_TEXT.search(line))):
                break
            if _YEAR.search(line) or DOI_IN_TEXT.search(line):
                entries.append(_parse_entry(text, ls, le))
                end = le
            j += 1
        spans.append((s, end))
        i = j
    if not entries:  # no reference heading: numbered lines that carry a DOI
        for s, e in lines:
            line = text[s:e]
            if re.match(r"^\s*(?:\[\d{1,4}\]|\d{1,4}[.)])\s", line) and DOI_IN_TEXT.search(line):
                entries.append(_parse_entry(text, s, e))
                spans.append((s, e))
    return spans, entries


def _line_spans(text: str) -> Iterable[tuple[int, int]]:
    position = 0
    for line in text.split("\n"):
        if line.strip():
            yield position, position + len(line)
        position += len(line) + 1


def _line_spans_in(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    return ((start + a, start + b) for a, b in _line_spans(text[start:end]))


def _parse_entry(text: str, start: int, end: int) -> RefEntry:
    line = text[start:end]
    prefix = _ENTRY_PREFIX.match(line)
    number = prefix.group("n1") or prefix.group("n2") if prefix else None
    label = (prefix.group("l1") or prefix.group("l2")) if prefix else None
    rest = line[prefix.end():] if prefix else line
    doi = DOI_IN_TEXT.search(line)
    year = _YEAR.search(line)
    initials = _INITIALS_ONLY.match(rest)
    return RefEntry(
        start=start, end=end, number=int(number) if number else None, label=label,
        doi=doi.group(0).rstrip(").,") if doi else None, year=year.group(0) if year else None,
        journal=bool(_JOURNAL.search(line)), initials_only=initials.group(1).strip() if initials else None,
    )


def _citation_keys(text: str, ref_spans: Sequence[tuple[int, int]]) -> list[CitationKey]:
    out = []
    outside = lambda m: not any(a <= m.start() < b for a, b in ref_spans)  # noqa: E731
    for m in _KEY_LABEL.finditer(text):
        if outside(m):
            out.append(CitationKey(m.group(0), m.start(), tuple(k.strip() for k in m.group(1).split(";")), "label"))
    for m in _KEY_NUMBER.finditer(text):
        if outside(m):
            out.append(CitationKey(m.group(0), m.start(), tuple(_expand_numbers(m.group(1))), "number"))
    for m in _KEY_PANDOC.finditer(text):
        if outside(m):
            out.append(CitationKey(m.group(0), m.start(), tuple(re.findall(r"@([\w:.\-]+)", m.group(0))), "pandoc"))
    for m in _KEY_AUTHOR_YEAR.finditer(text):
        if outside(m):
            out.append(CitationKey(m.group(0), m.start(), (f"{m.group(1)} {m.group(2)}",), "author-year"))
    return sorted(out, key=lambda c: c.start)


def _expand_numbers(spec: str) -> list[str]:
    out = []
    for part in re.split(r"\s*,\s*", spec):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit() and 0 <= int(bounds[1]) - int(bounds[0]) <= 50:
            out.extend(str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.append(bounds[0])
    return out


def checkable_key(cite: CitationKey, entries: Sequence[RefEntry]) -> bool:
    """Whether an unresolved key is a broken citation; bracketed numbers without any
    reference list are rarely citations (array indices, list markers)."""
    return cite.style != "number" or bool(entries)


def resolve_key(key: str, style: str, text: str, entries: Sequence[RefEntry]) -> RefEntry | None:
    for entry in entries:
        if style == "number" and entry.number is not None and str(entry.number) == key:
            return entry
        if style in ("label", "pandoc") and entry.label and entry.label.lower() == key.lower():
            return entry
        if style == "author-year":
            surname, year = key.rsplit(" ", 1)
            if entry.year == year and surname.lower() in text[entry.start:entry.end].lower():
                return entry
    return None


# ---------------------------------------------------------------- subject and off-topic runs
_SYMBOL = re.compile(r"(?<![\w\-])(?:\d{1,2}-[A-Z]{1,4}\d{1,2}[A-Z]?|[A-Z][A-Z0-9]{1,9}(?:-[A-Z0-9]{1,4})?)(?![\w\-])")
_ROMAN = re.compile(r"^[IVXLCDM]+$")
# General abbreviations that look like gene symbols but name methods, diseases, units or organisations.
_NOT_GENES = frozenset("""
DNA RNA MRNA CDNA PCR QPCR ELISA CNS PNS ALS EAE TBI GPCR GMP HEK CHO USA EU UK FDA NIH WHO DOI URL PMID HTML PDF
KG AI ISO LTD INC PTE LLC GMBH CEO PHD MD SEM SD ATP GTP ADP NADH CO2 UV IV ICU MRI CT PET BBB CSF ECM SNP KO WT
FAQ API JSON ID IDS PTM KD EC50 IC50 HR OR CI ANOVA DMSO PBS BSA LPS GFP RFP AAV HIV SARS COVID THE AND FOR NOT
""".split())


def symbols(text: str) -> Iterable[tuple[str, int]]:
    for m in _SYMBOL.finditer(text):
        token = m.group(0)
        if len(token) < 3 or _ROMAN.match(token) or token.upper() in _NOT_GENES or token.isdigit():
            continue
        if not any(ch.isalpha() for ch in token):
            continue
        yield token, m.start()


def _subject(doc: Document) -> tuple[str, ...]:
    """The genes/proteins the document is about: the title's symbols (hyphenated pairs such
    as LIF-LIFR split), most frequent in the text first; else the text's most frequent
    symbol if it occurs at least three times. Empty when there is no clear subject."""
    counts = Counter(tok for tok, _ in symbols(doc.text))
    in_title: list[str] = []
    for tok, _ in symbols(doc.title):
        parts = [p for p in tok.split("-") if len(p) >= 3 and p[0].isalpha()]
        for part in (parts if len(parts) > 1 else [tok]):
            if part not in in_title:
                in_title.append(part)
    if in_title:
        return tuple(sorted(in_title, key=lambda tok: (-counts.get(tok, 0), in_title.index(tok))))
    if counts:
        symbol, n = counts.most_common(1)[0]
        if n >= 3:
            return (symbol,)
    return ()


def is_own_symbol(token: str, subjects: Sequence[str]) -> bool:
    """A symbol that is, or starts with, a subject symbol (LIFR for LIF) belongs to the subject."""
    return any(token.upper().startswith(s.upper()) for s in subjects)


def _off_topic(text: str, sections: Sequence[SectionSpan], subjects: Sequence[str], ref_spans: Sequence[tuple[int, int]]) -> list[OffTopic]:
    """Runs of consecutive sections that never name a subject symbol, whose most frequent
    other symbol occurs at least 3 times and twice as often as the next one."""
    mention = re.compile("|".join(rf"(?<![\w-]){re.escape(s)}(?![a-z0-9])" for s in subjects), re.I)

    def foreign(sec: SectionSpan) -> list[str]:
        return [tok for tok, _ in symbols(text[sec.start:sec.end]) if not is_own_symbol(tok, subjects)]

    runs: list[list[SectionSpan]] = []
    current: list[SectionSpan] = []
    for sec in sections:
        body = text[sec.start:sec.end]
        if mention.search(body) or any(a <= sec.start < b for a, b in ref_spans):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(sec)
    if current:
        runs.append(current)
    out = []
    for run in runs:
        counts = Counter(tok for sec in run for tok in foreign(sec)).most_common()
        if not counts or counts[0][1] < 3 or (len(counts) > 1 and counts[0][1] < 2 * counts[1][1]):
            continue
        kept = [sec for sec in run if foreign(sec)]
        start, end = kept[0].start, kept[-1].end
        if end - start > 0.6 * len(text):
            continue  # most of the document: the subject guess is more likely wrong than the text
        out.append(OffTopic(start, end, tuple(sec.heading for sec in kept), subjects[0], counts[0][0], tuple(counts[:5])))
    return out

