"""How candidates are scored: fusion of the two retrievers, the rerankers, and answerability.

Fusion is done over the union of both candidate lists with *both* scores known
for every candidate (BM25 scores come for all chunks at once; cosines are
exact from the stored vectors), so a chunk found by only one retriever is not
silently given the other retriever's minimum. Raw-score averaging is not
offered: BM25 and cosine live on different scales.

Rerankers: the default offline feature model, and a pluggable local cross-encoder.

No cross-encoder weights can be downloaded here, so the default reranker is a
logistic regression over features every candidate already has: fused score,
BM25 and dense scores and ranks, the best single-sentence cosine inside the
chunk, and query-term and identifier coverage. Its parameters are a small JSON
file (never pickle) written by ``lifqa train-reranker``.

The same file holds the support model: the probability that a question is answerable at all, from
question-level evidence. ``Support`` applies it (or an index's own, fitted by ``lifqa calibrate`` and
stored as ``calibration.json`` beside the index's ``CURRENT``; ``Calibration`` is that record) with
its abstention threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from lifqa.data import load_json
from lifqa.errors import SettingsError
from lifqa.search.question import Question
from lifqa.tokenize import Tokenizer
from lifqa.types import Chunk


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant run carries no ranking signal and becomes all zeros."""
    if scores.size == 0:
        return scores.astype(np.float32)
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - low) / (high - low)).astype(np.float32)


def zscore(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores.astype(np.float32)
    std = float(scores.std())
    if std < 1e-12:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - scores.mean()) / std).astype(np.float32)


def rrf(ranks: list[np.ndarray], k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion: sum of 1/(k + rank) over runs; rank is 1-based, 0 means absent."""
    fused = np.zeros(len(ranks[0]), dtype=np.float32)
    for run in ranks:
        present = run > 0
        fused[present] += 1.0 / (k + run[present])
    return fused


def ranks_of(scores: np.ndarray, in_run: np.ndarray) -> np.ndarray:
    """1-based rank of each candidate within the run it came from (0 where not in that run)."""
    ranks = np.zeros(len(scores), dtype=np.float32)
    members = np.flatnonzero(in_run)
    order = members[np.argsort(-scores[members], kind="stable")]
    ranks[order] = np.arange(1, len(order) + 1, dtype=np.float32)
    return ranks


def fuse(bm25: np.ndarray, dense: np.ndarray, in_bm25: np.ndarray, in_dense: np.ndarray,
         method: str, alpha: float, rrf_k: int) -> np.ndarray:
    """Fused score per candidate; ``alpha`` is the dense weight for normalised fusion."""
    if method == "rrf":
        return rrf([ranks_of(bm25, in_bm25), ranks_of(dense, in_dense)], rrf_k)
    normalise = minmax if method == "minmax" else zscore
    return (1.0 - alpha) * normalise(bm25) + alpha * normalise(dense)


FEATURES = (
    "fused",
    "bm25_norm",
    "dense_cos",
    "best_sentence_cos",
    "second_sentence_cos",
    "bm25_rrank",
    "dense_rrank",
    "term_coverage",
    "idf_coverage",
    "identifier_coverage",
    "identifier_missing",
    "log_length",
    "doc_fused_max",
    "doc_best_sentence_cos",
)

# Relevance belongs to a document, so each chunk also carries the best value of its document's
# candidates: in 5-fold cross-validation on SciFact train claims these two lifted document
# nDCG@10 of the reranked list from 0.736 to 0.742 (plain fusion: 0.732).
_DOCUMENT_MAX = (("doc_fused_max", "fused"), ("doc_best_sentence_cos", "best_sentence_cos"))


@dataclass(frozen=True)
class RerankInput:
    """One query's candidates with the scores retrieval already computed."""

    question: Question  # its terms, their idf and its identifiers
    chunks: Sequence[Chunk]
    fused: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    in_bm25: np.ndarray
    in_dense: np.ndarray
    sentence_cos: Sequence[np.ndarray]  # per candidate: cosine of every sentence with the query


class Reranker(Protocol):
    name: str

    def score(self, batch: RerankInput) -> np.ndarray:
        """One score per candidate; higher is better."""


def feature_matrix(batch: RerankInput, tokenizer: Tokenizer) -> np.ndarray:
    n = len(batch.chunks)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    terms = set(batch.question.terms)
    idf_of = batch.question.term_idf
    idf_total = sum(idf_of.values())
    query_ids = batch.question.identifiers
    bm25_rank = ranks_of(batch.bm25, batch.in_bm25 | (batch.bm25 > 0))
    dense_rank = ranks_of(batch.dense, np.ones(n, dtype=bool))
    bm25_norm = minmax(batch.bm25)
    fused_norm = minmax(batch.fused)
    for i, chunk in enumerate(batch.chunks):
        sims = np.sort(batch.sentence_cos[i])[::-1] if len(batch.sentence_cos[i]) else np.zeros(1, dtype=np.float32)
        chunk_terms = set(tokenizer(chunk.text))
        lowered = chunk.text.lower()
        found_ids = sum(1 for ident in query_ids if ident in lowered)
        out[i] = (
            fused_norm[i],
            bm25_norm[i],
            batch.dense[i],
            sims[0],
            sims[1] if len(sims) > 1 else sims[0],
            1.0 / bm25_rank[i] if bm25_rank[i] > 0 else 0.0,
            1.0 / dense_rank[i] if dense_rank[i] > 0 else 0.0,
            len(terms & chunk_terms) / len(terms) if terms else 0.0,
            sum(idf_of[t] for t in terms & chunk_terms) / idf_total if idf_total > 0 else 0.0,
            found_ids / len(query_ids) if query_ids else 0.0,
            1.0 if query_ids and found_ids == 0 else 0.0,
            math.log1p(len(chunk.text)),
            0.0,
            0.0,
        )
    docs = np.asarray([chunk.doc_id for chunk in batch.chunks], dtype=object)
    for doc in dict.fromkeys(docs):
        same = docs == doc
        for target, source in _DOCUMENT_MAX:
            out[same, FEATURES.index(target)] = out[same, FEATURES.index(source)].max()
    return out


# Question-level features for abstention: absolute evidence that some passage answers,
# taken as the maximum over the reranked candidates (relative features say nothing here).
SUPPORT_FEATURES = ("best_sentence_cos", "dense_cos", "idf_coverage", "term_coverage")


# Answer-level evidence a corpus's own abstention model also reads (``lifqa calibrate``): the score of the best
# answer-eligible sentence of the answer passages (cosine + term coverage + passage probability, lifqa.answer.selector's
# "score"). Many off-corpus questions find passages near their topic but no sentence that answers them: 5-fold on
# COVID-QA train with unseen SciFact train claims, off-corpus abstention rose from 0.885 to 0.936 (BENCHMARKS.md).
ANSWER_EVIDENCE = ("best_sentence_score",)
CALIBRATED_SUPPORT_FEATURES = SUPPORT_FEATURES + ANSWER_EVIDENCE


def support_features(features: np.ndarray) -> np.ndarray:
    columns = [FEATURES.index(name) for name in SUPPORT_FEATURES]
    if len(features) == 0:
        return np.zeros(len(columns), dtype=np.float32)
    return features[:, columns].max(axis=0)


class FeatureReranker:
    """Logistic regression over retrieval features; probabilities double as support scores."""

    name = "features"

    def __init__(self, params: dict[str, Any], tokenizer: Tokenizer) -> None:
        if tuple(params.get("features", ())) != FEATURES:
            raise SettingsError(
                "the reranker parameters were trained on other features than this lifqa computes; "
                "retrain with: lifqa train-reranker"
            )
        self.params = params
        self.tokenizer = tokenizer
        self._mean = np.asarray(params["mean"], dtype=np.float32)
        self._scale = np.asarray(params["scale"], dtype=np.float32)
        self._coef = np.asarray(params["coef"], dtype=np.float32)
        self._intercept = float(params["intercept"])

    def score(self, batch: RerankInput) -> np.ndarray:
        return self.probabilities(feature_matrix(batch, self.tokenizer))

    def score_with_evidence(self, batch: RerankInput) -> tuple[np.ndarray, np.ndarray]:
        """Candidate probabilities, and the question-level evidence (``SUPPORT_FEATURES``) the abstention model reads."""
        features = feature_matrix(batch, self.tokenizer)
        return self.probabilities(features), support_features(features)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return _logistic(features, self._mean, self._scale, self._coef, self._intercept)

    def support(self, row: np.ndarray, model: dict[str, Any] | None = None) -> float:
        """The probability that the question is answerable at all, from its evidence ``row`` (the values of the
        model's features, in order); ``model``: a corpus's own, from ``lifqa calibrate``, instead of the shipped one."""
        model = model or self.params["support"]
        return float(_logistic(np.asarray(row, dtype=np.float32)[None, :],
                               *(np.asarray(model[key], dtype=np.float32) for key in ("mean", "scale", "coef")), float(model["intercept"]))[0])

    @property
    def abstain_threshold(self) -> float:
        return float(self.params["support"].get("threshold", 0.5))


def _logistic(features: np.ndarray, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    logits = ((features - mean) / scale) @ coef + intercept
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


class CrossEncoderReranker:
    """A local cross-encoder folder (sentence-transformers ``CrossEncoder``), for users who have one."""

    name = "cross-encoder"

    def __init__(self, model_path: str) -> None:
        from sentence_transformers import CrossEncoder

        if not Path(model_path).is_dir():
            raise SettingsError(f"cross_encoder_path '{model_path}' is not a folder; give a local cross-encoder model folder")
        self.model = CrossEncoder(model_path, device="cpu", local_files_only=True)

    def score(self, batch: RerankInput) -> np.ndarray:
        if not batch.chunks:
            return np.zeros(0, dtype=np.float32)
        pairs = [(batch.question.text, chunk.text) for chunk in batch.chunks]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float32).reshape(len(pairs))


DEFAULT_PARAMS = "reranker.json"


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    return load_json(DEFAULT_PARAMS, path)


@dataclass(frozen=True)
class Support:
    """Whether a question is answerable: the shipped support model, or an index's calibrated one, and the
    threshold under which an answer abstains."""

    reranker: FeatureReranker  # holds the shipped model and threshold
    model: dict[str, Any] | None = None  # the index's own (``lifqa calibrate``); None: the shipped one
    threshold: float = 0.5

    @classmethod
    def of(cls, reranker: FeatureReranker, calibration: dict[str, Any] | None, use_calibration: bool,
           threshold: float | None) -> "Support":
        """``threshold``: the setting when given, else the index's calibration (when used), else the shipped default."""
        calibrated = calibration if use_calibration else None
        if threshold is None:
            threshold = float(calibrated["threshold"]) if calibrated is not None else reranker.abstain_threshold
        return cls(reranker, (calibrated or {}).get("support"), threshold)

    @property
    def reads_answer_evidence(self) -> bool:
        """Whether the model also reads the best answer sentence's score (``ANSWER_EVIDENCE``)."""
        return self.model is not None and len(self.model["features"]) > len(SUPPORT_FEATURES)

    def probability(self, evidence: np.ndarray, best_sentence_score: float | None = None) -> float:
        """The probability that the question is answerable, from its retrieval ``evidence`` (``SUPPORT_FEATURES``)
        and, for a model that reads it, the best answer sentence's score."""
        if self.reads_answer_evidence:
            evidence = np.concatenate([evidence, [best_sentence_score or 0.0]])
        return self.reranker.support(evidence, self.model)


# ---- an index's calibration -----------------------------------------------------------------------------
CALIBRATION = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    threshold: float
    answerable: int
    unanswerable: int
    negatives: str  # "gold file" | "off-topic questions"
    wrong_abstention: float  # on the calibration questions, at the threshold
    abstention_accuracy: float
    max_wrong_abstention: float
    gold: str
    gold_fingerprint: str
    corpus_fingerprint: str
    created: str
    support: dict[str, Any] | None = None  # the refitted abstention model (None: only the threshold was fitted)

    def summary(self) -> str:
        return (f"abstention threshold {self.threshold:.4f} from {self.answerable} answerable and {self.unanswerable} unanswerable "
                f"questions ({self.negatives}); on them: {self.wrong_abstention:.1%} of answerable abstain, "
                f"{self.abstention_accuracy:.1%} of unanswerable abstain")


def write_calibration(index: str | Path, calibration: Calibration) -> Path:
    path = Path(index) / CALIBRATION
    tmp = path.with_name(f".{CALIBRATION}.tmp")
    tmp.write_text(json.dumps(asdict(calibration), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_calibration(index: str | Path) -> dict[str, Any] | None:
    """The stored calibration of an index folder, or None; a damaged file is ignored (the default threshold applies)."""
    path = Path(index) / CALIBRATION
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(data["threshold"])
        support = data.get("support")
        if support is not None:
            # a calibration from before the answer evidence (four features) still applies as it was fitted
            names = tuple(support["features"])
            if names not in (SUPPORT_FEATURES, CALIBRATED_SUPPORT_FEATURES) or not all(len(support[k]) == len(names) for k in ("mean", "scale", "coef")):
                return None
            float(support["intercept"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not 0.0 <= threshold <= 1.0:
        return None
    return {**data, "threshold": threshold}
