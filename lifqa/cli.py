"""The ``lifqa`` command: each subcommand parses its options and calls one library function."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

from lifqa.errors import LifqaError
from lifqa.settings import FUSIONS, MODES

DEFAULT_INDEX = os.environ.get("LIFQA_INDEX", "indexes")
DEFAULT_CORPUS = os.environ.get("LIFQA_CORPUS", "corpus")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except LifqaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing already written was lost", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a disk or permission problem, not a bug: name the file instead of a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifqa", description="Literature-grounded question answering with cited passages.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build (or refresh) the index of a corpus")
    _index_option(p)
    p.add_argument("--corpus", default=DEFAULT_CORPUS, help="folder of .txt/.md/.html/.pdf files and JATS/PubMed .xml, a Zotero data folder "
                        "(with zotero.sqlite), a .bib/.json (CSL-JSON)/.ris library, or a BEIR corpus.jsonl (default: %(default)s)")
    p.add_argument("--metadata", help="source metadata file (default: sources.toml in the corpus folder)")
    p.add_argument("--force", action="store_true", help="rebuild even if the corpus and settings are unchanged")
    _index_settings(p)
    p.add_argument("--pdf-max-pages", type=int, help="pages read from one PDF (default 2000); the rest is skipped with a warning")
    p.add_argument("--pdf-max-seconds", type=float, help="seconds spent on one PDF (default 120); the rest is skipped with a warning")
    p.add_argument("--encode-workers", metavar="N|auto", help="processes that embed, one single-threaded encoder each; 1: this "
                        "process alone (default auto: one per core when a stage has at least 10,000 texts to embed)")
    p.add_argument("--encoder", metavar="VARIANT", help="encoder variant: auto (default: bf16 where the CPU has bf16 units, else fp32), "
                        "torch-fp32, torch-bf16, onnx-fp32, onnx-int8")
    _ray_options(p, "read, chunk and embed on a Ray cluster")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("ask", help="answer a question with cited passages")
    p.add_argument("question")
    _query_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--format", choices=("text", "json", "markdown", "bibtex", "ris", "csl-json"),
                   help="output: text (default), json, markdown (answer + reference list) or the cited sources as bibtex, ris or csl-json")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("search", help="ranked passages for a query, without an answer")
    p.add_argument("query")
    _query_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("status", help="show the index manifest and whether the corpus changed since the build")
    _index_option(p)
    p.add_argument("--corpus", default=DEFAULT_CORPUS)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("verify", help="hash every byte of every index file against the manifest (opening samples large files)")
    _index_option(p)
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("sources", help="every source with its reliability tier, flags, reasons and evidence")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sources)

    p = sub.add_parser("conflicts", help="facts on which the sources disagree")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_conflicts)

    p = sub.add_parser("batch", help="answer a file of questions (JSONL, CSV or TXT); resumable")
    p.add_argument("input", help="questions: .jsonl ({\"id\",\"question\"}), .csv (id,question header) or .txt (one a line)")
    p.add_argument("-o", "--output", required=True, help="output file; rerunning skips ids already in it")
    p.add_argument("--format", choices=("jsonl", "csv", "markdown", "bibtex", "ris", "csl-json"),
                   help="output format (default: from the output suffix .csv/.md/.bib/.ris, else jsonl); markdown, bibtex, ris "
                        "and csl-json keep their resumable records in OUTPUT.records.jsonl")
    p.add_argument("--batch-size", type=int, default=32, help="questions encoded together (default: %(default)s)")
    _query_options(p)
    _ray_options(p, "answer on Ray actors, each holding an open engine")
    p.set_defaults(handler=cmd_batch)

    p = sub.add_parser("eval", help="evaluate every retrieval mode against gold questions or a BEIR folder")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--gold", help="gold questions (JSONL: id, question, relevant_doc_ids, answers, answerable, split)")
    source.add_argument("--beir", help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    p.add_argument("--corpus", help=f"what --gold is about: a folder of documents or a BEIR corpus.jsonl (default: {DEFAULT_CORPUS})")
    p.add_argument("--index", help="evaluate this built index as is, instead of the cached index of --corpus")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated modes (default: %(default)s)")
    p.add_argument("--split", default="test", help="gold split, or BEIR qrels file (default: %(default)s; 'all' for every gold question)")
    p.add_argument("--k", type=int, help="passages per answer (default 5)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting, e.g. --set fusion=rrf (repeatable)")
    p.add_argument("--cache", default="indexes/eval", help="folder of cached evaluation indexes (default: %(default)s)")
    p.add_argument("--reranker", metavar="FILE", help="reranker parameters to evaluate instead of the shipped ones (from train-reranker --output)")
    p.add_argument("--compare", action="append", default=[], metavar="NAME:SETTING=VALUE[,...]",
                   help="also run the default mode with these settings as column <mode>:NAME, e.g. --compare before:answer_selector=heuristic")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--report", nargs="?", const="reports/latest", metavar="DIR",
                   help="write report.md, summary.json, per_question.jsonl and PNG charts to DIR (default DIR: reports/latest)")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("train-reranker", help="fit the reranker and abstention model on training splits only (fixed seed)")
    p.add_argument("--gold", nargs=2, action="append", metavar=("FILE", "CORPUS"),
                   help="a gold file and its corpus, of which the 'train' split is used; repeatable; the first one's corpus "
                        f"also receives the other sets' questions as unanswerable (default: {DEFAULT_CORPUS}/gold/lif_questions.jsonl {DEFAULT_CORPUS})")
    p.add_argument("--beir", action="append", default=[], metavar="DIR", help="a BEIR folder, of which qrels/train.tsv is used; repeatable")
    p.add_argument("--output", help="parameter file to write (default: the package's lifqa/data/reranker.json)")
    p.add_argument("--cross-negatives", type=int, default=300, help="questions per other set asked of the first corpus as unanswerable (default: %(default)s)")
    p.add_argument("--depth", type=int, default=30, help="fused candidates per question (default: %(default)s)")
    p.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength (default: %(default)s)")
    p.add_argument("--weight", action="append", default=[], metavar="NAME=W",
                   help="relative share of a source in the ranking fit (default 1 each), e.g. --weight scifact=2; repeatable")
    p.add_argument("--cache", default="indexes/eval", help="folder of cached indexes (default: %(default)s)")
    p.set_defaults(handler=cmd_train_reranker)

    p = sub.add_parser("train-selector", help="fit the answer-sentence selector on training splits only (fixed seed)")
    p.add_argument("--gold", nargs=2, action="append", metavar=("FILE", "CORPUS"),
                   help=f"a gold file with answers and its corpus, of which the 'train' split is used; repeatable (default: {DEFAULT_CORPUS}/gold/lif_questions.jsonl {DEFAULT_CORPUS})")
    p.add_argument("--output", help="parameter file to write (default: the package's lifqa/data/selector.json)")
    p.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength (default: %(default)s)")
    p.add_argument("--model", default="trees", choices=("trees", "logistic"),
                   help="gradient-boosted trees or logistic regression (default: %(default)s; BENCHMARKS.md compares them)")
    p.add_argument("--weight", action="append", default=[], metavar="NAME=W",
                   help="relative share of a source in the fit (default 1 each), e.g. --weight lif_questions=0.5; repeatable")
    p.add_argument("--cache", default="indexes/eval", help="folder of cached indexes (default: %(default)s)")
    p.set_defaults(handler=cmd_train_selector)

    p = sub.add_parser("train-cross-encoder", help="fine-tune the relevance model (a cross-encoder from the bundled MiniLM) on training splits only (fixed seed)")
    p.add_argument("--gold", nargs=2, action="append", metavar=("FILE", "CORPUS"),
                   help=f"a gold file with answers and its corpus, of which the 'train' split is used; repeatable (default: {DEFAULT_CORPUS}/gold/lif_questions.jsonl {DEFAULT_CORPUS})")
    p.add_argument("--output", help="weights file to write, its record beside it as .json (default: the package's lifqa/data/relevance.safetensors)")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the fine-tuning questions (default: %(default)s)")
    p.add_argument("--cache", default="indexes/eval", help="folder of cached indexes (default: %(default)s)")
    p.set_defaults(handler=cmd_train_cross_encoder)

    p = sub.add_parser("calibrate", help="fit this index's abstention threshold on labelled questions; stored with the index")
    p.add_argument("--gold", required=True, help="labelled questions (gold JSONL); unanswerable ones, or else off-topic questions, set the floor")
    p.add_argument("--split", default="train", help="gold split to fit on (default: %(default)s, so dev and test figures stay held out; "
                                                      "'all' for every question)")
    p.add_argument("--max-wrong-abstention", type=float, default=0.05, help="share of answerable questions allowed to abstain (default: %(default)s)")
    p.add_argument("--negatives", metavar="FILE", help="questions from another corpus that this one cannot answer (gold JSONL, BEIR "
                                                        "queries.jsonl, or one per line); they join the floor")
    _index_option(p)
    p.set_defaults(handler=cmd_calibrate)

    p = sub.add_parser("serve", help="an HTTP JSON API over the index (OpenAPI at /docs); uploads go into the corpus folder")
    _index_option(p)
    p.add_argument("--corpus", help="folder uploads are saved into and rebuilt from (default: the folder the index was built from)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s; any other needs a token)")
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    p.add_argument("--token", default=os.environ.get("LIFQA_API_TOKEN") or None,
                   help="bearer token every request must carry (default: $LIFQA_API_TOKEN; prefer it: a command line is visible to other users)")
    p.add_argument("--max-upload-mb", type=int, default=100, help="largest upload request in MB (default: %(default)s)")
    p.add_argument("--request-seconds", type=float, default=60.0, help="time limit of one question (default: %(default)s)")
    p.add_argument("--threads", type=int, default=4, help="questions answered at once (default: %(default)s)")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("mcp", help="a Model Context Protocol server over stdio (tools ask, search, sources) for AI assistants")
    _index_option(p)
    p.set_defaults(handler=cmd_mcp)
    return parser


def _index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: %(default)s)")


def _index_settings(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chunk-size", type=int, help="target chunk length in characters (100-20000; default 700)")
    p.add_argument("--chunk-overlap", type=int, help="overlap in characters (default 150)")
    p.add_argument("--model-path", help="local sentence-transformers model folder (default: bundled all-MiniLM-L6-v2)")


def _ray_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help=f"{what}: a running cluster's ADDRESS (e.g. auto, or HEAD_IP:6379), or none to start a local one "
                        "(needs pip install 'lifqa[ray]')")
    p.add_argument("--workers", type=int, help="Ray actors (default: one per CPU of the cluster)")


def _ray_address(args: argparse.Namespace) -> str | None:
    if args.workers is not None and args.workers < 1:
        from lifqa.errors import InputError

        raise InputError(f"--workers {args.workers} must be at least 1")
    return None if args.ray == "local" else args.ray


def _query_options(p: argparse.ArgumentParser) -> None:
    _index_option(p)
    p.add_argument("--k", type=int, help="passages to return (1-100; default 5)")
    p.add_argument("--mode", help=f"retrieval mode: {', '.join(MODES)} (default hybrid+rerank)")
    p.add_argument("--fusion", help=f"fusion method: {', '.join(FUSIONS)}")
    p.add_argument("--exclude", default="", help="comma-separated flag kinds whose sources are left out, e.g. ai_generated,commercial")
    p.add_argument("--min-tier", help="leave out sources below this tier: high, medium or low")
    p.add_argument("--reliability-weighting", action="store_true", help="down-weight low-tier sources in the ranking")
    p.add_argument("--tag", action="append", default=[], help="only sources with this library tag (repeatable or comma-separated: any of them)")
    p.add_argument("--collection", action="append", default=[],
                   help="only sources in this library collection or its subcollections (repeatable or comma-separated: any of them)")


def _engine_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if getattr(args, "fusion", None):
        overrides["fusion"] = args.fusion
    if getattr(args, "reliability_weighting", False):
        overrides["reliability_weighting"] = True
    return overrides


def _engine(args: argparse.Namespace):
    from lifqa.engine import Engine

    return Engine.open(args.index, **_engine_overrides(args))


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    filters = {"exclude_flags": [f for f in args.exclude.split(",") if f.strip()], "min_tier": args.min_tier}
    from lifqa.search.searcher import split_values

    tags, collections = split_values(getattr(args, "tag", [])), split_values(getattr(args, "collection", []))
    if tags or collections:
        filters.update(tags=tags, collections=collections)
    return filters


def cmd_index(args: argparse.Namespace) -> int:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    settings = make_settings(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap, model_path=args.model_path,
                             pdf_max_pages=args.pdf_max_pages, pdf_max_seconds=args.pdf_max_seconds, encode_workers=args.encode_workers,
                             encoder=args.encoder)
    runner = None
    if args.ray:
        from lifqa.index.ray_build import RayRunner

        runner = RayRunner(_ray_address(args), args.workers)
    result = build_index(args.corpus, args.index, settings, force=args.force, metadata_path=args.metadata, progress=_stage_printer(),
                         runner=runner)
    counts = result.manifest["counts"]
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.rebuilt:
        print(f"built {args.index}: {counts['documents']} documents, {counts['chunks']} chunks, "
              f"{result.manifest['dense_index']} dense index{_recall_note(result.manifest)}, {result.manifest['build_seconds']:.1f} s"
              + (f"; {len(result.warnings)} warning{'s' * (len(result.warnings) > 1)} (the other files were indexed)" if result.warnings else ""))
        if library := result.manifest.get("library"):
            sources = library["text_sources"]
            print(f"library: {library['items']} items ({sources.get('fulltext', 0)} full text, {sources.get('abstract_only', 0)} "
                  f"abstract only, {sources.get('metadata_only', 0)} metadata only); {library['items_read']} read, "
                  f"{library['items_reused']} unchanged since the last build; {library['missing_files']} attached files missing")
    else:
        print(f"{args.index} is up to date ({counts['documents']} documents, {counts['chunks']} chunks); nothing to do. Use --force to rebuild.")
    return 0


def _recall_note(manifest: dict) -> str:
    """' (recall@100 0.991 vs exact)' for an approximate dense index, as its build measured it."""
    recall = (manifest.get("dense") or {}).get("recall_at_100")
    return f" (recall@100 {recall:.3f} vs exact)" if recall is not None else ""


def _stage_printer() -> Callable[[str, float], None] | None:
    if not sys.stderr.isatty():
        return None
    last = ""

    def show(stage: str, fraction: float) -> None:  # a stage reports many fractions; one line per stage
        nonlocal last
        if stage != last:
            last = stage
            print(f"[{fraction:4.0%}] {stage}", file=sys.stderr)

    return show


def _check_query_args(args: argparse.Namespace, text: str) -> None:
    """Reject bad input before the (slow) engine start."""
    from lifqa.search.question import clean_question
    from lifqa.settings import parse_k, parse_mode

    clean_question(text, 10**9)
    if args.mode is not None:
        parse_mode(args.mode)
    if args.k is not None:
        parse_k(args.k)
    if getattr(args, "exclude", ""):
        from lifqa.reliability import check_flag_kinds

        check_flag_kinds(f for f in args.exclude.split(",") if f.strip())


def cmd_ask(args: argparse.Namespace) -> int:
    _check_query_args(args, args.question)
    engine = _engine(args)
    answer = engine.ask(args.question, k=args.k, mode=args.mode, **_filters(args))
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
    _check_query_args(args, args.query)
    engine = _engine(args)
    hits = engine.search(args.query, k=args.k, mode=args.mode, **_filters(args))
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


def cmd_status(args: argparse.Namespace) -> int:
    from lifqa.index.build import index_status
    from lifqa.index.layout import active_build, read_manifest
    from lifqa.settings import make_settings

    build = active_build(args.index)
    manifest = read_manifest(build)
    status = index_status(args.corpus, args.index, make_settings(**manifest.get("settings", {})))
    print(json.dumps({"status": status, "build": str(build), **{k: v for k, v in manifest.items() if k != "files"}}, indent=2))
    return 0 if status == "current" else 3


def cmd_verify(args: argparse.Namespace) -> int:
    from lifqa.index.layout import active_build, read_manifest, verify_files

    build = active_build(args.index)
    manifest = read_manifest(build)
    verify_files(build, manifest, full=True)
    print(f"{build}: all {len(manifest['files'])} files match their recorded sha256")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from lifqa.reliability import load_index_reliability
    from lifqa.render import sources_text

    records, _ = load_index_reliability(args.index)
    if args.json:
        from lifqa.schema import SourceOut, dump

        print(json.dumps(dump([SourceOut.of(r) for r in records]), ensure_ascii=False, indent=2))
    else:
        print(sources_text(records))
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from lifqa.reliability import load_index_reliability
    from lifqa.render import conflicts_text

    _, conflicts = load_index_reliability(args.index)
    if args.json:
        print(json.dumps(conflicts, ensure_ascii=False, indent=2))
    else:
        print(conflicts_text(conflicts))
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from lifqa.batch import answer_file

    _check_query_args(args, "batch")
    engine_factory = lambda: _engine(args)  # noqa: E731
    if args.ray:
        from lifqa.ray_batch import RayEngines

        address = _ray_address(args)
        engine_factory = lambda: RayEngines(args.index, _engine_overrides(args), address, args.workers)  # noqa: E731
    summary = answer_file(engine_factory, args.input, args.output, format=args.format, progress_factory=_progress_bar,
                          k=args.k, mode=args.mode, batch_size=args.batch_size, **_filters(args))
    print(f"wrote {summary.written} records to {summary.output} ({summary.errors} errors; "
          f"{summary.skipped} already there from an earlier run)", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from lifqa.eval_report import metrics_table, write_report
    from lifqa.evaluate import parse_overrides, parse_variants, run_eval

    corpus = args.corpus or (DEFAULT_CORPUS if args.gold and not args.index else None)
    bar = _progress_bar(1)
    result = run_eval(gold=args.gold, beir=args.beir, corpus=corpus, index=args.index, split=args.split,
                      modes=[m.strip() for m in args.modes.split(",") if m.strip()], k=args.k, cache_root=args.cache,
                      overrides=parse_overrides(args.set), reranker=args.reranker, build_progress=_stage_printer(),
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


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from lifqa.train import DEFAULT_OUTPUT, parse_weights, run_training

    golds = args.gold or [(f"{DEFAULT_CORPUS}/gold/lif_questions.jsonl", DEFAULT_CORPUS)]
    output = args.output or DEFAULT_OUTPUT
    params = run_training(golds, args.beir, output=output, cache_root=args.cache, cross_negatives=args.cross_negatives,
                          depth=args.depth, c=args.c, weights=parse_weights(args.weight), progress=_stage_printer())
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
                          progress=_stage_printer(), model=args.model)
    for source in params["trained_on"]["sources"]:
        print(f"{source['name']}: {source['used']} of {source['questions']} questions used, {source['rows']} sentences, {source['positives']} positive")
    print(f"wrote {output}: keep_ratio {params['keep_ratio']}, keep_min {params['keep_min']} (train answer hit {params['train_hit']} "
          f"in {params['train_words']} words; earlier heuristic {params['baseline_hit']} in {params['baseline_words']})")
    return 0


def cmd_train_cross_encoder(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lifqa.train_relevance import Recipe, run_training

    golds = args.gold or [(f"{DEFAULT_CORPUS}/gold/lif_questions.jsonl", DEFAULT_CORPUS)]
    weights = Path(args.output) if args.output else None
    record = weights.with_suffix(".json") if weights else None
    trained = run_training(golds, Recipe(epochs=args.epochs), weights=weights, record=record, cache_root=args.cache,
                           progress=_stage_printer())
    print(f"fine-tuned on {trained['fine_tuning']['questions']} questions in {trained['fine_tuning']['seconds']} s; "
          f"on {trained['held_questions']} held questions, top-1 sentence holds the answer: "
          + ", ".join(f"{name} {value}" for name, value in trained["held_top1"].items()))
    for name, figures in trained["held_answers"].items():
        print(f"  answers, {name}: hit {figures['answer_hit']} in {figures['words']} words")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from lifqa.calibrate import calibrate_index

    result = calibrate_index(args.index, args.gold, split=args.split, max_wrong_abstention=args.max_wrong_abstention,
                             negatives_file=args.negatives)
    print(result.summary())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lifqa.service.config import ServeConfig
    from lifqa.service.server import serve

    serve(ServeConfig(Path(args.index), Path(args.corpus) if args.corpus else None, host=args.host, port=args.port, token=args.token,
                      max_upload_bytes=args.max_upload_mb << 20 if args.max_upload_mb > 0 else 0,
                      request_seconds=args.request_seconds, threads=args.threads))
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from lifqa.service.mcp_server import run_stdio

    run_stdio(Path(args.index))
    return 0


def _progress_bar(total: int) -> Callable[[int, int], None] | None:
    """A tqdm bar on a terminal; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="q", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total  # eval learns its total only after loading the questions
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


if __name__ == "__main__":
    sys.exit(main())
