"""The ``lifqa`` command: each subcommand parses its options here and runs in ``lifqa.commands``, which calls one library function."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lifqa.commands import DEFAULT_CORPUS, DEFAULT_INDEX
from lifqa.commands.evaluation import cmd_eval
from lifqa.commands.index import cmd_index, cmd_status, cmd_verify
from lifqa.commands.query import cmd_ask, cmd_batch, cmd_conflicts, cmd_search, cmd_sources
from lifqa.commands.serve import cmd_mcp, cmd_serve
from lifqa.commands.training import (cmd_calibrate, cmd_train_cross_encoder, cmd_train_reranker, cmd_train_selector,
                                     cmd_train_span_reader)
from lifqa.errors import LifqaError
from lifqa.settings import FUSIONS, MODES


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
    p.add_argument("--encoder", metavar="VARIANT", help="encoder variant: auto (default: torch-bf16 where the CPU has bf16 units, else onnx-fp32), "
                        "torch-fp32, torch-bf16, onnx-fp32, onnx-int8")
    p.add_argument("--sentence-pooling", choices=("chunk", "encode"),
                   help="encode (default): each sentence encoded on its own, spread over --encode-workers or --ray; chunk: sentence "
                        "vectors pooled from their chunk's forward pass in this process, chunks then encoded in a pass of their own "
                        "(slower than the default now; the shipped models were trained on encode, BENCHMARKS.md)")
    p.add_argument("--chunk-vectors", choices=("auto", "sentences", "encode"),
                   help="sentences: each chunk's vector composed from its sentences' vectors and its title/section line's "
                        "(no pass over the chunk; auto, the default, does this whenever sentences are encoded on their own); "
                        "encode: each chunk encoded in a pass of its own")
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

    p = sub.add_parser("train-span-reader", help="fine-tune the span reader that marks the short answer (from the bundled MiniLM) on training splits only (fixed seed)")
    p.add_argument("--gold", nargs=2, action="append", metavar=("FILE", "CORPUS"),
                   help=f"a gold file with answers and its corpus, of which the 'train' split is used; repeatable (default: {DEFAULT_CORPUS}/gold/lif_questions.jsonl {DEFAULT_CORPUS})")
    p.add_argument("--output", help="weights file to write, its record beside it as .json (default: the package's lifqa/data/span_reader.safetensors)")
    p.add_argument("--epochs", type=int, default=3, help="passes over the training sentences; the best on held questions is kept (default: %(default)s)")
    p.add_argument("--cache", default="indexes/eval", help="folder of cached indexes (default: %(default)s)")
    p.set_defaults(handler=cmd_train_span_reader)

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


def _query_options(p: argparse.ArgumentParser) -> None:
    _index_option(p)
    p.add_argument("--k", type=int, help="passages to return (1-100; default 5)")
    p.add_argument("--mode", help=f"retrieval mode: {', '.join(MODES)} (default hybrid+rerank)")
    p.add_argument("--fusion", help=f"fusion method: {', '.join(FUSIONS)}")
    p.add_argument("--exclude", default="", help="comma-separated flag kinds whose sources are left out, e.g. ai_generated,commercial")
    p.add_argument("--min-tier", help="leave out sources below this tier: high, medium or low")
    p.add_argument("--reliability-weighting", action="store_true", help="down-weight low-tier sources in the ranking")
    p.add_argument("--short-answer", action=argparse.BooleanOptionalAction, default=None,
                   help="mark the short answer (\"3976\") inside an answer sentence when confident (default: on)")
    p.add_argument("--tag", action="append", default=[], help="only sources with this library tag (repeatable or comma-separated: any of them)")
    p.add_argument("--collection", action="append", default=[],
                   help="only sources in this library collection or its subcollections (repeatable or comma-separated: any of them)")


if __name__ == "__main__":
    sys.exit(main())
