"""The trained answer-sentence selector: which sentences of the top passages answer the question.

Gradient-boosted trees (200 trees of depth 3, exported as JSON arrays; a logistic regression when trained with
``--model logistic``) over features each candidate sentence already has — its
cosine to the question and its neighbours', idf-weighted term and identifier
coverage, whether it holds the kind of thing the question asks for (a number,
a quantity with a unit, a year, an identifier or symbol, a place, a definition),
its position, its passage's rerank probability and rank, and its sentence type
(types that never answer are not candidates at all). Parameters are a JSON file (never pickle) written by
``lifqa train-selector`` from train splits only. How many sentences an answer
keeps follows from the probabilities (``keep_ratio``/``keep_min`` in the file,
chosen on the train splits), not a fixed count.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lifqa.answer.sentences import Candidate, SentenceType, answers_question, label_of, value_of
from lifqa.data import load_json
from lifqa.errors import SettingsError
from lifqa.search.question import Question
from lifqa.types import AnswerSentence

FEATURES = (
    "cos",
    "cos_gap",
    "cos_rank_inv",
    "neighbour_cos",
    "idf_coverage",
    "label_idf_coverage",
    "identifier_coverage",
    "novelty",
    "type_match",
    "type_missing",
    "refines",
    "definition",
    "label_value",
    "value_row",
    "value_row_label_coverage",
    "log_words",
    "position",
    "first_in_passage",
    "passage_rerank",
    "passage_rank_inv",
    "score",
    "score_gap",
    "score_rank_inv",
    "coverage_gap",
    "rerank_gap",
)
# How a sentence compares with the question's other candidates: trees split one feature at a time and cannot
# form "best of this question" themselves. ``score`` is the earlier heuristic's sum (``select_sentences``). Grouped 5-fold
# cross-validation on the train splits (bench/selector_cv.py, answering from 10 passages): the answer holds the gold
# answer for 0.576 of COVID-QA and 0.769 of LIF train questions with these, against 0.537 and 0.641 without.
_RELATIVE = ("score", "score_gap", "score_rank_inv", "coverage_gap", "rerank_gap")
# The earlier heuristic's sentence score (``select_sentences``, and the ``score`` feature) = cosine to the question
# + 1.5 x idf-weighted share of question terms in the sentence + 0.3 x the passage's reranker probability. Weights
# chosen on the LIF gold *train* split (best-sentence-holds-a-key-phrase rate 0.55 -> 0.67; test 0.42 -> 0.61): rare
# terms such as "Ensembl" or "osteoclast" are what a factoid question is about.
IDF_WEIGHT = 1.5
PASSAGE_WEIGHT = 0.3
# The source tier is not a feature: in the training data it says which corpus a question came from
# (a fitted weight was negative), not how well a sentence answers. It decides only between near-equal
# sentences (SentenceSelector.choose) and who leads a stated disagreement (lifqa.answer.compose.state_disagreements).
TIER_SCORE = {"high": 1.0, "medium": 0.5, "unknown": 0.5, "low": 0.0}
# Sentences rated within this much of the best answer about equally well, and the one from the higher-tier source
# leads. Chosen on the train splits, both of mixed tiers (bench/tier_margin.py): the widest margin at which the answer
# hit stays the same and answers grow by at most one word on both. With the models trained on chunk vectors composed
# from sentence vectors: answer hit 0.868 on LIF and 0.543 on COVID-QA from 0 to 0.8; LIF answers led by a high-tier
# source grow from 7 of 38 (margin 0) to 11 at 0.4 (+0.9 words) and 12 at 0.5 (+1.1 words). (This rule was written
# after the issue-13 definition test "What is LIF?" failed at the earlier 0.2; BENCHMARKS.md says so.)
TIER_MARGIN = 0.4
DEFAULT_PARAMS = "selector.json"

_WORD = re.compile(r"[A-Za-z][\w'-]*|\d[\d.,]*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|hundred|thousand|million|billion)\b", re.I)
_YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)s?\b")
_UNIT = re.compile(r"\d(?:[\d.,]*)\s*(?:%|percent|per cent|[kKmMµnp]?(?:g|l|L|M|mol|Da|bp|kb|m)\b|kDa|aa\b|amino acids|residues|"
                   r"days?|weeks?|months?|years?|hours?|h\b|min(?:utes?)?|s\b|seconds?|°C|degrees|fold|times|cases|patients|deaths|"
                   r"people|individuals|mg/kg|IU|units?|nm|μm|um|mm|cm|km)", re.I)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}\b")
_BAND = re.compile(r"\b\d{1,2}[pq]\d")
_DEFINITION = re.compile(r"\b(?:is|are|was)\s+(?:a|an|the)\b|\b(?:stands? for|refers? to|known as|defined as|abbreviated|or simply)\b|"
                         r"^[^,]{3,80},\s*(?:or|also)\s|\([A-Z][A-Za-z0-9-]{1,10}\)", re.I)

def _has(kind: str, text: str, question_lower: str, question_ids: set[str], new_words: set[str]) -> bool:
    """Whether a sentence holds the kind of thing the question asks for, beyond the question's own words."""
    if kind == "number":
        return any(m.group(0).lower() not in question_lower for m in _NUMBER.finditer(text))
    if kind == "year":
        return any(m.group(0) not in question_lower for m in _YEAR.finditer(text))
    if kind == "quantity":
        return bool(_UNIT.search(text))
    if kind == "identifier":  # accession numbers hold digits; only a symbol may be letters alone ("LIF")
        symbol = "symbol" in question_lower
        return any(any(ch.isdigit() for ch in w) or (symbol and sum(ch.isupper() for ch in w) >= 2) for w in new_words)
    if kind == "place":
        return bool(_BAND.search(text)) or any(m.group(0).lower() not in question_lower for m in _CAPITALISED.finditer(text))
    if kind == "entity":
        return any(sum(ch.isupper() for ch in w) >= 2 or (w[:1].isupper() and len(w) > 2) for w in new_words)
    if kind == "expansion":
        return any(expands(ident, text) for ident in question_ids)
    if kind == "definition":
        return bool(_DEFINITION.search(text)) and (not question_ids or any(i in text.lower() for i in question_ids))
    return False


_SYMBOL = re.compile(r"(?<![\w-])[A-Z][A-Za-z]*[A-Z][A-Za-z]*(?![\w-])")  # a whole word, two or more capitals: STAT, IL (not COVID of COVID-19)


def refines(question: str, text: str) -> bool:
    """Whether a sentence names a numbered member of a family the question names: "STAT" -> "STAT3",
    "IL" -> "IL-6", "CD" -> "CD34" (the answer to "Which STAT factors ...?")."""
    families = {m.group(0) for m in _SYMBOL.finditer(question)}
    return any(re.search(rf"(?<![\w-]){re.escape(family)}-?\d[\w]{{0,3}}\b", text) for family in families)


def expands(acronym: str, text: str) -> bool:
    """Whether a text spells out an acronym next to it: "Leukemia Inhibitory Factor (LIF)", "leukemia
    inhibitory factor, or LIF", "LIF (Leukemia Inhibitory Factor)"."""
    letters = re.sub(r"[^a-z]", "", acronym.lower())
    if len(letters) < 2:
        return False
    # a plural acronym spells out its singular ("RVPs": recombinant viral particles); a hyphenated word may give
    # one initial or one per part ("high-throughput screening (HTS)")
    spellings = {letters, letters[:-1]} if letters.endswith("s") and len(letters) > 2 else {letters}
    initials = lambda words: "".join(w[0].lower() for w in words)  # noqa: E731
    word_lists = lambda text: (re.findall(r"[A-Za-z][\w']*(?:-[\w']+)*", text), re.findall(r"[A-Za-z][\w']*", text))  # noqa: E731
    for m in re.finditer(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])", text, re.I):
        joined = bool(re.search(r"(?:\(|,|\bor)$", text[:m.start()].rstrip()))  # "... (LIF", "..., LIF", "... or LIF"
        before_text = re.sub(r"(?:\(|,\s*or|\bor)\s*$", "", text[:m.start()].rstrip())
        after = re.match(r"\s*\(([^)]*)\)", text[m.end():])
        for spelled in spellings:
            n = len(spelled)
            if joined and any(len(words) >= n and initials(words[-n:]) == spelled for words in word_lists(before_text)):
                return True
            if after and any(initials(words[:n]) == spelled for words in word_lists(after.group(1))):
                return True
    return False


def defines(name: str, text: str) -> bool:
    """Whether a sentence says what a named thing is: "LIF (Leukemia Inhibitory Factor) is a pleiotropic cytokine",
    "leukemia inhibitory factor, or LIF, an interleukin 6 class cytokine, is a chemical". "What kind of molecule is
    LIF?" is answered by such a sentence, not by one that merely shares its words ("small molecules")."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])[^.;:]{{0,80}}?\b(?:is|are|was|were)\s+(?:a|an|the|one)\b",
                     text, re.I) is not None


def feature_matrix(question: Question, candidates: Sequence[Candidate], tokenize: Callable[[str], list[str]]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; ``tokenize`` reads labels (and the text of a candidate made without its terms)."""
    out = np.zeros((len(candidates), len(FEATURES)), dtype=np.float32)
    if not candidates:
        return out
    query_vector, question_idf, question_ids, kind = question.vector, question.content_idf, question.identifiers, question.kind
    question, question_lower = question.text, question.text.lower()
    question_words = {w.lower() for w in _WORD.findall(question)}
    total_idf = sum(question_idf.values())
    cosines = np.asarray([float(c.vector.astype(np.float32) @ query_vector) if c.vector is not None else 0.0 for c in candidates])
    order = (-cosines).argsort(kind="stable")
    rank = np.empty(len(candidates), dtype=np.int64)
    rank[order] = np.arange(1, len(candidates) + 1)
    best = float(cosines.max())
    for i, cand in enumerate(candidates):
        terms = cand.terms if cand.terms is not None else set(tokenize(cand.text))
        shared = set(question_idf) & terms
        coverage = sum(question_idf[t] for t in shared) / total_idf if total_idf > 0 else 0.0
        label = label_of(cand.text) if cand.kind is SentenceType.LABEL_VALUE else ""
        label_terms = set(tokenize(label)) & set(question_idf)
        label_cov = sum(question_idf[t] for t in label_terms) / total_idf if total_idf > 0 else 0.0
        lowered = cand.text.lower()
        ids_found = sum(1 for ident in question_ids if ident in lowered)
        words = _WORD.findall(cand.text)
        new_words = {w for w in words if w.lower() not in question_words}
        content = [w for w in words if len(w) > 3]
        novelty = sum(1 for w in content if w.lower() not in question_words) / len(content) if content else 0.0
        has = _has(kind, cand.text, question_lower, question_ids, new_words)
        out[i] = (
            cosines[i],
            cosines[i] - best,
            1.0 / rank[i],
            cand.neighbour_cos,
            coverage,
            label_cov,
            ids_found / len(question_ids) if question_ids else 0.0,
            novelty,
            1.0 if has else 0.0,
            1.0 if kind != "other" and not has else 0.0,
            1.0 if refines(question, cand.text) else 0.0,
            1.0 if _DEFINITION.search(cand.text) else 0.0,
            1.0 if cand.kind is SentenceType.LABEL_VALUE else 0.0,
            # a "label: value" row holding the kind of value a lookup question asks for (eligible() admits no other
            # rows for such questions): the one interaction a linear model cannot form from the two features alone
            1.0 if cand.kind is SentenceType.LABEL_VALUE and kind in _VALUE_KINDS else 0.0,
            label_cov if cand.kind is SentenceType.LABEL_VALUE and kind in _VALUE_KINDS else 0.0,  # "Entrez: 3976" for "Entrez Gene ID"
            math.log1p(len(words)),
            cand.index_in_passage / max(1, cand.passage_sentences - 1),
            1.0 if cand.index_in_passage == 0 else 0.0,
            cand.passage_rerank,
            1.0 / max(1, cand.passage_rank),
            0.0, 0.0, 0.0, 0.0, 0.0,
        )
    return _relative_features(out)


def _relative_features(out: np.ndarray) -> np.ndarray:
    """Fill the ``_RELATIVE`` columns: each candidate against the best of the question's candidates."""
    col = {name: FEATURES.index(name) for name in ("cos", "idf_coverage", "passage_rerank", *_RELATIVE)}
    score = out[:, col["cos"]] + IDF_WEIGHT * out[:, col["idf_coverage"]] + PASSAGE_WEIGHT * out[:, col["passage_rerank"]]
    rank = np.empty(len(score), dtype=np.float32)
    rank[(-score).argsort(kind="stable")] = np.arange(1, len(score) + 1)
    out[:, col["score"]] = score
    out[:, col["score_gap"]] = score - score.max()
    out[:, col["score_rank_inv"]] = 1.0 / rank
    out[:, col["coverage_gap"]] = out[:, col["idf_coverage"]] - out[:, col["idf_coverage"]].max()
    out[:, col["rerank_gap"]] = out[:, col["passage_rerank"]] - out[:, col["passage_rerank"]].max()
    return out


def best_score(features: np.ndarray) -> float:
    """The best candidate's ``score`` (0 when no sentence may answer): answer-level evidence for abstention."""
    return float(features[:, FEATURES.index("score")].max()) if len(features) else 0.0


def eligible(candidates: Sequence[Candidate], question: Question, tokenize: Callable[[str], list[str]]) -> list[Candidate]:
    """Candidates whose sentence type may answer (see lifqa.answer.sentences); a ``label: value`` row
    must also hold the kind of value asked for ("Gene Symbol: LIF" does not answer an ID question)."""
    kind, question_terms, question_ids = question.kind, set(question.content_idf), question.identifiers
    question_lower = question.text.lower()
    question_words = {w.lower() for w in _WORD.findall(question.text)}
    out = []
    for c in candidates:
        if kind == "expansion" and c.kind is SentenceType.LABEL_VALUE and _NAME_LABEL.search(label_of(c.text)):
            out.append(c)  # "Full Name: Leukemia Inhibitory Factor" answers "What does LIF stand for?"
            continue
        if not answers_question(c.kind, c.text, question_terms, question_ids, tokenize):
            continue
        if c.kind is SentenceType.LABEL_VALUE and kind in _VALUE_KINDS:
            value = value_of(c.text)
            if not _has(kind, value, question_lower, question_ids, {w for w in _WORD.findall(value) if w.lower() not in question_words}):
                continue
        out.append(c)
    if kind == "expansion":  # where a sentence spells the acronym out, only those answer
        spelled = [c for c in out if any(expands(ident, c.text) for ident in question_ids)]
        return spelled or out
    if kind == "definition" and question_ids:  # where a sentence says what the named thing is, only those answer
        defining = [c for c in out if any(defines(ident, c.text) for ident in question_ids)]
        return defining or out
    return out


_NAME_LABEL = re.compile(r"\b(?:full name|name|official name|stands? for|abbreviation|synonyms?|aliases|also known as)\b", re.I)
_VALUE_KINDS = ("identifier", "number", "year", "quantity", "place")


class Trees:
    """Regression trees stored as arrays (scikit-learn's layout: a leaf has left == -1), summed for many rows
    at once: every tree advances one level per step, so a question's candidates cost a few array operations."""

    def __init__(self, trees: Sequence[dict[str, Sequence[float]]]) -> None:
        width = max(len(t["left"]) for t in trees)
        pad = lambda key, fill, dtype: np.asarray([list(t[key]) + [fill] * (width - len(t[key])) for t in trees], dtype=dtype)  # noqa: E731
        self.left, self.right = pad("left", -1, np.int32), pad("right", -1, np.int32)
        self.feature, self.threshold = pad("feature", 0, np.int32).clip(min=0), pad("threshold", 0.0, np.float64)
        self.value = pad("value", 0.0, np.float64)

    def sum(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        n_trees, n = len(self.left), len(x)
        tree = np.arange(n_trees)[:, None]
        node = np.zeros((n_trees, n), dtype=np.int32)
        rows = np.arange(n)[None, :]
        while True:
            inner = self.left[tree, node] >= 0
            if not inner.any():
                break
            goes_left = x[rows, self.feature[tree, node]] <= self.threshold[tree, node]
            node = np.where(inner, np.where(goes_left, self.left[tree, node], self.right[tree, node]), node)
        return self.value[tree, node].sum(axis=0)


def _well_formed(trees: Any) -> bool:
    """Trees whose node arrays line up and whose split features are ones this lifqa computes."""
    keys = ("left", "right", "feature", "threshold", "value")
    try:
        return bool(trees) and all(
            len({len(t[k]) for k in keys}) == 1 and max(t["feature"]) < len(FEATURES)
            and all(-1 <= child < len(t["left"]) for child in (*t["left"], *t["right"])) for t in trees)
    except (TypeError, KeyError, ValueError):
        return False


class SentenceSelector:
    """Probabilities from the JSON parameters, and the answer's sentences chosen from them."""

    def __init__(self, params: dict[str, Any]) -> None:
        if tuple(params.get("features", ())) != FEATURES:
            raise SettingsError("the sentence selector parameters were trained on other features than this lifqa computes; "
                                "retrain with: lifqa train-selector")
        self.params = params
        if params.get("model") == "trees" and not _well_formed(params.get("trees")):
            raise SettingsError("the sentence selector's trees are damaged (node arrays of unequal length or features out of "
                                "range); retrain with: lifqa train-selector")
        self._trees = Trees(params["trees"]) if params.get("model") == "trees" else None
        if self._trees is None:
            self._mean = np.asarray(params["mean"], dtype=np.float32)
            self._scale = np.asarray(params["scale"], dtype=np.float32)
            self._coef = np.asarray(params["coef"], dtype=np.float32)
            self._intercept = float(params["intercept"])
        self.keep_ratio = float(params.get("keep_ratio", 0.8))
        self.keep_min = float(params.get("keep_min", 0.5))
        self.tier_margin = float(params.get("tier_margin", TIER_MARGIN))
        self.max_sentences = int(params.get("max_sentences", 3))  # chosen on the train splits with the keep rule

    def _logits(self, features: np.ndarray) -> np.ndarray:
        if self._trees is not None:
            return float(self.params["init"]) + float(self.params["learning_rate"]) * self._trees.sum(features)
        return ((features - self._mean) / self._scale) @ self._coef + self._intercept

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0, dtype=np.float32)
        return (1.0 / (1.0 + np.exp(-self._logits(features)))).astype(np.float32)

    def choose(self, candidates: Sequence[Candidate], probabilities: np.ndarray, max_sentences: int,
               tier_lead: bool = True) -> list[tuple[Candidate, float]]:
        """The best sentence, then each next one whose probability is at least ``keep_min`` and
        ``keep_ratio`` of the best, skipping near-duplicates; among sentences within ``tier_margin``
        of the best, one from a higher-tier source leads."""
        if not candidates:
            return []
        max_sentences = min(max_sentences, self.max_sentences)
        ranked = sorted(range(len(candidates)), key=lambda i: (-probabilities[i], candidates[i].passage_rank, candidates[i].chunk_start))
        best = float(probabilities[ranked[0]])
        near = [i for i in ranked if probabilities[i] >= best - (self.tier_margin if tier_lead else 0.0)]
        lead = min(near, key=lambda i: (-TIER_SCORE.get(candidates[i].tier, 0.5), ranked.index(i)))
        top = ranked[0]
        ranked.remove(lead)
        ranked.insert(0, lead)
        chosen: list[int] = []
        for i in ranked:
            if len(chosen) == max_sentences:
                break
            if chosen and (probabilities[i] < self.keep_min or probabilities[i] < self.keep_ratio * best):
                break
            if any(redundant(candidates[i], candidates[j]) for j in chosen):
                continue
            chosen.append(i)
        # reading order (a gold span may run over two sentences), except that a higher-tier lead stays first
        ordered = sorted(chosen, key=lambda i: (candidates[i].passage_rank, candidates[i].chunk_start))
        if lead != top:
            ordered.remove(lead)
            ordered.insert(0, lead)
        return [(candidates[i], float(probabilities[i])) for i in ordered]


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    return load_json(DEFAULT_PARAMS, path)


# ---- the earlier heuristic (answer_selector="heuristic"), kept for comparison ---------------------------------------
_LABEL_ROW = re.compile(r"^[^:]{2,60}: \S")


def select_sentences(question: Question, candidates: Sequence[Candidate], max_sentences: int) -> list[AnswerSentence]:
    """The best supported sentences by the heuristic score, in passage then reading order."""
    question_terms = question.term_idf  # every term, question words included
    total_idf = sum(question_terms.values())
    scored = []
    for cand in candidates:
        if not _answer_like(cand.text, question.identifiers):
            continue
        shared = set(question_terms) & cand.terms
        coverage = sum(question_terms[t] for t in shared) / total_idf if total_idf > 0 else 0.0
        cosine = float(cand.vector.astype(np.float32) @ question.vector) if cand.vector is not None else 0.0
        scored.append((cosine + IDF_WEIGHT * coverage + PASSAGE_WEIGHT * cand.passage_rerank, cand))
    if not scored:
        return []
    scored.sort(key=lambda pair: -pair[0])
    best = scored[0][0]
    chosen: list[Candidate] = []
    for score, cand in scored:
        if len(chosen) == max_sentences or score < 0.85 * best:
            break
        if any(redundant(cand, other) for other in chosen):
            continue
        chosen.append(cand)
    chosen.sort(key=lambda c: (c.passage_rank, c.chunk_start))
    return [AnswerSentence(c.text, (c.citation_key,), c.chunk_start, c.chunk_end) for c in chosen]


def _answer_like(text: str, query_ids: frozenset[str]) -> bool:
    words = text.split()
    if len(words) >= 4:
        return True
    lowered = text.lower()
    return bool(_LABEL_ROW.match(text)) or any(ident in lowered for ident in query_ids)


def redundant(a: Candidate, b: Candidate) -> bool:
    """Two candidate sentences say the same thing: the same text, or vectors closer than 0.92 cosine."""
    if a.text == b.text:
        return True
    if a.vector is not None and b.vector is not None:
        return float(a.vector.astype(np.float32) @ b.vector.astype(np.float32)) > 0.92
    return False
