import pytest

from lifqa.tokenize import Tokenizer


@pytest.mark.parametrize("identifier", ["gp130", "LIFR-α", "Cys12-Cys134", "22q12.2", "P15018", "T89P/H91Q"])
def test_identifiers_stay_whole(identifier):
    tokens = Tokenizer()(f"The paper mentions {identifier} twice.")
    assert identifier.lower() in tokens


def test_compound_identifiers_also_emit_parts_and_words_are_stemmed():
    tokens = Tokenizer()("LIFR-α signalling via T89P/H91Q")
    assert {"lifr", "t89p", "h91q", "signal"} <= set(tokens)
    assert "the" not in Tokenizer()("the receptor")


def test_query_and_document_tokenise_identically():
    tok = Tokenizer()
    assert tok("gp130.") == tok("gp130")
