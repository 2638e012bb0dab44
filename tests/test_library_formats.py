"""BibTeX, CSL-JSON and RIS libraries: each entry one document with its metadata and files; exports read back in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifqa.errors import CorpusError
from lifqa.export import bibtex as bibtex_export
from lifqa.export import csljson as csl_export
from lifqa.export import ris as ris_export
from lifqa.library import library_kind
from lifqa.library.bibtex import read_bibtex
from lifqa.library.csljson import read_csljson
from lifqa.library.ris import read_ris
from lifqa.references import reference_of
from lifqa.sources import read_sources

PAPER = "Leukemia inhibitory factor binds LIFR and gp130 and activates STAT3 in embryonic stem cells."

BIB = r"""
@article{datta2010lif,
  title = {{LIF} signals through the gp130 receptor complex},
  author = {Datta, Sandeep and Smith, Jane and M{\"u}ller, Hans},
  journal = {Cell Reports},
  year = {2010},
  volume = {12},
  number = {3},
  pages = {9--17},
  doi = {10.1016/J.CELREP.2010.01.009},
  keywords = {cytokines, LIF},
  file = {Full Text PDF:papers/datta.txt:text/plain}
}

@book{society1999,
  title = {Cytokine Receptors Handbook},
  author = {{Cytokine Society}},
  publisher = {Academic Press},
  year = {1999},
  abstract = {A handbook of cytokine receptors, LIFR among them.}
}

@misc{missing2020,
  title = {A paper whose PDF is gone},
  year = {2020},
  file = {C\:\\nowhere\\gone.pdf}
}

@article{broken, title = {unclosed
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bibtex_entries_files_and_latex(tmp_path: Path):
    bib = _write(tmp_path, "lib.bib", BIB)
    _write(tmp_path, "papers/datta.txt", PAPER)
    items, warnings = read_bibtex(bib)
    by_key = {i.key: i for i in items}
    datta = by_key["datta2010lif"].metadata
    assert datta["authors"] == ["Datta, Sandeep", "Smith, Jane", "Müller, Hans"]  # LaTeX decoded
    assert by_key["datta2010lif"].title == "LIF signals through the gp130 receptor complex"
    assert datta["tags"] == ["cytokines", "LIF"] and datta["item_type"] == "journalArticle"
    assert by_key["datta2010lif"].attachments[0].path == tmp_path / "papers" / "datta.txt"
    assert by_key["society1999"].metadata["authors"] == ["Cytokine Society"]
    assert by_key["missing2020"].attachments[0].label == "C:\\nowhere\\gone.pdf"
    assert any("line" in w and "skipped" in w for w in warnings)  # the broken entry is reported, the rest read
    report = read_sources(bib)
    docs = {d.doc_id: d for d in report.documents}
    assert library_kind(bib) == "bibtex"
    assert docs["lib/datta2010lif"].metadata["text_source"] == "fulltext" and "STAT3" in docs["lib/datta2010lif"].text
    assert docs["lib/datta2010lif"].metadata["doi"] == "10.1016/j.celrep.2010.01.009"
    assert docs["lib/society1999"].metadata["text_source"] == "abstract_only"
    assert docs["lib/missing2020"].metadata["text_source"] == "metadata_only"
    assert report.library["missing_files"] == 1


def test_csl_json_library(tmp_path: Path):
    items = [{"id": "datta2010lif", "type": "article-journal", "title": "LIF signals through gp130",
              "author": [{"family": "Datta", "given": "Sandeep"}, {"literal": "LIF Consortium"}],
              "issued": {"date-parts": [[2010, 5]]}, "container-title": "Cell Reports", "DOI": "10.1016/j.celrep.2010.01.009",
              "abstract": PAPER, "keyword": "cytokines, LIF"},
             {"id": "nofile", "type": "book", "title": "Only a title"}]
    lib = _write(tmp_path, "lib.json", json.dumps(items))
    report = read_sources(lib)
    docs = {d.doc_id: d for d in report.documents}
    datta = docs["lib/datta2010lif"]
    assert datta.metadata["authors"] == ["Datta, Sandeep", "LIF Consortium"] and datta.metadata["year"] == 2010
    assert datta.metadata["text_source"] == "abstract_only" and datta.metadata["tags"] == ["cytokines", "LIF"]
    assert docs["lib/nofile"].metadata["text_source"] == "metadata_only"
    bad = _write(tmp_path, "bad.json", '{"not": "csl"}')
    with pytest.raises(CorpusError, match="not CSL-JSON"):
        read_csljson(bad)


RIS = """TY  - JOUR
ID  - datta2010lif
AU  - Datta, Sandeep
AU  - Smith, Jane
TI  - LIF signals through the gp130 receptor complex
T2  - Cell Reports
PY  - 2010
SP  - 9
EP  - 17
DO  - 10.1016/j.celrep.2010.01.009
KW  - cytokines
L1  - papers/datta.txt
ER  - 

TY  - BOOK
TI  - Cytokine Receptors Handbook
PB  - Academic Press
PY  - 1999///
ER  - 
"""


def test_ris_library(tmp_path: Path):
    lib = _write(tmp_path, "refs.ris", RIS)
    _write(tmp_path, "papers/datta.txt", PAPER)
    items, _ = read_ris(lib)
    assert items[0].metadata["page_range"] == "9-17" and items[1].metadata["year"] == "1999"
    docs = {d.doc_id: d for d in read_sources(lib).documents}
    assert docs["refs/datta2010lif"].metadata["text_source"] == "fulltext" and "STAT3" in docs["refs/datta2010lif"].text
    assert docs["refs/datta2010lif"].metadata["authors"] == ["Datta, Sandeep", "Smith, Jane"]
    assert docs["refs/ris2"].metadata["text_source"] == "metadata_only"


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csl-json"])
def test_what_lifqa_exports_reads_back_as_the_same_reference(tmp_path: Path, fmt: str):
    meta = {"authors": ["Datta, Sandeep", "Smith, Jane"], "year": 2010, "journal": "Cell Reports", "doi": "10.1016/j.celrep.2010.01.009",
            "volume": "12", "issue": "3", "page_range": "9-17", "citation_key": "datta2010lif", "item_type": "journalArticle",
            "title": "LIF signals through the gp130 receptor complex"}
    ref = reference_of("x", meta["title"], meta)
    writer, reader, suffix = {"bibtex": (bibtex_export.write, read_bibtex, ".bib"), "ris": (ris_export.write, read_ris, ".ris"),
                              "csl-json": (csl_export.write, read_csljson, ".json")}[fmt]
    path = _write(tmp_path, f"out{suffix}", writer([ref]))
    (item,) = reader(path)[0]
    back = reference_of("x", item.title, item.metadata)
    for name in ("title", "authors", "year", "journal", "doi", "volume", "issue", "citation_key", "item_type"):
        assert str(getattr(back, name)) == str(getattr(ref, name)), name
    assert back.pages.replace("--", "-") == "9-17"


def test_folder_with_a_bib_indexes_each_paper_once(tmp_path: Path):
    """A library file in a document folder: its items' own files are not read again, and a copy (same bytes or DOI) merges."""
    _write(tmp_path, "lib.bib", BIB)
    _write(tmp_path, "papers/datta.txt", PAPER)
    _write(tmp_path, "copy-of-datta.txt", PAPER)
    _write(tmp_path, "other.txt", "A separate note on oncostatin M, another gp130 cytokine, with enough words to stand alone.")
    report = read_sources(tmp_path)
    ids = sorted(d.doc_id for d in report.documents)
    assert ids == ["lib/datta2010lif", "lib/missing2020", "lib/society1999", "other"]
    datta = next(d for d in report.documents if d.doc_id == "lib/datta2010lif")
    assert "copy-of-datta.txt" in datta.also_named


def test_same_doi_in_the_folder_is_the_library_item(tmp_path: Path):
    _write(tmp_path, "lib.bib", BIB)
    _write(tmp_path, "papers/datta.txt", PAPER)
    _write(tmp_path, "preprint.txt", "An earlier version of the LIF and gp130 paper, worded differently from the journal text.")
    _write(tmp_path, "sources.toml", '["preprint.txt"]\ndoi = "https://doi.org/10.1016/j.celrep.2010.01.009"\n')
    report = read_sources(tmp_path)
    assert "preprint" not in {d.doc_id for d in report.documents}
    assert any("preprint.txt has the same DOI as library item lib/datta2010lif" in w for w in report.warnings)


def test_rereading_a_bib_reads_only_changed_entries(tmp_path: Path):
    bib = _write(tmp_path, "lib.bib", BIB)
    _write(tmp_path, "papers/datta.txt", PAPER)
    cache = tmp_path / "cache"
    assert read_sources(bib, cache_dir=cache).library["items_read"] == 3
    again = read_sources(bib, cache_dir=cache).library
    assert (again["items_read"], again["items_reused"]) == (0, 3)
    bib.write_text(BIB.replace("Cytokine Receptors Handbook", "Cytokine Receptors Handbook, 2nd edition"), encoding="utf-8")
    assert read_sources(bib, cache_dir=cache).library["items_read"] == 1
    _write(tmp_path, "papers/datta.txt", PAPER + " Revised.")  # an attached file changes: its item is re-read
    changed = read_sources(bib, cache_dir=cache)
    assert changed.library["items_read"] == 1
    assert "Revised." in next(d.text for d in changed.documents if d.doc_id == "lib/datta2010lif")
