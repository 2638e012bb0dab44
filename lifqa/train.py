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
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from lifqa import __version__
from lifqa.errors import InputError
from lifqa.eval_cache import DEFAULT_CACHE, cached_index
from lifqa.gold import GoldQuestion, GoldSet, load_beir, load_gold
from lifqa.search.rerank import FEATURES, SUPPORT_FEATURES, _logistic, feature_matrix, support_features
from lifqa.settings import make_settings

SEED = 13
# Training reads questions encoded by the variant that built each index, not by the faster query encoder the engine
# serves with (query_encoder=auto: fp32 for a bf16 index, a rounding apart). The shipped models stay reproducible byte
# for byte from the indexes; serving with either encoder gives the same answers (BENCHMARKS.md, "The first answer of a
# fresh process"), while a selector refitted on the fp32 encodings moves its out-of-fold train hit by 0.014 either way
# of noise, as gradient-boosted trees do on slightly different rows.
TRAINING_QUERY_ENCODER = "build"
log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    features: np.ndarray
    labels: np.ndarray
    question_index: np.ndarray  # which question each row came from
    answerable: np.ndarray  # per question


def collect(engine: Any, questions: Iterable[GoldQuestion], depth: int = 30) -> TrainingData:
    """Feature rows for the hybrid candidates of every question, labelled from the gold data."""
    questions = list(questions)
    rows, labels, owners = [], [], []
    for qi, (q, question) in enumerate(zip(questions, engine.questions([q.question for q in questions]))):
        batch = engine.rerank_candidates(question, depth)
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
    )


def fit_logistic(features: np.ndarray, labels: np.ndarray, names: Sequence[str], c: float,
                 weights: np.ndarray | None = None, max_iter: int = 2000) -> tuple[dict[str, Any], Callable[[np.ndarray], np.ndarray]]:
    """A class-balanced logistic regression on standardised features, exported as the
    ``{features, mean, scale, coef, intercept}`` dict that lifqa.search.rerank reads (the reranker, the
    abstention model, a corpus's calibrated one, the logistic selector); also the fitted model's
    probability of class 1 for rows, as scikit-learn computes it."""
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced", random_state=SEED)
    model.fit(scaler.transform(features), labels, sample_weight=weights)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    params = {
        "features": list(names),
        "mean": [float(x) for x in scaler.mean_],
        "scale": [float(x) for x in scale],
        "coef": [float(x) for x in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
    }
    return params, lambda rows: model.predict_proba(scaler.transform(rows))[:, 1]


def fit(data: TrainingData, c: float = 1.0, weights: np.ndarray | None = None) -> dict[str, Any]:
    return fit_logistic(data.features, data.labels, FEATURES, c, weights)[0]


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
    params, probability = fit_logistic(rows, data.answerable.astype(int), SUPPORT_FEATURES, c)
    probs = probability(rows)
    answerable, unanswerable = np.sort(probs[data.answerable]), np.sort(probs[~data.answerable])
    allowed_misses = int(np.floor(max_wrong_abstention * len(answerable)))
    ceiling = float(answerable[allowed_misses]) if len(answerable) else 0.5
    below = unanswerable[unanswerable < ceiling]
    floor = float(below.max()) if len(below) else 0.0
    params["threshold"] = round((floor + ceiling) / 2, 4)
    return params


def untrained_params() -> dict[str, Any]:
    """Parameters of the right shape that score every candidate alike: what an engine runs with while
    collecting training rows, so training works even when the shipped file predates a feature change."""
    def model(features: Sequence[str]) -> dict[str, Any]:
        n = len(features)
        return {"features": list(features), "mean": [0.0] * n, "scale": [1.0] * n, "coef": [0.0] * n, "intercept": 0.0}

    return {**model(FEATURES), "support": {**model(SUPPORT_FEATURES), "threshold": 0.5}, "trained_on": {}}


def merge(parts: Sequence[TrainingData]) -> TrainingData:
    offsets = np.cumsum([0] + [len(p.answerable) for p in parts[:-1]])
    return TrainingData(
        features=np.concatenate([p.features for p in parts]).reshape(-1, len(FEATURES)),
        labels=np.concatenate([p.labels for p in parts]),
        question_index=np.concatenate([p.question_index + offset for p, offset in zip(parts, offsets)]),
        answerable=np.concatenate([p.answerable for p in parts]),
    )


def source_weights(parts: Sequence[TrainingData], shares: Sequence[float]) -> np.ndarray:
    """Row weights giving each source a total weight proportional to its share (by default all
    equal), so a small in-domain set is not drowned by a large one."""
    weights = np.concatenate([np.full(len(p.labels), share / max(1, len(p.labels))) for p, share in zip(parts, shares)])
    return weights / weights.mean()


def questions_fingerprint(questions: Iterable[GoldQuestion]) -> str:
    """sha256 of the questions a model learns from (id, wording, relevant documents, answers, answerability,
    split), in id order: what a test recomputes from the shipped gold file to show the shipped model is current."""
    rows = sorted([q.id, q.question, sorted(q.relevant_doc_ids), list(q.answers), [list(p) for p in q.answer_parts],
                   q.answerable, q.split, sorted(q.relevance.items())] for q in questions)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


_FINGERPRINTED = ("name", "corpus_fingerprint", "questions_fingerprint", "use", "weight", "share")


def training_fingerprint(sources: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> str:
    """sha256 of what a model is trained from: each source's corpus and questions and how it is used, and the
    training settings. It does not depend on the encoder's arithmetic, so it can be recomputed without an index."""
    kept = [{key: source[key] for key in _FINGERPRINTED if key in source} for source in sources]
    return hashlib.sha256(json.dumps({"sources": kept, "settings": settings}, sort_keys=True).encode()).hexdigest()


def default_threshold(support: Mapping[str, Any], parts: Mapping[str, TrainingData], max_wrong: float) -> dict[str, Any]:
    """The abstention threshold of an index nobody calibrated: the largest that keeps wrong abstentions within
    ``max_wrong`` on each named source's answerable train questions. A user's first corpus is never calibrated, so
    the default must hold on the corpus it fits worst, not on the pooled questions."""
    model = [np.asarray(support[key], dtype=np.float64) for key in ("mean", "scale", "coef")]
    ceilings = {}
    for name, data in parts.items():
        probs = np.sort(_logistic(question_support_rows(data)[data.answerable], *model, float(support["intercept"])))
        ceilings[name] = round(float(probs[int(np.floor(max_wrong * len(probs)))]), 4)
    return {"threshold": min(ceilings.values()),
            "threshold_fitted": {"rule": f"largest threshold with wrong abstention <= {max_wrong} on each of these sources' "
                                         "answerable train questions", "ceilings": ceilings}}


def train(sources: list[tuple[Any, list[GoldQuestion], str]], depth: int = 30, c: float = 1.0,
          support_only: Sequence[tuple[Any, list[GoldQuestion], str]] = (), weights: Mapping[str, float] | None = None,
          support_from: Sequence[str] | None = None, max_wrong_abstention: float = 0.05,
          threshold_from: Sequence[str] = (), default_max_wrong: float = 0.07) -> dict[str, Any]:
    """Fit on several (engine, questions, name) sources at once; returns the JSON-ready parameters.

    ``weights`` gives sources (by name) their share of the ranking fit; unnamed ones get 1.
    ``support_only`` sources (typically questions of other corpora asked of this one, i.e.
    unanswerable) train the abstention model only, not the passage ranking. The abstention
    model learns from the sources named in ``support_from`` (default: all) plus ``support_only``. With
    ``threshold_from``, the shipped threshold is set by ``default_threshold`` over those sources.
    """
    weights = dict(weights or {})
    unknown = sorted(set(weights) - {name for _, _, name in sources})
    if unknown:
        raise InputError(f"--weight names unknown source(s) {', '.join(unknown)}; sources: {', '.join(name for _, _, name in sources)}")
    unknown = sorted(set(threshold_from) - {name for _, _, name in sources})
    if unknown:
        raise InputError(f"--threshold-from names unknown source(s) {', '.join(unknown)}; sources: {', '.join(name for _, _, name in sources)}")
    ranked = [(collect(engine, questions, depth), name, engine, questions) for engine, questions, name in sources]
    extra = [(collect(engine, questions, depth), name, engine, questions) for engine, questions, name in support_only]
    rank_data = merge([r[0] for r in ranked])
    shares = [float(weights.get(r[1], 1.0)) for r in ranked]
    params = fit(rank_data, c, source_weights([r[0] for r in ranked], shares) if len(ranked) > 1 else None)
    support_names = {name for _, _, name in sources} if support_from is None else set(support_from)
    support_parts = [r[0] for r in ranked if r[1] in support_names] + [x[0] for x in extra]
    params["support"] = fit_support(merge(support_parts), max_wrong_abstention)
    if threshold_from:
        params["support"].update(default_threshold(params["support"], {r[1]: r[0] for r in ranked if r[1] in threshold_from},
                                                   default_max_wrong))
    described = []
    for (data, name, engine, questions), in_ranking in [(r, True) for r in ranked] + [(x, False) for x in extra]:
        described.append({"name": name, "questions": int(len(data.answerable)), "unanswerable": int((~data.answerable).sum()),
                          "rows": int(len(data.labels)), "positives": int(data.labels.sum()),
                          "corpus_fingerprint": getattr(engine, "manifest", {}).get("corpus", {}).get("fingerprint", ""),
                          "questions_fingerprint": questions_fingerprint(questions),
                          "use": ("ranking+support" if name in support_names else "ranking") if in_ranking else "support",
                          "weight": float(weights.get(name, 1.0)) if in_ranking else 0.0})
    settings = {"seed": SEED, "depth": depth, "C": c, "features": list(FEATURES), "support_features": list(SUPPORT_FEATURES),
                "max_wrong_abstention": max_wrong_abstention, "threshold_from": sorted(threshold_from),
                "default_max_wrong": default_max_wrong if threshold_from else None}
    params["trained_on"] = {
        "sources": described,
        "settings": settings,
        "fingerprint": training_fingerprint(described, settings),
        "seed": SEED,
        "depth": depth,
        "C": c,
        "features": list(FEATURES),
        "lifqa_version": __version__,
    }
    return params


# ---- the reproducible training run (``lifqa train-reranker``) --------------------
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "reranker.json"
TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class TrainingSet:
    """Training-split questions and the index of the corpus they are about."""

    name: str
    index: Path
    questions: tuple[GoldQuestion, ...]
    # whether its answerable questions bound the shipped abstention threshold: lifqa gold questions do; BEIR queries
    # (SciFact's claims) are not questions a researcher asks, and abstaining on them is not wrong in the same way
    bounds_threshold: bool = True


def gold_training_set(gold: str | Path, corpus: str | Path, cache_root: str | Path = DEFAULT_CACHE,
                      progress: Callable[[str, float], None] | None = None) -> TrainingSet:
    """The ``train`` split of a lifqa gold file over its corpus (folder or BEIR corpus.jsonl)."""
    from lifqa.engine import Engine

    index = cached_index(corpus, make_settings(), cache_root, progress)
    engine = Engine.open(index, verify=False, reranker_params=untrained_params(), query_encoder=TRAINING_QUERY_ENCODER)
    known = set(engine.store.sources)
    gold_set = load_gold(gold, known_doc_ids=known)
    for error in gold_set.errors:
        log.warning("skipped %s", error)
    gold = Path(gold)
    return _training_set(gold.stem if gold.stem not in ("gold", "questions") else gold.parent.name, index, gold_set)


def beir_training_set(folder: str | Path, cache_root: str | Path = DEFAULT_CACHE,
                      progress: Callable[[str, float], None] | None = None) -> TrainingSet:
    """The ``train`` qrels of a BEIR folder."""
    folder = Path(folder)
    gold_set = load_beir(folder, TRAIN_SPLIT)
    index = cached_index(folder / "corpus.jsonl", make_settings(), cache_root, progress)
    return replace(_training_set(folder.name, index, gold_set), bounds_threshold=False)


def _training_set(name: str, index: Path, gold_set: GoldSet) -> TrainingSet:
    questions = tuple(q for q in gold_set.questions if q.split == TRAIN_SPLIT)  # never test or dev questions
    if not questions:
        raise InputError(f"{gold_set.source} has no '{TRAIN_SPLIT}' questions to train on")
    return TrainingSet(name, index, questions)


def unanswerable_elsewhere(questions: Sequence[GoldQuestion], limit: int, seed: int = SEED) -> list[GoldQuestion]:
    """A seeded sample of questions relabelled as unanswerable, for asking them of another corpus."""
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(questions), size=min(limit, len(questions)), replace=False)) if questions else []
    return [replace(questions[i], relevant_doc_ids=(), answers=(), answerable=False, relevance={}) for i in picked]


def train_reranker(sets: Sequence[TrainingSet], *, cross_negatives: int = 300, depth: int = 30, c: float = 1.0,
                   weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Fit the reranker on every set; fit the abstention model on the first set plus up to
    ``cross_negatives`` questions of each other set asked of the first set's corpus, where they
    have no answer.

    The abstention model sees only questions asked of the first corpus because its evidence
    (best sentence cosine, idf coverage) is relative to a corpus: answerable SciFact claims score
    far higher coverage against SciFact than LIF questions do against the LIF documents, and mixing
    them put the LIF threshold above answerable LIF questions. Its threshold sits below every
    answerable training question (``max_wrong_abstention=0``): with a few dozen of them a 5 %
    budget is one question, and the cross-corpus negatives keep the threshold from going low
    (in a split of them, 1 % of the held-out half was answered either way)."""
    from lifqa.engine import Engine

    if not sets:
        raise InputError("give at least one training set (--gold FILE CORPUS or --beir DIR)")
    engines = [Engine.open(s.index, reranker_params=untrained_params(), query_encoder=TRAINING_QUERY_ENCODER) for s in sets]
    sources = [(engine, list(s.questions), s.name) for engine, s in zip(engines, sets)]
    primary = sets[0]
    support_only = [(engines[0], unanswerable_elsewhere(s.questions, cross_negatives), f"{s.name}-asked-of-{primary.name}")
                    for s in sets[1:] if cross_negatives > 0]
    return train(sources, depth, c, support_only=support_only, weights=weights, support_from=[primary.name],
                 max_wrong_abstention=0.0, threshold_from=[s.name for s in sets if s.bounds_threshold])


def parse_weights(pairs: Iterable[str]) -> dict[str, float]:
    """``["scifact=2"]`` -> ``{"scifact": 2.0}``."""
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weight = float(value)
        except ValueError:
            raise InputError(f"--weight {pair!r}: write NAME=NUMBER, e.g. --weight scifact=2") from None
        if weight < 0:
            raise InputError(f"--weight {pair!r}: a weight cannot be negative")
        out[name.strip()] = weight
    return out


def write_params(params: dict[str, Any], path: str | Path = DEFAULT_OUTPUT) -> Path:
    """JSON (never pickle), written to a temporary file and renamed so a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def run_training(golds: Sequence[tuple[str | Path, str | Path]], beirs: Sequence[str | Path] = (), *,
                 output: str | Path = DEFAULT_OUTPUT, cache_root: str | Path = DEFAULT_CACHE, cross_negatives: int = 300,
                 depth: int = 30, c: float = 1.0, weights: Mapping[str, float] | None = None,
                 progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """What ``lifqa train-reranker`` does: index each corpus once (cached), train, write the JSON parameters."""
    sets = [gold_training_set(gold, corpus, cache_root, progress) for gold, corpus in golds]
    sets += [beir_training_set(folder, cache_root, progress) for folder in beirs]
    params = train_reranker(sets, cross_negatives=cross_negatives, depth=depth, c=c, weights=weights)
    write_params(params, output)
    return params


def source_commit() -> str:
    """The commit of the lifqa checkout this runs from, read from .git (no git process), or "unknown"."""
    git = Path(__file__).resolve().parent.parent / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        if (git / ref).is_file():
            return (git / ref).read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"
