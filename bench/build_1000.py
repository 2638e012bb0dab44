"""The whole build: a ~50 MB corpus of ~1,000 long articles, `lifqa index` timed per stage.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/build_1000.py                    # all 1,000 articles
    PYTHONPATH=. nice -n 10 .venv/bin/python bench/build_1000.py --limit 40         # first 40, extrapolated
    PYTHONPATH=. .venv/bin/python bench/build_1000.py --encoder onnx-fp32           # what a CPU without bf16 runs
    PYTHONPATH=. nice -n 10 .venv/bin/python bench/build_1000.py --compare 4 --base 1b79699
    PYTHONPATH=. .venv/bin/python bench/build_1000.py --compare 5 --base 1b79699 --compare-only --compare-workers 1
    PYTHONPATH=. .venv/bin/python bench/build_1000.py --compare 5 --base 1b79699 --compare-only --compare-encoder torch-fp32
    PYTHONPATH=. .venv/bin/python bench/build_1000.py --compare 100 --base HEAD~1 --compare-only --compare-pooling chunk

The corpus: COVID-QA articles ($LIFQA_EVAL_DATA/covid-qa/corpus.jsonl), two per document, each
word replaced by a random word of the article with probability 0.15 (a seeded generator per document),
so every document and nearly every sentence is distinct and the embedding cache cannot reuse vectors
across copies. Written as .txt files under --out (default /tmp/lifqa-build-1000/corpus).

Measured: seconds per build stage (the stages `lifqa index` reports, each with a tqdm bar and ETA on
a terminal); then an incremental rebuild after changing --changed documents, adding one and removing
one; `--limit N` builds the first N documents and extrapolates to the whole corpus by characters
(labelled as such). `--compare N` builds the first N documents with the code at git revision --base
(today's path) and with this code, side by side, each in a fresh process and a fresh index folder;
`--compare-workers W` adds a build of this code with `lifqa index --encode-workers W` (e.g. 1: the
in-process encoder, to see what the encoder worker pool gives).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main, save_result  # noqa: E402
from lifqa.errors import InputError  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))


def make_corpus(out: Path, documents: int, seed: int = 13) -> int:
    """Write the corpus (if not there yet); returns its size in bytes."""
    source = DATA / "covid-qa" / "corpus.jsonl"
    if not source.is_file():
        raise InputError(f"{source} not found; set LIFQA_EVAL_DATA to the folder holding covid-qa/corpus.jsonl")
    articles = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    out.mkdir(parents=True, exist_ok=True)
    for i in range(documents):
        path = out / f"article_{i:04d}.txt"
        if path.exists():
            continue
        rng = random.Random(seed * 100_003 + i)
        a, b = articles[i % len(articles)], articles[(7 * i + 3) % len(articles)]
        body = a["text"] + "\n\n" + b["text"]
        vocabulary = body.split()
        text = "\n".join(" ".join(rng.choice(vocabulary) if rng.random() < 0.15 else word for word in line.split(" "))
                         for line in body.split("\n"))
        path.write_text(f"Article {i}: {a.get('title') or 'COVID-19 study'}\n\n{text}\n", encoding="utf-8")
    return sum(p.stat().st_size for p in out.glob("*.txt"))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: on a shared machine, what the build itself used."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_build(corpus: Path, index: Path, **settings: str) -> dict:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    marks: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))
            print(f"  {time.strftime('%H:%M:%S')} {stage}", file=sys.stderr, flush=True)

    # texts actually embedded per stage (cache misses), so a rate never counts a text the cache already had
    from lifqa.index.embed_cache import EmbeddingCache

    embedded: dict[str, int] = {}
    shipped_encode = EmbeddingCache.encode

    def counting_encode(cache, texts, embed, progress=None, block=None):
        before = cache.misses
        try:
            return shipped_encode(cache, texts, embed, progress, block)
        finally:
            stage = marks[-1][0] if marks else "embedding"
            embedded[stage] = embedded.get(stage, 0) + cache.misses - before

    started, cpu = time.perf_counter(), _cpu_seconds()
    EmbeddingCache.encode = counting_encode
    try:
        result = build_index(corpus, index, make_settings(**settings), progress=progress)
    finally:
        EmbeddingCache.encode = shipped_encode
    total = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    stages: dict[str, float] = {}
    for (stage, at), (_, following) in zip(marks, marks[1:] + [("end", started + total)]):
        stages[stage] = round(stages.get(stage, 0.0) + following - at, 2)
    rates = {stage: round(n / stages[stage], 1) for stage, n in embedded.items() if n and stages.get(stage)}
    return {"seconds": round(total, 2), "cpu_seconds": round(cpu, 1), "stages": stages, "counts": result.manifest["counts"],
            "embedded_per_stage": embedded, "embedded_per_second": rates,
            "embedding_cache": result.manifest["embedding_cache"], "document_cache": result.manifest.get("document_cache"),
            "encoder": result.manifest.get("encoder"), "encode_workers": result.manifest.get("encode_workers")}


# Every build of a comparison runs `lifqa index` in a fresh process that starts on the same torch threads. This code's
# builds must also end on them: a path that changed the setting for good (as the encoder once did) would slow what
# follows it. The code before the encoder work (1b79699) sets one thread for calls of at most 16 texts and its threads
# again for every larger call, so a build that ends on a small call ends on one thread; for the base, the share of the
# build's time spent on fewer threads is reported instead (written to the file named in argv[2]).
THREADS = os.cpu_count() or 1
SAME_THREADS = """
import json, sys, time, torch
threads, report, strict = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "strict"
torch.set_num_threads(threads)
changes = [(time.perf_counter(), threads)]
_set = torch.set_num_threads
def recording(n):
    changes.append((time.perf_counter(), n))
    _set(n)
torch.set_num_threads = recording
from lifqa.cli import main
code = main(sys.argv[4:])
changes.append((time.perf_counter(), None))
fewer = sum(b[0] - a[0] for a, b in zip(changes, changes[1:]) if a[1] < threads)
share = round(fewer / (changes[-1][0] - changes[0][0]), 3)
with open(report, "w") as out:
    json.dump({"ended_on_threads": torch.get_num_threads(), "share_of_time_on_fewer_threads": share}, out)
assert not strict or torch.get_num_threads() == threads, f"the build left torch on {torch.get_num_threads()} threads, not {threads}"
sys.exit(code)
"""


def compare(corpus: Path, n: int, base: str, work: Path, repo: Path = ROOT, new_first: bool = False,
            workers: tuple[str, ...] = (), encoders: tuple[str, ...] = (), poolings: tuple[str, ...] = ()) -> dict:
    """Today's code (git revision ``base``) against this code on the first ``n`` documents, fresh processes and indexes."""
    subset = work / f"compare-{n}"
    if subset.exists():
        shutil.rmtree(subset)
    subset.mkdir(parents=True)
    for path in sorted(corpus.glob("*.txt"))[:n]:
        shutil.copy(path, subset / path.name)
    old = work / "old-code"
    if not old.exists():
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(repo), "archive", base, "lifqa"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    out = {}
    runs = [("new", ROOT, []), ("today", old, [])] if new_first else [("today", old, []), ("new", ROOT, [])]
    runs += [(f"new_encode_workers_{w}", ROOT, ["--encode-workers", w]) for w in workers]
    runs += [(f"new_{v}", ROOT, ["--encoder", v]) for v in encoders]
    runs += [(f"new_pooling_{p}", ROOT, ["--sentence-pooling", p]) for p in poolings]
    runs += [(f"new_pooling_{p}_{v}", ROOT, ["--sentence-pooling", p, "--encoder", v]) for p in poolings for v in encoders]
    for name, code, extra in runs:
        index = work / f"index-{name}-{n}"
        shutil.rmtree(index, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(code)}
        clock, cpu = time.perf_counter(), _cpu_seconds()
        threads_report = work / f"threads-{name}.json"
        subprocess.run([sys.executable, "-c", SAME_THREADS, str(THREADS), str(threads_report), "report" if code == old else "strict",
                        "index", "--corpus", str(subset), "--index", str(index), *extra], env=env, check=True, cwd=str(work))
        out[name] = round(time.perf_counter() - clock, 2)
        out[f"{name}_cpu_seconds"] = round(_cpu_seconds() - cpu, 1)
        out[f"{name}_threads"] = json.loads(threads_report.read_text(encoding="utf-8"))
        print(f"  {name}: {out[name]} s", file=sys.stderr, flush=True)
    out["speedup"] = round(out["today"] / out["new"], 2)
    out["cpu_speedup"] = round(out["today_cpu_seconds"] / out["new_cpu_seconds"], 2)
    for w in workers:
        out[f"speedup_encode_workers_{w}"] = round(out["today"] / out[f"new_encode_workers_{w}"], 2)
    for v in encoders:
        out[f"speedup_{v}"] = round(out["today"] / out[f"new_{v}"], 2)
    for name in [f"new_pooling_{p}" for p in poolings] + [f"new_pooling_{p}_{v}" for p in poolings for v in encoders]:
        out[f"speedup_{name[4:]}"] = round(out["today"] / out[name], 2)
    out["torch_threads"] = THREADS
    out["new_encode_workers"] = (_manifest(work / f"index-new-{n}") or {}).get("encode_workers")  # what auto chose
    out["documents"] = n
    out["bytes"] = sum(p.stat().st_size for p in subset.glob("*.txt"))
    return out


def _manifest(index: Path) -> dict | None:
    from lifqa.index import layout

    try:
        return layout.read_manifest(layout.active_build(index))
    except Exception:  # noqa: BLE001 - a figure for the report only
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--limit", type=int, help="build only the first N documents and extrapolate")
    parser.add_argument("--changed", type=int, default=10, help="documents changed for the incremental rebuild")
    parser.add_argument("--compare", type=int, help="also build the first N documents with --base and this code")
    parser.add_argument("--compare-only", action="store_true", help="stop after --compare")
    parser.add_argument("--compare-workers", action="append", default=[], metavar="W",
                        help="--compare also builds with this code and --encode-workers W (repeatable)")
    parser.add_argument("--compare-encoder", action="append", default=[], metavar="VARIANT",
                        help="--compare also builds with this code and --encoder VARIANT, e.g. torch-fp32 for a CPU without bf16")
    parser.add_argument("--compare-pooling", action="append", default=[], metavar="POOLING",
                        help="--compare also builds with this code and --sentence-pooling POOLING (with each --compare-encoder too)")
    parser.add_argument("--encoder", default="auto", metavar="VARIANT",
                        help="encoder of the full and incremental builds (torch-fp32 or onnx-fp32: what a CPU without bf16 runs)")
    parser.add_argument("--new-first", action="store_true", help="--compare builds with this code first (order effects)")
    parser.add_argument("--base", default="HEAD", help="git revision of today's path for --compare")
    parser.add_argument("--repo", type=Path, default=ROOT, help="git repository holding --base (default: this one)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "lifqa-build-1000")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "build_1000.json")
    args = parser.parse_args()
    corpus_all = args.out / "corpus"
    total_bytes = make_corpus(corpus_all, args.documents)
    result: dict = {"documents": args.documents, "corpus_mb": round(total_bytes / 1e6, 1), "load_avg_start": os.getloadavg()}
    if args.compare:
        result["compare"] = compare(corpus_all, args.compare, args.base, args.out, args.repo, args.new_first,
                                    tuple(args.compare_workers), tuple(args.compare_encoder), tuple(args.compare_pooling))
        if args.compare_only:
            save_result(args.results, result)
            return 0
    corpus = corpus_all
    if args.limit:
        corpus = args.out / f"first-{args.limit}"
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir()
        for path in sorted(corpus_all.glob("*.txt"))[:args.limit]:
            shutil.copy(path, corpus / path.name)
    index = args.out / ("index" if not args.limit else f"index-{args.limit}")
    shutil.rmtree(index, ignore_errors=True)
    print("full build", file=sys.stderr)
    full = timed_build(corpus, index, encoder=args.encoder)
    full["bytes"] = sum(p.stat().st_size for p in corpus.glob("*.txt"))
    result["full"] = full
    if args.limit:
        scale = total_bytes / full["bytes"]
        result["extrapolated_full_seconds"] = round(full["seconds"] * scale, 0)
        result["extrapolated_full_cpu_seconds"] = round(full["cpu_seconds"] * scale, 0)
        result["extrapolation"] = f"EXTRAPOLATED: {args.limit} documents built, times scaled by characters x{scale:.1f}"
    # incremental: change some documents, add one, remove one
    files = sorted(corpus.glob("*.txt"))
    changed = files[:min(args.changed, max(1, len(files) // 10))]
    for path in changed:
        path.write_text(path.read_text(encoding="utf-8") + "\nA sentence added to change this document.\n", encoding="utf-8")
    removed = files[-1]
    removed_id = removed.stem
    removed.unlink()
    (corpus / "article_added.txt").write_text((changed[0].read_text(encoding="utf-8")[:20000]).replace("Article", "Added article", 1),
                                              encoding="utf-8")
    print(f"incremental: {len(changed)} changed, 1 added, 1 removed", file=sys.stderr)
    incremental = timed_build(corpus, index, encoder=args.encoder)
    incremental.update(changed=len(changed), added=1, removed=1, of=len(files),
                       ratio_to_full=round(incremental["seconds"] / full["seconds"], 4))
    import lifqa
    engine = lifqa.open(str(index))
    incremental["removed_doc_gone"] = removed_id not in {s.document.doc_id for s in engine.sources()} and \
        all(h.chunk.doc_id != removed_id for h in engine.search("COVID-19 transmission", k=20, mode="bm25"))
    result["incremental"] = incremental
    result["load_avg_end"] = os.getloadavg()
    save_result(args.results, result)
    return 0


if __name__ == "__main__":
    run_main(main)
