"""End to end on the real corpus, model and indexes: retrieval, abstention, verbatim citations."""

from __future__ import annotations

import numpy as np
import pytest

from lifqa.answer.compose import NO_ANSWER
from lifqa.errors import InputError


def _mrr(engine, questions, mode):
    ranks = []
    for q in questions:
        docs = [h.chunk.doc_id for h in engine.search(q.question, k=10, mode=mode)]
        hit = next((i for i, d in enumerate(docs) if d in q.relevant_doc_ids), None)
        ranks.append(0.0 if hit is None else 1.0 / (hit + 1))
    return float(np.mean(ranks))


def test_every_test_split_question_finds_a_relevant_document_in_top5(engine, gold):
    misses = []
    for q in gold.split("test").questions:
        if q.answerable:
            docs = [c.doc_id for c in engine.ask(q.question, k=5).citations]
            if not set(docs) & set(q.relevant_doc_ids):
                misses.append((q.id, q.question, docs))
    assert misses == []


def test_unanswerable_questions_abstain_and_answerable_ones_do_not(engine, gold):
    test = gold.split("test").questions
    wrongly_answered = [q.id for q in test if not q.answerable and not engine.ask(q.question).abstained]
    wrongly_abstained = [q.id for q in test if q.answerable and engine.ask(q.question).abstained]
    assert wrongly_answered == []
    assert len(wrongly_abstained) <= 0.05 * sum(q.answerable for q in test)


def test_abstention_still_shows_closest_passages(engine):
    answer = engine.ask("Who won the 2014 FIFA World Cup final?")
    assert answer.abstained and answer.answer == NO_ANSWER and answer.sentences == ()
    assert len(answer.citations) == 5


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid", "hybrid+rerank"])
def test_every_answer_sentence_is_verbatim_in_its_cited_passage(engine, gold, mode):
    for q in gold.questions:
        answer = engine.ask(q.question, mode=mode)
        by_key = {c.key: c for c in answer.citations}
        for sentence in answer.sentences:
            assert sentence.citation_keys, q.id
            for key in sentence.citation_keys:
                cited = by_key[key]
                assert sentence.text in cited.text, (q.id, sentence.text)
                assert cited.text[sentence.char_start:sentence.char_end] == sentence.text
                assert f"{sentence.text} [{key}]" in answer.answer


def test_citations_resolve_to_document_spans(engine):
    answer = engine.ask("Which residues form LIF's disulfide bonds?")
    assert not answer.abstained and "Cys12-Cys134" in answer.answer
    for c in answer.citations:
        doc = engine.source(c.doc_id).document
        assert doc.text[c.char_start:c.char_end] == c.text and c.title == doc.title


def test_reranker_matches_or_beats_plain_fusion_on_gold_test(engine, gold):
    test = [q for q in gold.split("test").questions if q.answerable]
    assert _mrr(engine, test, "hybrid+rerank") >= _mrr(engine, test, "hybrid")


def test_bad_questions_get_clear_errors(engine):
    with pytest.raises(InputError, match="empty"):
        engine.ask("   \n\t ")
    with pytest.raises(InputError, match="no letters or digits"):
        engine.ask("?!?...")
    with pytest.raises(InputError, match="Valid modes"):
        engine.ask("What is LIF?", mode="magic")
    with pytest.raises(InputError, match="1 to 100"):
        engine.ask("What is LIF?", k=0)


def test_long_question_is_truncated_with_notice_and_answered(engine):
    answer = engine.ask("What receptor does LIF bind? " * 1000)
    assert answer.notices and "only the first" in answer.notices[0]
    assert len(answer.question) == engine.settings.max_question_chars


def test_ask_many_equals_ask(engine):
    questions = ["Which receptor does LIF bind?", "", "What is the UniProt accession of LIF?"]
    batch = engine.ask_many(questions)
    assert isinstance(batch[1], InputError)
    for question, answer in zip(questions[::2], batch[::2]):
        assert answer.answer == engine.ask(question).answer
