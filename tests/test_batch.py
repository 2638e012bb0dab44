"""Batch questions: formats, error records with line numbers, resumable output that survives a kill."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from lifqa.batch import (BatchInput, BatchItem, answer_file, answer_record, read_done, read_questions, run_batch, to_csv,
                         to_jsonl, write_batch)
from lifqa.errors import InputError
from lifqa.types import Answer, AnswerSentence, Citation, ShortAnswer

JSONL = (
    '{"id": "q1", "question": "Which receptor does LIF bind?"}\n'
    "{not json\n"
    "\n"
    '{"id": "q2", "question": "   "}\n'
    '{"id": "q1", "question": "Which gene encodes LIF?"}\n'
    '{"question": "no id here"}\n'
    '{"id": 7, "question": "What is the UniProt accession of LIF?"}\n'
)


def test_jsonl_keeps_good_lines_and_reports_bad_ones_by_line():
    parsed = read_questions(JSONL.encode(), name="qs.jsonl")
    assert [(i.id, i.line) for i in parsed.items] == [("q1", 1), ("q2", 4), ("7", 7)]
    errors = {e["line"]: e for e in parsed.errors}
    assert set(errors) == {2, 5, 6}
    assert errors[2]["id"] is None and errors[2]["error"].startswith("qs.jsonl:2: not valid JSON")
    assert errors[5]["id"] == "q1" and "duplicate id 'q1' (first used on line 1)" in errors[5]["error"]
    assert "missing field(s) id" in errors[6]["error"]


def test_csv_header_quotes_and_bad_rows(tmp_path):
    path = tmp_path / "qs.csv"
    path.write_text('id,question\na,"What is LIF, exactly?"\nb,one,too many\n\nc,Which gene encodes LIF?\n', encoding="utf-8")
    parsed = read_questions(path)
    assert [(i.id, i.question, i.line) for i in parsed.items] == [("a", "What is LIF, exactly?", 2), ("c", "Which gene encodes LIF?", 5)]
    assert [(e["id"], e["line"]) for e in parsed.errors] == [("b", 3)]
    assert "expected 2 columns" in parsed.errors[0]["error"] and str(path) in parsed.errors[0]["error"]
    with pytest.raises(InputError, match="must name the columns id and question"):
        read_questions(b"number,text\n1,What is LIF?\n", name="bad.csv")


def test_txt_ids_are_line_numbers_and_format_is_sniffed_without_suffix():
    parsed = read_questions(b"What is LIF?\n\nWhich receptor does LIF bind?\n", name="upload")
    assert [(i.id, i.line) for i in parsed.items] == [("1", 1), ("3", 3)] and not parsed.errors
    assert read_questions(b'{"id": "x", "question": "What is LIF?"}\n', name="upload").items[0].id == "x"
    assert read_questions(b"id,question\nx,What is LIF?\n", name="upload").items[0].line == 2
    with pytest.raises(InputError, match="binary"):
        read_questions(b"\x00\x01\x02", name="x.txt")
    with pytest.raises(InputError, match="not found"):
        read_questions("/nonexistent/questions.jsonl")


def test_run_batch_keeps_input_order_and_answers_like_ask(engine):
    parsed = read_questions(JSONL.encode(), name="qs.jsonl")
    seen = []
    records = list(run_batch(engine, parsed, batch_size=2, progress=lambda done, total: seen.append((done, total))))
    assert [r.get("line") or r["id"] for r in records] == ["q1", 2, 4, 5, 6, "7"]
    assert seen[-1] == (6, 6) and len(seen) == 6
    answered = records[0]
    assert answered["answer"] == engine.ask("Which receptor does LIF bind?").answer
    assert {"question", "answer", "abstained", "citations", "mode", "support"} <= set(answered)
    bad_question = records[2]
    assert bad_question["id"] == "q2" and bad_question["line"] == 4 and "empty" in bad_question["error"]


def test_csv_output_is_flat_with_compact_citations(engine):
    item = BatchItem("q1", "Which receptor does LIF bind?", 2)
    records = list(run_batch(engine, BatchInput((item,), ({"id": None, "line": 3, "error": "x:3: bad"},)), k=2))
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert list(rows[0])[:8] == ["id", "question", "answer", "short_answer", "abstained", "mode", "citations", "error"]
    citations = rows[0]["citations"].split(";")
    assert len(citations) == 2 and citations[0].split("|")[0] == "1" and len(citations[0].split("|")) == 6
    assert rows[1]["error"] == "x:3: bad" and rows[1]["line"] == "3"
    assert json.loads(to_jsonl(records).splitlines()[0])["id"] == "q1"


GENE = "The NCBI Entrez Gene ID of human LIF is 3976."
SHORT = ShortAnswer("3976", 0, GENE.index("3976"), GENE.index("3976") + 4, 0.93)


def _gene_answer(short: ShortAnswer | None) -> Answer:
    citation = Citation(key=1, doc_id="d", title="LIF", chunk_id="d#0", section="", text=GENE, char_start=0, char_end=len(GENE),
                        score=0.9)
    return Answer(question="What is the Entrez Gene ID of human LIF?", answer=f"{GENE} [1]", abstained=False,
                  citations=(citation,), mode="hybrid+rerank", sentences=(AnswerSentence(GENE, (1,), 0, len(GENE)),),
                  support=0.8, short_answer=short)


def test_short_answer_is_a_csv_column_and_an_object_in_jsonl():
    item = BatchItem("q1", "What is the Entrez Gene ID of human LIF?", 2)
    records = [answer_record(item, _gene_answer(SHORT)), answer_record(replace(item, id="q2"), _gene_answer(None)),
               {"id": "q3", "line": 4, "error": "x:4: bad"}]
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert [r["short_answer"] for r in rows] == ["3976", "", ""]
    assert list(rows[0]).index("short_answer") == list(rows[0]).index("answer") + 1
    lines = [json.loads(line) for line in to_jsonl(records).splitlines()]
    assert lines[0]["short_answer"] == {"text": "3976", "sentence": 0, "char_start": 40, "char_end": 44, "score": 0.93, "method": "reader"}
    assert lines[1]["short_answer"] is None and "short_answer" not in lines[2]


def test_a_csv_written_with_other_columns_is_not_resumed(tmp_path):
    """Appending rows of the new columns under an older header would shift every later cell."""
    output = tmp_path / "out.csv"
    output.write_text("id,question,answer,abstained,mode,citations,error,line\nq1,What is LIF?,LIF is a cytokine.,false,bm25,,,2\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match="not the batch columns id,question,answer,short_answer,.*choose another output file"):
        read_done(output)
    fresh = tmp_path / "fresh.csv"
    write_batch([{"id": "q1", "line": 2, "error": "x:2: bad"}], fresh)
    assert read_done(fresh).errors == {("q1", 2)}


def test_a_run_that_dies_keeps_its_records_and_the_rerun_does_the_rest(engine, tmp_path):
    source = tmp_path / "qs.txt"
    source.write_text("What is LIF?\nWhich receptor does LIF bind?\nWhich gene encodes LIF?\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"

    def dies_after_two(records):
        for n, record in enumerate(records):
            if n == 2:
                raise KeyboardInterrupt
            yield record

    with pytest.raises(KeyboardInterrupt):
        write_batch(dies_after_two(run_batch(engine, read_questions(source))), output)
    assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == ["1", "2"]
    with output.open("a") as handle:  # a record cut off mid-write
        handle.write('{"id": "3", "question": "Which ge')
    kept = output.read_text().splitlines()[:2]
    summary = answer_file(lambda: engine, source, output)
    lines = output.read_text().splitlines()
    assert lines[:2] == kept and [json.loads(line)["id"] for line in lines] == ["1", "2", "3"]
    assert (summary.written, summary.skipped) == (1, 2)
    opened = []
    again = answer_file(lambda: opened.append(1), source, output)
    assert again.written == 0 and again.skipped == 3 and not opened  # nothing to do: the engine is not even opened
    assert read_done(output).ids == {"1", "2", "3"}


def _run(*args: str, **kwargs):
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_cli_batch_csv_is_resumable_and_reports_bad_lines(lif_index, tmp_path):
    source = tmp_path / "qs.jsonl"
    source.write_text(JSONL, encoding="utf-8")
    output = tmp_path / "out.csv"
    first = _run("batch", str(source), "-o", str(output), "--index", str(lif_index), "--k", "2")
    assert first.returncode == 0, first.stderr
    assert "wrote 6 records" in first.stderr and "4 errors" in first.stderr and "Traceback" not in first.stderr
    rows = list(csv.DictReader(output.open(encoding="utf-8", newline="")))
    assert [r["id"] for r in rows] == ["q1", "", "q2", "q1", "", "7"] and rows[1]["line"] == "2"
    before = output.read_bytes()
    second = _run("batch", str(source), "-o", str(output), "--index", str(lif_index))
    assert second.returncode == 0 and "wrote 0 records" in second.stderr and "6 already there" in second.stderr
    assert output.read_bytes() == before


def test_cli_batch_killed_mid_run_loses_nothing(lif_index, tmp_path):
    source = tmp_path / "qs.txt"
    questions = ["Which receptor does LIF bind?", "What is the UniProt accession of LIF?", "Which gene encodes LIF?"] * 12
    source.write_text("\n".join(questions) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    args = [sys.executable, "-m", "lifqa.cli", "batch", str(source), "-o", str(output), "--index", str(lif_index), "--batch-size", "1"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and (not output.exists() or output.read_text().count("\n") < 2):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = output.read_text().splitlines()
    complete = [line for line in written if line.endswith("}")]
    assert len(complete) >= 2
    resumed = _run("batch", str(source), "-o", str(output), "--index", str(lif_index))
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["id"] for line in output.read_text().splitlines()]
    assert ids == [str(n) for n in range(1, len(questions) + 1)]
    assert output.read_text().splitlines()[: len(complete)] == complete
