"""Sparse retrieval with bm25s: scores precomputed into a CSC matrix, saved as npy, loaded mmap'ed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np

from lifqa.tokenize import Tokenizer

logging.getLogger("bm25s").setLevel(logging.WARNING)


def build_bm25(texts: list[str], tokenizer: Tokenizer, folder: Path, k1: float, b: float, method: str) -> int:
    """Index ``texts`` (one per chunk, in row order) and save to ``folder``; returns the vocabulary size."""
    model = bm25s.BM25(k1=k1, b=b, method=method)
    model.index([tokenizer(text) for text in texts], show_progress=False)
    model.save(str(folder), show_progress=False)
    return len(model.vocab_dict)


class BM25Index:
    """Loaded bm25s index: full score vectors for a query, so fusion sees every candidate's score."""

    def __init__(self, folder: Path, tokenizer: Tokenizer, mmap: bool = True) -> None:
        self._model = bm25s.BM25.load(str(folder), mmap=mmap, allow_pickle=False)  # plain npy/JSON only
        self.tokenizer = tokenizer
        self.num_docs = int(self._model.scores["num_docs"])
        indptr = np.asarray(self._model.scores["indptr"])
        doc_freq = np.diff(indptr).astype(np.float64)  # chunks holding each term (CSC column lengths)
        self._idf = np.log1p((self.num_docs - doc_freq + 0.5) / (doc_freq + 0.5)).astype(np.float32)
        self._oov_idf = float(np.log1p((self.num_docs + 0.5) / 0.5))

    def scores(self, query: str) -> np.ndarray:
        return self.term_scores(self.tokenizer(query))

    def term_scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for a query already tokenized (a Question's tokens, repeats kept)."""
        ids = self._model.get_tokens_ids(list(terms))
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)

    def idf(self, terms: list[str]) -> np.ndarray:
        """Lucene idf per term; a term absent from the corpus gets the highest possible idf."""
        vocab = self._model.vocab_dict
        return np.asarray([self._idf[vocab[t]] if t in vocab else self._oov_idf for t in terms], dtype=np.float32)

    def vocabulary(self) -> dict[str, int]:
        return self._model.vocab_dict
