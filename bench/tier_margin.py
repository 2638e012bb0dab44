"""How wide "about equally well" is: the tier margin, swept on a gold set's train split (both have mixed tiers).

    .venv/bin/python bench/tier_margin.py                                   # LIF gold train split
    .venv/bin/python bench/tier_margin.py --gold ../shared/eval/covid-qa/gold.jsonl ../shared/eval/covid-qa/corpus.jsonl

Among answer sentences rated within the margin of the best, the one from the higher-tier source leads
(lifqa.answer.selector.TIER_MARGIN). For each margin, one engine, every answerable train question: the share whose answer
holds a key phrase (lifqa eval's answer_hit), mean answer words, and the tier of the source the answer leads with.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402


def main() -> int:
    from lifqa.engine import Engine
    from lifqa.eval_metrics import answer_hit, answer_text
    from lifqa.train import gold_training_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs=2, metavar=("FILE", "CORPUS"),
                        default=(str(ROOT / "corpus" / "gold" / "lif_questions.jsonl"), str(ROOT / "corpus")))
    parser.add_argument("--margins", default="0,0.05,0.1,0.15,0.2,0.3")
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    args = parser.parse_args()
    s = gold_training_set(args.gold[0], args.gold[1], args.cache)
    engine = Engine.open(s.index)
    questions = [q for q in s.questions if q.answerable and q.answers]
    print(f"{len(questions)} answerable train questions of {args.gold[0]}")
    print("| margin | answer_hit | words | answers led by a high / medium / low tier source |")
    print("|---:|---:|---:|---|")
    for margin in (float(m) for m in args.margins.split(",")):
        engine.selector.tier_margin = margin
        hits, words, leads = 0, 0, Counter()
        for q in questions:
            answer = engine.ask(q.question)
            said = answer_text(answer.sentences)
            hits += bool(answer_hit(q.answers, said))
            words += len(said.split())
            if answer.sentences:
                key = answer.sentences[0].citation_keys[0]
                leads[next(c.tier for c in answer.citations if c.key == key)] += 1
        print(f"| {margin:g} | {hits / len(questions):.3f} | {words / len(questions):.1f} | "
              f"{leads['high']} / {leads['medium']} / {leads['low']} |")
    return 0


if __name__ == "__main__":
    run(main)
