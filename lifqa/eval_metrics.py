"""Evaluation metrics: what one question scored under one mode, and the means over a mode.

Ranking metrics are computed at document level (a document's rank is its best
chunk's rank) by pytrec_eval, the Python binding of trec_eval, rather than by
hand-written formulas. Answer metrics (answer recall, answer hit, citation precision,
abstention) are measured on the answers ``Engine.ask`` gives; short-answer metrics score the span reader's
``Answer.short_answer`` with SQuAD's token F1 and exact match, beside the same F1 of the whole answer sentences.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

RANK_CUTOFFS = (5, 10, 100)
METRICS = ("ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10", "answer_recall@k", "answer_hit", "answer_hit_any_part", "answer_token_recall",
           "answer_words", "sentence_f1", "short_answer_f1", "short_answer_em", "short_answer_f1_held", "short_answer_shown",
           "short_answer_precision", "citation_precision", "abstention_accuracy", "wrong_abstention", "latency_p50_ms", "latency_p95_ms")


@dataclass(frozen=True)
class QuestionResult:
    """One question under one mode: what was retrieved and answered, for error analysis."""

    id: str
    question: str
    mode: str
    answerable: bool
    relevant_doc_ids: tuple[str, ...]
    retrieved_doc_ids: tuple[str, ...]  # top 10 documents of the ranking
    first_relevant_rank: int | None  # document rank of the best relevant document (None: not in the ranking)
    hit: bool | None  # a relevant document among the top k (None: no relevant documents)
    ndcg10: float | None
    answer: str
    abstained: bool
    support: float
    cited_doc_ids: tuple[str, ...]
    answer_found: bool | None  # a key phrase in the top-k passages (None: the question has no answers)
    citation_precision: float | None  # share of cited passages from relevant documents (None: nothing cited)
    latency_ms: float
    answer_hit: bool | None = None  # a key phrase of every part inside the answer's own sentences (None: no answers)
    answer_hit_any_part: bool | None = None  # a key phrase of any part: the same as answer_hit for a one-part question
    answer_token_recall: float | None = None  # best share of a key phrase's words found in the answer's sentences
    answer_words: int | None = None  # words in the answer's sentences (None: abstained)
    short_answer: str | None = None  # the short answer's text as shown (None: none shown, or abstained)
    # Scores of the short answer, beside the whole sentences' (None: unanswerable; F1/EM/precision also: no answers)
    sentence_f1: float | None = None  # SQuAD token F1 of the answer's sentences (0: abstained)
    short_answer_f1: float | None = None  # SQuAD token F1 of the short answer (0: none shown, or abstained)
    short_answer_em: float | None = None  # SQuAD exact match of the short answer (0: none shown, or abstained)
    short_answer_f1_held: float | None = None  # short_answer_f1 when answer_hit is True (None otherwise)
    short_answer_shown: bool | None = None  # a short answer was shown
    short_answer_precision: bool | None = None  # the shown short answer overlaps a gold answer (None: none shown)


@dataclass(frozen=True)
class EvalResult:
    modes: Mapping[str, Mapping[str, float | None]]
    questions: tuple[QuestionResult, ...]
    info: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The object ``lifqa eval --json`` prints and the report's summary.json holds."""
        return {"modes": {mode: dict(values) for mode, values in self.modes.items()}, **self.info}


# ---- ranking metrics -------------------------------------------------------
def ranking_metrics(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10, Recall@5/10/100 and MRR@10 of ranked document lists, via pytrec_eval.

    A query in ``qrels`` that retrieved nothing scores 0 on every metric.
    """
    import pytrec_eval

    qrels = {q: {d: int(r) for d, r in rel.items()} for q, rel in qrels.items() if rel}
    scored = {q: _run_scores(run.get(q, ())) for q in qrels}
    cut = ",".join(str(c) for c in RANK_CUTOFFS)
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", f"recall.{cut}"}).evaluate(scored)
    # MRR@10: trec_eval's recip_rank has no cut-off, so it is computed on the top 10 only.
    top10 = {q: dict(list(s.items())[:10]) for q, s in scored.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out = {}
    for q in qrels:
        values = full.get(q, {})
        out[q] = {"ndcg@10": values.get("ndcg_cut_10", 0.0), "mrr@10": rr.get(q, {}).get("recip_rank", 0.0),
                  **{f"recall@{c}": values.get(f"recall_{c}", 0.0) for c in RANK_CUTOFFS}}
    return out


def _run_scores(ranked: Sequence[str]) -> dict[str, float]:
    """Distinct descending scores, so trec_eval's tie-breaking (by document id) never reorders the ranking."""
    return {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)}


def document_ranking(chunk_doc_ids: Iterable[str]) -> list[str]:
    """Documents in the order of their best chunk."""
    return list(dict.fromkeys(chunk_doc_ids))


# ---- answer metrics ----------------------------------------------------------
def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def answer_found(answers: Sequence[str], passages: Sequence[str]) -> bool | None:
    """Whether any key phrase occurs in any passage, ignoring case and runs of whitespace."""
    phrases = [_squash(a) for a in answers if a.strip()]
    if not phrases:
        return None
    texts = [_squash(p) for p in passages]
    return any(phrase in text for phrase in phrases for text in texts)


_WORD = re.compile(r"\w+")


def answer_text(sentences: Sequence[Any]) -> str:
    """The answer's own words: its sentences joined, without citation markers (a key phrase may span two)."""
    return " ".join(s.text for s in sentences)


def answer_hit(answers: Sequence[str], text: str, parts: Sequence[Sequence[str]] = ()) -> bool | None:
    """Whether a key phrase occurs inside the answer's own text, ignoring case and runs of whitespace; for a question
    asking several things (``parts``: each part's key phrases), whether one of every part's does."""
    if parts:
        return all(answer_found(part, [text]) for part in parts)
    return answer_found(answers, [text])


def answer_token_recall(answers: Sequence[str], text: str) -> float | None:
    """The best share, over key phrases, of a phrase's words that occur in the answer (SQuAD-style recall)."""
    phrases = [_WORD.findall(a.lower()) for a in answers if a.strip()]
    phrases = [p for p in phrases if p]
    if not phrases:
        return None
    words = set(_WORD.findall(text.lower()))
    return max(sum(w in words for w in p) / len(p) for p in phrases)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = re.compile(r"[^\w\s]")


def squad_tokens(text: str) -> list[str]:
    """SQuAD's normalisation (the official evaluation script's): lower case, no punctuation, no articles, split on
    whitespace."""
    return _ARTICLES.sub(" ", _PUNCTUATION.sub("", text.lower())).split()


def squad_f1(answers: Sequence[str], text: str | None) -> float | None:
    """SQuAD token F1 of ``text`` against the best-matching gold answer; 0 for no text (None: no gold answers)."""
    golds = [squad_tokens(a) for a in answers if a.strip()]
    if not golds:
        return None
    said = squad_tokens(text or "")
    best = 0.0
    for gold in golds:
        common = sum((Counter(said) & Counter(gold)).values())
        if common:
            precision, recall = common / len(said), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def squad_exact(answers: Sequence[str], text: str | None) -> float | None:
    """SQuAD exact match (after normalisation) against any gold answer; 0 for no text (None: no gold answers)."""
    golds = [squad_tokens(a) for a in answers if a.strip()]
    if not golds:
        return None
    return float(text is not None and squad_tokens(text) in golds)


def short_answer_scores(answers: Sequence[str], said: str, short: str | None,
                        held: bool | None) -> dict[str, float | bool | None]:
    """One answerable question's short-answer fields of ``QuestionResult``: ``said`` is the answer's sentences joined
    ("" when abstained), ``short`` the short answer's text (None when none was shown), ``held`` its answer_hit.

    A missing short answer scores 0 in F1 and EM, as a wrong one does, so they measure what a reader gets over every
    question; precision is over the short answers shown only, so it says how far a shown one can be trusted."""
    f1 = squad_f1(answers, short)
    return {
        "sentence_f1": squad_f1(answers, said),
        "short_answer_f1": f1,
        "short_answer_em": squad_exact(answers, short),
        "short_answer_f1_held": f1 if held else None,
        "short_answer_shown": short is not None,
        "short_answer_precision": f1 > 0 if short is not None and f1 is not None else None,
    }


def mean_of_known(values: Iterable[float | bool | None]) -> float | None:
    """The mean of the values that were measured (None: does not apply), to 4 places; None when none was."""
    kept = [float(v) for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


def mode_metrics(results: Sequence[QuestionResult], per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    latencies = [r.latency_ms for r in results]
    out: dict[str, float | None] = {}
    for name in ("ndcg@10", *(f"recall@{c}" for c in RANK_CUTOFFS), "mrr@10"):
        out[name] = mean_of_known(per_query[r.id][name] for r in answerable if r.id in per_query)
    out["answer_recall@k"] = mean_of_known(r.answer_found for r in answerable)
    out["answer_hit"] = mean_of_known(r.answer_hit for r in answerable)
    out["answer_hit_any_part"] = mean_of_known(r.answer_hit_any_part for r in answerable)
    out["answer_token_recall"] = mean_of_known(r.answer_token_recall for r in answerable)
    words = [r.answer_words for r in results if r.answer_words is not None]
    out["answer_words"] = round(float(np.mean(words)), 1) if words else None
    for name in ("sentence_f1", "short_answer_f1", "short_answer_em", "short_answer_f1_held", "short_answer_shown", "short_answer_precision"):
        out[name] = mean_of_known(getattr(r, name) for r in answerable)
    out["citation_precision"] = mean_of_known(r.citation_precision for r in answerable)
    out["abstention_accuracy"] = mean_of_known(r.abstained for r in unanswerable)
    out["wrong_abstention"] = mean_of_known(r.abstained for r in answerable)
    out["latency_p50_ms"] = round(float(np.percentile(latencies, 50)), 1) if latencies else None
    out["latency_p95_ms"] = round(float(np.percentile(latencies, 95)), 1) if latencies else None
    return out
