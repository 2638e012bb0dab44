"""The short answer: the span reader's files, its span arithmetic, which questions get one, and the shipped reader
through the real engine on the bundled corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lifqa.answer.short import SpanReader, asks_for_short_answer, best_span, bundled_paths
from lifqa.errors import SettingsError
from lifqa.index.layout import file_sha256
from lifqa.search.question import question_kind


@pytest.mark.parametrize("question, expected", [
    ("What is the NCBI Entrez Gene ID for human LIF?", True),
    ("How long is the incubation period of COVID-19?", True),
    ("How many amino acids does mature LIF have?", True),
    ("Which receptor subunit does LIF share with IL-6?", True),
    ("What does LIF stand for?", True),  # the spelled-out name is a short answer
    ("What is leukemia inhibitory factor?", False),
    ("What kind of molecule is LIF?", False),
    ("Why does LIF signal through gp130?", False),
    ("How does LIF maintain stem cell pluripotency?", False),
])
def test_questions_with_and_without_a_short_answer(question, expected):
    assert asks_for_short_answer(question, question_kind(question)) is expected


def test_best_span_is_the_most_probable_band_inside_the_sentence():
    # [CLS] q q [SEP] s0 s1 s2 [SEP]: the sentence's tokens are 4-6
    inside = np.array([False, False, False, False, True, True, True, False])
    offsets = np.array([[0, 0], [0, 4], [5, 9], [0, 0], [0, 3], [4, 8], [9, 14], [0, 0]])
    start = np.array([0.0, 9.0, 9.0, 0.0, 1.0, 5.0, 0.0, 9.0])  # question tokens and [SEP] may not be pointed at
    end = np.array([0.0, 9.0, 9.0, 0.0, 0.0, 1.0, 6.0, 9.0])
    char_start, char_end, probability = best_span(start, end, inside, offsets)
    assert (char_start, char_end) == (4, 14)
    margin = (5.0 + 6.0) - (0.0 + 0.0)  # the span's start + end logits against [CLS]'s
    assert probability == pytest.approx(1 / (1 + np.exp(-margin)))
    # an end before the start is never chosen, however probable
    end_first = np.array([0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0])
    start_last = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 0.0])
    s, e, _ = best_span(start_last, end_first, inside, offsets)
    assert s < e and (s, e) != (9, 3)


def test_no_answer_token_takes_the_probability_away():
    inside = np.array([False, False, True, True, False])
    offsets = np.array([[0, 0], [0, 0], [0, 2], [3, 5], [0, 0]])
    confident = best_span(np.array([0.0, 0, 4, 0, 0]), np.array([0.0, 0, 0, 4, 0]), inside, offsets)[2]
    declined = best_span(np.array([8.0, 0, 4, 0, 0]), np.array([8.0, 0, 0, 4, 0]), inside, offsets)[2]
    assert confident > 0.8 and declined < 0.05


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import torch

    folder = tmp_path_factory.mktemp("span-reader")
    reader = SpanReader.from_bundled(layers=2, frozen_layers=1, max_length=48, seed=5)
    with torch.no_grad():  # a trained-looking head and a changed top layer, so the round trip checks real numbers
        reader.head.weight.normal_(0, 0.5)
        reader.body.encoder.layer[1].output.dense.bias.add_(0.1)
    reader.save(folder / "r.safetensors", folder / "r.json", {"threshold": 0.4})
    return folder, reader


@pytest.mark.slow
def test_saved_reader_reads_the_same_after_loading(saved):
    folder, reader = saved
    reader.bf16 = False
    loaded = SpanReader.load(folder / "r.safetensors", folder / "r.json", bf16=False)
    sentences = ["Human LIF has the Entrez Gene ID 3976.", "Mice were housed in cages."]
    before = reader.spans("What is the Entrez Gene ID of LIF?", sentences)
    after = loaded.spans("What is the Entrez Gene ID of LIF?", sentences)
    assert [b[:2] for b in before] == [a[:2] for a in after]
    assert np.allclose([b[2] for b in before], [a[2] for a in after], atol=2e-2)  # fp16 storage
    assert loaded.threshold == 0.4 and json.loads((folder / "r.json").read_text())["sha256"] == file_sha256(folder / "r.safetensors")
    for sentence, (start, end, _) in zip(sentences, after):
        assert 0 <= start < end <= len(sentence)


@pytest.mark.slow
def test_damaged_or_missing_reader_is_refused_by_name(saved, tmp_path):
    folder, _ = saved
    damaged = tmp_path / "r.safetensors"
    data = bytearray((folder / "r.safetensors").read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(SettingsError, match="span reader file r.safetensors does not match the sha256 in r.json"):
        SpanReader.load(damaged, folder / "r.json")
    with pytest.raises(SettingsError, match="no span reader here: none.json is missing.*make span-reader"):
        SpanReader.load(folder / "r.safetensors", tmp_path / "none.json")


def test_shipped_reader_is_compact_and_checksummed():
    weights, record = bundled_paths()
    info = json.loads(record.read_text(encoding="utf-8"))
    assert weights.stat().st_size <= 12 * 1024 * 1024
    assert info["sha256"] == file_sha256(weights)
    training = info["training"]
    assert 0.0 < training["threshold"] < 1.0
    assert {s["name"] for s in training["sources"]} >= {"lif_questions"}


@pytest.mark.slow
def test_short_answer_is_a_verbatim_slice_of_its_cited_sentence(engine):
    """The path, whatever the reader's confidence: the span lies inside the sentence and the sentence in its passage."""
    answer = engine.with_settings(short_answer=True, short_answer_threshold=0.0, short_answer_confidence=0.0).ask(
        "Which shared signal-transducing receptor subunit does LIF use?")
    short = answer.short_answer
    assert short is not None and 0 < len(short.text) < len(answer.sentences[short.sentence].text)
    sentence = answer.sentences[short.sentence]
    assert sentence.text[short.char_start:short.char_end] == short.text
    cited = answer.citations[sentence.citation_keys[0] - 1]
    assert cited.text[sentence.char_start:sentence.char_end] == sentence.text
    assert answer.to_dict()["short_answer"]["text"] == short.text and 0.0 <= short.score <= 1.0
    assert "short_answer_ms" in answer.timings_ms


@pytest.mark.slow
def test_a_short_answer_needs_the_selector_to_be_sure_of_its_sentence(engine):
    """The second gate: the same span is withheld when the selector's probability for its sentence is below the
    confidence asked for, and the shipped reader carries the confidence chosen on held train questions."""
    from lifqa.answer.short import get_span_reader

    question = "Which shared signal-transducing receptor subunit does LIF use?"
    shown = engine.with_settings(short_answer=True, short_answer_threshold=0.0, short_answer_confidence=0.0).ask(question)
    assert shown.short_answer is not None
    withheld = engine.with_settings(short_answer=True, short_answer_threshold=0.0, short_answer_confidence=1.0).ask(question)
    assert withheld.short_answer is None and withheld.sentences == shown.sentences
    assert 0.0 < get_span_reader().confidence < 1.0


@pytest.mark.slow
def test_value_question_gets_its_short_answer(engine):
    """The bundled article's infobox row "Entrez 3976" answers it: the row's label is named in the question."""
    answer = engine.with_settings(short_answer=True).ask("What is the NCBI Entrez Gene ID for human LIF?")
    short = answer.short_answer
    assert short is not None and short.text == "3976" and short.method == "row"
    assert answer.sentences[short.sentence].text[short.char_start:short.char_end] == "3976"
    assert answer.to_dict()["short_answer"]["method"] == "row"


@pytest.mark.parametrize("question, sentence, value", [
    ("What is the NCBI Entrez Gene ID for human LIF?", "Entrez 3976", "3976"),
    ("What is the Ensembl gene identifier of human LIF?", "Ensembl ID: ENSG00000128342", "ENSG00000128342"),
    ("What is the HGNC (HUGO) identifier for LIF?", "HUGO 6596.", "6596"),
    ("What is the chromosomal location of LIF?", "Chromosomal Location: 22q12.2", "22q12.2"),
    ("Which protein has UniProt accession P15018?", "UniProt P15018", None),  # the question states the value
    ("What is the Entrez Gene ID of LIF?", "UniProt P15018", None),  # the label is not what is asked
    ("What is the Entrez Gene ID of LIF?", "Entrez Gene", None),  # no value: no digit
    ("What is the incubation period?", "The incubation period is about 5.2", None),  # prose, not a row
    ("What was the value?", "The total 52", None),  # only a stop word is shared
    ("How many people were affected as of Feb. 10?", "epidemic control on Feb 15.", None),  # the end of a sentence
    ("How many were affected by Feb 10?", "Cases by Feb 15", None),  # a label with a stop word is prose
])
def test_a_labelled_row_gives_its_value_when_the_question_names_its_label(question, sentence, value):
    from lifqa.answer.short import row_value

    found = row_value(question, sentence)
    assert (sentence[found[0]:found[1]] if found else None) == value


def test_a_row_is_read_before_the_reader_and_without_its_gates():
    """The reader puts a near-zero probability on values in rows; the row's label is the evidence, so no reader runs."""
    from lifqa.answer.short import short_answer
    from lifqa.types import AnswerSentence

    class NoReader:
        confidence, threshold = 0.95, 0.6

        def spans(self, question, sentences):
            raise AssertionError("the reader is not needed for a row")

    sentences = [AnswerSentence("LIF is a cytokine of the IL-6 family.", (1,)), AnswerSentence("OMIM 159540", (1,))]
    found = short_answer(NoReader(), "What OMIM entry number is assigned to the LIF gene?", "identifier", sentences,
                         confidences=[0.99, 0.5])
    assert (found.text, found.sentence, found.score, found.method) == ("159540", 1, 1.0, "row")


@pytest.mark.slow
@pytest.mark.parametrize("question", ["What is leukemia inhibitory factor?", "How does LIF maintain the pluripotency of embryonic stem cells?"])
def test_definitions_and_explanations_get_no_short_answer(engine, question):
    answer = engine.with_settings(short_answer=True, short_answer_threshold=0.0).ask(question)
    assert not answer.abstained and answer.sentences
    assert answer.short_answer is None and answer.to_dict()["short_answer"] is None


@pytest.mark.slow
def test_short_answers_are_on_by_default_and_can_be_turned_off(engine):
    question = "What is the NCBI Entrez Gene ID for human LIF?"
    assert engine.ask(question).short_answer.text == "3976"
    off = engine.with_settings(short_answer=False).ask(question)
    assert off.sentences and off.short_answer is None and "short_answer_ms" not in off.timings_ms


@pytest.mark.slow
def test_the_graph_reader_marks_what_the_torch_reader_marks():
    """Answering runs the reader's exported graph on ONNX Runtime; it must mark the spans the torch model training
    fine-tuned marks, with the same probabilities (fp32 both), so the gates chosen in training hold."""
    from lifqa.answer.short import SpanReader, get_span_reader

    question = "Which receptor subunit does LIF share with IL-6 and what is its Entrez ID?"
    sentences = ["LIF binds to the specific LIF receptor (LIFR-\u03b1) which forms a heterodimer with a subunit common to "
                 "all members of that family of receptors, the GP130 signal transducing subunit.",
                 "Entrez 3976", "The human LIF gene maps to 22q12.2.", "x" * 2000]
    graph = get_span_reader().spans(question, sentences)
    torch_reader = SpanReader.load(bf16=False).spans(question, sentences)
    assert [g[:2] for g in graph] == [t[:2] for t in torch_reader]
    assert np.allclose([g[2] for g in graph], [t[2] for t in torch_reader], atol=1e-4)
    long_question = " ".join(["receptor"] * 400) + "?"  # fills the input alone: the text is still read, not an error
    assert len(get_span_reader().spans(long_question, sentences[:1])) == 1


@pytest.mark.slow
def test_a_missing_reader_costs_the_short_answer_not_the_answer(engine, tmp_path, monkeypatch):
    """Short answers are on by default: a reader whose files are gone leaves the answer whole and says why."""
    from lifqa.answer import short

    monkeypatch.setattr(short, "bundled_paths", lambda: (tmp_path / "span_reader.safetensors", tmp_path / "span_reader.json"))
    monkeypatch.setattr(short, "_shared", {})
    question = "Which shared signal-transducing receptor subunit does LIF use?"
    answer = engine.ask(question)
    assert answer.sentences and answer.short_answer is None
    assert any("No short answer" in n and "span_reader.json is missing" in n and "make span-reader" in n
               for n in answer.notices), answer.notices
    assert answer.sentences == engine.with_settings(short_answer=False).ask(question).sentences


@pytest.mark.slow
def test_a_changed_reader_file_is_refused_before_its_graph_is_used(tmp_path):
    from lifqa.answer.short import GraphSpanReader, bundled_paths

    weights, record = bundled_paths()
    damaged = tmp_path / weights.name
    damaged.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    reader = GraphSpanReader.load(damaged, record)
    with pytest.raises(SettingsError, match="does not match the sha256"):
        reader.spans("What is the Entrez ID?", ["Entrez 3976"])


def test_a_short_answer_is_never_cut_inside_a_word():
    """The reader scores word pieces and may stop inside a value ("22q12" of "22q12.2"); the answer shows whole words,
    without the sentence's closing stop or a trailing comma, and never takes in brackets around them."""
    from lifqa.answer.short import answer_bounds

    def shown(text: str, part: str) -> str:
        start = text.index(part)
        lo, hi = answer_bounds(text, start, start + len(part))
        return text[lo:hi]

    text = "The human LIF gene maps to 22q12.2, and its receptor (GP130) binds IL-6 at 1/1000 of 3,976 sites."
    assert shown(text, "22q12") == "22q12.2"
    assert shown(text, "q12.2,") == "22q12.2"
    assert shown(text, "GP130") == "GP130"
    assert shown(text, "IL") == "IL-6"
    assert shown(text, "1/10") == "1/1000"
    assert shown(text, "976 sites.") == "3,976 sites"
    assert shown("Entrez Gene ID: 3976.", "3976.") == "3976"
