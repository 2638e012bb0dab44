"""Answers out: citation labels, Markdown, and BibTeX/RIS/CSL-JSON that parse back with the same libraries."""

from __future__ import annotations

import json
from dataclasses import replace

import bibtexparser
import pytest
import rispy

from lifqa.errors import InputError
from lifqa.export import answer_from_record, answer_references, batch_export, export_answer
from lifqa.export import bibtex as bibtex_export
from lifqa.export import csljson, ris
from lifqa.references import citation_label, make_key, normalise_doi, page_text, parse_names, reference_of
from lifqa.types import Answer, AnswerSentence, Citation, Document, Flag, ShortAnswer

DATTA = Document("datta", "Leukemia inhibitory factor signals through gp130", "text", metadata={
    "authors": ["Datta, Sandeep", "Smith, Jane", "Ng, Wei"], "year": 2010, "journal": "Cell {Reports}", "doi": "10.1016/J.CELREP.2010.01.009",
    "volume": "12", "issue": "3", "pages": "9-17", "citation_key": "datta2010lif", "item_type": "journalArticle",
    "publisher": "Elsevier", "url": "https://example.org/datta", "keywords": ["LIF", "gp130"]})
WIKI = Document("wiki", "LIF — Wikipedia mirror", "text", metadata={"doc_type": "encyclopedia"})
ODD = Document("odd", "A {broken title with * and [link](x)", "text", metadata={
    "authors": "World Health Organization", "date": "March 2021", "item_type": "report"})
DOCS = {d.doc_id: d for d in (DATTA, WIKI, ODD)}


def _citation(key: int, doc: Document, **extra) -> Citation:
    ref = reference_of(doc.doc_id, doc.title, doc.metadata)
    return Citation(key=key, doc_id=doc.doc_id, title=doc.title, chunk_id=f"{doc.doc_id}#0", section="", text="LIF binds gp130.",
                    char_start=0, char_end=16, score=0.9, tier=extra.pop("tier", "high"), flags=extra.pop("flags", ()),
                    label=citation_label(ref), citation_key=ref.citation_key, authors=ref.authors, year=ref.year, doi=ref.doi,
                    journal=ref.journal, **extra)


ANSWER = Answer(
    question="Which receptor does LIF bind?", answer="LIF binds gp130. [1] It is a cytokine. [3]", abstained=False,
    citations=(_citation(1, DATTA), _citation(2, WIKI, tier="low", flags=(Flag("ai_generated", "high", "r", "metadata:notes"),)),
               _citation(3, ODD, tier="medium")),
    mode="hybrid+rerank",
    sentences=(AnswerSentence("LIF binds gp130.", (1,)), AnswerSentence("It is a cytokine.", (3,))),
)


def test_labels_from_authors_year_or_key():
    ref = reference_of("d", "t", DATTA.metadata)
    assert citation_label(ref, page_text(9, 9)) == "Datta et al. 2010, p. 9"
    assert citation_label(ref, page_text(9, 10)) == "Datta et al. 2010, pp. 9–10"
    two = reference_of("d", "t", {"authors": ["Datta, S.", "Smith, J."], "date": "2010-05-01"})
    assert citation_label(two) == "Datta & Smith 2010"
    assert citation_label(reference_of("d", "t", {"citation_key": "who2021"})) == "who2021"
    assert citation_label(reference_of("d", "t", {})) == ""
    assert reference_of("d", "t", {"doi": "https://doi.org/10.1000/ABC.1"}).doi == "10.1000/abc.1"
    assert normalise_doi("no doi here") == ""
    assert parse_names("Datta, S.; Smith, J.") == ("Datta, S.", "Smith, J.")
    assert parse_names([{"family": "Datta", "given": "S."}, {"literal": "WHO"}]) == ("Datta, S.", "WHO")


@pytest.mark.parametrize("value, doi", [
    ("10.7554/eLife.00005", "10.7554/elife.00005"),
    ("https://doi.org/10.1000/ABC.1", "10.1000/abc.1"),
    ("http://dx.doi.org/10.1000/abc.1", "10.1000/abc.1"),
    ("https://www.doi.org/10.1000/abc.1", "10.1000/abc.1"),
    ("DOI: 10.1000/abc.1.", "10.1000/abc.1"),
    ("doi:10.1000/abc.1;", "10.1000/abc.1"),
    ("  10.1016/S0140-6736(20)30183-5 ", "10.1016/s0140-6736(20)30183-5"),
    ("n/a", ""),
    (None, ""),
])
def test_one_doi_normaliser_for_readers_libraries_and_citations(value, doi):
    """JATS, PubMed, library items and citations all read a DOI through references.normalise_doi."""
    from lifqa.readers import jats, pubmed

    assert normalise_doi(value) == doi
    assert jats.normalise_doi is normalise_doi and pubmed.normalise_doi is normalise_doi


def test_a_doi_in_running_text_ends_at_punctuation():
    from lifqa.references import DOI_IN_TEXT

    assert DOI_IN_TEXT.search('see doi:10.1000/abc.1, and "10.1000/x"').group(0) == "10.1000/abc.1"
    assert DOI_IN_TEXT.search("no doi 10.10/x here") is None


def test_citation_json_has_reference_fields():
    out = json.loads(json.dumps(ANSWER.to_dict()))["citations"][0]
    assert out["key"] == 1 and out["citation_key"] == "datta2010lif" and out["label"] == "Datta et al. 2010"
    assert out["authors"] == ["Datta, Sandeep", "Smith, Jane", "Ng, Wei"] and out["year"] == 2010
    assert out["doi"] == "10.1016/j.celrep.2010.01.009" and out["journal"] == "Cell {Reports}"


def test_references_are_the_cited_sources_only():
    refs = answer_references(ANSWER, DOCS.__getitem__)
    assert [(keys, ref.doc_id) for keys, ref in refs] == [((1,), "datta"), ((3,), "odd")]
    assert refs[0][1].tier == "high"
    abstained = Answer("q", "No supported answer in the corpus.", True, ANSWER.citations, "hybrid")
    assert [ref.doc_id for _, ref in answer_references(abstained, DOCS.__getitem__)] == ["datta", "wiki", "odd"]


def test_markdown_answer_and_reference_list():
    text = export_answer(ANSWER, DOCS.__getitem__, "markdown")
    assert "LIF binds gp130. [1] (Datta et al. 2010)" in text
    assert "## References" in text
    line = next(l for l in text.splitlines() if l.startswith("1. [1]"))
    for part in ("**Datta et al. 2010**", "Datta, Sandeep; Smith, Jane; Ng, Wei (2010).", "*Cell {Reports}* 12(3), 9-17.",
                 "https://doi.org/10.1016/j.celrep.2010.01.009", "reliability tier high", "flags: none", "key `datta2010lif`"):
        assert part in line, part
    odd = next(l for l in text.splitlines() if l.startswith("2. [3]"))
    assert r"A {broken title with \* and \[link\](x)" in odd and "World Health Organization (2021)" in odd
    assert "wiki" not in text.lower().split("## references")[1]


CYTOKINE = "It is a *cytokine* of [the] IL-6 family."
SHORT = ShortAnswer("*cytokine* of [the]", 1, CYTOKINE.index("*"), CYTOKINE.index("]") + 1, 0.9)
SHORT_ANSWER = replace(ANSWER, sentences=(ANSWER.sentences[0], AnswerSentence(CYTOKINE, (3,))), short_answer=SHORT)


def test_markdown_short_answer_is_the_first_line_in_bold_and_bold_in_its_sentence():
    assert CYTOKINE[SHORT.char_start:SHORT.char_end] == SHORT.text
    lines = export_answer(SHORT_ANSWER, DOCS.__getitem__, "markdown").splitlines()
    answer = lines.index(r"**Answer:** **\*cytokine\* of \[the\]** [3]")  # escaped: no emphasis or link from the span
    assert answer == 2 and lines[answer + 1] == ""
    assert lines[answer + 2] == (r"LIF binds gp130. [1] (Datta et al. 2010) It is a **\*cytokine\* of \[the\]** IL-6 family. [3] "
                                 "(World Health Organization 2021)")
    assert lines[answer + 3] == "" and lines[answer + 4] == "## References"


def test_markdown_without_a_short_answer_is_as_before():
    text = export_answer(replace(SHORT_ANSWER, short_answer=None), DOCS.__getitem__, "markdown")
    assert text.splitlines()[:4] == ["**Question:** Which receptor does LIF bind?", "",
                                     r"**Answer:** LIF binds gp130. [1] (Datta et al. 2010) It is a \*cytokine\* of \[the\] "
                                     "IL-6 family. [3] (World Health Organization 2021)", ""]
    assert "**" not in text.split("\n")[2].removeprefix("**Answer:**")


def test_bibtex_round_trip_with_bibtexparser():
    refs = [ref for _, ref in answer_references(ANSWER, DOCS.__getitem__)]
    text = bibtex_export.write(refs)
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    entries = {e.key: (e.entry_type, {k: f.value for k, f in e.fields_dict.items()}) for e in library.entries}
    assert set(entries) == {"datta2010lif", "worldhealthorganization2021broken"}
    kind, fields = entries["datta2010lif"]
    assert kind == "article"
    assert fields["author"] == "Datta, Sandeep and Smith, Jane and Ng, Wei"
    assert fields["journal"] == "Cell {Reports}" and fields["doi"] == "10.1016/j.celrep.2010.01.009" and fields["pages"] == "9--17"
    assert entries["worldhealthorganization2021broken"][0] == "techreport"
    assert entries["worldhealthorganization2021broken"][1]["title"] == "A broken title with * and [link](x)"  # unbalanced brace dropped
    # written entries == parsed entries, field for field
    expected = {make_key(r, set()): dict(bibtex_export.entry_fields(r, bibtex_export.entry_type(r))) for r in refs}
    assert {k: v[1] for k, v in entries.items()} == expected


def test_ris_round_trip_with_rispy():
    refs = [ref for _, ref in answer_references(ANSWER, DOCS.__getitem__)]
    parsed = rispy.loads(ris.write(refs))
    written = [ris.record(r, make_key(r, set())) for r in refs]
    assert parsed == written
    assert parsed[0]["id"] == "datta2010lif" and parsed[0]["start_page"] == "9" and parsed[0]["end_page"] == "17"
    assert parsed[1]["type_of_reference"] == "RPRT"


def test_csl_json_round_trip():
    refs = [ref for _, ref in answer_references(ANSWER, DOCS.__getitem__)]
    items = json.loads(csljson.write(refs))
    assert items == [csljson.item(r, make_key(r, set())) for r in refs]
    assert items[0]["type"] == "article-journal" and items[0]["author"][0] == {"family": "Datta", "given": "Sandeep"}
    assert items[0]["issued"] == {"date-parts": [[2010]]} and items[0]["DOI"] == "10.1016/j.celrep.2010.01.009"
    assert items[1]["author"] == [{"literal": "World Health Organization"}]


def test_unique_keys_and_unknown_format():
    same = reference_of("a", "Same title here", {"authors": ["Lee, A."], "year": 2001})
    taken: set[str] = set()
    assert [make_key(same, taken) for _ in range(3)] == ["lee2001same", "lee2001sameb", "lee2001samec"]
    with pytest.raises(InputError, match="Valid formats"):
        export_answer(ANSWER, DOCS.__getitem__, "endnote")


def test_batch_export_from_records():
    records = [{"id": "q1", **ANSWER.to_dict()}, {"id": "q2", "line": 2, "error": "line 2: empty"}]
    assert answer_from_record(records[0]).citations == ANSWER.citations
    md = batch_export(records, DOCS.__getitem__, "markdown")
    assert md.startswith("# q1") and "## References" in md
    bib = bibtexparser.parse_string(batch_export(records + records[:1], DOCS.__getitem__, "bibtex"))
    assert len(bib.entries) == 2  # sources cited by several answers appear once


def test_batch_markdown_keeps_the_short_answer_of_each_record():
    record = {"id": "q1", **SHORT_ANSWER.to_dict()}
    assert answer_from_record(record).short_answer == SHORT
    assert answer_from_record({"id": "q2", **ANSWER.to_dict()}).short_answer is None
    md = batch_export([record], DOCS.__getitem__, "markdown")
    assert r"**Answer:** **\*cytokine\* of \[the\]** [3]" in md.splitlines()
