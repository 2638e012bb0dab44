"""An article PDF's bibliographic header, read as its reader reads page 1.

The PDF Info dictionary is often junk ("6489122611071476 1..10", "ipg1300180a",
"Cambridge Journals", the first author only), so the fields come from the page:

- **title**: the run of lines set in the largest type in the upper part of page 1,
  without article-type labels ("Research Article", "REVIEW", "Open Access") or
  journal banners; the Info title only when it agrees with that run (it is then
  free of line breaks) or when page 1 has no clear title, and never when it looks
  like an identifier, a file name or a page range;
- **authors**: the name lines under the title (in its column), up to the abstract or
  the affiliations, read by ``author_names`` ("Family, Given", as the library readers
  store them); superscripts glued to a name come marked from the PDF reader;
- **journal, year, volume, issue, pages**: the journal line of a running head, the
  page-1 banner or the Info subject, read by ``journal_line``;
- **DOI**: the first DOI on page 1, else in the Info subject or keywords.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Protocol, TypeVar

from lifqa.readers.author_names import info_authors, names_in
from lifqa.readers.build import clean_inline
from lifqa.readers.journal_line import details_after, journal_line, names_a_journal, volume_line
from lifqa.references import DOI_IN_TEXT


class PageLine(Protocol):
    """A line of page 1 with its box (PDF points, y up) and font size, as the PDF reader lays it out."""

    text: str
    size: float
    x0: float
    y0: float
    x1: float
    y1: float
    marked: str  # the text with superscript runs as "*" ("" when not known)


L = TypeVar("L", bound=PageLine)


def baseline_bands(lines: Iterable[L], share: float) -> list[list[L]]:
    """Lines, given top-down, in bands that share a baseline: a line joins the band above it when their
    heights overlap by more than ``share`` of the smaller height (of 1 pt at least). The page reader
    joins a band's pieces into printed lines; the header reader joins them into rows."""
    bands: list[list[L]] = []
    for line in lines:
        if bands:
            last = bands[-1]
            top, bottom = max(l.y1 for l in last), min(l.y0 for l in last)
            overlap = min(top, line.y1) - max(bottom, line.y0)
            if overlap > share * max(min(top - bottom, line.y1 - line.y0), 1.0):
                last.append(line)
                continue
        bands.append([line])
    return bands


@dataclass(frozen=True, slots=True)
class ArticleHeader:
    """What page 1, its running heads and the Info dictionary say about the article; "" / () / None when not found."""

    title: str = ""
    authors: tuple[str, ...] = ()  # "Family, Given"
    journal: str = ""
    year: int | None = None
    volume: str = ""
    issue: str = ""
    page_range: str = ""  # the article's pages in its journal, "147–154"
    doi: str = ""

    def metadata(self) -> dict[str, Any]:
        """The found fields under Document.metadata's keys (``authors`` as a list)."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", ())}
        if self.authors:
            out["authors"] = list(self.authors)
        return out


@dataclass(frozen=True, slots=True)
class _Row:
    """Pieces of page 1 printed on one baseline, left to right (a name and its superscript, two columns' lines)."""

    text: str
    size: float  # the size of its longest piece
    x0: float
    y0: float
    x1: float
    y1: float
    marked: str  # with superscripts as "*", where author names are read

    def beside(self, other: "_Row") -> bool:
        """Whether the two rows share no horizontal extent (a sidebar beside the title block)."""
        return self.x1 < other.x0 or self.x0 > other.x1


def read_header(first_page: Sequence[PageLine], page_height: float, running_heads: Sequence[str],
                info: Mapping[str, str]) -> ArticleHeader:
    """The article's header from page 1's lines, the running heads/footers (the reader's noise) and the Info dictionary."""
    rows = _rows([line for line in first_page if line.y1 > page_height * 0.25])  # the header is in the upper part
    first_text = " ".join(line.text for line in first_page)
    body = _body_size(rows)
    journal, details = journal_line(list(running_heads) + [row.text for row in rows[:6] if row.size < body * 1.15])  # banners, not the title
    if not journal:
        journal, details = _journal_banner(rows)
    if not journal:  # BMC writes the citation into the Info subject: "Journal of … 2010 4:1. doi:…"
        journal, details = journal_line([info.get("Subject", "")])
    if journal and "volume" not in details:  # "How to cite this article … PeerJ Comput. Sci. 3:e118"
        details = {**details_after(journal, first_text), **details}
    title, run = _page_title(rows, page_height, journal, body)
    info_title = clean_inline(info.get("Title") or "")
    if _junk_title(info_title):
        info_title = ""
    if title and info_title and not _agree(title, info_title):
        info_title = ""
    authors: tuple[str, ...] = ()
    if run:  # the rows under the title, in its column
        left, right = min(rows[i].x0 for i in run), max(rows[i].x1 for i in run)
        authors = _authors_after([r for r in rows[run[-1] + 1:] if r.x1 >= left and r.x0 <= right])
    doi = DOI_IN_TEXT.search(first_text) or DOI_IN_TEXT.search(f"{info.get('Subject', '')} {info.get('Keywords', '')}")
    return ArticleHeader(
        title=(info_title or title)[:300],
        authors=authors or info_authors(info.get("Author") or ""),
        journal=journal,
        year=details.get("year") or _year(first_text, info),
        volume=details.get("volume", ""),
        issue=details.get("issue", ""),
        page_range=details.get("page_range", ""),
        doi=doi.group(0).rstrip(").,;]").lower() if doi else "",
    )


_COVER = re.compile(r"see discussions, stats,? and author profiles|this article was downloaded by|please scroll down for article|"
                    r"your use of the jstor archive|terms and conditions of (?:access and )?use can be found", re.I)


def is_cover(lines: Sequence[PageLine]) -> bool:
    """A cover sheet a repository or download service put before the article (ResearchGate, JSTOR, Taylor & Francis)."""
    return bool(_COVER.search(" ".join(line.text for line in lines)))


# ---------------------------------------------------------------- rows
def _rows(lines: Sequence[PageLine]) -> list[_Row]:
    """Page 1's lines top-down: pieces sharing a baseline joined left to right unless far apart (a sidebar,
    another column); article-type labels and rules left out."""
    kept = (l for l in lines if l.text.strip() and not is_label(l.text) and not _RULE.match(l.text))
    bands = baseline_bands(sorted(kept, key=lambda l: (-l.y1, l.x0)), 0.5)
    rows = []
    for band in bands:
        band.sort(key=lambda l: l.x0)
        groups = [[band[0]]]
        for line in band[1:]:
            near = line.x0 - max(l.x1 for l in groups[-1]) < 2.5 * max(line.size, groups[-1][-1].size, 4.0)
            if near:
                groups[-1].append(line)
            else:
                groups.append([line])
        for group in groups:
            main = max(group, key=lambda l: len(l.text))
            text = clean_inline(" ".join(l.text for l in group))
            marked = clean_inline(" ".join(l.marked or l.text for l in group)) if any(l.marked for l in group) else text
            rows.append(_Row(text, main.size, min(l.x0 for l in group), min(l.y0 for l in group), max(l.x1 for l in group),
                             max(l.y1 for l in group), marked))
    return rows


_RULE = re.compile(r"^[\s_\-–—=.·•~*…]{3,}$")
_LABELS = {"article", "research", "researcharticle", "originalarticle", "originalresearch", "originalresearcharticle", "review",
           "reviewarticle", "systematicreview", "minireview", "openaccess", "letter", "letters", "editorial", "commentary",
           "perspective", "perspectives", "opinion", "casereport", "briefreport", "briefcommunication", "shortcommunication",
           "rapidcommunication", "communication", "methodology", "methods", "methodsarticle", "protocol", "studyprotocol",
           "hypothesis", "debate", "correspondence", "technicalnote", "clinicalstudy", "researchpaper", "fullpaper",
           "originalpaper", "invitedreview", "focus", "news", "essay", "reports", "report", "articles", "peerreviewed",
           "researchreport", "shortreport", "fulllengtharticle", "regulararticle", "originalinvestigation", "researchletter",
           "reviewpaper", "casestudy", "clinicaltrial", "metaanalysis", "viewpoint", "specialarticle", "featurearticle"}
_LABEL_PREFIX = re.compile(r"^(?:(?:Original|Research|Review|Clinical|Brief|Short|Invited)\s+(?:Research\s+)?(?:Article|Paper|Study|Report|"
                           r"Communication)|Open Access|REVIEW|ARTICLE|RESEARCH|LETTER|COMMENTARY|EDITORIAL|PERSPECTIVE)\s+(?=[A-Z])")


def is_label(text: str) -> bool:
    """An article-type or access label ("Research Article", "R EVI EW", "Open Access"), which no title includes."""
    key = re.sub(r"[^a-z]", "", text.lower())
    return key in _LABELS or (key.startswith("openaccess") and len(key) <= 16)


# ---------------------------------------------------------------- title
_BANNER = re.compile(r"\bdoi\b|https?://|www\.|©|\(c\)\s*\d|copyright|\bissn\b|\bvol(?:ume)?\.?\s*\d|article id|licen[cs]e|"
                     r"downloaded|available online|journal homepage|contents lists|sciencedirect|published by|publishing|elsevier|springer|"
                     r"hindawi|wiley", re.I)
_JOURNAL_NAME = re.compile(r"^(?:the\s+)?(?:international\s+)?(?:journal|annals|archives|proceedings|bulletin|transactions)\s+of\b"
                           r"(?!.*\b(?:is|are|was|were|in|with|after)\b)", re.I)
_JUNK_TITLE = re.compile(r"^(?:microsoft\s+(?:word|powerpoint)|untitled|layout\s*\d|document\d*$|title$|article$|pii\b)|"
                         r"\.(?:docx?|pdf|tex|dvi|indd|qxd|rtf)\b|\d{5,}|\d+\s*\.\.\s*\d+|^[\W\d_]+$", re.I)


def _page_title(rows: list[_Row], height: float, journal: str, body: float) -> tuple[str, list[int]]:
    """The largest-type run of rows in the upper 70 % of page 1 (clearly larger than its ``body`` text), and
    the indices of its rows ([] when page 1 has no clear title)."""
    journal_key = _key(journal)
    candidates = [i for i, row in enumerate(rows) if row.y1 > height * 0.3 and re.search(r"[^\W\d_]{3}", row.text)
                  and not _BANNER.search(row.text) and not _JOURNAL_NAME.search(row.text) and (not journal_key or _key(row.text) != journal_key)]
    for size in sorted({rows[i].size for i in candidates}, reverse=True):
        if size <= 0 or size < body * 1.15:
            break  # no type clearly larger than the text (or no sizes at all)
        start = next(i for i in candidates if abs(rows[i].size - size) < 0.6)
        run = [start]
        for i in range(start + 1, len(rows)):
            row, last = rows[i], rows[run[-1]]
            if row.beside(rows[start]):
                continue  # a sidebar line level with the title
            if i not in candidates or abs(row.size - size) >= 0.6 or last.y0 - row.y1 >= 1.2 * size:
                break
            run.append(i)
        text = _join_title([rows[i].text for i in run])
        words = len(text.split())
        if 3 <= words <= 60 or (words == 2 and size >= body * 1.5 and not text.isupper() and not names_a_journal(text)):
            return text, run
    return "", []


def _join_title(lines: list[str]) -> str:
    text = ""
    for line in lines:
        text = text + line if text.endswith("-") else f"{text} {line}"  # a title keeps the hyphen it broke at
    text = _LABEL_PREFIX.sub("", text.strip())
    return re.sub(r"\s*[*†‡§¶]+$|(?<=[^\W\d_])\d{1,2}$", "", text).strip()  # a footnote marker after the title


def _junk_title(title: str) -> bool:
    """An Info title that names a file, a job or a page range rather than the article."""
    return len(title) < 8 or " " not in title.strip() or bool(_JUNK_TITLE.search(title))


def _agree(page: str, info: str) -> bool:
    """Whether the Info title is page 1's title (letters and digits equal, or one a near-complete part of the other)."""
    a, b = _key(page), _key(info)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return bool(short) and short in long and len(short) >= 0.85 * len(long)


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _body_size(rows: list[_Row]) -> float:
    sizes: Counter[float] = Counter()
    for row in rows:
        sizes[round(row.size)] += len(row.text)
    return float(sizes.most_common(1)[0][0]) if sizes else 10.0


# ---------------------------------------------------------------- authors
_STOP = re.compile(r"^(?:abstract|summary|background|introduction|objectives?|aims?\b|context|highlights|purpose|keywords?|key\s*words|received|accepted|"
                   r"published|citation|cite this|correspond|e-?mail|copyright|doi\b|https?://|©|academic editor|edited by)", re.I)


def _authors_after(rows: list[_Row]) -> tuple[str, ...]:
    """Names on the rows under the title (in its column), up to the abstract or the affiliations (one
    non-name row, e.g. a subtitle, may sit between the title and the names)."""
    names: list[str] = []
    skipped = 0
    for row in rows[:8]:
        if _STOP.match(row.text) or "@" in row.text:
            break
        found = names_in(row.marked)
        if found:
            names += found
            continue
        if names or skipped:
            break
        skipped += 1
    return tuple(dict.fromkeys(names))


_YEAR_NEAR = re.compile(r"(?:published|posted|received|accepted|©|copyright|\(c\))\D{0,40}?((?:19|20)\d{2})", re.I)


def _journal_banner(rows: list[_Row]) -> tuple[str, dict[str, Any]]:
    """A page-1 banner that names the journal on a line of its own above "Volume 2012, Article ID 1, 10 pages"."""
    for above, row in zip(rows[:8], rows[1:9]):
        details = volume_line(row.text)
        if details is not None and names_a_journal(above.text) and not _BANNER.search(above.text) and len(above.text.split()) <= 12:
            return above.text.strip(" ,.;"), details
    return "", {}


def _year(first_text: str, info: Mapping[str, str]) -> int | None:
    """A year near "published"/"©" on page 1, else the year the PDF was made."""
    near = _YEAR_NEAR.search(first_text)
    if near:
        return int(near.group(1))
    created = re.match(r"D:((?:19|20)\d{2})", info.get("CreationDate", ""))
    return int(created.group(1)) if created else None


__all__ = ["ArticleHeader", "read_header", "is_cover", "is_label"]
