"""Retrieval and answers with each encoder variant, side by side: the test a faster variant must pass to become a default.

    LIFQA_EVAL_DATA=../shared/eval PYTHONPATH=. .venv/bin/python bench/encoder_quality.py \
        --variants onnx-fp32,onnx-int8 --out bench/results/encoder_quality.json

Each variant builds its own index of each corpus (the evaluation cache, indexes/eval) and is evaluated on the train
split, which decides, and on the held-out split, which is only reported: COVID-QA train / dev, SciFact train / test,
the LIF gold train / test split. The first variant is the reference; a variant is acceptable when nDCG@10 and
answer_hit stay within --tolerance (0.005) of it on every train split. Build seconds are from the same run, one build at
a time (an index already in the cache is not rebuilt: its build seconds are then missing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run, save_result  # noqa: E402
from lifqa.eval_cache import cache_dir, cached_index  # noqa: E402
from lifqa.index.build import index_status  # noqa: E402
from lifqa.evaluate import run_eval  # noqa: E402
from lifqa.settings import make_settings  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
METRICS = ("ndcg@10", "recall@5", "answer_hit", "answer_recall@k", "answer_words")
JUDGED = ("ndcg@10", "answer_hit")


def corpora(data: Path) -> dict[str, dict]:
    return {
        "covid-qa": {"gold": data / "covid-qa" / "gold.jsonl", "corpus": data / "covid-qa" / "corpus.jsonl",
                     "splits": ("train", "dev")},
        "scifact": {"beir": data / "scifact", "corpus": data / "scifact" / "corpus.jsonl", "splits": ("train", "test")},
        "lif": {"gold": ROOT / "corpus" / "gold" / "lif_questions.jsonl", "corpus": ROOT / "corpus", "splits": ("train", "test")},
    }


def evaluate_variant(variant: str, specs: dict[str, dict], modes: list[str], cache: str) -> dict:
    overrides = {"encoder": variant}
    out: dict = {}
    settings = make_settings(**overrides)
    for name, spec in specs.items():
        built_before = index_status(spec["corpus"], cache_dir(spec["corpus"], settings, cache), settings) == "current"
        clock = time.perf_counter()
        index = cached_index(spec["corpus"], settings, cache)
        out[name] = {"index": Path(index).name,
                     "build_seconds": None if built_before else round(time.perf_counter() - clock, 1)}
        for split in spec["splits"]:
            result = run_eval(gold=spec.get("gold"), beir=spec.get("beir"), index=index, split=split, modes=modes,
                              overrides=overrides)
            out[name][split] = {mode: {m: result.modes[mode].get(m) for m in METRICS} for mode in result.modes}
            print(f"{variant} {name} {split}: " + "; ".join(
                f"{mode} " + " ".join(f"{m}={v:.4f}" for m, v in figures.items() if isinstance(v, float))
                for mode, figures in out[name][split].items()), file=sys.stderr, flush=True)
    return out


def deltas(reference: dict, other: dict, specs: dict[str, dict], tolerance: float) -> dict:
    """Largest gap to the reference on the judged metrics, per kind of split (train decides, held-out is reported)."""
    gaps = {"train": 0.0, "held_out": 0.0}
    for name, spec in specs.items():
        for split in spec["splits"]:
            kind = "train" if split == "train" else "held_out"
            for mode, figures in reference[name][split].items():
                for metric in JUDGED:
                    a, b = figures.get(metric), other[name][split][mode].get(metric)
                    if isinstance(a, float) and isinstance(b, float):
                        gaps[kind] = max(gaps[kind], abs(a - b))
    return {"max_gap_train": round(gaps["train"], 4), "max_gap_held_out": round(gaps["held_out"], 4),
            "acceptable": gaps["train"] <= tolerance}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="onnx-fp32,onnx-int8", help="encoder variants; the first is the reference")
    parser.add_argument("--only", default="covid-qa,scifact,lif")
    parser.add_argument("--modes", default="dense,hybrid+rerank")
    parser.add_argument("--tolerance", type=float, default=0.005)
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "encoder_quality.json")
    args = parser.parse_args()
    specs = {name: spec for name, spec in corpora(DATA).items() if name in args.only.split(",")}
    variants = [v for v in args.variants.split(",") if v]
    modes = [m for m in args.modes.split(",") if m]
    results = {variant: evaluate_variant(variant, specs, modes, args.cache) for variant in variants}
    verdicts = {variant: deltas(results[variants[0]], results[variant], specs, args.tolerance) for variant in variants[1:]}
    save_result(args.out, {"load_avg": os.getloadavg(), "reference": variants[0], "tolerance": args.tolerance,
                           "results": results, "verdicts": verdicts})
    return 0


if __name__ == "__main__":
    run(main)
