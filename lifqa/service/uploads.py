"""Papers added to a served corpus folder: safe names, content that matches the name, no overwrite.

The same rules for the HTTP API (``POST /documents``) and the app's "Add papers":

- a name is reduced to its last component, letters, digits and ``._-()``; no hidden
  names, no ``sources.toml``/``sources.json`` (the curator's metadata);
- the content must be what the suffix says, judged from the bytes as the readers judge
  them (a PDF named ``.txt`` is refused, not indexed as a PDF);
- files are staged in ``.lifqa/incoming`` inside the corpus and published with a hard
  link, which fails when the name exists: nothing is replaced, and nothing is written
  outside the corpus folder;
- every upload is recorded (lifqa.provenance), so an uploaded library may name only
  attachments inside the corpus.

A removed source is moved to ``.removed/`` inside the corpus (hidden: not indexed), never deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from lifqa.errors import InputError
from lifqa.provenance import STATE_DIR, record_uploads

KINDS = {".pdf": "pdf", ".xml": "xml", ".nxml": "xml", ".txt": "text", ".md": "text", ".markdown": "text",
         ".html": "html", ".htm": "html", ".bib": "bibtex", ".ris": "ris", ".json": "csl-json"}
RESERVED = ("sources.toml", "sources.json")
MAX_NAME = 120
INCOMING = "incoming"
REMOVED = ".removed"
_UNSAFE = re.compile(r"[^\w.()-]+")
_BIBTEX = re.compile(r"@\s*[A-Za-z]+\s*[{(]")
_RIS = re.compile(r"^TY  - ", re.M)


class UploadError(InputError):
    """An upload that cannot be taken; ``status`` is the HTTP status the API answers with."""

    status = 400


class UploadConflict(UploadError):
    status = 409


class UploadTooLarge(UploadError):
    status = 413


class UnsupportedUpload(UploadError):
    status = 415


@dataclass(frozen=True)
class Incoming:
    """A received file staged inside the corpus folder, not yet published."""

    name: str  # as the client gave it
    path: Path
    size: int


@dataclass(frozen=True)
class Saved:
    """A file published into the corpus folder."""

    name: str  # path relative to the corpus folder
    kind: str
    size: int
    sha256: str
    renamed_from: str = ""  # the client's name when sanitising changed it


def accepted_suffixes() -> str:
    return ", ".join(sorted(KINDS))


def safe_name(raw: str) -> str:
    """The name a file is saved under: last path component, NFC, safe characters, a known suffix."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", str(raw)).replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = name.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in KINDS:
        raise UnsupportedUpload(f"'{str(raw)[:100]}': lifqa reads files ending in {accepted_suffixes()}")
    stem = stem.strip("._ ")[: MAX_NAME - len(suffix)]
    if not stem:
        raise UploadError(f"'{str(raw)[:100]}' has no usable name; give the file a name of letters or digits, e.g. paper.pdf")
    name = stem + suffix
    if name.lower() in RESERVED:
        raise UploadError(f"{name} is the corpus's curator metadata file and cannot be uploaded; edit it on the server")
    return name


def check_content(path: Path, name: str) -> str:
    """The kind of the file at ``path``, when its bytes are what ``name``'s suffix says; else a clear error."""
    from lifqa.readers import sniff

    kind = KINDS[Path(name).suffix.lower()]
    if path.stat().st_size == 0:
        raise UploadError(f"{name} is empty")
    found = sniff(path)  # the readers' own judgement of the bytes (a staged file carries its name's suffix)
    if kind == "pdf":
        if found != "pdf":
            raise UnsupportedUpload(f"{name} is not a PDF (it does not start with %PDF-); send the PDF itself, or name the file for what it is")
        return kind
    if kind == "xml":
        if found not in ("jats", "pubmed"):
            what = f"root element <{found[4:]}>" if found.startswith("xml:") else "no XML root element" if found == "text" else "a PDF"
            raise UnsupportedUpload(f"{name} is not a JATS article or a PubMed export ({what}); lifqa reads those XML files only")
        return kind
    if found != "text":
        label = {"pdf": "a PDF", "jats": "a JATS article", "pubmed": "a PubMed export"}.get(found, "an XML file")
        raise UnsupportedUpload(f"{name} holds {label}, not what its name says; rename it (e.g. .pdf or .xml) and send it again")
    text = _text(path, name)
    if kind == "bibtex" and not _BIBTEX.search(text):
        raise UnsupportedUpload(f"{name} has no BibTeX entry (an entry starts like @article{{key, ...); export the library as BibTeX")
    if kind == "ris" and not _RIS.search(text):
        raise UnsupportedUpload(f"{name} has no RIS reference (a reference starts with the line 'TY  - '); export the library as RIS")
    if kind == "csl-json":
        from lifqa.library.csljson import looks_like_csl

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnsupportedUpload(f"{name} is not valid JSON ({exc.msg}, line {exc.lineno}); a .json upload must be CSL-JSON") from None
        if not looks_like_csl(data):
            raise UnsupportedUpload(f"{name} is JSON but not CSL-JSON (a list of items with 'id' and 'type'); export the library as CSL JSON")
    return kind


def _text(path: Path, name: str) -> str:
    from lifqa.decoding import decode_file

    text, _ = decode_file(path)
    if text is None:
        raise UnsupportedUpload(f"{name} is not text (it looks like a binary file); send text, or name the file for what it is")
    if not text.strip():
        raise UploadError(f"{name} holds only white space")
    return text


def incoming_dir(corpus: Path) -> Path:
    """Where received files wait, inside the corpus folder (hidden: never indexed)."""
    folder = corpus / STATE_DIR / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage_file(corpus: Path, name: str) -> tuple[int, Path]:
    """An open descriptor and path for a file being received, in ``incoming_dir``; the path keeps the
    suffix of ``name`` so the content sniffing reads it as the readers would."""
    suffix = Path(str(name)).suffix.lower()
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=suffix if suffix in KINDS else "", dir=incoming_dir(corpus))
    return fd, Path(tmp)


def stage_bytes(corpus: Path, name: str, data: bytes) -> Incoming:
    """A received file held in memory (the app's uploader), staged like a streamed one."""
    fd, tmp = stage_file(corpus, name)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Incoming(name, tmp, len(data))


def save_uploads(corpus: Path, files: Iterable[Incoming]) -> list[Saved]:
    """Publish staged files into ``corpus``: all of them or, on any problem, none. The staged copies are removed."""
    files = list(files)
    published: list[Path] = []
    try:
        if not files:
            raise UploadError("no files were sent; send one or more files (PDF, XML, BibTeX, RIS, CSL-JSON or text)")
        checked = []
        for item in files:
            name = safe_name(item.name)
            if any(name == other for other, _, _ in checked):
                raise UploadConflict(f"two uploaded files are both named {name}; rename one")
            checked.append((name, check_content(item.path, name), item))
        from lifqa.index.layout import file_sha256  # not at import: a server that takes no uploads never loads lifqa.index

        saved = []
        for name, kind, item in checked:
            target = corpus / name
            try:
                os.link(item.path, target)  # fails if the name exists: an upload never replaces a file
            except FileExistsError:
                raise UploadConflict(f"{name} is already in the corpus; remove it first or send the file under another name") from None
            published.append(target)
            os.chmod(target, 0o644)  # staged files are private (mkstemp); a corpus file is read like the others
            saved.append(Saved(name, kind, item.size, file_sha256(target), renamed_from="" if name == item.name else item.name))
        record_uploads(corpus, [s.name for s in saved])
        return saved
    except BaseException:
        for target in published:
            target.unlink(missing_ok=True)
        raise
    finally:
        for item in files:
            item.path.unlink(missing_ok=True)


def remove_source(corpus: Path, source_path: str | Path) -> Path:
    """Move a source file of ``corpus`` into ``corpus/.removed/`` (same relative path; a number added
    if a removed file of that name is already there). Only a file inside the corpus can be removed."""
    corpus = corpus.resolve()
    path = Path(source_path)
    path = (path if path.is_absolute() else corpus / path).resolve()
    try:
        relative = path.relative_to(corpus)
    except ValueError:
        raise UploadError(f"{source_path} is not a file of the corpus folder {corpus}; only those can be removed here") from None
    if not path.is_file() or any(part.startswith(".") for part in relative.parts):
        raise UploadError(f"{relative} is not a source file of the corpus (a library item is removed by editing its library)")
    target = corpus / REMOVED / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    number = 1
    while target.exists():
        target = target.with_name(f"{path.stem}.{number}{path.suffix}")
        number += 1
    shutil.move(str(path), str(target))
    return target


__all__ = ["Incoming", "KINDS", "Saved", "UploadConflict", "UploadError", "UploadTooLarge", "UnsupportedUpload",
           "check_content", "incoming_dir", "remove_source", "safe_name", "save_uploads", "stage_bytes", "stage_file"]
