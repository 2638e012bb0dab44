"""Which fusion should be the default? Plain hybrid ranking under each fusion setting, on training splits.

    .venv/bin/python bench/fusion_sweep.py                  # SciFact train + COVID-QA train + LIF gold train
    .venv/bin/python bench/fusion_sweep.py --only scifact --split test

The default fusion is chosen on the training splits (the test splits are only for the final
figures in BENCHMARKS.md, so the choice is not tuned to them). Only the `hybrid` mode is swept:
the reranker was trained on these splits with min-max 50/50 fused scores as a feature, so its
figures here would flatter it. Each setting is one `lifqa eval` run over the cached index.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402
from eval_benchmarks import DATA, benchmarks  # noqa: E402
from lifqa.eval_report import format_metric  # noqa: E402
from lifqa.evaluate import run_eval  # noqa: E402

SETTINGS = {
    "minmax 0.3": {"fusion": "minmax", "fusion_alpha": 0.3},
    "minmax 0.4": {"fusion": "minmax", "fusion_alpha": 0.4},
    "minmax 0.5": {"fusion": "minmax", "fusion_alpha": 0.5},
    "minmax 0.6": {"fusion": "minmax", "fusion_alpha": 0.6},
    "minmax 0.7": {"fusion": "minmax", "fusion_alpha": 0.7},
    "zscore 0.5": {"fusion": "zscore", "fusion_alpha": 0.5},
    "rrf k=60": {"fusion": "rrf", "rrf_k": 60},
}
SHOWN = ("ndcg@10", "recall@5", "recall@100", "mrr@10")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with scifact/ and covid-qa/ (default: %(default)s)")
    parser.add_argument("--only", default="scifact,covid,lif", help="benchmarks to run (default: %(default)s)")
    parser.add_argument("--split", default="train", help="split to sweep on (default: %(default)s)")
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fusion_sweep.md")
    args = parser.parse_args()

    lines = []
    for name in [n for n in args.only.split(",") if n]:
        spec = benchmarks(args.data)[name]
        lines += [f"**{name} {args.split}**, mode hybrid", "", "| fusion | " + " | ".join(SHOWN) + " |",
                  "|---|" + "---:|" * len(SHOWN)]
        for label, overrides in SETTINGS.items():
            started = time.perf_counter()
            result = run_eval(gold=spec.get("gold"), beir=spec.get("beir"), corpus=spec.get("corpus"), split=args.split,
                              modes=["hybrid"], cache_root=args.cache, overrides=overrides)
            metrics = result.modes["hybrid"]
            lines.append(f"| {label} | " + " | ".join(format_metric(metrics.get(m), m) for m in SHOWN) + " |")
            print(f"{name} {label}: {result.info['n_questions']} questions in {time.perf_counter() - started:.0f} s, "
                  f"ndcg@10 {metrics['ndcg@10']:.3f}", file=sys.stderr, flush=True)
        lines.append("")
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    run(main)
