"""The JATS reader on small articles written here, and hostile XML that must stay inert."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lifqa.chunking import chunk_document
from lifqa.readers import read_path, sniff
from lifqa.reliability.flags import assess_document

ARTICLE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.0 20120330//EN" "http://127.0.0.1:9/JATS-archivearticle1.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
<front>
 <journal-meta><journal-title-group><journal-title>eLife</journal-title></journal-title-group></journal-meta>
 <article-meta>
  <article-id pub-id-type="pmid">23469300</article-id>
  <article-id pub-id-type="pmc">3585041</article-id>
  <article-id pub-id-type="doi">10.7554/eLife.00005</article-id>
  <title-group><article-title>Molecular architecture of human PRC2</article-title></title-group>
  <contrib-group>
   <contrib contrib-type="author"><name><surname>Ciferri</surname><given-names>Claudio</given-names></name></contrib>
   <contrib contrib-type="author"><name><surname>Nogales</surname><given-names>Eva</given-names></name></contrib>
   <contrib contrib-type="editor"><name><surname>Editor</surname><given-names>Ed</given-names></name></contrib>
  </contrib-group>
  <pub-date pub-type="epub"><day>1</day><month>1</month><year>2012</year></pub-date>
  <permissions><license xlink:href="http://creativecommons.org/licenses/by/3.0/"><license-p>CC BY</license-p></license></permissions>
  <abstract><p>Polycomb Repressive Complex 2 (PRC2) is essential for gene silencing.</p></abstract>
 </article-meta>
</front>
<body>
 <sec><title>Results</title>
  <sec><title>Architecture of the PRC2-AEBP2 complex</title>
   <p>The complex forms a compact structure in every class average [<xref ref-type="bibr" rid="b1">1</xref>].
   <fig id="f1"><label>Figure 1.</label><caption><title>Reconstitution of the complex.</title><p>Gel filtration profile of the purified sample.</p></caption></fig>
   The EED subunit sits at the bottom of the complex.</p>
   <table-wrap id="t1"><label>Table 1</label><caption><p>Cross-links found.</p></caption>
    <table><thead><tr><th>Subunit</th><th>Residue</th><th>Partner</th></tr></thead>
    <tbody><tr><td>EZH2</td><td>K510</td><td>EED</td></tr><tr><td>SUZ12</td><td>K75</td><td>RbAp48</td></tr></tbody></table>
   </table-wrap>
  </sec>
 </sec>
</body>
<back>
 <ref-list><title>References</title>
  <ref id="b1"><label>1</label><element-citation publication-type="journal"><person-group><name><surname>Margueron</surname><given-names>R</given-names></name></person-group>
   <article-title>The Polycomb complex PRC2 and its mark in life</article-title><source>Nature</source><year>2011</year><volume>469</volume>
   <pub-id pub-id-type="doi">10.1038/nature09784</pub-id><pub-id pub-id-type="pmid">21248841</pub-id></element-citation></ref>
  <ref id="b2"><label>2</label><mixed-citation publication-type="journal">Cao R, Zhang Y. SUZ12 is required for histone methylation. <source>Mol Cell</source> <year>2004</year>;15:57-67. <pub-id pub-id-type="doi">10.1016/j.molcel.2004.06.020</pub-id></mixed-citation></ref>
 </ref-list>
</back>
<sub-article article-type="decision-letter"><front-stub><title-group><article-title>Decision letter</article-title></title-group></front-stub>
 <body><p>The reviewers found the structure convincing.</p></body></sub-article>
</article>
"""


@pytest.fixture()
def article_doc(tmp_path):
    path = tmp_path / "prc2.nxml"
    path.write_text(ARTICLE, encoding="utf-8")
    docs, warnings = read_path(path, "prc2.nxml", {})
    assert warnings == [] and len(docs) == 1
    return docs[0]


def test_metadata(article_doc):
    meta = article_doc.metadata
    assert article_doc.title == "Molecular architecture of human PRC2"
    assert meta["authors"] == ["Ciferri, Claudio", "Nogales, Eva"]
    assert (meta["journal"], meta["year"], meta["doi"], meta["pmid"], meta["pmcid"]) == ("eLife", 2012, "10.7554/elife.00005", "23469300", "PMC3585041")
    assert meta["licence"] == "http://creativecommons.org/licenses/by/3.0/"
    assert meta["doc_type"] == "article" and meta["publication_types"] == ["research-article"]
    assert meta["text_source"] == "fulltext"


def test_sections_carry_the_full_path(article_doc):
    chunks = chunk_document(article_doc, 700, 150)
    by_text = {c.text: c for c in chunks}
    body = next(c for c in chunks if "compact structure" in c.text)
    assert body.section == "Results › Architecture of the PRC2-AEBP2 complex"
    assert "The EED subunit sits at the bottom" in body.text  # the paragraph's tail after the figure
    assert any(c.section == "Abstract" and "Polycomb Repressive" in c.text for c in chunks)
    assert any(c.section == "Decision letter" and "reviewers found" in c.text for c in chunks)
    assert by_text and all(c.page_start == 0 and c.page_label == "" for c in chunks)


def test_captions_are_their_own_passages(article_doc):
    chunks = chunk_document(article_doc, 700, 150)
    caption = next(c for c in chunks if "Gel filtration profile" in c.text)
    assert caption.text.startswith("Figure 1. Reconstitution of the complex.")
    assert "compact structure" not in caption.text and "EED subunit" not in caption.text
    assert caption.section == "Results › Architecture of the PRC2-AEBP2 complex › Figure 1"
    kinds = {s.kind for s in article_doc.sections if "Figure 1" in s.title or "Table 1" in s.title}
    assert kinds == {"caption", "table"}


def test_table_cells_become_rows(article_doc):
    table = next(s for s in article_doc.sections if s.kind == "table")
    rows = article_doc.text[table.start:table.end].splitlines()
    assert rows == ["Subunit | Residue | Partner", "EZH2 | K510 | EED", "SUZ12 | K75 | RbAp48"]


def test_reference_list_with_dois_feeds_reliability_not_passages(article_doc):
    refs = next(s for s in article_doc.sections if s.kind == "references")
    lines = article_doc.text[refs.start:refs.end].splitlines()
    assert lines[1].startswith("1. Margueron R (2011). The Polycomb complex PRC2 and its mark in life. Nature 469") and "doi:10.1038/nature09784" in lines[1] and "PMID: 21248841" in lines[1]
    assert "10.1016/j.molcel.2004.06.020" in lines[2]
    chunks = chunk_document(article_doc, 700, 150)
    assert not any("Margueron" in c.text for c in chunks)
    assessment = assess_document(article_doc)
    assert "cites_sources" in {f.kind for f in assessment.flags}
    assert assessment.tier == "high", assessment.reasons


def test_nothing_is_fetched(tmp_path, monkeypatch):
    """The DOCTYPE names a DTD on a local port; the reader must not try to open it."""
    attempts = []
    real_connect = socket.socket.connect

    def spy(self, address):
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    path = tmp_path / "a.xml"
    path.write_text(ARTICLE, encoding="utf-8")
    docs, _ = read_path(path, "a.xml", {})
    assert docs and attempts == []


def test_xxe_pointing_at_a_local_file_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    path = tmp_path / "xxe.xml"
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">]>
<article><front><article-meta><title-group><article-title>Leak &xxe;</article-title></title-group></article-meta></front>
<body><p>Body &xxe; text.</p></body></article>""", encoding="utf-8")
    docs, warnings = read_path(path, "xxe.xml", {})
    assert docs == [] and len(warnings) == 1
    assert "xxe.xml" in warnings[0] and "entities" in warnings[0]
    assert "TOP-SECRET" not in "".join(warnings)


def test_billion_laughs_is_refused(tmp_path):
    entities = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    path = tmp_path / "lol.nxml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE article [{entities}]>\n<article><body><p>&lol9;</p></body></article>', encoding="utf-8")
    docs, warnings = read_path(path, "lol.nxml", {})
    assert docs == [] and "entities" in warnings[0]


def test_entities_are_never_expanded_even_when_not_declared_up_front(tmp_path):
    """An undeclared entity reference is a parse error or stays unexpanded; never a fetched value."""
    path = tmp_path / "odd.xml"
    path.write_text('<?xml version="1.0"?>\n<article><body><p>Receptor &unknown; binding.</p></body></article>', encoding="utf-8")
    docs, warnings = read_path(path, "odd.xml", {})
    assert (docs and "&unknown" not in docs[0].text) or (warnings and "odd.xml" in warnings[0])


def test_malformed_and_other_xml_are_named_warnings(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?>\n<article><body><p>unclosed', encoding="utf-8")
    other = tmp_path / "feed.xml"
    other.write_text('<?xml version="1.0"?>\n<rss><channel/></rss>', encoding="utf-8")
    assert sniff(other) == "xml:rss"
    for path, reason in ((broken, "not readable as JATS"), (other, "neither JATS")):
        docs, warnings = read_path(path, path.name, {})
        assert docs == [] and path.name in warnings[0] and reason in warnings[0]


def test_real_hyphen_in_text_kept_and_curator_metadata_wins(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text(ARTICLE, encoding="utf-8")
    docs, _ = read_path(path, "sub/x.xml", {"title": "Curated title", "doc_type": "review", "doc_id": "my-id"})
    assert docs[0].doc_id == "my-id" and docs[0].title == "Curated title" and docs[0].metadata["doc_type"] == "review"
    assert "PRC2-AEBP2" in docs[0].text
