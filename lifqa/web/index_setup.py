"""Where the app finds its index, corpus and evaluation report, and the build of a missing or stale index at its start."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from lifqa.errors import InputError, LifqaError
from lifqa.settings import make_settings


@dataclass(frozen=True)
class AppPaths:
    """Index folder (LIFQA_INDEX, default indexes/), corpus (LIFQA_CORPUS) and evaluation report folder (LIFQA_REPORT).

    ``corpus_dir`` is None when LIFQA_CORPUS is not set: an existing index is then
    compared with the corpus it was built from, never rebuilt from another one.
    """

    index_dir: Path
    corpus_dir: Path | None
    report_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "AppPaths":
        corpus = environ.get("LIFQA_CORPUS")
        return cls(Path(environ.get("LIFQA_INDEX", "indexes")), Path(corpus) if corpus else None,
                   Path(environ.get("LIFQA_REPORT", "reports/latest")))


_checked: set[AppPaths] = set()
_check_lock = threading.Lock()


def _recorded(index_dir: Path) -> dict[str, Any] | None:
    """The manifest of the index in ``index_dir``, or None when there is no loadable one."""
    from lifqa.index import layout

    try:
        return layout.read_manifest(layout.active_build(index_dir))
    except LifqaError:
        return None


def corpus_of(paths: AppPaths) -> Path:
    """LIFQA_CORPUS if set, else the corpus the index was built from, else corpus/."""
    if paths.corpus_dir is not None:
        return paths.corpus_dir
    manifest = _recorded(paths.index_dir) or {}
    recorded = manifest.get("corpus", {}).get("path") if isinstance(manifest.get("corpus"), dict) else None
    return Path(recorded) if recorded else Path("corpus")


def index_state(paths: AppPaths) -> str:
    """'current', 'missing', 'stale', or 'no-corpus' (an index but no corpus to compare it with)."""
    from lifqa.index.build import index_status

    manifest = _recorded(paths.index_dir)
    corpus = _corpus_to_check(paths, manifest)
    if corpus is None:
        return "no-corpus"
    return index_status(corpus, paths.index_dir, make_settings(**(manifest or {}).get("settings", {})))


def _corpus_to_check(paths: AppPaths, manifest: dict[str, Any] | None) -> Path | None:
    """The corpus to compare the index with; None when only the index exists (it is used as is)."""
    corpus = corpus_of(paths)
    if corpus.exists():
        return corpus
    if manifest is not None:
        return None
    raise InputError(f"no index in {paths.index_dir} and no corpus {corpus} to build one from. "
                     "Set LIFQA_CORPUS to a folder of .txt/.md/.html documents (or LIFQA_INDEX to a built index).")


def ensure_index(paths: AppPaths, progress: Callable[[str, float], None] | None = None) -> str:
    """Build the index if it is missing or stale, with the settings it was built with; say which it was.

    One call decides: ``build_index`` fingerprints the corpus once and returns at once when the
    index is current, so a first start of a large corpus hashes it once, not twice. Checked once
    per process (a corpus edited while the app runs is picked up at the next start) and
    serialised, so sessions starting together build it once.
    """
    from lifqa.index.build import build_index

    with _check_lock:
        if paths in _checked:
            return "current"
        manifest = _recorded(paths.index_dir)
        corpus = _corpus_to_check(paths, manifest)
        if corpus is None:
            state = "no-corpus"
        else:
            result = build_index(corpus, paths.index_dir, make_settings(**(manifest or {}).get("settings", {})), progress=progress)
            state = "current" if not result.rebuilt else "stale" if manifest is not None else "missing"
        _checked.add(paths)
        return state


def build_name(index_dir: Path) -> str:
    """The active build folder's name: part of the engine cache key, so a rebuilt index is reopened."""
    from lifqa.index import layout

    return layout.active_build(index_dir).name


def open_engine(index_dir: Path) -> Any:
    """The app's engine. With short answers on (the index records only how it was built, so the default settings say),
    the span reader opens on a background thread while the index does, not on the first short answer."""
    from lifqa.engine import Engine

    settings = make_settings()
    if settings.short_answer:
        from lifqa.answer.short import open_in_background

        open_in_background(settings.finetuned_runtime)
    return Engine.open(index_dir)
