"""Shared by the file-format readers: reading a library file with limits, and resolving the files it names."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lifqa.corpus import decode_file
from lifqa.errors import CorpusError
from lifqa.library.items import Attachment

MAX_LIBRARY_BYTES = 100 * 1024 * 1024


def read_text(path: Path, kind: str) -> str:
    """A library file's text; a clear error for a missing, huge, binary or empty file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorpusError(f"cannot read the {kind} file {path}: {exc.strerror}") from None
    if size > MAX_LIBRARY_BYTES:
        raise CorpusError(f"the {kind} file {path} is {size >> 20} MB, more than the {MAX_LIBRARY_BYTES >> 20} MB lifqa reads; split it")
    text, problem = decode_file(path)
    if text is None:
        raise CorpusError(f"cannot read the {kind} file {path}: {problem}")
    return text


def resolve_file(base: Path, name: str, mime: str = "", label: str = "") -> Attachment:
    """A file a library names: absolute, ``file://`` URL, or relative to the library file's folder."""
    name = name.strip()
    if name.lower().startswith("file:"):
        name = unquote(urlparse(name).path)
    if not name or re.match(r"^[a-z][a-z0-9+.-]*://", name, re.I):  # a web link is not a file
        return Attachment(None, mime, label or name)
    path = Path(name)
    if not path.is_absolute():
        path = base / path
    return Attachment(path, mime, label or name, linked=True)


__all__ = ["read_text", "resolve_file", "MAX_LIBRARY_BYTES"]
