"""Evaluation runs: metrics checked by hand, gold/BEIR bad input, cached indexes, reports."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lifqa.errors import InputError
from lifqa.eval_cache import cache_dir
from lifqa.eval_metrics import METRICS, answer_found, document_ranking, ranking_metrics
from lifqa.eval_report import write_report
from lifqa.evaluate import run_eval
from lifqa.gold import load_beir, load_gold
from lifqa.settings import make_settings


def test_pytrec_eval_matches_hand_computed_values():
    qrels = {"q1": {"d1": 1, "d3": 1}, "q2": {"a": 2, "b": 1}, "q3": {"x": 1}, "q4": {"gone": 1}}
    run = {"q1": ["d2", "d1", "d4", "d3"], "q2": ["b", "a"], "q3": [f"n{i}" for i in range(11)] + ["x"], "q4": []}
    got = ranking_metrics(qrels, run)
    # q1: relevant at ranks 2 and 4; ideal at ranks 1 and 2 (binary gain)
    assert got["q1"]["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert got["q1"]["mrr@10"] == 0.5 and got["q1"]["recall@5"] == 1.0
    # q2: graded, trec_eval's linear gain: DCG = 1/1 + 2/log2(3), ideal = 2/1 + 1/log2(3)
    assert got["q2"]["ndcg@10"] == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    # q3: the only relevant document at rank 12 is outside the top 10 but inside the top 100
    assert got["q3"]["mrr@10"] == 0.0 and got["q3"]["recall@10"] == 0.0 and got["q3"]["recall@100"] == 1.0
    # q4 retrieved nothing: zeros, not missing
    assert got["q4"] == {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@5": 0.0, "recall@10": 0.0, "recall@100": 0.0}


def test_documents_rank_by_their_best_chunk_and_answers_match_loosely():
    assert document_ranking(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    assert answer_found(["Cys12-Cys134"], ["bonds:  cys12-cys134 and more"]) is True
    assert answer_found(["gp130\nsubunit"], ["the GP130 subunit"]) is True
    assert answer_found(["IL-6"], ["nothing here"]) is False and answer_found([], ["x"]) is None


def test_gold_files_report_bad_lines_by_file_and_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join([
        '{"id": "g1", "question": "Which receptor does LIF bind?", "relevant_doc_ids": ["d1"]}',
        '{"id": "g2", "question": ',
        '{"id": "g3"}',
        '{"id": "g1", "question": "again"}',
        '{"id": "g4", "question": "Q?", "relevant_doc_ids": ["nope"]}',
        '{"id": "g5", "question": "What is LIF?", "relevant_doc_ids": ["d1"], "split": "train"}',
    ]) + "\n", encoding="utf-8")
    gold = load_gold(path, known_doc_ids={"d1"})
    assert [q.id for q in gold.questions] == ["g1", "g5"] and [q.id for q in gold.split("train").questions] == ["g5"]
    assert [e.split(": ")[0] for e in gold.errors] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert "not valid JSON" in gold.errors[0] and "missing field(s) question" in gold.errors[1]
    assert "duplicate id 'g1'" in gold.errors[2] and "unknown document id(s) nope" in gold.errors[3]


def _tiny_beir(folder):
    docs = {
        "d1": ("Leukemia inhibitory factor", "LIF is a cytokine that binds the LIF receptor and gp130 to keep mouse embryonic stem cells pluripotent."),
        "d2": ("Volcanoes", "Mount Vesuvius erupted in 79 AD and buried Pompeii under volcanic ash."),
        "d3": ("Aurora", "The aurora borealis is caused by charged solar wind particles hitting the upper atmosphere."),
        "d4": ("Warfarin", "Warfarin is an anticoagulant that blocks vitamin K epoxide reductase."),
        "d5": ("Rust variables", "In Rust a mutable variable is declared with let mut."),
        "d6": ("Insulin", "Insulin lowers blood glucose by promoting uptake into muscle and fat cells."),
    }
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items()))
    queries = {"q1": "Which cytokine keeps embryonic stem cells pluripotent?", "q2": "When did Vesuvius bury Pompeii?",
               "q3": "What causes the aurora borealis?", "q4": "How does warfarin prevent clotting?"}
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()) + "{broken\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\nq4\td4\tx\n")


@pytest.mark.slow
def test_beir_folder_eval_builds_its_index_once(tmp_path):
    beir = tmp_path / "beir"
    _tiny_beir(beir)
    gold = load_beir(beir)
    assert [q.id for q in gold.questions] == ["q1", "q2", "q3"]
    assert any("test.tsv:5" in e for e in gold.errors) and any("queries.jsonl:5: not valid JSON" in e for e in gold.errors)
    cache = tmp_path / "cache"
    first = run_eval(beir=beir, cache_root=cache, modes=["bm25", "hybrid+rerank"])
    folder = cache_dir(beir / "corpus.jsonl", make_settings(), cache)
    build = (folder / "CURRENT").read_text()
    second = run_eval(beir=beir, cache_root=cache, modes=["dense"])
    assert (folder / "CURRENT").read_text() == build and len(list(cache.iterdir())) == 1
    for result in (first, second):
        assert result.info["corpus_fingerprint"] and result.info["n_questions"] == 3 and len(result.info["gold_errors"]) == 2
        for values in result.modes.values():
            assert values["recall@5"] == 1.0 and values["ndcg@10"] > 0.9 and set(values) == set(METRICS)
    assert set(first.modes) == {"bm25", "hybrid+rerank"} and first.modes["bm25"]["abstention_accuracy"] is None


def test_gold_eval_on_lif_and_the_report(lif_index, tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "a", "question": "Which residues form LIF's disulfide bonds?", "relevant_doc_ids": ["000_b2d3b1681d340735"], "answers": ["Cys12"]},
        {"id": "b", "question": "What is the UniProt accession of LIF?", "relevant_doc_ids": ["002_ce8a4941deb8f87d"], "answers": ["P15018"]},
        {"id": "c", "question": "Who won the 2014 FIFA World Cup final?", "answerable": False},
        {"id": "d", "question": "What is LIF?", "relevant_doc_ids": ["no-such-doc"]},
    ]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_eval(gold=gold, index=lif_index, split="all", modes=["bm25", "hybrid+rerank"])
    for recorded, actual in ((result.info["corpus"], Path(__file__).resolve().parent.parent / "corpus"), (result.info["index"], lif_index)):
        assert not Path(recorded).is_absolute() and (Path.cwd() / recorded).resolve() == actual.resolve()  # reads the same on every machine
    assert result.info["n_questions"] == 3 and result.info["gold_errors"] == [f"{gold}:4: unknown document id(s) no-such-doc for 'd'"]
    for mode, values in result.modes.items():
        assert values["recall@5"] == 1.0 and values["answer_recall@k"] == 1.0, mode
        assert values["abstention_accuracy"] == 1.0 and values["wrong_abstention"] == 0.0
        assert 0 < values["latency_p50_ms"] <= values["latency_p95_ms"]
    files = write_report(result, tmp_path / "report")
    names = {f.name for f in files}
    assert {"report.md", "summary.json", "per_question.jsonl", "ndcg_10.png", "abstention_accuracy.png"} <= names
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files if f.suffix == ".png")
    assert json.loads((tmp_path / "report" / "summary.json").read_text()) == json.loads(json.dumps(result.summary()))
    per_question = [json.loads(line) for line in (tmp_path / "report" / "per_question.jsonl").read_text().splitlines()]
    assert len(per_question) == 6 and {"id", "mode", "retrieved_doc_ids", "hit", "answer"} <= set(per_question[0])
    assert "| ndcg@10 |" in (tmp_path / "report" / "report.md").read_text()


def test_cli_eval_json_and_clear_errors(lif_index, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "question": "Which receptor does LIF bind?", "relevant_doc_ids": ["000_b2d3b1681d340735"]}) + "\n")
    run = lambda *a: subprocess.run([sys.executable, "-m", "lifqa.cli", "eval", *a], capture_output=True, text=True, timeout=300)  # noqa: E731
    ok = run("--gold", str(gold), "--index", str(lif_index), "--modes", "hybrid", "--split", "all", "--json", "--report", str(tmp_path / "r"))
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert set(summary["modes"]) == {"hybrid"} and summary["n_questions"] == 1 and summary["corpus_fingerprint"]
    assert (tmp_path / "r" / "summary.json").is_file()
    bad = run("--gold", str(gold), "--index", str(lif_index), "--modes", "magic")
    assert bad.returncode == 2 and "Valid modes" in bad.stderr and "Traceback" not in bad.stderr
    with pytest.raises(InputError, match="no gold questions"):
        run_eval(gold=gold, index=lif_index, split="train")


def test_answer_level_metrics_read_the_answer_text_only():
    from lifqa.eval_metrics import answer_hit, answer_token_recall

    assert answer_hit(["NCBI Gene ID 3976"], "The  ncbi gene id 3976 is stated.") is True
    assert answer_hit(["3976"], "Gene ID 3977") is False and answer_hit([], "x") is None
    assert answer_token_recall(["the LIF receptor and gp130"], "LIF binds gp130.") == pytest.approx(2 / 5)
    assert answer_token_recall(["a b", "c"], "c d") == 1.0 and answer_token_recall([" "], "x") is None


def test_a_question_of_several_parts_is_answered_only_when_every_part_is(tmp_path):
    from lifqa.eval_metrics import answer_hit
    from lifqa.gold import load_gold

    parts = [["3976", "3977"], ["P15018"]]
    assert answer_hit(["3976", "3977", "P15018"], "Its Entrez Gene ID is 3976.", parts) is False
    assert answer_hit(["3976", "3977", "P15018"], "Its Entrez Gene ID is 3976.") is True  # the any-part figure
    assert answer_hit(["3976", "3977", "P15018"], "Gene ID 3977; UniProt P15018.", parts) is True
    gold = tmp_path / "g.jsonl"
    gold.write_text('{"id": "a", "question": "q", "answers": ["x", "y"], "answer_parts": [["x"], ["y"]]}\n'
                    '{"id": "b", "question": "q", "answers": ["x"], "answer_parts": ["x"]}\n', encoding="utf-8")
    loaded = load_gold(gold)
    assert loaded.questions[0].answer_parts == (("x",), ("y",))
    assert len(loaded.errors) == 1 and ":2: answer_parts must be a list of non-empty lists" in loaded.errors[0]


def test_eval_compares_a_variant_side_by_side_in_one_run(lif_index, tmp_path):
    from lifqa.evaluate import parse_variants

    gold = tmp_path / "gold.jsonl"
    rows = [{"id": "a", "question": "What is the UniProt accession of LIF?", "relevant_doc_ids": ["002_ce8a4941deb8f87d"], "answers": ["P15018"]},
            {"id": "b", "question": "Who won the 2014 FIFA World Cup final?", "answerable": False}]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    variants = parse_variants(["before:answer_selector=heuristic,passage_diversity=cap"])
    assert variants == {"before": {"answer_selector": "heuristic", "passage_diversity": "cap"}}
    result = run_eval(gold=gold, index=lif_index, split="all", modes=["hybrid+rerank"], variants=variants)
    assert list(result.modes) == ["hybrid+rerank", "hybrid+rerank:before"]
    for values in result.modes.values():
        assert values["answer_hit"] == 1.0 and 0 < values["answer_words"] < 80 and values["answer_token_recall"] == 1.0
    assert result.info["variants"] == variants
    rows = {(r.mode, r.id): r for r in result.questions}
    assert rows[("hybrid+rerank", "b")].answer_words is None and rows[("hybrid+rerank:before", "a")].answer_hit is True
    with pytest.raises(InputError, match="NAME:SETTING=VALUE"):
        parse_variants(["before"])
    with pytest.raises(Exception, match="answer_selector"):
        parse_variants(["x:answer_selector=magic"])


def test_the_shipped_report_was_made_with_what_ships():
    """reports/latest is what the app's Evaluation view shows: it must come from the shipped models, gold set, corpus
    and index settings. After retraining or editing any of them, regenerate it with `make eval`."""
    import hashlib
    import json
    from pathlib import Path

    from lifqa.data import load_json, params_fingerprint
    from lifqa.eval_cache import index_settings_fingerprint
    from lifqa.sources.fingerprint import corpus_fingerprint
    from lifqa.settings import make_settings

    root = Path(__file__).resolve().parent.parent
    summary = json.loads((root / "reports" / "latest" / "summary.json").read_text(encoding="utf-8"))
    made_with = summary.get("made_with", {})
    gold = root / "corpus" / "gold" / "lif_questions.jsonl"
    assert made_with.get("reranker") == params_fingerprint(load_json("reranker.json")), "stale report: make eval"
    assert made_with.get("selector") == params_fingerprint(load_json("selector.json")), "stale report: make eval"
    assert made_with.get("index_settings") == index_settings_fingerprint(make_settings()), "stale report: make eval"
    assert made_with.get("gold_sha256") == hashlib.sha256(gold.read_bytes()).hexdigest(), "stale report: make eval"
    assert summary["corpus_fingerprint"] == corpus_fingerprint(root / "corpus"), "stale report: make eval"


def _short_case(qid, answers, sentence, short=None, abstained=False, answerable=True):
    """A gold question and the answer an engine might give it, with a short answer inside its one sentence."""
    from lifqa.gold import GoldQuestion
    from lifqa.types import Answer, AnswerSentence, ShortAnswer

    start = sentence.find(short) if short else 0
    answer = Answer(question=f"question {qid}", answer=sentence, abstained=abstained, citations=(), mode="hybrid",
                    sentences=(AnswerSentence(sentence, (1,)),),
                    short_answer=ShortAnswer(short, 0, start, start + len(short), 0.9) if short else None)
    return GoldQuestion(qid, f"question {qid}", answers=tuple(answers), answerable=answerable), answer


def _short_results():
    from lifqa.evaluate import _question_result

    cases = [
        _short_case("a", ["P15018"], "The UniProt accession of LIF is P15018.", "P15018"),  # exact
        _short_case("b", ["Cys12 and Cys134"], "Disulfide bonds link Cys12 and Cys134.", "Cys12"),  # a third of the answer
        _short_case("c", ["3976"], "LIF is a cytokine.", None),  # no short answer, sentence misses too
        _short_case("d", ["gp130"], "LIF binds its receptor.", "its receptor"),  # shown, but wrong
        _short_case("e", ["IL-6"], "IL-6 is a cytokine.", "IL-6", abstained=True),  # abstained: nothing was shown
        _short_case("f", [], "LIF was cloned in 1988.", "1988", answerable=False),  # unanswerable
        _short_case("g", [], "LIF was cloned in 1988.", "1988"),  # answerable, but no gold answers to score against
    ]
    return {q.id: _question_result(q, "hybrid", [], answer, {}, None, 5) for q, answer in cases}


def test_short_answer_scores_per_question():
    rows = _short_results()
    a, b, c, d, e, f, g = (rows[x] for x in "abcdefg")
    # SQuAD normalisation drops "the": "uniprot accession of lif is p15018" against "p15018": P 1/6, R 1 -> F1 2/7
    assert (a.short_answer, a.short_answer_f1, a.short_answer_em, a.short_answer_f1_held) == ("P15018", 1.0, 1.0, 1.0)
    assert a.sentence_f1 == pytest.approx(2 / 7) and a.short_answer_shown is True and a.short_answer_precision is True
    # "cys12" against "cys12 and cys134": P 1, R 1/3 -> F1 1/2; the sentence holds all 3 of its 6 words -> F1 2/3
    assert b.short_answer_f1 == pytest.approx(0.5) and b.short_answer_em == 0.0 and b.short_answer_f1_held == pytest.approx(0.5)
    assert b.sentence_f1 == pytest.approx(2 / 3) and b.short_answer_precision is True
    # no short answer: 0 in F1 and EM, not shown, left out of precision; the sentence misses, so left out of held F1
    assert (c.short_answer, c.short_answer_f1, c.short_answer_em, c.short_answer_shown) == (None, 0.0, 0.0, False)
    assert c.short_answer_precision is None and c.short_answer_f1_held is None and c.answer_hit is False
    assert (d.short_answer, d.short_answer_f1, d.short_answer_shown, d.short_answer_precision) == ("its receptor", 0.0, True, False)
    # an abstained answer shows no short answer even if one was computed, and its sentences count as nothing said
    assert (e.short_answer, e.short_answer_f1, e.short_answer_em, e.sentence_f1, e.short_answer_shown) == (None, 0.0, 0.0, 0.0, False)
    # unanswerable: the text is kept for error analysis, no score applies
    assert f.short_answer == "1988" and all(getattr(f, name) is None for name in
                                            ("sentence_f1", "short_answer_f1", "short_answer_em", "short_answer_f1_held",
                                             "short_answer_shown", "short_answer_precision"))
    # no gold answers: shown, but nothing to score it against
    assert g.short_answer_shown is True and (g.short_answer_f1, g.short_answer_em, g.sentence_f1, g.short_answer_precision) == (None,) * 4


def test_short_answer_means_per_mode_and_in_the_report():
    from lifqa.eval_metrics import EvalResult, mode_metrics
    from lifqa.eval_report import report_markdown

    rows = _short_results()
    metrics = mode_metrics(list(rows.values()), {})
    assert metrics["short_answer_f1"] == 0.3  # (1 + 0.5 + 0 + 0 + 0) / 5: g has no gold answers
    assert metrics["short_answer_em"] == 0.2
    assert metrics["short_answer_f1_held"] == 0.75  # a and b only: their sentences hold the answer
    assert metrics["short_answer_shown"] == round(4 / 6, 4)  # a, b, d, g of the six answerable questions
    assert metrics["short_answer_precision"] == round(2 / 3, 4)  # a and b of the shown a, b, d (g cannot be judged)
    assert metrics["sentence_f1"] == round((2 / 7 + 2 / 3) / 5, 4)
    assert metrics["answer_hit"] == 0.4 and set(metrics) == set(METRICS)  # the existing figures stay as they were
    report = report_markdown(EvalResult({"hybrid": metrics}, tuple(rows.values()), {}))
    assert "| short_answer_f1 | 0.300 |" in report and "| short_answer_precision | 0.667 |" in report
    assert "| sentence_f1 | 0.191 |" in report and "| answer_words | 5.2 |" in report  # words: (7+6+4+4+5+5) / 6 answers given


def test_cli_eval_measures_short_answers_in_every_column(lif_index, tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [{"id": "a", "question": "What is the UniProt accession of LIF?", "relevant_doc_ids": ["002_ce8a4941deb8f87d"], "answers": ["P15018"]},
            {"id": "b", "question": "Which residues form LIF's disulfide bonds?", "relevant_doc_ids": ["000_b2d3b1681d340735"], "answers": ["Cys12"]},
            {"id": "c", "question": "Who won the 2014 FIFA World Cup final?", "answerable": False}]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "lifqa.cli", "eval", "--gold", str(gold), "--index", str(lif_index),
                           "--modes", "hybrid+rerank", "--split", "all", "--set", "short_answer=true", "--set", "short_answer_threshold=0.0",
                           "--set", "short_answer_confidence=0.0",
                           "--compare", "before:answer_selector=heuristic", "--json", "--report", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert list(summary["modes"]) == ["hybrid+rerank", "hybrid+rerank:before"]
    new = ("sentence_f1", "short_answer_f1", "short_answer_em", "short_answer_f1_held", "short_answer_shown", "short_answer_precision")
    for column, values in summary["modes"].items():
        for name in new:
            assert values[name] is not None and 0.0 <= values[name] <= 1.0, (column, name, values[name])
        assert values["short_answer_shown"] > 0, column  # threshold 0: an answered question asking for a value shows one
    per_question = [json.loads(line) for line in (tmp_path / "r" / "per_question.jsonl").read_text().splitlines()]
    assert all("short_answer" in row for row in per_question)
    shown = [row for row in per_question if row["short_answer"] is not None]
    assert shown and all(isinstance(row["short_answer"], str) and row["short_answer"] in row["answer"] for row in shown)
    report = (tmp_path / "r" / "report.md").read_text()
    assert all(f"| {name} |" in report for name in new) and (tmp_path / "r" / "short_answer_f1.png").is_file()
