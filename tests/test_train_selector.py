"""Selector training: how sentences are labelled, and the keep rule chosen under the length budget."""

from __future__ import annotations

import pytest

import numpy as np

from lifqa.gold import GoldQuestion
from lifqa.answer.selector import FEATURES
from lifqa.answer.sentences import Candidate, SentenceType
from lifqa.train_selector import out_of_fold, QuestionRows, fit, holds_answer, keep_rule


def test_a_sentence_holds_the_gold_answer_whole_inside_or_by_its_opening():
    assert holds_answer("The incubation period is  5.2 days on average.", ["5.2 days"])
    long_span = "by strongly limiting virus genome sizes and their incorporation of new information, which restricts infectivity"
    assert holds_answer("by strongly limiting virus genome sizes and their incorporation of new information,", [long_span])
    assert holds_answer("They act by strongly limiting virus genome sizes and their incorporation of new information, which "
                        "restricts infectivity in many ways.", [long_span])
    assert not holds_answer("Viruses are small.", ["5.2 days"]) and not holds_answer("x", [" "])


def _rows(rng, n, source, words_before):
    rows = []
    for q in range(n):
        good = rng.integers(0, 4)
        cands = [Candidate(f"sentence {q} {i} " + ("answer " if i == good else "") + "word " * 10, 0, 10, None, 1, 1, 0.5,
                           "unknown", SentenceType.PROSE, i, 4) for i in range(4)]
        feats = rng.normal(size=(4, len(FEATURES))).astype(np.float32)
        feats[good, 0] += 3.0  # the first feature tells the answer apart
        labels = np.asarray([int(i == good) for i in range(4)])
        rows.append(QuestionRows(GoldQuestion(f"{source}{q}", "q?", ("d",), ("answer",)), cands, feats, labels, source, words_before, False))
    return rows


@pytest.mark.slow
def test_fit_and_keep_rule_stay_within_every_sources_length_budget():
    rng = np.random.default_rng(13)
    rows = _rows(rng, 60, "big", 40) + _rows(rng, 10, "small", 14)
    params = fit(rows, {}, model="logistic")
    assert params["features"] == list(FEATURES) and params["coef"][0] > 0
    rule = keep_rule(params, rows)
    assert rule["train_hit"] > 0.9 and rule["max_sentences"] in (2, 3)
    assert rule["baseline_words"] == 27.0 and rule["train_words"] <= 27.0
    # the default model, boosted trees, with the keep rule chosen on out-of-fold probabilities
    trees = fit(rows, {})
    assert trees["model"] == "trees" and trees["features"] == list(FEATURES)
    held_out = out_of_fold(rows, {}, 1.0, "trees")
    assert [len(p) for p in held_out] == [len(r.labels) for r in rows]
    rule = keep_rule(trees, rows, probabilities=held_out)
    assert rule["train_hit"] > 0.9 and rule["train_words"] <= 27.0


@pytest.mark.slow
def test_the_keep_rule_is_chosen_on_every_question_as_answered_with_held_out_probabilities():
    rng = np.random.default_rng(13)
    fitted = _rows(rng, 60, "big", 40)
    # as answered: the same questions with more passages' sentences, and ten whose passages hold no answer
    answered = [QuestionRows(r.question, r.candidates * 2, np.vstack([r.features, r.features]), np.concatenate([r.labels, r.labels]),
                             r.source, r.baseline_words, False) for r in fitted]
    unanswered = _rows(np.random.default_rng(7), 10, "big", 40)
    for r in unanswered:
        r.labels[:] = 0
        r.candidates[:] = [Candidate(c.text.replace("answer ", ""), 0, 10, None, 1, 1, 0.5, "unknown", SentenceType.PROSE, i, 4)
                           for i, c in enumerate(r.candidates)]
    answered += unanswered
    held_out = out_of_fold(fitted, {}, 1.0, "trees", rated=answered)
    assert [len(p) for p in held_out] == [len(r.labels) for r in answered]
    rule = keep_rule(fit(fitted, {}), answered, probabilities=held_out)
    assert 0.7 < rule["train_hit"] <= 60 / 70  # a question whose passages hold no answer counts as a miss
