"""Which evidence a calibrated abstention model should read, chosen on TRAIN questions only.

    .venv/bin/python bench/abstention_features.py --index indexes/eval/<covid-qa index>

For every answerable COVID-QA train question, the off-topic questions ``lifqa calibrate`` uses as negatives, and the
SciFact *train* claims (off-corpus questions the calibration never sees), it records the four retrieval values the
shipped abstention model reads and the answer-level candidates: the selector's best sentence probability, the best
sentence's ``score`` and whether any sentence holds the kind of thing asked for. Then, 5-fold over the answerable
questions: a logistic model fitted as ``lifqa calibrate`` fits it (answerable vs off-topic, threshold for at most 5 %
wrong abstention), scored on the held-out answerable questions and on the SciFact train claims. Test splits are not
read.
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

EVAL = ROOT.parent / "shared" / "eval"
CANDIDATES = {"four retrieval values (before)": [], "+ selector's best probability": ["best_probability"],
              "+ best sentence's score": ["best_score"], "+ best probability + best score": ["best_probability", "best_score"],
              "+ best score + holds the kind asked for": ["best_score", "type_match"]}


def evidence(engine, questions: list[str]) -> np.ndarray:
    from lifqa.answer.selector import FEATURES

    rows = []
    for question in engine.questions(questions):
        found = engine.searcher.search(question, engine.answerer.depth(question, engine.settings.k), engine.settings.mode)
        retrieval = found.evidence
        _, features = engine.selector_inputs(question, found)
        probability = engine.selector.probabilities(features)
        best = lambda name: float(features[:, FEATURES.index(name)].max()) if len(features) else 0.0  # noqa: E731
        rows.append([*retrieval, float(probability.max()) if len(probability) else 0.0, best("score"), best("type_match")])
    return np.asarray(rows, dtype=np.float64)


def main() -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from lifqa.calibrate import fit_threshold, off_topic_questions
    from lifqa.engine import Engine
    from lifqa.gold import load_beir, load_gold
    from lifqa.train import SEED

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="the COVID-QA index")
    args = parser.parse_args()
    engine = Engine.open(args.index, verify=False, use_calibration=False)
    gold = load_gold(EVAL / "covid-qa" / "gold.jsonl")
    answerable = evidence(engine, [q.question for q in gold.questions if q.split == "train" and q.answerable])
    off_topic = evidence(engine, off_topic_questions(engine))
    claims = evidence(engine, [q.question for q in load_beir(EVAL / "scifact", "train").questions])
    columns = {"best_probability": 4, "best_score": 5, "type_match": 6}
    print(f"{len(answerable)} answerable COVID-QA train questions, {len(off_topic)} off-topic, {len(claims)} SciFact train claims")
    for name, extra in CANDIDATES.items():
        cols = [0, 1, 2, 3] + [columns[e] for e in extra]
        wrong, abstained = [], []
        for fit_rows, held_out in KFold(5, shuffle=True, random_state=SEED).split(answerable):
            x = np.vstack([answerable[fit_rows][:, cols], off_topic[:, cols]])
            y = np.r_[np.ones(len(fit_rows)), np.zeros(len(off_topic))]
            scaler = StandardScaler().fit(x)
            model = LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced", random_state=SEED).fit(scaler.transform(x), y)
            score = lambda rows: model.predict_proba(scaler.transform(rows[:, cols]))[:, 1]  # noqa: E731
            threshold = fit_threshold(score(answerable[fit_rows]), score(off_topic), 0.05)
            wrong.append(np.mean(score(answerable[held_out]) < threshold))
            abstained.append(np.mean(score(claims) < threshold))
        print(f"{name:45s} out-of-fold wrong abstention {np.mean(wrong):.3f}   SciFact train claims abstaining {np.mean(abstained):.3f}")
    return 0


if __name__ == "__main__":
    run(main)
