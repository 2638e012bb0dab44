"""Make journal-like PDFs with reportlab, for the reader tests and the fidelity benchmark.

A small layout engine on the reportlab canvas, because the point is control over
what the reader must undo: two justified columns, words broken at line ends with
a hyphen, running header with the journal name, page numbers, bold headings, a
full-width title, ligature glyphs; and a publisher's first page (banner, article-type
label, large-type title, author line with raised markers) with printed page numbers
that need not start at 1. Every word's page is recorded, so a test (or the
benchmark) knows on which physical page any sentence was printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

_FONTS_READY = False


def _fonts() -> tuple[str, str]:
    """Bitstream Vera (ships with reportlab; has the fi/fl ligature glyphs)."""
    global _FONTS_READY
    if not _FONTS_READY:
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
        _FONTS_READY = True
    return "Vera", "VeraBd"


@dataclass
class Placed:
    """Where a paragraph's text went: (character offset in the paragraph, 1-based page) per word."""

    text: str
    pages: list[tuple[int, int]] = field(default_factory=list)

    def page_of(self, offset: int) -> int:
        page = self.pages[0][1]
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


class JournalPdf:
    """Lay out a journal article page by page: ``title``, ``heading``, ``paragraph``, ``save``."""

    def __init__(self, path: Path, journal: str = "Journal of Test Results", columns: int = 2, size: float = 9.5,
                 header: bool = True, page_numbers: bool = True, hyphenate: bool = True, title: str = "",
                 author: str = "", subject: str = "", encrypt: str | None = None, margin: float = 56.0,
                 first_printed: int = 1, head: Callable[[int], str] | None = None, folio: Callable[[int], str] | None = None,
                 type_label: str = "RESEARCH ARTICLE") -> None:
        """``first_printed`` is the number printed on physical page 1; ``head(n)`` the running head's text and
        ``folio(n)`` the footer's page number on the page printed n ("" leaves it off that page)."""
        self.path, self.journal, self.columns, self.size = Path(path), journal, columns, size
        self.header, self.page_numbers, self.hyphenate = header, page_numbers, hyphenate
        self.first_printed, self.type_label = first_printed, type_label
        self.head = head or (lambda n: f"{self.journal} 2021; 12: {100 + n}-140")
        self.folio = folio or str
        self.font, self.bold = _fonts()
        kwargs = {}
        if encrypt:
            from reportlab.lib.pdfencrypt import StandardEncryption

            kwargs["encrypt"] = StandardEncryption(encrypt, ownerPassword=encrypt + "-owner", strength=128)
        self.canvas = canvas.Canvas(str(path), pagesize=A4, **kwargs)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(author)
        self.canvas.setSubject(subject)
        self.width, self.height = A4
        self.margin = margin
        self.gap = 18.0
        self.leading = size * 1.3
        self.page = 0
        self.placed: list[Placed] = []
        self.broken: list[tuple[str, str, str]] = []  # (word, head printed with a hyphen, tail on the next line)
        self._new_page()

    # ------------------------------------------------------------ pages and columns
    @property
    def column_width(self) -> float:
        return (self.width - 2 * self.margin - (self.columns - 1) * self.gap) / self.columns

    def _new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        self.column = 0
        self.top = self.height - self.margin - (18 if self.header else 0)
        self.y = self.top
        printed = self.first_printed + self.page - 1
        if self.header:
            self.canvas.setFont(self.font, 8)
            self.canvas.drawString(self.margin, self.height - self.margin + 4, self.head(printed))
            self.canvas.drawRightString(self.width - self.margin, self.height - self.margin + 4, self.type_label)
        if self.page_numbers:
            self.canvas.setFont(self.font, 8)
            self.canvas.drawCentredString(self.width / 2, self.margin / 2, self.folio(printed))

    def _x(self) -> float:
        return self.margin + self.column * (self.column_width + self.gap)

    def _advance(self, height: float) -> None:
        if self.y - height < self.margin:
            if self.column + 1 < self.columns:
                self.column += 1
                self.y = self.top
            else:
                self._new_page()
        self.y -= height

    def new_page(self) -> None:
        """Go on at the top of a new page."""
        self._new_page()

    def blank_page(self, draw_shapes: bool = True) -> None:
        """A page with no text layer (as a scanned page has): shapes only."""
        self._new_page()
        if draw_shapes:
            self.canvas.rect(100, 300, 300, 300, fill=1)
        self.y = self.margin  # anything after starts on a new page

    # ------------------------------------------------------------ content
    def title(self, text: str, size: float = 18.0) -> None:
        """Full-width title across the columns."""
        words = text.split()
        lines = _wrap(words, self.width - 2 * self.margin, lambda s: pdfmetrics.stringWidth(s, self.bold, size))
        for line in lines:
            self.y -= size * 1.25
            self.canvas.setFont(self.bold, size)
            self.canvas.drawString(self.margin, self.y, line)
        self.y -= size
        self.top = self.y  # the columns start under the title on this page

    def front_matter(self, title: str, authors: Sequence[tuple[str, str]], label: str = "", banner: Sequence[str] = (),
                     affiliations: Sequence[str] = (), title_size: float = 20.0, label_right: str = "") -> None:
        """Page 1's header block across the columns, as publishers set it: banner lines in small type, an
        article-type label (and one on the right, "Open Access"), the title in large regular type, the author
        line with each name's superscript marker raised and smaller ("1*", "1,2"), the affiliations."""
        left, right = self.margin, self.width - self.margin
        for line in banner:
            self.y -= 10
            self.canvas.setFont(self.font, 8)
            self.canvas.drawString(left, self.y, line)
        if label or label_right:
            self.y -= 22
            self.canvas.setFont(self.bold, 11)
            self.canvas.drawString(left, self.y, label)
            self.canvas.drawRightString(right, self.y, label_right)
        for line in _wrap(title.split(), right - left, lambda s: pdfmetrics.stringWidth(s, self.font, title_size)):
            self.y -= title_size * 1.2
            self.canvas.setFont(self.font, title_size)
            self.canvas.drawString(left, self.y, line)
        self.y -= 22
        x = left
        for k, (name, marker) in enumerate(authors):
            joiner = "" if k == len(authors) - 1 else " and " if k == len(authors) - 2 else ", "
            width = pdfmetrics.stringWidth(name, self.font, 11) + pdfmetrics.stringWidth(marker, self.font, 7) + 12
            if x + width > right:
                x, self.y = left, self.y - 15
            self.canvas.setFont(self.font, 11)
            self.canvas.drawString(x, self.y, name)
            x += pdfmetrics.stringWidth(name, self.font, 11)
            self.canvas.setFont(self.font, 7)
            self.canvas.drawString(x, self.y + 4, marker)
            x += pdfmetrics.stringWidth(marker, self.font, 7)
            self.canvas.setFont(self.font, 11)
            self.canvas.drawString(x, self.y, joiner)
            x += pdfmetrics.stringWidth(joiner, self.font, 11)
        self.y -= 6
        for line in affiliations:
            self.y -= 10
            self.canvas.setFont(self.font, 7.5)
            self.canvas.drawString(left, self.y, line)
        self.y -= 14
        self.top = self.y  # the columns start under the header block on this page

    def heading(self, text: str) -> Placed:
        """A bold heading in the current column, wrapped (never wider than the column)."""
        size = self.size + 1.5
        self._advance(self.leading * 0.8)
        placed = Placed(text)
        measure = lambda s: pdfmetrics.stringWidth(s, self.bold, size)  # noqa: E731
        words = []
        for word in text.split():
            while measure(word) > self.column_width:
                cut = max(k for k in range(1, len(word)) if measure(word[:k]) <= self.column_width * 0.95)
                words.append(word[:cut])
                word = word[cut:]
            words.append(word)
        offset = 0
        for line in _wrap(words, self.column_width, measure):
            self._advance(size + 2)
            self.canvas.setFont(self.bold, size)
            self.canvas.drawString(self._x(), self.y, line)
            placed.pages.append((max(0, text.find(line.split()[0], offset)), self.page))
            offset += len(line)
        self.placed.append(placed)
        return placed

    def paragraph(self, text: str) -> Placed:
        """Justified text in the current column, hyphenating long words at line ends."""
        placed = Placed(text)
        width = self.column_width
        measure = lambda s: pdfmetrics.stringWidth(s, self.font, self.size)  # noqa: E731
        tokens = [(m.group(0), m.start()) for m in re.finditer(r"\S+", text)]
        self._advance(self.leading * 0.4)
        line: list[tuple[str, int]] = []
        i = 0
        while i < len(tokens):
            word, offset = tokens[i]
            if measure(word) > width:  # longer than a column (a hash, a URL): cut it where it must be
                cut = max(k for k in range(1, len(word)) if measure(word[:k]) <= width * 0.95)
                tokens[i:i + 1] = [(word[:cut], offset), (word[cut:], offset + cut)]
                continue
            candidate = " ".join(w for w, _ in line + [(word, offset)])
            if measure(candidate) <= width or not line:
                line.append((word, offset))
                i += 1
                continue
            # the word does not fit: break it with a hyphen if a long enough head fits
            room = width - measure(" ".join(w for w, _ in line) + " ")
            split = self._split(word, room, measure) if self.hyphenate else None
            if split:
                head, tail = split
                self.broken.append((word, head, tail))
                line.append((head, offset))
                tokens[i] = (tail, offset + len(word) - len(tail))
            self._draw_line(line, width, measure, placed, justify=True)
            line = []
        if line:
            self._draw_line(line, width, measure, placed, justify=False)
        self.placed.append(placed)
        return placed

    def _split(self, word: str, room: float, measure) -> tuple[str, str] | None:
        if "-" in word.strip("-"):  # a real hyphen: break after it, keeping it
            parts = word.split("-")
            for k in range(len(parts) - 1, 0, -1):
                head = "-".join(parts[:k]) + "-"
                if measure(head) <= room:
                    return head, "-".join(parts[k:])
            return None
        core = re.match(r"[A-Za-z]+", word)
        if not core or len(core.group(0)) < 7 or not word[:1].islower():
            return None
        letters = core.group(0)
        for k in range(len(letters) - 3, 2, -1):
            head = word[:k] + "-"
            if measure(head) <= room:
                return head, word[k:]
        return None

    def _draw_line(self, line: list[tuple[str, int]], width: float, measure, placed: Placed, justify: bool) -> None:
        self._advance(self.leading)
        placed.pages.append((line[0][1], self.page))
        words = [w for w, _ in line]
        natural = sum(measure(w) for w in words)
        gaps = len(words) - 1
        space = measure(" ")
        spacing = (width - natural) / gaps if justify and gaps else space
        spacing = min(max(spacing, space), space * 3)
        x = self._x()
        self.canvas.setFont(self.font, self.size)
        for word in words:
            self.canvas.drawString(x, self.y, word)
            x += measure(word) + spacing

    def save(self) -> Path:
        self.canvas.save()
        return self.path


def _wrap(words: list[str], width: float, measure) -> list[str]:
    lines, current = [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if measure(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines
