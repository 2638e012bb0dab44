"""Speed on the LIF corpus: index build time, warm `ask` latency per mode, peak memory.

    .venv/bin/python bench/latency.py [--index DIR] [--repeats 5]

Builds a fresh index in a temporary folder (timed, model load included and
reported separately), then asks every gold question `--repeats` times per mode
after one warm-up pass and prints p50/p95 of the engine's own total_ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifqa.encoder import get_encoder  # noqa: E402
from lifqa.engine import Engine  # noqa: E402
from lifqa.gold import load_gold  # noqa: E402
from lifqa.index.build import build_index  # noqa: E402
from lifqa.settings import MODES, make_settings  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = make_settings()
    clock = time.perf_counter()
    get_encoder(settings.model_path, settings.encode_batch_size)
    model_load_s = time.perf_counter() - clock
    with tempfile.TemporaryDirectory() as tmp:
        clock = time.perf_counter()
        result = build_index(args.corpus, tmp, settings)
        build_s = time.perf_counter() - clock
        clock = time.perf_counter()
        engine = Engine.open(tmp)
        open_s = time.perf_counter() - clock
        questions = [q.question for q in load_gold(ROOT / "corpus" / "gold" / "lif_questions.jsonl").questions]
        report = {
            "documents": result.manifest["counts"]["documents"],
            "chunks": result.manifest["counts"]["chunks"],
            "model_load_s": round(model_load_s, 2),
            "index_build_s": round(build_s, 2),
            "engine_open_s": round(open_s, 3),
            "questions": len(questions),
            "repeats": args.repeats,
            "modes": {},
        }
        for mode in MODES:
            for question in questions:  # warm-up
                engine.ask(question, mode=mode)
            totals = [engine.ask(q, mode=mode).timings_ms["total_ms"] for _ in range(args.repeats) for q in questions]
            report["modes"][mode] = {
                "p50_ms": round(float(np.percentile(totals, 50)), 1),
                "p95_ms": round(float(np.percentile(totals, 95)), 1),
                "mean_ms": round(statistics.fmean(totals), 1),
            }
        report["peak_rss_mb"] = round(peak_rss_mb(), 0)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"LIF corpus: {report['documents']} documents, {report['chunks']} chunks")
    print(f"model load {report['model_load_s']} s; index build {report['index_build_s']} s (model already loaded); engine open {report['engine_open_s']} s")
    print(f"warm ask latency over {len(questions)} questions x {args.repeats} repeats:")
    print(f"  {'mode':<15} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for mode, row in report["modes"].items():
        print(f"  {mode:<15} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['mean_ms']:>8}")
    print(f"peak RSS {report['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
