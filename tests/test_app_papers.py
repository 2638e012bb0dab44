"""The app's "Add papers" and "Remove source", through streamlit's AppTest on a private copy of the LIF index and corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import CORPUS, PDF_QUESTION, PDF_SENTENCE, run_app
from live_server import copy_served


@pytest.fixture
def own_corpus(lif_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    index, corpus = copy_served(lif_index, CORPUS, tmp_path)
    monkeypatch.setenv("LIFQA_INDEX", str(index))
    monkeypatch.setenv("LIFQA_CORPUS", str(corpus))
    monkeypatch.setenv("LIFQA_REPORT", str(tmp_path / "report"))
    return index, corpus


def uploader(at: AppTest):
    return next(u for u in at.file_uploader if u.label == "Papers to add")


def page_html(at: AppTest) -> str:
    return "\n".join(h.value for h in at.html)


def test_an_added_pdf_is_indexed_and_cited_with_its_page(own_corpus, pdf_corpus):
    _, corpus = own_corpus
    at = run_app()
    assert at.button(key="add_papers_run").disabled  # nothing chosen yet
    uploader(at).set_value(("zebrafish.pdf", (pdf_corpus / "zebrafish.pdf").read_bytes(), "application/pdf")).run()
    at.button(key="add_papers_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["zebrafish.pdf: the index now has 6 sources; added zebrafish."]
    assert (corpus / "zebrafish.pdf").read_bytes() == (pdf_corpus / "zebrafish.pdf").read_bytes()
    assert not uploader(at).value  # a fresh uploader: the same files are not added twice by accident
    assert 'data-doc-id="zebrafish"' in page_html(at)  # in the sources table

    at = run_app(q=PDF_QUESTION)
    html = page_html(at)
    assert PDF_SENTENCE in html
    card = html[html.index('data-doc-id="zebrafish"'):]
    assert '<span class="lq-pages" data-page="2">p. 2</span>' in card[: card.index('class="lq-passage"')]


def test_a_file_that_is_not_what_its_name_says_is_refused_with_a_message(own_corpus):
    _, corpus = own_corpus
    before = sorted(p.name for p in corpus.iterdir())
    at = run_app()
    uploader(at).set_value([("notes.txt", b"Notes on LIF.\n", "text/plain"), ("paper.pdf", b"not a pdf", "application/pdf")]).run()
    at.button(key="add_papers_run").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["paper.pdf is not a PDF (it does not start with %PDF-); send the PDF itself, "
                                           "or name the file for what it is"]
    assert sorted(p.name for p in corpus.iterdir() if p.name != ".lifqa") == before  # neither file was kept


def test_a_removed_source_leaves_the_index_and_its_file_goes_to_removed(own_corpus):
    _, corpus = own_corpus
    doc_id = "004_292eedc639d57db9"
    at = run_app()
    at.selectbox(key="source_doc").set_value(doc_id).run()
    assert at.button(key="remove_source").disabled  # only after saying so
    at.checkbox(key=f"remove_sure_{doc_id}").check().run()
    at.button(key="remove_source").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [f".removed/{doc_id}.txt: the index now has 4 sources; removed {doc_id}."]
    assert not (corpus / f"{doc_id}.txt").exists() and (corpus / ".removed" / f"{doc_id}.txt").is_file()
    assert f'data-doc-id="{doc_id}"' not in page_html(at)
    assert doc_id not in at.selectbox(key="source_doc").options
