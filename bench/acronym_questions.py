"""Questions asking only for an acronym ("What is PPE?"): answered as expansion questions vs as plain questions.

    .venv/bin/python bench/acronym_questions.py

Asks every answerable COVID-QA train question that is an acronym alone, twice in one run on the same
engine: with today's question kinds, and with the acronym rule taken out (the question then falls to the next
kind that matches, as before 2026-12-01). Counts answers holding the gold answer (train-selector's test).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval" / "covid-qa"


def main() -> int:
    import lifqa.search.question as selector
    from lifqa.engine import Engine
    from lifqa.train import gold_training_set
    from lifqa.train_selector import holds_answer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    args = parser.parse_args()
    s = gold_training_set(EVAL / "gold.jsonl", EVAL / "corpus.jsonl", args.cache)
    engine = Engine.open(s.index)
    shipped = selector._QUESTION_KINDS
    at = next((i for i, (kind, pattern) in enumerate(shipped) if kind == "expansion" and "[A-Z]+" in pattern.pattern), None)
    assert at is not None, "the acronym rule is gone; update this bench"
    acronym_rule = shipped[at]
    questions = [q for q in s.questions if q.answerable and q.answers and acronym_rule[1].search(engine.clean_question(q.question)[0])]
    for label, kinds in (("as plain questions (before)", shipped[:at] + shipped[at + 1:]), ("as expansion questions (now)", shipped)):
        selector._QUESTION_KINDS = kinds
        hits = sum(holds_answer(" ".join(x.text for x in engine.ask(q.question).sentences), q.answers) for q in questions)
        print(f"{label}: {hits} of {len(questions)} answers hold the gold answer")
    selector._QUESTION_KINDS = shipped
    return 0


if __name__ == "__main__":
    run(main)
