"""Typed facts each source states, and where sources disagree about them.

Facts compared across sources: NCBI/Entrez Gene ID, OMIM, HGNC, UniProt, Ensembl
gene, PDB, RefSeq, chromosomal location, protein length (aa), molecular weight.
Values are normalised per species (``human`` when unstated); facts inside
off-topic sections or reference lists are ignored. Identifiers conflict when two
sources give disjoint values; a cytogenetic band inside another source's range,
lengths that differ by a signal peptide (precursor vs mature), and calculated vs
apparent (glycosylated) masses are reported as ``benign`` with a note.

A build extracts the facts and finds the conflicts once (``reliability.json`` in the index); an answer
states those of its cited passages (``lifqa.answer.compose.conflicts_for_answer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from lifqa.reliability.structure import DocumentAnalysis, analyse_document
from lifqa.types import Document


@dataclass(frozen=True)
class Fact:
    """One typed fact a document states, normalised, with its verbatim evidence."""

    field: str
    value: str  # normalised, the comparison key
    doc_id: str
    quote: str
    offset: int
    species: str = "human"
    qualifier: str = ""
    number: tuple[float, float] | None = None  # numeric value or range, for measurements


FIELD_LABELS = {
    "ncbi_gene_id": "NCBI Gene ID", "omim": "OMIM number", "hgnc_id": "HGNC ID", "uniprot": "UniProt accession",
    "ensembl_gene": "Ensembl gene ID", "pdb": "PDB structure", "refseq": "RefSeq accession",
    "chromosomal_location": "chromosomal location", "protein_length_aa": "protein length (amino acids)",
    "molecular_weight": "molecular weight",
}
_MULTI_VALUED = ("pdb", "refseq")  # a gene has many structures and transcripts: different ids do not contradict
_UNIPROT = r"(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})"
_SEP = r"\s*(?:[:#=]\s*)?"
_ID_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ncbi_gene_id", re.compile(rf"\b(?:NCBI\s+Gene|Entrez(?:\s+Gene)?|Gene\s*ID)(?:\s+ID)?{_SEP}(\d{{1,9}})\b")),
    ("ncbi_gene_id", re.compile(r"ncbi\.nlm\.nih\.gov/gene/(\d{1,9})\b")),
    ("omim", re.compile(rf"\b(?:OMIM|MIM)(?:\s+(?:ID|number|no\.?))?{_SEP}\*?(\d{{6}})\b")),
    ("omim", re.compile(r"omim\.org/entry/(\d{6})\b")),
    ("hgnc_id", re.compile(rf"\b(?:HGNC|HUGO)(?:\s+ID)?{_SEP}(?:HGNC:)?(\d{{1,6}})\b")),
    ("uniprot", re.compile(rf"\bUniProt(?:KB)?(?:/Swiss-Prot)?(?:\s+(?:ID|AC|accession))?{_SEP}({_UNIPROT})(?:-\d+)?\b")),
    ("uniprot", re.compile(rf"uniprot\.org/(?:uniprot|uniprotkb)/({_UNIPROT})\b")),
    ("ensembl_gene", re.compile(r"\b(ENS(?:[A-Z]{3})?G\d{11})\b")),
    ("pdb", re.compile(rf"\bPDB(?:\s+(?:ID|entry|code))?{_SEP}([0-9][A-Za-z0-9]{{3}})\b")),
    ("refseq", re.compile(r"\b((?:NM|NP|NR|XM|XP|NG|NC)_\d{6,9})(?:\.\d+)?\b")),
]
_BAND = r"[pq]\d{1,2}(?:\.\d{1,3})?(?:\s*[-–]\s*[pq]?\d{1,2}(?:\.\d{1,3})?)?"
_LOCUS_PATTERNS = [
    re.compile(rf"\b(?:Chromosomal\s+location|Cytogenetic\s+(?:band|location)|Map\s+location|Gene\s+location|Locus|Location)\s*:?\s*"
               rf"(?:Chr(?:omosome)?\.?\s*)?(?P<chrom>\d{{1,2}}|X|Y)\s*(?P<band>{_BAND})", re.I),
    re.compile(rf"\bchromosome\s+(?P<chrom>\d{{1,2}}|X|Y)\s*(?P<band>{_BAND})(?!\w|\.\d)", re.I),
    re.compile(r"(?<![\w.])(?P<chrom>\d{1,2}|X|Y)(?P<band>[pq]\d{1,2}(?:\.\d{1,3})?(?:[-–][pq]?\d{1,2}(?:\.\d{1,3})?)?)(?!\w|\.\d)"),
]
_PROTEIN = r"(?:protein|polypeptide|glycoprotein|precursor|peptide|chain|cytokine|isoform|form)"
_LENGTH_PATTERNS = [
    re.compile(rf"\b(?P<n>\d{{2,5}})[- ]?(?:amino[- ]acids?|aa|residues?)(?:[- ]long)?\s+(?:[\w-]+\s+){{0,3}}?{_PROTEIN}\b", re.I),
    re.compile(rf"\b{_PROTEIN}\s+(?:of|with|comprising|containing|consisting of)\s+(?P<n>\d{{2,5}})\s+(?:amino[- ]acids|residues|aa)\b", re.I),
    re.compile(r"\b(?:protein\s+)?length\s*:?\s*(?P<n>\d{2,5})\s*(?:aa|amino acids|residues)\b", re.I),
]
_MASS = re.compile(r"(?<![\w.])(?P<a>\d+(?:\.\d+)?)(?:\s*[-–]\s*(?P<b>\d+(?:\.\d+)?))?\s*(?P<unit>kDa|kD|Da)\b")
_MASS_CONTEXT = re.compile(r"molecular (?:weight|mass)|\bMW\b|\bMr\b|\bmass\b|\bweigh|\bprotein\b|\bglycoprotein\b|\bapparent\b", re.I)
_CALCULATED = re.compile(r"\b(?:core|predicted|calculated|theoretical|deglycosylated|unglycosylated|non-glycosylated|polypeptide)\b", re.I)
_APPARENT = re.compile(r"\b(?:apparent|observed|glycosylated|SDS-PAGE|gel)\b", re.I)
_LENGTH_QUALIFIER = re.compile(r"\b(precursor|mature|unprocessed|full-length|signal peptide)\b", re.I)
_SPECIES = re.compile(r"\b(human|homo sapiens|mouse|mice|murine|mus musculus|rat|rats|bovine|porcine|zebrafish|chicken|canine|feline|equine|ovine)\b", re.I)
_SPECIES_NAME = {"homo sapiens": "human", "mice": "mouse", "murine": "mouse", "mus musculus": "mouse", "rats": "rat"}


def extract_facts(doc: Document, analysis: DocumentAnalysis | None = None) -> list[Fact]:
    """Typed facts of one document (see FIELD_LABELS), outside reference lists and off-topic sections.
    ``analysis``: the document's structure when the caller has it (a build does); else it is analysed here."""
    analysis = analysis if analysis is not None else analyse_document(doc)
    text = doc.text
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []

    def add(field_name: str, value: str, m: re.Match[str], qualifier: str = "", number: tuple[float, float] | None = None,
            start: int | None = None) -> None:
        start = m.start() if start is None else start
        if analysis.in_refs(start) or analysis.in_off_topic(start):
            return
        if field_name == "chromosomal_location":
            if any(a < m.end() and start < b for a, b in taken):
                return  # a bare band already matched by a labelled pattern
            taken.append((start, m.end()))
        facts.append(Fact(field_name, value, doc.doc_id, text[start:m.end()], start, _species(text, start, analysis), qualifier, number))

    for field_name, pattern in _ID_PATTERNS:
        for m in pattern.finditer(text):
            add(field_name, _normalise_id(field_name, m.group(1)), m)
    for pattern in _LOCUS_PATTERNS:
        for m in pattern.finditer(text):
            band = re.sub(r"\s+", "", m.group("band")).replace("–", "-")
            if "-" in band and not re.match(r"[pq]", band.split("-")[1]):
                band = band.replace("-", "-" + band[0])
            add("chromosomal_location", f"{m.group('chrom').upper()}{band}", m)
    for pattern in _LENGTH_PATTERNS:
        for m in pattern.finditer(text):
            if any(f.field == "protein_length_aa" and f.offset == m.start() for f in facts):
                continue
            context = text[max(0, m.start() - 40):m.end() + 40]
            qualifier = (_LENGTH_QUALIFIER.search(context) or [""])[0].lower()
            n = int(m.group("n"))
            add("protein_length_aa", str(n), m, qualifier, (n, n))
    for m in _MASS.finditer(text):
        span = analysis.sentence_at(m.start()) or (max(0, m.start() - 80), m.end())
        before = text[max(span[0], m.start() - 80):m.start()]
        if not _MASS_CONTEXT.search(text[span[0]:span[1]]):
            continue
        scale = 0.001 if m.group("unit") == "Da" else 1.0
        lo = float(m.group("a")) * scale
        hi = float(m.group("b")) * scale if m.group("b") else lo
        if not 1 <= lo <= 5000:
            continue
        words = sorted([*_CALCULATED.finditer(before), *_APPARENT.finditer(before)], key=lambda w: w.start())
        qualifier, start = "", m.start()
        if words:  # the qualifier nearest before the value ("core molecular weight of 20 kDa")
            qualifier, start = words[-1].group(0).lower(), m.start() - len(before) + words[-1].start()
        elif re.search(r"glycosylat", text[m.end():span[1]], re.I):
            qualifier = "apparent"
        add("molecular_weight", _mass_text(lo, hi), m, qualifier, (lo, hi), start)
    return facts


def _normalise_id(field_name: str, value: str) -> str:
    if field_name == "hgnc_id":
        return f"HGNC:{int(value)}"
    if field_name in ("uniprot", "pdb", "ensembl_gene", "refseq"):
        return value.upper()
    return value.lstrip("0") or "0"


def _species(text: str, offset: int, analysis: DocumentAnalysis) -> str:
    """The species word nearest before the fact in its sentence; human when none is named."""
    span = analysis.sentence_at(offset)
    start = span[0] if span else max(0, offset - 120)
    words = list(_SPECIES.finditer(text, start, offset))
    if not words:
        return "human"
    word = words[-1].group(1).lower()
    return _SPECIES_NAME.get(word, word)


def _mass_kind(qualifier: str) -> str:
    """'apparent' (glycosylated, as on a gel), 'calculated' (polypeptide) or '' (unstated)."""
    if not qualifier:
        return ""
    return "apparent" if _APPARENT.fullmatch(qualifier) else "calculated"


def _mass_text(lo: float, hi: float) -> str:
    fmt = lambda x: f"{x:g}"  # noqa: E731
    return f"{fmt(lo)} kDa" if lo == hi else f"{fmt(lo)}-{fmt(hi)} kDa"


def find_conflicts(documents: Iterable[Document]) -> list[dict[str, Any]]:
    """Facts on which sources disagree, one record per field and species:
    ``{"field", "label", "species", "status": "conflict"|"benign", "scope", "note",
    "values": [{"value", "doc_ids", "qualifier", "evidence": [{"doc_id", "quote", "offset"}]}]}``.
    Agreeing sources produce no record."""
    return conflicts_from_facts(fact for doc in documents for fact in extract_facts(doc))


def conflicts_from_facts(facts_of_all_documents: Iterable[Fact]) -> list[dict[str, Any]]:
    """:func:`find_conflicts` from facts already extracted (a build extracts them per document, cached and in parallel)."""
    groups: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts_of_all_documents:
        groups.setdefault((fact.field, fact.species), []).append(fact)
    out = []
    for (field_name, species), facts in sorted(groups.items()):
        record = _compare(field_name, species, facts)
        if record is not None:
            out.append(record)
    return out


def _compare(field_name: str, species: str, facts: list[Fact]) -> dict[str, Any] | None:
    values: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts:
        values.setdefault((fact.value, fact.qualifier if field_name in ("molecular_weight", "protein_length_aa") else ""), []).append(fact)
    if len({v for v, _ in values}) < 2:
        return None
    keys = list(values)
    doc_sets = {k: {f.doc_id for f in values[k]} for k in keys}
    verdicts: list[tuple[str, str, tuple[str, str], tuple[str, str]]] = []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] == b[0]:
                continue
            cross = doc_sets[a] != doc_sets[b] or len(doc_sets[a]) > 1
            verdict = _judge(field_name, values[a][0], values[b][0], cross)
            if verdict is not None:
                verdicts.append((*verdict, a, b))
    if field_name not in ("chromosomal_location", "protein_length_aa", "molecular_weight") and field_name not in _MULTI_VALUED:
        verdicts = [v for v in verdicts if _ids_disjoint(field_name, facts, values[v[2]][0].value, values[v[3]][0].value)]
    if not verdicts:
        return None
    involved = [k for k in keys if any(k in (v[2], v[3]) for v in verdicts)]
    docs = {d for k in involved for d in doc_sets[k]}
    status = "conflict" if any(v[0] == "conflict" for v in verdicts) else "benign"
    notes = list(dict.fromkeys(v[1] for v in verdicts))
    return {
        "field": field_name,
        "label": FIELD_LABELS[field_name],
        "species": species,
        "status": status,
        "scope": "cross_source" if len(docs) > 1 else "within_source",
        "note": " ".join(notes),
        "values": [{
            "value": k[0] + (f" ({k[1]})" if k[1] else ""),
            "doc_ids": sorted(doc_sets[k]),
            "qualifier": k[1],
            "evidence": [{"doc_id": f.doc_id, "quote": f.quote, "offset": f.offset}
                         for f in _first_per_doc(values[k])],
        } for k in involved],
    }


def _first_per_doc(facts: list[Fact]) -> list[Fact]:
    seen, out = set(), []
    for fact in sorted(facts, key=lambda f: (f.doc_id, f.offset)):
        if fact.doc_id not in seen:
            seen.add(fact.doc_id)
            out.append(fact)
    return out


def _ids_disjoint(field_name: str, facts: list[Fact], a: str, b: str) -> bool:
    """Two sources conflict on an identifier only if one states a and the other b, and
    neither also states the other's value (a page may list a gene and a phenotype id)."""
    per_doc: dict[str, set[str]] = {}
    for fact in facts:
        per_doc.setdefault(fact.doc_id, set()).add(fact.value)
    with_a = [d for d, vals in per_doc.items() if a in vals and b not in vals]
    with_b = [d for d, vals in per_doc.items() if b in vals and a not in vals]
    return bool(with_a and with_b)


def _judge(field_name: str, a: Fact, b: Fact, cross: bool) -> tuple[str, str] | None:
    """('conflict'|'benign', note) for two different values, or None when they do not disagree."""
    if not cross and field_name not in ("protein_length_aa", "molecular_weight"):
        return None  # one page may name several genes' ids or bands; only measurements have within-source readings
    if field_name in _MULTI_VALUED:
        return ("benign", f"Sources name different {FIELD_LABELS[field_name]}s ({a.value}, {b.value}); a gene has several, "
                          "so this is not a contradiction.")
    if field_name == "chromosomal_location":
        return _judge_locus(a.value, b.value)
    if field_name == "protein_length_aa":
        return _judge_length(a, b, cross)
    if field_name == "molecular_weight":
        return _judge_mass(a, b, cross)
    return ("conflict", f"The sources give different {FIELD_LABELS[field_name]}s ({a.value} vs {b.value}) for the same gene; "
                        "an identifier has one right value, so check it in the source database.")


def _band_bounds(value: str) -> tuple[str, str, tuple[int, ...], tuple[int, ...]] | None:
    m = re.fullmatch(r"(\d{1,2}|X|Y)([pq])([\d.]+)(?:-([pq])([\d.]+))?", value)
    if not m:
        return None
    digits = lambda band: tuple(int(ch) for ch in band.replace(".", ""))  # noqa: E731
    lo, hi = digits(m.group(3)), digits(m.group(5) or m.group(3))
    if m.group(4) and m.group(4) != m.group(2):
        return None  # a range across the centromere: compare as text only
    pad = lambda t, fill: t + (fill,) * (6 - len(t))  # noqa: E731
    return m.group(1), m.group(2), pad(lo, 0), pad(hi, 9)


def _judge_locus(a: str, b: str) -> tuple[str, str] | None:
    ba, bb = _band_bounds(a), _band_bounds(b)
    if ba is None or bb is None or ba[0] != bb[0] or ba[1] != bb[1]:
        return ("conflict", f"The sources place the gene at different chromosomal locations ({a} vs {b}).")
    inside = lambda x, y: y[2] <= x[2] and x[3] <= y[3]  # noqa: E731
    if inside(ba, bb) or inside(bb, ba):
        narrow, wide = (a, b) if inside(ba, bb) else (b, a)
        return ("benign", f"Band {narrow} lies inside {wide}: the sources differ in precision, not in fact.")
    if ba[2] <= bb[3] and bb[2] <= ba[3]:
        return ("benign", f"The bands {a} and {b} overlap: the sources differ in precision, not in fact.")
    return ("conflict", f"The sources place the gene at different bands of chromosome {ba[0]} ({a} vs {b}).")


def _judge_length(a: Fact, b: Fact, cross: bool) -> tuple[str, str] | None:
    diff = abs(int(a.value) - int(b.value))
    quals = {a.qualifier, b.qualifier} - {""}
    longer, shorter = (a, b) if int(a.value) > int(b.value) else (b, a)
    if {"precursor", "mature"} <= quals or (diff and diff <= 40):
        return ("benign", f"{longer.value} vs {shorter.value} amino acids: the difference of {diff} fits a secretion signal peptide "
                          f"(typically 15-40 aa), so one value is probably the precursor and the other the mature protein; both are reported.")
    if not cross:
        return None
    return ("conflict", f"The sources give protein lengths that differ by {diff} amino acids ({a.value} vs {b.value}), more than a "
                        "signal peptide explains; they may describe different isoforms.")


def _judge_mass(a: Fact, b: Fact, cross: bool) -> tuple[str, str] | None:
    (alo, ahi), (blo, bhi) = a.number or (0, 0), b.number or (0, 0)
    if alo <= bhi * 1.1 and blo <= ahi * 1.1:
        return None  # overlapping within 10%
    kinds = (_mass_kind(a.qualifier), _mass_kind(b.qualifier))
    if kinds[0] != kinds[1] and "apparent" in kinds:
        calc, app = (a, b) if kinds[1] == "apparent" else (b, a)
        return ("benign", f"{calc.value} is the {calc.qualifier or 'stated'} mass of the polypeptide and {app.value} the "
                          f"{app.qualifier} mass of the glycosylated protein (as seen on a gel); glycosylation explains the difference.")
    if not cross:
        return None
    return ("conflict", f"The sources give different molecular weights ({a.value} vs {b.value}).")
