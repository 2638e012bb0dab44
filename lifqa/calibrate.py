"""Abstention calibrated per corpus: ``lifqa calibrate --gold FILE --index DIR``.

The shipped abstention threshold was fitted on a few corpora; evidence scores
depend on the corpus (long articles score lower than short wiki pages), so a
user can fit the threshold on a labelled sample of their own questions. The
answerable questions set the ceiling (at most ``max_wrong_abstention`` of them
may fall below it); unanswerable questions from the file, or, when it has
none, off-topic questions (the bundled LIF gold questions when the index is
not about LIF, plus a built-in list of general-knowledge questions) set the
floor. The threshold is placed halfway between. With at least 20 questions of each
kind the abstention model's weights are refitted too (evidence levels differ
between corpora, so a threshold alone cannot separate them). Both are stored as
``calibration.json`` in the index folder, beside ``CURRENT``, so it survives
rebuilds; ``ask``, ``batch``, ``eval`` and the app use it unless a threshold is
set explicitly (``abstain_threshold``) or ``use_calibration`` is off.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lifqa.search.rerank import Calibration, write_calibration
from lifqa.errors import InputError
from lifqa.gold import load_gold
from lifqa.jsonl import jsonl_rows

BUNDLED_GOLD = Path(__file__).resolve().parent.parent / "corpus" / "gold" / "lif_questions.jsonl"

# Questions no research corpus answers: the floor when the user's file has no unanswerable ones.
OFF_TOPIC = (
    "When did Mount Vesuvius last erupt?", "Who won the 2014 FIFA World Cup final?", "How do I declare a mutable variable in Rust?",
    "What is the capital of Australia?", "How long should I boil an egg for a soft yolk?", "Who painted the Mona Lisa?",
    "What is the tallest mountain in Africa?", "How many players are on a basketball team?", "What year did the Berlin Wall fall?",
    "How do I change a flat bicycle tyre?", "Which planet has the most moons?", "What is the plot of Moby-Dick?",
    "How do I centre a div in CSS?", "What is the exchange rate of the euro to the yen?", "Who composed the Four Seasons?",
    "What is the best way to learn to play the guitar?", "How deep is the Mariana Trench?", "Who wrote Pride and Prejudice?",
    "What causes the northern lights?", "How do I make sourdough bread?", "Which team won the 1998 Tour de France?",
    "What is the speed of sound in air?", "How do I reset my router password?", "Who was the first emperor of Rome?",
    "What is the population of Canada?", "How many strings does a violin have?", "Which river flows through Budapest?",
    "What is the rule of offside in football?", "How do volcanoes form island chains?", "What language is spoken in Brazil?",
)


def fit_threshold(answerable: Sequence[float], unanswerable: Sequence[float], max_wrong_abstention: float) -> float:
    """Halfway between the highest unanswerable score below the ceiling and the ceiling, where the
    ceiling is the lowest answerable score once ``max_wrong_abstention`` of them may abstain."""
    positives = np.sort(np.asarray(answerable, dtype=np.float64))
    negatives = np.asarray(unanswerable, dtype=np.float64)
    if len(positives) == 0:
        raise InputError("the gold file has no answerable questions to calibrate on; add questions with relevant_doc_ids")
    misses = int(np.floor(max_wrong_abstention * len(positives)))
    ceiling = float(positives[misses])
    below = negatives[negatives < ceiling]
    floor = float(below.max()) if len(below) else max(0.0, ceiling - 0.05)
    return round((floor + ceiling) / 2, 4)


def off_topic_questions(engine: Any) -> list[str]:
    """The built-in list, plus the bundled LIF questions when the index holds none of their documents."""
    questions = list(OFF_TOPIC)
    if BUNDLED_GOLD.is_file():
        lif = load_gold(BUNDLED_GOLD)
        lif_docs = {d for q in lif.questions for d in q.relevant_doc_ids}
        if not lif_docs & set(engine.store.sources):
            questions += [q.question for q in lif.questions if q.answerable]
    return questions


MAX_NEGATIVES_BYTES = 50_000_000


def load_questions(path: str | Path) -> list[str]:
    """Questions this corpus cannot answer, from another corpus: a JSONL file whose lines hold a
    "question" (a lifqa gold file) or a "text" (a BEIR queries.jsonl), or plain text, one question a line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"negatives file not found: {path}. Give questions from another corpus: JSONL with a "
                         f"\"question\" or \"text\" field per line, or one question per line")
    if path.stat().st_size > MAX_NEGATIVES_BYTES:
        raise InputError(f"{path} is larger than {MAX_NEGATIVES_BYTES // 1_000_000} MB; a few hundred questions are enough")
    questions = []
    # a line not starting with "{" is a plain-text question: read as the record {"question": line}
    lines = (line if line.startswith("{") or not line else json.dumps({"question": line})
             for line in (raw.strip() for raw in path.read_text(encoding="utf-8", errors="replace").splitlines()))
    for number, record in jsonl_rows(lines):
        if isinstance(record, json.JSONDecodeError):
            raise InputError(f"{path}, line {number}: not valid JSON ({record.msg}); fix the line or give plain text, one question a line")
        text = record.get("question", record.get("text")) if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path}, line {number}: no \"question\" or \"text\" field with text")
        questions.append(text.strip())
    if not questions:
        raise InputError(f"{path} holds no questions")
    return questions


def calibrate_index(index: str | Path, gold: str | Path, split: str | None = "all", max_wrong_abstention: float = 0.05,
                    negatives_file: str | Path | None = None) -> Calibration:
    """``negatives_file``: questions from another corpus (e.g. its gold or BEIR queries) that set the floor
    with the built-in off-topic ones, when the gold file has no unanswerable questions. Questions near
    this corpus's topic (other biomedical literature) teach the abstention model more than general ones."""
    from lifqa.engine import Engine

    if not 0.0 <= max_wrong_abstention < 1.0:
        raise InputError(f"--max-wrong-abstention {max_wrong_abstention} is out of range: use a share from 0 to 0.99")
    engine = Engine.open(index, use_calibration=False)
    known = set(engine.store.sources)
    gold_set = load_gold(gold, known_doc_ids=known).split(split)
    if not any(q.answerable for q in gold_set.questions):
        raise InputError(f"{gold} has no answerable questions in split '{split}' to calibrate on: give --split NAME of a split "
                         "that has them, or --split all (then report no figures on those questions: they chose the threshold)")
    answerable = [q.question for q in gold_set.questions if q.answerable]
    unanswerable = [q.question for q in gold_set.questions if not q.answerable]
    negatives = "gold file"
    if negatives_file is not None:
        other = load_questions(negatives_file)  # read before any work, so a bad file fails fast
    if not unanswerable:
        unanswerable, negatives = off_topic_questions(engine), "off-topic questions"
        if negatives_file is not None:
            unanswerable, negatives = unanswerable + other, f"off-topic questions and {len(other)} from {Path(negatives_file).name}"
    elif negatives_file is not None:
        unanswerable, negatives = unanswerable + other, f"gold file and {len(other)} from {Path(negatives_file).name}"
    support = None
    if len(answerable) >= MIN_FOR_MODEL and len(unanswerable) >= MIN_FOR_MODEL:
        support, pos, neg = fit_support_model(engine, answerable, unanswerable)
    else:
        pos = support_scores(engine, answerable)
        neg = support_scores(engine, unanswerable)
    threshold = fit_threshold(pos, neg, max_wrong_abstention)
    if support is not None:
        support = {**support, "threshold": threshold}
    digest = hashlib.sha256("\n".join(q.id + "\t" + q.question for q in gold_set.questions).encode()).hexdigest()
    result = Calibration(
        threshold=threshold, answerable=len(pos), unanswerable=len(neg), negatives=negatives,
        wrong_abstention=round(float(np.mean(np.asarray(pos) < threshold)), 4),
        abstention_accuracy=round(float(np.mean(np.asarray(neg) < threshold)), 4) if len(neg) else 0.0,
        max_wrong_abstention=max_wrong_abstention, gold=str(gold), gold_fingerprint=digest,
        corpus_fingerprint=engine.manifest.get("corpus", {}).get("fingerprint", ""),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        support=support,
    )
    write_calibration(index, result)
    return result


MIN_FOR_MODEL = 20  # labelled questions of each kind needed to refit the abstention model, not only its threshold


def fit_support_model(engine: Any, answerable: Sequence[str], unanswerable: Sequence[str]) -> tuple[dict[str, Any], list[float], list[float]]:
    """The abstention model refitted on this corpus's own questions: the shipped one's features (the best
    candidate's sentence cosine, dense cosine, idf and term coverage) and the best answer sentence's score
    (lifqa.search.rerank.ANSWER_EVIDENCE). Evidence levels differ between corpora (long articles vs short pages), so
    the weights, not only the threshold, are per corpus. Returns the model and each question's score under it."""
    from lifqa.search.rerank import CALIBRATED_SUPPORT_FEATURES
    from lifqa.train import fit_logistic

    rows = np.stack([engine.support_row(q) for q in [*answerable, *unanswerable]])
    labels = np.asarray([1] * len(answerable) + [0] * len(unanswerable))
    params, probability = fit_logistic(rows, labels, CALIBRATED_SUPPORT_FEATURES, c=0.5)
    probs = probability(rows)
    return params, [float(x) for x in probs[: len(answerable)]], [float(x) for x in probs[len(answerable):]]


def support_scores(engine: Any, questions: Sequence[str]) -> list[float]:
    """Each question's answerability support, as ``ask`` computes it (the answers themselves are not needed)."""
    scores = []
    for answer in engine.ask_many(list(questions)):
        if not isinstance(answer, InputError):
            scores.append(float(answer.support))
    return scores
