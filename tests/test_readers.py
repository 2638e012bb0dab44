"""One `lifqa index` over a folder mixing PDF, JATS, PubMed XML and text; page-level citations
through search, ask and batch output. Real model, real subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PDF_QUESTION
from test_readers_jats import ARTICLE
from test_readers_pubmed import ABSTRACT, _file, _record


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, pdf_corpus):
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copy(pdf_corpus / "zebrafish.pdf", folder / "zebrafish.pdf")  # the test sentence opens its page 2
    (folder / "prc2.nxml").write_text(ARTICLE, encoding="utf-8")
    _file(folder, [_record("111", "LIF in implantation", ["Journal Article"], ABSTRACT)], name="pubmed.xml")
    (folder / "notes.txt").write_text("Notes\n\nLeukemia inhibitory factor keeps mouse embryonic stem cells pluripotent in culture.\n",
                                      encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    index = folder.parent / (folder.name + "-index")
    result = _cli("index", "--corpus", str(folder), "--index", str(index))
    return folder, index, result


def test_one_index_command_reads_every_format(mixed):
    _, index, result = mixed
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "built" in result.stdout and "4 documents" in result.stdout and "1 warning" in result.stdout
    assert "broken.pdf" in result.stderr and "corrupt" in result.stderr


def test_search_json_carries_pages_and_the_cli_prints_them(mixed, capsys):
    from lifqa.cli import main  # in-process: the model loads once for both calls

    _, index, _ = mixed
    assert main(["search", "osteoblast dedifferentiation factor Runx2b fin; EED subunit sits at the bottom of the complex",
                 "--index", str(index), "--json", "--k", "5"]) == 0
    hits = json.loads(capsys.readouterr().out)
    top = hits[0]
    assert top["doc_id"] == "zebrafish" and "Runx2b" in top["text"]
    assert top["page_start"] == 2 and top["page_end"] == 2 and top["page_label"] == ""
    jats = [h for h in hits if h["doc_id"] == "prc2"]
    assert all(h["page_start"] == 0 and h["section"].startswith(("Results", "Abstract", "Decision")) for h in jats)
    assert main(["search", "osteoblast dedifferentiation factor Runx2b", "--index", str(index), "--k", "1"]) == 0
    assert "Fin regeneration in zebrafish, p. 2 —" in capsys.readouterr().out


def test_ask_citations_carry_pages(mixed):
    """What `ask --json` and batch output print: Answer.to_dict(); the terminal rendering prints "p. N"."""
    import lifqa
    from lifqa.render import answer_text

    _, index, _ = mixed
    engine = lifqa.open(str(index))
    answer = engine.ask(PDF_QUESTION)
    cited = [c for c in answer.to_dict()["citations"] if c["doc_id"] == "zebrafish" and "Runx2b" in c["text"]]
    assert cited and cited[0]["page_start"] == 2 and cited[0]["page_end"] == 2 and cited[0]["page_label"] == ""
    assert "2021, p. 2 · Fin regeneration in zebrafish — " in answer_text(answer)  # the label names the page, once
