"""The shipped abstention threshold, refitted on TRAIN splits of several corpora so it generalises.

    .venv/bin/python bench/default_threshold.py --lif-index indexes/eval/<lif> --covid-index indexes/eval/<covid>

The support model (lifqa/data/reranker.json, "support") is read as shipped; only the threshold is varied. Answerable
questions: LIF gold train, COVID-QA train. Unanswerable: LIF gold train's unanswerable questions, SciFact
train claims asked of the LIF and COVID-QA indexes, LIF questions asked of the COVID-QA index, and the
built-in off-topic list asked of both. The threshold is the largest that keeps wrong abstentions within
--max-wrong on every corpus's answerable train questions (a user's first corpus is never calibrated, so
the default must hold on the corpus it fits worst); the table shows what each candidate costs.
It only reports: the shipped threshold is set by `lifqa train-reranker` (`make reranker`) with the same rule, so
that the shipped file is what training writes; this bench shows what each candidate threshold costs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))


def main() -> int:
    from lifqa.calibrate import OFF_TOPIC, support_scores
    from lifqa.engine import Engine
    from lifqa.gold import load_beir, load_gold
    from lifqa.train import SEED

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lif-index", required=True)
    parser.add_argument("--covid-index", required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--max-wrong", type=float, default=0.05)
    parser.add_argument("--negatives", type=int, default=300, help="SciFact train claims per index (seeded sample)")
    args = parser.parse_args()

    lif = Engine.open(args.lif_index, verify=False, use_calibration=False)
    covid = Engine.open(args.covid_index, verify=False, use_calibration=False)
    lif_gold = load_gold(ROOT / "corpus" / "gold" / "lif_questions.jsonl").split("train").questions
    covid_gold = [q for q in load_gold(args.data / "covid-qa" / "gold.jsonl", known_doc_ids=set(covid.store.sources)).split("train").questions
                  if q.answerable]  # questions about articles the index holds (all of them for the full COVID-QA index)
    claims = [q.question for q in load_beir(args.data / "scifact", "train").questions]
    rng = np.random.default_rng(SEED)
    claims = [claims[i] for i in sorted(rng.choice(len(claims), size=min(args.negatives, len(claims)), replace=False))]
    positives = {
        "LIF train": np.asarray(support_scores(lif, [q.question for q in lif_gold if q.answerable])),
        "COVID-QA train": np.asarray(support_scores(covid, [q.question for q in covid_gold])),
    }
    negatives = {
        "LIF train unanswerable": np.asarray(support_scores(lif, [q.question for q in lif_gold if not q.answerable])),
        "SciFact train claims asked of LIF": np.asarray(support_scores(lif, claims)),
        "SciFact train claims asked of COVID-QA": np.asarray(support_scores(covid, claims)),
        "LIF train questions asked of COVID-QA": np.asarray(support_scores(covid, [q.question for q in lif_gold])),
        "off-topic list asked of LIF": np.asarray(support_scores(lif, list(OFF_TOPIC))),
        "off-topic list asked of COVID-QA": np.asarray(support_scores(covid, list(OFF_TOPIC))),
    }
    old = lif.feature_reranker.abstain_threshold
    ceilings = {name: float(np.sort(v)[int(np.floor(args.max_wrong * len(v)))]) for name, v in positives.items()}
    chosen = round(min(ceilings.values()), 4)
    print(f"per-corpus ceilings (wrong abstention <= {args.max_wrong:.0%}): " + ", ".join(f"{k} {v:.4f}" for k, v in ceilings.items()))
    names = list(positives) + list(negatives)
    print("| threshold | " + " | ".join(names) + " |\n|---:|" + "---:|" * len(names))
    for t in sorted({old, chosen, 0.3, 0.4, 0.5}):
        cells = [f"{np.mean(positives[n] < t):.3f} abstain" for n in positives] + [f"{np.mean(negatives[n] < t):.3f} abstain" for n in negatives]
        print(f"| {t:.4f}{' (shipped)' if t == old else ''}{' (chosen)' if t == chosen else ''} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    run(main)
