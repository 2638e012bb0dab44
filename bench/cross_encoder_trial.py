"""A cross-encoder fine-tuned here from the bundled MiniLM, tried on train folds only: does it choose answer sentences?

    .venv/bin/python bench/cross_encoder_trial.py [--layers 3] [--minutes 12] [--negatives 7] [--lr 1e-4]

Candidates are what the answer path rates today: for every answerable COVID-QA train question, the answer-eligible
sentences of the passages an answer quotes from (``lifqa train-selector``'s rows, labelled the same way). The
questions are split by article, 80 % to fine-tune and 20 % held out (no dev or test question is read). The model is
the bundled all-MiniLM-L6-v2 cut to its first ``--layers`` layers with a linear head on the mean of its token states,
reading "question [SEP] sentence"; it is trained listwise (softmax over one positive and ``--negatives`` negatives,
the hardest by today's heuristic score, plus ``--random-negatives`` others) with AdamW under bf16 autocast where the CPU has bf16 units.

On the held-out questions that have a positive candidate it reports how often the top-ranked sentence holds the gold
answer: the heuristic score alone, the cross-encoder alone, and the two z-scored and summed with the weight that does
best on tuning articles held out of fine-tuning; plus the trained selector, which saw these questions in training (so its figure is
optimistic). It also times training steps and inference (pairs/s) in fp32 and bf16. Nothing is shipped.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run, save_result  # noqa: E402

EVAL = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval")) / "covid-qa"
SEED = 13
CONTEXT = {"on": False}  # --context: each sentence read with its passage neighbours


def candidate_texts(row: Any) -> list[str]:
    """What the model reads of each candidate: the sentence, and with --context after a [SEP] the sentences before and
    after it in its passage (where they are candidates too), so "it" and "this virus" have something to point at."""
    if not CONTEXT["on"]:
        return [c.text for c in row.candidates]
    by_place = {(c.citation_key, c.index_in_passage): c.text for c in row.candidates}
    out = []
    for c in row.candidates:
        around = " ".join(t for t in (by_place.get((c.citation_key, c.index_in_passage - 1)),
                                      by_place.get((c.citation_key, c.index_in_passage + 1))) if t)
        out.append(f"{c.text} [SEP] {around}" if around else c.text)
    return out


def collect_rows(cache: str) -> list[Any]:
    from lifqa.engine import Engine
    from lifqa.train import TRAINING_QUERY_ENCODER, gold_training_set
    from lifqa.train_selector import collect

    s = gold_training_set(EVAL / "gold.jsonl", EVAL / "corpus.jsonl", cache)
    engine = Engine.open(s.index, use_calibration=False, query_encoder=TRAINING_QUERY_ENCODER)
    return [r for r in collect(engine, s.questions, s.name, as_answered=True) if len(r.candidates) > 1]


def hardest(row: Any, count: int, rng: np.random.Generator, random_count: int = 0) -> tuple[int, list[int]]:
    """A positive, the ``count`` negatives today's heuristic rates highest, and ``random_count`` others (the model must
    also rank the easy ones it will meet among all candidates)."""
    from lifqa.answer.selector import FEATURES

    score = row.features[:, FEATURES.index("score")]
    positives = np.flatnonzero(row.labels == 1)
    negatives = np.flatnonzero(row.labels == 0)
    order = negatives[np.argsort(-score[negatives])]
    rest = order[count:]
    extra = rng.choice(rest, size=min(random_count, len(rest)), replace=False) if random_count and len(rest) else []
    return int(rng.choice(positives)), [int(i) for i in order[:count]] + [int(i) for i in extra]


def train(model: Any, rows: list[Any], minutes: float, negatives: int, lr: float, per_step: int,
          random_negatives: int = 0, epochs: float = 0.0, residual: bool = False, on_epoch: Any = None,
          model_ref: Any = None) -> dict[str, Any]:
    """Listwise fine-tuning. ``epochs`` > 0 stops after that many passes (else after ``minutes``), with a linear warm-up
    over the first 10 % of steps and a linear decay to zero; ``residual`` trains the model on top of today's heuristic
    score (logits = a * z(heuristic) + cross-encoder, ``a`` learnt), so it learns what the heuristic misses."""
    import torch

    from lifqa.encoder import fast_bf16
    from lifqa.answer.selector import FEATURES

    rng = np.random.default_rng(SEED)
    usable = [r for r in rows if r.labels.any() and (r.labels == 0).any()]
    weight = torch.nn.Parameter(torch.ones(1))
    model.residual = 1.0
    params = model.parameters() + ([weight] if residual else [])
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    total_steps = math.ceil(epochs * len(usable) / per_step) if epochs else 0
    if total_steps:
        warm = max(1, total_steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min((s + 1) / warm, max(0.0, (total_steps - s) / max(1, total_steps - warm))))
    budget, started, steps, losses, curve = minutes * 60, time.perf_counter(), 0, [], []
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16())
    model.body.train()
    order = rng.permutation(len(usable))
    steps_per_epoch = math.ceil(len(usable) / per_step)
    while (steps < total_steps) if total_steps else (time.perf_counter() - started < budget):
        if steps and steps % steps_per_epoch == 0:
            order = rng.permutation(len(usable))
            if on_epoch:
                model.body.eval()
                curve.append(on_epoch(steps // steps_per_epoch))
                model.body.train()
        start = (steps % steps_per_epoch) * per_step
        picked = [usable[i] for i in order[start:start + per_step]]
        total = 0.0
        optimiser.zero_grad()
        for row in picked:
            positive, negative = hardest(row, negatives, rng, random_negatives)
            chosen = [positive, *negative]
            every = candidate_texts(row)
            texts = [every[i] for i in chosen]
            with autocast:
                logits = model.logits(row.question.question, texts)
            if residual:
                heuristic = row.features[:, FEATURES.index("score")]
                z_h = torch.as_tensor(z(heuristic)[chosen], dtype=torch.float32)
                logits = logits + weight * z_h
                model.residual = float(weight.detach())
            loss = torch.nn.functional.cross_entropy(logits.unsqueeze(0), torch.zeros(1, dtype=torch.long)) / len(picked)
            loss.backward()
            total += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        if total_steps:
            schedule.step()
        losses.append(total)
        steps += 1
    model.body.eval()
    if on_epoch:
        curve.append(on_epoch(round(steps / steps_per_epoch, 2)))
    seconds = time.perf_counter() - started
    return {"steps": steps, "questions_seen": steps * per_step, "epochs": round(steps * per_step / len(usable), 2),
            "seconds": round(seconds, 1), "seconds_per_step": round(seconds / max(steps, 1), 2), "bf16": fast_bf16(),
            "residual_weight": round(float(weight.detach()), 4) if residual else None, "curve": curve,
            "loss_first_20": round(float(np.mean(losses[:20])), 4), "loss_last_20": round(float(np.mean(losses[-20:])), 4)}


def ce_scores(model: Any, rows: list[Any], bf16: bool) -> tuple[list[np.ndarray], float]:
    import torch

    out, pairs, started = [], 0, time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for row in rows:
            out.append(model.logits(row.question.question, candidate_texts(row)).numpy())
            pairs += len(row.candidates)
    return out, pairs / (time.perf_counter() - started)


def z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def top1(rows: list[Any], scores: list[np.ndarray]) -> float:
    return float(np.mean([row.labels[int(np.argmax(s))] == 1 for row, s in zip(rows, scores)]))


def main() -> int:
    import torch

    from lifqa.answer.selector import FEATURES, SentenceSelector, load_params
    from lifqa.encoder import fast_bf16
    from lifqa.relevance import RelevanceModel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--negatives", type=int, default=7)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--random-negatives", type=int, default=0, help="negatives drawn at random besides the hardest")
    parser.add_argument("--per-step", type=int, default=4, help="questions per optimiser step")
    parser.add_argument("--epochs", type=float, default=0.0, help="passes over the fine-tuning fold (0: train for --minutes)")
    parser.add_argument("--frozen-layers", type=int, default=0, help="lower layers kept as shipped (embeddings always are)")
    parser.add_argument("--residual", action="store_true", help="learn on top of today's heuristic score")
    parser.add_argument("--max-length", type=int, default=128, help="tokens of question + sentence")
    parser.add_argument("--context", action="store_true", help="read each sentence with its passage neighbours")
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cross_encoder_trial.json")
    args = parser.parse_args()
    CONTEXT["on"] = args.context
    torch.manual_seed(SEED)
    clock = time.perf_counter()
    rows = collect_rows(args.cache)
    collect_seconds = time.perf_counter() - clock
    articles = sorted({r.question.relevant_doc_ids[0] for r in rows if r.question.relevant_doc_ids})
    held_articles = set(np.random.default_rng(SEED).permutation(articles)[: math.ceil(0.2 * len(articles))])
    # the weight of the sum is chosen on articles the model is not trained on either (10 % of the fine-tuning fold)
    fit_articles = [a for a in np.random.default_rng(SEED).permutation(articles) if a not in held_articles]
    tune_articles = set(fit_articles[: math.ceil(0.1 * len(fit_articles))])
    fit = [r for r in rows if not set(r.question.relevant_doc_ids) & (held_articles | tune_articles)]
    held = [r for r in rows if set(r.question.relevant_doc_ids) & held_articles and r.labels.any()]
    tune = [r for r in rows if set(r.question.relevant_doc_ids) & tune_articles and r.labels.any()]
    model = RelevanceModel.from_bundled(args.layers, args.frozen_layers, args.max_length, SEED)
    heuristic = lambda rs: [r.features[:, FEATURES.index("score")] for r in rs]  # noqa: E731

    def on_epoch(epoch: Any) -> dict[str, Any]:
        scores, _ = ce_scores(model, held, bf16=fast_bf16())
        row = {"epoch": epoch, "cross-encoder": round(top1(held, scores), 4)}
        for w in (0.5, 1.0, 2.0):
            row[f"heuristic + {w} x ce"] = round(top1(held, [z(h) + w * z(c) for h, c in zip(heuristic(held), scores)]), 4)
        if args.residual:
            row["residual sum"] = round(top1(held, [float(model.residual) * z(h) + c for h, c in zip(heuristic(held), scores)]), 4)
        print(row, flush=True)
        return row

    training = train(model, fit, args.minutes, args.negatives, args.lr, args.per_step, args.random_negatives,
                     epochs=args.epochs, residual=args.residual, on_epoch=on_epoch, model_ref=model)
    tune_ce, _ = ce_scores(model, tune[:300], bf16=training["bf16"])
    weights = [0.25, 0.5, 1.0, 2.0, 4.0]
    best = max(weights, key=lambda w: top1(tune[:300], [z(h) + w * z(c) for h, c in zip(heuristic(tune[:300]), tune_ce)]))
    held_ce, rate_bf16 = ce_scores(model, held, bf16=training["bf16"])
    _, rate_fp32 = ce_scores(model, held[:40], bf16=False)
    selector = SentenceSelector(load_params())
    result = {
        "questions": {"fine_tune": len(fit), "tune_with_a_positive": len(tune), "held_out_with_a_positive": len(held),
                      "articles_held_out": len(held_articles)},
        "random_negatives": args.random_negatives,
        "collect_seconds": round(collect_seconds, 1), "layers": args.layers, "negatives": args.negatives, "lr": args.lr,
        "frozen_layers": args.frozen_layers, "residual": args.residual, "max_length": args.max_length, "per_step": args.per_step,
        "context": args.context,
        "training": training,
        "held_out_top1": {
            "heuristic score": round(top1(held, heuristic(held)), 4),
            "cross-encoder": round(top1(held, held_ce), 4),
            f"heuristic + {best} x cross-encoder (z-scored; weight chosen on held-out tuning articles)":
                round(top1(held, [z(h) + best * z(c) for h, c in zip(heuristic(held), held_ce)]), 4),
            "trained selector (saw these questions in training: optimistic)": round(top1(held, [selector.probabilities(r.features) for r in held]), 4),
        },
        "candidates_per_question": round(float(np.mean([len(r.candidates) for r in held])), 1),
        "inference_pairs_per_second": {"bf16" if training["bf16"] else "fp32": round(rate_bf16, 1), "fp32": round(rate_fp32, 1)},
        "load_avg": os.getloadavg(),
    }
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run(main)
