"""Read a corpus into Documents: decode, normalise, attach curator metadata.

Normalisation turns web-ish text into clean plain text: HTML tags stripped with
table rows kept as ``label: value`` lines, entities unescaped, page chrome and
exactly repeated blocks dropped. Everything removed is kept on the Document as
``noise`` so the reliability rules can quote it.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import tomllib
from html.parser import HTMLParser
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator


from lifqa.errors import CorpusError
from lifqa.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
METADATA_NAMES = ("sources.toml", "sources.json")
METADATA_FIELDS = ("doc_id", "title", "publisher", "url", "doi", "date", "doc_type", "licence", "authors", "notes", "flags", "suppress_flags")
DOC_TYPES = ("encyclopedia", "vendor", "wiki", "review", "lay_summary", "preprint", "article", "abstract", "other")

_HTML_HINT = re.compile(r"<\s*(table|tr|td|th|p|div|span|sup|sub|iframe|a|br|html|body|script|style|li|ul|ol|h[1-6]|img|b|i|em|strong)\b[^<>]*>", re.I)
_BLOCK_TAGS = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "section", "article", "header", "footer", "blockquote")
_DROP_TAGS = ("script", "style", "iframe", "noscript", "object", "embed", "svg", "form", "button", "nav", "img", "frame")
_VOID_DROP = ("img", "embed")
_MD_LINK = re.compile(r"\[([^\[\]\n]{1,2000})\]\(([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)")
# Control characters (C0 and C1: terminal escape sequences start with them), zero-width
# characters, and bidi embeddings/overrides/isolates that could make a quoted passage display
# differently from what it says.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff\u202a-\u202e\u2066-\u2069]")

# Page chrome: navigation, reading-time badges, subscription prompts, embed hints,
# browser warnings. General web phrases, not keyed to any one site.
_CHROME = [re.compile(p, re.I) for p in (
    r"^my watch ?list$",
    r"^your browser is (not current|out of date|not supported)",
    r"^\W*cite this (artifact|article|page|entry)\W*$",
    r"^use \?embed=\d",
    r"^\W*\d+\s*min(ute)?s?\s+read\b",
    r"^(share|print|log ?in|sign ?in|sign ?up|subscribe|skip to (main )?content|back to top|menu|search)\s*$",
    r"^drowning in papers",
    r"^get daily digests",
    r"^try \w+\s*→\s*$",
    r"^no provenance edges found$",
    r"^(https?://\S+)$",
    r"^[^\w\s]{1,8}$",  # a line of emoji or symbols only
)]
# One alternation tried once per line (every pattern is anchored at the start): 4x faster on big files.
_ANY_CHROME = re.compile("|".join(p.pattern for p in _CHROME), re.I)


@dataclass(frozen=True)
class CorpusReport:
    """What reading a corpus produced: documents plus warnings for the user."""

    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""


@dataclass
class _Normalised:
    text: str
    noise: list[str] = field(default_factory=list)


def read_corpus(path: str | Path, metadata_path: str | Path | None = None, skip_files: frozenset[Path] = frozenset()) -> CorpusReport:
    """Read a folder of text/markdown/HTML files or a BEIR ``corpus.jsonl``.
    ``skip_files``: resolved paths a library in the folder already reads as its items' attachments."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}. Give a folder of .txt/.md/.html files or a BEIR corpus.jsonl.")
    if path.is_file():
        if path.suffix == ".jsonl":
            docs, warnings = _read_beir(path)
        else:
            raise CorpusError(f"{path} is a file but not a BEIR corpus.jsonl; give a folder of documents or a .jsonl file.")
    else:
        docs, warnings = _read_folder(path, metadata_path, skip_files)
    docs, dup_warnings = _merge_duplicates(docs)
    warnings += dup_warnings
    if not docs:
        raise CorpusError(
            f"no readable documents in {path}. Put .txt, .md or .html files there "
            f"(or pass a BEIR corpus.jsonl).{' Warnings: ' + '; '.join(warnings) if warnings else ''}"
        )
    for warning in warnings:
        log.warning(warning)
    return CorpusReport(tuple(docs), tuple(warnings), str(path))


def _read_folder(folder: Path, metadata_path: str | Path | None, skip_files: frozenset[Path] = frozenset()) -> tuple[list[Document], list[str]]:
    warnings: list[str] = []
    metadata = load_metadata(folder, metadata_path, warnings)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and not _hidden(p, folder)
                   and (not skip_files or p.resolve() not in skip_files))
    docs = []
    for file in files:
        rel = file.relative_to(folder).as_posix()
        raw, decode_warning = decode_file(file)
        if decode_warning:
            warnings.append(decode_warning)
        if raw is None:
            continue
        if not raw.strip():
            warnings.append(f"skipped {rel}: the file is empty")
            continue
        docs.append(make_document(rel, raw, metadata.pop(rel, {}), source_path=str(file)))
    for rel, meta in metadata.items():
        warnings.append(f"metadata names '{rel}' (line {meta.get('_line', '?')}), which is not in {folder}; that entry is ignored")
    return docs, warnings


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def decode_file(path: Path) -> tuple[str | None, str | None]:
    """Decode bytes as UTF-8, falling back to Windows-1252/Latin-1; refuse binary files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"skipped {path.name}: cannot read it ({exc.strerror})"
    if b"\x00" in data[:65536] or _looks_binary(data[:65536]):
        return None, f"skipped {path.name}: it looks like a binary file, not text (convert it to .txt/.md/.html first)"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), f"{path.name} is not valid UTF-8; decoded it as {encoding}"
        except UnicodeDecodeError:
            continue
    return None, f"skipped {path.name}: it cannot be decoded as text"  # unreachable: latin-1 decodes anything


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.05


def load_metadata(folder: Path, metadata_path: str | Path | None, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Read ``sources.toml``/``sources.json``: per-file curator metadata, validated."""
    if metadata_path is None:
        found = [folder / name for name in METADATA_NAMES if (folder / name).is_file()]
        if not found:
            return {}
        metadata_path = found[0]
    metadata_path = Path(metadata_path)
    text = _read_metadata_text(metadata_path)
    try:
        if metadata_path.suffix == ".json":
            table = json.loads(text)
        else:
            table = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"malformed metadata file {metadata_path}: {exc}. Fix that line and run the command again.") from None
    lines = _key_lines(text)
    out: dict[str, dict[str, Any]] = {}
    for key, entry in table.items():
        where = f"{metadata_path} line {lines.get(key, '?')}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: entry '{key}' must be a table of fields ({', '.join(METADATA_FIELDS)})")
        if Path(key).is_absolute() or ".." in Path(key).parts or "\\" in key:
            raise CorpusError(f"{where}: '{key}' points outside the corpus folder; metadata keys must be file names inside {folder}")
        unknown = sorted(set(entry) - set(METADATA_FIELDS))
        if unknown:
            raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)} for '{key}'. Valid fields: {', '.join(METADATA_FIELDS)}")
        doc_type = entry.get("doc_type")
        if doc_type is not None and doc_type not in DOC_TYPES:
            raise CorpusError(f"{where}: doc_type '{doc_type}' for '{key}' is not one of {', '.join(DOC_TYPES)}")
        out[key] = {**entry, "_line": lines.get(key, "?")}
    return out


def _read_metadata_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"metadata file {path} does not exist. Give an existing sources.toml or sources.json, or leave --metadata out.") from None
    except OSError as exc:
        raise CorpusError(f"cannot read metadata file {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CorpusError(f"metadata file {path} line {line} is not UTF-8 text. Save the file as UTF-8 and run the command again.") from None


def _key_lines(text: str) -> dict[str, int]:
    lines = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r'\s*\[\s*"?([^"\]]+)"?\s*\]\s*$', line) or re.match(r'\s*"([^"]+)"\s*:\s*\{', line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _read_beir(path: Path) -> tuple[list[Document], list[str]]:
    docs, warnings = [], []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, text = str(row["_id"]), str(row.get("text") or "")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                warnings.append(f"{path.name} line {number}: skipped, not a BEIR record with _id and text ({exc})")
                continue
            title = str(row.get("title") or "")
            raw = f"{title}\n\n{text}" if title else text
            docs.append(make_document(doc_id, raw, {"title": title or None, "doc_id": doc_id}, source_path=f"{path}:{number}", keep_id=True))
    return docs, warnings


def make_document(name: str, raw: str, meta: dict[str, Any] | None = None, source_path: str = "", keep_id: bool = False) -> Document:
    """Normalise one raw text into a Document; the id is the file name without extension."""
    meta = {k: v for k, v in (meta or {}).items() if v is not None and not k.startswith("_")}
    doc_id = str(meta.pop("doc_id", None) or (name if keep_id else Path(name).with_suffix("").as_posix()))
    normalised = normalise(raw)
    title = str(meta.get("title") or first_line_title(normalised.text) or doc_id)
    meta.setdefault("file", name)
    return Document(
        doc_id=doc_id,
        title=title,
        text=normalised.text,
        source_path=source_path,
        metadata=meta,
        content_hash=hashlib.sha256(normalised.text.encode("utf-8")).hexdigest(),
        noise=tuple(normalised.noise),
    )


def first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return ""


def normalise(raw: str) -> _Normalised:
    """Plain text from raw text or HTML; see the module docstring for the rules."""
    noise: list[str] = []
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if _HTML_HINT.search(text):
        text = _html_to_text(text, noise)
    else:
        text = html.unescape(text)
    text = _MD_LINK.sub(_markdown_link, text)
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = _drop_chrome(lines, noise)
    lines = _drop_repeated_blocks(lines, noise)
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return _Normalised(text, noise)


def _markdown_link(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2)
    if target.startswith(("http://", "https://")) and target not in label:
        return f"{label} ({target})"
    return label


def _html_to_text(text: str, noise: list[str]) -> str:
    converter = _HtmlToText()
    converter.feed(text)
    converter.close()
    noise.extend(converter.dropped)
    out = "".join(converter.parts)
    return re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", out)


class _HtmlToText(HTMLParser):
    """Streams tags to text. A streaming parser, not a tree, because pasted web
    text often has unclosed tables; a tree builder would nest the rest of the
    page inside the last open row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropped: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip_depth = 0
        self._after_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self.dropped.append(self.get_starttag_text() or f"<{tag}>")
            if tag not in _VOID_DROP:
                self._skip_depth += 1
            return
        if tag == "tr" or tag == "table":
            self._flush_row()
            if tag == "tr":
                self._row = []
        elif tag in ("td", "th"):
            if self._row is None:
                self._row = []
            self._close_cell()
            self._cell = []
        elif tag == "br":
            self._emit("\n")
        elif tag in _BLOCK_TAGS:
            self._emit("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self.dropped.append(self.get_starttag_text() or f"<{tag}/>")
        elif tag == "br":
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in ("td", "th"):
            self._close_cell()
        elif tag in ("tr", "table"):
            self._flush_row()
        elif tag in _BLOCK_TAGS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._row is not None:
            if data.strip():  # text inside an unclosed row: the row has ended
                self._flush_row()
                self.parts.append(data)
                self._after_row = False
        elif not (self._after_row and not data.strip()):  # whitespace between rows adds nothing
            self.parts.append(data)
            self._after_row = False

    def close(self) -> None:
        super().close()
        self._flush_row()

    def _emit(self, text: str) -> None:
        if self._cell is not None:
            self._cell.append(" ")
        elif not self._skip_depth:
            self.parts.append(text)

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            cell = " ".join("".join(self._cell).split())
            if cell:
                self._row.append(cell)
        self._cell = None

    def _flush_row(self) -> None:
        self._close_cell()
        if self._row:
            line = ": ".join(self._row) if len(self._row) == 2 else " | ".join(self._row)
            prefix = "" if self._after_row else "\n"
            self.parts.append(f"{prefix}{line}\n")
            self._after_row = True
        self._row = None


def _drop_chrome(lines: list[str], noise: list[str]) -> list[str]:
    kept = []
    for line in lines:
        stripped = line.strip()
        if stripped and _ANY_CHROME.match(stripped):
            noise.append(stripped)
            continue
        kept.append(line)
    return kept


def _drop_repeated_blocks(lines: list[str], noise: list[str], min_run: int = 3, min_chars: int = 60) -> list[str]:
    """Remove runs of lines that repeat an earlier run exactly (e.g. a twice-pasted infobox),
    and a line repeated immediately after itself.

    Linear time on any input (a 50 MB file, a million identical lines): runs of
    blank lines are collapsed first (the text collapses them later anyway), the
    last kept line is tracked rather than searched for, and a running character
    count skips candidates whose longest possible match is too short to drop.
    """
    lines = [line for n, line in enumerate(lines) if line or not n or lines[n - 1]]
    kept: list[str] = []
    kept_chars = [0]  # kept_chars[j]: characters in kept[:j]
    positions: dict[str, list[int]] = {}  # line text -> indexes in kept
    last = ""  # the last non-blank line kept
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and line == last:
            noise.append(line.strip())
            i += 1
            continue
        best = 0
        candidates = positions.get(line, [])[-16:] if line.strip() else []  # oldest first
        if candidates and kept_chars[-1] - kept_chars[candidates[0]] < min_chars:
            candidates = []  # even a match running to the end of kept would be too short to drop
        for start in candidates:
            limit = min(len(lines) - i, len(kept) - start)
            if limit <= best:
                break  # later starts are nearer the end of kept: their match cannot be longer
            length = 0
            while length < limit and lines[i + length] == kept[start + length]:
                length += 1
            best = max(best, length)
        if best >= min_run and sum(len(x) for x in lines[i:i + best]) >= min_chars:
            noise.append("\n".join(lines[i:i + best]).strip())
            i += best
            continue
        if line.strip():
            positions.setdefault(line, []).append(len(kept))
            last = line
        kept.append(line)
        kept_chars.append(kept_chars[-1] + len(line))
        i += 1
    return kept


def _merge_duplicates(docs: Iterable[Document]) -> tuple[list[Document], list[str]]:
    """Index identical texts once; the kept Document lists the other names."""
    by_hash: dict[str, Document] = {}
    order: list[str] = []
    warnings = []
    seen_ids: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen_ids:
            warnings.append(f"two documents share the id '{doc.doc_id}' ({doc.source_path}); the second was skipped. Give it a doc_id in the metadata file.")
            continue
        seen_ids.add(doc.doc_id)
        first = by_hash.get(doc.content_hash)
        if first is None:
            by_hash[doc.content_hash] = doc
            order.append(doc.content_hash)
            continue
        by_hash[doc.content_hash] = replace(first, also_named=first.also_named + (doc.metadata.get("file", doc.doc_id),))
        warnings.append(f"{doc.metadata.get('file', doc.doc_id)} has the same content as {first.metadata.get('file', first.doc_id)}; indexed once as '{first.doc_id}'")
    return [by_hash[h] for h in order], warnings


def iter_text_files(folder: Path) -> Iterator[Path]:
    """Files the folder reader would consider, for fingerprinting without reading them all."""
    yield from sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix.lower() in TEXT_SUFFIXES or p.name in METADATA_NAMES) and not _hidden(p, folder))
