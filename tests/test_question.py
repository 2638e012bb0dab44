"""The Question record: its kind, its parts (multi-part questions split into questions of their own; joined nouns do
not), and, through the real engine, each part analysed once."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from lifqa.search.question import question_kind, split_question


@pytest.mark.parametrize("question, parts", [
    ("Which brain tumour and which blood cancer involve LIF?", ["Which brain tumour involve LIF?", "which blood cancer involve LIF?"]),
    ("Where is LIF expressed and how is it regulated?", ["Where is LIF expressed?", "how is it regulated (LIF expressed)?"]),
    ("What is the Entrez Gene ID of LIF and what is its UniProt accession?",
     ["What is the Entrez Gene ID of LIF?", "what is its UniProt accession (ID LIF)?"]),
    ("What do LIF and IL-6 share?", ["What do LIF and IL-6 share?"]),
    ("How many exons and introns make up the LIF gene?", ["How many exons and introns make up the LIF gene?"]),
    ("Which receptor subunit does LIF share with IL-6?", ["Which receptor subunit does LIF share with IL-6?"]),
])
def test_split(question, parts):
    assert split_question(question) == parts


@pytest.mark.parametrize("question, kind", [
    ("What does LIF stand for?", "expansion"),
    ("What is PPE?", "expansion"),  # an acronym alone asks for its spelled-out name
    ("What are RVPs?", "expansion"),
    ("What is RANBP2?", "other"),  # a gene symbol with digits is not spelled out
    ("What is the role of LIF?", "other"),
    ("What is the Entrez Gene ID for LIF?", "identifier"),
    ("When was LIF first purified?", "year"),
    ("How many amino acids long is the LIF polypeptide?", "number"),
    ("What is the incubation period of MERS-CoV?", "quantity"),
    ("Where is the mouse Lif orthologue located in the genome?", "place"),
    ("Define leukemia inhibitory factor.", "definition"),
    ("Which receptor does LIF bind?", "entity"),
    ("Why does LIF appear at different sizes on a gel?", "other"),
])
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def _count_analysis(monkeypatch) -> tuple[Counter, Counter]:
    """Count each text the tokenizer reads and each text whose question kind is found, wherever they are called from."""
    import lifqa.search.question as question_module
    from lifqa.tokenize import Tokenizer

    tokenized, kinds = Counter(), Counter()
    tokenize, kind = Tokenizer.tokenize, question_module.question_kind
    monkeypatch.setattr(Tokenizer, "tokenize", lambda self, text: tokenized.update([text]) or tokenize(self, text))
    for module in list(sys.modules.values()):  # every module holding the function, however it was imported
        if getattr(module, "__name__", "").startswith("lifqa") and getattr(module, "question_kind", None) is kind:
            monkeypatch.setattr(module, "question_kind", lambda text: kinds.update([text]) or kind(text))
    return tokenized, kinds


def test_asking_tokenizes_the_question_once_and_finds_its_kind_once(engine, monkeypatch):
    question = "Which receptor subunit does LIF share with IL-6?"
    tokenized, kinds = _count_analysis(monkeypatch)
    answer = engine.ask(question)
    assert not answer.abstained  # the whole path ran: retrieval, reranking, the selector, citations
    assert tokenized[question] == 1 and kinds == Counter({question: 1})


def test_asking_a_two_part_question_tokenizes_each_part_once_and_finds_its_kind_once(engine, monkeypatch):
    question = "Which brain tumour and which blood cancer involve LIF?"
    parts = split_question(question)
    assert len(parts) == 2
    tokenized, kinds = _count_analysis(monkeypatch)
    answer = engine.ask(question)
    assert not answer.abstained
    assert all(tokenized[text] == 1 for text in (question, *parts)), tokenized
    assert kinds == Counter({text: 1 for text in (question, *parts)})  # the parts were answered, each analysed once
