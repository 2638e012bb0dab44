"""Off-corpus questions must abstain: the claims of a BEIR set asked of another corpus's index.

    .venv/bin/python bench/off_corpus_abstention.py --index indexes/eval/<covid-qa index> --beir ../shared/eval/scifact --split test

Prints the share of claims that abstain under the index's threshold (its calibration when it has one, else the
shipped default) and under the shipped default, side by side in one run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run  # noqa: E402


def main() -> int:
    from lifqa.calibrate import support_scores
    from lifqa.engine import Engine
    from lifqa.gold import load_beir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True)
    parser.add_argument("--beir", required=True, type=Path)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    engine = Engine.open(args.index, verify=False)
    claims = [q.question for q in load_beir(args.beir, args.split).questions]
    scores = np.asarray(support_scores(engine, claims))
    uncalibrated = engine.with_settings(use_calibration=False)  # the shipped model and threshold, not the index's
    default_scores = np.asarray(support_scores(uncalibrated, claims)) if engine.calibration else scores
    default = engine.feature_reranker.abstain_threshold
    print(f"{len(claims)} {args.beir.name} {args.split} claims asked of {args.index}")
    print(f"index threshold {engine.abstain_threshold:.4f} ({'calibrated' if engine.calibration else 'shipped default'}): "
          f"{np.mean(scores < engine.abstain_threshold):.3f} abstain")
    print(f"shipped default {default:.4f}: {np.mean(default_scores < default):.3f} abstain")
    return 0


if __name__ == "__main__":
    run(main)
