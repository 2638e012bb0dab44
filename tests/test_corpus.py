"""Reading and normalising documents: the real seeds plus small synthetic edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifqa.errors import CorpusError
from lifqa.readers.text import make_document, normalise
from lifqa.sources import read_sources


@pytest.fixture(scope="module")
def docs(corpus_dir: Path):
    return {d.doc_id: d for d in read_sources(corpus_dir).documents}


def test_all_seeds_read_with_stable_ids_and_metadata(docs):
    assert sorted(docs) == ["000_b2d3b1681d340735", "001_ccf4759c050e6e97", "002_ce8a4941deb8f87d",
                            "003_53c253cf74dd5c0b", "004_292eedc639d57db9"]
    assert docs["000_b2d3b1681d340735"].metadata["doc_type"] == "encyclopedia"
    assert docs["004_292eedc639d57db9"].metadata["date"] == "2026-02-25"


def test_duplicated_infobox_appears_once_and_table_rows_survive(docs):
    text = docs["002_ce8a4941deb8f87d"].text
    assert text.count("NCBI Gene ID: 3977") == 1
    assert text.count("Gene Symbol: LIF") == 1
    assert "UniProt ID: P15018" in text and "PD: Preclinical" in text
    assert any("NCBI Gene ID: 3977" in block for block in docs["002_ce8a4941deb8f87d"].noise)


def test_markup_is_stripped_and_entities_unescaped(docs):
    text = docs["002_ce8a4941deb8f87d"].text
    assert "<" not in text and "iframe" not in text.lower() and "<td" not in text
    review = docs["003_53c253cf74dd5c0b"].text
    assert "Cytokine & Growth Factor Reviews" in review and "&amp;" not in review


def test_page_chrome_is_dropped(docs):
    assert "My watch list" not in docs["000_b2d3b1681d340735"].text
    assert "Your browser is not current" not in docs["000_b2d3b1681d340735"].text
    assert "Try Digest" not in docs["004_292eedc639d57db9"].text
    assert "Leukemia inhibitory factor, or LIF" in docs["000_b2d3b1681d340735"].text


def test_folder_without_metadata_takes_title_from_first_line(tmp_path: Path):
    (tmp_path / "paper.md").write_text("# A study of gp130\n\nLIF binds gp130. It signals.\n", encoding="utf-8")
    (doc,) = read_sources(tmp_path).documents
    assert doc.doc_id == "paper" and doc.title == "A study of gp130"


def test_html_file_keeps_table_rows_as_label_value(tmp_path: Path):
    (tmp_path / "page.html").write_text(
        "<html><body><h1>LIF</h1><table><tr><th>OMIM</th><td>159540</td></tr></table>"
        "<script>alert(1)</script><p>Text &amp; more.</p></body></html>", encoding="utf-8")
    (doc,) = read_sources(tmp_path).documents
    assert "OMIM: 159540" in doc.text and "Text & more." in doc.text and "alert" not in doc.text


def test_undecodable_and_empty_files_are_skipped_with_warnings(tmp_path: Path):
    (tmp_path / "good.txt").write_text("LIF is a cytokine of the IL-6 family.", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 study of LIF receptors.".encode("latin-1"))
    report = read_sources(tmp_path)
    assert sorted(d.doc_id for d in report.documents) == ["good", "latin"]
    assert "Café" in next(d for d in report.documents if d.doc_id == "latin").text
    joined = " | ".join(report.warnings)
    assert "binary.txt" in joined and "empty.txt" in joined and "latin.txt" in joined


def test_empty_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="no readable documents"):
        read_sources(tmp_path)


def test_duplicate_documents_are_indexed_once_with_both_names(tmp_path: Path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("LIF maintains mouse embryonic stem cells.", encoding="utf-8")
    report = read_sources(tmp_path)
    assert len(report.documents) == 1 and report.documents[0].also_named == ("b.txt",)
    assert any("same content" in w for w in report.warnings)


def test_metadata_naming_a_missing_file_warns_and_escaping_path_is_rejected(tmp_path: Path):
    (tmp_path / "a.txt").write_text("LIF text.", encoding="utf-8")
    (tmp_path / "sources.toml").write_text('["missing.txt"]\ntitle = "x"\n', encoding="utf-8")
    assert any("missing.txt" in w and "line 1" in w for w in read_sources(tmp_path).warnings)
    (tmp_path / "sources.toml").write_text('["../../etc/passwd"]\ntitle = "x"\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="outside the corpus folder"):
        read_sources(tmp_path)


def test_malformed_metadata_names_file_and_line(tmp_path: Path):
    (tmp_path / "a.txt").write_text("LIF text.", encoding="utf-8")
    (tmp_path / "sources.toml").write_text('["a.txt"]\ntitle = "unterminated\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"sources.toml.*line 2"):
        read_sources(tmp_path)


def test_beir_jsonl_is_read_with_its_ids(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "d1", "title": "T1", "text": "LIF binds LIFR."}\nnot json\n'
                    '{"_id": "d2", "title": "", "text": "gp130 is shared."}\n', encoding="utf-8")
    report = read_sources(path)
    assert [d.doc_id for d in report.documents] == ["d1", "d2"]
    assert report.documents[0].title == "T1"
    assert any("line 2" in w for w in report.warnings)


def test_document_hash_is_stable():
    a = make_document("x.txt", "Same text.")
    b = make_document("x.txt", "Same text.")
    assert a.content_hash == b.content_hash and a.doc_id == "x"


def test_normalise_drops_repeated_blocks_but_keeps_single_lines():
    block = "Alpha line one of the box\nBeta line two of the box\nGamma line three of the box\n"
    text = normalise(block + "middle\n" + block + "end").text
    assert text.count("Alpha line one") == 1 and "middle" in text and "end" in text
