"""Shared by the file-format readers: reading a library file with limits, and resolving the files it names.

A library file that came by upload (lifqa.provenance) may name files only inside its
corpus folder: :class:`FileNamer` refuses any other name with a warning."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lifqa.decoding import decode_file
from lifqa.errors import CorpusError
from lifqa.library.items import Attachment
from lifqa.provenance import upload_root

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


class FileNamer:
    """Resolves the file names one library file gives (see :func:`resolve_file`).

    For a library that came by upload, a name that leads outside the corpus folder (an
    absolute path, ``../``, a ``file://`` URL, a symbolic link pointing out) or into a hidden
    folder of it (``.lifqa``, ``.removed``) gives no attachment and a warning instead: the item
    is indexed from its metadata alone."""

    def __init__(self, library: Path, warnings: list[str]) -> None:
        self.base = library.parent
        self.root = upload_root(library)
        self.warnings = warnings

    def __call__(self, name: str, mime: str = "", label: str = "", where: str = "") -> Attachment | None:
        attachment = resolve_file(self.base, name, mime, label)
        if self.root is None or attachment.path is None or _inside(attachment.path, self.root):
            return attachment
        self.warnings.append(f"{where or self.base}: the attachment '{name.strip()[:200]}' is outside the corpus folder; a library "
                             "file that came by upload may only name files inside it, so it was not read")
        return None


def _inside(path: Path, root: Path) -> bool:
    """True when ``path`` (symbolic links followed) lies in ``root`` and in none of its hidden folders."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return not any(part.startswith(".") for part in relative.parts)


__all__ = ["FileNamer", "read_text", "resolve_file", "MAX_LIBRARY_BYTES"]
