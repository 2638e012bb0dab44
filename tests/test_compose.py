"""Composing an answer without an engine: which passages are shown, and the answer text."""

from __future__ import annotations

from lifqa.answer.compose import render, show_answer_passages
from lifqa.types import AnswerSentence, Chunk, Hit


def test_a_passage_quoted_from_beyond_k_is_shown_without_hiding_a_source():
    docs = ["a", "a", "b", "c", "d", "b", "b"]
    hits = [Hit(Chunk(f"{d}{i}", d, f"passage {i}", 0, 10), 1.0 - i / 10, rank=i + 1) for i, d in enumerate(docs)]
    quoted = [AnswerSentence("passage 6", (7,), 0, 9)]
    shown, sentences = show_answer_passages(hits, quoted, 5)
    # the quoted passage takes the place of the last unquoted one whose source stays on show (b's own), not of
    # d's only passage, which is the last unquoted one
    assert [h.chunk.chunk_id for h in shown] == ["a0", "a1", "c3", "d4", "b6"]
    assert sentences[0].citation_keys == (5,) and shown[4].rank == 5
    # where every shown source has a single passage, the last unquoted one gives way, as before
    single = [Hit(Chunk(f"{d}{i}", d, "p", 0, 1), 1.0, rank=i + 1) for i, d in enumerate("abcdef")]
    shown, _ = show_answer_passages(single, [AnswerSentence("p", (6,), 0, 1)], 5)
    assert [h.chunk.chunk_id for h in shown] == ["a0", "b1", "c2", "d3", "f5"]


def test_render_puts_each_sentences_markers_after_it_and_states_a_disputed_value():
    sentences = [AnswerSentence("LIF binds LIFR.", (1,)),
                 AnswerSentence("Entrez 3976.", (2,), disputed_by=({"value": "3977", "citation_key": 3},))]
    assert render(sentences) == "LIF binds LIFR. [1] Entrez 3976. [2]; another source gives 3977 [3]"
