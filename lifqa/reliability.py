"""Reliability flags per source, and a tier from the flags.

Every judgement is a transparent rule over the normalised text, what
normalisation removed (``Document.noise``) and the curator's metadata, and
every flag carries its evidence: a verbatim quote with its character offset in
``Document.text``; a quote from the raw file (offset ``None``) for removed
noise; or ``metadata:<field>`` for metadata flags. No flag without evidence.

Flag kinds (``FLAG_KINDS``)
    ai_generated (high)      the text says it was written/compiled by AI or an automated generator
    commercial (high)        brand mission, product catalogue, calls to buy or explore products
    not_peer_reviewed (med.) a preprint, or says it was not peer reviewed
    encyclopedia (medium)    wiki/encyclopedia: licence notice (GFDL, CC BY-SA), wiki chrome
    lay_summary (medium)     popular retelling: "explained simply", analogies, "Imagine ..."
    cites_sources (info, +)  a reference list whose entries can be checked (DOI, or journal + year + named authors)
    no_references (medium)   factual prose but no reference list, DOI or citation
    unverifiable_references  initials-only authors without DOI; citation keys no entry matches
    off_topic_content (med.) sections that never name the document's subject and are dominated
                             by another gene/protein symbol
    extraction_noise (low)   markup remnants, repeated blocks, page chrome
    conflicting_facts (med.) states an identifier or measurement another source contradicts
    curator_override (info)  the metadata file suppressed a flag (shown, with the curator's reason)
    retracted (high)         metadata says retracted (``retracted``, or publication type "Retracted
                             Publication"); the source is always low tier
Metadata from the readers (PubMed publication types, a preprint server's DOI 10.1101/…, a
preprint server as the journal) adds not_peer_reviewed with evidence ``metadata:<field>``.
Reference lists a reader found (JATS <ref-list>, a PDF's "References" section: Document.sections
of kind "references") are used as they are; otherwise the reference list is inferred from the text.
A doc_type in the metadata (vendor, preprint, wiki, encyclopedia, lay_summary)
adds the matching flag with evidence ``metadata:doc_type`` when the text rules
found none.

Tier rule (``explain_tier`` returns the same reasons as a list)
    1. Each flag kind counts once, at its highest severity: high = 2 points,
       medium = 1, low and info = 0; cites_sources takes 1 point off.
    2. 0 points or fewer: high; 1-3: medium; 4 or more: low.
    3. A source typed as tertiary, promotional or unreviewed (ai_generated,
       commercial, not_peer_reviewed, encyclopedia, lay_summary) is at most medium,
       whatever its references.
    4. unknown: fewer than 50 words, no doc_type and no flag - nothing to judge.
    5. retracted: always low.

Curator overrides (in ``sources.toml``; validated, bad entries are a CorpusError)
    flags = [{kind = "ai_generated", reason = "...", severity = "high", quote = "..."}]
        adds a flag; severity defaults to the kind's, quote (optional) must occur in the text.
    suppress_flags = [{kind = "encyclopedia", reason = "..."}]
        removes every flag of that kind and records a curator_override flag with the reason.

Facts and cross-source conflicts are in ``lifqa.facts``; their findings come in as
``conflicts`` and become conflicting_facts flags here.
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_right
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from lifqa.chunking import split_sentences
from lifqa.errors import CorpusError, IndexCorruptError, InputError
from lifqa.references import DOI_IN_TEXT
from lifqa.types import Chunk, Document, Flag

TIERS = ("high", "medium", "low", "unknown")
SEVERITIES = ("info", "low", "medium", "high")
FLAG_KINDS = (
    "ai_generated", "commercial", "not_peer_reviewed", "encyclopedia", "lay_summary", "cites_sources",
    "no_references", "unverifiable_references", "off_topic_content", "extraction_noise", "conflicting_facts",
    "curator_override", "retracted",
)
DEFAULT_SEVERITY = {
    "ai_generated": "high", "commercial": "high", "not_peer_reviewed": "medium", "encyclopedia": "medium",
    "lay_summary": "medium", "cites_sources": "info", "no_references": "medium", "unverifiable_references": "medium",
    "off_topic_content": "medium", "extraction_noise": "low", "conflicting_facts": "medium", "curator_override": "info",
    "retracted": "high",
}
POSITIVE_KINDS = ("cites_sources",)
CAPPED_KINDS = ("ai_generated", "commercial", "not_peer_reviewed", "encyclopedia", "lay_summary")
_POINTS = {"high": 2, "medium": 1, "low": 0, "info": 0}
_DOC_TYPE_FLAGS = {
    "vendor": ("commercial", "the curator typed this source as vendor content"),
    "preprint": ("not_peer_reviewed", "the curator typed this source as a preprint"),
    "wiki": ("encyclopedia", "the curator typed this source as a wiki page (a tertiary source)"),
    "encyclopedia": ("encyclopedia", "the curator typed this source as an encyclopedia (a tertiary source)"),
    "lay_summary": ("lay_summary", "the curator typed this source as a lay summary of someone else's work"),
}
MAX_PER_KIND = 3
_QUOTE_LIMIT = 220


@dataclass(frozen=True)
class SourceAssessment:
    """A source's flags and the tier derived from them, with the reasons for the tier."""

    doc_id: str
    tier: str
    flags: tuple[Flag, ...]
    reasons: tuple[str, ...] = ()


# ---------------------------------------------------------------- text rules
@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    reason: str
    strong: bool = True  # weak rules (analogy markers) only count when several agree
    severity: str | None = None


def _rules(kind: str, items: Sequence[tuple[str, str] | tuple[str, str, bool] | tuple[str, str, bool, str]]) -> list[_Rule]:
    out = []
    for item in items:
        pattern, reason, *rest = item
        strong = rest[0] if rest else True
        severity = rest[1] if len(rest) > 1 else None
        out.append(_Rule(kind, re.compile(pattern, re.I), reason, strong, severity))
    return out


_AI = r"(?:AI|artificial intelligence|(?:large )?language models?|LLMs?|ChatGPT|GPT-?\d*[a-z]?|Claude|Gemini|Copilot)"
# Within a kind, rules are listed from the most to the least telling; evidence is taken in that order.
PHRASE_RULES: list[_Rule] = [
    *_rules("ai_generated", [
        (r"\bAI[- ](?:generated|compiled|written|authored|produced|created|assisted)\b", "says it was written or compiled by AI"),
        (rf"\b(?:generated|written|compiled|produced|created|drafted|summari[sz]ed)\s+(?:automatically\s+)?(?:by|with|using)\s+(?:an?\s+)?{_AI}(?![\w-])",
         "says it was generated with an AI model"),
        (r"\b(?:automatically|auto|machine)[- ]generated\b", "says it was generated automatically"),
        (r"\bmulti-agent (?:debate|system|pipeline)s?\b", "part of the page was produced or scored by an automated multi-agent pipeline",
         True, "medium"),
    ]),
    *_rules("commercial", [
        (r"\b(?:buy|order|shop|purchase)\s+(?:it\s+)?(?:now|online|today)\b|\badd to (?:cart|basket)\b|\brequest a quote\b",
         "call to buy a product"),
        (r"\bexplore our (?:products?|product portfolio|portfolio|range|catalog(?:ue)?|solutions)\b", "call to explore the company's products"),
        (r"\bproduct (?:catalog(?:ue)?|list|portfolio)\b|\bcatalog(?:ue)? (?:number|no\b\.?)|\bcat\.\s?no\b", "product catalogue"),
        (r"\bbrand mission\b|\bour mission is\b", "brand mission statement"),
        (r"\bwe (?:specialize|specialise) in (?:providing|offering|supplying)\b|\b(?:your|a) trusted partner\b",
         "company promotes its own services"),
        (r"(?:'s|’s) high[- ]quality\b|\bour (?:high[- ]quality|premium|reliable) (?:products?|reagents?|proteins?|antibodies|kits)\b|\bsub-brands?\b",
         "company promotes its own products"),
    ]),
    *_rules("not_peer_reviewed", [
        (r"\b(?:has|have|had)\s+not\s+(?:yet\s+)?been\s+(?:peer[- ]?)?reviewed\b|\bnot\s+(?:yet\s+)?peer[- ]?reviewed\b"
         r"|\bnon-?peer-?reviewed\b|\bunreviewed\b|\bwithout\s+peer\s+review\b", "states that the work was not peer reviewed"),
        (r"\b(?:this|a|the)\s+preprint\b", "is, or retells, a preprint"),
        (r"\b(?:bioRxiv|medRxiv|arXiv|chemRxiv|Research Square|SSRN)\b", "names a preprint server"),
    ]),
    *_rules("encyclopedia", [
        (r"\bGNU Free Documentation Licen[cs]e\b|\bGFDL\b|\bCreative Commons Attribution[- ]Share[- ]?Alike\b|\bCC[- ]BY[- ]SA\b",
         "carries the copyleft licence notice of a wiki or encyclopedia"),
        (r"\b(?:uses|contains|includes) material from the Wikipedia article\b|\bFrom Wikipedia, the free encyclopedia\b|\bmirror of Wikipedia\b",
         "says it copies a Wikipedia article"),
        (r"\bwiki_?pages?(?:_id)?\b|\bThis page was last (?:edited|modified)\b|\bJump to (?:navigation|search)\b|\[edit\]",
         "wiki page chrome"),
    ]),
    *_rules("lay_summary", [
        (r"\bexplained simply\b|\b(?:lay|plain[- ]language) summary\b|\bin (?:simple|plain|everyday) (?:terms|language|English|words)\b"
         r"|\bELI5\b|\bfor (?:non-scientists|the general public|a general audience)\b", "says it is a simplified explanation"),
        (r"\b(?:explanation|retelling) of (?:a|an|the|this) (?:preprint|paper|study|article|research)\b",
         "says it explains someone else's work"),
        (r"\bImagine (?:your|you|a|an|that|the)\b", "analogy addressed to the reader (\"Imagine ...\")", False),
        (r"\bThink of\b", "analogy (\"Think of ... as\")", False),
        (r"\bThe (?:Analogy|Metaphor)\b|\bIt(?:'s| is) like (?:a|an|the)\b", "explicit analogy or metaphor", False),
        (r"\bIn a nutshell\b|\bThe Takeaway\b|\bSimple term\b", "popular-science summary phrase", False),
    ]),
]
_WEAK_NEEDED = 3  # analogy markers needed before lay_summary is flagged without an explicit statement

# Page chrome that marks a wiki when normalisation removed it (quoted from the raw file).
_WIKI_NOISE = re.compile(r"\bwatch ?list\b|\bedit this page\b|\bwhat links here\b|\bview history\b", re.I)


# ---------------------------------------------------------------- per-document analysis
@dataclass(frozen=True)
class _Section:
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


@dataclass
class DocumentAnalysis:
    sentences: list[tuple[int, int, bool]]
    sections: list[_Section]
    ref_spans: list[tuple[int, int]]
    entries: list[RefEntry]
    citations: list[CitationKey]
    subjects: tuple[str, ...]
    off_topic: list[OffTopic]
    _starts: list[int] = field(default_factory=list)

    def sentence_at(self, offset: int) -> tuple[int, int] | None:
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and self.sentences[i][0] <= offset < self.sentences[i][1]:
            return self.sentences[i][0], self.sentences[i][1]
        return None

    def in_refs(self, offset: int) -> bool:
        return any(a <= offset < b for a, b in self.ref_spans)

    def in_off_topic(self, offset: int) -> bool:
        return any(o.start <= offset < o.end for o in self.off_topic)


_CACHE: OrderedDict[tuple[str, str, int], DocumentAnalysis] = OrderedDict()
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()  # the engine is shared between threads


def analyse_document(doc: Document) -> DocumentAnalysis:
    """Sections, reference list, citation keys and off-topic runs of one document (cached:
    passage_flags runs at query time for every citation)."""
    key = (doc.doc_id, doc.content_hash, len(doc.text))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    sentences = [(s.start, s.end, s.is_heading) for s in split_sentences(doc.text)]
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
    analysis = DocumentAnalysis(sentences, sections, ref_spans, entries, citations, subjects, [], [s[0] for s in sentences])
    analysis.off_topic = _off_topic(doc.text, sections, subjects, ref_spans) if subjects else []
    with _CACHE_LOCK:
        _CACHE[key] = analysis
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return analysis


def _sections(text: str, sentences: list[tuple[int, int, bool]]) -> list[_Section]:
    heads = [(s, e) for s, e, h in sentences if h]
    out, heading, start = [], "", 0
    for s, e in heads:
        if s > start or heading:
            out.append(_Section(heading, start, s))
        heading, start = text[s:e].strip().lstrip("#").strip(), s
    out.append(_Section(heading, start, len(text)))
    return [sec for sec in out if text[sec.start:sec.end].strip()]


def _quote(text: str, start: int, end: int, analysis: DocumentAnalysis | None = None, limit: int = _QUOTE_LIMIT) -> tuple[int, str]:
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


def _reference_list(text: str, sentences: list[tuple[int, int, bool]]) -> tuple[list[tuple[int, int]], list[RefEntry]]:
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


def _citation_keys(text: str, ref_spans: list[tuple[int, int]]) -> list[CitationKey]:
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


def _checkable_key(cite: CitationKey, entries: list[RefEntry]) -> bool:
    """Whether an unresolved key is a broken citation; bracketed numbers without any
    reference list are rarely citations (array indices, list markers)."""
    return cite.style != "number" or bool(entries)


def _resolve(key: str, style: str, text: str, entries: list[RefEntry]) -> RefEntry | None:
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


def _symbols(text: str) -> Iterable[tuple[str, int]]:
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
    counts = Counter(tok for tok, _ in _symbols(doc.text))
    in_title: list[str] = []
    for tok, _ in _symbols(doc.title):
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


def _own(token: str, subjects: Sequence[str]) -> bool:
    """A symbol that is, or starts with, a subject symbol (LIFR for LIF) belongs to the subject."""
    return any(token.upper().startswith(s.upper()) for s in subjects)


def _off_topic(text: str, sections: list[_Section], subjects: Sequence[str], ref_spans: list[tuple[int, int]]) -> list[OffTopic]:
    """Runs of consecutive sections that never name a subject symbol, whose most frequent
    other symbol occurs at least 3 times and twice as often as the next one."""
    mention = re.compile("|".join(rf"(?<![\w-]){re.escape(s)}(?![a-z0-9])" for s in subjects), re.I)

    def foreign(sec: _Section) -> list[str]:
        return [tok for tok, _ in _symbols(text[sec.start:sec.end]) if not _own(tok, subjects)]

    runs: list[list[_Section]] = []
    current: list[_Section] = []
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


# ---------------------------------------------------------------- source assessment
def assess_sources(documents: Iterable[Document], conflicts: Sequence[Mapping[str, Any]] = ()) -> dict[str, SourceAssessment]:
    """Flags and tier for every document. ``conflicts`` come from ``lifqa.facts.find_conflicts`` (the
    caller runs it: facts builds on this module, so this module never imports facts; imports run one way)."""
    documents = list(documents)
    return {doc.doc_id: assess_document(doc, conflicts) for doc in documents}


def assess_document(doc: Document, conflicts: Sequence[Mapping[str, Any]] = ()) -> SourceAssessment:
    analysis = analyse_document(doc)
    flags: list[Flag] = []
    flags += _phrase_flags(doc, analysis)
    flags += _noise_flags(doc)
    flags += _reference_flags(doc, analysis)
    flags += _off_topic_flags(doc, analysis)
    flags += _conflict_flags(doc, conflicts)
    flags += _metadata_flags(doc, {f.kind for f in flags})
    flags += _doc_type_flags(doc, {f.kind for f in flags})
    flags = _apply_overrides(doc, flags)
    tier, reasons = explain_tier(flags, doc)
    return SourceAssessment(doc.doc_id, tier, tuple(flags), tuple(reasons))


def _phrase_flags(doc: Document, analysis: DocumentAnalysis) -> list[Flag]:
    text = doc.text
    found: dict[str, list[tuple[_Rule, int, int]]] = {}
    for rule in PHRASE_RULES:
        for m in rule.pattern.finditer(text):
            if not analysis.in_refs(m.start()):
                found.setdefault(rule.kind, []).append((rule, m.start(), m.end()))
    out = []
    for kind, hits in found.items():
        if not any(rule.strong for rule, _, _ in hits) and len({analysis.sentence_at(s) for _, s, _ in hits}) < _WEAK_NEEDED:
            continue
        order = {id(rule): i for i, rule in enumerate(PHRASE_RULES)}
        hits.sort(key=lambda h: (not h[0].strong, order[id(h[0])], h[1]))
        used_rules, used_quotes, kind_flags = set(), set(), []
        for rule, s, e in hits:
            if id(rule) in used_rules and rule.strong:
                continue
            offset, quote = _quote(text, s, e, analysis)
            if offset in used_quotes:
                continue
            used_rules.add(id(rule))
            used_quotes.add(offset)
            kind_flags.append(Flag(kind, rule.severity or DEFAULT_SEVERITY[kind], rule.reason, quote, offset))
            if len(kind_flags) == MAX_PER_KIND:
                break
        out += kind_flags
    for item in doc.noise:  # wiki chrome that normalisation removed
        m = _WIKI_NOISE.search(item)
        if m and sum(f.kind == "encyclopedia" for f in out) < MAX_PER_KIND:
            quote = _raw_quote(doc, item)
            if quote:
                out.append(Flag("encyclopedia", DEFAULT_SEVERITY["encyclopedia"], "wiki page chrome (removed from the text)", quote, None))
    return out


_raw_cache: dict[str, str | None] = {}


def _raw_text(doc: Document) -> str | None:
    """The raw source file, to verify quotes of removed noise (None when there is no file)."""
    path = doc.source_path
    if path not in _raw_cache:
        from lifqa.decoding import decode_file  # only the build's assess stage reads files: the query side never loads it

        raw = None
        if path and Path(path).is_file():
            raw, _ = decode_file(Path(path))
        if len(_raw_cache) > 64:
            _raw_cache.clear()
        _raw_cache[path] = raw
    return _raw_cache[path]


def _raw_quote(doc: Document, item: str) -> str | None:
    """A quote of a removed noise item that occurs verbatim in the raw file: the item, else its
    longest line that does. Without a raw file, the item's first line as removed."""
    raw = _raw_text(doc)
    candidates = [item] + sorted((line.strip() for line in item.split("\n") if line.strip()), key=len, reverse=True)
    if raw is None:
        return candidates[1][:_QUOTE_LIMIT] if len(candidates) > 1 else None
    for quote in candidates:
        if quote and quote in raw:
            return quote if len(quote) <= _QUOTE_LIMIT else quote[:_QUOTE_LIMIT].rsplit(" ", 1)[0]
    return None


_TEXT_NOISE = [
    (re.compile(r"^[ \t]*\|.*\|[ \t]*$|^[^\n|]{1,80} \|[ \t]*$", re.M), "table markup remnants ('|' separators) left in the text"),
    (re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>\n]*)?/?>"), "HTML tags left in the text"),
    (re.compile(r"&(?:[a-z]{2,8}|#\d{2,5});"), "unconverted HTML entities"),
    (re.compile(r"\{'[\w]+': "), "a serialised data record (page metadata) left in the text"),
]


def _noise_flags(doc: Document) -> list[Flag]:
    """Extraction noise, most telling first: a repeated block, markup left in the text, removed
    tags, removed page chrome, removed stray symbols (at most MAX_PER_KIND flags)."""
    severity = DEFAULT_SEVERITY["extraction_noise"]
    groups: dict[str, list[str]] = {}
    lines = {line.strip() for line in doc.text.split("\n")}
    for item in doc.noise:
        if item.lstrip().startswith("<"):
            groups.setdefault("tag", []).append(item)
        elif not any(ch.isalnum() for ch in item):
            groups.setdefault("symbols", []).append(item)
        elif "\n" in item or item.strip() in lines:  # a removed copy of a block or line the text keeps
            groups.setdefault("repeat", []).append(item)
        else:
            groups.setdefault("chrome", []).append(item)
    out: list[Flag] = []
    repeats = groups.pop("repeat", [])
    block = max(repeats, key=len) if repeats else ""
    if block and doc.text.find(block) != -1:  # quote the kept copy of the repeated block
        quote = block[:_QUOTE_LIMIT].rsplit("\n", 1)[0] if len(block) > _QUOTE_LIMIT else block
        out.append(Flag("extraction_noise", severity, f"repeated block{'s' * (len(repeats) > 1)} removed ({len(repeats)}); "
                        "the kept copy is quoted", quote, doc.text.find(block)))
    elif repeats:
        groups["chrome"] = repeats + groups.get("chrome", [])
    found = [(pattern.search(doc.text), len(pattern.findall(doc.text)), reason) for pattern, reason in _TEXT_NOISE]
    found = [(m, n, reason) for m, n, reason in found if m]
    if found:  # one flag for all markup left in the text, quoting the first kind found
        offset, quote = _quote(doc.text, found[0][0].start(), found[0][0].end())
        out.append(Flag("extraction_noise", severity, "; ".join(f"{reason} ({n}x)" for _, n, reason in found), quote, offset))
    for group in ("tag", "chrome", "symbols"):
        items = groups.get(group, [])
        quote = next((q for q in (_raw_quote(doc, item) for item in sorted(items, key=len, reverse=True)) if q), None)
        if quote is None:
            continue
        n = len(items)
        reason = {"tag": f"embedded markup removed ({n} tag{'s' * (n > 1)}, e.g. an iframe or script)",
                  "symbols": f"stray separator or symbol line{'s' * (n > 1)} removed ({n})",
                  "chrome": f"page chrome removed ({n} line{'s' * (n > 1)}: navigation, badges, prompts, browser warnings)"}[group]
        out.append(Flag("extraction_noise", severity, reason, quote, None))
    return out[:MAX_PER_KIND]


def _prose_sentences(doc: Document, analysis: DocumentAnalysis) -> list[tuple[int, int]]:
    return [(s, e) for s, e, h in analysis.sentences
            if not h and len(doc.text[s:e].split()) >= 8 and doc.text[e - 1] in ".!?" and not analysis.in_refs(s)]


def _reference_flags(doc: Document, analysis: DocumentAnalysis) -> list[Flag]:
    text, entries = doc.text, analysis.entries
    out: list[Flag] = []
    checkable = [e for e in entries if e.checkable]
    unverifiable = [e for e in entries if not e.checkable]
    inline_dois = [m for m in DOI_IN_TEXT.finditer(text) if not analysis.in_refs(m.start())]
    if len(checkable) >= 2 and len(checkable) >= len(entries) / 2:
        first = checkable[0]
        offset, quote = _quote(text, first.start, first.end)
        with_doi = sum(1 for e in checkable if e.doi)
        out.append(Flag("cites_sources", "info",
                        f"{len(checkable)} of {len(entries)} reference-list entries can be checked ({with_doi} with a DOI)", quote, offset))
    elif not entries and len(inline_dois) >= 2:
        offset, quote = _quote(text, inline_dois[0].start(), inline_dois[0].end(), analysis)
        out.append(Flag("cites_sources", "info", f"cites {len(inline_dois)} works by DOI in the text", quote, offset))
    if unverifiable:
        first = unverifiable[0]
        initials = sum(1 for e in unverifiable if e.initials_only)
        detail = (f"give authors as initials only (e.g. \"{first.initials_only}\") and no DOI" if first.initials_only
                  else "give no DOI and no journal, year and named authors")
        severity = "medium" if len(unverifiable) > len(entries) / 2 else "low"
        offset, quote = _quote(text, first.start, first.end)
        out.append(Flag("unverifiable_references", severity,
                        f"{len(unverifiable)} of {len(entries)} references {detail}, so they cannot be traced"
                        + (f" ({initials} initials-only)" if initials and not first.initials_only else ""), quote, offset))
    dangling = [(c, key) for c in analysis.citations for key in c.keys
                if _checkable_key(c, entries) and _resolve(key, c.style, text, entries) is None]
    if dangling:
        first = dangling[0][0]
        out.append(Flag("unverifiable_references", "medium",
                        f"cites {first.text}, which no reference-list entry matches ({len(dangling)} unmatched citation key{'s' * (len(dangling) > 1)})",
                        first.text, first.start))
    if not entries and not inline_dois and not dangling and doc.metadata.get("doc_type") != "abstract":
        prose = _prose_sentences(doc, analysis)
        words = sum(len(text[s:e].split()) for s, e in prose)
        if words >= 150:
            s, e = prose[0]
            offset, quote = _quote(text, s, e, analysis)
            out.append(Flag("no_references", DEFAULT_SEVERITY["no_references"],
                            f"{len(prose)} sentences ({words} words) of factual prose, but no reference list, DOI or citation to check them against",
                            quote, offset))
    return out


def _off_topic_flags(doc: Document, analysis: DocumentAnalysis) -> list[Flag]:
    out = []
    for run in analysis.off_topic[:MAX_PER_KIND]:
        first = next(pos for tok, pos in _symbols(doc.text[run.start:run.end]) if tok == run.symbol) + run.start
        offset, quote = _quote(doc.text, first, first + len(run.symbol), analysis)
        others = ", ".join(f"{tok} ×{n}" for tok, n in run.counts[1:4])
        heads = ", ".join(f"'{h}'" for h in run.headings[:6] if h) + (" …" if len(run.headings) > 6 else "")
        out.append(Flag("off_topic_content", DEFAULT_SEVERITY["off_topic_content"],
                        f"sections {heads} (chars {run.start}-{run.end}) never name {run.subject}, the document's subject; "
                        f"they are about {run.symbol} (×{dict(run.counts)[run.symbol]}{'; also ' + others if others else ''})",
                        quote, offset))
    return out


def _conflict_flags(doc: Document, conflicts: Sequence[Mapping[str, Any]]) -> list[Flag]:
    out = []
    for conflict in conflicts:
        if conflict.get("status") != "conflict":
            continue
        mine = [v for v in conflict["values"] if doc.doc_id in v["doc_ids"]]
        others = [v for v in conflict["values"] if doc.doc_id not in v["doc_ids"]]
        if not mine or not others:
            continue
        evidence = next(ev for ev in mine[0]["evidence"] if ev["doc_id"] == doc.doc_id)
        other = "; ".join(f"{v['value']} ({', '.join(v['doc_ids'])})" for v in others)
        out.append(Flag("conflicting_facts", DEFAULT_SEVERITY["conflicting_facts"],
                        f"states {conflict['label']} {mine[0]['value']}, but other sources state {other}",
                        evidence["quote"], evidence["offset"]))
    return out


_PREPRINT_SERVERS = re.compile(r"\b(?:biorxiv|medrxiv|arxiv|research square|ssrn|preprints\.org|chemrxiv|psyarxiv|osf preprints)\b", re.I)


def _metadata_flags(doc: Document, found: set[str]) -> list[Flag]:
    """Flags from what the readers took from the file's metadata (PubMed, JATS, PDF)."""
    meta, out = doc.metadata, []
    types = [str(t) for t in meta.get("publication_types") or []]
    if meta.get("retracted") is True:
        out.append(Flag("retracted", "high", "the metadata marks this publication as retracted", "metadata:retracted", None))
    elif any(t.lower() == "retracted publication" for t in types):
        out.append(Flag("retracted", "high", "its publication type is \"Retracted Publication\"", "metadata:publication_types", None))
    if "not_peer_reviewed" not in found:
        doi = str(meta.get("doi") or "")
        if any(t.lower() == "preprint" for t in types):
            out.append(Flag("not_peer_reviewed", DEFAULT_SEVERITY["not_peer_reviewed"], "its publication type is \"Preprint\"",
                            "metadata:publication_types", None))
        elif doi.startswith("10.1101/"):
            out.append(Flag("not_peer_reviewed", DEFAULT_SEVERITY["not_peer_reviewed"],
                            f"its DOI {doi} is a bioRxiv/medRxiv preprint DOI (10.1101/)", "metadata:doi", None))
        elif _PREPRINT_SERVERS.search(str(meta.get("journal") or "")):
            out.append(Flag("not_peer_reviewed", DEFAULT_SEVERITY["not_peer_reviewed"],
                            f"it was published on a preprint server ({meta.get('journal')})", "metadata:journal", None))
    return out


def _doc_type_flags(doc: Document, found: set[str]) -> list[Flag]:
    doc_type = doc.metadata.get("doc_type")
    if doc_type in _DOC_TYPE_FLAGS:
        kind, reason = _DOC_TYPE_FLAGS[doc_type]
        if kind not in found:
            return [Flag(kind, DEFAULT_SEVERITY[kind], reason, "metadata:doc_type", None)]
    return []


# ---------------------------------------------------------------- curator overrides
_OVERRIDE_FIELDS = {"flags": ("kind", "reason", "severity", "quote"), "suppress_flags": ("kind", "reason")}


def validate_overrides(doc: Document) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The curator's ``flags`` and ``suppress_flags`` entries, checked; a bad entry is a
    CorpusError naming the file, the entry and the fix."""
    where = f"metadata for '{doc.metadata.get('file', doc.doc_id)}'"
    example = {"flags": 'flags = [{kind = "ai_generated", reason = "the publisher confirmed it"}]',
               "suppress_flags": 'suppress_flags = [{kind = "encyclopedia", reason = "curated expert page, not a mirror"}]'}
    result: dict[str, list[dict[str, str]]] = {}
    for name, allowed in _OVERRIDE_FIELDS.items():
        value = doc.metadata.get(name, [])
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list):
            raise CorpusError(f"{where}: '{name}' must be a list of tables, e.g. {example[name]}")
        entries = []
        for i, entry in enumerate(value):
            at = f"{where}: {name}[{i}]"
            if not isinstance(entry, Mapping):
                raise CorpusError(f"{at} must be a table with kind and reason, e.g. {example[name]}")
            unknown = sorted(set(entry) - set(allowed))
            if unknown:
                raise CorpusError(f"{at} has unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(allowed)}")
            kind = entry.get("kind")
            if kind not in FLAG_KINDS or kind == "curator_override":
                raise CorpusError(f"{at}: kind {kind!r} is not a flag kind; valid kinds: {', '.join(k for k in FLAG_KINDS if k != 'curator_override')}")
            reason = entry.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise CorpusError(f"{at}: give a 'reason' (why the curator overrides the rules), e.g. {example[name]}")
            severity = entry.get("severity", DEFAULT_SEVERITY[kind])
            if severity not in SEVERITIES:
                raise CorpusError(f"{at}: severity {severity!r} is not valid; use one of {', '.join(SEVERITIES)}")
            quote = entry.get("quote")
            if quote is not None and (not isinstance(quote, str) or not quote or quote not in doc.text):
                raise CorpusError(f"{at}: quote {str(quote)[:60]!r} does not occur in the document text; copy it verbatim or leave it out")
            entries.append({"kind": kind, "reason": reason.strip(), "severity": severity, **({"quote": quote} if quote else {})})
        result[name] = entries
    return result["flags"], result["suppress_flags"]


def _apply_overrides(doc: Document, flags: list[Flag]) -> list[Flag]:
    added, suppressed = validate_overrides(doc)
    out = list(flags)
    for entry in suppressed:
        out = [f for f in out if f.kind != entry["kind"]]
        out.append(Flag("curator_override", "info", f"curator suppressed {entry['kind']}: {entry['reason']}", "metadata:suppress_flags", None))
    for entry in added:
        quote = entry.get("quote")
        out.append(Flag(entry["kind"], entry["severity"], f"curator: {entry['reason']}",
                        quote or "metadata:flags", doc.text.find(quote) if quote else None))
    return out


# ---------------------------------------------------------------- tiers
def explain_tier(flags: Sequence[Flag], document: Document | None = None) -> tuple[str, list[str]]:
    """The tier the flags earn and the steps that led to it (see the module docstring)."""
    if not flags and document is not None and not document.metadata.get("doc_type") and len(document.text.split()) < 50:
        return "unknown", ["fewer than 50 words, no doc_type and no flags: nothing to judge"]
    worst: dict[str, str] = {}
    for flag in flags:
        if SEVERITIES.index(flag.severity if flag.severity in SEVERITIES else "info") >= SEVERITIES.index(worst.get(flag.kind, "info")):
            worst[flag.kind] = flag.severity if flag.severity in SEVERITIES else "info"
    points, reasons = 0, []
    for kind, severity in worst.items():
        if kind in POSITIVE_KINDS:
            points -= 1
            reasons.append(f"{kind}: -1")
        elif _POINTS[severity]:
            points += _POINTS[severity]
            reasons.append(f"{kind} ({severity}): +{_POINTS[severity]}")
    tier = "high" if points <= 0 else "medium" if points <= 3 else "low"
    reasons.append(f"{points} point{'s' * (abs(points) != 1)} -> {tier} (0 or fewer: high; 1-3: medium; 4 or more: low)")
    capped = [k for k in CAPPED_KINDS if k in worst]
    if tier == "high" and capped:
        tier = "medium"
        reasons.append(f"at most medium: flagged {', '.join(capped)}")
    if "retracted" in worst and tier != "low":
        tier = "low"
        reasons.append("always low: retracted")
    return tier, reasons


def check_flag_kinds(kinds: Iterable[str]) -> set[str]:
    """The flag kinds of an --exclude option, stripped; an unknown kind is an InputError naming the valid ones."""
    wanted = {k.strip() for k in kinds if k and k.strip()}
    unknown = sorted(wanted - set(FLAG_KINDS))
    if unknown:
        raise InputError(f"unknown flag kind(s) {', '.join(unknown)}. Valid kinds: {', '.join(FLAG_KINDS)}")
    return wanted


# ---------------------------------------------------------------- passages
def passage_flags(chunk: Chunk, source: Any) -> tuple[Flag, ...]:
    """Flags of one passage beyond its source's: inside an off-topic section; citing a key
    the reference list resolves to a DOI (positive) or that no entry matches."""
    doc: Document = source.document
    analysis = analyse_document(doc)
    text, out = doc.text, []
    length = max(1, chunk.char_end - chunk.char_start)
    for run in analysis.off_topic:
        overlap = min(chunk.char_end, run.end) - max(chunk.char_start, run.start)
        if overlap * 2 < length:
            continue
        lo, hi = max(chunk.char_start, run.start), min(chunk.char_end, run.end)
        mention = next(((tok, pos + lo) for tok, pos in _symbols(text[lo:hi]) if not _own(tok, analysis.subjects)), None)
        at = mention[1] if mention else lo
        offset, quote = _quote(text, at, at + (len(mention[0]) if mention else 1), analysis)
        out.append(Flag("off_topic_content", "medium",
                        f"this passage lies in a part of the document that never names {run.subject} and is about {run.symbol}",
                        quote, offset))
    positive = negative = 0
    for cite in analysis.citations:
        if not chunk.char_start <= cite.start < chunk.char_end:
            continue
        for key in cite.keys:
            entry = _resolve(key, cite.style, text, analysis.entries)
            if entry is not None and entry.doi and positive < MAX_PER_KIND:
                positive += 1
                out.append(Flag("cites_sources", "info", f"this passage cites {key}, which the reference list resolves to doi:{entry.doi}",
                                cite.text, cite.start))
            elif entry is None and _checkable_key(cite, analysis.entries) and negative < MAX_PER_KIND:
                negative += 1
                out.append(Flag("unverifiable_references", "medium", f"this passage cites {key}, which no reference-list entry matches",
                                cite.text, cite.start))
            elif entry is not None and not entry.checkable and negative < MAX_PER_KIND:
                negative += 1
                out.append(Flag("unverifiable_references", "low", f"this passage cites {key}, whose reference cannot be traced (no DOI, initials-only authors)",
                                cite.text, cite.start))
    return tuple(out)


def load_index_reliability(index_dir: str | Path) -> tuple[list[Any], list[dict[str, Any]]]:
    """The stored sources (SourceRecords) and conflicts of a built index, checked against its
    manifest but without loading the encoder, so ``lifqa sources``/``conflicts`` answer at once."""
    from lifqa.index import layout
    from lifqa.index.store import open_store

    build = layout.active_build(index_dir)
    manifest = layout.read_manifest(build)
    layout.verify_files(build, manifest)
    hint = f"Rebuild with: {layout.build_hint(Path(index_dir))} --force"
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {index_dir} has format {manifest.get('format_version')}, "
                                f"this lifqa reads format {layout.FORMAT_VERSION}. {hint}")
    try:
        store = open_store(build)
        try:
            sources = store.all_sources()
        finally:
            store.close()
        conflicts = json.loads((build / layout.RELIABILITY).read_text(encoding="utf-8")).get("conflicts", [])
    except Exception as exc:  # a file that passed the checksum but cannot be parsed
        raise IndexCorruptError(f"cannot read the reliability data in {build}: {exc}. {hint}") from None
    return sources, conflicts
