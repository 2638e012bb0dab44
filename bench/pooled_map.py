"""How close sentence vectors pooled from the chunk's forward pass come to the same sentences encoded alone, and
whether a linear map fitted on train articles closes the gap.

    LIFQA_EVAL_DATA=../shared/eval PYTHONPATH=. .venv/bin/python bench/pooled_map.py --chunks 1200

The models that read sentence vectors (reranker, support model, abstention, selector) were trained on sentences
encoded alone; pooled vectors carry their chunk's context and shift those features. A ridge map from
[pooled vector, chunk vector] to the alone vector is fitted on COVID-QA train articles' chunks and judged on dev
articles' chunks (no dev article is fitted on): cosine to the alone vector, plain pooled against mapped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run, save_result  # noqa: E402
from bench.encode import chunked  # noqa: E402
from lifqa.chunking import retrieval_text  # noqa: E402
from lifqa.encoder import Encoder  # noqa: E402
from lifqa.index.embed import sentence_owners  # noqa: E402
from lifqa.sources import read_sources  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))


def article_splits() -> tuple[set[str], set[str]]:
    train, held = set(), set()
    for line in (DATA / "covid-qa" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        (train if row.get("split") == "train" else held).update(row["relevant_doc_ids"])
    return train - held, held


def pooled_rows(encoder: Encoder, documents: list, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pooled sentence vectors, their chunk's vectors, the sentences encoded alone) for up to ``limit`` chunks."""
    by_id, chunks, ranges, sentences = chunked(documents, limit)
    rows, spans = sentence_owners(by_id, chunks, ranges, sentences)
    texts = [retrieval_text(by_id[c.doc_id], c) for c in chunks]
    chunk_vectors, pooled = encoder.encode_with_spans(texts, spans)
    p, c, owned = [], [], []
    for i, (mine, vectors) in enumerate(zip(rows, pooled)):
        for row, vector in zip(mine, vectors):
            if vector is not None:
                p.append(vector)
                c.append(chunk_vectors[i])
                owned.append(row)
    alone = encoder.encode([by_id[sentences[r][0]].text[sentences[r][1]:sentences[r][2]] for r in owned])
    return np.asarray(p), np.asarray(c), alone


def fit_map(pooled: np.ndarray, chunk: np.ndarray, alone: np.ndarray, ridge: float) -> np.ndarray:
    x = np.hstack([pooled, chunk, np.ones((len(pooled), 1), dtype=np.float32)])
    return np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ alone).astype(np.float32)


def apply_map(weights: np.ndarray, pooled: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    y = np.hstack([pooled, chunk, np.ones((len(pooled), 1), dtype=np.float32)]) @ weights
    return y / np.linalg.norm(y, axis=1, keepdims=True)


def cosines(a: np.ndarray, b: np.ndarray) -> dict:
    c = (a * b).sum(1)
    return {"mean": round(float(c.mean()), 4), "p05": round(float(np.quantile(c, 0.05)), 4), "min": round(float(c.min()), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1200, help="train chunks to fit on (dev: a quarter as many)")
    parser.add_argument("--variant", default="onnx-fp32")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pooled_map.json")
    args = parser.parse_args()
    train_ids, held_ids = article_splits()
    documents = list(read_sources(DATA / "covid-qa" / "corpus.jsonl").documents)
    encoder = Encoder(variant=args.variant)
    clock = time.perf_counter()
    train = pooled_rows(encoder, [d for d in documents if d.doc_id in train_ids], args.chunks)
    held = pooled_rows(encoder, [d for d in documents if d.doc_id in held_ids], args.chunks // 4)
    seconds = time.perf_counter() - clock
    result = {"variant": args.variant, "train_sentences": len(train[0]), "held_sentences": len(held[0]),
              "encode_seconds": round(seconds, 1), "load_avg": os.getloadavg(),
              "held_plain_pooled": cosines(held[0], held[2]), "held_chunk_vector": cosines(held[1], held[2])}
    for ridge in (0.1, 1.0, 10.0, 100.0):
        weights = fit_map(*train, ridge)
        result[f"train_mapped_ridge_{ridge:g}"] = cosines(apply_map(weights, train[0], train[1]), train[2])
        result[f"held_mapped_ridge_{ridge:g}"] = cosines(apply_map(weights, held[0], held[1]), held[2])
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run(main)
