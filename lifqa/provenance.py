"""Which library files of a corpus folder came by upload (the HTTP API, the app's "Add papers").

A BibTeX, RIS or CSL-JSON file a user exports from their own reference manager may
name attachments anywhere on their disk. A file sent over HTTP must not: it could name
``/etc/passwd`` or a private key and pull it into the index, and out through ``ask``.
Uploads are therefore recorded in ``.lifqa/uploads.json`` inside the corpus folder
(hidden, so no reader indexes it), and :func:`upload_root` tells the library readers
which corpus folder an uploaded library's attachments must stay inside. The record
lives with the corpus, so a later ``lifqa index`` from the command line keeps the rule.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from filelock import FileLock

STATE_DIR = ".lifqa"
RECORD = "uploads.json"


def uploaded_names(corpus: Path) -> set[str]:
    """Paths (relative to the corpus folder, '/'-separated) of the files that came by upload."""
    path = corpus / STATE_DIR / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {"*"}  # a damaged record: treat every library file in this corpus as uploaded (the safe side)
    names = data.get("uploaded") if isinstance(data, dict) else None
    return {str(n) for n in names} if isinstance(names, list) else {"*"}


def record_uploads(corpus: Path, names: Iterable[str]) -> None:
    """Add ``names`` (relative to ``corpus``) to the record; atomic, and serialised between processes."""
    state = corpus / STATE_DIR
    state.mkdir(exist_ok=True)
    with FileLock(str(state / f"{RECORD}.lock")):
        known = uploaded_names(corpus) - {"*"}
        data = json.dumps({"uploaded": sorted(known | set(names))}, indent=1, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=f".{RECORD}.", dir=state)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, state / RECORD)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def upload_root(library: Path) -> Path | None:
    """The corpus folder ``library`` was uploaded into, or None when it is the user's own file.

    The nearest folder above it holding a ``.lifqa/uploads.json`` is its corpus; the file
    counts as uploaded when that record lists it."""
    library = library.resolve()
    for folder in library.parents:
        if (folder / STATE_DIR / RECORD).is_file():
            names = uploaded_names(folder)
            return folder if "*" in names or library.relative_to(folder).as_posix() in names else None
    return None


__all__ = ["STATE_DIR", "record_uploads", "upload_root", "uploaded_names"]
