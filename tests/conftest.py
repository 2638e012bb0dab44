"""Shared fixtures: one real index of the bundled LIF corpus, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLD = CORPUS / "gold" / "lif_questions.jsonl"

def run_app(**params: str):
    """The web app run once by Streamlit's AppTest with these query parameters; a script error fails the test."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# What makes a test slow: the model and a real index, a Zotero library or PDFs built for it, or a Ray cluster.
# `pytest -m "not slow"` runs the rest in seconds; CI runs everything.
SLOW_FIXTURES = {"lif_index", "engine", "zotero_index", "pdf_corpus", "pdf_index", "ray_cluster"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "ray_cluster" in fixtures:
            item.add_marker(pytest.mark.ray)
        if SLOW_FIXTURES & fixtures or item.get_closest_marker("browser") or item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.slow)


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


PDF_QUESTION = "Which factor did zebrafish fin regeneration require?"
PDF_SENTENCE = "Zebrafish fin regeneration required the osteoblast dedifferentiation factor Runx2b in every amputated fin."


@pytest.fixture(scope="session")
def pdf_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one generated two-page journal PDF (the test sentence opens page 2) and a text file."""
    from pdf_factory import JournalPdf

    folder = tmp_path_factory.mktemp("pdf-corpus")
    pdf = JournalPdf(folder / "zebrafish.pdf", title="Fin regeneration in zebrafish", author="Poss, Kenneth")
    pdf.title("Fin regeneration in zebrafish")
    pdf.heading("Introduction")
    k = 0
    while not (pdf.page == 2 and pdf.y > pdf.height * 0.6):  # fill page 1, so the test sentence opens page 2
        k += 1
        pdf.paragraph(f"Paragraph {k} describes how amputated fins regrow through a blastema of dedifferentiated cells "
                      f"that proliferate and then redifferentiate into bone, skin and vessels over about two weeks.")
    pdf.heading("Results")
    placed = pdf.paragraph(PDF_SENTENCE + " Without it the blastema formed but bone did not regrow.")
    assert placed.page_of(0) == placed.page_of(len(PDF_SENTENCE)) == 2, "the test sentence should be printed on page 2"
    pdf.save()
    (folder / "notes.txt").write_text("Notes\n\nLeukemia inhibitory factor keeps mouse embryonic stem cells pluripotent in culture.\n",
                                      encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def pdf_index(pdf_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    index_dir = tmp_path_factory.mktemp("pdf-index")
    build_index(pdf_corpus, index_dir, make_settings())
    return index_dir


@pytest.fixture(scope="session")
def ray_cluster():
    """A real local Ray cluster of 2 CPUs, started once for the tests that need one."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
