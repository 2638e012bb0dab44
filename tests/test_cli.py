"""The command line as a user runs it: real subprocesses, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str):
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=300)


def test_ask_json_has_the_documented_fields(lif_index):
    result = run("ask", "Which subunit does LIF share with IL-6?", "--index", str(lif_index), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "citations", "mode", "timings_ms", "short_answer"} <= set(out)
    assert {"key", "doc_id", "title", "chunk_id", "section", "text", "char_start", "char_end", "score"} <= set(out["citations"][0])
    assert "gp130" in out["answer"].lower()


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
