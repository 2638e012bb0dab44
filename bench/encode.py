"""Encoder throughput: sentence-transformers' own encode and every lifqa variant side by side, in one run, on this machine.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/encode.py            # 192 chunks, 768 sentences, 2 rounds
    PYTHONPATH=. .venv/bin/python bench/encode.py --chunks 64 --sentences 256 --rounds 1

Texts are real: COVID-QA articles ($LIFQA_EVAL_DATA/covid-qa/corpus.jsonl, else the bundled LIF
corpus) chunked exactly as `lifqa index` chunks them (retrieval text: title, section, ~700 characters),
and their sentences. Every variant encodes the same texts; rounds are interleaved (variant A, B, ...,
then again) so a load spike on the shared machine hits all variants alike, and the best round counts.
Cosine is to sentence-transformers' fp32 vectors (its own encode, the path before lifqa's encoder; "x st" is the
speed-up over it). Every in-process path starts and ends on the same torch threads (asserted).

Rows:
- sentence-transformers fp32: SentenceTransformer.encode (already length-sorted inside sentence-transformers)
- torch-fp32 / torch-bf16 / onnx-fp32 / onnx-int8: lifqa.encoder variants (length-sorted, own pooling)
- onnx-fp32 no graph opt: the graph-optimisation lever alone
- torch-bf16 1 thread: the thread lever (default: one thread per core)
- torch-bf16 / torch-fp32 / onnx-fp32, N processes x 1 thread: lifqa.encoder_pool (a build's `encode_workers`), one
  single-threaded encoder per process; their start-up (spawn, import torch, load the model) is timed apart
  and left out of the rates, and the texts a build needs before the pool pays for it are derived from it
- pooled: chunks plus their sentences from one forward pass, against chunks then sentences encoded
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

from bench.common import run as run_main  # noqa: E402
from lifqa.chunking import chunk_document, split_sentences  # noqa: E402
from lifqa.sources import read_sources  # noqa: E402
from lifqa.encoder import Encoder, cpu_flags, fast_bf16, resolve_variant  # noqa: E402
from lifqa.chunking import retrieval_text  # noqa: E402
from lifqa.index.embed import sentence_owners  # noqa: E402
from lifqa.encoder_pool import EncoderPool, usable_cores  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))


def chunked(documents: list, n_chunks: int, n_sentences: int = 0):
    """Documents chunked and split as `lifqa index` does, until ``n_chunks`` chunks and ``n_sentences`` sentences:
    (documents by id, chunks cut to ``n_chunks``, each chunk's range of sentence rows, sentences as (doc, start, end,
    heading))."""
    by_id = {d.doc_id: d for d in documents}
    chunks, ranges, sentences = [], [], []
    for doc in documents:
        found = split_sentences(doc.text)
        base = len(sentences)
        sentences.extend((doc.doc_id, s.start, s.end, s.is_heading) for s in found)
        starts = np.asarray([s.start for s in found])
        ends = np.asarray([s.end for s in found])
        for chunk in chunk_document(doc, 700, 150):
            chunks.append(chunk)
            ranges.append((base + int(np.searchsorted(starts, chunk.char_start)), base + int(np.searchsorted(ends, chunk.char_end, side="right"))))
        if len(chunks) >= n_chunks and len(sentences) >= n_sentences:
            break
    return by_id, chunks[:n_chunks], ranges[:n_chunks], sentences


def load_texts(n_chunks: int, n_sentences: int):
    source = DATA / "covid-qa" / "corpus.jsonl"
    documents = list(read_sources(source if source.is_file() else ROOT / "corpus").documents)
    by_id, chunks, ranges, sentences = chunked(documents, n_chunks, n_sentences)
    chunk_texts = [retrieval_text(by_id[c.doc_id], c) for c in chunks]
    sentence_texts = [by_id[d].text[s:e] for d, s, e, _ in sentences[:n_sentences]]
    # sentences of the measured chunks, for the pooled-vs-separate comparison
    lo, hi = ranges[0][0], ranges[-1][1]
    own_rows, own_spans = sentence_owners(by_id, chunks, ranges, sentences)
    own_sentences = [by_id[d].text[s:e] for d, s, e, _ in sentences[lo:hi]]
    return chunk_texts, sentence_texts, own_spans, own_sentences


def tokens(encoder: Encoder, texts: list[str]) -> int:
    return sum(len(ids) for ids in (row.ids for row in encoder.tokenizer.encode(texts)))


def cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    c = (a * b).sum(1)
    return float(c.min()), float(c.mean())


def run(args: argparse.Namespace) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    chunks, sentences, spans, own_sentences = load_texts(args.chunks, args.sentences)
    base = Encoder(variant="torch-fp32")
    today = SentenceTransformer(base.model_path, device="cpu", local_files_only=True)
    threads = torch.get_num_threads()

    def same_threads(name: str) -> None:
        """Every in-process path runs with the same torch threads: a path that leaves torch on one thread would
        make the next one look slow (and a speed-up against it look large)."""
        assert torch.get_num_threads() == threads, f"{name}: torch on {torch.get_num_threads()} threads, not {threads}"

    def st_encode(texts):
        return today.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    encoders = {v: (base if v == "torch-fp32" else Encoder(variant=v)) for v in ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")}
    noopt = Encoder(variant="onnx-fp32")
    import onnxruntime as ort

    from lifqa.encoder import onnx_model
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    noopt._session = ort.InferenceSession(str(onnx_model(lambda: noopt._transformer, noopt.model_path, "fp32")), options,
                                          providers=["CPUExecutionProvider"])

    def one_thread(encoder):
        def encode(texts):
            encoder._threads = 1
            try:
                return encoder.encode(texts)
            finally:
                encoder._threads = threads
        return encode

    rows = {"sentence-transformers fp32": st_encode}
    rows.update({name: enc.encode for name, enc in encoders.items()})
    rows["onnx-fp32 no graph opt"] = noopt.encode
    rows["torch-bf16 1 thread"] = one_thread(encoders["torch-bf16"])
    pools, startup = {}, {}
    for variant in ("torch-bf16", "torch-fp32", "onnx-fp32"):
        clock = time.perf_counter()
        pools[variant] = EncoderPool(base.model_path, 64, variant, args.workers)
        pools[variant].encode(sentences[:64 * args.workers])  # every worker started, torch imported, model loaded
        startup[variant] = round(time.perf_counter() - clock, 2)
        rows[f"{variant}, {args.workers} processes x 1 thread"] = pools[variant].encode
    kinds = {"chunks": chunks, "sentences": sentences}
    n_tokens = {kind: tokens(base, texts) for kind, texts in kinds.items()}
    best: dict[tuple[str, str], float] = {}
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for name, encode in rows.items():  # warm-up: first calls allocate
        encode(chunks[:8])
    for round_ in range(args.rounds):
        for kind, texts in kinds.items():
            for name, encode in rows.items():
                same_threads(name)
                clock = time.perf_counter()
                out = encode(texts)
                seconds = time.perf_counter() - clock
                same_threads(name)
                best[(name, kind)] = min(best.get((name, kind), 1e9), seconds)
                vectors[(name, kind)] = out
                print(f"round {round_ + 1} {kind:9s} {name:36s} {len(texts) / seconds:8.1f} texts/s", file=sys.stderr, flush=True)
    # chunks and their sentences: two passes against one pooled pass
    pooled_best: dict[str, float] = {}
    for round_ in range(args.rounds):
        for variant in ("torch-fp32", "torch-bf16", "onnx-fp32"):
            enc = encoders[variant]
            same_threads(variant)
            clock = time.perf_counter()
            enc.encode(chunks)
            enc.encode(own_sentences)
            separate = time.perf_counter() - clock
            same_threads(variant)
            clock = time.perf_counter()
            enc.encode_with_spans(chunks, spans)
            pooled = time.perf_counter() - clock
            same_threads(variant)
            pooled_best[f"{variant} separate"] = min(pooled_best.get(f"{variant} separate", 1e9), separate)
            pooled_best[f"{variant} pooled"] = min(pooled_best.get(f"{variant} pooled", 1e9), pooled)
    for pool in pools.values():
        pool.close()
    # Texts from which a pool pays for its start-up, against the same variant in one process.
    crossover = {}
    for variant, seconds in startup.items():
        pooled = f"{variant}, {args.workers} processes x 1 thread"
        for kind, texts in kinds.items():
            saved = (best[(variant, kind)] - best[(pooled, kind)]) / len(texts)  # seconds saved per text
            crossover[f"{variant} {kind}"] = round(seconds / saved) if saved > 0 else None
    table = []
    for name in rows:
        entry = {"variant": name}
        for kind, texts in kinds.items():
            seconds = best[(name, kind)]
            low, mean = cosine(vectors[(name, kind)], vectors[("sentence-transformers fp32", kind)])
            entry[kind] = {"texts_per_s": round(len(texts) / seconds, 1), "tokens_per_s": round(n_tokens[kind] / seconds),
                           "speedup": round(best[("sentence-transformers fp32", kind)] / seconds, 2),
                           "cos_min": round(low, 6), "cos_mean": round(mean, 6)}
        table.append(entry)
    return {
        "machine": {"cpu_flags_bf16": sorted({"avx512_bf16", "amx_bf16", "amx_tile"} & cpu_flags()), "fast_bf16": fast_bf16(),
                    "torch_capability": torch.backends.cpu.get_cpu_capability(), "threads": threads,
                    "auto_variant": resolve_variant("auto"), "load_avg": os.getloadavg()},
        "texts": {"chunks": len(chunks), "chunk_tokens": n_tokens["chunks"], "sentences": len(sentences),
                  "sentence_tokens": n_tokens["sentences"], "pooled_chunks": len(chunks), "pooled_sentences": len(own_sentences)},
        "rounds": args.rounds,
        "table": table,
        "pooled_seconds": {k: round(v, 2) for k, v in pooled_best.items()},
        "workers": args.workers,
        "pool_startup_seconds": startup,
        "pool_crossover_texts": crossover,
    }


def markdown(result: dict) -> str:
    lines = ["| variant | chunks/s | chunk tokens/s | x st | cos min (mean) | sentences/s | sentence tokens/s | x st | cos min (mean) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in result["table"]:
        c, s = e["chunks"], e["sentences"]
        lines.append(f"| {e['variant']} | {c['texts_per_s']} | {c['tokens_per_s']} | {c['speedup']} | {c['cos_min']:.5f} ({c['cos_mean']:.5f}) "
                     f"| {s['texts_per_s']} | {s['tokens_per_s']} | {s['speedup']} | {s['cos_min']:.5f} ({s['cos_mean']:.5f}) |")
    p = result["pooled_seconds"]
    lines.append("")
    lines.append(f"{result['texts']['pooled_chunks']} chunks with their {result['texts']['pooled_sentences']} sentences: "
                 + "; ".join(f"{k} {v} s" for k, v in p.items()))
    if "pool_startup_seconds" in result:
        lines.append(f"Pool start-up ({result['workers']} processes, not in the rates above): "
                     + "; ".join(f"{k} {v} s" for k, v in result["pool_startup_seconds"].items())
                     + ". Texts from which the pool pays for it, against the same variant in one process: "
                     + "; ".join(f"{k} {v}" for k, v in result["pool_crossover_texts"].items()))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=192)
    parser.add_argument("--sentences", type=int, default=768)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=usable_cores(), help="processes of the pool rows (default: usable cores)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "encode.json")
    args = parser.parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["machine"]))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    run_main(main)
