"""A build's vectors: sentence vectors (encoded alone, or pooled from their chunk's forward pass) and chunk vectors
(composed from their sentences' vectors, or encoded in a pass of their own).

Everything goes through the embedding cache, so a build that is stopped resumes from what it embedded, and a
rebuild embeds only new text. The embedding is nearly all of a build's time; this stage owns how it is spent.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterator

import numpy as np
from tqdm import tqdm

from lifqa.chunking import context_line
from lifqa.index.embed_cache import EmbeddingCache, text_key
from lifqa.settings import Settings
from lifqa.types import Chunk, Document

Progress = Callable[[str, float], None]


def embed_build(cache: EmbeddingCache, encoder: Any, runner: Any, settings: Settings, by_id: dict[str, Document],
                chunks: list[Chunk], chunk_sentences: list[tuple[int, int]], sentences: list[tuple[str, int, int, bool]],
                texts: list[str], report: Progress) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """Chunk vectors, sentence vectors (None when ``sentence_vectors`` is off) and the processes that embedded
    (None: a runner's own, e.g. Ray). ``texts`` are the chunks' retrieval texts."""
    sentence_texts = [by_id[doc_id].text[s:e] for doc_id, s, e, _ in sentences]
    if settings.composes_chunk_vectors():
        lines, line_of_chunk = context_lines(by_id, chunks)
        with closing(runner.embedder(encoder)) as embed:
            # a distributed embedder starts its workers once per call: sentences and lines in one call
            both = embed_texts(cache, embed, sentence_texts + lines, "embedding sentences", (0.2, 0.95), report)
            workers = getattr(embed, "workers", 1 if embed == encoder.encode_documents else None)
        sentence_vectors, line_vectors = both[:len(sentence_texts)], both[len(sentence_texts):]
        chunk_vectors = composed_through_cache(cache, encoder, texts, chunk_sentences, sentences, sentence_texts, sentence_vectors,
                                               lines, line_of_chunk, line_vectors)
    elif settings.sentence_vectors and settings.sentence_pooling == "chunk":
        owners = sentence_owners(by_id, chunks, chunk_sentences, sentences)
        chunk_vectors, sentence_vectors = embed_pooled(cache, encoder, texts, owners, sentence_texts, report)
        workers: int | None = 1  # pooled sentence vectors are embedded in this process
    else:
        with closing(runner.embedder(encoder)) as embed:
            if getattr(embed, "block", None) and settings.sentence_vectors:
                # a distributed embedder starts its workers once per call: chunks and sentences in one call
                both = embed_texts(cache, embed, texts + sentence_texts, "embedding chunks and sentences", (0.2, 0.95), report)
                chunk_vectors, sentence_vectors = both[:len(texts)], both[len(texts):]
            else:
                chunk_vectors = embed_texts(cache, embed, texts, "embedding chunks", (0.2, 0.6), report)
                sentence_vectors = (embed_texts(cache, embed, sentence_texts, "embedding sentences", (0.6, 0.95), report)
                                    if settings.sentence_vectors else None)
            workers = getattr(embed, "workers", 1 if embed == encoder.encode_documents else None)  # None: a runner's own (Ray)
    return chunk_vectors, sentence_vectors, workers


def context_lines(documents_by_id: dict[str, Document], chunks: list[Chunk]) -> tuple[list[str], np.ndarray]:
    """The distinct title/section lines that open the chunks' retrieval texts, and which one opens each chunk."""
    lines: dict[str, int] = {}
    line_of_chunk = np.fromiter((lines.setdefault(context_line(documents_by_id[c.doc_id], c), len(lines)) for c in chunks),
                                dtype=np.int64, count=len(chunks))
    return list(lines), line_of_chunk


TOKENIZE_BLOCK = 4096  # texts tokenised at a time to count their tokens: the tokenizer's lists for all at once held
# about 7 KB per sentence (a million-passage build ran out of 24 GB of memory in this step)


def token_weights(encoder: Any, texts: list[str]) -> np.ndarray:
    """How many tokens of each text its vector averages over (the encoder's mean pooling; at most its length limit)."""
    counts = np.zeros(len(texts), dtype=np.float32)
    for start in range(0, len(texts), TOKENIZE_BLOCK):
        block = texts[start:start + TOKENIZE_BLOCK]
        encoded = encoder.tokenizer.encode(block, special_tokens=False, truncate=False)
        counts[start:start + len(block)] = [len(row.ids) for row in encoded]
    return np.minimum(counts, max(encoder.max_length - 2, 1))


def compose_chunk_vectors(sentence_vectors: np.ndarray, chunk_sentences: list[tuple[int, int]], sentence_weights: np.ndarray,
                          line_vectors: np.ndarray, line_of_chunk: np.ndarray, line_weights: np.ndarray) -> np.ndarray:
    """Each chunk's retrieval vector from vectors the build already has: the mean of its sentences' vectors and its
    title/section line's vector, each weighted by its tokens, as mean pooling weighs them in a pass over the whole
    retrieval text, then normalised. On the train splits this retrieves as well as the chunk's own pass or better
    (bench/composed_vectors.py, BENCHMARKS.md), and it halves the texts a build encodes."""
    out = np.zeros((len(chunk_sentences), sentence_vectors.shape[1]), dtype=np.float32)
    for row, (lo, hi) in enumerate(chunk_sentences):
        line = line_of_chunk[row]
        total = sentence_weights[lo:hi] @ sentence_vectors[lo:hi] + line_weights[line] * line_vectors[line]
        out[row] = total / max(float(np.linalg.norm(total)), 1e-12)
    return out


def composed_key(text: str, sentence_spans: list[tuple[int, int]]) -> int:
    """Cache key of a chunk vector composed from its sentences (their spans and the retrieval text decide it): never
    equal to the key of the text encoded in a pass of its own."""
    return text_key(f"\0composed\0{';'.join(f'{s}:{e}' for s, e in sentence_spans)}\0{text}")


def composed_through_cache(cache: EmbeddingCache, encoder: Any, texts: list[str], chunk_sentences: list[tuple[int, int]],
                           sentences: list[tuple[str, int, int, bool]], sentence_texts: list[str], sentence_vectors: np.ndarray,
                           lines: list[str], line_of_chunk: np.ndarray, line_vectors: np.ndarray) -> np.ndarray:
    """Chunk vectors composed from sentence and line vectors, kept in the cache so that a rebuild composes (and counts
    the tokens of) only the chunks that changed."""
    keys = [composed_key(text, [(sentences[r][1], sentences[r][2]) for r in range(lo, hi)])
            for text, (lo, hi) in zip(texts, chunk_sentences)]
    chunk_vectors, found = cache.lookup(keys)
    todo = np.flatnonzero(~found)
    if len(todo):
        rows = sorted({r for c in todo for r in range(*chunk_sentences[c])})
        weights = np.zeros(len(sentence_texts), dtype=np.float32)
        weights[rows] = token_weights(encoder, [sentence_texts[r] for r in rows])
        chunk_vectors[todo] = compose_chunk_vectors(sentence_vectors, [chunk_sentences[c] for c in todo], weights,
                                                    line_vectors, line_of_chunk[todo], token_weights(encoder, lines))
        cache.store([keys[c] for c in todo], chunk_vectors[todo], computed=False)
    return chunk_vectors


def chunk_offset(doc: Document, chunk: Chunk) -> int:
    """Where ``chunk.text`` starts inside ``lifqa.chunking.retrieval_text`` (after its title/section line and a line break)."""
    return len(context_line(doc, chunk)) + 1


def sentence_owners(documents_by_id: dict[str, Document], chunks: list[Chunk], chunk_sentences: list[tuple[int, int]],
                    sentences: list[tuple[str, int, int, bool]]) -> tuple[list[list[int]], list[list[tuple[int, int]]]]:
    """For each chunk, the sentences whose vector is pooled from its forward pass (each sentence from the first
    chunk holding it whole) and their character spans in the chunk's retrieval text."""
    owned = np.zeros(len(sentences), dtype=bool)
    rows: list[list[int]] = []
    spans: list[list[tuple[int, int]]] = []
    for chunk, (lo, hi) in zip(chunks, chunk_sentences):
        offset = chunk_offset(documents_by_id[chunk.doc_id], chunk) - chunk.char_start
        mine, where = [], []
        for row in range(lo, hi):
            _, start, end, _ = sentences[row]
            if not owned[row] and chunk.char_start <= start and end <= chunk.char_end:
                owned[row] = True
                mine.append(row)
                where.append((start + offset, end + offset))
        rows.append(mine)
        spans.append(where)
    return rows, spans


@contextmanager
def closing(embed: Any) -> Iterator[Any]:
    """A runner's embed function, closed after use if it can be (a pool of encoder processes), also on errors."""
    with ExitStack() as stack:
        if hasattr(embed, "__exit__"):
            stack.enter_context(embed)
        yield embed


def embed_texts(cache: EmbeddingCache, embed: Any, texts: list[str], stage: str, span: tuple[float, float],
           report: Progress) -> np.ndarray:
    """Vectors for ``texts`` through the cache; progress goes to the caller (the app's bar) and a tqdm bar on a terminal."""
    report(stage, span[0])
    bar = tqdm(desc=stage, unit="text", disable=not sys.stderr.isatty(), leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        report(stage, span[0] + (span[1] - span[0]) * done / max(total, 1))

    try:
        # a runner's embedder may want bigger blocks (a Ray pipeline starts its actors once per call)
        return cache.encode(texts, embed, advance, block=getattr(embed, "block", None))
    finally:
        bar.close()


POOL_BLOCK = 256  # chunks embedded and committed together in a pooled build: what a kill can lose


def pooled_key(text: str, span: tuple[int, int]) -> int:
    """Cache key of a sentence vector pooled from ``text``: never equal to the key of the sentence encoded alone."""
    return text_key(f"\0pooled\0{span[0]}:{span[1]}\0{text}")


def embed_pooled(cache: EmbeddingCache, encoder: Any, texts: list[str],
                 owners: tuple[list[list[int]], list[list[tuple[int, int]]]], sentence_texts: list[str],
                 report: Progress) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors and sentence vectors in one forward pass per chunk: each sentence's vector is the mean
    of its tokens' states in the chunk that owns it. A sentence no chunk holds whole, or cut off by the
    encoder's 256-token limit, is encoded on its own. Everything goes through the cache."""
    owned_rows, owned_spans = owners
    chunk_keys = [text_key(t) for t in texts]
    sentence_keys = [[pooled_key(t, span) for span in spans] for t, spans in zip(texts, owned_spans)]
    chunk_vectors, chunk_found = cache.lookup(chunk_keys)
    sentence_vectors = np.zeros((len(sentence_texts), encoder.dim), dtype=np.float32)
    have = np.zeros(len(sentence_texts), dtype=bool)
    flat_keys = [key for keys in sentence_keys for key in keys]
    flat_rows = [row for rows in owned_rows for row in rows]
    found_vectors, found = cache.lookup(flat_keys)
    sentence_vectors[flat_rows] = found_vectors
    have[flat_rows] = found
    todo = [c for c in range(len(texts)) if not chunk_found[c] or not have[owned_rows[c]].all()]
    stage = "embedding chunks and sentences"
    report(stage, 0.2)
    bar = tqdm(total=len(todo), desc=stage, unit="chunk", disable=not sys.stderr.isatty(), leave=False)
    try:
        for start in range(0, len(todo), POOL_BLOCK):
            block = todo[start:start + POOL_BLOCK]
            vectors, pooled = encoder.encode_with_spans([texts[c] for c in block], [owned_spans[c] for c in block])
            chunk_vectors[block] = vectors
            keys, values = [chunk_keys[c] for c in block], [vectors]
            for c, per_span in zip(block, pooled):
                for row, key, vector in zip(owned_rows[c], sentence_keys[c], per_span):
                    if vector is not None:
                        sentence_vectors[row], have[row] = vector, True
                        keys.append(key)
                        values.append(vector[None, :])
            cache.store(keys, np.concatenate(values))
            bar.update(len(block))
            report(stage, 0.2 + 0.7 * min(start + POOL_BLOCK, len(todo)) / max(len(todo), 1))
    finally:
        bar.close()
    alone = np.flatnonzero(~have)  # not held whole by a chunk, or truncated: encoded on its own
    if len(alone):
        sentence_vectors[alone] = embed_texts(cache, encoder.encode_documents, [sentence_texts[r] for r in alone], "embedding sentences", (0.9, 0.95), report)
        # stored under their pooled keys too, so a rebuild finds every sentence of its chunks and skips the chunk
        pooled = {row: key for keys, rows in zip(sentence_keys, owned_rows) for row, key in zip(rows, keys)}
        again = [r for r in alone if r in pooled]
        if again:
            cache.store([pooled[r] for r in again], sentence_vectors[again], computed=False)
    return chunk_vectors, sentence_vectors
