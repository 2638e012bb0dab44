"""Chunk vectors composed from the sentence vectors a build already has: can the chunk pass be skipped?

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/composed_vectors.py --index indexes/eval/<covid-qa> \\
        --gold ../shared/eval/covid-qa/gold.jsonl --split train --out bench/results/composed_vectors_covid.json

Half of a build's encoder time goes to the chunks' own forward passes, half to the sentences'. The reranker, the
support model and the answer selector all read the sentences' vectors as encoded alone (a vector pooled from the
chunk's pass is a different vector: bench/pooled_map.py), so the sentences' pass stays. This asks the converse: could
a chunk's retrieval vector be built from its sentences' vectors (and one vector of its title and section line, which
the chunk's retrieval text starts with) instead of its own pass? Each way of composing is written into a copy of a
built index (hard links for every unchanged file) and the copy is evaluated with ``lifqa eval --index`` beside the
original, in one run, on a train split (choices are made there; a held-out split only reports).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main, save_result  # noqa: E402
from lifqa.index import layout  # noqa: E402

# How a chunk's vector is composed: which parts take part and how each is weighted.
WAYS = {
    "sentences": "mean of the chunk's sentence vectors",
    "sentences+context": "mean of the sentence vectors and the title/section line's vector, each counted once",
    "length-weighted": "sentence vectors and the title/section line's vector, each weighted by its tokens",
}


def composed(way: str, parts: dict) -> np.ndarray:
    """One vector per chunk, normalised, composed the given way (length-weighted: what a build does)."""
    from lifqa.index.embed import compose_chunk_vectors

    sentences, spans = parts["sentence_vectors"], parts["chunk_sentences"]
    if way == "length-weighted":
        return compose_chunk_vectors(sentences, spans, parts["sentence_tokens"], parts["line_vectors"],
                                     parts["line_of_chunk"], parts["line_tokens"])
    ones = np.ones(len(sentences), dtype=np.float32)
    line_weight = np.full(len(parts["line_vectors"]), 0.0 if way == "sentences" else 1.0, dtype=np.float32)
    return compose_chunk_vectors(sentences, spans, ones, parts["line_vectors"], parts["line_of_chunk"], line_weight)


def parts_of(build: Path, encoder: object) -> dict:
    """What composing needs, read once: the stored sentence vectors and chunk sentence ranges, each chunk's
    title/section line (as ``retrieval_text`` puts it before the chunk), encoded once per distinct line, and every
    sentence's and line's token count."""
    from lifqa.index.embed import context_lines, token_weights
    from lifqa.index.store import Store

    store = Store(build)
    chunks = list(store.iter_chunks())
    documents = {doc_id: store.source(doc_id).document for doc_id in dict.fromkeys(c.doc_id for c in chunks)}
    lines, line_of_chunk = context_lines(documents, chunks)
    spans = np.load(build / layout.SENTENCE_SPANS)
    sentence_texts = [""] * len(spans)
    for row, chunk in enumerate(chunks):  # every sentence lies inside its document's text
        lo, hi = store.chunk_sentences[row]
        for s in range(int(lo), int(hi)):
            sentence_texts[s] = documents[chunk.doc_id].text[int(spans[s, 0]):int(spans[s, 1])]
    store.close()
    started = time.perf_counter()
    line_vectors = encoder.encode_documents(lines)
    print(f"{len(lines)} title/section lines encoded in {time.perf_counter() - started:.1f} s "
          f"for {len(chunks)} chunks and {len(sentence_texts)} sentences", flush=True)
    return {"sentence_vectors": np.asarray(np.load(build / layout.SENTENCE_VECTORS), dtype=np.float32),
            "chunk_sentences": np.load(build / layout.CHUNK_SENTENCES), "line_vectors": line_vectors, "line_of_chunk": line_of_chunk, "line_tokens": token_weights(encoder, lines),
            "sentence_tokens": token_weights(encoder, sentence_texts)}


def copy_with(index: Path, folder: Path, vectors: np.ndarray) -> Path:
    """A copy of a built index whose chunk vectors (and flat FAISS index) are ``vectors``; the manifest's checksums
    are recomputed so the copy opens as any index does."""
    from lifqa.index.dense import build_faiss
    from lifqa.index.layout import file_checksums
    from lifqa.settings import make_settings

    source = layout.active_build(index)
    build = folder / source.name
    build.mkdir(parents=True)
    for path in source.rglob("*"):
        target = build / path.relative_to(source)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.name not in (layout.CHUNK_VECTORS, layout.FAISS_FILE, layout.MANIFEST):
            os.link(path, target)
    (folder / layout.CURRENT).write_text(source.name)
    manifest = layout.read_manifest(source)
    if manifest.get("dense_index") != "flat":
        raise SystemExit(f"{index}: only flat dense indexes are composed here (this one is {manifest.get('dense_index')})")
    np.save(build / layout.CHUNK_VECTORS, vectors)
    build_faiss(vectors, build / layout.FAISS_FILE, make_settings(**{k: v for k, v in manifest["settings"].items() if k != "model_id"}))
    manifest["files"] = file_checksums(build)
    (build / layout.MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def evaluate(index: Path, args: argparse.Namespace) -> dict:
    command = [str(ROOT / ".venv" / "bin" / "lifqa"), "eval", "--index", str(index), "--split", args.split,
               "--modes", args.modes, "--json"]
    command += ["--gold", args.gold] if args.gold else ["--beir", args.beir]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"lifqa eval failed on {index}: {done.stderr.strip()[-2000:]}")
    summary = json.loads(done.stdout)
    return {"n_questions": summary["n_questions"], "modes": summary["modes"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="a built index (flat dense index) of the corpus the questions ask")
    parser.add_argument("--gold")
    parser.add_argument("--beir")
    parser.add_argument("--split", default="train")
    parser.add_argument("--modes", default="dense,hybrid+rerank")
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (args.gold or args.beir):
        parser.error("give --gold or --beir")
    from lifqa.encoder import get_encoder
    from lifqa.index.dense import read_chunk_vectors

    index = Path(args.index)
    build = layout.active_build(index)
    manifest = layout.read_manifest(build)
    encoder = get_encoder(variant=manifest["encoder"]["variant"])
    parts = parts_of(build, encoder)
    result = {"what": "chunk vectors from the chunk's own pass vs composed from its sentence vectors and title/section line",
              "index": manifest["corpus"]["fingerprint"][:12], "encoder": manifest["encoder"]["variant"],
              "split": args.split, "load_1min_start": os.getloadavg()[0], "ways": {}, "runs": {}}
    original = read_chunk_vectors(build)
    result["runs"]["chunk pass"] = evaluate(index, args)
    print("chunk pass", json.dumps(result["runs"]["chunk pass"]), flush=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "indexes") as tmp:
        for way in args.ways.split(","):
            vectors = composed(way, parts)
            cosine = (vectors * original).sum(1)
            result["ways"][way] = {"how": WAYS[way], "cosine_to_chunk_pass_mean": round(float(cosine.mean()), 4),
                                   "cosine_p05": round(float(np.percentile(cosine, 5)), 4)}
            result["runs"][way] = evaluate(copy_with(index, Path(tmp) / way, vectors), args)
            print(way, json.dumps(result["ways"][way]), json.dumps(result["runs"][way]), flush=True)
    result["load_1min_end"] = os.getloadavg()[0]
    result["date"] = time.strftime("%Y-%m-%d")
    if args.out:
        save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run_main(main)
