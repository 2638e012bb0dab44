"""The sentences of the retrieved passages: read from the store once per question, typed, and made candidates.

``Passages`` reads each hit's sentences from the store arrays (spans, heading marks, vectors) once per
question, with their type and BM25 terms; a multi-part question's parts rate the same passages. A
``Candidate`` is one sentence of one hit, as the trained selector and the earlier heuristic see it.

What kind of text a sentence is, so that page furniture never becomes an answer.

Reference-list entries, link lists, tables of contents, licence and copyright
boilerplate, bare headings and figure/table labels are retrievable as passages
(a reader may want them) but never quoted as an answer. ``label: value`` table
rows are kept as their own type: they answer only when the label is what the
question asks about ("NCBI Gene ID: 3977" for an Entrez question, not
"Gene Symbol: LIF" for "What kind of molecule is LIF?"). Rules, not a model:
each type has a visible surface form, and the rules are checked on the bundled
corpus and the COVID-QA articles (tests/test_sentences.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from lifqa.types import Chunk, Citation, Hit


class SentenceType(str, Enum):
    PROSE = "prose"
    LABEL_VALUE = "label_value"  # "Chromosomal Location: 22q12.2", "Entrez 3976"
    REFERENCE = "reference"  # an entry of a reference list
    NAVIGATION = "navigation"  # a link, a list of links, "Read more", "Skip to content"
    CONTENTS = "contents"  # a table-of-contents line
    BOILERPLATE = "boilerplate"  # licence, copyright, disclaimer, cookie and contact text
    HEADING = "heading"  # a bare heading: a few words, no sentence
    CAPTION = "caption"  # "Figure 2", "Table 1." without content
    TABLE_CELL = "table_cell"  # a fragment of a table row ("Host |")


# Types that are never an answer sentence.
NEVER_ANSWER = frozenset({SentenceType.REFERENCE, SentenceType.NAVIGATION, SentenceType.CONTENTS,
                          SentenceType.BOILERPLATE, SentenceType.HEADING, SentenceType.CAPTION, SentenceType.TABLE_CELL})

_URL = re.compile(r"https?://\S+|www\.\S+|\bdoi:\s*10\.\d{4,}/\S+", re.I)
_REF_START = re.compile(r"^\s*(?:\[\d{1,3}\]|\d{1,3}\.\s+[A-Z][\w'-]+,?\s+(?:[A-Z]\.|[A-Z]{1,3}\b))")
_AUTHORS = re.compile(r"\b[A-Z][\w'-]+,?\s+(?:[A-Z]\.\s*){1,3}(?:,|and|&|et al)|\b[A-Z][a-z'-]+\s+[A-Z]{1,3}[,.]\s+[A-Z][a-z'-]+\s+[A-Z]{1,3}\b|\bet al\.?[,)]|^\s*(?:[A-Z]\.\s*){1,3}[A-Z][\w'-]+,")
_REF_DETAIL = re.compile(r"\b(?:vol\.|pp\.|\d+\s*\(\d+\)\s*:\s*\d+|\d{1,4}\s*[-–]\s*\d{1,5}\s*\.?\s*$|doi:|PMID|PMCID|J\. |Proc\. |"
                         r"Nat(?:ure)?\.? |Journal of|Lancet|Science\b|Cell\b|this article has \d+ citations)", re.I)
_YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")
_BOILERPLATE = re.compile(
    r"©|\(c\)\s*\d{4}|\bcopyright\b|all rights reserved|\blicen[cs]ed? (?:under|to)\b|creative commons|\bCC[- ]BY\b|"
    r"GNU Free Documentation|terms of (?:use|service)|privacy policy|\bcookies?\b|\bdisclaimer\b|AI-compiled|"
    r"for any infringement|please contact us|\bsubscribe\b|sign (?:in|up)\b|uses material from the wikipedia|"
    r"list of authors is available|permission to reproduce|reprints? and permissions|competing interests?:|"
    r"conflicts? of interest|this work is (?:licensed|distributed)|open access article distributed|"
    r"explore our product|contact us today|request a quote|add to cart", re.I)
_NAVIGATION = re.compile(r"^\s*(?:skip to|jump to|back to top|read more|click here|see also|next\b|previous\b|home\s*[|>»]|"
                         r"main menu|navigation|share this|print this|download (?:pdf|citation))", re.I)
_CONTENTS = re.compile(r"^\s*(?:table of )?contents\b|\.{4,}\s*\d+\s*$|^\s*(?:\d+(?:\.\d+)*\.?\s+[A-Z][^.!?]{2,40}\s+){2,}", re.I)
_CAPTION = re.compile(r"^\s*(?:fig(?:ure)?s?\.?|table|supplementa(?:ry|l)\s+(?:fig(?:ure)?|table)|scheme|panel)\s*"
                      r"[S]?\d+[A-Za-z]?\s*[.:)]?\s*$", re.I)
_CAPTION_SHORT = re.compile(r"^\s*(?:fig(?:ure)?s?\.?|table)\s*[S]?\d+[A-Za-z]?\s*[.:]", re.I)
_LABEL_VALUE = re.compile(r"^\s*(?:[-•*]\s*)?(?P<label>[^:.!?]{2,60}?)\s*:\s+(?P<value>\S.*)$")
_LABEL_BARE = re.compile(r"^\s*(?P<label>[A-Z][A-Za-z]{1,20}(?:\s+[A-Za-z]{2,12})?)\s+(?P<value>[A-Z]*[_:]?\d[\w.:-]*|[A-Z0-9]{2,}[\w.:-]*)\s*$")
_AUXILIARY = re.compile(r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|can|may|might|will|would|shall|should|must)\b", re.I)
_VERB_HINT = re.compile(r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|can|may|might|will|would|shall|should|must|"
                        r"\w+(?:ed|es|s|ing))\b", re.I)


_REFERENCE_SECTION = re.compile(r"^\W*(?:\d+\.?\s*)?(?:references?|bibliography|literature cited|works cited|citations|"
                                r"key publications|further reading|sources)\W*$", re.I)
_LINK_SECTION = re.compile(r"^\W*(?:\d+\.?\s*)?(?:external links|see also|related (?:links|pages|articles)|links)\W*$", re.I)
_CONTENTS_SECTION = re.compile(r"^\W*(?:table of )?contents\W*$", re.I)


def classify(text: str, is_heading: bool = False, section: str = "") -> SentenceType:
    """The type of one sentence (``is_heading``: the index's own heading mark; ``section``: the
    heading of the chunk it is in, which marks whole reference lists and link lists)."""
    stripped = text.strip()
    words = stripped.split()
    if not words:
        return SentenceType.HEADING
    if section and not is_heading:
        if _REFERENCE_SECTION.match(section):
            return SentenceType.REFERENCE
        if _LINK_SECTION.match(section):
            return SentenceType.NAVIGATION
        if _CONTENTS_SECTION.match(section):
            return SentenceType.CONTENTS
    if stripped.endswith("|") or stripped.startswith("|"):
        return SentenceType.TABLE_CELL
    if _CAPTION.match(stripped):
        return SentenceType.CAPTION
    if _BOILERPLATE.search(stripped):
        return SentenceType.BOILERPLATE
    if _is_reference(stripped):
        return SentenceType.REFERENCE
    if _is_navigation(stripped, words):
        return SentenceType.NAVIGATION
    if _CONTENTS.search(stripped):
        return SentenceType.CONTENTS
    row = _LABEL_VALUE.match(stripped)
    if row and (len(row.group("value").split()) <= 4 or not _VERB_HINT.search(row.group("value"))):
        return SentenceType.LABEL_VALUE  # a table row; "• What happens: When the liver is injured, ..." is prose
    if _LABEL_BARE.match(stripped) and len(words) <= 3:
        return SentenceType.LABEL_VALUE
    if is_heading or _bare_heading(stripped, words):
        return SentenceType.HEADING
    return SentenceType.PROSE


def label_of(text: str) -> str:
    """The label of a ``label: value`` row ("" for other sentences)."""
    m = _LABEL_VALUE.match(text.strip()) or _LABEL_BARE.match(text.strip())
    return m.group("label") if m else ""


def value_of(text: str) -> str:
    """The value of a ``label: value`` row (the whole text for other sentences)."""
    m = _LABEL_VALUE.match(text.strip()) or _LABEL_BARE.match(text.strip())
    return m.group("value") if m else text


def _is_reference(text: str) -> bool:
    if "this article has" in text.lower() and "citations" in text.lower():
        return True  # a citation-count line under a reference entry
    if re.match(r"^\s*URL:\s", text):
        return True
    signals = 0
    signals += bool(_REF_START.match(text))
    signals += bool(_AUTHORS.search(text))
    signals += bool(_REF_DETAIL.search(text))
    signals += bool(_YEAR.search(text))
    signals += bool(re.search(r"[\"“][^\"”]{15,}[\"”]", text))  # a quoted title
    return signals >= 3 or (bool(_REF_START.match(text)) and signals >= 2)


def _is_navigation(text: str, words: list[str]) -> bool:
    if _NAVIGATION.match(text):
        return True
    urls = _URL.findall(text)
    if not urls:
        return text.count("|") >= 3 and len(words) <= 3 * (text.count("|") + 1)  # "Home | About | Contact"
    without = _URL.sub(" ", text)
    remaining = [w for w in without.split() if re.search(r"[A-Za-z]", w)]
    # a link with a short label ("- NCBI Gene: LIF (https://...)"), not a sentence that mentions a URL
    return len(remaining) <= 8 or len(urls) >= 3


def _bare_heading(text: str, words: list[str]) -> bool:
    if len(words) > 8 or text[-1] in ".!?;":
        return False
    if text.endswith(":"):
        return True  # "Disease Associations:" introduces a list
    if re.match(r"^\s*(?:#+\s|\d+(?:\.\d+)*\.?\s+[A-Z])", text) and len(words) <= 8:
        return True  # "## Overview", "4. Related Mechanisms"
    if _AUXILIARY.search(text):
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    if len(words) <= 6 and capitalised == len(words):
        return True  # "Overview", "Key Publications"
    # a verbless title line such as "Leukemia inhibitory factor"
    return len(words) <= 4 and words[0][:1].isupper() and not _VERB_HINT.search(" ".join(words[1:]).lower())


def answers_question(kind: SentenceType, text: str, question_terms: set[str], question_ids: set[str], tokenize) -> bool:
    """Whether a sentence of this type may answer: never for page furniture; a ``label: value`` row
    only when its label (or an identifier of the question) is what the question is about."""
    if kind in NEVER_ANSWER:
        return False
    if kind is not SentenceType.LABEL_VALUE:
        return True
    label = label_of(text).lower()
    if any(ident in text.lower() for ident in question_ids if ident not in _GENERIC_LABEL_WORDS and not _is_subject(ident, label, text)):
        return True
    generic = set(tokenize(" ".join(_GENERIC_LABEL_WORDS)))
    label_terms = set(tokenize(label)) - generic
    return bool(label_terms & question_terms)


# Words many labels share: "Ensembl ID" is not an answer to "What is the NCBI Gene ID?" because of "ID".
_GENERIC_LABEL_WORDS = ("id", "ids", "identifier", "number", "no", "name", "code", "symbol", "gene", "protein", "type", "status",
                        "value", "data", "other", "full", "human", "accession")


def _is_subject(ident: str, label: str, text: str) -> bool:
    """An identifier that is only the value of a row ("Gene Symbol: LIF") says nothing about the label."""
    return ident in value_of(text).lower() and ident not in label


# ---- the passages' sentences ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, as the selector (and the earlier heuristic) sees it."""

    text: str
    chunk_start: int  # span inside the chunk's text
    chunk_end: int
    vector: np.ndarray | None
    citation_key: int
    passage_rank: int
    passage_rerank: float  # the reranker's probability of the passage holding the sentence
    tier: str
    kind: SentenceType
    index_in_passage: int
    passage_sentences: int
    neighbour_cos: float = 0.0
    doc_id: str = ""
    terms: frozenset[str] | None = None  # its BM25 terms (None: made without them; the selector tokenizes the text)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a stored passage, with what answering reads of it whatever the question."""

    index: int  # in the passage
    text: str
    start: int  # span inside the chunk's text
    end: int
    kind: SentenceType
    marked_heading: bool  # the index's own heading mark
    terms: frozenset[str]


class Passages:
    """The passages one question is answered from: each hit's store row (from search) and its sentences, read from
    the store arrays, typed and tokenized once for the question and each of its parts. Made per question, so the
    engine holds nothing per chunk (tests/test_store.py)."""

    def __init__(self, store: Any, sentence_vectors: np.ndarray | None, tokenize: Callable[[str], list[str]]) -> None:
        self.store = store
        self.sentence_vectors = sentence_vectors
        self.tokenize = tokenize
        self.rows: dict[str, int] = {}  # chunk id -> store row
        self._sentences: dict[int, tuple[Sentence, ...]] = {}

    def add(self, rows: Mapping[str, int]) -> "Passages":
        """Remember the store rows of hits that search found."""
        self.rows.update(rows)
        return self

    def sentences(self, chunk: Chunk | Citation) -> tuple[Sentence, ...]:
        """A passage's sentences (a citation names its passage as a chunk does)."""
        row = self.rows[chunk.chunk_id]
        found = self._sentences.get(row)
        if found is None:
            lo, hi = (int(x) for x in self.store.chunk_sentences[row])
            title = self.store.sources[chunk.doc_id].document.title
            out = []
            for j, s in enumerate(range(lo, hi)):
                start, end = (int(x) for x in self.store.sentence_spans[s])
                rel_start, rel_end = start - chunk.char_start, end - chunk.char_start
                text = chunk.text[rel_start:rel_end]
                is_title = bool(title) and text.strip().lower() == title.strip().lower()
                marked = bool(self.store.sentence_heading[s])
                kind = classify(text, marked or is_title, chunk.section)
                out.append(Sentence(j, text, rel_start, rel_end, kind, marked, frozenset(self.tokenize(text))))
            found = self._sentences[row] = tuple(out)
        return found

    def candidates(self, hits: Sequence[Hit], vector: np.ndarray) -> list[Candidate]:
        """Every sentence of the hits that is not a heading, with its cosine and its neighbours' to the question."""
        out = []
        for hit in hits:
            sentences = self.sentences(hit.chunk)
            n = len(sentences)
            tier = self.store.sources[hit.chunk.doc_id].tier
            vectors = self._vectors(hit.chunk)
            cos = vectors @ vector if vectors is not None else np.zeros(n, dtype=np.float32)
            for sentence in sentences:
                if sentence.kind is SentenceType.HEADING:
                    continue
                j = sentence.index
                neighbours = [float(cos[x]) for x in (j - 1, j + 1) if 0 <= x < n]
                out.append(Candidate(sentence.text, sentence.start, sentence.end, vectors[j] if vectors is not None else None,
                                     hit.rank, hit.rank, hit.rerank or 0.0, tier, sentence.kind, j, n, max(neighbours, default=0.0),
                                     hit.chunk.doc_id, sentence.terms))
        return out

    def heuristic_candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        """Every sentence of the hits the index does not mark as a heading (what the earlier heuristic chose from)."""
        out = []
        for hit in hits:
            sentences = self.sentences(hit.chunk)
            tier = self.store.sources[hit.chunk.doc_id].tier
            vectors = self._vectors(hit.chunk)
            for s in sentences:
                if s.marked_heading:
                    continue
                out.append(Candidate(s.text, s.start, s.end, vectors[s.index] if vectors is not None else None, hit.rank, hit.rank,
                                     hit.rerank or 0.0, tier, s.kind, s.index, len(sentences), 0.0, hit.chunk.doc_id, s.terms))
        return out

    def sentence_at(self, chunk: Chunk | Citation, offset: int) -> tuple[int, int] | None:
        """The span inside the chunk of its sentence holding a document offset (None: between sentences)."""
        for s in self.sentences(chunk):
            if s.start <= offset - chunk.char_start < s.end:
                return s.start, s.end
        return None

    def _vectors(self, chunk: Chunk) -> np.ndarray | None:
        if self.sentence_vectors is None:
            return None
        lo, hi = (int(x) for x in self.store.chunk_sentences[self.rows[chunk.chunk_id]])
        return np.asarray(self.sentence_vectors[lo:hi], dtype=np.float32)
