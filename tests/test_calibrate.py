"""Per-corpus abstention: lifqa calibrate fits a threshold on labelled questions and stores it with the index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lifqa.calibrate import calibrate_index, fit_threshold
from lifqa.search.rerank import CALIBRATION, read_calibration
from lifqa.errors import InputError


def test_threshold_sits_between_answerable_and_unanswerable_scores():
    assert fit_threshold([0.9, 0.8, 0.95], [0.1, 0.3], 0.0) == pytest.approx(0.55)
    # one answerable question of 20 may abstain at 5 %: the ceiling moves to the second lowest
    assert fit_threshold([0.2] + [0.9] * 19, [0.1], 0.05) == pytest.approx(0.5)
    # negatives above the ceiling cannot be excluded without wrong abstentions: they are answered
    assert fit_threshold([0.6, 0.7], [0.1, 0.8], 0.0) == pytest.approx(0.35)
    with pytest.raises(InputError, match="no answerable questions"):
        fit_threshold([], [0.1], 0.05)


def _gold(path, with_unanswerable=True):
    rows = [
        {"id": "a", "question": "What is the UniProt accession of LIF?", "relevant_doc_ids": ["002_ce8a4941deb8f87d"]},
        {"id": "b", "question": "Which receptor subunit does LIF share with IL-6?", "relevant_doc_ids": ["000_b2d3b1681d340735"]},
        {"id": "c", "question": "On which chromosome is the LIF gene?", "relevant_doc_ids": ["000_b2d3b1681d340735"]},
    ]
    if with_unanswerable:
        rows += [{"id": "x", "question": "Who won the 2014 FIFA World Cup final?", "answerable": False},
                 {"id": "y", "question": "How do I bake sourdough bread?", "answerable": False}]
    path.write_text("".join(json.dumps({**r, "split": "train"}) + "\n" for r in rows), encoding="utf-8")
    return path


def test_calibration_is_stored_with_the_index_and_used_by_ask(lif_index, tmp_path):
    import lifqa

    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    result = calibrate_index(index, _gold(tmp_path / "gold.jsonl"), max_wrong_abstention=0.0)
    assert result.answerable == 3 and result.unanswerable == 2 and result.negatives == "gold file"
    assert result.wrong_abstention == 0.0 and result.abstention_accuracy == 1.0
    stored = read_calibration(index)
    assert stored["threshold"] == result.threshold and (index / CALIBRATION).is_file()
    engine = lifqa.open(str(index))
    assert engine.abstain_threshold == result.threshold
    assert not engine.ask("What is the UniProt accession of LIF?").abstained
    assert engine.ask("Who won the 2014 FIFA World Cup final?").abstained
    assert lifqa.open(str(index), use_calibration=False).abstain_threshold == engine.feature_reranker.abstain_threshold
    assert lifqa.open(str(index), abstain_threshold=0.99).abstain_threshold == 0.99
    (index / CALIBRATION).write_text("{broken", encoding="utf-8")
    assert lifqa.open(str(index)).abstain_threshold == engine.feature_reranker.abstain_threshold


def test_without_unanswerable_questions_off_topic_ones_set_the_floor(lif_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    result = calibrate_index(index, _gold(tmp_path / "gold.jsonl", with_unanswerable=False), max_wrong_abstention=0.0)
    assert result.negatives == "off-topic questions" and result.unanswerable >= 30
    assert result.abstention_accuracy >= 0.9 and result.wrong_abstention == 0.0


def test_cli_calibrate_and_clear_errors(lif_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    run = lambda *a: subprocess.run([sys.executable, "-m", "lifqa.cli", "calibrate", *a], capture_output=True, text=True, timeout=300)  # noqa: E731
    ok = run("--gold", str(_gold(tmp_path / "gold.jsonl")), "--index", str(index))
    assert ok.returncode == 0, ok.stderr
    assert "abstention threshold" in ok.stdout and (index / CALIBRATION).is_file()
    missing = run("--gold", str(tmp_path / "nope.jsonl"), "--index", str(index))
    assert missing.returncode != 0 and "gold file not found" in missing.stderr and "Traceback" not in missing.stderr
    held_out = tmp_path / "held_out.jsonl"  # the default split is train: test questions are never fitted on unasked
    held_out.write_text(_gold(tmp_path / "g2.jsonl").read_text(encoding="utf-8").replace('"train"', '"test"'), encoding="utf-8")
    refused = run("--gold", str(held_out), "--index", str(index))
    assert refused.returncode == 2 and "no answerable questions in split 'train'" in refused.stderr and "--split all" in refused.stderr


def test_enough_labelled_questions_refit_the_abstention_model_for_this_corpus(lif_index, tmp_path):
    import lifqa
    from lifqa.gold import load_gold

    GOLD = Path(__file__).resolve().parent.parent / "corpus" / "gold" / "lif_questions.jsonl"
    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    gold = tmp_path / "answerable.jsonl"
    rows = [{"id": q.id, "question": q.question, "relevant_doc_ids": list(q.relevant_doc_ids)}
            for q in load_gold(GOLD).split("train").questions if q.answerable]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = calibrate_index(index, gold, max_wrong_abstention=0.05)
    assert result.support is not None and result.negatives == "off-topic questions"
    assert result.wrong_abstention <= 0.05 and result.abstention_accuracy >= 0.9
    engine = lifqa.open(str(index))
    assert engine.support.model == result.support
    assert engine.ask("How do I bake sourdough bread?").abstained
    assert not engine.ask("Which receptor subunit does LIF share with IL-6?").abstained
    assert lifqa.open(str(index), use_calibration=False).support.model is None


def test_the_refitted_model_reads_the_best_answer_sentence_and_old_calibrations_still_apply(lif_index, tmp_path):
    import lifqa
    from lifqa.search.rerank import CALIBRATED_SUPPORT_FEATURES, SUPPORT_FEATURES

    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    engine = lifqa.open(str(index), use_calibration=False)
    shipped = engine.feature_reranker.params["support"]
    question = "Which receptor subunit does LIF share with IL-6?"
    row = engine.support_row(question)
    assert row.shape == (len(CALIBRATED_SUPPORT_FEATURES),) and row[-1] > 0  # the best answer sentence's score
    # a calibrated model that weighs only the best answer sentence: its support follows that score, not retrieval
    only_answer = {"features": list(CALIBRATED_SUPPORT_FEATURES), "mean": [0.0] * 5, "scale": [1.0] * 5,
                   "coef": [0.0, 0.0, 0.0, 0.0, 4.0], "intercept": -4.0 * float(row[-1]), "threshold": 0.4}
    (index / CALIBRATION).write_text(json.dumps({"threshold": 0.4, "support": only_answer}), encoding="utf-8")
    answer = lifqa.open(str(index)).ask(question)
    assert answer.support == pytest.approx(0.5, abs=0.01) and not answer.abstained
    # a calibration written before the answer evidence (the shipped four features) still loads and applies
    legacy = {key: shipped[key] for key in ("mean", "scale", "coef", "intercept")} | {"features": list(SUPPORT_FEATURES)}
    (index / CALIBRATION).write_text(json.dumps({"threshold": 0.3, "support": legacy}), encoding="utf-8")
    reopened = lifqa.open(str(index))
    assert reopened.support.model["features"] == list(SUPPORT_FEATURES)
    assert reopened.ask(question).support == pytest.approx(engine.ask(question).support, abs=1e-4)


def test_negatives_from_another_corpus_join_the_floor(lif_index, tmp_path):
    """Questions of another corpus (BEIR queries.jsonl, gold JSONL or plain lines) raise the floor: the
    threshold can only stay or rise, and they are counted among the unanswerable questions."""
    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    gold = _gold(tmp_path / "gold.jsonl", with_unanswerable=False)
    plain = calibrate_index(index, gold, max_wrong_abstention=0.0)
    other = tmp_path / "queries.jsonl"
    claims = ["Vitamin D supplementation lowers the risk of hip fracture in older women.",
              "Statins reduce LDL cholesterol in patients with type 2 diabetes.",
              "Aspirin use is associated with a lower incidence of colorectal cancer."]
    other.write_text("".join(json.dumps({"_id": str(i), "text": c}) + "\n" for i, c in enumerate(claims)), encoding="utf-8")
    result = calibrate_index(index, gold, max_wrong_abstention=0.0, negatives_file=other)
    assert result.unanswerable == plain.unanswerable + 3 and "3 from queries.jsonl" in result.negatives
    assert result.threshold >= plain.threshold and result.wrong_abstention == 0.0
    lines = tmp_path / "claims.txt"
    lines.write_text("\n".join(claims) + "\n\n", encoding="utf-8")
    assert calibrate_index(index, gold, max_wrong_abstention=0.0, negatives_file=lines).unanswerable == result.unanswerable


def test_bad_negatives_file_is_a_clear_error_and_keeps_the_calibration(lif_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(lif_index, index)
    gold = _gold(tmp_path / "gold.jsonl", with_unanswerable=False)
    calibrate_index(index, gold)
    before = (index / CALIBRATION).read_text(encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": \n', encoding="utf-8")
    run = lambda *a: subprocess.run([sys.executable, "-m", "lifqa.cli", "calibrate", *a], capture_output=True, text=True, timeout=300)  # noqa: E731
    broken = run("--gold", str(gold), "--index", str(index), "--negatives", str(bad))
    assert broken.returncode != 0 and "bad.jsonl, line 2: not valid JSON" in broken.stderr and "Traceback" not in broken.stderr
    missing = run("--gold", str(gold), "--index", str(index), "--negatives", str(tmp_path / "nope.jsonl"))
    assert missing.returncode != 0 and "negatives file not found" in missing.stderr
    assert (index / CALIBRATION).read_text(encoding="utf-8") == before
