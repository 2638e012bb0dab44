"""Embedding throughput on a local Ray cluster with 1 and 2 workers, and a PubMed-scale estimate on paper.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/ray_scale.py                  # 128 chunks, 512 sentences
    PYTHONPATH=. .venv/bin/python bench/ray_scale.py --chunks 64 --sentences 256

The same texts as bench/encode.py (COVID-QA chunks as `lifqa index` makes them, and their sentences)
go through `RayRunner.embedder` (Ray Data map_batches, one encoder per actor) with 1 and then 2 actors,
after a warm-up pipeline that starts the cluster. Each figure includes starting the actors (loading the
model), as a build pays it. The estimate for PubMed (36 M abstracts) takes SciFact's shape as typical of
abstracts (5,183 abstracts -> 15,385 chunks and 49,692 sentences: 2.97 chunks and 9.59 sentences each)
and the measured per-worker rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main  # noqa: E402
from bench.encode import load_texts  # noqa: E402

PUBMED = 36_000_000
CHUNKS_PER_ABSTRACT = 15_385 / 5_183
SENTENCES_PER_ABSTRACT = 49_692 / 5_183


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ray_scale.json")
    args = parser.parse_args()
    from lifqa.encoder import get_encoder
    from lifqa.index.ray_build import RayRunner

    chunks, sentences, _, _ = load_texts(args.chunks, args.sentences)
    encoder = get_encoder()
    runner = RayRunner(num_cpus=2)
    runner.workers = 1
    runner.embedder(encoder)(chunks[:4])  # warm-up: Ray Data's first pipeline starts its machinery
    result: dict = {"variant": encoder.variant, "load_avg_start": os.getloadavg(), "texts": {"chunks": len(chunks), "sentences": len(sentences)}}
    for workers in (1, 2):
        runner.workers = workers
        embed = runner.embedder(encoder)
        row = {}
        for kind, texts in (("chunks", chunks), ("sentences", sentences)):
            clock = time.perf_counter()
            embed(texts)
            seconds = time.perf_counter() - clock
            row[f"{kind}_per_s"] = round(len(texts) / seconds, 2)
            print(f"{workers} worker(s) {kind}: {row[f'{kind}_per_s']} texts/s", file=sys.stderr, flush=True)
        result[f"workers_{workers}"] = row
    one = result["workers_1"]
    seconds_per_abstract = CHUNKS_PER_ABSTRACT / one["chunks_per_s"] + SENTENCES_PER_ABSTRACT / one["sentences_per_s"]
    worker_hours = PUBMED * seconds_per_abstract / 3600
    result["pubmed_estimate"] = {
        "abstracts": PUBMED, "seconds_per_abstract_per_worker": round(seconds_per_abstract, 4),
        "worker_hours": round(worker_hours), "hours_on_10_machines_of_32_workers": round(worker_hours / 320, 1),
        "machines_of_32_workers_for_24_hours": int(-(-worker_hours // (24 * 32))),
        "note": "one worker = one core running one actor; assumes linear scaling (measured 1 -> 2 workers above)",
    }
    result["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    run_main(main)
