"""bm25s against rank_bm25 as a test oracle, with the same tokens and parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from lifqa.chunking import retrieval_text

QUERIES = ["Which receptor does LIF bind?", "gp130 JAK/STAT signalling", "T89P/H91Q thermal stability",
           "liver regeneration LSECs HGF", "NCBI Gene ID", "mouse embryonic stem cell culture Nanog"]


class LuceneBM25(BM25Okapi):
    """rank_bm25's scoring loop with Lucene's idf (bm25s' default method)."""

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


@pytest.fixture(scope="module")
def oracle(engine):
    texts = [retrieval_text(engine.source(c.doc_id).document, c) for c in engine.store.chunks]
    s = engine.settings
    return LuceneBM25([engine.tokenizer(t) for t in texts], k1=s.bm25_k1, b=s.bm25_b)


@pytest.mark.parametrize("query", QUERIES)
def test_bm25s_scores_match_rank_bm25(engine, oracle, query):
    terms = list(dict.fromkeys(t for t in engine.tokenizer(query) if t in engine.bm25.vocabulary()))
    ours = _scores_for_terms(engine, terms)
    theirs = np.asarray(oracle.get_scores(terms)) / (engine.settings.bm25_k1 + 1)  # Lucene drops the (k1+1) factor
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert list(np.argsort(-ours, kind="stable")[:10]) == list(np.argsort(-theirs, kind="stable")[:10])


def _scores_for_terms(engine, terms):
    vocab = engine.bm25.vocabulary()
    return np.asarray(engine.bm25._model.get_scores_from_ids([vocab[t] for t in terms]), dtype=np.float64)


def test_identifier_query_finds_the_document_that_states_it(engine):
    scores = engine.bm25.scores("T89P/H91Q")
    best = engine.store.chunks[int(np.argmax(scores))]
    assert best.doc_id.startswith("001") and "T89P/H91Q" in best.text
