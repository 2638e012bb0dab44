"""A PDF cited as its reader would: title, authors, journal and the printed page, from page 1 and the
running heads, on PDFs made here with reportlab in the layouts publishers use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lifqa.chunking import chunk_document
from lifqa.readers import read_path
from lifqa.readers.pdf_page_view import text_boxes
from lifqa.readers.author_names import info_authors, names_in, person_name
from lifqa.readers.journal_line import citation_details, journal_line
from lifqa.readers.pdf_pages import printed_page_labels
from pdf_factory import JournalPdf

TITLE = "Patient experiences of rehabilitation after stroke in rural community clinics"
BODY = ("Rehabilitation after stroke was followed in every clinic with the same interview schedule and the same "
        "outcome measures, so that experiences could be compared across the whole region. ")
AUTHORS = [("Indraneel Datta", "1"), ("Chad G Ball", "1*"), ("Mary J. O’Connell", "1,2"), ("Kwame Agyeman-Duah", "2†"),
           ("Pieter van der Berg", "3"), ("Lars-Göran Nilsson", "4")]
EXPECTED = ["Datta, Indraneel", "Ball, Chad G", "O’Connell, Mary J.", "Agyeman-Duah, Kwame", "van der Berg, Pieter",
            "Nilsson, Lars-Göran"]
AFFILIATIONS = ["1 Department of Surgery, University of Calgary, Calgary, Canada",
                "2 School of Public Health, University of Ghana, Accra, Ghana"]


def _fill(pdf: JournalPdf, pages: int, marker: str = "") -> None:
    pdf.heading("Introduction")
    k = 0
    while pdf.page < pages:
        pdf.paragraph(f"Paragraph {k} on page {pdf.page}. {BODY * 2}")
        k += 1
    if marker:
        pdf.paragraph(marker)


def _read(path: Path, meta: dict | None = None):
    docs, warnings = read_path(path, path.name, meta or {})
    assert docs and warnings == [], warnings
    return docs[0]


@pytest.mark.parametrize("label, label_right", [("Research Article", ""), ("R EVI EW", "Open Access")])
def test_title_is_the_large_type_not_a_junk_info_title_nor_the_type_label(tmp_path, label, label_right):
    path = tmp_path / "hindawi.pdf"
    pdf = JournalPdf(path, title="6489122611071476 1..10", author="al.}, Nuala E. Tully {et", page_numbers=False, type_label="",
                     head=lambda n: "" if n == 1 else f"Rehabilitation Research and Practice {n}")
    pdf.front_matter(TITLE, AUTHORS, label=label, label_right=label_right, affiliations=AFFILIATIONS,
                     banner=["Hindawi Publishing Corporation", "Rehabilitation Research and Practice",
                             "Volume 2012, Article ID 486084, 10 pages", "doi:10.1155/2012/486084"])
    _fill(pdf, 3)
    pdf.save()
    doc = _read(path)
    assert doc.title == TITLE
    assert doc.page_labels == ()  # "Rehabilitation Research and Practice 3" on page 3: printed as the physical page
    assert doc.metadata["authors"] == EXPECTED  # the mangled Info author is never used
    assert doc.metadata["journal"] == "Rehabilitation Research and Practice"
    assert (doc.metadata["volume"], doc.metadata["year"], doc.metadata["doi"]) == ("2012", 2012, "10.1155/2012/486084")


def test_info_title_used_when_it_agrees_with_page_one_or_page_one_has_none(tmp_path):
    agreeing = tmp_path / "agree.pdf"
    pdf = JournalPdf(agreeing, title=TITLE + ".")
    pdf.front_matter(TITLE, AUTHORS)
    _fill(pdf, 1)
    pdf.save()
    assert _read(agreeing).title == TITLE + "."
    bare = tmp_path / "bare.pdf"
    pdf = JournalPdf(bare, title="Stroke rehabilitation in rural clinics", author="Jane Smith")
    _fill(pdf, 1)
    pdf.save()
    doc = _read(bare)
    assert doc.title == "Stroke rehabilitation in rural clinics" and doc.metadata["authors"] == ["Smith, Jane"]


def test_journal_from_the_info_subject_when_the_pages_name_none(tmp_path):
    path = tmp_path / "subject.pdf"
    pdf = JournalPdf(path, header=False, subject="Journal of Trauma Management & Outcomes 2010 4:1. doi:10.1186/1752-2897-4-1")
    pdf.front_matter(TITLE, AUTHORS[:2])
    _fill(pdf, 2)
    pdf.save()
    doc = _read(path)
    assert (doc.metadata["journal"], doc.metadata["year"], doc.metadata["volume"]) == ("Journal of Trauma Management & Outcomes", 2010, "4")
    assert doc.metadata["doi"] == "10.1186/1752-2897-4-1"


def test_upper_case_family_names_are_title_cased(tmp_path):
    path = tmp_path / "caps.pdf"
    pdf = JournalPdf(path, title="", author="Cambridge Journals")
    pdf.front_matter(TITLE, [("John DOUGLAS", "1"), ("Aoife O'CONNELL", "2*"), ("Marie-Claire AGYEMAN-DUAH", "1"), ("DUPONT Jean", "3")],
                     affiliations=AFFILIATIONS)
    _fill(pdf, 1)
    pdf.save()
    doc = _read(path)
    assert doc.title == TITLE
    assert doc.metadata["authors"] == ["Douglas, John", "O'Connell, Aoife", "Agyeman-Duah, Marie-Claire", "Dupont, Jean"]


def test_printed_pages_from_305_are_cited_and_the_page_view_stays_physical(tmp_path):
    """Clinical Science style: page 1 printed 305 at its foot, later pages number their running head."""
    path = tmp_path / "clinsci.pdf"
    marker = "The marker sentence about the third printed page of this article was set here."
    pdf = JournalPdf(path, first_printed=305, head=lambda n: "" if n == 305 else f"{n} Clinical Science (2003) 104",
                     folio=lambda n: "305" if n == 305 else "", type_label="")
    pdf.front_matter(TITLE, AUTHORS[:2], banner=["Clinical Science (2003) 104, 305–313 (Printed in Great Britain)"])
    _fill(pdf, 3, marker)
    pdf.save()
    doc = _read(path)
    assert doc.page_labels[:3] == ("305", "306", "307")
    assert doc.metadata["journal"] == "Clinical Science"
    assert (doc.metadata["volume"], doc.metadata["page_range"], doc.metadata["year"]) == ("104", "305–313", 2003)
    chunk = next(c for c in chunk_document(doc, 700, 150) if marker[:40] in c.text)
    assert (chunk.page_start, chunk.page_label) == (3, "307")
    assert text_boxes(path, chunk.page_start, marker), "Show on page opens the physical page the sentence is on"
    assert "Clinical Science" not in doc.text.split("Introduction", 1)[1]  # the running heads went to noise


def test_an_excerpt_printed_from_page_9_is_cited_from_page_9(tmp_path):
    path = tmp_path / "excerpt.pdf"
    pdf = JournalPdf(path, first_printed=9, folio=lambda n: f"Page {n} of 11")
    _fill(pdf, 3)
    pdf.save()
    doc = _read(path)
    assert doc.page_labels == ("9", "10", "11")
    chunks = chunk_document(doc, 700, 150)
    assert chunks[0].page_label == "9" and chunks[-1].page_label.endswith("11")


def test_numbers_that_do_not_advance_with_the_page_are_ignored(tmp_path):
    path = tmp_path / "constant.pdf"
    pdf = JournalPdf(path, folio=lambda n: "12", head=lambda n: "Journal of Test Results 2021; 12")
    _fill(pdf, 3)
    pdf.save()
    assert _read(path).page_labels == ()
    assert printed_page_labels([["3"], ["7"], ["4"], ["12"]]) == ("", "", "", "")


def test_printed_page_labels_fill_gaps_and_keep_an_excerpt_to_its_run():
    # a first page printed without its number is labelled from the run; a gap between numbered pages is filled
    assert printed_page_labels([["Clinical Science"], ["306 Clinical Science"], [], ["308 Clinical Science"]]) == ("305", "306", "307", "308")
    assert printed_page_labels([[], ["Rehabilitation Research and Practice 4"], ["Rehabilitation Research and Practice 5"]]) == ("3", "4", "5")
    assert printed_page_labels([["– 12 –"], ["– 13 –"], ["[14]"]]) == ("12", "13", "14")
    # an excerpt ("of 11" but four pages): its title page is not guessed, and the PDF's labels that only repeat
    # the physical number are dropped
    edges = [["Datta et al. Journal 2010, 4:1"], ["Page 9 of 11"], ["Page 10 of 11"], ["Page 11 of 11"]]
    assert printed_page_labels(edges, ["1", "2", "3", "4"]) == ("", "9", "10", "11")
    assert printed_page_labels([["1/16"], ["2/16"]], ["i", "ii"]) == ("i", "ii")  # printed = physical: the PDF's own labels


def test_library_metadata_wins_and_the_pdf_fills_the_rest(tmp_path):
    path = tmp_path / "clinsci.pdf"
    pdf = JournalPdf(path, first_printed=305, head=lambda n: f"{n} Clinical Science (2003) 104")
    pdf.front_matter(TITLE, AUTHORS[:2], banner=["Clinical Science (2003) 104, 305–313", "doi:10.1042/CS20020123"])
    _fill(pdf, 2)
    pdf.save()
    library = {"title": "The library's title", "authors": ["Curie, Marie"], "journal": "Clin Sci (Lond)", "date": "March 2003",
               "editors": []}
    doc = _read(path, library)
    assert doc.title == "The library's title"
    assert doc.metadata["authors"] == ["Curie, Marie"] and doc.metadata["journal"] == "Clin Sci (Lond)"
    assert doc.metadata["volume"] == "104" and doc.metadata["doi"] == "10.1042/cs20020123"
    assert "year" not in doc.metadata  # the library's date says the year; a year from the PDF does not override it
    empty = _read(path, {"authors": [], "title": ""})  # an empty library field is missing, not an answer
    assert empty.metadata["authors"] == ["Datta, Indraneel", "Ball, Chad G"] and empty.title == TITLE


def test_exports_carry_title_authors_journal_year_doi_and_printed_page(tmp_path):
    from lifqa.export import export_answer
    from lifqa.references import citation_label, citation_pages, reference_of
    from lifqa.types import Answer, AnswerSentence, Citation

    path = tmp_path / "article.pdf"
    marker = "Most patients valued being treated close to home by staff they already knew well."
    pdf = JournalPdf(path, title="", first_printed=305, head=lambda n: f"{n} Clinical Science (2003) 104", type_label="")
    pdf.front_matter(TITLE, AUTHORS, banner=["Clinical Science (2003) 104, 305–313", "doi:10.1042/CS20020123"],
                     affiliations=AFFILIATIONS)
    _fill(pdf, 3, marker)
    pdf.save()
    doc = _read(path)
    chunk = next(c for c in chunk_document(doc, 700, 150) if marker[:40] in c.text)
    assert chunk.page_end == 3 and chunk.page_label.endswith("307")
    pages = r"pp?\. (?:306–)?307"  # the printed pages of the passage (it may start on the page before)
    citation = Citation(key=1, doc_id=doc.doc_id, title=doc.title, chunk_id=chunk.chunk_id, section=chunk.section, text=chunk.text,
                        char_start=chunk.char_start, char_end=chunk.char_end, score=1.0, page_start=chunk.page_start,
                        page_end=chunk.page_end, page_label=chunk.page_label,
                        label=citation_label(reference_of(doc.doc_id, doc.title, doc.metadata), citation_pages(chunk)))
    answer = Answer("What did patients value?", marker, False, (citation,), "extractive", sentences=(AnswerSentence(marker, (1,)),))
    bibtex = export_answer(answer, lambda _: doc, "bibtex")
    ris = export_answer(answer, lambda _: doc, "ris")
    markdown = export_answer(answer, lambda _: doc, "markdown")
    assert "Datta, Indraneel and Ball, Chad G and O’Connell, Mary J. and Agyeman-Duah, Kwame" in bibtex
    for text in (bibtex, ris, markdown):
        for expected in (TITLE, "Nilsson", "van der Berg", "Clinical Science", "2003", "10.1042/cs20020123"):
            assert expected in text, (expected, text)
        assert re.search(pages, text), text
    assert re.search(rf"Datta et al\. 2003, {pages}", markdown)


def test_name_lines_and_citation_details():
    assert names_in("Anna Sundström, 1 Michael Rönnlund, 2 Rolf Adolfsson 3 and Lars-Göran Nilsson 4") == [
        "Sundström, Anna", "Rönnlund, Michael", "Adolfsson, Rolf", "Nilsson, Lars-Göran"]
    assert names_in("1 Department of Psychology, Umeå University, Umeå, Sweden") == []
    assert names_in("Dr John Smith, MD, PhD, Jane Doe, RN and Wei ZHANG") == ["Smith, John", "Doe, Jane", "Zhang, Wei"]
    assert names_in("A Systematic Review and Meta-Analysis") == [] and names_in("Evidence From the UK Biobank") == []
    assert names_in("John Smith a,*, Jane Doe b and Bob LEE a") == ["Smith, John", "Doe, Jane", "Lee, Bob"]  # Elsevier letters
    assert names_in("John Smith · Jane Doe · Wei Zhang") == ["Smith, John", "Doe, Jane", "Zhang, Wei"]  # Springer
    assert names_in("John Smith1☯*, Jane Doe2¤ | Bob Lee1") == ["Smith, John", "Doe, Jane", "Lee, Bob"]  # PLOS marks, Wiley bars
    assert names_in("John Smith, Member, IEEE, and Jane Doe, Senior Member, IEEE") == ["Smith, John", "Doe, Jane"]
    assert names_in("JOHN SMITH AND JANE DOE") == ["Smith, John", "Doe, Jane"]
    assert names_in("by John Smith and Jane Doe") == ["Smith, John", "Doe, Jane"]
    assert names_in("Graphical Abstract") == [] and names_in("Supplementary Material") == [] and names_in("Open Peer Review") == []
    assert names_in("Martin Luther King, Jr., and Ana María García-Pérez") == ["King, Martin Luther", "García-Pérez, Ana María"]
    assert names_in("Background: The impact of stressful life events is inconclusive") == []
    assert person_name("Ball CG") == "Ball, CG" and person_name("Martin Luther King Jr.") == "King, Martin Luther Jr."
    assert person_name("Evidence From Sweden") == "" and person_name("J. A.") == ""
    assert info_authors("Cambridge Journals") == () and info_authors("Indraneel Datta") == ("Datta, Indraneel",)
    assert citation_details(" (2014), 26:1, 147–154") == {"year": 2014, "volume": "26", "issue": "1", "page_range": "147–154"}
    assert citation_details(" 2010, 4:1") == {"year": 2010, "volume": "4"}
    assert citation_details(", DOI 10.7717/peerj-cs.118") == {}


@pytest.mark.parametrize("line, journal, details", [
    ("Journal of Affective Disorders 150 (2013) 1–10", "Journal of Affective Disorders", {"year": 2013, "volume": "150", "page_range": "1–10"}),
    ("Psychopharmacology (2013) 225:361–373", "Psychopharmacology", {"year": 2013, "volume": "225", "page_range": "361–373"}),
    ("PLoS ONE | www.plosone.org 1 March 2012 | Volume 7 | Issue 3 | e33000", "PLoS ONE", {"year": 2012, "volume": "7", "issue": "3"}),
    ("Frontiers in Psychology | www.frontiersin.org 1 March 2015 | Volume 6 | Article 123", "Frontiers in Psychology",
     {"year": 2015, "volume": "6"}),
    ("Datta et al. Journal of Trauma Management & Outcomes 2010, 4:1", "Journal of Trauma Management & Outcomes", {"year": 2010, "volume": "4"}),
    ("J. Smith et al. / Journal of Affective Disorders 150 (2013) 1–10", "Journal of Affective Disorders",
     {"year": 2013, "volume": "150", "page_range": "1–10"}),
    ("Webb et al. (2017), PeerJ Comput. Sci., DOI 10.7717/peerj-cs.118", "PeerJ Comput. Sci.", {"year": 2017}),
    ("A. Sundström et al.", "", {}),
    ("1234 | Brain 2019: 142; 1234–1245", "Brain", {"year": 2019, "volume": "142", "page_range": "1234–1245"}),
    ("JAMA. 2019;321(5):456-467. doi:10.1001/jama.2019.0001", "JAMA", {"year": 2019, "volume": "321", "issue": "5", "page_range": "456–467"}),
    ("BMJ 2019;364:l123", "BMJ", {"year": 2019, "volume": "364"}),
    ("Journal of Mental Health, 2019 Vol. 12, No. 3, 123–145, https://doi.org/10.1080/1", "Journal of Mental Health",
     {"year": 2019, "volume": "12", "issue": "3", "page_range": "123–145"}),
    ("Int. J. Environ. Res. Public Health 2020, 17, 1234", "Int. J. Environ. Res. Public Health", {"year": 2020, "volume": "17"}),
    ("Cancer in 2013: a review of the year", "", {}),
    ("Received 12 March 2013; accepted 4 June 2013", "", {}),
])
def test_journal_lines_of_several_publishers(line, journal, details):
    assert journal_line([line]) == (journal, details)


def test_a_download_cover_sheet_is_not_the_article(tmp_path):
    path = tmp_path / "covered.pdf"
    pdf = JournalPdf(path, header=False, page_numbers=False)
    pdf.paragraph("See discussions, stats, and author profiles for this publication at: https://www.researchgate.net/publication/1")
    pdf.paragraph("Some of the authors of this publication are also working on these related projects: Large Cohort Study")
    pdf.new_page()
    pdf.front_matter(TITLE, AUTHORS[:3])
    _fill(pdf, 3)
    pdf.save()
    doc = _read(path)
    assert doc.title == TITLE and doc.metadata["authors"] == EXPECTED[:3]


def test_a_title_repeated_as_the_running_head_is_still_the_title(tmp_path):
    """The title at the top of page 1 and again atop every page goes to noise as a running head; the header
    is read from page 1 as printed, so it is still the title."""
    path = tmp_path / "spec.pdf"
    title = "Shared data formats for desktop files"
    pdf = JournalPdf(path, margin=30, type_label="", head=lambda n: "" if n == 1 else title)
    pdf.front_matter(title, [("Thomas Leonard", "")])
    _fill(pdf, 3)
    pdf.save()
    doc = _read(path)
    assert title in doc.noise
    assert doc.title == title and doc.metadata["authors"] == ["Leonard, Thomas"]


def test_superscript_letters_glued_to_a_name_are_not_part_of_it(tmp_path):
    """Elsevier-style affiliation letters set right after the name, raised and smaller: "Smithᵃ, Doeᵇ,*"."""
    path = tmp_path / "letters.pdf"
    pdf = JournalPdf(path, title="")
    pdf.front_matter(TITLE, [("John Smith", "a"), ("Jane Doe", "b,*"), ("Bob Leea", "a")])
    _fill(pdf, 2)
    pdf.save()
    doc = _read(path)
    assert doc.metadata["authors"] == ["Smith, John", "Doe, Jane", "Leea, Bob"]
    assert "John Smitha" in doc.text  # the text itself is unchanged


def test_an_article_type_label_set_in_the_title_line_is_cut_off():
    from types import SimpleNamespace

    from lifqa.readers.pdf_header import read_header

    def line(text, size, top):
        return SimpleNamespace(text=text, size=size, x0=50.0, x1=500.0, y0=top - size, y1=top, marked="")

    lines = [line("Research Article Patient experiences of rehabilitation", 18, 700), line("after stroke in rural clinics", 18, 678),
             line("Ann Smith1 and Bo Lee2", 11, 650), line("Abstract", 11, 620)]
    lines += [line(f"Body text line {k} about the study and what it found in the clinics.", 10, 600 - 12 * k) for k in range(20)]
    header = read_header(lines, 842, [], {"Title": "6489122611071476 1..10"})
    assert header.title == "Patient experiences of rehabilitation after stroke in rural clinics"
    assert header.authors == ("Smith, Ann", "Lee, Bo")


def test_a_sidebar_level_with_the_title_and_authors_is_left_aside():
    """Frontiers-style: "ORIGINAL RESEARCH / published: … / doi: …" in a left column beside the title block."""
    from types import SimpleNamespace

    from lifqa.readers.pdf_header import read_header

    def line(text, size, top, x0=200.0, x1=550.0):
        return SimpleNamespace(text=text, size=size, x0=x0, x1=x1, y0=top - size, y1=top, marked="")

    lines = [line("Patient experiences of rehabilitation", 18, 700), line("published: 12 March 2015", 8, 690, 30, 150),
             line("after stroke in rural clinics", 18, 678), line("doi: 10.3389/fpsyg.2015.00123", 8, 668, 30, 150),
             line("Ann Smith1 and Bo Lee2", 11, 650), line("Edited by: Carl Jones", 8, 646, 30, 150), line("Abstract", 11, 620)]
    lines += [line(f"Body text line {k} about the study and what it found in the clinics.", 10, 600 - 12 * k) for k in range(20)]
    header = read_header(lines, 842, [], {})
    assert header.title == "Patient experiences of rehabilitation after stroke in rural clinics"
    assert header.authors == ("Smith, Ann", "Lee, Bo") and header.doi == "10.3389/fpsyg.2015.00123"


def test_an_elsevier_like_first_page(tmp_path):
    path = tmp_path / "elsevier.pdf"
    journal = "Journal of Affective Disorders 150 (2013) 305–314"
    pdf = JournalPdf(path, title="PII: S0165-0327(13)00123-4", author="Elsevier", first_printed=305, type_label="",
                     head=lambda n: "" if n == 305 else f"J. Smith et al. / {journal}")
    pdf.front_matter(TITLE, [("John Smith", "a,*"), ("Jane van Dijk", "b"), ("Wei ZHANG", "a")], label="Research report",
                     banner=[journal, "Contents lists available at ScienceDirect", "journal homepage: www.elsevier.com/locate/jad"],
                     affiliations=["a Department of Psychiatry, University of Leeds, Leeds, UK", "b Trimbos Institute, Utrecht, Netherlands"])
    _fill(pdf, 3)
    pdf.save()
    doc = _read(path)
    assert doc.title == TITLE
    assert doc.metadata["authors"] == ["Smith, John", "van Dijk, Jane", "Zhang, Wei"]
    assert doc.metadata["journal"] == "Journal of Affective Disorders"
    assert (doc.metadata["year"], doc.metadata["volume"], doc.metadata["page_range"]) == (2013, "150", "305–314")
    assert doc.page_labels[:3] == ("305", "306", "307")


def test_baseline_bands_group_lines_whose_heights_overlap():
    """The page reader (share 0.6) and the header reader (share 0.5) band lines the same way."""
    from types import SimpleNamespace

    from lifqa.readers.pdf_header import baseline_bands

    def line(y0: float, y1: float, x0: float = 0.0) -> SimpleNamespace:
        return SimpleNamespace(y0=y0, y1=y1, x0=x0)

    title, title_right, half_over, below = line(700, 712), line(701, 712, x0=300), line(693, 705), line(680, 690)
    assert baseline_bands([title, title_right, below], 0.6) == [[title, title_right], [below]]
    # half_over overlaps the title by 5 of its 12 pt: under half (6 pt), a band of its own; over 0.4 (4.8 pt), joined
    assert baseline_bands([title, half_over], 0.5) == [[title], [half_over]]
    assert baseline_bands([title, half_over], 0.4) == [[title, half_over]]
    assert baseline_bands([title, line(705, 713)], 0.5) == [[title, line(705, 713)]]
    assert baseline_bands([], 0.5) == []
