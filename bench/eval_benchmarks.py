"""Retrieval quality on the public benchmarks and the LIF gold set: every mode, side by side.

    .venv/bin/python bench/eval_benchmarks.py                      # SciFact test, COVID-QA dev, LIF gold test
    .venv/bin/python bench/eval_benchmarks.py --only scifact --set fusion=rrf

Each benchmark is one `lifqa eval` run (the same library call); its index is built once
into the evaluation cache (indexes/eval) and reused. Reports go to bench/results/eval/<name>/
and a combined Markdown table is printed (and saved as bench/results/eval/table.md).
Needs the evaluation data (default ../shared/eval, or $LIFQA_EVAL_DATA); not part of the tests.
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
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402
from lifqa.eval_metrics import METRICS  # noqa: E402
from lifqa.eval_report import format_metric, write_report  # noqa: E402
from lifqa.evaluate import parse_overrides, run_eval  # noqa: E402
from lifqa.settings import MODES  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
SHOWN = ("ndcg@10", "recall@5", "recall@100", "mrr@10", "answer_recall@k", "answer_hit", "answer_words", "citation_precision",
         "abstention_accuracy", "wrong_abstention", "latency_p50_ms", "latency_p95_ms")


def benchmarks(data: Path) -> dict[str, dict]:
    return {
        "scifact": {"title": "SciFact test (300 claims, 5,183 abstracts)", "beir": data / "scifact", "split": "test"},
        "covid": {"title": "COVID-QA dev (203 questions, 124 articles)", "gold": data / "covid-qa" / "gold.jsonl",
                  "corpus": data / "covid-qa" / "corpus.jsonl", "split": "dev"},
        "lif": {"title": "LIF gold test (38 questions, 5 documents)", "gold": ROOT / "corpus" / "gold" / "lif_questions.jsonl",
                "corpus": ROOT / "corpus", "split": "test"},
    }


def stage_printer(name: str):
    """A build reports each stage many times (its fraction moves); print each stage once."""
    seen: set[str] = set()

    def show(stage: str, fraction: float) -> None:
        if stage not in seen:
            seen.add(stage)
            print(f"  [{name}] {stage}", file=sys.stderr, flush=True)

    return show


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with scifact/ and covid-qa/ (default: %(default)s)")
    parser.add_argument("--only", default="scifact,covid,lif", help="benchmarks to run (default: %(default)s)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="setting override, e.g. fusion=rrf")
    parser.add_argument("--index", action="append", default=[], metavar="NAME=DIR",
                        help="use an already built index for a benchmark as is, e.g. scifact=indexes/eval/abc (skips the cache check)")
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "eval")
    parser.add_argument("--label", default="", help="suffix for the report folders, e.g. rrf")
    parser.add_argument("--reranker", help="reranker parameter file to use instead of the shipped one")
    args = parser.parse_args()

    if not args.data.is_dir() and set(args.only.split(",")) - {"lif"}:
        parser.error(f"evaluation data not found: {args.data}. Give --data DIR (with scifact/ and covid-qa/) "
                     "or set LIFQA_EVAL_DATA, or run only the LIF set: --only lif")
    overrides = parse_overrides(args.set)
    indexes = dict(pair.split("=", 1) for pair in args.index)
    modes = [m for m in args.modes.split(",") if m]
    table = []
    for name in [n for n in args.only.split(",") if n]:
        spec = benchmarks(args.data)[name]
        started = time.perf_counter()
        result = run_eval(gold=spec.get("gold"), beir=spec.get("beir"), corpus=spec.get("corpus"), index=indexes.get(name),
                          split=spec["split"], modes=modes, cache_root=args.cache, overrides=overrides, reranker=args.reranker,
                          build_progress=stage_printer(name))
        folder = args.out / (name + (f"-{args.label}" if args.label else ""))
        write_report(result, folder)
        seconds = time.perf_counter() - started
        print(f"{name}: {result.info['n_questions']} questions in {seconds:.0f} s -> {folder}", file=sys.stderr)
        table.append((spec["title"], result))
    lines = []
    for title, result in table:
        lines += [f"**{title}**" + (f" — settings {json.dumps(overrides)}" if overrides else ""), "",
                  "| metric | " + " | ".join(result.modes) + " |", "|---|" + "---:|" * len(result.modes)]
        for metric in (m for m in METRICS if m in SHOWN):
            cells = [format_metric(result.modes[mode].get(metric), metric) for mode in result.modes]
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"table{'-' + args.label if args.label else ''}.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    run(main)
