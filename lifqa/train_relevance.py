"""Train the relevance model (``lifqa train-cross-encoder``, ``make cross-encoder``) on train splits only.

Rows are what ``lifqa train-selector`` rates as answers are given: for every answerable training question, the
answer-eligible sentences of the passages an answer quotes from, a sentence positive when it holds the gold answer.
Questions are split by group (a COVID-QA question by its article, so no article's sentences are on both sides; a LIF
question by itself), seeded: the larger fold fine-tunes the cross-encoder, the smaller one, which the cross-encoder
never saw, fits how its score is combined with the selector's and chooses the keep rule.

The cross-encoder is trained listwise (softmax over one positive and the hardest and some random negatives of its
question) on top of today's heuristic score (logits = a * z(heuristic) + model), so it learns what the heuristic
misses rather than relearning word overlap from a thousand questions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from lifqa import __version__
from lifqa.errors import InputError
from lifqa.relevance import (STACK_FEATURES, RelevanceModel, bundled_paths, combined_probabilities, heuristic_scores,
                             stack_features)
from lifqa.answer.selector import FEATURES, SentenceSelector
from lifqa.train import SEED, TrainingSet, gold_training_set, source_commit, training_fingerprint
from lifqa.train_selector import QuestionRows, answered_rows, holds_answer, keep_rule, out_of_fold


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained model (recorded beside it)."""

    layers: int = 6
    frozen_layers: int = 3
    max_length: int = 128
    epochs: float = 1.0
    lr: float = 5e-5
    per_step: int = 8
    hard_negatives: int = 5
    random_negatives: int = 4
    held_share: float = 0.2
    seed: int = SEED
    extra: dict[str, Any] = field(default_factory=dict)


def heuristic_z(row: QuestionRows) -> np.ndarray:
    return heuristic_scores(row.features)


def group_of(row: QuestionRows) -> str:
    """COVID-QA questions group by article (many questions share one); others by question."""
    if row.source == "covid-qa" and row.question.relevant_doc_ids:
        return f"{row.source}:{row.question.relevant_doc_ids[0]}"
    return f"{row.source}:{row.question.id}"


def split_rows(rows: Sequence[QuestionRows], share: float, seed: int) -> tuple[list[QuestionRows], list[QuestionRows]]:
    """(fine-tuning rows, held rows): each source's groups shuffled (seeded) and ``share`` of them held."""
    held_groups: set[str] = set()
    for source in sorted({r.source for r in rows}):
        groups = sorted({group_of(r) for r in rows if r.source == source})
        order = np.random.default_rng(seed).permutation(len(groups))
        held_groups |= {groups[i] for i in order[: math.ceil(share * len(groups))]}
    return [r for r in rows if group_of(r) not in held_groups], [r for r in rows if group_of(r) in held_groups]


def _examples(row: QuestionRows, recipe: Recipe, rng: np.random.Generator) -> list[int]:
    score = row.features[:, FEATURES.index("score")]
    positives = np.flatnonzero(row.labels == 1)
    negatives = np.flatnonzero(row.labels == 0)
    order = negatives[np.argsort(-score[negatives], kind="stable")]
    rest = order[recipe.hard_negatives:]
    extra = rng.choice(rest, size=min(recipe.random_negatives, len(rest)), replace=False) if len(rest) else []
    return [int(rng.choice(positives)), *(int(i) for i in order[: recipe.hard_negatives]), *(int(i) for i in extra)]


def fine_tune(model: RelevanceModel, rows: Sequence[QuestionRows], recipe: Recipe,
              progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Listwise fine-tuning with AdamW, linear warm-up (10 % of steps) and decay, seeded; bf16 autocast where the CPU has
    bf16 units."""
    import torch

    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    usable = [r for r in rows if r.labels.any() and (r.labels == 0).any()]
    if not usable:
        raise InputError("no training question has both a sentence holding its answer and one not; check the gold answers")
    weight = torch.nn.Parameter(torch.ones(1))
    params = model.parameters() + [weight]
    optimiser = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(usable) / recipe.per_step)
    total = max(1, round(recipe.epochs * per_epoch))
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=model.bf16)
    model.body.train()
    started, losses, order = time.perf_counter(), [], rng.permutation(len(usable))
    for step in range(total):
        if step and step % per_epoch == 0:
            order = rng.permutation(len(usable))
        start = (step % per_epoch) * recipe.per_step
        batch = [usable[i] for i in order[start:start + recipe.per_step]]
        optimiser.zero_grad()
        loss_sum = 0.0
        for row in batch:
            chosen = _examples(row, recipe, rng)
            with autocast:
                logits = model.logits(row.question.question, [row.candidates[i].text for i in chosen])
            logits = logits + weight * torch.as_tensor(heuristic_z(row)[chosen], dtype=torch.float32)
            loss = torch.nn.functional.cross_entropy(logits.unsqueeze(0), torch.zeros(1, dtype=torch.long)) / len(batch)
            loss.backward()
            loss_sum += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss_sum)
        if progress:
            progress("fine-tuning the relevance model", (step + 1) / total)
    model.body.eval()
    return {"steps": total, "seconds": round(time.perf_counter() - started, 1), "bf16": model.bf16,
            "heuristic_weight": round(float(weight.detach()), 6), "questions": len(usable),
            "loss_first_20": round(float(np.mean(losses[:20])), 4), "loss_last_20": round(float(np.mean(losses[-20:])), 4)}


def fit_combiner(rows: Sequence[QuestionRows], selector_probabilities: Sequence[np.ndarray], relevance: Sequence[np.ndarray],
                 heuristic_weight: float) -> dict[str, Any]:
    """A logistic model of 'this sentence holds the answer' over ``STACK_FEATURES``, on rows the cross-encoder never saw."""
    x = np.concatenate([stack_features(p, r, heuristic_weight, heuristic_z(row))
                        for row, p, r in zip(rows, selector_probabilities, relevance)])
    y = np.concatenate([row.labels for row in rows])
    # balanced, as the selector's trees are fitted: its probabilities then sit on the scale the keep rule's grid spans
    # (fitted plainly, a question's ~80 candidates hold 1-2 positives and the best sentence rarely reaches 0.2)
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED, class_weight="balanced").fit(x, y)
    return {"features": list(STACK_FEATURES), "coef": [float(c) for c in model.coef_[0]], "intercept": float(model.intercept_[0]),
            "heuristic_weight": heuristic_weight}


def held_answers(rows: Sequence[QuestionRows], probabilities: Sequence[np.ndarray], selector: SentenceSelector) -> dict[str, float]:
    """Answer hit and words of the answers ``selector`` would give from these probabilities (mean per source, then
    over sources, as the keep rule is chosen)."""
    per_source: dict[str, list[tuple[bool, int]]] = {}
    for row, rated in zip(rows, probabilities):
        said = " ".join(c.text for c, _ in selector.choose(row.candidates, rated, 3))
        per_source.setdefault(row.source, []).append((holds_answer(said, row.question.answers), len(said.split())))
    return {"answer_hit": round(float(np.mean([np.mean([h for h, _ in v]) for v in per_source.values()])), 4),
            "words": round(float(np.mean([np.mean([w for _, w in v]) for v in per_source.values()])), 1)}


def top1(rows: Sequence[QuestionRows], scores: Sequence[np.ndarray]) -> float:
    rated = [(r, s) for r, s in zip(rows, scores) if r.labels.any()]
    return round(float(np.mean([r.labels[int(np.argmax(s))] == 1 for r, s in rated])), 4) if rated else 0.0


def train_relevance(sets: Sequence[TrainingSet], recipe: Recipe, weights: Path, record: Path,
                    progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    from lifqa.answer.selector import load_params

    rows, selector_rows, described = answered_rows(sets)
    tuning, held = split_rows(rows, recipe.held_share, recipe.seed)
    model = RelevanceModel.from_bundled(recipe.layers, recipe.frozen_layers, recipe.max_length, recipe.seed)
    training = fine_tune(model, tuning, recipe, progress)
    relevance = [model.scores(r.question.question, [c.text for c in r.candidates]) for r in held]
    # the selector's probabilities for held questions from trees fitted without them, as the keep rule is chosen today
    selector_params = load_params()
    oof = out_of_fold(selector_rows, {}, 1.0, selector_params.get("model", "trees"), rated=held)
    combiner = fit_combiner(held, oof, relevance, training["heuristic_weight"])
    probabilities = [combined_probabilities(combiner, p, r, heuristic_z(row)) for row, p, r in zip(held, oof, relevance)]
    rule = keep_rule(selector_params, held, probabilities=probabilities)
    shipped = SentenceSelector(selector_params)
    figures = {"held_answers": {
        "features (the shipped selector and keep rule)": held_answers(held, oof, shipped),
        "relevance (combined, its keep rule)": held_answers(held, probabilities, SentenceSelector({**selector_params, **rule}))},
        "held_questions": len(held), "held_top1": {
        "heuristic": top1(held, [heuristic_z(r) for r in held]),
        "selector (out of fold)": top1(held, oof),
        "relevance + heuristic": top1(held, [r + training["heuristic_weight"] * heuristic_z(row) for row, r in zip(held, relevance)]),
        "combined": top1(held, probabilities)}}
    recipe_record = {k: v for k, v in recipe.__dict__.items() if k != "extra"} | recipe.extra
    trained = {"recipe": recipe_record, "sources": described, "fine_tuning": training, "combiner": combiner,
               "keep_rule": {k: v for k, v in rule.items() if k != "grid"}, **figures,
               "fingerprint": training_fingerprint(described, recipe_record), "lifqa_version": __version__,
               "commit": source_commit()}
    model.save(weights, record, trained)
    return trained


def run_training(golds: Sequence[tuple[str, str]], recipe: Recipe, *, weights: str | None = None, record: str | None = None,
                 cache_root: str = "indexes/eval", progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """What ``lifqa train-cross-encoder`` does: index each corpus once (cached), train, write the two files."""
    default_weights, default_record = bundled_paths()
    sets = [gold_training_set(gold, corpus, cache_root, progress) for gold, corpus in golds]
    return train_relevance(sets, recipe, Path(weights) if weights else default_weights,
                           Path(record) if record else default_record, progress)
