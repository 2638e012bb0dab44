"""Sentence vectors pooled from the chunk's pass vs encoded alone: does the shipped reranker still abstain right?

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/pooling.py

Builds the bundled LIF corpus once per (encoder, sentence_pooling) pair in a temporary folder and counts, on the
gold test split, unanswerable questions answered and answerable questions abstained (the LIF targets: 0 and <= 5 %).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main  # noqa: E402


def main() -> int:
    import lifqa
    from lifqa.gold import load_gold
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    test = load_gold(ROOT / "corpus" / "gold" / "lif_questions.jsonl").split("test").questions
    answerable = sum(q.answerable for q in test)
    print("| encoder | sentence_pooling | unanswerable answered | answerable abstained |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for encoder in ("torch-fp32", "torch-bf16"):
            for pooling in ("encode", "chunk"):
                folder = Path(tmp) / f"{encoder}-{pooling}"
                build_index(ROOT / "corpus", folder, make_settings(encoder=encoder, sentence_pooling=pooling))
                engine = lifqa.open(str(folder))
                wrong_answer = sum(not q.answerable and not engine.ask(q.question).abstained for q in test)
                wrong_abstain = sum(q.answerable and engine.ask(q.question).abstained for q in test)
                print(f"| {encoder} | {pooling} | {wrong_answer} of {len(test) - answerable} | {wrong_abstain} of {answerable} |", flush=True)
    return 0


if __name__ == "__main__":
    run_main(main)
