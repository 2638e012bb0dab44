"""Sentence types: page furniture is never an answer sentence; label: value rows only when the label is asked about."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lifqa.answer.sentences import NEVER_ANSWER, Passages, SentenceType, answers_question, classify, label_of
from lifqa.tokenize import Tokenizer
from lifqa.types import Chunk, Hit

T = SentenceType


@pytest.mark.parametrize("text, kind", [
    ("LIF binds a heterodimer of LIFR and gp130 to activate STAT3.", T.PROSE),
    ("• What happens: When the liver is injured, LIF levels shoot up rapidly.", T.PROSE),
    ("NCBI Gene ID: 3977", T.LABEL_VALUE),
    ("Entrez 3976", T.LABEL_VALUE),
    ("Gene Symbol: LIF", T.LABEL_VALUE),
    ('[2] R. M. S. et al., "LIF delivery for amyotrophic lateral sclerosis: A phase I/II clinical trial," Lancet Neurology, vol. 11, pp. 143-152, 2012.', T.REFERENCE),
    ("Smith J, Jones K. Leukemia inhibitory factor in embryo implantation. J. Reprod. Immunol. 2004;62(1):1-10.", T.REFERENCE),
    ("URL: http://dx.doi.org/10.1093/emboj/18.2.375, doi:10.1093/emboj/18.2.375.", T.REFERENCE),
    ("- NCBI Gene: LIF (https://www.ncbi.nlm.nih.gov/gene/3977)", T.NAVIGATION),
    ("Home | About | Products | Contact", T.NAVIGATION),
    ("Skip to main content", T.NAVIGATION),
    ("Table of Contents", T.CONTENTS),
    ("1. Introduction 2. Methods 3. Results 4. Discussion", T.CONTENTS),
    ("This article is licensed under the GNU Free Documentation License.", T.BOILERPLATE),
    ("© 2020 The Authors. All rights reserved.", T.BOILERPLATE),
    ("This is an open access article distributed under the terms of the Creative Commons Attribution License.", T.BOILERPLATE),
    ("## Overview", T.HEADING),
    ("Key Publications", T.HEADING),
    ("Leukemia inhibitory factor", T.HEADING),
    ("Disease Associations:", T.HEADING),
    ("Figure 2.", T.CAPTION),
    ("Table S1", T.CAPTION),
    ("Product Name |", T.TABLE_CELL),
])
def test_sentence_types(text, kind):
    assert classify(text) is kind


def test_whole_reference_and_link_sections_and_index_headings():
    assert classify("Leukemia inhibitory factor: an important cytokine in pathologies and cancer.", section="References") is T.REFERENCE
    assert classify("UniProt entry for the human protein", section="External links") is T.NAVIGATION
    assert classify("LIF is a cytokine.", section="Function") is T.PROSE
    assert classify("Use in stem cell culture", is_heading=True) is T.HEADING


def test_only_prose_and_asked_about_rows_may_answer():
    tok = Tokenizer()
    terms = lambda q: set(tok(q))  # noqa: E731
    entrez = "What is the Entrez Gene ID for LIF?"
    assert answers_question(T.LABEL_VALUE, "NCBI Gene ID: 3977", terms("What is the NCBI Gene ID of LIF?"), {"ncbi", "id", "lif"}, tok)
    assert answers_question(T.LABEL_VALUE, "Entrez 3976", terms(entrez), {"id", "lif"}, tok)
    assert not answers_question(T.LABEL_VALUE, "Ensembl ID: ENSG00000128342", terms(entrez), {"id", "lif"}, tok)  # only "ID" shared
    kind = "What kind of molecule is LIF?"
    assert not answers_question(T.LABEL_VALUE, "Gene Symbol: LIF", terms(kind), {"lif"}, tok)
    assert answers_question(T.PROSE, "LIF is a cytokine.", terms(kind), {"lif"}, tok)
    for never in NEVER_ANSWER:
        assert not answers_question(never, "LIF is a cytokine of the IL-6 family.", terms(kind), {"lif"}, tok)
    assert label_of("Chromosomal Location: 22q12.2") == "Chromosomal Location" and label_of("LIF is a cytokine.") == ""


def test_passages_read_type_and_tokenize_each_sentence_once_for_a_question():
    """A multi-part question rates the same passages for each part: their sentences are read from the store arrays,
    typed and tokenized once, and made candidates with the question's cosines each time."""
    title = "Leukemia inhibitory factor"
    sentences = ["Overview", "LIF binds the LIF receptor and gp130.", "The complex signals through STAT3.", title]
    text = " ".join(sentences)
    spans, at = [], 100
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    store = SimpleNamespace(chunk_sentences=np.asarray([[0, 4]]), sentence_spans=np.asarray(spans),
                            sentence_heading=np.asarray([True, False, False, False]),
                            sources={"d0": SimpleNamespace(tier="medium", document=SimpleNamespace(title=title))})
    calls = []
    tokenize = lambda text: calls.append(text) or text.lower().rstrip(".").split()  # noqa: E731
    passages = Passages(store, np.eye(4, dtype=np.float16), tokenize).add({"c0": 0})
    chunk = Chunk("c0", "d0", text, 100, 100 + len(text))
    hit = Hit(chunk, 1.0, rerank=0.7, rank=1)
    first = passages.candidates([hit], np.asarray([0.0, 1.0, 0.5, 0.0], dtype=np.float32))
    again = passages.candidates([hit], np.asarray([0.0, 0.0, 1.0, 0.0], dtype=np.float32))  # another part of the question
    assert [c.text for c in first] == [c.text for c in again] == sentences[1:3]  # the marked heading and the title are not
    assert sorted(calls) == sorted(sentences)  # read once, however often rated
    lead = first[0]
    assert lead.terms == {"lif", "binds", "the", "receptor", "and", "gp130"} and lead.kind is SentenceType.PROSE
    assert (lead.chunk_start, lead.chunk_end) == (9, 9 + len(sentences[1])) and text[lead.chunk_start:lead.chunk_end] == sentences[1]
    assert (lead.citation_key, lead.passage_rank, lead.passage_rerank, lead.tier, lead.doc_id) == (1, 1, 0.7, "medium", "d0")
    assert (lead.index_in_passage, lead.passage_sentences) == (1, 4)
    assert [c.neighbour_cos for c in first] == [0.5, 1.0] and [c.neighbour_cos for c in again] == [1.0, 0.0]
    assert [c.text for c in passages.heuristic_candidates([hit])] == sentences[1:]  # only the index's own heading mark
    assert passages.sentence_at(chunk, 100 + text.index("complex")) == (spans[2][0] - 100, spans[2][1] - 100)
