"""The command line as a user runs it: real subprocesses, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

import pytest

from lifqa.cli import main
from lifqa.types import Answer, AnswerSentence, Citation, ShortAnswer


def run(*args: str):
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=300)


def test_ask_json_has_the_documented_fields(lif_index):
    result = run("ask", "Which subunit does LIF share with IL-6?", "--index", str(lif_index), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "citations", "mode", "timings_ms", "short_answer"} <= set(out)
    assert {"key", "doc_id", "title", "chunk_id", "section", "text", "char_start", "char_end", "score"} <= set(out["citations"][0])
    assert "gp130" in out["answer"].lower()


def test_the_short_answer_is_on_by_default_and_no_short_answer_turns_it_off(lif_index):
    question = "What is the NCBI Entrez Gene ID for human LIF?"
    on = run("ask", question, "--index", str(lif_index), "--json")
    off = run("ask", question, "--index", str(lif_index), "--json", "--no-short-answer")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert json.loads(on.stdout)["short_answer"]["text"] == "3976"
    assert json.loads(off.stdout)["short_answer"] is None
    assert json.loads(off.stdout)["sentences"] == json.loads(on.stdout)["sentences"]
    printed = run("ask", question, "--index", str(lif_index))
    assert printed.stdout.lstrip().startswith("3976 [")


def test_human_output_lists_numbered_sources(lif_index):
    result = run("ask", "Is LIF needed for human embryonic stem cells?", "--index", str(lif_index))
    assert result.returncode == 0 and "[1]" in result.stdout and "Sources:" in result.stdout


def test_empty_question_exits_2_without_traceback(lif_index):
    result = run("ask", "   ", "--index", str(lif_index))
    assert result.returncode == 2 and "question is empty" in result.stderr and "Traceback" not in result.stderr


def test_missing_index_names_the_command(tmp_path):
    result = run("ask", "What is LIF?", "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and "lifqa index" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_is_rejected_with_range(tmp_path, corpus_dir):
    result = run("index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "i"), "--chunk-size", "5")
    assert result.returncode == 2 and "from 100 to 20000" in result.stderr


GENE = "The NCBI Entrez Gene ID of human LIF is 3976."
SHORT = ShortAnswer("3976", 1, GENE.index("3976"), GENE.index("3976") + 4, 0.93)


class _Engine:
    """Answers every question with one constructed answer: the CLI's rendering without the model."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def ask(self, question: str, **options) -> Answer:
        return self.answer


def _gene_answer(short: ShortAnswer | None) -> Answer:
    citations = tuple(Citation(key=k, doc_id=f"d{k}", title=f"Source {k}", chunk_id=f"d{k}#0", section="", text=GENE,
                               char_start=0, char_end=len(GENE), score=0.9) for k in (1, 2))
    return Answer(question="What is the Entrez Gene ID of human LIF?", answer=f"LIF is a cytokine. [1] {GENE} [2]",
                  abstained=False, citations=citations, mode="hybrid+rerank",
                  sentences=(AnswerSentence("LIF is a cytokine.", (1,)), AnswerSentence(GENE, (2,))), support=0.8, short_answer=short)


@pytest.mark.parametrize("short", [SHORT, None])
def test_ask_prints_the_short_answer_first_and_json_carries_it(short, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("lifqa.commands.query.open_engine", lambda args: _Engine(_gene_answer(short)))
    assert main(["ask", "What is the Entrez Gene ID of human LIF?", "--index", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    sentences = f"LIF is a cytokine. [1] {GENE} [2]"
    assert lines[:2] == (["3976 [2]", sentences] if short else [sentences, ""])
    assert main(["ask", "What is the Entrez Gene ID of human LIF?", "--index", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["short_answer"] == (asdict(short) if short else None)
    assert list(out).index("short_answer") == list(out).index("support") + 1  # the order of Answer.to_dict
