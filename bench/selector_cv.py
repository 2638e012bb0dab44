"""Answer-sentence selector on the TRAIN splits only: out-of-fold hit of the chosen answer.

    .venv/bin/python bench/selector_cv.py collect --depth 5 --out /tmp/rows5.pkl     # what train-selector trains on
    .venv/bin/python bench/selector_cv.py collect --depth 20 --out /tmp/rows20.pkl
    .venv/bin/python bench/selector_cv.py depth /tmp/rows5.pkl /tmp/rows20.pkl        # train on depth 5, answer from 20
    .venv/bin/python bench/selector_cv.py depth /tmp/rows5.pkl /tmp/rows5.pkl --only "${BASE_FEATURES}"
    .venv/bin/python bench/selector_cv.py extra /tmp/rows5.pkl /tmp/rows20.pkl --add adapter     # or --add context

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
        for q, question in zip(questions, engine.questions([q.question for q in questions])):
            candidates, features = engine.selector_inputs(question, engine.searcher.search(question, depth, engine.settings.mode))
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


def load(train_file: Path, answer_file: Path) -> tuple[dict, dict, dict[str, int]]:
    """The two row files and each question's fold (grouped by question, seeded)."""
    from lifqa.train import SEED

    # only files this script's own collect wrote (bench scratch, never shipped or downloaded)
    train, answer = (pickle.load(path.open("rb")) for path in (train_file, answer_file))
    ids = sorted({r.question.id for r in train["rows"]} | {r.question.id for r in answer["rows"]})
    shuffled = np.random.default_rng(SEED).permutation(len(ids))
    return train, answer, {q: int(shuffled[i] % 5) for i, q in enumerate(ids)}


def depth(train_file: Path, answer_file: Path, only: list[str] | None) -> None:
    from lifqa.answer.selector import FEATURES

    train, answer, fold = load(train_file, answer_file)
    evaluate(train, answer, fold, [FEATURES.index(name) for name in only] if only else list(range(len(FEATURES))))


def evaluate(train: dict, answer: dict, fold: dict[str, int], columns: list[int]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    from lifqa.answer.selector import SentenceSelector
    from lifqa.train import SEED
    from lifqa.train_selector import KEEP_MINS, KEEP_RATIOS, TREES, holds_answer, untrained_params

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


def extra(train_file: Path, answer_file: Path, kind: str, cache: str, rank: int, l2: float, epochs: int) -> None:
    """Tried and not adopted (BENCHMARKS.md): the shipped features against the shipped features plus ``kind``.

    context: a sentence's neighbours and passage (question-bigram share; idf coverage of the previous sentence, the
    next, the passage, the three together; the question's identifiers found in the passage).
    adapter: a question-side low-rank linear map (q + qAB) trained so that q.s ranks the answer sentence first
    (softmax over each question's candidates), fitted 5-fold so that every row's adapted cosine, its gap to the
    question's best and its rank come from a map not trained on its question (stacking, the selector's own folds).
    """
    from lifqa.engine import Engine
    from lifqa.answer.selector import FEATURES
    from lifqa.train import gold_training_set

    train, answer, fold = load(train_file, answer_file)
    engines = {}
    for gold, corpus in ((EVAL / "covid-qa" / "gold.jsonl", EVAL / "covid-qa" / "corpus.jsonl"),
                         (ROOT / "corpus" / "gold" / "lif_questions.jsonl", ROOT / "corpus")):
        s = gold_training_set(gold, corpus, cache)
        engines[s.name] = Engine.open(s.index, use_calibration=False)
    base = list(range(len(FEATURES)))
    added = context_columns(train, answer, engines) if kind == "context" else \
        adapter_columns(train, answer, fold, engines, rank, l2, epochs)
    print("shipped features:")
    evaluate(train, answer, fold, base)
    print(f"shipped features + {kind} ({added}):")
    evaluate(train, answer, fold, base + list(range(len(FEATURES), len(FEATURES) + len(added))))


def context_columns(train: dict, answer: dict, engines: dict) -> list[str]:
    for rows in (train["rows"], answer["rows"]):
        for r in rows:
            e = engines[r.source]
            question = e.reader.read(r.question.question)
            idf = dict(question.content_idf)
            terms = list(idf)
            total = sum(idf.values()) or 1.0
            ids, bigrams = question.identifiers, set(zip(terms, terms[1:]))
            tokens = [e.tokenizer(c.text) for c in r.candidates]
            sets = [set(t) for t in tokens]
            coverage = lambda s: sum(idf[t] for t in set(idf) & s) / total  # noqa: E731
            at = {(c.citation_key, c.index_in_passage): i for i, c in enumerate(r.candidates)}
            passage: dict[int, list[int]] = {}
            for i, c in enumerate(r.candidates):
                passage.setdefault(c.citation_key, []).append(i)
            out = np.zeros((len(r.candidates), 6), dtype=np.float32)
            for i, c in enumerate(r.candidates):
                prev, nxt = at.get((c.citation_key, c.index_in_passage - 1)), at.get((c.citation_key, c.index_in_passage + 1))
                near = [sets[j] for j in (prev, nxt) if j is not None]
                members = passage[c.citation_key]
                passage_text = " ".join(r.candidates[j].text.lower() for j in members)
                out[i] = (len(bigrams & set(zip(tokens[i], tokens[i][1:]))) / len(bigrams) if bigrams else 0.0,
                          coverage(sets[prev]) if prev is not None else 0.0, coverage(sets[nxt]) if nxt is not None else 0.0,
                          coverage(set().union(*(sets[j] for j in members))), coverage(sets[i].union(*near)),
                          sum(1 for d in ids if d in passage_text) / len(ids) if ids else 0.0)
            r.features = np.hstack([r.features, out])
    return ["bigram_share", "prev_coverage", "next_coverage", "passage_coverage", "window_coverage", "passage_identifiers"]


def adapter_columns(train: dict, answer: dict, fold: dict[str, int], engines: dict, rank: int, l2: float, epochs: int) -> list[str]:
    import torch

    torch.manual_seed(13)
    question_vector: dict[str, np.ndarray] = {}
    for rows in (train["rows"], answer["rows"]):
        for source, e in engines.items():
            todo = [r for r in rows if r.source == source and r.question.id not in question_vector]
            vectors = e.encoder.encode_queries([e.clean_question(r.question.question)[0] for r in todo]) if todo else []
            question_vector.update((r.question.id, np.asarray(v, dtype=np.float32)) for r, v in zip(todo, vectors))
    sentence_vectors = lambda r: np.stack([c.vector.astype(np.float32) for c in r.candidates])  # noqa: E731

    def fit(rows: list) -> tuple[np.ndarray, np.ndarray]:
        dim = len(next(iter(question_vector.values())))
        a = torch.zeros(dim, rank, requires_grad=True)
        b = (0.01 * torch.randn(rank, dim)).requires_grad_(True)
        q = [torch.tensor(question_vector[r.question.id]) for r in rows]
        s = [torch.tensor(sentence_vectors(r)) for r in rows]
        y = [torch.tensor(r.labels, dtype=torch.bool) for r in rows]
        optimiser = torch.optim.Adam([a, b], lr=1e-3)
        for epoch in range(epochs):
            order = np.random.default_rng(epoch).permutation(len(rows))
            for start in range(0, len(order), 64):
                loss = sum(torch.logsumexp(logits, 0) - torch.logsumexp(logits[y[i]], 0)
                           for i in order[start:start + 64] for logits in [s[i] @ (q[i] + q[i] @ a @ b) / 0.05])
                loss = loss / 64 + l2 * ((a ** 2).sum() + (b ** 2).sum())
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return a.detach().numpy(), b.detach().numpy()

    maps = {k: fit([r for r in train["rows"] if fold[r.question.id] != k]) for k in range(5)}
    for rows in (train["rows"], answer["rows"]):
        for r in rows:
            a, b = maps[fold[r.question.id]]
            q = question_vector[r.question.id]
            q = q + q @ a @ b
            cos = sentence_vectors(r) @ q / max(1e-6, float(np.linalg.norm(q)))
            order = np.empty(len(cos))
            order[(-cos).argsort(kind="stable")] = np.arange(1, len(cos) + 1)
            r.features = np.hstack([r.features, np.stack([cos, cos - cos.max(), 1.0 / order], 1).astype(np.float32)])
    return ["adapted_cos", "adapted_cos_gap", "adapted_cos_rank_inv"]


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
    e = sub.add_parser("extra", help="tried, not adopted: the shipped features against them plus context or adapter columns")
    e.add_argument("train_rows", type=Path)
    e.add_argument("answer_rows", type=Path)
    e.add_argument("--add", choices=("context", "adapter"), required=True)
    e.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    e.add_argument("--rank", type=int, default=8)
    e.add_argument("--l2", type=float, default=0.01)
    e.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.depth, args.out, args.cache)
    elif args.command == "extra":
        extra(args.train_rows, args.answer_rows, args.add, args.cache, args.rank, args.l2, args.epochs)
    else:
        depth(args.train_rows, args.answer_rows, args.only.split(",") if args.only else None)
    return 0


if __name__ == "__main__":
    run(main)
