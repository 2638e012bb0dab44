"""How long a fresh process takes to give its first answer: what every `lifqa ask` and the app's first question wait.

    PYTHONPATH=. .venv/bin/python bench/first_answer.py --starts 5 [--base-tree ../lifqa-before]

The bundled corpus is built once with the default settings (or ``--index`` is used as it is). Then, ``--starts`` rounds,
paths interleaved within each round, each start a fresh process timed from launch to exit (interpreter start, imports,
opening the index with its checksums, loading the query encoder, one answer):

- ``python auto`` / ``python build``: ``lifqa.open(index, query_encoder=...)`` and one ``ask`` in this tree: the query
  encoder lifqa picks (ONNX Runtime fp32 for an fp32 or bf16 index) against the variant that built the index;
- ``cli``: ``lifqa ask`` in this tree;
- ``cli base``: ``lifqa ask`` in another checkout (``--base-tree``, e.g. a worktree of an older commit), same index.

Medians are reported with every start's time, and the load average before the first start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import first_answer_options, run, save_result  # noqa: E402

ASK = """
import sys
import lifqa
engine = lifqa.open(sys.argv[1], query_encoder=sys.argv[3])
answer = engine.ask(sys.argv[2])
assert answer.sentences or answer.abstained
print(engine.encoder.variant)
"""


def timed(command: list[str], tree: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:3])} failed in {tree.name}: {done.stderr.strip()[-400:]}")
    return elapsed, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> int:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None, help="a built index (default: the bundled corpus, built now)")
    first_answer_options(parser, starts=5, runs="`lifqa ask`", asks="the question every start asks", out="first_answer.json")
    args = parser.parse_args()
    question = args.question
    python = sys.executable
    cli = [python, "-m", "lifqa.cli", "ask"]
    with tempfile.TemporaryDirectory(prefix="lifqa-first-answer-") as scratch:
        index = args.index
        if index is None:
            index = Path(scratch) / "index"
            build_index(ROOT / "corpus", index, make_settings())
        index = index.resolve()
        paths = {
            "python auto": ([python, "-c", ASK, str(index), question, "auto"], ROOT),
            "python build": ([python, "-c", ASK, str(index), question, "build"], ROOT),
            "cli": (cli + ["--index", str(index), question], ROOT),
        }
        if args.base_tree:
            paths["cli base"] = (cli + ["--index", str(index), question], args.base_tree.resolve())
        load = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in paths}
        variants: dict[str, str] = {}
        for name, (command, tree) in paths.items():  # one unmeasured start each: files into the page cache
            variants[name] = timed(command, tree)[1] if name.startswith("python") else ""
        for _ in range(args.starts):
            for name, (command, tree) in paths.items():
                times[name].append(round(timed(command, tree)[0], 3))
    result = {
        "question": question, "starts": args.starts, "load_before": round(load, 2),
        "query_encoder": {name: variants[name] for name in variants if variants[name]},
        "median_s": {name: round(statistics.median(values), 3) for name, values in times.items()},
        "seconds": times,
    }
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run(main)
