"""lifqa ask, search, sources, conflicts and batch: the commands that read an index and print what it holds."""

from __future__ import annotations

import argparse
import json
import sys

from lifqa.commands.options import check_query_args, engine_overrides, open_engine, query_filters, ray_address
from lifqa.commands.progress import progress_bar


def cmd_ask(args: argparse.Namespace) -> int:
    check_query_args(args, args.question)
    engine = open_engine(args)
    answer = engine.ask(args.question, k=args.k, mode=args.mode, **query_filters(args))
    if args.format not in (None, "text", "json"):
        from lifqa.export import export_answer

        print(export_answer(answer, lambda doc_id: engine.source(doc_id).document, args.format), end="")
    elif args.json or args.format == "json":
        from lifqa.schema import AnswerOut, dump

        print(json.dumps(dump(AnswerOut.of(answer)), ensure_ascii=False))
    else:
        from lifqa.render import answer_text

        print(answer_text(answer))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    check_query_args(args, args.query)
    engine = open_engine(args)
    hits = engine.search(args.query, k=args.k, mode=args.mode, **query_filters(args))
    from lifqa.types import page_text

    if args.json:
        from lifqa.schema import HitOut, dump

        print(json.dumps(dump([HitOut.of(h) for h in hits]), ensure_ascii=False))
    else:
        for h in hits:
            title = engine.source(h.chunk.doc_id).document.title
            pages = page_text(h.chunk.page_start, h.chunk.page_end, h.chunk.page_label)
            print(f"{h.rank:>2}. {h.score:.3f}  {title}{', ' + pages if pages else ''} — {h.chunk.section or '(start)'}  [{h.chunk.chunk_id}]")
            print("    " + h.chunk.text[:240].replace("\n", " ") + ("…" if len(h.chunk.text) > 240 else ""))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from lifqa.index.store import load_index_reliability
    from lifqa.render import sources_text

    records, _ = load_index_reliability(args.index)
    if args.json:
        from lifqa.schema import SourceOut, dump

        print(json.dumps(dump([SourceOut.of(r) for r in records]), ensure_ascii=False, indent=2))
    else:
        print(sources_text(records))
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from lifqa.index.store import load_index_reliability
    from lifqa.render import conflicts_text

    _, conflicts = load_index_reliability(args.index)
    if args.json:
        print(json.dumps(conflicts, ensure_ascii=False, indent=2))
    else:
        print(conflicts_text(conflicts))
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from lifqa.batch import answer_file

    check_query_args(args, "batch")
    engine_factory = lambda: open_engine(args)  # noqa: E731
    if args.ray:
        from lifqa.ray_batch import RayEngines

        address = ray_address(args)
        engine_factory = lambda: RayEngines(args.index, engine_overrides(args), address, args.workers)  # noqa: E731
    summary = answer_file(engine_factory, args.input, args.output, format=args.format, progress_factory=progress_bar,
                          k=args.k, mode=args.mode, batch_size=args.batch_size, **query_filters(args))
    print(f"wrote {summary.written} records to {summary.output} ({summary.errors} errors; "
          f"{summary.skipped} already there from an earlier run)", file=sys.stderr)
    return 0
