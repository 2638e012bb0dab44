"""What the encoder variant that built an index costs at query time: first answer after start and warm ask latency.

    PYTHONPATH=. .venv/bin/python bench/encoder_latency.py --variants torch-fp32,onnx-fp32 --repeats 2

The bundled corpus is built once per variant (the engine encodes queries with the variant that built the index).
First answer after start: a fresh process opens the index and answers one question, every model load included,
``--starts`` times per variant, alternating, median reported. Warm: every LIF gold question asked once to warm up,
then ``--repeats`` times, variants interleaved per repeat; p50/p95 of the engine's total_ms and of the query encoding.
The ONNX graph's one-off export (the first use of an ONNX variant on a machine) is timed into an empty model cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run, save_result  # noqa: E402

FIRST_ANSWER = """
import sys, time
started = time.perf_counter()
from lifqa.engine import Engine
engine = Engine.open(sys.argv[1])
answer = engine.ask(sys.argv[2])
print(round(time.perf_counter() - started, 3), engine.encoder.variant)
"""

EXPORT = """
import time
from lifqa.encoder import Encoder
clock = time.perf_counter()
Encoder(variant="onnx-fp32")
print(round(time.perf_counter() - clock, 2))
"""


def main() -> int:
    from lifqa.engine import Engine
    from lifqa.gold import load_gold
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="torch-fp32,onnx-fp32")
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--gold", default=str(ROOT / "corpus" / "gold" / "lif_questions.jsonl"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "encoder_latency.json")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    questions = [q.question for q in load_gold(args.gold).questions]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    report: dict = {"questions": len(questions), "repeats": args.repeats, "variants": {}}
    with tempfile.TemporaryDirectory(prefix="lifqa-encoder-latency-") as scratch:
        cache = Path(scratch) / "model-cache"
        started = subprocess.run([sys.executable, "-c", EXPORT], capture_output=True, text=True, check=True,
                                 env={**env, "LIFQA_MODEL_CACHE": str(cache)})
        report["onnx_encoder_start_with_export_s"] = float(started.stdout.split()[-1])
        again = subprocess.run([sys.executable, "-c", EXPORT], capture_output=True, text=True, check=True,
                               env={**env, "LIFQA_MODEL_CACHE": str(cache)})
        report["onnx_encoder_start_exported_s"] = float(again.stdout.split()[-1])
        indexes = {}
        for variant in variants:  # build times are not reported: the first build also loads the model
            indexes[variant] = Path(scratch) / variant
            build_index(args.corpus, indexes[variant], make_settings(encoder=variant))
            report["variants"][variant] = {}
        starts: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.starts):
            for variant in variants:
                out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, str(indexes[variant]), questions[0]],
                                     capture_output=True, text=True, check=True, env=env)
                seconds, used = out.stdout.split()[-2:]
                assert used == variant, f"{variant} index queried with {used}"
                starts[variant].append(float(seconds))
        engines = {v: Engine.open(str(indexes[v])) for v in variants}
        totals: dict[str, list[float]] = {v: [] for v in variants}
        encoding: dict[str, list[float]] = {v: [] for v in variants}
        for repeat in range(args.repeats + 1):
            for variant, engine in engines.items():
                for q in questions:
                    answer = engine.ask(q)
                    if repeat:
                        totals[variant].append(answer.timings_ms["total_ms"])
                        encoding[variant].append(answer.timings_ms.get("encode_ms", float("nan")))
    for variant in variants:
        enc = [x for x in encoding[variant] if x == x]
        report["variants"][variant].update({
            "first_answer_s_median": round(statistics.median(starts[variant]), 2), "first_answer_s": starts[variant],
            "ask_p50_ms": round(float(np.percentile(totals[variant], 50)), 1),
            "ask_p95_ms": round(float(np.percentile(totals[variant], 95)), 1),
            "query_encoding_p50_ms": round(float(np.percentile(enc, 50)), 1) if enc else None})
    report["load_avg"] = os.getloadavg()
    save_result(args.out, report)
    return 0


if __name__ == "__main__":
    run(main)
