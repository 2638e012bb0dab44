"""Document structure analysis: plain data, the same however it is reached, run once per document at
build and never while answering."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from lifqa.chunking import split_sentences
from lifqa.sources import read_sources
from lifqa.index.build import build_index, chunk_one
from lifqa.reliability import structure
from lifqa.reliability.facts import extract_facts, find_conflicts
from lifqa.reliability.flags import assess_document
from lifqa.reliability.passages import chunk_flags
from lifqa.reliability.structure import DocumentAnalysis, analyse_document
from lifqa.settings import make_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLD = CORPUS / "gold" / "lif_questions.jsonl"


@pytest.fixture(scope="module")
def documents():
    return list(read_sources(CORPUS).documents)


def test_an_analysis_survives_json_and_equals_one_from_pre_split_sentences(documents):
    analyses = [analyse_document(doc) for doc in documents]
    assert all(any(getattr(a, part) for a in analyses) for part in ("sections", "entries", "citations", "subjects", "off_topic"))
    for doc, analysis in zip(documents, analyses):
        assert DocumentAnalysis.from_json(json.loads(json.dumps(analysis.to_json()))) == analysis
        pre_split = [(s.start, s.end, s.is_heading) for s in split_sentences(doc.text)]
        assert analyse_document(doc, pre_split) == analysis


def test_rules_given_the_analysis_judge_as_they_do_alone(documents):
    conflicts = find_conflicts(documents)
    for doc in documents:
        analysis = analyse_document(doc)
        assert assess_document(doc, conflicts, analysis) == assess_document(doc, conflicts)
        assert extract_facts(doc, analysis) == extract_facts(doc)


def test_the_chunking_stage_carries_the_analysis_its_facts_and_passage_flags_come_from(documents):
    for doc in documents:
        part = chunk_one(doc, 700, 150)
        assert part.analysis == analyse_document(doc)
        assert part.facts == tuple(extract_facts(doc, part.analysis))
        assert part.passage_flags == chunk_flags(part.chunks, doc, part.analysis)


def _count_analyses(monkeypatch: pytest.MonkeyPatch, forbid: bool = False) -> Counter:
    """Analyses per doc_id from now on, wherever lifqa calls analyse_document from (``forbid``: each call fails)."""
    calls: Counter = Counter()
    original = structure.analyse_document

    def counting(doc, *args, **kwargs):
        calls[doc.doc_id] += 1
        if forbid:
            raise AssertionError(f"{doc.doc_id} analysed")
        return original(doc, *args, **kwargs)

    patched = [name for name, module in list(sys.modules.items())
               if name.startswith("lifqa") and getattr(module, "analyse_document", None) is original]
    assert "lifqa.index.build" in patched and "lifqa.reliability.flags" in patched
    for name in patched:
        monkeypatch.setattr(sys.modules[name], "analyse_document", counting)
    return calls


@pytest.mark.slow
def test_a_build_analyses_each_document_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, documents):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("gold"))
    monkeypatch.setenv("LIFQA_BUILD_PROCESSES", "1")  # every stage in this process, where the count is kept
    calls = _count_analyses(monkeypatch)
    first = build_index(corpus, tmp_path / "index", make_settings())
    assert first.manifest["document_cache"] == {"done": 2 * len(documents), "reused": 0}  # chunked and assessed, each
    assert calls == Counter({doc.doc_id: 1 for doc in documents})

    # A new source contradicts the Gene ID the others state: they are assessed again, but their
    # analysis comes with their cached chunks; only the new document is analysed.
    calls.clear()
    (corpus / "gene_id_note.txt").write_text(
        "LIF gene record\n\nHuman LIF gene, NCBI Gene ID: 3999, as this note about the LIF gene records it.\n", encoding="utf-8")
    second = build_index(corpus, tmp_path / "index", make_settings())
    assert second.manifest["document_cache"]["done"] > 2  # the new document, and re-assessed old ones
    assert len(calls) == 1 and set(calls.values()) == {1} and not set(calls) & {doc.doc_id for doc in documents}


@pytest.mark.slow
def test_answering_never_analyses_a_document(engine, monkeypatch: pytest.MonkeyPatch):
    _count_analyses(monkeypatch, forbid=True)
    passage_flagged = 0
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        answer = engine.ask(json.loads(line)["question"])
        passage_flagged += sum(f.reason.startswith("this passage") for c in answer.citations for f in c.flags)
    assert passage_flagged, "no cited passage carried a passage flag, so this did not test reading them"
