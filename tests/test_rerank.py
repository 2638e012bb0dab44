"""Reranker plumbing: the shipped parameters, and loading a local cross-encoder."""

from __future__ import annotations

import numpy as np

from lifqa.encoder import bundled_model_path
from lifqa.search.rerank import FEATURES, CrossEncoderReranker, feature_matrix, load_params


def test_shipped_parameters_match_the_features_and_carry_provenance():
    params = load_params()
    assert tuple(params["features"]) == FEATURES and len(params["coef"]) == len(FEATURES)
    assert params["trained_on"]["fingerprint"] and 0 < params["support"]["threshold"] < 1


def test_features_reflect_identifier_coverage(engine):
    batch = engine.rerank_candidates("What does the T89P/H91Q mutation change?")
    features = feature_matrix(batch, engine.tokenizer)
    column = FEATURES.index("identifier_coverage")
    holding = [i for i, c in enumerate(batch.chunks) if "T89P/H91Q" in c.text]
    assert holding and features[holding[0], column] == features[:, column].max() > 0


def test_cross_encoder_loads_local_weights_and_scores(engine):
    # The bundled MiniLM is a bi-encoder; loading it into CrossEncoder checks the loading path offline.
    reranker = CrossEncoderReranker(bundled_model_path())
    batch = engine.rerank_candidates("Which receptor does LIF bind?")
    scores = reranker.score(batch)
    assert scores.shape == (len(batch.chunks),) and np.isfinite(scores).all()
