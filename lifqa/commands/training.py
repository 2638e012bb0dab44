"""lifqa train-reranker, train-selector, train-cross-encoder, train-span-reader and calibrate: fit the shipped models or an index's threshold."""

from __future__ import annotations

import argparse
from typing import Any

from lifqa.commands import DEFAULT_CORPUS
from lifqa.commands.progress import stage_printer


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from lifqa.train import DEFAULT_OUTPUT, parse_weights, run_training

    golds = args.gold or [(f"{DEFAULT_CORPUS}/gold/lif_questions.jsonl", DEFAULT_CORPUS)]
    output = args.output or DEFAULT_OUTPUT
    params = run_training(golds, args.beir, output=output, cache_root=args.cache, cross_negatives=args.cross_negatives,
                          depth=args.depth, c=args.c, weights=parse_weights(args.weight), progress=stage_printer())
    for source in params["trained_on"]["sources"]:
        print(f"{source['name']}: {source['questions']} questions, {source['rows']} rows, {source['positives']} positive ({source['use']})")
    print(f"wrote {output}: abstain threshold {params['support']['threshold']}, training data {params['trained_on']['fingerprint'][:12]}")
    return 0


def cmd_train_selector(args: argparse.Namespace) -> int:
    from lifqa.train import parse_weights
    from lifqa.train_selector import DEFAULT_OUTPUT, run_training

    golds = args.gold or [(f"{DEFAULT_CORPUS}/gold/lif_questions.jsonl", DEFAULT_CORPUS)]
    output = args.output or DEFAULT_OUTPUT
    params = run_training(golds, output=output, cache_root=args.cache, shares=parse_weights(args.weight), c=args.c,
                          progress=stage_printer(), model=args.model)
    for source in params["trained_on"]["sources"]:
        print(f"{source['name']}: {source['used']} of {source['questions']} questions used, {source['rows']} sentences, {source['positives']} positive")
    print(f"wrote {output}: keep_ratio {params['keep_ratio']}, keep_min {params['keep_min']} (train answer hit {params['train_hit']} "
          f"in {params['train_words']} words; earlier heuristic {params['baseline_hit']} in {params['baseline_words']})")
    return 0


def _fine_tuning_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """What a fine-tuning command trains on and writes: the record goes beside the weights as .json."""
    from pathlib import Path

    weights = Path(args.output) if args.output else None
    return {"golds": args.gold or [(f"{DEFAULT_CORPUS}/gold/lif_questions.jsonl", DEFAULT_CORPUS)], "weights": weights,
            "record": weights.with_suffix(".json") if weights else None, "cache_root": args.cache}


def cmd_train_cross_encoder(args: argparse.Namespace) -> int:
    from lifqa.train_relevance import Recipe, run_training

    trained = run_training(recipe=Recipe(epochs=args.epochs), progress=stage_printer(), **_fine_tuning_inputs(args))
    print(f"fine-tuned on {trained['fine_tuning']['questions']} questions in {trained['fine_tuning']['seconds']} s; "
          f"on {trained['held_questions']} held questions, top-1 sentence holds the answer: "
          + ", ".join(f"{name} {value}" for name, value in trained["held_top1"].items()))
    for name, figures in trained["held_answers"].items():
        print(f"  answers, {name}: hit {figures['answer_hit']} in {figures['words']} words")
    return 0


def cmd_train_span_reader(args: argparse.Namespace) -> int:
    from lifqa.train_span import Recipe, run_training

    trained = run_training(recipe=Recipe(epochs=args.epochs), progress=stage_printer(), **_fine_tuning_inputs(args))
    held = trained["held"]
    print(f"trained on {trained['examples']['answers']} answer sentences and {trained['examples']['no_answer']} others; "
          f"kept epoch {trained['epoch']}, threshold {trained['threshold']}")
    print(f"  {trained['held_questions']} held questions: short-answer F1 {held['f1']}, EM {held['em']}, "
          f"F1 where the answer sentences hold the gold answer {held['f1_where_sentences_hold']}, "
          f"shown for {held['shown']}, of which {held['precision']} overlap the gold answer")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from lifqa.calibrate import calibrate_index

    result = calibrate_index(args.index, args.gold, split=args.split, max_wrong_abstention=args.max_wrong_abstention,
                             negatives_file=args.negatives)
    print(result.summary())
    return 0
