"""lifqa eval: every retrieval mode against gold questions, printed and optionally written as a report."""

from __future__ import annotations

import argparse
import json
import sys

from lifqa.commands import DEFAULT_CORPUS
from lifqa.commands.progress import progress_bar, stage_printer


def cmd_eval(args: argparse.Namespace) -> int:
    from lifqa.eval_report import metrics_table, write_report
    from lifqa.evaluate import parse_overrides, parse_variants, run_eval

    corpus = args.corpus or (DEFAULT_CORPUS if args.gold and not args.index else None)
    bar = progress_bar(1)
    result = run_eval(gold=args.gold, beir=args.beir, corpus=corpus, index=args.index, split=args.split,
                      modes=[m.strip() for m in args.modes.split(",") if m.strip()], k=args.k, cache_root=args.cache,
                      overrides=parse_overrides(args.set), reranker=args.reranker, build_progress=stage_printer(),
                      progress=bar, variants=parse_variants(args.compare))
    for error in result.info.get("gold_errors", []):
        print(f"warning: skipped {error}", file=sys.stderr)
    if args.report:
        files = write_report(result, args.report)
        print(f"wrote {len(files)} report files to {args.report}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False))
    else:
        print(f"{result.info['n_questions']} questions, corpus {result.info['corpus_fingerprint'][:12]}")
        print("\n".join(metrics_table(result)))
    return 0
