"""PubMed XML (``PubmedArticleSet``, as efetch and the baseline files give it) -> one Document per article.

Streamed with ``iterparse`` and each record cleared once read, so a baseline
file of 30,000 records never sits in memory as one tree. Publication types are
kept (``publication_types``, and ``doc_type``) because the reliability rules
use them: "Retracted Publication" -> retracted, "Preprint" -> not_peer_reviewed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from lxml import etree

from lifqa.readers.build import DocumentBuilder, clean_inline, merge_metadata
from lifqa.readers.xmlsafe import check_xml_file
from lifqa.references import normalise_doi

_RECORDS = ("PubmedArticle", "PubmedBookArticle")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def read_pubmed(path: Path, name: str, meta: dict[str, Any]) -> tuple[list[Any], list[str]]:
    try:
        check_xml_file(path)
    except (ValueError, OSError) as exc:
        return [], [f"skipped {name}: {exc}"]
    docs, warnings, seen = [], [], set()
    stem = Path(name).with_suffix("").as_posix()
    try:
        for number, record in enumerate(_records(path), 1):
            doc = record_document(record, stem, number, path, meta, name)
            if doc is None:
                warnings.append(f"{name}: record {number} has no PMID and no title; skipped")
            elif doc.doc_id in seen:
                warnings.append(f"{name}: PMID {doc.metadata.get('pmid')} appears twice; the second record was skipped")
            else:
                seen.add(doc.doc_id)
                docs.append(doc)
    except etree.XMLSyntaxError as exc:
        warnings.append(f"{name}: the XML breaks off or is malformed after {len(docs)} record(s) "
                        f"({' '.join(str(exc).split())[:160]}); kept the records read before it")
    if not docs and not warnings:
        warnings.append(f"skipped {name}: a PubMed file with no PubmedArticle records")
    return docs, warnings


def _records(path: Path) -> Iterator[etree._Element]:
    context = etree.iterparse(str(path), events=("end",), tag=_RECORDS, resolve_entities=False, load_dtd=False,
                              no_network=True, huge_tree=False, remove_comments=True, remove_pis=True)
    for _, element in context:
        yield element
        element.clear(keep_tail=False)
        parent = element.getparent()
        while parent is not None and element.getprevious() is not None:
            del parent[0]  # free what earlier records left behind in the root


def _text(el: etree._Element | None) -> str:
    return clean_inline("".join(el.itertext())) if el is not None else ""


def record_metadata(record: etree._Element) -> dict[str, Any]:
    citation = record.find("MedlineCitation")
    if citation is None:
        citation = record.find("BookDocument")
    out: dict[str, Any] = {}
    if citation is None:
        return out
    out["pmid"] = (citation.findtext("PMID") or "").strip()
    article = citation.find("Article")
    if article is None:
        article = citation
    out["title"] = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle")) or _text(citation.find("Book/BookTitle"))
    out["journal"] = clean_inline(article.findtext("Journal/Title") or "")
    out["year"] = _year(article)
    authors = []
    for author in article.iterfind("AuthorList/Author"):
        family, given = clean_inline(author.findtext("LastName") or ""), clean_inline(author.findtext("ForeName") or author.findtext("Initials") or "")
        if family:
            authors.append(f"{family}, {given}" if given else family)
        elif author.findtext("CollectiveName"):
            authors.append(clean_inline(author.findtext("CollectiveName") or ""))
    out["authors"] = authors
    for location in article.iterfind("ELocationID"):
        if location.get("EIdType") == "doi" and location.text:
            out["doi"] = normalise_doi(location.text)
    for article_id in record.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind, value = article_id.get("IdType"), (article_id.text or "").strip()
        if kind == "doi" and value:
            out.setdefault("doi", normalise_doi(value))
        elif kind == "pmc" and value:
            out["pmcid"] = value if value.upper().startswith("PMC") else f"PMC{value}"
    types = [clean_inline(t.text or "") for t in article.iterfind("PublicationTypeList/PublicationType") if t.text]
    out["publication_types"] = types
    out["mesh"] = [clean_inline(d.text or "") for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName") if d.text]
    out["keywords"] = [clean_inline(k.text or "") for k in citation.iterfind("KeywordList/Keyword") if k.text]
    retraction = any(c.get("RefType") == "RetractionIn" for c in citation.iterfind("CommentsCorrectionsList/CommentsCorrections"))
    if retraction:  # a retraction notice points here; the "Retracted Publication" type is judged by the rules
        out["retracted"] = True
    lowered = {t.lower() for t in types}
    out["doc_type"] = "preprint" if "preprint" in lowered else "review" if lowered & {"review", "systematic review"} else "abstract"
    return out


def _year(article: etree._Element) -> int | None:
    for where in ("Journal/JournalIssue/PubDate/Year", "ArticleDate/Year", "Journal/JournalIssue/PubDate/MedlineDate"):
        value = (article.findtext(where) or "").strip()[:4]
        if value.isdigit():
            return int(value)
    return None


def record_document(record: etree._Element, stem: str, number: int, path: Path, curator: dict[str, Any], name: str) -> Any:
    found = record_metadata(record)
    pmid, title = found.get("pmid", ""), found.pop("title", "")
    if not pmid and not title:
        return None
    builder = DocumentBuilder()
    builder.start_section("", "front")
    builder.heading(title)
    abstract = None
    citation = record.find("MedlineCitation")
    if citation is not None:
        abstract = citation.find("Article/Abstract")
    parts = list(abstract.iterfind("AbstractText")) if abstract is not None else []
    for part in parts:
        label = clean_inline(part.get("Label") or "")
        builder.start_section(("Abstract", label.capitalize() if label.isupper() else label), "abstract")
        text = _text(part)
        builder.paragraph(f"{label}: {text}" if label and text else text)
    builder.end_section()
    found["text_source"] = "abstract_only" if parts else "metadata_only"
    doc_id = f"{stem}/{pmid}" if pmid else f"{stem}/{number}"
    curator = {k: v for k, v in curator.items() if k not in ("doc_id", "title")}  # the file holds many records
    return builder.document(doc_id, title or doc_id, f"{path}#{pmid or number}", merge_metadata(found, curator, name))

