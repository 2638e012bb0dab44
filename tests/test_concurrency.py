"""One engine shared by many threads answers exactly as it does alone."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from lifqa.types import Answer

EXTRA = [  # unanswerable, non-English and odd questions go through the same paths
    "Who won the 2014 FIFA World Cup final?",
    "Какой рецептор связывает LIF?",
    "gp130",
    "What is the capital of Australia?",
]
THREADS = 8


def _fingerprint(answer: Answer) -> tuple:
    """Everything an answer says except its timings."""
    return (answer.answer, answer.abstained, answer.support, answer.notices,
            tuple((c.key, c.chunk_id, c.score, c.tier, tuple(f.kind for f in c.flags)) for c in answer.citations),
            tuple((s.text, s.citation_keys) for s in answer.sentences))


def test_eight_threads_asking_fifty_questions_each_match_a_sequential_run(engine, gold):
    asked = [q.question for q in gold.questions if q.question not in EXTRA]
    questions = list(dict.fromkeys(asked))[: 50 - len(EXTRA)] + EXTRA
    assert len(set(questions)) == 50
    sequential = {q: _fingerprint(engine.ask(q)) for q in questions}
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> list[tuple[str, tuple]]:
        order = random.Random(seed).sample(questions, len(questions))  # each thread in its own order
        start.wait()  # all threads hit the engine at once
        return [(q, _fingerprint(engine.ask(q))) for q in order]

    with ThreadPoolExecutor(THREADS) as pool:
        runs = list(pool.map(worker, range(THREADS)))
    assert sum(len(run) for run in runs) == THREADS * 50
    mismatches = [(q, got, sequential[q]) for run in runs for q, got in run if got != sequential[q]]
    assert mismatches == []
