"""Assemble a structured Document: text written block by block, with its sections and pages.

Readers that know a document's structure (JATS markup, PDF layout) write the text
through ``DocumentBuilder`` so every section and page offset is exact by
construction rather than searched for afterwards.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any

from lifqa.readers.text import _CONTROL
from lifqa.types import Document, Section

SECTION_SEPARATOR = " › "
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
_LIGATURE_RE = re.compile("[" + "".join(_LIGATURES) + "]")


def clean_inline(text: str) -> str:
    """One line of running text: ligatures expanded, compatibility forms folded (NFKC), controls
    dropped, whitespace runs made one space.

    NFKC is applied per character and only where it maps to plain letters, digits or
    punctuation, so superscripts in "10⁵" and "m²" and Greek letters are kept as they are.
    """
    if not text.isascii():
        text = _LIGATURE_RE.sub(lambda m: _LIGATURES[m.group(0)], text)
        text = "".join(_fold(ch) for ch in text)
    text = _CONTROL.sub("", text)
    return _SPACES.sub(" ", text.replace("\n", " ").replace("\r", " ")).strip()


def _fold(ch: str) -> str:
    if ch.isascii():
        return ch
    folded = unicodedata.normalize("NFKC", ch)
    if folded == ch:
        return ch
    if unicodedata.category(ch) in ("No", "Lm"):  # superscripts/subscripts carry meaning: 10⁵, m²
        return ch
    return folded


class DocumentBuilder:
    """Accumulate paragraphs/headings with section paths and page starts, then make the Document."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[Section] = []
        self.page_starts: list[int] = []
        self._open: tuple[str, int, str] | None = None  # (title, start, kind)

    def _write(self, text: str) -> tuple[int, int]:
        if self.length:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start, self.length

    def start_section(self, path: tuple[str, ...] | str, kind: str = "body") -> None:
        """Text written from now on belongs to this section (until the next one starts)."""
        self.end_section()
        title = path if isinstance(path, str) else SECTION_SEPARATOR.join(p for p in path if p)
        self._open = (title, self.length + (2 if self.length else 0), kind)

    def end_section(self) -> None:
        if self._open is not None:
            title, start, kind = self._open
            if self.length > start:
                self.sections.append(Section(title, start, self.length, kind))
            self._open = None

    def heading(self, text: str) -> None:
        text = clean_inline(text)
        if text:
            self._write(text)

    def paragraph(self, text: str, clean: bool = True) -> tuple[int, int] | None:
        text = clean_inline(text) if clean else text.strip()
        if not text:
            return None
        return self._write(text)

    def block(self, path: tuple[str, ...] | str, text: str, kind: str) -> None:
        """A passage of its own (a caption, a table, a reference list): its own section, never merged."""
        text = text.strip()
        if not text:
            return
        outer = self.current()
        self.start_section(path, kind)
        self._write(text)
        self.resume(outer)

    def current(self) -> tuple[str, str] | None:
        """The open section (title, kind), to resume after a nested one."""
        return (self._open[0], self._open[2]) if self._open is not None else None

    def resume(self, state: tuple[str, str] | None) -> None:
        self.end_section()
        if state is not None:
            self.start_section(state[0], state[1])

    def new_page(self) -> None:
        self.page_starts.append(self.length + (2 if self.length else 0))

    def document(self, doc_id: str, title: str, source_path: Path | str, metadata: dict[str, Any],
                 noise: list[str] | tuple[str, ...] = (), page_labels: tuple[str, ...] = ()) -> Document:
        self.end_section()
        text = "".join(self.parts)
        page_starts = tuple(min(p, max(len(text) - 1, 0)) for p in self.page_starts)
        metadata = {k: v for k, v in metadata.items() if v not in (None, "", [], ()) and not k.startswith("_")}
        return Document(
            doc_id=doc_id, title=title or doc_id, text=text, source_path=str(source_path), metadata=metadata,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), noise=tuple(noise),
            page_starts=page_starts, page_labels=tuple(page_labels), sections=tuple(self.sections),
        )


def doc_id_for(name: str, meta: dict[str, Any]) -> str:
    return str(meta.get("doc_id") or Path(name).with_suffix("").as_posix())


def merge_metadata(found: dict[str, Any], curator: dict[str, Any], name: str) -> dict[str, Any]:
    """What the file says, overridden by the curator's metadata file; ``file`` names the source."""
    out = library_first(found, {k: v for k, v in curator.items() if k != "doc_id"})
    out.setdefault("file", name)
    return out


_EMPTY = (None, "", [], ())


def library_first(found: dict[str, Any], library: dict[str, Any]) -> dict[str, Any]:
    """A library's (or curator's) fields over the ones read from the file, which fill only what it lacks: an
    empty library field is a missing one, and a library date stands for the year (a year the file printed
    would otherwise be cited before it)."""
    out = {k: v for k, v in found.items() if v not in _EMPTY}
    if library.get("date") and not library.get("year"):
        out.pop("year", None)
    out.update({k: v for k, v in library.items() if not k.startswith("_") and v is not None
                and (v not in _EMPTY or k not in out)})
    return out
