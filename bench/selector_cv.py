"""Answer-sentence selector on the TRAIN splits only: out-of-fold hit of the chosen answer.

    .venv/bin/python bench/selector_cv.py collect --depth 5 --out /tmp/rows5.pkl     # what train-selector trains on
    .venv/bin/python bench/selector_cv.py collect --depth 20 --out /tmp/rows20.pkl
    .venv/bin/python bench/selector_cv.py depth /tmp/rows5.pkl /tmp/rows20.pkl        # train on depth 5, answer from 20
    .venv/bin/python bench/selector_cv.py depth /tmp/rows5.pkl /tmp/rows5.pkl --only "${BASE_FEATURES}"

``collect`` retrieves every answerable train question of COVID-QA and the LIF gold set (hybrid+rerank, the
shipped reranker) and keeps the answer-eligible sentences of its top DEPTH passages with their selector
features (pickled: these are the bench's own scratch files, never shipped). ``depth`` fits the selector the
way train-selector does (boosted trees, classes balanced, each source weighted alike) in 5 folds grouped by
question, rates the held-out questions' sentences from the second file, and chooses the keep rule as
train-selector does (best macro hit with each source's answers no longer than the earlier heuristic's).
The hit rate counts every answerable train question, so a question whose answer is in none of the
passages is a miss. ``--only`` keeps a comma-separated subset of the features (e.g. without the
relative ones) to measure what they add.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


def collect(depth: int, out: Path, cache: str) -> None:
    from lifqa.engine import Engine
    from lifqa.train import gold_training_set
    from lifqa.train_selector import QuestionRows, holds_answer, untrained_params

    sets = [gold_training_set(EVAL / "covid-qa" / "gold.jsonl", EVAL / "covid-qa" / "corpus.jsonl", cache),
            gold_training_set(ROOT / "corpus" / "gold" / "lif_questions.jsonl", ROOT / "corpus", cache)]
    rows, totals = [], {}
    for s in sets:
        engine = Engine.open(s.index, selector_params=untrained_params(), use_calibration=False)
        heuristic = engine.with_settings(answer_selector="heuristic")
        questions = [q for q in s.questions if q.answerable and q.answers]
        totals[s.name] = len(questions)
        texts = [engine.clean_question(q.question)[0] for q in questions]
        for q, text, vector in zip(questions, texts, engine.encoder.encode_queries(texts)):
            hits, _, _ = engine._search(text, vector, depth, engine.settings.mode, None, {})
            candidates, features = engine.selector_inputs(text, vector, hits)
            labels = np.asarray([int(c.doc_id in q.relevant_doc_ids and holds_answer(c.text, q.answers)) for c in candidates])
            if not labels.any():
                continue
            before = heuristic.ask(q.question)
            said = " ".join(x.text for x in before.sentences)
            rows.append(QuestionRows(q, candidates, features, labels, s.name, None if before.abstained else len(said.split()),
                                     holds_answer(said, q.answers) if said else False))
        print(f"{s.name}: {len(questions)} answerable train questions, {sum(r.source == s.name for r in rows)} with the answer "
              f"in the top {depth} passages", flush=True)
    with out.open("wb") as handle:
        pickle.dump({"rows": rows, "totals": totals, "depth": depth}, handle)


def depth(train_file: Path, answer_file: Path, only: list[str] | None) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    from lifqa.selector import FEATURES, SentenceSelector
    from lifqa.train import SEED
    from lifqa.train_selector import KEEP_MINS, KEEP_RATIOS, TREES, holds_answer, untrained_params

    # only files this script's own collect wrote (bench scratch, never shipped or downloaded)
    train, answer = (pickle.load(path.open("rb")) for path in (train_file, answer_file))
    columns = [FEATURES.index(name) for name in only] if only else list(range(len(FEATURES)))
    ids = sorted({r.question.id for r in train["rows"]} | {r.question.id for r in answer["rows"]})
    shuffled = np.random.default_rng(SEED).permutation(len(ids))
    fold = {q: int(shuffled[i] % 5) for i, q in enumerate(ids)}
    rows = answer["rows"]
    rated: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for k in range(5):
        fit_rows = [r for r in train["rows"] if fold[r.question.id] != k]
        x = np.vstack([r.features[:, columns] for r in fit_rows])
        y = np.concatenate([r.labels for r in fit_rows])
        per_source = {s: sum(len(r.labels) for r in fit_rows if r.source == s) for s in {r.source for r in fit_rows}}
        w = np.concatenate([np.full(len(r.labels), 1.0 / per_source[r.source]) for r in fit_rows])
        pos = y == 1
        w = w * np.where(pos, 0.5 / (w[pos].sum() / w.sum()), 0.5 / (w[~pos].sum() / w.sum()))
        model = GradientBoostingClassifier(random_state=SEED, **TREES).fit(x, y, sample_weight=w / w.mean())
        for i, r in enumerate(rows):
            if fold[r.question.id] == k:
                rated[i] = model.predict_proba(r.features[:, columns])[:, 1]
    sources = sorted(answer["totals"])
    share = lambda values: [sum(v for v, r in zip(values, rows) if r.source == s) / answer["totals"][s] for s in sources]  # noqa: E731
    mean = lambda values: [float(np.mean([v for v, r in zip(values, rows) if r.source == s])) for s in sources]  # noqa: E731
    budgets = mean([r.baseline_words or 0 for r in rows])
    first = share([float(r.labels[int(np.argmax(p))]) for r, p in zip(rows, rated)])
    best = None
    for most in (1, 2, 3):
        for ratio in KEEP_RATIOS:
            for floor in KEEP_MINS:
                selector = SentenceSelector({**untrained_params(), "keep_ratio": ratio, "keep_min": floor, "max_sentences": most})
                said = [" ".join(c.text for c, _ in selector.choose(r.candidates, p, most)) for r, p in zip(rows, rated)]
                hits, words = share([holds_answer(t, r.question.answers) for t, r in zip(said, rows)]), mean([len(t.split()) for t in said])
                if all(w <= b for w, b in zip(words, budgets)) and (best is None or np.mean(hits) > np.mean(best[0])):
                    best = (hits, words, (ratio, floor, most))
    fmt = lambda values: ", ".join(f"{s} {v:.3f}" for s, v in zip(sources, values))  # noqa: E731
    print(f"trained on depth {train['depth']}, answering from depth {answer['depth']}, {len(columns)} features")
    print(f"  right sentence first (all answerable train questions): {fmt(first)}")
    print(f"  earlier heuristic's hit: {fmt(share([r.baseline_hit for r in rows]))}")
    if best is None:
        print("  no keep rule keeps answers within the heuristic's length")
        return
    print(f"  selector hit: {fmt(best[0])} (macro {np.mean(best[0]):.4f}) in {', '.join(f'{w:.1f}' for w in best[1])} words; "
          f"keep rule ratio/min/most {best[2]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--depth", type=int, default=5)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    d = sub.add_parser("depth")
    d.add_argument("train_rows", type=Path)
    d.add_argument("answer_rows", type=Path)
    d.add_argument("--only", help="comma-separated selector features to keep (default: all)")
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.depth, args.out, args.cache)
    else:
        depth(args.train_rows, args.answer_rows, args.only.split(",") if args.only else None)
    return 0


if __name__ == "__main__":
    run(main)
