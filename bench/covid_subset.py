"""The COVID-QA subset measured in BENCHMARKS.md ("Answers"), while the full evaluation index was not built.

    .venv/bin/python bench/covid_subset.py --out /tmp/cov22/corpus.jsonl
    .venv/bin/lifqa index --corpus /tmp/cov22/corpus.jsonl --index /tmp/cov22/index

Writes the first 12 articles of corpus.jsonl (all train articles: 280 train questions) followed by the 10 dev
articles with the most dev questions per character (146 dev questions), in the corpus's order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
DEV_ARTICLES = ("2459", "2634", "1550", "1545", "2519", "2461", "1684", "1578", "1590", "1607")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    source = args.data / "covid-qa" / "corpus.jsonl"
    if not source.is_file():
        parser.error(f"{source} not found: give --data DIR (with covid-qa/) or set LIFQA_EVAL_DATA")
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    train = lines[:12]
    dev = [line for line in lines if json.loads(line)["_id"] in DEV_ARTICLES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(train + dev), encoding="utf-8")
    print(f"wrote {len(train) + len(dev)} articles to {args.out}")
    return 0


if __name__ == "__main__":
    run(main)
