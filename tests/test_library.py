"""A library end to end: one command indexes it, a rebuild re-reads only changed items, answers cite with library keys,
filters by tag and collection, and the exports parse back."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest
import rispy

pytestmark = pytest.mark.slow  # builds indexes of reference libraries

sys.path.insert(0, str(Path(__file__).parent))
from zotero_db import sample_library  # noqa: E402

from lifqa.errors import InputError  # noqa: E402
from lifqa.index.build import build_index, index_status  # noqa: E402
from lifqa.settings import make_settings  # noqa: E402

QUESTION = "Which transcription factor does LIF activate in embryonic stem cells?"


def run(*args: str):
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=300)


def cli(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    """The command in this process (the model stays loaded), captured like a subprocess."""
    from lifqa.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int], tuple[str, int]]:
    root = tmp_path_factory.mktemp("zotero-e2e")
    zotero = root / "Zotero"
    ids = sample_library(zotero)
    db = zotero / "zotero.sqlite"
    before = (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns)
    result = run("index", "--corpus", str(zotero), "--index", str(root / "index"))
    assert result.returncode == 0, result.stderr
    assert "library: 7 items (4 full text, 2 abstract only, 1 metadata only); 7 read, 0 unchanged" in result.stdout
    assert "moved.pdf not found" in result.stderr and "Traceback" not in result.stderr
    return zotero, root / "index", ids, before


@pytest.fixture(scope="module")
def lib_engine(library):
    import lifqa

    return lifqa.open(str(library[1]))


def test_indexing_leaves_the_zotero_database_untouched(library):
    zotero, _, _, before = library
    db = zotero / "zotero.sqlite"
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns) == before


def test_answer_cites_with_library_labels_and_fields(lib_engine):
    answer = lib_engine.ask(QUESTION)
    assert not answer.abstained and "STAT3" in answer.answer
    top = answer.citations[0]
    assert top.doc_id == "zotero/DATTA001" and top.label == "Datta et al. 2010"
    assert top.citation_key == "datta2010lif" and top.year == 2010 and top.doi == "10.1016/j.celrep.2010.01.009"
    assert top.journal == "Cell Reports" and top.authors[0] == "Datta, Sandeep"
    bone = lib_engine.ask("What happens to osteoclast numbers in mice lacking LIF?").citations[0]
    assert bone.doc_id == "zotero/BONE0001" and bone.label == "Ware 2003, pp. 1–2" == f"Ware 2003, {bone.pages}"  # the passage spans both PDF pages


def test_tag_and_collection_filters(lib_engine):
    docs = lambda answer: {c.doc_id for c in answer.citations}  # noqa: E731
    assert docs(lib_engine.ask("LIF", k=10, tags=["bone"])) == {"zotero/BONE0001"}
    assert docs(lib_engine.ask("LIF", k=10, tags=["CYTOKINES", "bone"])) == {"zotero/DATTA001", "zotero/BONE0001"}
    assert docs(lib_engine.ask("LIF", k=10, collections=["Signalling"])) == {"zotero/DATTA001", "zotero/ABSTRACT"}  # and subcollections
    assert docs(lib_engine.ask("LIF", k=10, collections=["receptors"])) == {"zotero/DATTA001"}
    assert {h.chunk.doc_id for h in lib_engine.search("LIF", k=10, collections=["Bone"])} == {"zotero/BONE0001"}
    with pytest.raises(InputError, match="Tags present: bone, cytokines, LIF"):
        lib_engine.ask("LIF", tags=["cytokine"])


def test_cli_exports_parse_back(library, capsys):
    _, index, _, _ = library
    bib = run("ask", QUESTION, "--index", str(index), "--format", "bibtex")  # one real subprocess; the rest in-process
    assert bib.returncode == 0, bib.stderr
    entries = {e.key: e for e in bibtexparser.parse_string(bib.stdout).entries}
    assert "datta2010lif" in entries and entries["datta2010lif"]["doi"] == "10.1016/j.celrep.2010.01.009"
    ris = rispy.loads(cli(capsys, "ask", QUESTION, "--index", str(index), "--format", "ris").stdout)
    assert ris[0]["id"] == "datta2010lif" and ris[0]["authors"][0] == "Datta, Sandeep"
    csl = json.loads(cli(capsys, "ask", QUESTION, "--index", str(index), "--format", "csl-json").stdout)
    assert csl[0]["citation-key"] == "datta2010lif"
    md = cli(capsys, "ask", QUESTION, "--index", str(index), "--format", "markdown", "--tag", "cytokines").stdout
    assert "(Datta et al. 2010)" in md and "## References" in md and "https://doi.org/10.1016/j.celrep.2010.01.009" in md
    hits = json.loads(cli(capsys, "search", "LIF", "--index", str(index), "--collection", "Bone", "--json").stdout)
    assert hits and {h["doc_id"] for h in hits} == {"zotero/BONE0001"}
    bad = cli(capsys, "ask", QUESTION, "--index", str(index), "--collection", "Nope")
    assert bad.returncode == 2 and "Collections present: Bone, Signalling, Signalling/Receptors" in bad.stderr
    sources = json.loads(cli(capsys, "sources", "--index", str(index), "--json").stdout)
    datta = next(s for s in sources if s["doc_id"] == "zotero/DATTA001")
    assert datta["citation_key"] == "datta2010lif" and datta["year"] == 2010 and datta["journal"] == "Cell Reports"
    assert datta["authors"] == ["Datta, Sandeep", "Smith, Jane", "Ng, Wei"] and datta["doi"] == "10.1016/j.celrep.2010.01.009"
    retracted = next(s for s in sources if s["doc_id"] == "zotero/RETRACT1")
    assert retracted["metadata"]["retracted"] is True
    assert "retracted" in {f["kind"] for f in retracted["flags"]} and retracted["tier"] == "low"  # Zotero's retractedItems


def test_batch_writes_a_bibliography_and_resumes(library, tmp_path: Path, capsys):
    _, index, _, _ = library
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": QUESTION}) + "\n"
                         + json.dumps({"id": "q2", "question": "What happens to osteoclasts without LIF?"}) + "\n", encoding="utf-8")
    out = tmp_path / "refs.ris"
    first = cli(capsys, "batch", str(questions), "-o", str(out), "--index", str(index), "--tag", "cytokines,bone")
    assert first.returncode == 0, first.stderr
    ids = {entry["id"] for entry in rispy.loads(out.read_text(encoding="utf-8"))}
    assert {"datta2010lif", "ware2003osteo"} <= ids
    again = cli(capsys, "batch", str(questions), "-o", str(out), "--index", str(index))
    assert "2 already there" in again.stderr and rispy.loads(out.read_text(encoding="utf-8"))
    md = tmp_path / "answers.md"
    assert cli(capsys, "batch", str(questions), "-o", str(md), "--index", str(index)).returncode == 0
    assert md.read_text(encoding="utf-8").startswith("# q1")


def test_rebuild_rereads_only_changed_items(library, tmp_path: Path):
    zotero, _, ids, _ = library
    work = tmp_path / "Zotero"
    import shutil

    shutil.copytree(zotero, work)
    index = tmp_path / "index"
    settings = make_settings()
    first = build_index(work, index, settings)
    assert first.manifest["library"]["items_read"] == 7
    assert index_status(work, index, settings) == "current"
    con = sqlite3.connect(work / "zotero.sqlite")  # the user edits one item's abstract in Zotero
    value_id = con.execute("INSERT INTO itemDataValues (value) VALUES ('Revised: LIF knockout mice cannot implant blastocysts.')").lastrowid
    field_id = con.execute("SELECT fieldID FROM fields WHERE fieldName = 'abstractNote'").fetchone()[0]
    con.execute("UPDATE itemData SET valueID = ? WHERE itemID = ? AND fieldID = ?", (value_id, ids["abstract"], field_id))
    con.execute("UPDATE items SET version = version + 1, dateModified = '2025-01-01 00:00:00' WHERE itemID = ?", (ids["abstract"],))
    con.commit()
    con.close()
    assert index_status(work, index, settings) == "stale"
    second = build_index(work, index, settings)
    assert second.rebuilt and second.manifest["library"]["items_read"] == 1 and second.manifest["library"]["items_reused"] == 6
    (storage_file,) = (work / "storage").glob("*/fraud.txt")  # an attachment changes on disk: only its item is re-read
    storage_file.write_text("LIF cures nothing; the study was retracted.", encoding="utf-8")
    third = build_index(work, index, settings)
    assert third.manifest["library"]["items_read"] == 1
