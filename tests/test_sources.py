"""Reading --corpus through lifqa.sources: during one build a corpus folder is listed once, each of its files hashed
once and each library file parsed once, and the build key and the evaluation cache share one fingerprint."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).parent))

NOTES = "Notes\n\nLeukemia inhibitory factor keeps mouse embryonic stem cells pluripotent in culture through STAT3.\n"
ATTACHED = "Datta and colleagues show that LIF binds LIFR and gp130 and activates STAT3 in embryonic stem cells."
JATS = """<?xml version="1.0" encoding="UTF-8"?>
<article article-type="research-article"><front><article-meta>
<article-id pub-id-type="doi">10.7554/eLife.00005</article-id>
<title-group><article-title>Oncostatin M and gp130 in the liver</article-title></title-group>
<contrib-group><contrib contrib-type="author"><name><surname>Ciferri</surname><given-names>Claudio</given-names></name></contrib></contrib-group>
<pub-date pub-type="epub"><year>2012</year></pub-date>
<abstract><p>Oncostatin M signals through gp130 and drives the acute phase response of hepatocytes.</p></abstract>
</article-meta></front>
<body><sec><title>Results</title><p>Hepatocytes treated with oncostatin M raised fibrinogen within six hours of exposure.</p></sec></body>
</article>
"""
BIB = """@article{ware2003osteo,
  title = {LIF and bone},
  author = {Ware, Carl},
  journal = {Bone},
  year = {2003},
  file = {Full Text PDF:papers/ware.pdf:application/pdf}
}
"""
CSL = [{"id": "datta2010lif", "type": "article-journal", "title": "LIF signals through gp130", "DOI": "10.1016/j.celrep.2010.01.009",
        "author": [{"family": "Datta", "given": "Sandeep"}], "issued": {"date-parts": [[2010]]}, "file": "papers/datta.txt"}]


def mixed_corpus(folder: Path) -> Path:
    """A folder of every kind of source: a text file with curator metadata, a JATS article, a BibTeX library whose
    item's file is a PDF and a CSL-JSON library whose item's file is text (both in a subfolder), and a JSON file
    that is not a library."""
    from pdf_factory import JournalPdf

    (folder / "papers").mkdir(parents=True)
    (folder / "articles").mkdir()
    (folder / "extra").mkdir()
    (folder / "notes.txt").write_text(NOTES, encoding="utf-8")
    (folder / "sources.toml").write_text('["notes.txt"]\npublisher = "Lab notes"\ndoc_type = "other"\n', encoding="utf-8")
    (folder / "articles" / "osm.xml").write_text(JATS, encoding="utf-8")
    pdf = JournalPdf(folder / "papers" / "ware.pdf", title="LIF and bone", author="Ware, Carl")
    pdf.title("LIF and bone")
    pdf.heading("Results")
    pdf.paragraph("Mice lacking leukemia inhibitory factor had more osteoclasts and less trabecular bone than their littermates.")
    pdf.save()
    (folder / "papers" / "datta.txt").write_text(ATTACHED, encoding="utf-8")
    (folder / "refs.bib").write_text(BIB, encoding="utf-8")
    (folder / "items.json").write_text(json.dumps(CSL), encoding="utf-8")
    (folder / "extra" / "data.json").write_text(json.dumps({"not": "a library"}), encoding="utf-8")
    return folder


def _inside(path: Any, root: Path) -> Path | None:
    try:
        resolved = Path(os.fsdecode(os.fspath(path))).resolve()
    except TypeError:  # a file descriptor
        return None
    return resolved if resolved == root or root in resolved.parents else None


class Counts:
    """What happens to the files of one corpus folder while it is watched: folders listed, files hashed, libraries parsed."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import bibtexparser

        import lifqa.evaluate  # noqa: F401 - the build side loaded, so every module holding the file hash is patched
        import lifqa.index.build  # noqa: F401
        from lifqa.index import layout

        self.root = root.resolve()
        self.folders = {self.root, *(p for p in self.root.rglob("*") if p.is_dir())}  # before listing is counted
        self.files = {p for p in self.root.rglob("*") if p.is_file()}
        self.listed: Counter[Path] = Counter()
        self.hashed: Counter[Path] = Counter()
        self.parsed: Counter[str] = Counter()
        self.texts = {p.read_text(encoding="utf-8"): p.name for p in (root / "refs.bib", root / "items.json", root / "extra" / "data.json")}
        for name in ("scandir", "listdir"):
            monkeypatch.setattr(os, name, self._listing(getattr(os, name)))
        real_hash = layout.file_sha256
        counted_hash = self._hashing(real_hash)
        for module in [m for n, m in list(sys.modules.items()) if n.startswith("lifqa")]:
            if getattr(module, "file_sha256", None) is real_hash:
                monkeypatch.setattr(module, "file_sha256", counted_hash)
        monkeypatch.setattr(json, "loads", self._parsing(json.loads))
        monkeypatch.setattr(bibtexparser, "parse_string", self._parsing(bibtexparser.parse_string))

    def _listing(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def listing(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            inside = _inside(path, self.root)
            if inside is not None:
                self.listed[inside] += 1
            return real(path, *args, **kwargs)
        return listing

    def _hashing(self, real: Callable[[Path], str]) -> Callable[[Path], str]:
        def hashing(path: Path) -> str:
            inside = _inside(path, self.root)
            if inside is not None:
                self.hashed[inside] += 1
            return real(path)
        return hashing

    def _parsing(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def parsing(text: Any, *args: Any, **kwargs: Any) -> Any:
            key = text.decode("utf-8-sig") if isinstance(text, bytes) else text
            name = self.texts.get(key) or self.texts.get(key.replace("\r\n", "\n")) if isinstance(key, str) else None
            if name:
                self.parsed[name] += 1
            return real(text, *args, **kwargs)
        return parsing


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mixed_corpus(tmp_path_factory.mktemp("mixed") / "corpus")


def _assert_each_once(counts: Counts) -> None:
    assert set(counts.listed) == counts.folders
    assert {p: n for p, n in counts.listed.items() if n != 1} == {}, "a folder was listed more than once"
    documents = counts.files - {counts.root / "extra" / "data.json"}  # not a document, not a library: never hashed
    assert {p: n for p, n in counts.hashed.items() if n != 1} == {}, "a file was hashed more than once"
    assert set(counts.hashed) == documents
    assert counts.parsed["refs.bib"] == 1 and counts.parsed["items.json"] == 1, f"libraries parsed {dict(counts.parsed)}"
    assert counts.parsed["data.json"] <= 1


@pytest.mark.slow
def test_one_index_build_lists_each_folder_once_hashes_each_file_once_parses_each_library_once(
        corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    from lifqa.cli import main

    counts = Counts(corpus, monkeypatch)
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert "built" in out and "library: 2 items (2 full text" in out
    _assert_each_once(counts)
    monkeypatch.undo()
    manifest = json.loads(next((tmp_path / "index").glob("build-*/manifest.json")).read_text(encoding="utf-8"))
    assert manifest["counts"]["documents"] == 4  # notes, the JATS article and the two library items (their files not again)


@pytest.mark.slow
def test_the_evaluation_cache_and_its_build_share_one_look_at_the_corpus(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from lifqa.eval_cache import cache_dir, cached_index
    from lifqa.settings import make_settings

    counts = Counts(corpus, monkeypatch)
    folder = cached_index(corpus, make_settings(sentence_vectors=False), tmp_path)
    _assert_each_once(counts)
    monkeypatch.undo()
    from lifqa.sources.fingerprint import corpus_fingerprint

    manifest = json.loads(next(folder.glob("build-*/manifest.json")).read_text(encoding="utf-8"))
    assert folder == cache_dir(corpus, make_settings(sentence_vectors=False), tmp_path)
    assert folder.name.startswith(corpus_fingerprint(corpus)[:12]) and manifest["corpus"]["fingerprint"] == corpus_fingerprint(corpus)


def test_the_fingerprint_notices_what_a_rebuild_must_and_nothing_else(tmp_path: Path):
    """Changed, added and removed documents, the curator metadata, a library and its items' files (also outside the folder)."""
    import time

    from lifqa.sources.fingerprint import corpus_fingerprint

    corpus = mixed_corpus(tmp_path / "corpus")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text(ATTACHED + " Outside the folder.", encoding="utf-8")
    (corpus / "more.bib").write_text(BIB.replace("ware2003osteo", "outside2020").replace("papers/ware.pdf", str(outside)), encoding="utf-8")
    seen = [corpus_fingerprint(corpus)]

    def changed() -> bool:
        seen.append(corpus_fingerprint(corpus))
        return seen[-1] != seen[-2]

    assert not changed()
    (corpus / ".hidden.txt").write_text("not a source", encoding="utf-8")
    (corpus / "extra" / "other.json").write_text("[1, 2]", encoding="utf-8")  # JSON that is not a library
    assert not changed()
    (corpus / "notes.txt").write_text(NOTES + "One more line.\n", encoding="utf-8")
    assert changed()
    (corpus / "added.md").write_text("# Added\n\nOncostatin M.\n", encoding="utf-8")
    assert changed()
    (corpus / "added.md").unlink()
    assert changed()
    (corpus / "sources.toml").write_text('["notes.txt"]\npublisher = "Lab"\n', encoding="utf-8")
    assert changed()
    (corpus / "refs.bib").write_text(BIB.replace("LIF and bone", "LIF and bones"), encoding="utf-8")
    assert changed()
    (corpus / "items.json").write_text(json.dumps([{**CSL[0], "title": "Renamed"}]), encoding="utf-8")
    assert changed()
    later = time.time() + 5
    os.utime(outside, (later, later))  # an attachment outside the folder: noticed by its size and time
    assert changed()
    outside.unlink()
    assert changed()


def test_reading_a_scan_reads_what_reading_the_path_reads(tmp_path: Path):
    """The build reads from the scan it fingerprinted; the result is the same as reading the path afresh."""
    from lifqa.sources import read_sources, scan_sources

    corpus = mixed_corpus(tmp_path / "corpus")
    scan = scan_sources(corpus)
    assert [(lib.path.name, lib.kind, len(lib.items)) for lib in scan.libraries] == [("items.json", "csl-json", 1), ("refs.bib", "bibtex", 1)]
    assert [scan.listing.name_of(p) for p in scan.listing.documents()] == ["articles/osm.xml", "notes.txt", "papers/datta.txt", "papers/ware.pdf"]
    from_scan, from_path = read_sources(scan), read_sources(corpus)
    assert from_scan == from_path
    assert sorted(d.doc_id for d in from_scan.documents) == ["articles/osm", "items/datta2010lif", "notes", "refs/ware2003osteo"]
