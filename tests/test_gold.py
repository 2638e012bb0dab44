"""Gold sets: a held-out split repeats nothing of train (answers, evidence sentences, wording)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifqa.gold import GoldQuestion, load_gold, split_overlaps

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_GOLD = sorted(ROOT.glob("corpus/**/gold/*.jsonl"))


def _documents(corpus: Path) -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in corpus.glob("*.txt")}


def test_the_project_ships_a_gold_set():
    assert SHIPPED_GOLD, "corpus/gold/*.jsonl is where the shipped gold sets live"


@pytest.mark.parametrize("path", SHIPPED_GOLD, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_held_out_question_repeats_a_train_question(path: Path):
    gold = load_gold(path)
    assert not gold.errors
    overlaps = split_overlaps(gold.questions, _documents(path.parent.parent))
    assert not overlaps, "\n".join(f"{o.held_out_id} repeats {o.train_id}: {o.reason}" for o in overlaps)


def test_each_kind_of_overlap_is_found():
    documents = {"d": "LIF belongs to the interleukin-6 family of cytokines. Its receptor is LIFR."}
    q = lambda qid, text, answers, split: GoldQuestion(qid, text, ("d",), tuple(answers), True, split)  # noqa: E731
    found = split_overlaps([
        q("t1", "Which cytokine family does LIF belong to?", ["interleukin 6"], "train"),
        # the multi-part question that held its train part word for word (and its answer, spelled with a hyphen)
        q("h1", "What does LIF stand for and which cytokine family does it belong to?", ["interleukin-6"], "test"),
        # the same evidence sentence, another answer string
        q("h2", "Of which family of cytokines is LIF a member?", ["cytokines"], "test"),
        # most of the wording, nothing else shared
        q("t2", "Which receptor does LIF bind?", ["LIFR"], "train"),
        q("h3", "Which receptor does LIF bind in neurons?", ["gp130"], "test"),
    ], documents)
    reasons = {(o.train_id, o.held_out_id): o.reason.split()[0] for o in found}
    assert reasons[("t1", "h1")] == "answer"
    assert reasons[("t1", "h2")] == "gold"
    assert reasons[("t2", "h3")] == "wording"
    assert ("t2", "h1") not in reasons and ("t2", "h2") not in reasons


def test_questions_sharing_only_a_topic_are_not_overlaps():
    documents = {"d": "LIF maps to 22q12.2. LIF is 180 amino acids long."}
    found = split_overlaps([
        GoldQuestion("t", "On which chromosome band does LIF map?", ("d",), ("22q12.2",), True, "train"),
        GoldQuestion("h", "How many amino acids long is LIF?", ("d",), ("180 amino acids",), True, "test"),
    ], documents)
    assert found == []
