"""Train the answer-sentence selector (``lifqa train-selector``) on train splits only.

For each training question the engine retrieves its passages exactly as ``ask``
does; every answer-eligible sentence of them is a row. A sentence is positive
when it comes from a relevant document and holds the gold answer: COVID-QA's
gold span (or, for a span of several sentences, lies inside it or holds its
opening), a LIF key phrase. Questions with no positive sentence among their
passages teach nothing about choosing and are left out of the fit. The keep rule
(how many sentences an answer has) is then chosen as answers are given: on every
answerable training question (one with no positive sentence counts as a miss),
from the passages the engine quotes from (``answer_depth``), with probabilities
from models fitted without that question: the largest gold-answer hit rate whose
answers are not longer, in words, than the earlier heuristic's on those questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from lifqa import __version__
from lifqa.errors import InputError
from lifqa.gold import GoldQuestion
from lifqa.answer.selector import FEATURES, TIER_MARGIN, SentenceSelector, Trees
from lifqa.answer.sentences import Candidate
from lifqa.train import (SEED, TRAINING_QUERY_ENCODER, TrainingSet, beir_training_set, fit_logistic, gold_training_set,
                         questions_fingerprint, training_fingerprint, write_params)

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "selector.json"
KEEP_RATIOS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01)
KEEP_MINS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def holds_answer(sentence: str, answers: Sequence[str]) -> bool:
    """Whether a sentence holds a gold answer: the whole span, or (for a span longer than a
    sentence) the sentence lies inside it or holds its opening words."""
    text = _squash(sentence)
    for answer in answers:
        a = _squash(answer)
        if not a:
            continue
        if a in text or (len(text) >= 25 and text in a) or (len(a) > 80 and a[:50] in text):
            return True
    return False


@dataclass
class QuestionRows:
    question: GoldQuestion
    candidates: list[Candidate]
    features: np.ndarray
    labels: np.ndarray
    source: str
    baseline_words: int | None  # words of the earlier heuristic's answer (None: it abstained)
    baseline_hit: bool


def collect(engine: Any, questions: Sequence[GoldQuestion], source: str, as_answered: bool = False) -> list[QuestionRows]:
    """Rows for every answerable training question that has a positive sentence in its top ``k`` passages (what the
    selector is fitted on); ``as_answered``: for every answerable question, from the passages an answer quotes from
    (``answer_depth``), each with the earlier heuristic's answer (what the keep rule is chosen on)."""
    questions = [q for q in questions if q.answerable and q.answers]
    heuristic = engine.with_settings(answer_selector="heuristic")
    out = []
    for q, question in zip(questions, engine.questions([q.question for q in questions])):
        depth = engine.answerer.depth(question, engine.settings.k) if as_answered else engine.settings.k
        candidates, features = engine.selector_inputs(question, engine.searcher.search(question, depth, engine.settings.mode))
        relevant = set(q.relevant_doc_ids)
        labels = np.asarray([int(c.doc_id in relevant and holds_answer(c.text, q.answers)) for c in candidates], dtype=np.int64)
        if not as_answered:
            if labels.any():
                out.append(QuestionRows(q, candidates, features, labels, source, None, False))
            continue
        before = heuristic.ask(q.question)
        said = " ".join(s.text for s in before.sentences)
        out.append(QuestionRows(q, candidates, features, labels, source, None if before.abstained else len(said.split()),
                                holds_answer(said, q.answers) if said else False))
    return out


def fit(rows: Sequence[QuestionRows], shares: Mapping[str, float], c: float = 1.0, model: str = "trees") -> dict[str, Any]:
    features = np.concatenate([r.features for r in rows]).reshape(-1, len(FEATURES))
    labels = np.concatenate([r.labels for r in rows])
    per_source = {name: sum(len(r.labels) for r in rows if r.source == name) for name in {r.source for r in rows}}
    weights = np.concatenate([np.full(len(r.labels), shares.get(r.source, 1.0) / per_source[r.source]) for r in rows])
    weights = weights / weights.mean()
    if model == "trees":
        return fit_trees(features, labels, weights)
    return fit_logistic(features, labels, FEATURES, c, weights, max_iter=3000)[0]


MODELS = ("trees", "logistic")
TREES = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8}


def fit_trees(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    """Gradient-boosted trees (scikit-learn), exported as plain arrays so the shipped file stays JSON.

    Trees learn what a linear model cannot: that a "label: value" row answers a lookup question but
    rarely anything else, that the passage's rerank score matters less when the question asks for a number.
    Grouped 5-fold cross-validation on the train splits put the right sentence first for 0.681 of
    COVID-QA train questions and 0.657 of LIF train ones, against 0.661 and 0.600 for logistic regression.
    Classes are balanced through the weights, so probabilities sit on the scale the keep rule expects."""
    from sklearn.ensemble import GradientBoostingClassifier

    positive = labels == 1
    balanced = weights * np.where(positive, 0.5 / max(weights[positive].sum() / weights.sum(), 1e-9),
                                  0.5 / max(weights[~positive].sum() / weights.sum(), 1e-9))
    model = GradientBoostingClassifier(random_state=SEED, **TREES).fit(features, labels, sample_weight=balanced)
    trees = []
    for estimator in model.estimators_[:, 0]:
        t = estimator.tree_
        trees.append({"left": t.children_left.tolist(), "right": t.children_right.tolist(), "feature": t.feature.tolist(),
                      "threshold": [float(x) for x in t.threshold], "value": [float(x) for x in t.value[:, 0, 0]]})
    raw = model.decision_function(features[:1])[0]
    params = {"features": list(FEATURES), "model": "trees", "learning_rate": TREES["learning_rate"], "trees": trees}
    params["init"] = float(raw - TREES["learning_rate"] * Trees(trees).sum(features[:1])[0])
    check = min(len(features), 2000)  # the exported arrays must reproduce scikit-learn's own scores
    if not np.allclose(SentenceSelector({**params, "keep_ratio": 1.0, "keep_min": 0.5})._logits(features[:check]),
                       model.decision_function(features[:check]), atol=1e-4):
        raise RuntimeError("exported trees disagree with scikit-learn's scores")
    return params


def out_of_fold(rows: Sequence[QuestionRows], shares: Mapping[str, float], c: float, model: str, folds: int = 5,
                rated: Sequence[QuestionRows] | None = None) -> list[np.ndarray]:
    """Each question's sentence probabilities from a model fitted without that question (folds grouped by question,
    seeded): for the rows of ``rated`` (default: ``rows``), fitted on ``rows``. The keep rule is chosen on these:
    boosted trees rate their own training rows far too confidently, so a keep rule chosen on in-sample probabilities
    would not carry over to new questions."""
    rated = rows if rated is None else rated
    keys = list(dict.fromkeys((r.source, r.question.id) for r in [*rows, *rated]))
    order = np.random.default_rng(SEED).permutation(len(keys))
    folds_in_order = np.empty(len(keys), dtype=np.int64)
    folds_in_order[order] = np.arange(len(keys)) % folds
    fold_of = dict(zip(keys, (int(f) for f in folds_in_order)))
    out: list[np.ndarray] = [np.zeros(0)] * len(rated)
    for fold in range(folds):
        params = fit([r for r in rows if fold_of[(r.source, r.question.id)] != fold], shares, c, model)
        selector = SentenceSelector({**params, "keep_ratio": 1.0, "keep_min": 0.5})
        for i, r in enumerate(rated):
            if fold_of[(r.source, r.question.id)] == fold:
                out[i] = selector.probabilities(r.features)
    return out


def keep_rule(params: dict[str, Any], rows: Sequence[QuestionRows], max_sentences: int = 3,
              probabilities: Sequence[np.ndarray] | None = None) -> dict[str, Any]:
    """The keep_ratio/keep_min with the best hit rate whose answers are, on every source, no longer
    in words than the heuristic's. The hit rate is averaged per source, then over sources, so a small
    corpus (the LIF gold set) counts as much as a large one."""
    sources = sorted({r.source for r in rows})
    per_source = lambda values: [float(np.mean([v for v, r in zip(values, rows) if r.source == s])) for s in sources]  # noqa: E731
    macro = lambda values: float(np.mean(per_source(values)))  # noqa: E731
    budgets = [float(np.mean([r.baseline_words for r in rows if r.source == s and r.baseline_words is not None])) for s in sources]
    budget = float(np.mean(budgets))
    best: tuple[float, float, float, float, int] | None = None
    table = []
    if probabilities is None:
        scorer = SentenceSelector({**params, "keep_ratio": 1.0, "keep_min": 0.5})
        probabilities = [scorer.probabilities(r.features) for r in rows]
    for ratio, floor, most in [(r, f, m) for m in (2, max_sentences) for r in KEEP_RATIOS for f in KEEP_MINS]:
        selector = SentenceSelector({**params, "keep_ratio": ratio, "keep_min": floor})
        hits, words = [], []
        for r, rated in zip(rows, probabilities):
            chosen = selector.choose(r.candidates, rated, most)
            said = " ".join(c.text for c, _ in chosen)
            hits.append(holds_answer(said, r.question.answers))
            words.append(len(said.split()))
        hit, mean_words = macro(hits), macro(words)
        table.append({"keep_ratio": ratio, "keep_min": floor, "max_sentences": most, "hit": round(hit, 4), "words": round(mean_words, 1)})
        within = all(w <= b for w, b in zip(per_source(words), budgets))  # no source's answers get longer
        if within and (best is None or hit > best[0] + 1e-9 or (abs(hit - best[0]) <= 1e-9 and mean_words < best[1])):
            best = (hit, mean_words, ratio, floor, most)
    if best is None:
        raise InputError("no keep rule keeps answers within the earlier answers' length; check the training data")
    return {"keep_ratio": best[2], "keep_min": best[3], "max_sentences": best[4], "train_hit": round(best[0], 4), "train_words": round(best[1], 1),
            "baseline_words": round(budget, 1), "baseline_hit": round(macro([r.baseline_hit for r in rows]), 4), "grid": table}


def untrained_params() -> dict[str, Any]:
    """Parameters of the right shape that rate every sentence alike (used while collecting rows)."""
    n = len(FEATURES)
    return {"features": list(FEATURES), "mean": [0.0] * n, "scale": [1.0] * n, "coef": [0.0] * n, "intercept": 0.0,
            "keep_ratio": 1.0, "keep_min": 0.5}


def collect_sets(sets: Sequence[TrainingSet]) -> list[tuple[TrainingSet, list[QuestionRows], list[QuestionRows], str]]:
    """Per training set: the rows the selector is fitted on, the rows as answers are given (what keep rules are chosen
    on), and the corpus fingerprint. Neither depends on the selector's parameters (features and the earlier
    heuristic's answers do not read them), so one engine with untrained ones serves both."""
    from lifqa.engine import Engine

    if not sets:
        raise InputError("give at least one training set (--gold FILE CORPUS)")
    out = []
    for s in sets:
        engine = Engine.open(s.index, selector_params=untrained_params(), use_calibration=False, short_answer=False,
                             query_encoder=TRAINING_QUERY_ENCODER)
        out.append((s, collect(engine, s.questions, s.name), collect(engine, s.questions, s.name, as_answered=True),
                    engine.manifest.get("corpus", {}).get("fingerprint", "")))
    return out


def answered_rows(sets: Sequence[TrainingSet]) -> tuple[list[QuestionRows], list[QuestionRows], list[dict[str, Any]]]:
    """What the fine-tuned models train on: every set's rows as answers are given, its selector rows (for the
    selector's out-of-fold probabilities) and a description of each set for the training record."""
    rows: list[QuestionRows] = []
    selector_rows: list[QuestionRows] = []
    described = []
    for s, part, answered, corpus in collect_sets(sets):
        rows += answered
        selector_rows += part
        described.append({"name": s.name, "questions": len(s.questions), "rows": len(answered), "corpus_fingerprint": corpus,
                          "questions_fingerprint": questions_fingerprint(s.questions)})
    return rows, selector_rows, described


def train_selector(sets: Sequence[TrainingSet], shares: Mapping[str, float] | None = None, c: float = 1.0,
                   model: str = "trees") -> dict[str, Any]:
    rows: list[QuestionRows] = []
    answered: list[QuestionRows] = []
    described = []
    for s, part, as_answered, corpus in collect_sets(sets):
        rows += part
        answered += as_answered
        described.append({"name": s.name, "questions": len(s.questions), "used": len(part), "keep_rule_questions": len(as_answered), "rows": int(sum(len(r.labels) for r in part)),
                          "positives": int(sum(r.labels.sum() for r in part)),
                          "corpus_fingerprint": corpus,
                          "questions_fingerprint": questions_fingerprint(s.questions),
                          "share": float((shares or {}).get(s.name, 1.0))})
    params = fit(rows, dict(shares or {}), c, model)
    params["tier_margin"] = TIER_MARGIN  # the keep rule is chosen under the same tier margin answers are given with
    params.update(keep_rule(params, answered, probabilities=out_of_fold(rows, dict(shares or {}), c, model, rated=answered)))
    settings = {"seed": SEED, "C": c, "model": model, **({"trees": TREES} if model == "trees" else {}), "features": list(FEATURES),
                "tier_margin": TIER_MARGIN, "keep_ratios": list(KEEP_RATIOS), "keep_mins": list(KEEP_MINS)}
    params["trained_on"] = {"sources": described, "settings": settings, "fingerprint": training_fingerprint(described, settings),
                            "seed": SEED, "C": c, "model": model, **({"trees": TREES} if model == "trees" else {}),
                            "features": list(FEATURES), "lifqa_version": __version__}
    return params


def run_training(golds: Sequence[tuple[str, str]], beirs: Sequence[str] = (), *, output: Any = None,
                 cache_root: str = "indexes/eval", shares: Mapping[str, float] | None = None, c: float = 1.0,
                 progress: Callable[[str, float], None] | None = None, model: str = "trees") -> dict[str, Any]:
    """What ``lifqa train-selector`` does: index each corpus once (cached), train, write the JSON parameters."""
    sets = [gold_training_set(gold, corpus, cache_root, progress) for gold, corpus in golds]
    sets += [beir_training_set(folder, cache_root, progress) for folder in beirs]
    if model not in MODELS:
        raise InputError(f"unknown selector model '{model}'. Valid models: {', '.join(MODELS)}")
    params = train_selector(sets, shares, c, model)
    write_params(params, output or DEFAULT_OUTPUT)
    return params
