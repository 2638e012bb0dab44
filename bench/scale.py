"""Serving a million passages: build, open time, RSS, ask latency per mode and dense recall@100 vs exact.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/scale.py --passages 100000 --vector-cache indexes/eval/<scifact>/embeddings/<model>.sqlite ...
    PYTHONPATH=. nice -n 10 .venv/bin/python bench/scale.py --passages 1000000 --vector-cache ...

THE DENSE VECTORS ARE STAND-INS. Embedding a million passages takes most of a day on 2 cores, so the
texts of the big index are not run through the encoder: a default build encodes each sentence and each chunk's
title/section line (its chunk vectors are composed from them), and every such text of a copy gets the real
MiniLM vector of the same text of its source document (the sentence at the same position, the line of the chunk
at the same position) plus small Gaussian noise (sigma per dimension, default 0.0128: cosine ~0.97 to the
source vector), renormalised. Everything else is real and goes through the library's own build code: the text
(every word of a copy replaced by another word of its document with probability --perturb, so every passage is
distinct text with a larger vocabulary), reading, chunking, reliability rules, BM25, the embedding cache, the
composition of chunk vectors (with the encoder's tokenizer), the SQLite store, the FAISS index and the manifest.
The question vectors are real (the engine encodes each question), and the trained answer models read the
sentence vectors. The stand-ins are injected through ``build_index``'s ``runner`` (the same hook a Ray build
uses): its ``embedder`` returns the stand-in vectors instead of running the encoder.

The corpus: SciFact's 5,183 abstracts and COVID-QA's 124 articles ($LIFQA_EVAL_DATA or ../shared/eval),
copied with distinct ids (``<source>/<id>~<copy>``) until the passages reach --passages. The source
texts' real vectors are read from the embedding caches of earlier default builds of these corpora
(--vector-cache, e.g. the evaluation indexes' caches; keyed by text) or encoded here (--embed-missing);
a source document without all its vectors is left out of the copies.
Questions: COVID-QA dev questions and SciFact test claims, --questions in all (half each).

Measured: seconds per build stage, size on disk per file, open time (default verification and full
sha256), RSS after open and after the questions (anonymous and file-backed), ask p50/p95 per mode, and
recall@100 of the dense index against exact search over the same vectors for the questions' vectors.
The load average of the machine (other jobs run on it) is recorded with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main, save_result  # noqa: E402

# --code DIR: build and serve with the lifqa of another checkout (e.g. the code before this change), side by side
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv[:-1] else ROOT
sys.path.insert(0, str(CODE))
for _name in [m for m in sys.modules if m == "lifqa" or m.startswith("lifqa.")]:
    del sys.modules[_name]

from lifqa.errors import InputError  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
MODES = ("bm25", "dense", "hybrid", "hybrid+rerank")
STAND_IN_NOTE = ("dense vectors are STAND-INS: each sentence and title line has the real MiniLM vector of the same text of its "
                 "source document plus Gaussian noise, renormalised, and chunk vectors are composed from them as a default "
                 "build does (embedding 1 M passages would take most of a day); question vectors are real")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _sources() -> list[dict]:
    out = []
    for name in ("scifact", "covid-qa"):
        path = DATA / name / "corpus.jsonl"
        if not path.is_file():
            raise InputError(f"{path} not found; set LIFQA_EVAL_DATA to the folder holding scifact/ and covid-qa/")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                out.append({"_id": f"{name}/{record['_id']}", "title": record.get("title", ""), "text": record["text"]})
    return out


def source_vectors(work: Path, caches: list[Path], embed_missing: bool) -> dict[str, dict[str, np.ndarray]]:
    """The real MiniLM vectors a default build encodes for every source document: its sentences (in order) and the
    title/section line of each of its chunks (in chunk order), ``{doc_id: {"sentences": ..., "lines": ...}}``.

    Read from embedding caches of earlier default builds (``--vector-cache``, read-only; keyed by text, so any build
    of SciFact/COVID-QA with the default chunking and encoder variant matches), else encoded here (``--embed-missing``),
    else the document is left out of the copies. Saved in ``work/sources-sentences.npz``."""
    import sqlite3

    from lifqa.chunking import chunk_document, context_line, split_sentences
    from lifqa.index.embed_cache import text_key
    from lifqa.settings import make_settings
    from lifqa.sources import read_sources

    saved = work / "sources-sentences.npz"
    if saved.is_file():
        with np.load(saved) as data:  # each data[...] reads the array from the archive again: once each
            doc_ids, vectors = data["doc_ids"].tolist(), data["vectors"]
            sentence_bounds, line_bounds = data["sentence_bounds"], data["line_bounds"]
        return {doc_id: {"sentences": vectors[s0:s1], "lines": vectors[l0:l1]}
                for doc_id, s0, s1, l0, l1 in zip(doc_ids, sentence_bounds[:, 0], sentence_bounds[:, 1], line_bounds[:, 0], line_bounds[:, 1])}
    path = work / "sources.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _sources()), encoding="utf-8")
    settings = make_settings()
    texts: dict[str, tuple[list[str], list[str]]] = {}
    for doc in read_sources(path).documents:
        chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
        texts[doc.doc_id] = ([s.text for s in split_sentences(doc.text)], [context_line(doc, c) for c in chunks])
    wanted = {text_key(t) for sentences, lines in texts.values() for t in sentences + lines}
    found: dict[int, np.ndarray] = {}
    for cache in caches:
        con = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
        try:
            for key, blob in con.execute("SELECT key, vector FROM vectors"):
                if key in wanted and key not in found:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        finally:
            con.close()
    missing = sorted({t for sentences, lines in texts.values() for t in sentences + lines if text_key(t) not in found})
    print(f"source texts: {len(wanted):,}; {len(wanted) - len(missing):,} vectors from the caches, "
          f"{len(missing):,} missing ({'encoding them' if embed_missing else 'their documents are left out'})", file=sys.stderr)
    if embed_missing and missing:
        from lifqa.encoder import get_encoder

        encoder = get_encoder()
        for text, vector in zip(missing, encoder.encode_documents(missing)):
            found[text_key(text)] = np.asarray(vector, dtype=np.float32)
    out = {doc_id: {"sentences": np.stack([found[text_key(t)] for t in sentences]), "lines": np.stack([found[text_key(t)] for t in lines])}
           for doc_id, (sentences, lines) in texts.items() if sentences and lines and all(text_key(t) in found for t in sentences + lines)}
    blocks, sentence_bounds, line_bounds, at = [], [], [], 0
    for parts in out.values():
        for name, bounds in (("sentences", sentence_bounds), ("lines", line_bounds)):
            bounds.append((at, at + len(parts[name])))
            blocks.append(parts[name])
            at += len(parts[name])
    np.savez(saved, doc_ids=np.asarray(list(out)), vectors=np.concatenate(blocks),
             sentence_bounds=np.asarray(sentence_bounds), line_bounds=np.asarray(line_bounds))
    return out


def make_corpus(path: Path, passages: int, chunks_per_doc: dict[str, int], perturb: float) -> int:
    """Copies of the source documents that have vectors (ids ``<id>~<copy>``), words perturbed, until ~``passages`` chunks."""
    sources = [r for r in _sources() if r["_id"] in chunks_per_doc]
    total, copy = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while total < passages:
            for record in sources:
                if total >= passages:
                    break
                rng = random.Random(f"{record['_id']}~{copy}")
                words = record["text"].split()
                text = record["text"]
                for _ in range(20 if copy and words else 0):  # a short abstract may draw no replacement: redraw
                    text = "\n".join(" ".join(rng.choice(words) if rng.random() < perturb else w for w in line.split(" "))
                                     for line in record["text"].split("\n"))
                    if text != record["text"]:
                        break
                out.write(json.dumps({"_id": f"{record['_id']}~{copy}", "title": record["title"], "text": text}, ensure_ascii=False) + "\n")
                total += chunks_per_doc[record["_id"]]
            copy += 1
    return total


class StandInRunner:
    """The local runner, except that its embedder returns stand-in vectors: the real vector of the same text of the
    source document plus Gaussian noise. A default build encodes sentences and title/section lines (chunk vectors are
    composed from them), so chunking records, for every copy, which source sentence each of its sentences is (the
    same position in the document) and which source line opens each chunk (the same chunk position)."""

    def __init__(self, vectors: dict[str, dict[str, np.ndarray]], sigma: float) -> None:
        from lifqa.index.build import LocalRunner

        self._local = LocalRunner()
        blocks, self.rows = [], {}
        start = 0
        for doc_id, parts in vectors.items():
            rows = {}
            for name in ("sentences", "lines"):
                rows[name] = np.arange(start, start + len(parts[name]))
                blocks.append(parts[name])
                start += len(parts[name])
            self.rows[doc_id] = rows
        self.vectors = np.concatenate(blocks)
        self.sigma = sigma
        self.source_row: dict[int, int] = {}  # hash of a text the build will encode -> row of its source text's vector
        self.rng = np.random.default_rng(7)

    def read(self, *args):
        return self._local.read(*args)

    def chunk(self, documents, chunk_size, chunk_overlap):
        from lifqa.chunking import context_line

        parts = self._local.chunk(documents, chunk_size, chunk_overlap)
        for doc, part in zip(documents, parts):
            rows = self.rows[doc.doc_id.rsplit("~", 1)[0]]
            sentences, lines = rows["sentences"], rows["lines"]
            for i, (_, start, end, _) in enumerate(part.sentences):
                self.source_row.setdefault(hash(doc.text[start:end]), int(sentences[min(i, len(sentences) - 1)]))
            for chunk in part.chunks:
                self.source_row.setdefault(hash(context_line(doc, chunk)), int(lines[min(chunk.position, len(lines) - 1)]))
        return parts

    def embedder(self, encoder):
        def embed(texts: list[str]) -> np.ndarray:
            base = self.vectors[[self.source_row[hash(t)] for t in texts]]
            noisy = base + self.sigma * self.rng.standard_normal(base.shape, dtype=np.float32)
            return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

        return embed


def index_dir(args: argparse.Namespace) -> Path:
    return args.work / (f"index-{args.passages}" + ("" if CODE == ROOT else f"-{CODE.name}"))


def build(args: argparse.Namespace) -> dict:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    work = args.work
    vectors = source_vectors(work, args.vector_cache, args.embed_missing)
    chunks_per_doc = {doc_id: len(v["lines"]) for doc_id, v in vectors.items()}
    corpus = work / f"corpus-{args.passages}.jsonl"
    planned = make_corpus(corpus, args.passages, chunks_per_doc, args.perturb)
    index = index_dir(args)
    shutil.rmtree(index, ignore_errors=True)  # a fresh build: no document or embedding cache from an earlier run
    marks: list[tuple[str, float, list[float]]] = []

    memory: dict[str, dict[str, int]] = {}  # RSS when each stage starts, and the peak so far (MB)

    def progress(stage: str, fraction: float) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter(), load()))
            memory[stage] = {"rss_mb": round(_status_mb("VmRSS")), "peak_mb": round(_status_mb("VmHWM"))}
            print(f"  {time.strftime('%H:%M:%S')} {stage} (load {load()}, {memory[stage]})", file=sys.stderr, flush=True)

    settings = make_settings()  # what a default build writes: sentence vectors, chunk vectors composed from them
    started = time.perf_counter()
    result = build_index(corpus, index, settings, progress=progress, runner=StandInRunner(vectors, args.sigma))
    total = time.perf_counter() - started
    marks.append(("end", started + total, load()))
    stages = {a[0]: round(b[1] - a[1], 1) for a, b in zip(marks, marks[1:])}
    files = {name: entry["size"] for name, entry in result.manifest["files"].items()}
    return {"source_documents": len(vectors), "source_passages": sum(chunks_per_doc.values()), "encoder": result.manifest.get("encoder"), "passages_planned": planned, "counts": result.manifest["counts"], "build_seconds": round(total, 1),
            "stage_seconds": stages, "stage_load": {m[0]: m[2] for m in marks}, "stage_memory": memory,
            "peak_rss_mb": round(_status_mb("VmHWM")), "dense": result.manifest.get("dense", result.manifest.get("dense_index")),
            "disk_mb": round(sum(files.values()) / 1e6, 1), "file_mb": {k: round(v / 1e6, 1) for k, v in sorted(files.items())}}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss() -> dict:
    return {"rss_mb": round(_status_mb("VmRSS")), "anon_mb": round(_status_mb("RssAnon")), "file_mb": round(_status_mb("RssFile")),
            "load": load()}


def questions(n: int, train: bool = False) -> list[str]:
    """COVID-QA dev questions and SciFact test claims, half each (``train``: their train splits, for choosing settings)."""
    covid = [json.loads(line) for line in (DATA / "covid-qa" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    covid = [q["question"] for q in covid if q.get("split") == ("train" if train else "dev")]
    qrels = DATA / "scifact" / "qrels" / ("train.tsv" if train else "test.tsv")
    test = {line.split("\t")[0] for line in qrels.read_text(encoding="utf-8").splitlines()[1:]}
    claims = [json.loads(line) for line in (DATA / "scifact" / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    claims = [q["text"] for q in claims if q["_id"] in test]
    return covid[: n // 2] + claims[: n - n // 2]


def exact_top(vectors, queries, k: int):
    """The exact top-k rows by inner product, in blocks over the memory map: the oracle for recall."""

    best = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(vectors), 65_536):
        block = np.asarray(vectors[start:start + 65_536], dtype=np.float32)
        scores = np.concatenate([best_scores, queries @ block.T], axis=1)
        rows = np.concatenate([best, np.broadcast_to(np.arange(start, start + len(block)), (len(queries), len(block)))], axis=1)
        keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best, best_scores = np.take_along_axis(rows, keep, axis=1), np.take_along_axis(scores, keep, axis=1)
    return best


def evict_from_page_cache(build: Path) -> None:
    """Serve cold, as after a restart. The build just wrote the files (and a full check reads them all): pages already
    in the page cache are mapped in around every touched one (fault-around), counting neighbours no question read."""
    for path in build.rglob("*"):
        if path.is_file():
            handle = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(handle)


def measure(index: Path, n_questions: int) -> dict:
    """In a fresh process: open, RSS, latency per mode, recall@100 of the dense index vs exact."""

    from lifqa.encoder import get_encoder
    from lifqa.engine import Engine, encoder_variant
    from lifqa.index import layout
    from lifqa.settings import make_settings

    out: dict = {"before_open": _rss()}
    build = layout.active_build(index)
    manifest = layout.read_manifest(build)
    evict_from_page_cache(build)
    out["page_cache"] = "the build's files evicted before open and again after the verification timings (posix_fadvise DONTNEED)"
    started = time.perf_counter()
    get_encoder(variant=encoder_variant(manifest, make_settings().query_encoder))  # loaded once per process; timed apart from the index
    out["encoder_load_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    engine = Engine.open(index)
    out["open_seconds"] = round(time.perf_counter() - started, 2)
    out["open_load"] = load()
    out["after_open"] = _rss()
    for how in ("sampled", "full"):
        clock = time.perf_counter()
        try:
            layout.verify_files(build, manifest, full=how == "full")
        except TypeError:  # code from before sampled digests: every file hashed at every open
            layout.verify_files(build, manifest)
        out[f"verify_{how}_seconds"] = round(time.perf_counter() - clock, 2)
    evict_from_page_cache(build)  # the full check read every byte
    asked = questions(n_questions)
    latency = {}
    for mode in MODES:
        engine.ask(asked[0], mode=mode)  # warm-up
        times = []
        for question in asked:
            clock = time.perf_counter()
            engine.ask(question, mode=mode)
            times.append((time.perf_counter() - clock) * 1000)
        latency[mode] = {"p50_ms": round(float(np.percentile(times, 50)), 1), "p95_ms": round(float(np.percentile(times, 95)), 1),
                         "load": load()}
        print(f"  {mode}: {latency[mode]}", file=sys.stderr, flush=True)
    out["ask"] = latency
    # filtered asks: the most common flag excluded (IVF through an ID selector), and 50 documents (exact over their rows)
    store = engine.store
    common = max(store.doc_flags, key=lambda kind: len(store.doc_flags[kind]), default=None)
    filtered = {}
    for name, options in ((f"exclude_flags={common}", {"exclude_flags": [common]} if common else {}),
                          ("doc_ids=50 documents", {"doc_ids": store.doc_ids[:50]})):
        allowed = engine.allowed_rows(**options)
        times = []
        for question in asked:
            clock = time.perf_counter()
            answer = engine.ask(question, mode="hybrid+rerank", **options)
            times.append((time.perf_counter() - clock) * 1000)
            assert allowed is None or all(allowed[store.row_of(c.chunk_id)] for c in answer.citations)
        filtered[name] = {"allowed_rows": int(allowed.sum()) if allowed is not None else store.n_chunks,
                          "p50_ms": round(float(np.percentile(times, 50)), 1), "p95_ms": round(float(np.percentile(times, 95)), 1), "load": load()}
        print(f"  hybrid+rerank, {name}: {filtered[name]}", file=sys.stderr, flush=True)
    out["ask_filtered"] = filtered
    out["questions"] = len(asked)
    out["after_questions"] = _rss()
    vectors = engine.encoder.encode_queries(asked)
    clock = time.perf_counter()
    exact = exact_top(engine.dense.vectors, vectors, 100)
    exact_ms = (time.perf_counter() - clock) * 1000 / len(asked)
    clock = time.perf_counter()
    _, found = engine.dense.search(vectors, 100)
    index_ms = (time.perf_counter() - clock) * 1000 / len(asked)
    out["dense_recall_at_100_questions"] = round(float(np.mean([len(set(e) & set(f)) / len(e) for e, f in zip(exact.tolist(), found.tolist())])), 4)
    out["dense_ms_per_query"] = {"index": round(index_ms, 2), "exact_scan": round(exact_ms, 2)}
    out["dense"] = manifest.get("dense", manifest.get("dense_index"))
    out["after_recall"] = _rss()
    return out


def sweep(index: Path, n_questions: int) -> list[dict]:
    """Recall@100 vs exact and ms per query of the dense index for nprobe x rescore, on TRAIN questions
    (the defaults are chosen here; the figures reported use the dev/test questions)."""

    from lifqa.encoder import get_encoder
    from lifqa.engine import encoder_variant
    from lifqa.index import layout
    from lifqa.index.dense import DenseIndex
    from lifqa.settings import make_settings

    build = layout.active_build(index)
    vectors = get_encoder(variant=encoder_variant(layout.read_manifest(build), make_settings().query_encoder)).encode_queries(questions(n_questions, train=True))
    exact = exact_top(np.load(build / layout.CHUNK_VECTORS, mmap_mode="r"), vectors, 100)
    out = []
    for nprobe in (64, 128, 256, 512):
        for rescore in (4, 8, 16):
            dense = DenseIndex(build / layout.FAISS_FILE, build / layout.CHUNK_VECTORS, make_settings(ivf_nprobe=nprobe, ann_rescore=rescore))
            dense.search(vectors[:5], 100)
            clock = time.perf_counter()
            _, found = dense.search(vectors, 100)
            ms = (time.perf_counter() - clock) * 1000 / len(vectors)
            recall = float(np.mean([len(set(e) & set(f)) / 100 for e, f in zip(exact.tolist(), found.tolist())]))
            out.append({"nprobe": nprobe, "rescore": rescore, "recall_at_100": round(recall, 4), "ms_per_query": round(ms, 2), "load": load()})
            print(f"  nprobe {nprobe:4d} rescore {rescore:2d}: recall@100 {recall:.4f}, {ms:.2f} ms/query (load {load()})", file=sys.stderr, flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lifqa-scale"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--sigma", type=float, default=0.0128, help="stand-in noise per dimension (default: %(default)s)")
    parser.add_argument("--perturb", type=float, default=0.05, help="share of words replaced in each copy (default: %(default)s)")
    parser.add_argument("--vector-cache", type=Path, action="append", default=[],
                        help="embedding cache (indexes/<...>/embeddings/*.sqlite) holding source passages' vectors; repeatable")
    parser.add_argument("--embed-missing", action="store_true", help="encode source passages no cache holds (slow under load)")
    parser.add_argument("--sweep", action="store_true", help="only the nprobe x rescore sweep on train questions, for the index built earlier")
    parser.add_argument("--measure-only", action="store_true", help="measure the index built by an earlier run")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # internal: the fresh measuring process
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose lifqa builds and serves (default: this one)")
    parser.add_argument("--out", type=Path, help="JSON results (default: bench/results/scale_<passages>.json)")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.questions)))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    if args.sweep:
        result = sweep(index_dir(args), args.questions)
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / f"scale_sweep_{args.passages}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return 0
    result = {"note": STAND_IN_NOTE, "code": "this checkout" if CODE == ROOT else CODE.name, "passages": args.passages, "sigma": args.sigma, "perturb": args.perturb, "load_start": load()}
    print(f"NOTE: {STAND_IN_NOTE}", file=sys.stderr)
    if not args.measure_only:
        result["build"] = build(args)
        print(json.dumps(result["build"], indent=2), file=sys.stderr)
    proc = subprocess.run([sys.executable, __file__, "--measure", str(index_dir(args)), "--questions", str(args.questions),
                           "--code", str(CODE)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(CODE)})
    if proc.returncode:
        raise InputError(f"the measuring process failed (exit {proc.returncode})")
    result["serve"] = json.loads(proc.stdout)
    result["load_end"] = load()
    out = args.out or ROOT / "bench" / "results" / (f"scale_{args.passages}" + ("" if CODE == ROOT else f"-{CODE.name}") + ".json")
    save_result(out, result)
    print(f"NOTE: {STAND_IN_NOTE}")
    return 0


if __name__ == "__main__":
    run_main(main)
