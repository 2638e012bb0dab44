"""The PDF reader on PDFs made here with reportlab: columns, ligatures, hyphenation, running
headers, pages, bad files. Nothing in ../shared is needed."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from lifqa.readers import ReaderLimits, read_path, sniff
from lifqa.readers.pdf_page_view import render_page, text_boxes
from lifqa.readers.pdf_paragraphs import join_hyphenated
from pdf_factory import JournalPdf

LEFT = ("Alpha cytokine signalling begins when interleukin binds its receptor at the membrane. "
        "The immunological consequences of this binding are extraordinarily diverse in physiological tissues. ")
RIGHT_MARKER = "Omega marker sentence that was printed in the right column only."
COMPOUNDS = ("gp130-dependent", "IL-6", "N-terminal", "LIF-T89P/H91Q")


def _article(path: Path, **kwargs) -> tuple[JournalPdf, list]:
    pdf = JournalPdf(path, title="Receptor ﬁndings in a two-column article", author="Smith, Jane; Doe, John", subject="doi:10.1000/xyz.123", **kwargs)
    pdf.title("Receptor ﬁndings in a two-column article")
    placed = [pdf.heading("Introduction")]
    for k in range(7):
        placed.append(pdf.paragraph(f"Paragraph {k} states that {LEFT * 2}Signalling through gp130-dependent pathways "
                                    f"needs the N-terminal domain of IL-6 and the mutant LIF-T89P/H91Q, with ﬂuorescence "
                                    f"used for ﬁnding complexes. Conformational heterogeneity characterises microenvironments {k}."))
    placed.append(pdf.heading("Results"))
    placed.append(pdf.paragraph(RIGHT_MARKER + " " + LEFT))
    for k in range(8):
        placed.append(pdf.paragraph(f"Result {k} was reproducible across independent laboratories and immunological assays "
                                    f"in {k + 2} replicates. " + LEFT))
    pdf.heading("References")
    for k in range(1, 5):
        pdf.paragraph(f"{k}. Smith J, Jones K. Receptor studies {k}. J Test Res 2019; 12: 100-110. doi:10.1000/ref.{k}")
    pdf.save()
    return pdf, placed


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "article.pdf"
    pdf, placed = _article(path)
    docs, warnings = read_path(path, "article.pdf", {})
    return path, pdf, placed, docs[0], warnings


def _raw_text(path: Path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for page in pdf:
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(out)
    finally:
        pdf.close()


def test_sniffs_pdf_by_content_not_extension(tmp_path, article):
    disguised = tmp_path / "paper.txt"
    disguised.write_bytes(article[0].read_bytes())
    assert sniff(disguised) == "pdf"
    docs, warnings = read_path(disguised, "paper.txt", {})
    assert docs and "Omega marker sentence" in docs[0].text


def test_metadata_title_authors_doi(article):
    _, _, _, doc, warnings = article
    assert warnings == []
    assert doc.title == "Receptor findings in a two-column article"  # the ligature in the PDF's own metadata is expanded too
    assert doc.metadata["authors"] == ["Smith, Jane", "Doe, John"]
    assert doc.metadata["doi"] == "10.1000/xyz.123"
    assert doc.metadata["journal"] == "Journal of Test Results" and doc.metadata["year"] == 2021  # from the running header
    assert doc.metadata["text_source"] == "fulltext"


def test_ligatures_expanded(article):
    text = article[3].text
    assert "ﬁ" not in text and "ﬂ" not in text
    assert "fluorescence" in text and "finding complexes" in text


def test_line_end_hyphens_joined_real_hyphens_kept(article):
    _, pdf, _, doc, _ = article
    artefacts = [(word, head, tail) for word, head, tail in pdf.broken if word == head[:-1] + tail]
    real = [(word, head, tail) for word, head, tail in pdf.broken if word == head + tail]
    assert len(artefacts) >= 3 and real, "the generator should have broken words at line ends, both kinds"
    words = set(re.findall(r"[\w/-]+", doc.text))
    for word, head, tail in artefacts + real:
        core = word.strip(".,;")
        assert core in words, f"{head}|{tail} was not read back as {core}"
    for compound in COMPOUNDS:
        assert doc.text.count(compound) >= 7, compound
    assert not re.search(r"\b(?:immuno|extraordi|physiolog)[a-z]*- [a-z]", doc.text)


def test_running_headers_and_page_numbers_removed_into_noise(article):
    doc = article[3]
    assert "Journal of Test Results" not in doc.text
    assert "RESEARCH ARTICLE" not in doc.text
    assert any(item.startswith("Journal of Test Results") for item in doc.noise)
    assert not re.search(r"(?m)^\d{1,2}$", doc.text)


def test_two_columns_read_left_then_right_headings_first(article):
    _, pdf, placed, doc, _ = article
    text = doc.text
    assert pdf.page >= 2
    # every paragraph appears whole and in writing order: the left column before the right one
    positions = []
    for item in placed:
        start = text.find(item.text[:60])
        assert start != -1, item.text[:60]
        positions.append(start)
    assert positions == sorted(positions)
    assert text.find("Results") < text.find(RIGHT_MARKER)
    assert text.index("Introduction") < text.index("Paragraph 0")


def test_every_offset_maps_to_the_page_it_was_printed_on(article):
    _, _, placed, doc, _ = article
    assert len(doc.page_starts) >= 2 and doc.page_starts[0] == 0
    checked = 0
    for item in placed:
        start = doc.text.find(item.text[:60])
        for offset_in_para, page in item.pages:
            words = item.text[offset_in_para:offset_in_para + 40]
            word = words.split()[0] if words.split() else ""
            if len(word) < 4 or not word.isalpha():
                continue
            at = doc.text.find(word, start + max(0, offset_in_para - 30))
            assert doc.page_at(at) == page, (word, page)
            checked += 1
    assert checked > 20


def test_reference_list_is_its_own_section_and_not_chunked(article):
    from lifqa.chunking import chunk_document
    from lifqa.reliability.flags import assess_document

    doc = article[3]
    refs = [s for s in doc.sections if s.kind == "references"]
    assert len(refs) == 1
    ref_text = doc.text[refs[0].start:refs[0].end]
    assert ref_text.count("doi:10.1000/ref.") == 4 and len(ref_text.splitlines()) == 5
    chunks = chunk_document(doc, 700, 150)
    assert chunks and not any("doi:10.1000/ref." in c.text for c in chunks)
    assert all(c.page_start >= 1 and c.page_end >= c.page_start for c in chunks)
    assessment = assess_document(doc)
    assert "cites_sources" in {f.kind for f in assessment.flags}


def test_page_without_text_layer_warns_and_the_rest_is_indexed(tmp_path):
    path = tmp_path / "partly-scanned.pdf"
    pdf = JournalPdf(path, header=False, page_numbers=False)
    pdf.paragraph("The first page has real text about receptors and signalling in cells. " * 5)
    pdf.blank_page()
    pdf.save()
    docs, warnings = read_path(path, "partly-scanned.pdf", {})
    assert docs and "receptors and signalling" in docs[0].text
    assert len(warnings) == 1 and "partly-scanned.pdf" in warnings[0] and "page 2" in warnings[0] and "OCR" in warnings[0]


def test_scanned_pdf_is_skipped_with_ocr_advice(tmp_path):
    path = tmp_path / "scan.pdf"
    pdf = JournalPdf(path, header=False, page_numbers=False)
    pdf.canvas.rect(100, 100, 200, 200, fill=1)
    pdf.blank_page()
    pdf.save()
    docs, warnings = read_path(path, "scan.pdf", {})
    assert docs == []
    assert len(warnings) == 1 and "scan.pdf" in warnings[0] and "no text layer" in warnings[0] and "ocrmypdf" in warnings[0]


def test_encrypted_truncated_corrupt_are_named_warnings(tmp_path, article):
    encrypted = tmp_path / "locked.pdf"
    pdf = JournalPdf(encrypted, encrypt="secret")
    pdf.paragraph("Confidential text about receptors.")
    pdf.save()
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(article[0].read_bytes()[: article[0].stat().st_size // 2])
    corrupt = tmp_path / "junk.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    for path, reason in ((encrypted, "encrypted"), (truncated, "truncated"), (corrupt, "corrupt")):
        docs, warnings = read_path(path, path.name, {})
        assert docs == [] and len(warnings) == 1, warnings
        assert path.name in warnings[0] and reason in warnings[0]


def test_page_limit_reads_the_first_pages_with_a_warning(article):
    path = article[0]
    docs, warnings = read_path(path, "article.pdf", {}, ReaderLimits(max_pages=1))
    assert docs and len(docs[0].page_starts) == 1
    assert any("read the first 1" in w and "pdf_max_pages" in w for w in warnings)


def test_time_limit_keeps_what_was_read_with_a_warning(article):
    docs, warnings = read_path(article[0], "article.pdf", {}, ReaderLimits(max_seconds=1e-6))
    assert docs and len(docs[0].page_starts) == 1
    assert any("longer than" in w and "pdf_max_seconds" in w and "article.pdf" in w for w in warnings)


def test_join_hyphenated_uses_the_documents_vocabulary():
    vocabulary = {"immunological", "self", "renewal", "the"}
    assert join_hyphenated("an immuno-", "logical test", vocabulary, set()) == "an immunological test"
    assert join_hyphenated("the IL-", "6 receptor", vocabulary, set()) == "the IL-6 receptor"
    assert join_hyphenated("the N-", "terminal end", vocabulary, set()) == "the N-terminal end"
    assert join_hyphenated("a gp130-", "dependent path", vocabulary, set()) == "a gp130-dependent path"
    assert join_hyphenated("its self-", "renewal", vocabulary, set()) == "its self-renewal"
    assert join_hyphenated("a cyto-", "kine", set(), {"cyto-kine"}) == "a cyto-kine"


def test_every_step_of_reading_a_pdf_is_in_the_code_fingerprint():
    """The PDF reader is split over several modules; an edit to any of them must make existing indexes stale.
    Only the app's page view (rendering a page, boxing a quote) shapes no index."""
    from lifqa.index.build import _SHAPING_MODULES

    readers = Path(__file__).resolve().parent.parent / "lifqa" / "readers"
    reading = {f"readers/{path.name}" for path in readers.glob("*.py")} - {"readers/pdf_page_view.py"}
    assert sorted(reading - set(_SHAPING_MODULES)) == []


def test_sentence_boxes_and_highlighted_png(article):
    path, _, _, doc, _ = article
    at = doc.text.index(RIGHT_MARKER)
    page = doc.page_at(at)
    boxes = text_boxes(path, page, RIGHT_MARKER)
    assert boxes, "the sentence's characters should be found on its page"
    width = pdfium.PdfDocument(str(path))[0].get_width()
    assert all(0 <= left < right <= width for left, _, right, _ in boxes)
    assert text_boxes(path, page, "a sentence that is nowhere in this article at all") == []
    png = render_page(path, page, boxes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    plain = render_page(path, page, [])
    assert plain != png  # the highlight changed the pixels


def test_printed_page_labels_are_kept_and_cited(tmp_path):
    """An excerpt whose first physical page is printed as page 9: passages say p. 9, not p. 1."""
    from lifqa.chunking import chunk_document
    from lifqa.types import page_text

    path = tmp_path / "excerpt.pdf"
    pdf = JournalPdf(path)
    pdf.canvas.addPageLabel(0, style="D", start=9)
    while pdf.page < 2:
        pdf.paragraph("Receptor binding was measured in every sample of the excerpt with the same assay conditions. " * 3)
    pdf.paragraph("The last paragraph sits on the second physical page of the excerpt.")
    pdf.save()
    doc = read_path(path, "excerpt.pdf", {})[0][0]
    assert doc.page_labels == ("9", "10")
    chunks = chunk_document(doc, 700, 150)
    first, last = chunks[0], chunks[-1]
    assert (first.page_start, first.page_label) == (1, "9")
    assert last.page_end == 2 and page_text(last.page_start, last.page_end, last.page_label) in ("p. 10", "pp. 9–10")


def test_a_lone_number_inside_the_text_is_not_taken_for_a_page_number(tmp_path):
    """Page numbers repeat as "#" once digits are masked; only lines at the page edges may be dropped for it."""
    from lifqa.readers.pdf import layout_document
    from lifqa.readers.pdf_extract import Line, Page

    pages = []
    for number in range(3):
        words = ["alpha", "beta", "gamma"][number]
        body = [f"Paragraph {words} opens this page with a sentence about the {words} cohort.",
                f"The {words} disease was first described in", "2019",
                f"and studied on page {number + 1} of this report by the {words} team.",
                f"Further {words} results follow in the next section of the text.",
                f"The {words} paragraph ends here with a final remark."]
        lines = [Line(number, f"Journal of Tests {number + 1}", 56, 790, 300, 800, 8.0, False)]
        lines += [Line(number, text, 56, 700 - 14 * k, 80 if text == "2019" else 300, 710 - 14 * k, 10.0, False)
                  for k, text in enumerate(body)]
        lines.append(Line(number, str(number + 1), 290, 30, 296, 38, 8.0, False))
        pages.append(Page(number, 595, 842, lines))
    doc = layout_document(pages, tmp_path / "x.pdf", "x.pdf", {}, {}, ["", "", ""])
    assert doc.text.count("disease was first described in 2019 and studied") == 3
    assert "Journal of Tests" not in doc.text and "Journal of Tests 1" in doc.noise
