"""Shared fixtures: one real index of the bundled LIF corpus, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLD = CORPUS / "gold" / "lif_questions.jsonl"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def lif_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    index_dir = tmp_path_factory.mktemp("lif-index")
    build_index(CORPUS, index_dir, make_settings())
    return index_dir


@pytest.fixture(scope="session")
def engine(lif_index: Path):
    import lifqa

    return lifqa.open(str(lif_index))


@pytest.fixture(scope="session")
def gold():
    from lifqa.gold import load_gold

    return load_gold(GOLD)


@pytest.fixture(scope="session")
def zotero_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(Zotero data folder, its index): the sample library of tests/zotero_db.py, indexed once per session."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from zotero_db import sample_library

    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    root = tmp_path_factory.mktemp("zotero-app")
    sample_library(root / "Zotero")
    build_index(root / "Zotero", root / "index", make_settings())
    return root / "Zotero", root / "index"
