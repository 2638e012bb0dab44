"""Embedding throughput on a local Ray cluster with 1 and 2 workers, and a PubMed-scale estimate on paper.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/ray_scale.py                  # 128 chunks, 512 sentences
    PYTHONPATH=. .venv/bin/python bench/ray_scale.py --chunks 64 --sentences 256

The same texts as bench/encode.py (COVID-QA chunks as `lifqa index` makes them, and their sentences)
go through `RayRunner.embedder` (Ray Data map_batches, one encoder per actor) with 1 and then 2 actors,
each in a fresh process and local cluster, chunks and sentences in one pipeline as a build sends them.
Each figure includes starting the actors (loading the model), as a build pays it; the local encoder's
rate in the same run is the reference. The estimate for PubMed (36 M abstracts) takes SciFact's shape as typical of
abstracts (5,183 abstracts -> 15,385 chunks and 49,692 sentences: 2.97 chunks and 9.59 sentences each)
and the measured per-worker rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main, save_result  # noqa: E402
from bench.encode import load_texts  # noqa: E402

PUBMED = 36_000_000
CHUNKS_PER_ABSTRACT = 15_385 / 5_183
SENTENCES_PER_ABSTRACT = 49_692 / 5_183


def measure(workers: int, chunks: list[str], sentences: list[str]) -> dict:
    """One fresh local cluster, one pipeline (chunks and sentences together, as a build sends them)."""
    from lifqa.encoder import get_encoder
    from lifqa.index.ray_build import RayRunner

    encoder = get_encoder()
    clock = time.perf_counter()
    runner = RayRunner(workers=workers, num_cpus=2)
    started = time.perf_counter() - clock
    clock = time.perf_counter()
    runner.embedder(encoder)(chunks + sentences)
    seconds = time.perf_counter() - clock
    return {"workers": workers, "cluster_start_s": round(started, 1), "embed_s": round(seconds, 1),
            "texts_per_s": round((len(chunks) + len(sentences)) / seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure this many workers, print JSON
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ray_scale.json")
    args = parser.parse_args()
    chunks, sentences, _, _ = load_texts(args.chunks, args.sentences)
    if args.one:
        print(json.dumps(measure(args.one, chunks, sentences)))
        return 0
    from lifqa.encoder import get_encoder

    encoder = get_encoder()
    encoder.encode(chunks[:8])
    clock = time.perf_counter()
    encoder.encode(chunks + sentences)
    local = (len(chunks) + len(sentences)) / (time.perf_counter() - clock)
    result: dict = {"variant": encoder.variant, "load_avg_start": os.getloadavg(), "texts": {"chunks": len(chunks), "sentences": len(sentences)},
                    "local_texts_per_s": round(local, 2)}
    for workers in (1, 2):  # a fresh process and cluster each: nothing warm carries over
        done = subprocess.run([sys.executable, __file__, "--one", str(workers), "--chunks", str(args.chunks), "--sentences", str(args.sentences)],
                              capture_output=True, text=True, check=True)
        result[f"workers_{workers}"] = json.loads(done.stdout.strip().splitlines()[-1])
        print(result[f"workers_{workers}"], file=sys.stderr, flush=True)
    # per abstract: SciFact's chunks and sentences, at the one-worker rate (startup included, so conservative)
    texts_per_abstract = CHUNKS_PER_ABSTRACT + SENTENCES_PER_ABSTRACT
    seconds_per_abstract = texts_per_abstract / result["workers_1"]["texts_per_s"]
    worker_hours = PUBMED * seconds_per_abstract / 3600
    result["pubmed_estimate"] = {
        "abstracts": PUBMED, "texts_per_abstract": round(texts_per_abstract, 2),
        "seconds_per_abstract_per_worker": round(seconds_per_abstract, 3), "worker_hours": round(worker_hours),
        "hours_on_10_machines_of_32_workers": round(worker_hours / 320, 1),
        "machines_of_32_workers_for_24_hours": int(-(-worker_hours // (24 * 32))),
        "note": "one worker = one core running one actor; linear scaling assumed; this bench's text mix "
                f"({len(chunks)} chunks : {len(sentences)} sentences) approximates SciFact's 1 : 3.2",
    }
    result["load_avg_end"] = os.getloadavg()
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run_main(main)
