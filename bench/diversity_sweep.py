"""Passage diversity on the TRAIN splits: passage-level answer recall@5 for the per-document cap and its relaxations.

    .venv/bin/python bench/diversity_sweep.py --gold ../shared/eval/covid-qa/gold.jsonl --index indexes/eval/<covid-qa index>
    .venv/bin/python bench/diversity_sweep.py --gold corpus/gold/lif_questions.jsonl --index indexes/eval/<lif index>

For each train question the reranked candidates are computed once (hybrid+rerank, no cap), then every
rule picks its 5 passages from that same order: the fixed cap of 2 per document (``cap``), no cap, and
the adaptive cap (a document holding at least SHARE of the top WINDOW candidates may take up to RELAXED
passages). Answer recall@5: a gold answer inside one of the five passages; sources@5: distinct documents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402


def pick(order_docs: list[str], k: int, cap: int, window: int, share: float, relaxed: int) -> list[int]:
    top = order_docs[:window]
    dominant = {d for d in set(top) if top.count(d) >= share * len(top)} if window else set()
    taken, skipped, per = [], [], {}
    for i, doc in enumerate(order_docs):
        limit = max(cap, relaxed) if doc in dominant else cap
        if cap <= 0 or per.get(doc, 0) < limit:
            per[doc] = per.get(doc, 0) + 1
            taken.append(i)
        else:
            skipped.append(i)
        if len(taken) == k:
            break
    return (taken + skipped)[:k]


def main() -> int:
    from lifqa.engine import Engine
    from lifqa.eval_metrics import answer_found
    from lifqa.gold import load_gold

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (0: all)")
    args = parser.parse_args()
    engine = Engine.open(args.index, verify=False)
    questions = [q for q in load_gold(args.gold, set(engine.store.sources)).split(args.split).questions if q.answerable and q.answers]
    if args.limit:
        questions = questions[: args.limit]
    per_question = []
    for q, question in zip(questions, engine.questions([q.question for q in questions])):
        hits = engine.searcher.search(question, 30, engine.settings.mode, max_per_doc=0).hits
        per_question.append((q, [h.chunk.doc_id for h in hits], [h.chunk.text for h in hits]))
    rules = [("cap 2", (2, 0, 0.0, 2)), ("no cap", (0, 0, 0.0, 0))]
    for window in (5, 10):
        for share in (0.4, 0.5, 0.6, 0.8):
            for relaxed in (3, 4):
                rules.append((f"adaptive window {window} share {share} up to {relaxed}", (2, window, share, relaxed)))
    print(f"{len(questions)} {args.split} questions with answers; {args.gold}")
    print("| rule | answer recall@5 | sources@5 |\n|---|---:|---:|")
    for name, (cap, window, share, relaxed) in rules:
        found, sources = [], []
        for q, docs, texts_ in per_question:
            chosen = pick(docs, 5, cap, window, share, relaxed)
            found.append(bool(answer_found(q.answers, [texts_[i] for i in chosen])))
            sources.append(len({docs[i] for i in chosen}))
        print(f"| {name} | {np.mean(found):.3f} | {np.mean(sources):.2f} |")
    return 0


if __name__ == "__main__":
    run(main)
