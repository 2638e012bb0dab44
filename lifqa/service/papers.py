"""Papers added or removed from the app, then the incremental build: the app's "Add papers" and "Remove source".

Uploads follow the API's rules (lifqa.service.uploads); a removed source is moved to
``.removed/`` inside the corpus folder. Either way the index is rebuilt incrementally
(unchanged documents come from the build caches) with the settings it was built with,
and the app reopens the engine on the new build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from lifqa.errors import InputError

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Rebuilt:
    """What an add or a remove changed."""

    saved: tuple[str, ...]  # files written into the corpus (relative names), or the removed file's new place
    added: tuple[str, ...]  # doc ids the index gained
    removed: tuple[str, ...]  # doc ids the index lost
    warnings: tuple[str, ...]  # the build's warnings about these files
    build: str  # the published build folder


def corpus_folder(corpus: Path | None) -> tuple[Path | None, str]:
    """The corpus folder papers can be added to, or None and why not."""
    if corpus is None or not corpus.is_dir():
        return None, f"the corpus {corpus} is not a folder of documents, so papers cannot be added here"
    if (corpus / "zotero.sqlite").is_file():
        return None, f"the corpus {corpus} is a Zotero data folder: add papers to it through Zotero"
    return corpus, ""


def add_papers(corpus: Path, index_dir: Path, files: Sequence[tuple[str, bytes]], progress: Progress | None = None) -> Rebuilt:
    """Save uploaded files (name, bytes) into ``corpus`` under the upload rules, then rebuild. All files or none are saved."""
    from lifqa.service.uploads import save_uploads, stage_bytes

    staged = []
    try:
        for name, data in files:
            staged.append(stage_bytes(corpus, name, data))
    except BaseException:
        for item in staged:
            item.path.unlink(missing_ok=True)
        raise
    saved = save_uploads(corpus, staged)
    names = tuple(s.name for s in saved)
    return _rebuild(corpus, index_dir, names, names, progress)


def removable(corpus: Path, record: Any) -> Path | None:
    """The corpus file a source was read from, when removing the source means moving that file away."""
    meta = record.document.metadata
    if meta.get("item_type"):  # a library item: its library lists it, not a file
        return None
    # "file": the path the reader was given, relative to the corpus folder (the index may have been built from a copy)
    source = corpus / str(meta["file"]) if meta.get("file") else Path(record.document.source_path or "")
    if not source.name:
        return None
    path = (source if source.is_absolute() else corpus / source).resolve()
    try:
        relative = path.relative_to(corpus.resolve())
    except ValueError:
        return None
    if not path.is_file() or any(part.startswith(".") for part in relative.parts):
        return None
    return path


def remove_paper(corpus: Path, index_dir: Path, record: Any, progress: Progress | None = None) -> Rebuilt:
    """Move a source's file to ``.removed/`` inside the corpus, then rebuild without it."""
    from lifqa.service.uploads import remove_source

    path = removable(corpus, record)
    if path is None:
        raise InputError(f"{record.document.doc_id} is not a file of the corpus folder (a library item is removed in its library)")
    moved = remove_source(corpus, path)
    return _rebuild(corpus, index_dir, (moved.relative_to(corpus.resolve()).as_posix(),), (path.name,), progress)


def _rebuild(corpus: Path, index_dir: Path, saved: tuple[str, ...], names: tuple[str, ...], progress: Progress | None) -> Rebuilt:
    from lifqa.index.build import build_index
    from lifqa.index.layout import active_build, read_manifest
    from lifqa.settings import make_settings

    before_build = active_build(index_dir)
    before = set(json_ids(before_build))
    settings = make_settings(**read_manifest(before_build).get("settings", {}))
    result = build_index(corpus, index_dir, settings, progress=progress)
    after = set(json_ids(result.build_dir))
    return Rebuilt(saved, tuple(sorted(after - before)), tuple(sorted(before - after)),
                   tuple(w for w in result.warnings if any(n in w for n in names)), result.build_dir.name)


def json_ids(build: Path) -> list[str]:
    """The doc ids of a build, from its documents list (no engine needed)."""
    import json

    from lifqa.index import layout

    return list(json.loads((build / layout.DOCUMENTS).read_text(encoding="utf-8"))["doc_ids"])


__all__ = ["Rebuilt", "add_papers", "corpus_folder", "remove_paper", "removable"]
