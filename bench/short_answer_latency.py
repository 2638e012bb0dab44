"""Ask latency with and without the short answer, side by side on one open index, same threads.

    .venv/bin/python bench/short_answer_latency.py --index DIR [--gold FILE --split test] [--repeats 3] --out FILE

Paths: short_answer=false (the answer before the span reader) and short_answer=true with the reader as answering runs
it (its ONNX graph, fp32) and as training runs it (torch fp32 and, where the CPU has bf16 units, torch bf16). Every question is asked once per path to warm up, then
``--repeats`` times, paths interleaved per repeat so a load spike hits all alike; p50/p95 of the engine's own
total_ms and of the reader's own short_answer_ms. Batch throughput: ``ask_many`` over the first ``--batch`` questions.
First answer after start: a fresh process opens the index and answers one question (every model load included).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import ask_latency_args, run, save_result  # noqa: E402

FIRST_ANSWER = """
import sys, time
started = time.perf_counter()
from lifqa.engine import Engine
engine = Engine.open(sys.argv[1], short_answer=sys.argv[3] == "on")
answer = engine.ask(sys.argv[2])
print(round(time.perf_counter() - started, 3), answer.abstained, answer.short_answer is not None)
"""


def main() -> int:
    import torch

    from lifqa.answer.short import get_span_reader
    from lifqa.encoder import fast_bf16
    from lifqa.engine import Engine

    args, questions = ask_latency_args(__doc__)
    engine = Engine.open(args.index)
    reader = get_span_reader(runtime="torch")
    in_torch = engine.with_settings(short_answer=True, finetuned_runtime="torch")
    paths: dict[str, tuple[Any, bool | None]] = {"without short answer": (engine.with_settings(short_answer=False), None),
                                                 "short answer, onnx fp32": (engine.with_settings(short_answer=True), None),
                                                 "short answer, torch fp32": (in_torch, False)}
    if fast_bf16():
        paths["short answer, torch bf16"] = (in_torch, True)
    report: dict[str, Any] = {"index": Path(args.index).name, "questions": len(questions), "repeats": args.repeats,
                              "threads": torch.get_num_threads(), "cpu_bf16": fast_bf16(), "paths": {}}
    totals: dict[str, list[float]] = {name: [] for name in paths}
    reading: dict[str, list[float]] = {name: [] for name in paths}
    shown: dict[str, int] = {name: 0 for name in paths}
    for repeat in range(args.repeats + 1):
        for name, (variant, bf16) in paths.items():
            if bf16 is not None:
                reader.bf16 = bf16
            for q in questions:
                answer = variant.ask(q)
                if repeat:  # the first pass warms up
                    totals[name].append(answer.timings_ms["total_ms"])
                    reading[name] += [answer.timings_ms["short_answer_ms"]] if "short_answer_ms" in answer.timings_ms else []
                    shown[name] += answer.short_answer is not None
    for name, (variant, bf16) in paths.items():
        if bf16 is not None:
            reader.bf16 = bf16
        clock = time.perf_counter()
        variant.ask_many(questions[: args.batch])
        batch_s = time.perf_counter() - clock
        report["paths"][name] = {"p50_ms": round(float(np.percentile(totals[name], 50)), 1),
                                 "p95_ms": round(float(np.percentile(totals[name], 95)), 1),
                                 "reader_p50_ms": round(float(np.percentile(reading[name], 50)), 1) if reading[name] else None,
                                 "reader_p95_ms": round(float(np.percentile(reading[name], 95)), 1) if reading[name] else None,
                                 "short_answers_shown": round(shown[name] / max(1, len(totals[name])), 3),
                                 "batch_questions_per_s": round(min(len(questions), args.batch) / batch_s, 2)}
        print(name, report["paths"][name], flush=True)
    report["first_answer_s"] = {}
    for setting in ("off", "on"):
        out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, args.index, questions[0], setting], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        report["first_answer_s"][f"short answer {setting}"] = float(out.stdout.split()[0])
    print("first answer after start (s):", report["first_answer_s"], flush=True)
    report["load_avg"] = os.getloadavg()
    save_result(args.out, report)
    return 0


if __name__ == "__main__":
    run(main)
