"""Training the reranker: train splits only, reproducible, JSON parameters with a data fingerprint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lifqa.errors import InputError
from lifqa.answer.selector import FEATURES as SELECTOR_FEATURES
from lifqa.search.rerank import FEATURES, FeatureReranker
from lifqa.train import SEED, TrainingSet, _training_set, fit_logistic, train_reranker, unanswerable_elsewhere, write_params


def _train_questions(gold):
    questions = gold.split("train").questions
    answerable = [q for q in questions if q.answerable]
    return answerable[:8] + [q for q in questions if not q.answerable][:2], answerable[8:16]


def test_training_writes_reproducible_json_parameters(engine, lif_index, gold, tmp_path):
    first, second = _train_questions(gold)
    sets = [TrainingSet("lif-a", lif_index, tuple(first)), TrainingSet("lif-b", lif_index, tuple(second))]
    params = train_reranker(sets, cross_negatives=3, depth=10)
    again = train_reranker(sets, cross_negatives=3, depth=10)
    assert params == again  # fixed seed, same data: same parameters

    path = write_params(params, tmp_path / "reranker.json")
    raw = path.read_bytes()
    assert not raw.startswith(b"\x80") and json.loads(raw.decode("utf-8")) == json.loads(json.dumps(params))
    trained_on = params["trained_on"]
    assert len(trained_on["fingerprint"]) == 64 and trained_on["seed"] and trained_on["features"] == list(FEATURES)
    uses = {s["name"]: (s["use"], s["questions"], s["unanswerable"]) for s in trained_on["sources"]}
    assert uses == {"lif-a": ("ranking+support", 10, 2), "lif-b": ("ranking", 8, 0),
                    "lif-b-asked-of-lif-a": ("support", 3, 3)}
    assert 0 < params["support"]["threshold"] < 1

    reranker = FeatureReranker(json.loads(raw), engine.tokenizer)
    batch = engine.rerank_candidates("Which residues form LIF's disulfide bonds?", depth=10)
    scores, evidence = reranker.score_with_evidence(batch)
    support = reranker.support(evidence)
    assert scores.shape == (10,) and np.all((scores >= 0) & (scores <= 1)) and 0 <= support <= 1


def test_fingerprint_follows_the_training_data(lif_index, gold):
    first, second = _train_questions(gold)
    a = train_reranker([TrainingSet("lif", lif_index, tuple(first))], depth=5)
    b = train_reranker([TrainingSet("lif", lif_index, tuple(first[:-1]))], depth=5)
    assert a["trained_on"]["fingerprint"] != b["trained_on"]["fingerprint"]


def test_only_train_split_questions_are_used(gold):
    only_train = _training_set("lif", None, gold)
    assert only_train.questions and {q.split for q in only_train.questions} == {"train"}
    with pytest.raises(InputError, match="no 'train' questions"):
        _training_set("lif", None, gold.split("test"))


def test_questions_asked_elsewhere_become_unanswerable(gold):
    picked = unanswerable_elsewhere(gold.questions, 5)
    assert len(picked) == 5 and picked == unanswerable_elsewhere(gold.questions, 5)
    assert all(not q.answerable and not q.relevant_doc_ids and not q.answers for q in picked)


@pytest.mark.parametrize("name", ["reranker.json", "selector.json"])
def test_shipped_models_record_the_training_data_they_match(name):
    """The shipped parameters say what they were trained on; the LIF part is recomputed from the shipped gold file and
    corpus, so re-splitting or editing the gold set without retraining (make reranker / make selector) fails here."""
    from pathlib import Path

    from lifqa.gold import load_gold
    from lifqa.sources.fingerprint import corpus_fingerprint
    from lifqa.train import questions_fingerprint, training_fingerprint

    root = Path(__file__).resolve().parent.parent
    record = json.loads((root / "lifqa" / "data" / name).read_text(encoding="utf-8"))["trained_on"]
    assert record["fingerprint"] == training_fingerprint(record["sources"], record["settings"])
    assert record["settings"]["features"] == list(FEATURES if name == "reranker.json" else SELECTOR_FEATURES)
    lif = next(s for s in record["sources"] if s["name"] == "lif_questions")
    train_split = load_gold(root / "corpus" / "gold" / "lif_questions.jsonl").split("train").questions
    assert lif["questions_fingerprint"] == questions_fingerprint(train_split), f"retrain: make {name.split('.')[0]}"
    assert lif["corpus_fingerprint"] == corpus_fingerprint(root / "corpus")


def test_fit_logistic_exports_what_the_reranker_reads_and_fits_as_before():
    """One fit for the reranker, the abstention models and the logistic selector: the same scikit-learn
    arithmetic as each had inline, exported as the dict search.rerank._logistic scores with."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from lifqa.search.rerank import _logistic

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)) * [1.0, 5.0, 0.1] + [0.0, 2.0, -1.0]
    y = (x[:, 0] + 0.2 * x[:, 1] + rng.normal(size=200) > 0.5).astype(int)
    w = rng.uniform(0.5, 2.0, size=200)
    params, probability = fit_logistic(x, y, ("a", "b", "c"), c=0.5, weights=w)
    assert list(params) == ["features", "mean", "scale", "coef", "intercept"] and params["features"] == ["a", "b", "c"]
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=0.5, max_iter=2000, class_weight="balanced", random_state=SEED).fit(scaler.transform(x), y, sample_weight=w)
    assert params["coef"] == [float(v) for v in model.coef_[0]] and params["intercept"] == float(model.intercept_[0])
    assert np.array_equal(probability(x), model.predict_proba(scaler.transform(x))[:, 1])
    scored = _logistic(x, np.array(params["mean"]), np.array(params["scale"]), np.array(params["coef"]), params["intercept"])
    assert np.allclose(scored, probability(x), atol=1e-6)


def test_training_encodes_questions_with_the_variant_that_built_the_index(lif_index, gold, monkeypatch):
    """The shipped models are reproduced byte for byte from the indexes, so training must not follow the serving
    query encoder (ONNX Runtime fp32 for a bf16 index), whose vectors are a rounding apart."""
    import lifqa.train_selector as selector_module
    from lifqa.engine import Engine

    opened = []
    real_open = Engine.open

    def recording_open(*args, **kwargs):
        engine = real_open(*args, **kwargs)
        opened.append(engine)
        return engine

    monkeypatch.setattr(Engine, "open", recording_open)
    first, second = _train_questions(gold)
    train_reranker([TrainingSet("lif-a", lif_index, tuple(first))], cross_negatives=0, depth=5)
    selector_module.answered_rows([TrainingSet("lif-a", lif_index, tuple(first[:3]))])
    assert len(opened) >= 2
    assert all(e.encoder.variant == e.manifest["encoder"]["variant"] for e in opened)
