"""lifqa train-span-reader at toy size: rows from the real index, fine-tuning, the epoch and threshold chosen on held
questions, the files written and checked; then the engine marks short answers with it. And the arithmetic that turns
gold answers into token targets and held answers into figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifqa.index.layout import file_sha256
from lifqa.train_span import MIN_SHOWN, Shown, answer_span, choose_rule, figures, token_targets


def test_answer_span_ignores_case_and_runs_of_whitespace():
    sentence = "Human LIF has the NCBI Gene  ID 3976, on chromosome 22."
    assert answer_span(sentence, ["gene id 3976"]) == (23, 36)
    assert sentence[23:36] == "Gene  ID 3976"
    assert answer_span(sentence, ["chromosome 7"]) is None
    assert answer_span(sentence, ["", "  "]) is None


def test_token_targets_point_at_the_span_or_at_no_answer():
    # [CLS] q [SEP] "Human" "LIF" "3976" [SEP]
    inside = np.array([False, False, False, True, True, True, False])
    offsets = np.array([[0, 0], [0, 3], [0, 0], [0, 5], [6, 9], [10, 14], [0, 0]])
    assert token_targets(offsets, inside, (6, 14)) == (4, 5)
    assert token_targets(offsets, inside, (11, 13)) == (5, 5)  # inside a token: that token
    assert token_targets(offsets, inside, None) == (0, 0)
    assert token_targets(offsets, inside, (10, 20)) is None  # truncation cut the answer off


def _shown(n_right: int, n_wrong: int, right_score: float, wrong_score: float,
           right_confidence: float = 1.0, wrong_confidence: float = 1.0) -> list[Shown]:
    return ([Shown(("3976",), "3976", right_score, True, True, right_confidence)] * n_right
            + [Shown(("3976",), "chromosome", wrong_score, True, True, wrong_confidence)] * n_wrong)


def test_figures_count_a_withheld_answer_as_zero_and_leave_it_out_of_precision():
    shown = _shown(6, 4, 0.9, 0.3) + [Shown(("3976",), None, 0.0, False, True)]
    at_half = figures(shown, 0.5)
    assert at_half["f1"] == pytest.approx(6 / 11, abs=1e-4) and at_half["shown_questions"] == 6
    assert at_half["precision"] == 1.0
    everything = figures(shown, 0.0)
    assert everything["precision"] == pytest.approx(0.6) and everything["f1_where_sentences_hold"] == pytest.approx(0.6)
    blocked = [Shown(("3976",), "3976", 0.9, True, False)]
    assert figures(blocked, 0.0)["shown"] == 0.0 and figures(blocked, 0.0, rule=False)["shown"] == 1.0


def test_threshold_is_the_best_f1_at_the_precision_asked_for_and_never_from_a_handful():
    shown = _shown(2 * MIN_SHOWN, 2, 0.97, 0.5) + _shown(0, 2 * MIN_SHOWN, 0.0, 0.15)
    rule = choose_rule(shown, 0.85)
    assert rule["precision_target_met"] and rule["precision"] >= 0.85 and 0.5 < rule["threshold"] <= 0.97
    few = _shown(3, 0, 0.999, 0.0) + _shown(0, 30, 0.0, 0.5)
    rule = choose_rule(few, 0.85)  # only 3 answers reach 0.85 precision: too few to choose on
    assert not rule["precision_target_met"] and rule["shown_questions"] >= MIN_SHOWN


def test_the_sentence_confidence_gates_where_the_span_probability_cannot_tell_right_from_wrong():
    # right and wrong spans score alike; the selector is surer of the sentences that hold the right ones
    shown = _shown(2 * MIN_SHOWN, 2 * MIN_SHOWN, 0.6, 0.6, right_confidence=0.97, wrong_confidence=0.5)
    assert choose_rule(shown, 0.85, confidences=(0.0,))["precision"] == 0.5  # the span threshold alone cannot
    rule = choose_rule(shown, 0.85)
    assert rule["precision_target_met"] and rule["precision"] == 1.0 and 0.5 < rule["confidence"] <= 0.97
    assert figures(shown, rule["threshold"], confidence=rule["confidence"])["shown_questions"] == 2 * MIN_SHOWN


def test_short_of_the_precision_asked_for_precision_still_comes_first_then_f1():
    # 0.80 precise on 10 shown (confidence gate), or 0.795 on 39 (no gate): equally precise within 0.01, far more F1
    sure = _shown(8, 2, 0.5, 0.5, right_confidence=0.99, wrong_confidence=0.99)
    unsure = _shown(23, 6, 0.5, 0.5, right_confidence=0.4, wrong_confidence=0.4)
    rule = choose_rule(sure + unsure, 0.85)
    assert not rule["precision_target_met"] and rule["shown_questions"] == 39 and rule["confidence"] == 0.0
    worse = _shown(20, 9, 0.5, 0.5, right_confidence=0.4, wrong_confidence=0.4)  # 0.72 precise without the gate
    rule = choose_rule(sure + worse, 0.85)
    assert rule["shown_questions"] == 10 and rule["precision"] == 0.8


@pytest.mark.slow
def test_trained_on_the_lif_train_split_it_marks_short_answers_through_the_engine(lif_index, engine, tmp_path, monkeypatch):
    from lifqa.answer import short
    from lifqa.gold import load_gold
    from lifqa.train import TrainingSet
    from lifqa.train_span import Recipe, train_span_reader

    gold = Path(__file__).resolve().parent.parent / "corpus" / "gold" / "lif_questions.jsonl"
    questions = tuple(q for q in load_gold(gold).questions if q.split == "train")
    weights, record = tmp_path / "span_reader.safetensors", tmp_path / "span_reader.json"
    trained = train_span_reader([TrainingSet("lif_questions", lif_index, questions)],
                                Recipe(layers=1, frozen_layers=0, max_length=64, epochs=1, batch=8), weights, record)
    info = json.loads(record.read_text(encoding="utf-8"))
    assert info["sha256"] == file_sha256(weights) and info["training"]["recipe"]["seed"] == 13
    assert trained["held_questions"] > 0 and trained["examples"]["answers"] > 0 and trained["examples"]["no_answer"] > 0
    assert 0.0 <= trained["threshold"] <= 1.0 and len(trained["epochs"]) == 1
    monkeypatch.setattr(short, "bundled_paths", lambda: (weights, record))
    monkeypatch.setattr(short, "_shared", {})
    answer = engine.with_settings(short_answer=True, short_answer_threshold=0.0, short_answer_confidence=0.0).ask("Which STAT transcription factor does LIF activate?")
    assert short._shared  # the trained reader read the answer sentences
    assert answer.short_answer is not None
    sentence = answer.sentences[answer.short_answer.sentence]
    assert sentence.text[answer.short_answer.char_start:answer.short_answer.char_end] == answer.short_answer.text
