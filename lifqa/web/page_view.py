"""A cited PDF passage on its page: which page and sentence to show, and the page rendered with the sentence boxed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from lifqa.types import AnswerSentence, Citation
from lifqa.web.answer_view import answer_spans


@dataclass(frozen=True)
class PageTarget:
    """Where a cited sentence stands in its PDF: the file, the 1-based page, the sentence text."""

    path: str
    page: int
    quote: str
    label: str = ""  # the number printed on that page, when the PDF prints one

    @property
    def name(self) -> str:
        """How the page is named to a reader: its printed number, with the PDF's own page where the two differ."""
        return f"{self.label} (PDF page {self.page})" if self.label and self.label != str(self.page) else str(self.page)


def page_target(record: Any, citation: Citation, sentences: Sequence[AnswerSentence]) -> PageTarget | None:
    """The page and sentence to show for a cited PDF passage: the answer's sentence in it when there
    is one, else the passage's first sentence; None when the source is not a PDF that is still there."""
    doc = record.document
    if not citation.page_start or not doc.page_starts or not doc.source_path:
        return None
    path = Path(doc.source_path)
    if not path.is_file():
        return None
    spans = answer_spans(citation, sentences)
    if spans:
        start, end = spans[0]
    else:
        end = next((i + 1 for i, ch in enumerate(citation.text) if ch in ".!?" and i > 20), len(citation.text))
        start = 0
    quote = citation.text[start:end]
    page = doc.page_at(citation.char_start + start)
    label = doc.page_labels[page - 1] if 0 < page <= len(doc.page_labels) else ""
    return PageTarget(str(path), page, quote, label)


def page_png(target: PageTarget) -> tuple[bytes, bool]:
    """The page as PNG with the sentence's characters highlighted; the flag says whether they were found."""
    from lifqa.readers.pdf_page_view import render_page, text_boxes

    boxes = text_boxes(target.path, target.page, target.quote)
    return render_page(target.path, target.page, boxes), bool(boxes)
