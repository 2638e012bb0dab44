"""Train the span reader (``lifqa train-span-reader``, ``make span-reader``) on train splits only.

Rows are the answer path's own: for every answerable training question, the answer-eligible sentences of the passages
an answer quotes from (as ``lifqa train-selector`` collects them). A sentence holding a gold answer verbatim (case and
runs of whitespace aside) teaches the reader where the answer starts and ends; a few of the question's other
sentences, the hardest by today's score and one at random, teach it to point at [CLS] ("no answer here").

Questions are split by group, seeded (a COVID-QA question by its article, so no article is on both sides; a LIF
question by itself). The larger fold fine-tunes the reader; the held fold, which it never sees, picks the epoch and
the threshold: the lowest span probability at which the short answers shown to held questions, in the sentences the
shipped selector chooses, still overlap the gold answer at least ``precision`` of the time.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lifqa import __version__
from lifqa.answer.selector import FEATURES, SentenceSelector, load_params
from lifqa.answer.short import SpanReader, answer_bounds, asks_for_short_answer, bundled_paths
from lifqa.errors import InputError
from lifqa.eval_metrics import squad_exact, squad_f1
from lifqa.search.question import question_kind
from lifqa.train import SEED, TrainingSet, gold_training_set, source_commit, training_fingerprint
from lifqa.train_relevance import split_rows
from lifqa.train_selector import QuestionRows, answered_rows, out_of_fold

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
MIN_SHOWN = 10  # a precision over fewer shown answers is noise: such a threshold is not chosen
# The selector's probability for the sentence holding the span, the second gate: on held train questions it tells a
# right short answer from a wrong one better than the span's own probability (bench/short_answer_gate.py)
CONFIDENCES = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
PRECISION_TIE = 0.01  # rules this close to the most precise one count as equally precise when none reaches the target


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained reader (recorded beside it)."""

    layers: int = 6
    frozen_layers: int = 3
    max_length: int = 160
    epochs: int = 3
    lr: float = 1e-4
    batch: int = 16
    hard_negatives: int = 2
    random_negatives: int = 1
    held_share: float = 0.2
    precision: float = 0.85
    seed: int = SEED
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    question: str
    sentence: str
    span: tuple[int, int] | None  # the gold answer's characters inside the sentence; None: no answer here


def answer_span(sentence: str, answers: Sequence[str]) -> tuple[int, int] | None:
    """Where the first gold answer found lies inside the sentence (case and runs of whitespace aside)."""
    for answer in sorted((a for a in answers if a.strip()), key=len):
        words = answer.strip().split()
        match = re.search(r"\s+".join(re.escape(w) for w in words), sentence, re.I)
        if match:
            return match.start(), match.end()
    return None


def examples(rows: Sequence[QuestionRows], recipe: Recipe, rng: np.random.Generator) -> list[Example]:
    out: list[Example] = []
    for row in rows:
        text = row.question.question
        spans = [answer_span(c.text, row.question.answers) for c in row.candidates]
        out += [Example(text, c.text, span) for c, span in zip(row.candidates, spans) if span]
        negatives = np.flatnonzero(row.labels == 0)
        if not len(negatives):
            continue
        score = row.features[:, FEATURES.index("score")]
        order = negatives[np.argsort(-score[negatives], kind="stable")]
        rest = order[recipe.hard_negatives:]
        picked = list(order[: recipe.hard_negatives])
        if len(rest):
            picked += list(rng.choice(rest, size=min(recipe.random_negatives, len(rest)), replace=False))
        out += [Example(text, row.candidates[int(i)].text, None) for i in picked]
    return out


def token_targets(offsets: np.ndarray, inside: np.ndarray, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """The first and last sentence tokens of ``span`` (0, 0 for no answer); None when truncation cut the span off."""
    if span is None:
        return 0, 0
    tokens = np.flatnonzero(inside)
    starts = [t for t in tokens if offsets[t][1] > span[0]]
    ends = [t for t in tokens if offsets[t][0] < span[1]]
    if not starts or not ends or offsets[tokens[-1]][1] < span[1] or starts[0] > ends[-1]:
        return None
    return int(starts[0]), int(ends[-1])


def fine_tune_epoch(reader: SpanReader, batch_examples: list[list[Example]], optimiser: Any, schedule: Any) -> tuple[float, int]:
    import torch

    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=reader.bf16)
    reader.body.train()
    losses, used = [], 0
    for group in batch_examples:
        batch, offsets, inside = reader.encode([(e.question, e.sentence) for e in group])
        targets = [token_targets(offsets[i], inside[i], e.span) for i, e in enumerate(group)]
        keep = [i for i, t in enumerate(targets) if t is not None]
        if not keep:
            continue
        allowed = torch.as_tensor(inside.copy())
        allowed[:, 0] = True
        with autocast:
            start, end = reader.logits(batch)
        start = start.masked_fill(~allowed, -1e4)[keep]
        end = end.masked_fill(~allowed, -1e4)[keep]
        gold = torch.as_tensor([targets[i] for i in keep], dtype=torch.long)
        loss = (torch.nn.functional.cross_entropy(start, gold[:, 0]) + torch.nn.functional.cross_entropy(end, gold[:, 1])) / 2
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reader.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        used += len(keep)
    reader.body.eval()
    return float(np.mean(losses)) if losses else 0.0, used


@dataclass(frozen=True)
class Shown:
    """What the reader would show a held question at threshold 0: its best span and that span's probability."""

    answers: tuple[str, ...]
    text: str | None
    score: float
    holds: bool  # the answer's sentences hold a gold answer
    asks: bool  # the question asks for a short answer (not an explanation or a definition)
    confidence: float = 1.0  # the selector's probability for the sentence holding the span


def held_spans(reader: SpanReader, rows: Sequence[QuestionRows], chosen: Sequence[list[tuple[str, float]]]) -> list[Shown]:
    """Each held question's best span inside the sentences the selector chose for it (with the selector's probability
    for each), and the probability of the sentence holding that span."""
    out = []
    for row, rated in zip(rows, chosen):
        question = row.question.question
        sentences = [text for text, _ in rated]
        holds = any(answer_span(s, row.question.answers) for s in sentences) or \
            any(a.strip().lower() in " ".join(sentences).lower() for a in row.question.answers)
        best: tuple[float, str, float] | None = None
        if sentences:
            for (sentence, confidence), span in zip(rated, reader.spans(question, sentences)):
                if span and span[1] > span[0] and (best is None or span[2] > best[0]):
                    lo, hi = answer_bounds(sentence, span[0], span[1])  # what the answer would show
                    best = (span[2], sentence[lo:hi], float(confidence))
        out.append(Shown(tuple(row.question.answers), best[1] if best else None, best[0] if best else 0.0, holds,
                         asks_for_short_answer(question, question_kind(question)), best[2] if best else 0.0))
    return out


def figures(shown: Sequence[Shown], threshold: float, rule: bool = True, confidence: float = 0.0) -> dict[str, float]:
    """Short-answer EM and F1 over all held questions (none shown scores 0), F1 over those whose answer sentences hold
    the gold answer, and the share of shown answers that overlap the gold answer; a span is shown when its probability
    reaches ``threshold`` and the selector's for its sentence ``confidence``; ``rule``: explanations and definitions
    get none."""
    said = [s.text if s.text is not None and s.score >= threshold and s.confidence >= confidence and (s.asks or not rule)
            else None for s in shown]
    f1 = [squad_f1(s.answers, t) or 0.0 for s, t in zip(shown, said)]
    em = [squad_exact(s.answers, t) or 0.0 for s, t in zip(shown, said)]
    shown_f1 = [f for f, t in zip(f1, said) if t is not None]
    holding = [f for f, s in zip(f1, shown) if s.holds]
    return {"threshold": threshold, "confidence": confidence, "f1": round(float(np.mean(f1)), 4),
            "em": round(float(np.mean(em)), 4),
            "f1_where_sentences_hold": round(float(np.mean(holding)), 4) if holding else 0.0,
            "shown": round(len(shown_f1) / max(1, len(shown)), 4), "shown_questions": len(shown_f1),
            "precision": round(float(np.mean([f > 0 for f in shown_f1])), 4) if shown_f1 else None}


def choose_rule(shown: Sequence[Shown], precision: float, confidences: Sequence[float] = CONFIDENCES) -> dict[str, Any]:
    """The span threshold and sentence confidence with the best F1 among those whose shown answers (at least
    ``MIN_SHOWN``) overlap the gold answer ``precision`` of the time. When none does (the record says so), precision
    still comes first: the best F1 among the rules within ``PRECISION_TIE`` of the most precise one."""
    grid = [figures(shown, t, confidence=c) for t in THRESHOLDS for c in confidences]
    counted = [g for g in grid if g["shown_questions"] >= MIN_SHOWN] or grid
    good = [g for g in counted if (g["precision"] or 0.0) >= precision]
    if good:
        return {**max(good, key=lambda g: (g["f1"], g["precision"])), "precision_target_met": True}
    top = max(g["precision"] or 0.0 for g in counted)
    near = [g for g in counted if (g["precision"] or 0.0) >= top - PRECISION_TIE]
    return {**max(near, key=lambda g: (g["f1"], g["precision"])), "precision_target_met": False}


def train_span_reader(sets: Sequence[TrainingSet], recipe: Recipe, weights: Path, record: Path,
                      progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    rows, selector_rows, described = answered_rows(sets)
    return train_on_rows(rows, selector_rows, described, recipe, weights, record, progress)


def train_on_rows(rows: Sequence[QuestionRows], selector_rows: Sequence[QuestionRows], described: list[dict[str, Any]],
                  recipe: Recipe, weights: Path, record: Path,
                  progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Fine-tune on the larger fold, pick the epoch and the threshold on the held one, write the two files."""
    import torch

    tuning, held = split_rows(rows, recipe.held_share, recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    train = examples(tuning, recipe, rng)
    if not any(e.span for e in train):
        raise InputError("no training sentence holds a gold answer verbatim; check the gold answers")
    # the sentences the shipped selector chooses for held questions, from trees fitted without them
    params = load_params()
    oof = out_of_fold(selector_rows, {}, 1.0, params.get("model", "trees"), rated=held)
    selector = SentenceSelector(params)
    chosen = [[(c.text, float(q)) for c, q in selector.choose(row.candidates, p, 3)] for row, p in zip(held, oof)]

    reader = SpanReader.from_bundled(recipe.layers, recipe.frozen_layers, recipe.max_length, recipe.seed)
    torch.manual_seed(recipe.seed)
    optimiser = torch.optim.AdamW(reader.parameters(), lr=recipe.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(train) / recipe.batch)
    total, warm = per_epoch * recipe.epochs, max(1, per_epoch * recipe.epochs // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    started, epochs, best = time.perf_counter(), [], None
    for epoch in range(recipe.epochs):
        order = rng.permutation(len(train))
        batches = [[train[i] for i in order[k:k + recipe.batch]] for k in range(0, len(train), recipe.batch)]
        loss, used = fine_tune_epoch(reader, batches, optimiser, schedule)
        shown = held_spans(reader, held, chosen)
        every = figures(shown, 0.0)  # the spans' quality, before any is withheld
        epochs.append({"epoch": epoch + 1, "loss": round(loss, 4), "examples": used, "held_all_shown": every,
                       "seconds": round(time.perf_counter() - started, 1)})
        if best is None or every["f1_where_sentences_hold"] > best[0]["f1_where_sentences_hold"]:
            best = (every, {n: p.detach().clone() for n, p in reader.body.named_parameters() if p.requires_grad},
                    {n: p.detach().clone() for n, p in reader.head.named_parameters()}, epoch + 1)
        if progress:
            progress("fine-tuning the span reader", (epoch + 1) / recipe.epochs)
    _, body_state, head_state, best_epoch = best
    reader.body.load_state_dict(body_state, strict=False)
    reader.head.load_state_dict(head_state)
    shown = held_spans(reader, held, chosen)
    rule = choose_rule(shown, recipe.precision)
    recipe_record = {k: v for k, v in recipe.__dict__.items() if k != "extra"} | recipe.extra
    trained = {"recipe": recipe_record, "sources": described, "threshold": rule["threshold"],
               "confidence": rule["confidence"],
               "precision_target_met": rule["precision_target_met"], "epoch": best_epoch,
               "epochs": epochs, "held_questions": len(held), "held": figures(shown, rule["threshold"], confidence=rule["confidence"]),
               "held_span_threshold_alone": choose_rule(shown, recipe.precision, confidences=(0.0,)),  # the earlier rule
               "held_every_rule": [figures(shown, t, confidence=c) for t in THRESHOLDS for c in CONFIDENCES],
               # what the explanation/definition rule costs or saves on held questions, at the chosen threshold
               "held_without_the_rule": figures(shown, rule["threshold"], rule=False, confidence=rule["confidence"]),
               "held_rule_blocks": round(float(np.mean([not s.asks for s in shown])), 4),
               "examples": {"answers": sum(e.span is not None for e in train), "no_answer": sum(e.span is None for e in train)},
               "bf16": reader.bf16, "fingerprint": training_fingerprint(described, recipe_record),
               "lifqa_version": __version__, "commit": source_commit()}
    reader.save(weights, record, trained)
    return trained


def run_training(golds: Sequence[tuple[str, str]], recipe: Recipe, *, weights: str | None = None, record: str | None = None,
                 cache_root: str = "indexes/eval", progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """What ``lifqa train-span-reader`` does: index each corpus once (cached), train, write the two files."""
    default_weights, default_record = bundled_paths()
    sets = [gold_training_set(gold, corpus, cache_root, progress) for gold, corpus in golds]
    return train_span_reader(sets, recipe, Path(weights) if weights else default_weights,
                             Path(record) if record else default_record, progress)
