"""Reliability flags per source: the text rules, the metadata rules and the curator's overrides.

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
of kind "references") are used as they are; otherwise the reference list is inferred from the text
(``lifqa.reliability.structure``).
A doc_type in the metadata (vendor, preprint, wiki, encyclopedia, lay_summary)
adds the matching flag with evidence ``metadata:doc_type`` when the text rules
found none.

The tier the flags earn is ``lifqa.reliability.tiers.explain_tier``.

Curator overrides (in ``sources.toml``; validated, bad entries are a CorpusError)
    flags = [{kind = "ai_generated", reason = "...", severity = "high", quote = "..."}]
        adds a flag; severity defaults to the kind's, quote (optional) must occur in the text.
    suppress_flags = [{kind = "encyclopedia", reason = "..."}]
        removes every flag of that kind and records a curator_override flag with the reason.

Facts and cross-source conflicts are in ``lifqa.reliability.facts``; their findings come in as
``conflicts`` and become conflicting_facts flags here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from lifqa.errors import CorpusError
from lifqa.references import DOI_IN_TEXT
from lifqa.reliability.structure import (
    QUOTE_LIMIT,
    DocumentAnalysis,
    analyse_document,
    checkable_key,
    quote_around,
    resolve_key,
    symbols,
)
from lifqa.reliability.tiers import DEFAULT_SEVERITY, FLAG_KINDS, MAX_PER_KIND, SEVERITIES, explain_tier
from lifqa.types import Document, Flag

_DOC_TYPE_FLAGS = {
    "vendor": ("commercial", "the curator typed this source as vendor content"),
    "preprint": ("not_peer_reviewed", "the curator typed this source as a preprint"),
    "wiki": ("encyclopedia", "the curator typed this source as a wiki page (a tertiary source)"),
    "encyclopedia": ("encyclopedia", "the curator typed this source as an encyclopedia (a tertiary source)"),
    "lay_summary": ("lay_summary", "the curator typed this source as a lay summary of someone else's work"),
}


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


# ---------------------------------------------------------------- source assessment
def assess_sources(documents: Iterable[Document], conflicts: Sequence[Mapping[str, Any]] = ()) -> dict[str, SourceAssessment]:
    """Flags and tier for every document. ``conflicts`` come from ``lifqa.reliability.facts.find_conflicts`` (the
    caller runs it: facts and these rules both build on the document structure, neither on the other)."""
    documents = list(documents)
    return {doc.doc_id: assess_document(doc, conflicts) for doc in documents}


def assess_document(doc: Document, conflicts: Sequence[Mapping[str, Any]] = (),
                    analysis: DocumentAnalysis | None = None) -> SourceAssessment:
    """A source's flags and tier. ``analysis``: the document's structure when the caller has it (a build
    analyses each document once, in its chunking stage); else it is analysed here."""
    analysis = analysis if analysis is not None else analyse_document(doc)
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
            offset, quote = quote_around(text, s, e, analysis)
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
        return candidates[1][:QUOTE_LIMIT] if len(candidates) > 1 else None
    for quote in candidates:
        if quote and quote in raw:
            return quote if len(quote) <= QUOTE_LIMIT else quote[:QUOTE_LIMIT].rsplit(" ", 1)[0]
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
        quote = block[:QUOTE_LIMIT].rsplit("\n", 1)[0] if len(block) > QUOTE_LIMIT else block
        out.append(Flag("extraction_noise", severity, f"repeated block{'s' * (len(repeats) > 1)} removed ({len(repeats)}); "
                        "the kept copy is quoted", quote, doc.text.find(block)))
    elif repeats:
        groups["chrome"] = repeats + groups.get("chrome", [])
    found = [(pattern.search(doc.text), len(pattern.findall(doc.text)), reason) for pattern, reason in _TEXT_NOISE]
    found = [(m, n, reason) for m, n, reason in found if m]
    if found:  # one flag for all markup left in the text, quoting the first kind found
        offset, quote = quote_around(doc.text, found[0][0].start(), found[0][0].end())
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
        offset, quote = quote_around(text, first.start, first.end)
        with_doi = sum(1 for e in checkable if e.doi)
        out.append(Flag("cites_sources", "info",
                        f"{len(checkable)} of {len(entries)} reference-list entries can be checked ({with_doi} with a DOI)", quote, offset))
    elif not entries and len(inline_dois) >= 2:
        offset, quote = quote_around(text, inline_dois[0].start(), inline_dois[0].end(), analysis)
        out.append(Flag("cites_sources", "info", f"cites {len(inline_dois)} works by DOI in the text", quote, offset))
    if unverifiable:
        first = unverifiable[0]
        initials = sum(1 for e in unverifiable if e.initials_only)
        detail = (f"give authors as initials only (e.g. \"{first.initials_only}\") and no DOI" if first.initials_only
                  else "give no DOI and no journal, year and named authors")
        severity = "medium" if len(unverifiable) > len(entries) / 2 else "low"
        offset, quote = quote_around(text, first.start, first.end)
        out.append(Flag("unverifiable_references", severity,
                        f"{len(unverifiable)} of {len(entries)} references {detail}, so they cannot be traced"
                        + (f" ({initials} initials-only)" if initials and not first.initials_only else ""), quote, offset))
    dangling = [(c, key) for c in analysis.citations for key in c.keys
                if checkable_key(c, entries) and resolve_key(key, c.style, text, entries) is None]
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
            offset, quote = quote_around(text, s, e, analysis)
            out.append(Flag("no_references", DEFAULT_SEVERITY["no_references"],
                            f"{len(prose)} sentences ({words} words) of factual prose, but no reference list, DOI or citation to check them against",
                            quote, offset))
    return out


def _off_topic_flags(doc: Document, analysis: DocumentAnalysis) -> list[Flag]:
    out = []
    for run in analysis.off_topic[:MAX_PER_KIND]:
        first = next(pos for tok, pos in symbols(doc.text[run.start:run.end]) if tok == run.symbol) + run.start
        offset, quote = quote_around(doc.text, first, first + len(run.symbol), analysis)
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
