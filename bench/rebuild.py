"""What the embedding cache saves: a first build, a forced rebuild, and a rebuild after one new document.

    .venv/bin/python bench/rebuild.py                                        # corpus/ (5 documents)
    .venv/bin/python bench/rebuild.py --corpus ../shared/eval/scifact/corpus.jsonl

Works on a copy of the corpus in a temporary folder (a BEIR corpus.jsonl gets one line appended),
so nothing of yours is touched. The model is loaded before timing starts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402
from lifqa.encoder import get_encoder  # noqa: E402
from lifqa.index.build import build_index  # noqa: E402
from lifqa.settings import make_settings  # noqa: E402

NEW_DOCUMENT = ("Oncostatin M in liver repair", "Oncostatin M is an IL-6 family cytokine that signals through gp130. "
                "In the injured liver it drives hepatocyte proliferation. Unlike LIF, it also binds its own receptor, OSMR.")


def add_document(corpus: Path) -> None:
    title, text = NEW_DOCUMENT
    if corpus.suffix == ".jsonl":
        with corpus.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"_id": "bench-new-doc", "title": title, "text": text}) + "\n")
    else:
        (corpus / "bench_new_doc.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="a folder or a BEIR corpus.jsonl")
    args = parser.parse_args()
    if not args.corpus.exists():
        parser.error(f"corpus not found: {args.corpus}. Give a folder of documents or a BEIR corpus.jsonl")
    settings = make_settings()
    get_encoder(settings.model_path, settings.encode_batch_size)
    with tempfile.TemporaryDirectory(prefix="lifqa-rebuild-") as tmp:
        corpus = Path(tmp) / args.corpus.name
        if args.corpus.is_dir():
            shutil.copytree(args.corpus, corpus, ignore=shutil.ignore_patterns("gold"))
        else:
            shutil.copy(args.corpus, corpus)
        index = Path(tmp) / "index"
        rows = []
        for label, force, change in (("first build", False, None), ("forced rebuild, nothing changed", True, None),
                                     ("one document added", False, add_document)):
            if change is not None:
                change(corpus)
            started = time.perf_counter()
            result = build_index(corpus, index, settings, force=force)
            seconds = time.perf_counter() - started
            cache = result.manifest["embedding_cache"]
            rows.append((label, seconds, cache["embedded"], cache["reused"], result.manifest["counts"]["chunks"]))
            print(f"{label}: {seconds:.1f} s", file=sys.stderr, flush=True)
        size = sum(p.stat().st_size for p in (index / "embeddings").iterdir())
    print(f"corpus: {args.corpus} ({rows[0][4]:,} chunks); embedding cache on disk: {size / 1e6:.1f} MB\n")
    print("| build | seconds | texts embedded | texts reused |\n| --- | ---: | ---: | ---: |")
    for label, seconds, embedded, reused, _ in rows:
        print(f"| {label} | {seconds:.1f} | {embedded:,} | {reused:,} |")
    return 0


if __name__ == "__main__":
    run(main)
