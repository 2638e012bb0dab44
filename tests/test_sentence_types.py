"""Sentence types: page furniture is never an answer sentence; label: value rows only when the label is asked about."""

from __future__ import annotations

import pytest

from lifqa.sentence_types import NEVER_ANSWER, SentenceType, answers_question, classify, label_of
from lifqa.tokenize import Tokenizer

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
