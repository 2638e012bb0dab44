"""Multi-part questions split into questions of their own; joined nouns do not."""

from __future__ import annotations

import pytest

from lifqa.question_parts import split_question


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

