"""Train the default reranker: logistic regression on retrieval features.

Training data are (question, relevant documents, optional answer phrases)
from *training* splits only. A candidate chunk is positive when it comes from a
relevant document and, where answer phrases are given, contains one of them.
Unanswerable training questions contribute only negatives, which is what lets
the reranker's probability double as the abstention score.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from lifqa import __version__
from lifqa.gold import GoldQuestion
from lifqa.rerank import FEATURES, SUPPORT_FEATURES, feature_matrix, support_features

SEED = 13


@dataclass
class TrainingData:
    features: np.ndarray
    labels: np.ndarray
    question_index: np.ndarray  # which question each row came from
    answerable: np.ndarray  # per question
    fingerprint: str


def collect(engine: Any, questions: Iterable[GoldQuestion], depth: int = 30) -> TrainingData:
    """Feature rows for the hybrid candidates of every question, labelled from the gold data."""
    questions = list(questions)
    texts = [engine.clean_question(q.question)[0] for q in questions]
    vectors = engine.encoder.encode_queries(texts)
    rows, labels, owners = [], [], []
    digest = hashlib.sha256()
    for qi, (q, text, vector) in enumerate(zip(questions, texts, vectors)):
        digest.update(json.dumps([q.id, q.question, sorted(q.relevant_doc_ids), list(q.answers)]).encode())
        batch = engine.rerank_candidates_for(text, vector, depth)
        feats = feature_matrix(batch, engine.tokenizer)
        relevant = set(q.relevant_doc_ids) if q.answerable else set()
        answers = [a.lower() for a in q.answers]
        for i, chunk in enumerate(batch.chunks):
            positive = chunk.doc_id in relevant and (not answers or any(a in chunk.text.lower() for a in answers))
            rows.append(feats[i])
            labels.append(int(positive))
            owners.append(qi)
    return TrainingData(
        features=np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURES)),
        labels=np.asarray(labels, dtype=np.int64),
        question_index=np.asarray(owners, dtype=np.int64),
        answerable=np.asarray([q.answerable for q in questions], dtype=bool),
        fingerprint=digest.hexdigest(),
    )


def fit(data: TrainingData, c: float = 1.0) -> dict[str, Any]:
    scaler = StandardScaler().fit(data.features)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=SEED)
    model.fit(scaler.transform(data.features), data.labels)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return {
        "features": list(FEATURES),
        "mean": [float(x) for x in scaler.mean_],
        "scale": [float(x) for x in scale],
        "coef": [float(x) for x in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
    }


def question_support_rows(data: TrainingData) -> np.ndarray:
    """One row of absolute evidence per question: the best candidate's value of each support feature."""
    return np.stack([support_features(data.features[data.question_index == qi]) for qi in range(len(data.answerable))])


def fit_support(data: TrainingData, max_wrong_abstention: float = 0.05, c: float = 0.5) -> dict[str, Any]:
    """Answerable-vs-not model over question-level evidence, and the threshold to abstain below.

    The threshold is the largest that keeps wrong abstentions on answerable
    training questions within ``max_wrong_abstention``, placed halfway to the
    next unanswerable question's score below it.
    """
    rows = question_support_rows(data)
    scaler = StandardScaler().fit(rows)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=SEED)
    model.fit(scaler.transform(rows), data.answerable.astype(int))
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    params = {
        "features": list(SUPPORT_FEATURES),
        "mean": [float(x) for x in scaler.mean_],
        "scale": [float(x) for x in scale],
        "coef": [float(x) for x in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
    }
    probs = model.predict_proba(scaler.transform(rows))[:, 1]
    answerable, unanswerable = np.sort(probs[data.answerable]), np.sort(probs[~data.answerable])
    allowed_misses = int(np.floor(max_wrong_abstention * len(answerable)))
    ceiling = float(answerable[allowed_misses]) if len(answerable) else 0.5
    below = unanswerable[unanswerable < ceiling]
    floor = float(below.max()) if len(below) else 0.0
    params["threshold"] = round((floor + ceiling) / 2, 4)
    return params


def train(sources: list[tuple[Any, list[GoldQuestion], str]], depth: int = 30, c: float = 1.0) -> dict[str, Any]:
    """Fit on several (engine, questions, name) sources at once; returns the JSON-ready parameters."""
    parts = [(collect(engine, questions, depth), name, len(questions)) for engine, questions, name in sources]
    merged = TrainingData(
        features=np.concatenate([p[0].features for p in parts]),
        labels=np.concatenate([p[0].labels for p in parts]),
        question_index=np.concatenate([p[0].question_index + sum(len(q[0].answerable) for q in parts[:i]) for i, p in enumerate(parts)]),
        answerable=np.concatenate([p[0].answerable for p in parts]),
        fingerprint=hashlib.sha256("".join(p[0].fingerprint for p in parts).encode()).hexdigest(),
    )
    params = fit(merged, c)
    params["support"] = fit_support(merged)
    params["trained_on"] = {
        "sources": [{"name": name, "questions": n, "rows": int(len(p.labels)), "positives": int(p.labels.sum())} for p, name, n in parts],
        "fingerprint": merged.fingerprint,
        "seed": SEED,
        "depth": depth,
        "C": c,
        "lifqa_version": __version__,
    }
    return params
