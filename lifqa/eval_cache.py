"""The indexes evaluation and training runs build: one per corpus and index settings, reused while both stay the same."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from lifqa.settings import Settings

if TYPE_CHECKING:
    from lifqa.sources import CorpusScan

DEFAULT_CACHE = "indexes/eval"


def index_settings_fingerprint(settings: Settings) -> str:
    """sha256 of the settings that shape an index (chunking, encoder, ...), not of the query-time ones."""
    return hashlib.sha256(json.dumps(settings.index_fingerprint(), sort_keys=True).encode()).hexdigest()


def cache_dir(corpus: str | Path | CorpusScan, settings: Settings, cache_root: str | Path = DEFAULT_CACHE) -> Path:
    """``<cache_root>/<corpus fingerprint[:12]>-<index settings hash[:8]>``: one index per corpus and settings."""
    from lifqa.sources.fingerprint import corpus_fingerprint

    return Path(cache_root) / f"{corpus_fingerprint(corpus)[:12]}-{index_settings_fingerprint(settings)[:8]}"


def cached_index(corpus: str | Path, settings: Settings, cache_root: str | Path = DEFAULT_CACHE,
                 progress: Callable[[str, float], None] | None = None) -> Path:
    """Build the corpus's index once; later calls with the same corpus and settings reuse it. The folder name and the
    build key come from one scan of the corpus, so it is listed and hashed once."""
    from lifqa.index.build import build_index
    from lifqa.sources import scan_sources

    sources = scan_sources(corpus)
    folder = cache_dir(sources, settings, cache_root)
    build_index(sources, folder, settings, progress=progress)
    return folder
