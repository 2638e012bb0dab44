"""The PubMed reader: one Document per record, streamed; publication types drive reliability flags."""

from __future__ import annotations

from lifqa.readers import read_path, sniff
from lifqa.reliability.flags import assess_document


def _record(pmid: str, title: str, types: list[str], abstract: str, doi: str = "", retraction_in: bool = False) -> str:
    parts = "".join(f'<AbstractText Label="{label}" NlmCategory="{label}">{text}</AbstractText>' for label, text in abstract)
    types_xml = "".join(f"<PublicationType>{t}</PublicationType>" for t in types)
    retraction = '<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn"><PMID>1</PMID></CommentsCorrections></CommentsCorrectionsList>' if retraction_in else ""
    doi_xml = f'<ArticleId IdType="doi">{doi}</ArticleId>' if doi else ""
    return f"""<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>
<Article><Journal><Title>Journal of Cytokine Research</Title><JournalIssue><PubDate><Year>2019</Year><Month>Mar</Month></PubDate></JournalIssue></Journal>
<ArticleTitle>{title}</ArticleTitle><Abstract>{parts}</Abstract>
<AuthorList><Author><LastName>Nicola</LastName><ForeName>Nicos A</ForeName></Author><Author><CollectiveName>LIF Consortium</CollectiveName></Author></AuthorList>
<PublicationTypeList>{types_xml}</PublicationTypeList></Article>
<MeshHeadingList><MeshHeading><DescriptorName UI="D1">Leukemia Inhibitory Factor</DescriptorName></MeshHeading><MeshHeading><DescriptorName UI="D2">Humans</DescriptorName></MeshHeading></MeshHeadingList>
{retraction}</MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId>{doi_xml}<ArticleId IdType="pmc">PMC99{pmid}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>"""


ABSTRACT = [("BACKGROUND", "Leukemia inhibitory factor (LIF) is a pleiotropic cytokine of the IL-6 family."),
            ("RESULTS", "LIF signals through a heterodimer of LIFR and gp130 in every cell type tested."),
            ("CONCLUSIONS", "LIF is needed for blastocyst implantation in mice.")]


def _file(tmp_path, records: list[str], name: str = "pubmed.xml"):
    path = tmp_path / name
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
                    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n<PubmedArticleSet>' + "".join(records)
                    + "</PubmedArticleSet>", encoding="utf-8")
    return path


def test_one_document_per_record_with_metadata(tmp_path):
    path = _file(tmp_path, [_record("111", "LIF in implantation", ["Journal Article"], ABSTRACT, doi="10.1000/LIF.1"),
                            _record("222", "A review of LIF", ["Journal Article", "Review"], ABSTRACT[:1])])
    assert sniff(path) == "pubmed"
    docs, warnings = read_path(path, "sets/pubmed.xml", {"tags": ["lif"]})
    assert warnings == [] and [d.doc_id for d in docs] == ["sets/pubmed/111", "sets/pubmed/222"]
    first = docs[0]
    meta = first.metadata
    assert first.title == "LIF in implantation"
    assert (meta["pmid"], meta["doi"], meta["pmcid"], meta["journal"], meta["year"]) == ("111", "10.1000/lif.1", "PMC99111", "Journal of Cytokine Research", 2019)
    assert meta["authors"] == ["Nicola, Nicos A", "LIF Consortium"]
    assert meta["mesh"] == ["Leukemia Inhibitory Factor", "Humans"]
    assert meta["publication_types"] == ["Journal Article"] and meta["doc_type"] == "abstract"
    assert meta["text_source"] == "abstract_only" and meta["tags"] == ["lif"]
    assert docs[1].metadata["doc_type"] == "review"


def test_structured_abstract_keeps_its_labels(tmp_path):
    docs, _ = read_path(_file(tmp_path, [_record("111", "LIF", ["Journal Article"], ABSTRACT)]), "p.xml", {})
    doc = docs[0]
    assert "BACKGROUND: Leukemia inhibitory factor" in doc.text and "CONCLUSIONS: LIF is needed" in doc.text
    assert [s.title for s in doc.sections if s.kind == "abstract"] == ["Abstract › Background", "Abstract › Results", "Abstract › Conclusions"]


def test_retracted_publication_is_flagged_and_low_tier(tmp_path):
    docs, _ = read_path(_file(tmp_path, [_record("1", "Bad data", ["Journal Article", "Retracted Publication"], ABSTRACT),
                                         _record("2", "Also bad", ["Journal Article"], ABSTRACT, retraction_in=True)]), "r.xml", {})
    for doc, evidence in zip(docs, ("metadata:publication_types", "metadata:retracted")):
        assessment = assess_document(doc)
        flag = next(f for f in assessment.flags if f.kind == "retracted")
        assert flag.severity == "high" and flag.evidence == evidence
        assert assessment.tier == "low"


def test_preprints_are_not_peer_reviewed_with_metadata_evidence(tmp_path):
    docs, _ = read_path(_file(tmp_path, [_record("1", "Preprint one", ["Preprint"], ABSTRACT),
                                         _record("2", "Server one", ["Journal Article"], ABSTRACT, doi="10.1101/2020.01.01.123456")]), "pp.xml", {})
    evidence = []
    for doc in docs:
        flags = [f for f in assess_document(doc).flags if f.kind == "not_peer_reviewed"]
        assert len(flags) == 1
        evidence.append(flags[0].evidence)
    assert evidence == ["metadata:publication_types", "metadata:doi"]


def test_truncated_file_keeps_the_records_before_the_break(tmp_path):
    path = _file(tmp_path, [_record(str(n), f"Title {n}", ["Journal Article"], ABSTRACT) for n in range(1, 4)])
    data = path.read_text(encoding="utf-8")
    path.write_text(data[: data.index("Title 3")], encoding="utf-8")
    docs, warnings = read_path(path, "cut.xml", {})
    assert [d.metadata["pmid"] for d in docs] == ["1", "2"]
    assert len(warnings) == 1 and "cut.xml" in warnings[0] and "2 record" in warnings[0]


def test_large_set_streams(tmp_path):
    records = [_record(str(n), f"Record number {n}", ["Journal Article"], ABSTRACT[:1]) for n in range(1, 2001)]
    docs, warnings = read_path(_file(tmp_path, records), "big.xml", {})
    assert len(docs) == 2000 and warnings == []
    assert docs[-1].title == "Record number 2000"
