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
def ray_cluster():
    """A real local Ray cluster of 2 CPUs, started once for the tests that need one."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
