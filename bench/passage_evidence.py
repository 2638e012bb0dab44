"""Would the passages shown with an answer hold the gold answer more often if they were ordered by their sentences'
evidence? Train questions only.

    LIFQA_EVAL_DATA=../shared/eval PYTHONPATH=. .venv/bin/python bench/passage_evidence.py

For every answerable COVID-QA and LIF train question, the answer path's 20 passages (``answer_depth``) and the selector's
out-of-fold probability for each of their sentences (trees fitted without that question, as ``make selector`` rates
them). A passage holds the answer when one of its sentences does (the selector's label). Each rule picks 5 passages;
the figure is the share of questions with the answer in one of them (passage answer recall@5, from sentence labels):

- ``today``: the first 5 in the searcher's order (reranker, per-document cap);
- ``today + answer passages``: the passages of the two best sentences take the last places, as answers do;
- ``evidence w``: ordered by w x log(reranker probability) + (1 - w) x log(best sentence probability), with no
  per-document cap, and the same again under the searcher's adaptive cap (``diversify_adaptive``).

No dev or test question is read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run, save_result  # noqa: E402

EVAL = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
WEIGHTS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)
SHOWN = 5


def main() -> int:
    from lifqa.answer.selector import load_params
    from lifqa.search.searcher import diversify_adaptive
    from lifqa.train import gold_training_set
    from lifqa.train_selector import answered_rows, out_of_fold

    sets = [gold_training_set(EVAL / "covid-qa" / "gold.jsonl", EVAL / "covid-qa" / "corpus.jsonl"),
            gold_training_set(ROOT / "corpus" / "gold" / "lif_questions.jsonl", ROOT / "corpus")]
    rows, selector_rows, _ = answered_rows(sets)
    oof = out_of_fold(selector_rows, {}, 1.0, load_params().get("model", "trees"), rated=rows)
    questions = []
    for row, probabilities in zip(rows, oof):
        passages: dict[int, dict] = {}
        for candidate, probability, label in zip(row.candidates, probabilities, row.labels):
            p = passages.setdefault(candidate.passage_rank, {"rerank": float(candidate.passage_rerank), "doc": candidate.doc_id,
                                                             "best": 0.0, "holds": False})
            p["best"] = max(p["best"], float(probability))
            p["holds"] |= bool(label)
        questions.append((row.source, [passages[rank] for rank in sorted(passages)]))

    def today(ps: list[dict]) -> list[dict]:
        return ps[:SHOWN]

    def with_answer_passages(ps: list[dict]) -> list[dict]:
        shown = list(ps[:SHOWN])
        best = sorted(ps, key=lambda p: -p["best"])[:2]
        for p in best:
            if p not in shown:
                shown[-1 if shown[-1] not in best else -2] = p
        return shown

    def by_evidence(w: float, capped: bool):
        def rule(ps: list[dict]) -> list[dict]:
            score = np.array([w * np.log(max(p["rerank"], 1e-6)) + (1 - w) * np.log(max(p["best"], 1e-6)) for p in ps])
            order = np.lexsort((np.arange(len(ps)), -score))
            if capped:
                order = diversify_adaptive(order, [ps[int(i)]["doc"] for i in range(len(ps))], SHOWN, 2)
            return [ps[int(i)] for i in order[:SHOWN]]
        return rule

    def recall(rule) -> dict[str, float]:
        out: dict[str, list[int]] = {}
        for source, ps in questions:
            out.setdefault(source, []).append(int(bool(ps) and any(p["holds"] for p in rule(ps))))
        return {source: round(float(np.mean(v)), 4) for source, v in out.items()}

    rules = {"any of the 20": lambda ps: ps, "today": today, "today + answer passages": with_answer_passages}
    rules |= {f"evidence w={w}": by_evidence(w, False) for w in WEIGHTS}
    rules |= {f"evidence w={w}, adaptive cap": by_evidence(w, True) for w in WEIGHTS}
    result = {"questions": {s: sum(1 for q in questions if q[0] == s) for s in dict.fromkeys(q[0] for q in questions)},
              "passage_answer_recall_at_5": {name: recall(rule) for name, rule in rules.items()}}
    save_result(ROOT / "bench" / "results" / "passage_evidence.json", result)
    return 0


if __name__ == "__main__":
    run(main)
