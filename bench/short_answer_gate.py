"""Does the selector's confidence in a sentence tell when a short answer inside it is right? Held train questions only.

    LIFQA_EVAL_DATA=../shared/eval PYTHONPATH=. .venv/bin/python bench/short_answer_gate.py

The held questions are the ones the shipped span reader never saw (its record's held share and seed, split by article
as ``make span-reader`` splits them: 20 % of the COVID-QA train articles and of the LIF train questions). Each is
answered as ``make span-reader`` answers it: the sentences the shipped selector chooses, rated by trees fitted without
that question. The shipped reader then marks its best span in each chosen sentence. For every pair of gates, the
selector's probability for the sentence holding the span and the reader's span probability, the bench reports how many
questions are shown a short answer, how often that answer overlaps the gold answer (the precision the short-answer
issue asks to be 0.85) and the SQuAD F1 over all held questions (none shown scores 0). No dev or test question is read.

``--by-kind`` grids the gates separately for questions asking for a value (identifier, number, quantity, year, place,
entity, expansion) and the others, to see whether one kind of question could be shown more short answers at the same
precision (``bench/results/short_answer_gate_by_kind.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run, save_result  # noqa: E402

EVAL = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
SELECTOR_GATES = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
SPAN_GATES = [0.0, 0.1, 0.2, 0.3, 0.5]
MIN_SHOWN = 10
VALUE_KINDS = ("identifier", "number", "quantity", "year", "place", "entity", "expansion")


def main() -> int:
    from lifqa.answer.selector import SentenceSelector, load_params
    from lifqa.answer.short import asks_for_short_answer, get_span_reader
    from lifqa.eval_metrics import squad_exact, squad_f1
    from lifqa.search.question import question_kind
    from lifqa.train import gold_training_set
    from lifqa.train_relevance import split_rows
    from lifqa.train_selector import answered_rows, out_of_fold

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--by-kind", action="store_true", help="grid value questions and the others separately")
    args = parser.parse_args()
    reader = get_span_reader()
    recipe = reader.record.training["recipe"]
    sets = [gold_training_set(EVAL / "covid-qa" / "gold.jsonl", EVAL / "covid-qa" / "corpus.jsonl"),
            gold_training_set(ROOT / "corpus" / "gold" / "lif_questions.jsonl", ROOT / "corpus")]
    rows, selector_rows, _ = answered_rows(sets)
    _, held = split_rows(rows, recipe["held_share"], recipe["seed"])
    params = load_params()
    oof = out_of_fold(selector_rows, {}, 1.0, params.get("model", "trees"), rated=held)
    selector = SentenceSelector(params)
    shown = []
    for row, probabilities in zip(held, oof):
        question = row.question.question
        chosen = selector.choose(row.candidates, probabilities, 3)
        best = None
        for (candidate, probability), span in zip(chosen, reader.spans(question, [c.text for c, _ in chosen])):
            if span and span[1] > span[0] and (best is None or span[2] > best[1]):
                best = (candidate.text[span[0]:span[1]].strip(), span[2], float(probability))
        kind = question_kind(question)
        shown.append((tuple(row.question.answers), best, asks_for_short_answer(question, kind), kind))

    def figures(selector_gate: float, span_gate: float, kinds: tuple[str, ...] | None = None, value: bool = True) -> dict:
        among = [s for s in shown if kinds is None or ((s[3] in kinds) == value)]
        said = [best[0] if best and asks and best[1] >= span_gate and best[2] >= selector_gate else None
                for _, best, asks, _ in among]
        f1 = [squad_f1(answers, text) or 0.0 for (answers, _, _, _), text in zip(among, said)]
        em = [squad_exact(answers, text) or 0.0 for (answers, _, _, _), text in zip(among, said)]
        seen = [f for f, text in zip(f1, said) if text is not None]
        return {"selector_gate": selector_gate, "span_gate": span_gate, "shown": len(seen),
                "shown_share": round(len(seen) / max(1, len(among)), 4),
                "precision": round(float(np.mean([f > 0 for f in seen])), 4) if seen else None,
                "f1": round(float(np.mean(f1)), 4), "em": round(float(np.mean(em)), 4)}

    if args.by_kind:
        groups = {}
        for name, value in (("value questions", True), ("other questions", False)):
            grid = [figures(a, b, VALUE_KINDS, value) for a in SELECTOR_GATES for b in SPAN_GATES + [0.6]]
            counted = [g for g in grid if g["shown"] >= MIN_SHOWN]
            groups[name] = {"questions": sum((s[3] in VALUE_KINDS) == value for s in shown),
                            "shipped_rule": figures(reader.confidence, reader.threshold, VALUE_KINDS, value),
                            "most_precise": max(counted, key=lambda g: (g["precision"], g["shown"])) if counted else None,
                            "every_span": figures(0.0, 0.0, VALUE_KINDS, value), "grid": grid}
        save_result(ROOT / "bench" / "results" / "short_answer_gate_by_kind.json",
                    {"held_questions": len(shown), "value_kinds": list(VALUE_KINDS), "groups": groups,
                     "load_avg": [round(x, 2) for x in os.getloadavg()]})
        return 0
    grid = [figures(a, b) for a in SELECTOR_GATES for b in SPAN_GATES]
    counted = [g for g in grid if g["shown"] >= MIN_SHOWN]
    precise = [g for g in counted if g["precision"] >= 0.85]
    result = {
        "held_questions": len(shown), "reader_threshold": reader.threshold,
        "shipped_rule": figures(0.0, reader.threshold),
        "best_f1_at_precision_0.85": max(precise, key=lambda g: (g["f1"], -g["selector_gate"])) if precise else None,
        "most_precise": max(counted, key=lambda g: (g["precision"], g["shown"])) if counted else None,
        "grid": grid, "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    save_result(ROOT / "bench" / "results" / "short_answer_gate.json", result)
    return 0


if __name__ == "__main__":
    run(main)
