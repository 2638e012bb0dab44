"""lifqa index, status and verify: build an index, say whether it is current, check its files."""

from __future__ import annotations

import argparse
import json
import sys

from lifqa.commands.options import ray_address
from lifqa.commands.progress import stage_printer


def cmd_index(args: argparse.Namespace) -> int:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    settings = make_settings(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap, model_path=args.model_path,
                             pdf_max_pages=args.pdf_max_pages, pdf_max_seconds=args.pdf_max_seconds, encode_workers=args.encode_workers,
                             encoder=args.encoder, sentence_pooling=args.sentence_pooling,
                             chunk_vectors=args.chunk_vectors)
    if settings.sentence_vectors and settings.sentence_pooling == "chunk" and (args.ray or args.encode_workers not in (None, "1", "auto")):
        print("warning: with sentence_pooling=chunk the vectors are embedded in this process; pass --sentence-pooling encode "
              "to embed on " + ("the Ray cluster" if args.ray else "encoder workers"), file=sys.stderr)
    runner = None
    if args.ray:
        from lifqa.index.ray_build import RayRunner

        runner = RayRunner(ray_address(args), args.workers)
    result = build_index(args.corpus, args.index, settings, force=args.force, metadata_path=args.metadata, progress=stage_printer(),
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
