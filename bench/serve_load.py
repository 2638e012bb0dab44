"""Load on `lifqa serve`: concurrent HTTP clients against the answers of the in-process engine.

    .venv/bin/python bench/serve_load.py --index DIR [--questions FILE] [--clients 8] [--per-client 200]
                                          [--upload FILE --corpus DIR [--probe QUESTION]] [--json]

Phase 1 answers every question in-process, one at a time (the reference, and the
in-process p50/p95). Phase 2 starts `lifqa serve` as its own process on a free loopback
port and sends the same questions from ``--clients`` threads, each with its own httpx
client: every answer must equal the reference (timings aside), and errors are counted.
With ``--upload``, phase 3 repeats phase 2 while that file is uploaded to the served
corpus and its incremental build swaps the engine: an answer from the new build is
checked against the new build opened in-process afterwards.

Needs an idle machine for meaningful figures; BENCHMARKS.md records the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifqa.engine import Engine  # noqa: E402
from lifqa.schema import AnswerOut  # noqa: E402


def load_questions(path: Path | None, count: int) -> list[str]:
    """Questions of a gold/BEIR JSONL ("question" or "text") or a text file (one a line), cycled to ``count``."""
    path = path or ROOT / "corpus" / "gold" / "lif_questions.jsonl"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        lines = [(lambda o: o.get("question") or o.get("text"))(json.loads(line)) for line in lines]
    questions = [q for q in lines if q]
    return [questions[i % len(questions)] for i in range(count)]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "mean_ms": round(statistics.fmean(ordered), 1)}


def in_process(index: Path, questions: list[str]) -> tuple[dict[str, dict], dict[str, float], str]:
    engine = Engine.open(index)
    reference, ms = {}, []
    for question in questions:
        clock = time.perf_counter()
        answer = engine.ask(question)
        ms.append((time.perf_counter() - clock) * 1000)
        reference.setdefault(question, comparable(AnswerOut.of(answer).model_dump(mode="json")))
    return reference, percentiles(ms), engine.build.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: Path, corpus: Path | None, port: int) -> subprocess.Popen:
    args = [sys.executable, "-m", "lifqa.cli", "serve", "--index", str(index), "--port", str(port), "--threads", "8"]
    if corpus is not None:
        args += ["--corpus", str(corpus)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer /health within 300 s")


def hammer(url: str, questions: list[str], clients: int) -> list[tuple[str, int, str, dict | None, float]]:
    """(question, status, build, body, ms) of every request; client c sends questions c, c+clients, ..."""
    results: list[tuple[str, int, str, dict | None, float]] = []
    lock = threading.Lock()

    def client(start: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            for question in questions[start::clients]:
                clock = time.perf_counter()
                try:
                    r = http.post("/ask", json={"question": question})
                    row = (question, r.status_code, r.headers.get("x-lifqa-build", ""), r.json() if r.status_code == 200 else None)
                except httpx.HTTPError as exc:
                    row = (question, 0, "", {"transport_error": str(exc)})
                with lock:
                    results.append((*row, (time.perf_counter() - clock) * 1000))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summarise(results: list, references: dict[str, dict[str, dict]], seconds: float) -> dict[str, Any]:
    errors = sum(1 for _, status, _, _, _ in results if status != 200)
    checked = [(q, build, body) for q, status, build, body, _ in results if status == 200 and build in references]
    different = sum(1 for q, build, body in checked if comparable(body) != references[build][q])
    return {"requests": len(results), "errors": errors, "compared": len(checked), "different": different,
            "builds": sorted({b for _, _, b, _, _ in results}), "per_second": round(len(results) / seconds, 1),
            **percentiles([ms for *_, ms in results])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, help="the served corpus folder (needed with --upload)")
    parser.add_argument("--questions", type=Path, help="gold/BEIR JSONL or one question a line (default: the LIF gold questions)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=200)
    parser.add_argument("--upload", type=Path, help="a file to upload during phase 3")
    parser.add_argument("--probe", help="with --upload: a question only the uploaded file answers; reports the seconds from "
                                        "the upload to the first answer citing it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    questions = load_questions(args.questions, args.clients * args.per_client)
    unique = list(dict.fromkeys(questions))

    reference, inproc, build = in_process(args.index, unique)
    report: dict[str, Any] = {"questions": len(questions), "distinct": len(unique), "clients": args.clients,
                              "in_process": inproc}
    port = free_port()
    server = start_server(args.index, args.corpus, port)
    url = f"http://127.0.0.1:{port}"
    try:
        clock = time.perf_counter()
        results = hammer(url, questions, args.clients)
        report["served"] = summarise(results, {build: reference}, time.perf_counter() - clock)
        if args.upload:
            done: dict[str, Any] = {}

            def upload() -> None:
                with httpx.Client(base_url=url, timeout=300) as http:
                    posted = time.perf_counter()
                    r = http.post("/documents", files=[("files", (args.upload.name, args.upload.read_bytes()))])
                    r.raise_for_status()
                    while (status := http.get(r.json()["status_url"]).json())["state"] not in ("done", "failed"):
                        time.sleep(0.2)
                    done.update(status)
                    if args.probe and status["state"] == "done":  # answerable from the new paper: a citation of it
                        while time.perf_counter() - posted < 300:
                            cited = {c["doc_id"] for c in http.post("/ask", json={"question": args.probe}).json()["citations"]}
                            if cited & set(status.get("added") or []):
                                done["upload_to_answer_seconds"] = round(time.perf_counter() - posted, 2)
                                break
                            time.sleep(0.2)

            uploader = threading.Thread(target=upload)
            clock = time.perf_counter()
            uploader.start()
            results = hammer(url, questions, args.clients)
            uploader.join()
            seconds = time.perf_counter() - clock
            references = {build: reference}
            if done.get("state") == "done" and done.get("build"):
                references[done["build"]], _, _ = in_process(args.index, unique)
            report["during_build"] = {**summarise(results, references, seconds), "build": {k: done.get(k) for k in ("state", "seconds", "added", "error", "upload_to_answer_seconds")}}
    finally:
        server.terminate()
        server.wait(30)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for phase in ("in_process", "served", "during_build"):
            if phase in report:
                print(f"{phase}: {json.dumps(report[phase])}")


if __name__ == "__main__":
    main()
