"""BM25 tokenisation that keeps biomedical identifiers whole and searchable.

``gp130``, ``LIFR-α``, ``Cys12-Cys134``, ``22q12.2``, ``P15018`` and
``T89P/H91Q`` each stay one token; hyphen- and slash-joined identifiers also
emit their parts (``lifr``, ``t89p``) so a query naming only a part still
matches. Plain words are lower-cased, stop words dropped, and stemmed with the
Snowball stemmer (PyStemmer); tokens holding a digit are never stemmed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# A word: letters/digits (any script), joined by - / . ' + when a word character follows.
_TOKEN = re.compile(r"\w+(?:[-/.'’+:]\w+)*", re.UNICODE)
_SPLIT_PARTS = re.compile(r"[-/'’+:]")
_STOPWORDS = frozenset(STOPWORDS_EN)


class Tokenizer:
    """Turns text into BM25 terms; the same instance is used for corpus and queries.

    The terms of each distinct word are computed once and memoised: a corpus repeats its words, and
    a build tokenises every chunk (about twice as fast as working out each occurrence, same terms)."""

    def __init__(self, stemming: bool = True) -> None:
        self.stemming = stemming
        self._stemmer = Stemmer.Stemmer("english") if stemming else None
        self._stem_lock = threading.Lock()  # PyStemmer: "must not be called concurrently"; one engine serves many threads
        self._terms = lru_cache(maxsize=500_000)(self._terms_uncached)

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        terms: list[str] = []
        for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).lower()):
            terms.extend(self._terms(token))
        return terms

    def _terms_uncached(self, token: str) -> tuple[str, ...]:
        """One matched word's terms: the word, then its parts when it is hyphen- or slash-joined."""
        token = token.replace("’", "'")
        if token.endswith("'s"):
            token = token[:-2]
        if _SPLIT_PARTS.search(token):
            terms = [token, *(self._word(part) for part in _SPLIT_PARTS.split(token) if self._keep(part))]
        elif self._keep(token):
            terms = [self._word(token)]
        else:
            terms = []
        return tuple(term for term in terms if term)

    @staticmethod
    def _keep(token: str) -> bool:
        return bool(token) and token not in _STOPWORDS and not (len(token) == 1 and token.isascii() and token.isalpha())

    def _word(self, token: str) -> str:
        if self._stemmer is None or not token.isalpha():
            return token
        with self._stem_lock:
            return self._stemmer.stemWord(token)


def identifiers(text: str) -> set[str]:
    """Identifier-like tokens (holding a digit, or mixed-case like ``LIFR``) of a text, lower-cased."""
    out = set()
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text)):
        token = match.group(0)
        if any(ch.isdigit() for ch in token) or (len(token) > 1 and sum(ch.isupper() for ch in token) >= 2):
            out.add(token.lower())
    return out
