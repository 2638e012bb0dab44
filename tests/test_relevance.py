"""The relevance model's files: what is saved loads back to the same scores; a damaged file is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lifqa.errors import SettingsError
from lifqa.index.layout import file_sha256
from lifqa.relevance import RelevanceModel

pytestmark = pytest.mark.slow

SENTENCES = ["LIF binds the LIF receptor and gp130.", "The weather was fine.", "Mice were housed in cages."]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import torch

    folder = tmp_path_factory.mktemp("relevance")
    model = RelevanceModel.from_bundled(layers=2, frozen_layers=1, max_length=48, seed=3)
    with torch.no_grad():  # a trained-looking head and a changed top layer, so the round trip checks real numbers
        model.head.weight.normal_(0, 0.5)
        model.body.encoder.layer[1].output.dense.bias.add_(0.1)
    model.save(folder / "m.safetensors", folder / "m.json", {"seed": 3})
    return folder, model


def test_saved_model_scores_the_same_after_loading(saved):
    folder, model = saved
    model.bf16 = False
    loaded = RelevanceModel.load(folder / "m.safetensors", folder / "m.json", bf16=False)
    before = model.scores("Which receptor does LIF bind?", SENTENCES)
    after = loaded.scores("Which receptor does LIF bind?", SENTENCES)
    assert np.allclose(before, after, atol=2e-2)  # fp16 storage
    assert float(np.std(after)) > 0  # the head is not a constant


def test_the_graph_scores_what_the_torch_model_scores(saved, tmp_path, monkeypatch):
    """Answering runs the model's exported ONNX graph; its scores must be the torch model's (fp32 both), so the
    combiner and keep rule fitted on torch scores hold. A changed delta file is refused before its graph is used."""
    from lifqa.relevance import GraphRelevanceModel

    monkeypatch.setenv("LIFQA_MODEL_CACHE", str(tmp_path / "models"))
    folder, _ = saved
    graph = GraphRelevanceModel.load(folder / "m.safetensors", folder / "m.json")
    in_torch = RelevanceModel.load(folder / "m.safetensors", folder / "m.json", bf16=False)
    question = "Which receptor does LIF bind?"
    texts = SENTENCES + ["x " * 300]  # one truncated to the model's input length
    assert np.allclose(graph.scores(question, texts, batch_size=2), in_torch.scores(question, texts), atol=1e-4)
    assert list((tmp_path / "models").glob("relevance-*/model.onnx"))
    damaged = tmp_path / "m.safetensors"
    damaged.write_bytes((folder / "m.safetensors").read_bytes()[:-4] + b"0000")
    with pytest.raises(SettingsError, match="does not match the sha256"):
        GraphRelevanceModel.load(damaged, folder / "m.json").scores(question, SENTENCES)


def test_only_the_fine_tuned_layers_and_head_are_saved(saved):
    from safetensors import safe_open

    folder, _ = saved
    with safe_open(str(folder / "m.safetensors"), "np") as handle:
        names = list(handle.keys())
    assert names and all(n.startswith(("body.encoder.layer.1.", "head.")) for n in names)


def test_damaged_file_is_refused_by_name(saved, tmp_path):
    folder, _ = saved
    damaged = tmp_path / "m.safetensors"
    data = bytearray((folder / "m.safetensors").read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(SettingsError, match="m.safetensors does not match the sha256 in m.json"):
        RelevanceModel.load(damaged, folder / "m.json")


def test_missing_file_and_bad_record_are_clear_errors(saved, tmp_path):
    folder, _ = saved
    with pytest.raises(SettingsError, match="missing.safetensors is missing"):
        RelevanceModel.load(tmp_path / "missing.safetensors", folder / "m.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match="bad.json is unreadable"):
        RelevanceModel.load(folder / "m.safetensors", tmp_path / "bad.json")


def test_trained_on_the_lif_train_split_it_answers_through_the_engine(lif_index, engine, tmp_path, monkeypatch):
    """lifqa train-cross-encoder's whole path at toy size: rows from the real index, fine-tuning, the combiner and keep
    rule fitted on held questions, the files written and checked; then the engine answers with answer_model=relevance."""
    from lifqa import relevance
    from lifqa.gold import load_gold
    from lifqa.train import TrainingSet
    from lifqa.train_relevance import Recipe, train_relevance

    questions = tuple(q for q in load_gold(_gold_file()).questions if q.split == "train")
    weights, record = tmp_path / "relevance.safetensors", tmp_path / "relevance.json"
    trained = train_relevance([TrainingSet("lif_questions", lif_index, questions)],
                              Recipe(layers=1, frozen_layers=0, max_length=64, epochs=0.5, per_step=4), weights, record)
    info = json.loads(record.read_text(encoding="utf-8"))
    assert info["sha256"] == file_sha256(weights) and info["training"]["recipe"]["seed"] == 13
    assert set(trained["held_top1"]) >= {"heuristic", "combined"} and trained["held_questions"] > 0
    assert {"keep_ratio", "keep_min", "max_sentences"} <= set(trained["keep_rule"])
    monkeypatch.setattr(relevance, "bundled_paths", lambda: (weights, record))
    monkeypatch.setattr(relevance, "_shared", {})
    monkeypatch.setenv("LIFQA_MODEL_CACHE", str(tmp_path / "models"))  # the toy model's graph is exported here
    answer = engine.with_settings(answer_model="relevance").ask("Which receptor subunit does LIF share with IL-6?")
    assert relevance._shared  # the trained model rated the sentences
    assert not answer.abstained and answer.sentences
    for sentence in answer.sentences:
        cited = answer.citations[sentence.citation_keys[0] - 1]
        assert cited.text[sentence.char_start:sentence.char_end] == sentence.text


def test_the_build_exports_a_trained_relevance_model_and_is_silent_without_one(saved, tmp_path, monkeypatch, caplog):
    """The relevance model is not shipped: a build without one exports the span reader only and warns of nothing; with
    one (make cross-encoder writes it where bundled_paths points), its graph is exported too."""
    import logging

    from lifqa import relevance
    from lifqa.index.build import export_answer_graphs

    monkeypatch.setenv("LIFQA_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setattr(relevance, "bundled_paths", lambda: (tmp_path / "none.safetensors", tmp_path / "none.json"))
    with caplog.at_level(logging.WARNING, logger="lifqa.index.build"):
        export_answer_graphs()
    assert not caplog.records and not list((tmp_path / "models").glob("relevance-*"))
    assert list((tmp_path / "models").glob("span-reader-*/model.onnx"))
    folder, _ = saved
    monkeypatch.setattr(relevance, "bundled_paths", lambda: (folder / "m.safetensors", folder / "m.json"))
    export_answer_graphs()
    assert list((tmp_path / "models").glob("relevance-*/model.onnx"))


def test_relevance_path_without_a_trained_model_says_how_to_get_one(engine, tmp_path, monkeypatch):
    from lifqa import relevance

    monkeypatch.setattr(relevance, "bundled_paths", lambda: (tmp_path / "relevance.safetensors", tmp_path / "relevance.json"))
    monkeypatch.setattr(relevance, "_shared", {})
    with pytest.raises(SettingsError, match="make cross-encoder"):
        engine.with_settings(answer_model="relevance").ask("Which receptor subunit does LIF share with IL-6?")


def _gold_file():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "corpus" / "gold" / "lif_questions.jsonl"


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A real sentence-transformers CrossEncoder folder: the bundled MiniLM cut to one layer with a fresh head."""
    from sentence_transformers import CrossEncoder

    from lifqa.encoder import resolve_model_path

    model = CrossEncoder(resolve_model_path(None), num_labels=1, local_files_only=True)
    model.model.bert.encoder.layer = model.model.bert.encoder.layer[:1]
    model.model.config.num_hidden_layers = 1
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    model.save(str(folder))
    return folder


def test_own_cross_encoder_rates_the_answer_sentences(engine, tiny_cross_encoder):
    from lifqa import relevance

    own = engine.with_settings(answer_model="relevance", cross_encoder_path=str(tiny_cross_encoder))
    answer = own.ask("Which receptor subunit does LIF share with IL-6?")
    assert str(tiny_cross_encoder) in relevance._local  # the folder's model rated the sentences
    assert not answer.abstained and answer.sentences
    for sentence in answer.sentences:  # still verbatim slices of the passages they cite
        cited = answer.citations[sentence.citation_keys[0] - 1]
        assert cited.text[sentence.char_start:sentence.char_end] == sentence.text


def test_own_cross_encoder_path_errors_name_the_path(engine, tmp_path):
    (tmp_path / "empty").mkdir()
    for path, message in [(tmp_path / "nowhere", "is not a folder"), (tmp_path / "empty", "is not a loadable CrossEncoder folder")]:
        with pytest.raises(SettingsError, match=message):
            engine.with_settings(answer_model="relevance", cross_encoder_path=str(path)).ask("Which receptor subunit does LIF share with IL-6?")


def test_features_path_stays_reachable(engine):
    question = "Which receptor subunit does LIF share with IL-6?"
    features = engine.with_settings(answer_model="features").ask(question)
    assert not features.abstained and features.sentences
