"""Load: thousands of questions through batch answering and through concurrent `ask` calls.

    .venv/bin/python bench/load.py [--index DIR] [--questions 2000] [--threads 8] [--batch-size 32] [--json]
    .venv/bin/python bench/load.py --big-file 50      # time indexing one generated 50 MB file instead

The questions vary the gold questions of corpus/gold (prefixes, suffixes, case,
"LIF" spelled out) and add off-topic ones that should abstain. Phase 1 answers
them with lifqa.batch.run_batch (Engine.ask_many underneath, one encoder call per
batch); phase 2 sends them as single Engine.ask calls from a thread pool sharing
one engine. For each phase: throughput, p50/p95 latency, and the resident memory
(VmRSS from /proc, sampled every 0.1 s) after 500 and after all questions, so
growth per question shows whether memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifqa.batch import BatchInput, BatchItem, run_batch  # noqa: E402
from lifqa.engine import Engine  # noqa: E402
from lifqa.gold import load_gold  # noqa: E402
from lifqa.index.build import build_index  # noqa: E402
from lifqa.settings import make_settings  # noqa: E402

PREFIXES = ("", "", "Please tell me: ", "Quick question - ", "In the literature, ", "According to the sources, ")
SUFFIXES = ("", "", " Answer briefly.", " Cite your sources.", " (for a review)")
OFF_TOPIC = (
    "Who won the 2014 FIFA World Cup final?", "What is the boiling point of ethanol?", "Who wrote Pride and Prejudice?",
    "What is the capital of Australia?", "How many moons does Jupiter have?", "What is the speed of light in vacuum?",
    "Which enzyme digests starch in saliva?", "When did the Berlin Wall fall?", "What does a transistor do?",
    "How tall is Mount Everest?", "What is the GDP of France?", "Which planet has the longest day?",
)
MILESTONE = 500


def make_questions(count: int, seed: int = 0) -> list[str]:
    """``count`` questions: 85 % variations of gold questions, 15 % off-topic variations."""
    gold = [q.question for q in load_gold(ROOT / "corpus" / "gold" / "lif_questions.jsonl").questions]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        base = rng.choice(OFF_TOPIC) if rng.random() < 0.15 else rng.choice(gold)
        if rng.random() < 0.3:
            base = base.replace("LIF", "leukemia inhibitory factor")
        text = rng.choice(PREFIXES) + (base[0].lower() + base[1:] if rng.random() < 0.2 else base) + rng.choice(SUFFIXES)
        out.append(text)
    return out


class MemorySampler:
    """VmRSS of this process every ``interval`` seconds, tagged with how many questions were done."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.done = 0
        self.samples: list[tuple[float, int, float]] = []  # (seconds, questions done, rss MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> float:
        rss = proc_status_mb("VmRSS")
        self.samples.append((time.perf_counter() - self._t0, self.done, rss))
        return rss

    def rss_at(self, done: int) -> float:
        """The first sample taken once ``done`` questions were answered."""
        return next(rss for _, n, rss in self.samples if n >= done)

    def peak(self) -> float:
        return max(rss for _, _, rss in self.samples)


def cpu_seconds() -> float:
    """User + system CPU time of this process: on a shared machine, steadier than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def summary(name: str, latencies_ms: list[float], wall_s: float, cpu_s: float, memory: MemorySampler,
            extra: dict[str, Any]) -> dict[str, Any]:
    n = len(latencies_ms)
    after_first, after_all = memory.rss_at(min(MILESTONE, n)), memory.rss_at(n)
    return {
        "phase": name,
        "questions": n,
        "wall_s": round(wall_s, 2),
        "throughput_qps": round(n / wall_s, 2),
        "cpu_ms_per_question": round(cpu_s * 1000 / n, 1),
        "latency_p50_ms": round(percentile(latencies_ms, 50), 1),
        "latency_p95_ms": round(percentile(latencies_ms, 95), 1),
        f"rss_after_{MILESTONE}_mb": round(after_first, 1),
        f"rss_after_{n}_mb": round(after_all, 1),
        "rss_growth_kb_per_question": round((after_all - after_first) * 1024 / max(1, n - MILESTONE), 2),
        "rss_peak_sampled_mb": round(memory.peak(), 1),
        **extra,
    }


def run_batched(engine: Engine, questions: list[str], batch_size: int) -> dict[str, Any]:
    """Phase 1: lifqa.batch.run_batch; latency = each question's share of its batch (encode share + its own answer time)."""
    items = BatchInput(tuple(BatchItem(f"q{i}", q, i + 1) for i, q in enumerate(questions)), ())
    latencies, batch_walls, abstained, errors = [], [], 0, 0
    with MemorySampler() as memory:
        cpu, started = cpu_seconds(), time.perf_counter()
        batch_started = started
        for record in run_batch(engine, items, batch_size=batch_size):
            memory.done += 1
            if "error" in record:
                errors += 1
                continue
            abstained += record["abstained"]
            latencies.append(record["timings_ms"]["encode_ms"] + record["timings_ms"]["total_ms"])
            if memory.done % batch_size == 0 or memory.done == len(questions):
                now = time.perf_counter()
                batch_walls.append((now - batch_started) * 1000)
                batch_started = now
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return summary("batch (run_batch, ask_many)", latencies, wall, cpu, memory, {
        "batch_size": batch_size, "batch_wall_p50_ms": round(percentile(batch_walls, 50), 1),
        "batch_wall_p95_ms": round(percentile(batch_walls, 95), 1), "abstained": abstained, "errors": errors})


def run_concurrent(engine: Engine, questions: list[str], threads: int) -> dict[str, Any]:
    """Phase 2: single Engine.ask calls from a thread pool; latency = wall time of each call, waits included."""
    lock = threading.Lock()
    with MemorySampler() as memory:
        def ask(question: str) -> tuple[float, bool]:
            clock = time.perf_counter()
            answer = engine.ask(question)
            took = (time.perf_counter() - clock) * 1000
            with lock:
                memory.done += 1
            return took, answer.abstained

        cpu, started = cpu_seconds(), time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(ask, questions))
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return summary(f"concurrent ask ({threads} threads)", [r[0] for r in results], wall, cpu, memory,
                   {"threads": threads, "abstained": sum(r[1] for r in results)})


def encode_probe(engine: Engine, questions: list[str]) -> dict[str, float]:
    """CPU ms per question of the encoder alone: one question per call from the main thread, from 8 worker
    threads, and 32 per call. Shows what the two phases above pay for encoding on this machine."""
    encode = engine.encoder.encode_queries
    runs: dict[str, Callable[[], object]] = {
        "single_main_thread": lambda: [encode([q]) for q in questions],
        "single_8_threads": lambda: list(ThreadPoolExecutor(8).map(lambda q: encode([q]), questions)),
        "batch_32": lambda: [encode(questions[i:i + 32]) for i in range(0, len(questions), 32)],
    }
    out = {}
    for name, run in runs.items():
        cpu = cpu_seconds()
        run()
        out[f"encode_cpu_ms_{name}"] = round((cpu_seconds() - cpu) * 1000 / len(questions), 1)
    return out


def load_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or tmp
        if not args.index:
            build_index(ROOT / "corpus", index, make_settings())
        engine = Engine.open(index)
        questions = make_questions(args.questions)
        engine.ask_many(questions[:8])  # warm-up: first calls allocate torch buffers
        report = {
            "index": "fresh build of corpus/" if not args.index else str(args.index),
            "chunks": len(engine.store.chunks),
            "distinct_questions": len(set(questions)),
            "rss_before_mb": round(proc_status_mb("VmRSS"), 1),
            "phases": [run_batched(engine, questions, args.batch_size), run_concurrent(engine, questions, args.threads)],
            **encode_probe(engine, questions[:64]),
        }
        report["rss_peak_process_mb"] = round(proc_status_mb("VmHWM"), 1)
        return report


# ---- a 50 MB file -------------------------------------------------------------------

def write_big_file(folder: Path, megabytes: float, seed: int = 0) -> int:
    """One file of distinct prose lines built from the corpus vocabulary (no markup, so it stays plain text)."""
    words = [w for p in sorted((ROOT / "corpus").glob("*.txt")) for w in p.read_text(encoding="utf-8").split()
             if w.isascii() and "<" not in w and ">" not in w and "&" not in w]
    rng = random.Random(seed)
    size, number = 0, 0
    with (folder / "big.txt").open("w", encoding="utf-8") as out:
        while size < megabytes * 1_000_000:
            start = rng.randrange(len(words) - 30)
            line = " ".join(words[start:start + rng.randint(8, 30)]).rstrip(".") + f" (record {number}).\n"
            line += "\n" if rng.random() < 0.2 else ""
            size += out.write(line)
            number += 1
    return size


def big_file_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        size = write_big_file(corpus, args.big_file)
        stages: list[tuple[str, float]] = []
        cpu, clock = cpu_seconds(), time.perf_counter()
        def progress(stage: str, fraction: float) -> None:
            stages.append((stage, time.perf_counter() - clock))
            print(f"[{stages[-1][1]:7.1f} s, cpu {cpu_seconds() - cpu:7.1f} s] {stage}", file=sys.stderr, flush=True)

        with MemorySampler(interval=0.5) as memory:
            result = build_index(corpus, index, make_settings(), progress=progress)
            build_s, build_cpu_s = time.perf_counter() - clock, cpu_seconds() - cpu
            clock = time.perf_counter()
            engine = Engine.open(index)
            open_s = time.perf_counter() - clock
            clock = time.perf_counter()
            answer = engine.ask("Which receptor does LIF bind?")
            ask_ms = (time.perf_counter() - clock) * 1000
        timeline = [(name, round(at, 1)) for name, at in stages]
        return {
            "file_mb": round(size / 1e6, 1),
            "index_build_s": round(build_s, 1),
            "index_build_cpu_s": round(build_cpu_s, 1),
            "stages_started_at_s": timeline,
            "counts": result.manifest["counts"],
            "index_mb_on_disk": round(sum(p.stat().st_size for p in result.build_dir.rglob("*") if p.is_file()) / 1e6, 1),
            "engine_open_s": round(open_s, 2),
            "first_ask_ms": round(ask_ms, 1),
            "abstained": answer.abstained,
            "rss_peak_sampled_mb": round(memory.peak(), 1),
            "rss_peak_process_mb": round(proc_status_mb("VmHWM"), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="an existing index (default: build corpus/ in a temporary folder)")
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--big-file", type=float, metavar="MB", help="instead: index one generated file of this many MB and time it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    report = big_file_benchmark(args) if args.big_file else load_benchmark(args)
    report["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine slows wall times
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        if key != "phases":
            print(f"{key}: {value}")
    for phase in report.get("phases", []):
        print()
        for key, value in phase.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
