"""JATS / NXML articles (PubMed Central open access, eLife, PLOS, BMC) -> Documents.

One small function per element family, in the manner of pubmed_parser and
elife-tools, but writing straight into a DocumentBuilder so every section path,
caption, table and the reference list is a known span of the text. Captions
and tables are their own passages (JATS nests <fig> inside <p>; the caption is
never merged into the paragraph); the reference list is one line per entry
with its DOI/PMID, kept out of the passages by the chunker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from lxml import etree

from lifqa.readers.build import DocumentBuilder, clean_inline, doc_id_for, merge_metadata
from lifqa.readers.xmlsafe import local, parse_file
from lifqa.references import normalise_doi
from lifqa.types import Document

XLINK = "{http://www.w3.org/1999/xlink}"
# Elements that are their own passages or not prose; their tails still belong to the paragraph.
_NOT_INLINE = {"fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material", "disp-formula",
               "tex-math", "annotation", "media", "graphic", "boxed-text", "sec", "title", "label", "object-id"}
_BLOCK_CONTAINERS = {"boxed-text"}
_DOC_TYPES = {"research-article": "article", "review-article": "review", "systematic-review": "review",
              "brief-report": "article", "short-report": "article", "case-report": "article", "article-commentary": "other",
              "editorial": "other", "correction": "other", "retraction": "other", "letter": "other", "preprint": "preprint"}


def read_jats(path: Path, name: str, meta: dict[str, Any]) -> tuple[list[Document], list[str]]:
    try:
        tree = parse_file(path)
    except (etree.XMLSyntaxError, ValueError, OSError) as exc:
        return [], [f"skipped {name}: not readable as JATS XML ({_reason(exc)})"]
    root = tree.getroot()
    articles = [root] if local(root) == "article" else [el for el in root if local(el) == "article"]
    if not articles:
        return [], [f"skipped {name}: a JATS file without an <article> element"]
    docs, warnings = [], []
    for number, article in enumerate(articles):
        doc_id = doc_id_for(name, meta) if len(articles) == 1 else f"{Path(name).with_suffix('').as_posix()}/{number + 1}"
        doc = article_document(article, doc_id, name, path, meta if len(articles) == 1 else {})
        if not doc.text.strip():
            warnings.append(f"skipped {name}: the article has no title, abstract or body text")
            continue
        docs.append(doc)
    return docs, warnings


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def article_document(article: etree._Element, doc_id: str, name: str, path: Path, curator: dict[str, Any]) -> Document:
    found = article_metadata(article)
    builder = DocumentBuilder()
    title = found.pop("title", "")
    if title:
        builder.start_section("", "front")
        builder.heading(title)
    meta_el = _find(article, "front", "article-meta")
    for abstract in meta_el.iter("abstract") if meta_el is not None else ():
        heading = clean_inline(_inline(abstract.find("title"))) if abstract.find("title") is not None else ""
        heading = heading or ("Abstract" if not abstract.get("abstract-type") else abstract.get("abstract-type", "").replace("-", " ").capitalize())
        _container(abstract, (heading,), builder, "abstract", with_heading=True)
    body = article.find("body")
    if body is not None:
        _container(body, (), builder, "body")
    back = article.find("back")
    if back is not None:
        _back(back, (), builder)
    for sub in article.findall("sub-article"):
        _sub_article(sub, (), builder)
    text_source = "fulltext" if body is not None and len(body) else "abstract_only" if meta_el is not None and meta_el.find("abstract") is not None else "metadata_only"
    found["text_source"] = text_source
    return builder.document(doc_id, clean_inline(curator.get("title") or title), path, merge_metadata(found, curator, name))


def article_metadata(article: etree._Element) -> dict[str, Any]:
    front = article.find("front")
    meta_el = front.find("article-meta") if front is not None else None
    journal_meta = front.find("journal-meta") if front is not None else None
    out: dict[str, Any] = {}
    if meta_el is None:
        return out
    title_el = meta_el.find("title-group/article-title")
    out["title"] = clean_inline(_inline(title_el)) if title_el is not None else ""
    authors = []
    for contrib in meta_el.iter("contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is not None:
            family, given = clean_inline(name.findtext("surname") or ""), clean_inline(name.findtext("given-names") or "")
            if family:
                authors.append(f"{family}, {given}" if given else family)
        elif contrib.find("collab") is not None:
            authors.append(clean_inline(_inline(contrib.find("collab"))))
    out["authors"] = authors
    if journal_meta is not None:
        out["journal"] = clean_inline(journal_meta.findtext("journal-title-group/journal-title") or journal_meta.findtext("journal-title") or "")
    for article_id in meta_el.findall("article-id"):
        kind, value = article_id.get("pub-id-type", ""), (article_id.text or "").strip()
        if kind == "doi" and value:
            out["doi"] = normalise_doi(value)
        elif kind == "pmid" and value:
            out["pmid"] = value
        elif kind in ("pmc", "pmcid") and value:
            out["pmcid"] = value if value.upper().startswith("PMC") else f"PMC{value}"
    out["year"] = _year(meta_el)
    licence = meta_el.find("permissions/license")
    if licence is not None:
        href = licence.get(f"{XLINK}href") or next((el.text for el in licence.iter() if local(el) == "license_ref" and el.text), None)
        out["licence"] = (href or clean_inline(_inline(licence)))[:300]
    article_type = article.get("article-type", "")
    if article_type:
        out["publication_types"] = [article_type]
        out["doc_type"] = _DOC_TYPES.get(article_type, "article")
    out["keywords"] = [clean_inline(_inline(kwd)) for kwd in meta_el.iter("kwd") if clean_inline(_inline(kwd))]
    return out


def _year(meta_el: etree._Element) -> int | None:
    dates = meta_el.findall("pub-date")
    preferred = [d for d in dates if d.get("pub-type") in ("epub", "ppub", "pub", "collection") or d.get("date-type") == "pub"]
    for date in preferred + dates:
        year = (date.findtext("year") or "").strip()
        if year.isdigit():
            return int(year)
    return None


def _find(el: etree._Element, *names: str) -> etree._Element | None:
    for name in names:
        if el is None:
            return None
        el = el.find(name)
    return el


def _inline(el: etree._Element | None, skip: set[str] = _NOT_INLINE) -> str:
    """The running text of an element, leaving out nested figures, tables, formulas and sections."""
    if el is None:
        return ""
    parts = [el.text or ""]
    for child in el:
        name = local(child)
        if name and name not in skip:
            parts.append(_inline(child, skip))
            if name in ("list-item", "tr"):
                parts.append(" ")
        parts.append(child.tail or "")
    return "".join(parts)


def _spaced(el: etree._Element) -> str:
    """Text of structured markup (element-citation, table cells) with a space between elements."""
    return clean_inline(" ".join(t.strip() for t in el.itertext() if t.strip()))


def _container(el: etree._Element, path: tuple[str, ...], builder: DocumentBuilder, kind: str, with_heading: bool = False) -> None:
    """A section-like element: its own paragraphs, then its figures/tables as captions, then its subsections."""
    outer = builder.current()
    if path:
        builder.start_section(path, kind)
        if with_heading:
            builder.heading(path[-1])
    _children(el, path, builder, kind)
    builder.resume(outer)


def _children(el: etree._Element, path: tuple[str, ...], builder: DocumentBuilder, kind: str) -> None:
    for child in el:
        name = local(child)
        if name == "sec":
            title = clean_inline(_inline(child.find("title"))) if child.find("title") is not None else ""
            label = clean_inline(child.findtext("label") or "")
            heading = f"{label} {title}".strip() if label and title else title or label or "Section"
            _container(child, path + (heading,), builder, kind, with_heading=True)
        elif name == "p":
            builder.paragraph(_inline(child))
            _nested_blocks(child, path, builder)
        elif name == "list":
            for item in child.iter("list-item"):
                builder.paragraph(_inline(item))
        elif name in ("fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material", "disp-quote", "statement"):
            _block(child, path, builder)
        elif name in _BLOCK_CONTAINERS:
            label = clean_inline(_inline(child.find("caption/title")) if child.find("caption/title") is not None else child.findtext("label") or "Box")
            _container(child, path + (label,), builder, kind, with_heading=True)
        elif name == "caption" and local(el) in _BLOCK_CONTAINERS:
            for p in child.findall("p"):
                builder.paragraph(_inline(p))
        elif name in ("def-list", "glossary"):
            for item in child.iter("def-item"):
                builder.paragraph(_spaced(item))


def _nested_blocks(p: etree._Element, path: tuple[str, ...], builder: DocumentBuilder) -> None:
    for child in p.iter("fig", "table-wrap", "supplementary-material", "boxed-text"):
        if child.getparent() is p or local(child.getparent()) in ("fig-group", "table-wrap-group"):
            if local(child) == "boxed-text":
                _container(child, path + (clean_inline(child.findtext("label") or "Box"),), builder, "body", with_heading=True)
            else:
                _block(child, path, builder)


def _block(el: etree._Element, path: tuple[str, ...], builder: DocumentBuilder) -> None:
    """A figure, table or supplementary file: its caption as a caption passage; a table's cells as rows."""
    name = local(el)
    if name in ("fig-group", "table-wrap-group"):
        for child in el:
            if local(child) in ("fig", "table-wrap"):
                _block(child, path, builder)
        return
    label = clean_inline(el.findtext("label") or "").rstrip(".:") or {"fig": "Figure", "table-wrap": "Table"}.get(name, "Supplementary material")
    caption = el.find("caption")
    caption_text = ""
    if caption is not None:
        title = clean_inline(_inline(caption.find("title"))) if caption.find("title") is not None else ""
        paragraphs = " ".join(clean_inline(_inline(p)) for p in caption.findall("p"))
        caption_text = " ".join(x for x in (title, paragraphs) if x)
    if caption_text:
        builder.block(_path(path + (label,)), f"{label}. {caption_text}", "caption")
    if name == "table-wrap":
        rows = [_row(tr) for tr in el.iter("tr")]
        rows = [row for row in rows if row]
        if rows:
            builder.block(_path(path + (label, "rows")), "\n".join(rows), "table")
        for foot in el.findall("table-wrap-foot"):
            builder.block(_path(path + (label, "notes")), _spaced(foot), "caption")


def _row(tr: etree._Element) -> str:
    cells = [_spaced(cell) for cell in tr if local(cell) in ("td", "th")]
    cells = [c for c in cells if c]
    return ": ".join(cells) if len(cells) == 2 else " | ".join(cells)


def _path(parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(p for p in parts if p)


def _back(back: etree._Element, path: tuple[str, ...], builder: DocumentBuilder) -> None:
    for child in back:
        name = local(child)
        if name == "ref-list":
            _references(child, path, builder)
        elif name in ("ack", "app-group", "app", "fn-group", "sec", "notes", "glossary"):
            title = clean_inline(_inline(child.find("title"))) if child.find("title") is not None else ""
            heading = title or {"ack": "Acknowledgements", "fn-group": "Notes", "app-group": "Appendix", "app": "Appendix"}.get(name, "Notes")
            if name == "app-group":
                _back(child, path + (heading,), builder)
                continue
            _container(child, path + (heading,), builder, "body", with_heading=True)
            for fn in child.iter("fn"):
                builder.paragraph(_inline(fn))


def _references(ref_list: etree._Element, path: tuple[str, ...], builder: DocumentBuilder) -> None:
    title = clean_inline(_inline(ref_list.find("title"))) if ref_list.find("title") is not None else "References"
    lines = []
    numbered = _numeric_citations(ref_list)
    for number, ref in enumerate(ref_list.iter("ref"), 1):
        line = reference_line(ref, number if numbered else None)
        if line:
            lines.append(line)
    if lines:
        builder.block(_path(path + (title,)), title + "\n" + "\n".join(lines), "references")


def _numeric_citations(ref_list: etree._Element) -> bool:
    """Whether the article cites its references by number ("[3]"), so unlabelled entries are numbered."""
    root = ref_list.getroottree().getroot()
    cites = [clean_inline(_inline(x)) for x in root.iter("xref") if x.get("ref-type") == "bibr"]
    numeric = sum(1 for c in cites if re.fullmatch(r"[\[\(]?\d{1,3}(?:\s*[-–,]\s*\d{1,3})*[\]\)]?", c))
    return bool(cites) and numeric * 2 > len(cites)


def reference_line(ref: etree._Element, number: int | None = None) -> str:
    """One reference as one line: label (or its number in a numbered list), the citation text, then its DOI and PMID."""
    label = clean_inline(ref.findtext("label") or "") or (str(number) if number else "")
    citation = next((el for el in ref if local(el) in ("mixed-citation", "element-citation", "citation", "nlm-citation")), None)
    if citation is None:
        return ""
    bare = local(citation) == "element-citation" or not "".join([citation.text or ""] + [c.tail or "" for c in citation]).strip()
    text = _formatted(citation) if bare else _spaced_without_ids(citation)
    ids = {el.get("pub-id-type"): (el.text or "").strip() for el in citation.iter() if local(el) == "pub-id"}
    doi = normalise_doi(ids["doi"]) if ids.get("doi") else ""
    if doi and doi not in text.lower():
        text += f" doi:{doi}"
    if ids.get("pmid") and ids["pmid"] not in text:
        text += f" PMID: {ids['pmid']}"
    if label.isdigit():
        label += "."  # "12." is how a numbered reference list reads; the reliability rules match keys on it
    return f"{label} {text}".strip() if label and not text.startswith(label) else text


def _formatted(citation: etree._Element) -> str:
    """An element-citation (fields without punctuation) written the way a reference list prints it:
    "Margueron R, Reinberg D (2011) The Polycomb complex PRC2 and its mark in life. Nature 469:343–349"."""
    names = []
    for name in citation.iter("name", "collab"):
        if local(name) == "collab":
            names.append(clean_inline(_inline(name)))
        else:
            names.append(" ".join(x for x in (clean_inline(name.findtext("surname") or ""), clean_inline(name.findtext("given-names") or "")) if x))
    if citation.find(".//etal") is not None:
        names.append("et al.")
    year = clean_inline(citation.findtext("year") or "")
    title = next((clean_inline(_inline(citation.find(tag))) for tag in ("article-title", "chapter-title", "data-title") if citation.find(tag) is not None), "")
    source = clean_inline(_inline(citation.find("source"))) if citation.find("source") is not None else ""
    volume = clean_inline(citation.findtext("volume") or "")
    first, last = clean_inline(citation.findtext("fpage") or ""), clean_inline(citation.findtext("lpage") or "")
    pages = f"{first}–{last}" if first and last else first or clean_inline(citation.findtext("elocation-id") or "")
    where = " ".join(x for x in (source, f"{volume}:{pages}" if volume and pages else volume or pages) if x)
    parts = [", ".join(n for n in names if n) + (f" ({year})" if year else ""), title, where]
    text = ". ".join(p.rstrip(".") for p in parts if p)
    return text + "." if text else _spaced_without_ids(citation)


def _spaced_without_ids(el: etree._Element) -> str:
    """Citation text: pieces from adjacent elements get a space between them when both sides are
    word characters ("<surname>Avery</surname><given-names>SV</given-names>" -> "Avery SV"),
    so element-citations and punctuated mixed-citations both read right."""
    pieces: list[str] = []

    def walk(node: etree._Element) -> None:
        if local(node) and local(node) not in ("pub-id", "object-id", "comment"):
            pieces.append(node.text or "")
            for child in node:
                walk(child)
        if node is not el:
            pieces.append(node.tail or "")

    walk(el)
    out = ""
    for piece in pieces:
        if out and piece and out[-1].isalnum() and piece[0].isalnum():
            out += " "
        out += piece
    return clean_inline(out)


def _sub_article(sub: etree._Element, path: tuple[str, ...], builder: DocumentBuilder) -> None:
    """Decision letters, author responses: a labelled section each, with their own paragraphs."""
    stub = sub.find("front-stub") if sub.find("front-stub") is not None else sub.find("front")
    title = ""
    if stub is not None and stub.find("title-group/article-title") is not None:
        title = clean_inline(_inline(stub.find("title-group/article-title")))
    title = title or sub.get("article-type", "sub-article").replace("-", " ").capitalize()
    here = path + (title,)
    body = sub.find("body")
    if body is not None:
        _container(body, here, builder, "sub-article", with_heading=True)
    back = sub.find("back")
    if back is not None:
        _back(back, here, builder)
    for nested in sub.findall("sub-article"):
        _sub_article(nested, here, builder)
