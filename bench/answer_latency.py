"""Ask latency of the answer paths side by side: the selector alone (answer_model=features) and with the relevance
model, as answering runs it (its ONNX graph, fp32) and as training runs it (torch bf16 where the CPU has bf16 units,
torch fp32), on one open index, same threads.

    .venv/bin/python bench/answer_latency.py --index DIR [--gold FILE --split test] [--repeats 3] [--batch 64]

Every question is asked once per path to warm up, then ``--repeats`` times; p50/p95 of the engine's own total_ms.
Batch throughput: ``ask_many`` over the first ``--batch`` questions, per path. First answer after start: a fresh
process opens the index and answers one question (model loads included), per runtime.
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
engine = Engine.open(sys.argv[1], answer_model="relevance", finetuned_runtime=sys.argv[3])
answer = engine.ask(sys.argv[2])
print(round(time.perf_counter() - started, 3), answer.abstained)
"""


def paths(engine: Any) -> dict[str, tuple[Any, bool | None]]:
    in_torch = engine.with_settings(answer_model="relevance", finetuned_runtime="torch")
    return {"features": (engine.with_settings(answer_model="features"), None),
            "relevance onnx fp32": (engine.with_settings(answer_model="relevance"), None),
            "relevance torch bf16": (in_torch, True),
            "relevance torch fp32": (in_torch, False)}


def main() -> int:
    import torch

    from lifqa import relevance
    from lifqa.encoder import fast_bf16
    from lifqa.engine import Engine

    args, questions = ask_latency_args(__doc__)
    engine = Engine.open(args.index)
    model = relevance.get_relevance_model(runtime="torch")
    report: dict[str, Any] = {"index": Path(args.index).name, "questions": len(questions), "repeats": args.repeats,
                              "threads": torch.get_num_threads(), "cpu_bf16": fast_bf16(),
                              "answer_candidates": engine.settings.answer_candidates, "paths": {}}
    for name, (variant, bf16) in paths(engine).items():
        if bf16 is not None:
            model.bf16 = bf16
        for q in questions:
            variant.ask(q)
        totals = [variant.ask(q).timings_ms["total_ms"] for _ in range(args.repeats) for q in questions]
        clock = time.perf_counter()
        variant.ask_many(questions[: args.batch])
        batch_s = time.perf_counter() - clock
        report["paths"][name] = {"p50_ms": round(float(np.percentile(totals, 50)), 1),
                                 "p95_ms": round(float(np.percentile(totals, 95)), 1),
                                 "batch_questions_per_s": round(min(len(questions), args.batch) / batch_s, 2)}
        print(name, report["paths"][name], flush=True)
    model.bf16 = fast_bf16()
    report["first_answer_s"] = {}
    for runtime in ("onnx", "torch"):
        out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, args.index, questions[0], runtime], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        report["first_answer_s"][runtime] = float(out.stdout.split()[0])
    report["load_avg"] = os.getloadavg()
    save_result(args.out, report)
    return 0


if __name__ == "__main__":
    run(main)
