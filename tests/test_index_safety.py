"""A damaged, incompatible, stale or half-built index never crashes lifqa or gives a wrong answer.

Damaged files are opened by real ``lifqa`` subprocesses, so a segfault in FAISS would show
as a negative exit code. Builds are killed with SIGKILL at several moments, found by
watching the build's temporary folder (real timing, no hooks in the code), and the
previous index must still load. Two processes building at once must leave one valid index.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lifqa
from lifqa.errors import IndexCorruptError, IndexMissingError
from lifqa.index import layout
from lifqa.index.build import build_index
from lifqa.settings import make_settings

pytestmark = pytest.mark.slow  # builds real indexes and kills builds

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = ("000_b2d3b1681d340735.txt", "004_292eedc639d57db9.txt")
QUESTION = "Which receptor does LIF bind?"
NEW_DOC = "Oncostatin M is another cytokine of the IL-6 family. It also signals through gp130."


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "lifqa.cli", *argv]


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command(*argv), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small-corpus")
    for name in SEED_FILES:
        shutil.copy(ROOT / "corpus" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def base_index(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> Path:
    """Built with the default settings, so ``lifqa index`` with no options finds it current."""
    index = tmp_path_factory.mktemp("base-index") / "index"
    build_index(small_corpus, index, make_settings())
    return index


def _copy(index: Path, dest: Path) -> Path:
    shutil.copytree(index, dest)
    return dest


def _hint(index: Path, corpus: Path) -> str:
    return f"Rebuild with: lifqa index --corpus {corpus.resolve()} --index {index} --force"


def _chunk_ids(index: Path) -> list[str]:
    return [h.chunk.chunk_id for h in lifqa.open(str(index)).search(QUESTION, k=5)]


# ---- damaged files ----------------------------------------------------------------------

def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated dense.faiss": ("dense.faiss", _truncate),
    "truncated sentence_vectors.npy": ("sentence_vectors.npy", _truncate),
    "truncated store.sqlite": ("store.sqlite", _truncate),
    "truncated bm25 scores": ("bm25/data.csc.index.npy", _truncate),
    "altered dense.faiss": ("dense.faiss", _flip_a_byte),
    "altered sentence_vectors.npy": ("sentence_vectors.npy", _flip_a_byte),
    "altered bm25 vocabulary": ("bm25/vocab.index.json", _flip_a_byte),
    "deleted reliability.json": ("reliability.json", lambda path: path.unlink()),
}


def _expected(build: Path, name: str, damage: str, size: int, index: Path, corpus: Path) -> str:
    path = build / name
    if damage.startswith("truncated"):
        what = f"has {size // 2} bytes but the manifest recorded {size} (truncated or altered)"
    elif damage.startswith("altered"):
        what = "does not match its recorded checksum (altered)"
    else:
        what = "is missing"
    return f"error: index file {path} {what}. {_hint(index, corpus)}"


@pytest.fixture(scope="module")
def damaged_runs(tmp_path_factory, base_index: Path, small_corpus: Path) -> dict[str, tuple[str, subprocess.CompletedProcess]]:
    """``lifqa ask`` on one damaged copy of the index per case, all processes started at once."""
    tmp = tmp_path_factory.mktemp("damaged")
    manifest = layout.read_manifest(layout.active_build(base_index))
    started = {}
    for case, (name, damage) in DAMAGE.items():
        index = _copy(base_index, tmp / case.replace(" ", "-"))
        build = layout.active_build(index)
        damage(build / name)
        expected = _expected(build, name, case, manifest["files"][name]["size"], index, small_corpus)
        started[case] = (expected, subprocess.Popen(_command("ask", QUESTION, "--index", str(index)), stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE, text=True))
    runs = {}
    for case, (expected, proc) in started.items():
        out, err = proc.communicate(timeout=600)
        runs[case] = (expected, subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return runs


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_file_is_named_with_the_rebuild_command_never_a_crash(damaged_runs, case):
    expected, run = damaged_runs[case]
    assert run.returncode == 1, (run.returncode, run.stderr)  # -11 would be a segfault
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert run.stderr.splitlines() == [expected]


def test_damaged_pointer_and_manifest_give_clear_errors(tmp_path: Path, base_index: Path):
    index = _copy(base_index, tmp_path / "index")
    build = layout.active_build(index)
    hint = f"lifqa index --corpus CORPUS_DIR --index {index}"

    (build / "manifest.json").write_text('{"files": ', encoding="utf-8")
    assert _open_error(index) == f"{build}/manifest.json is damaged (Expecting value: line 1 column 11 (char 10)). Rebuild with: {hint}"
    (build / "manifest.json").write_text("[]", encoding="utf-8")
    assert _open_error(index) == f"{build}/manifest.json is damaged (not a JSON object). Rebuild with: {hint}"
    (build / "manifest.json").unlink()
    assert _open_error(index) == f"{build}/manifest.json is missing. Rebuild with: {hint}"
    (index / "CURRENT").write_bytes(b"\xff\xfe garbage\n")
    assert _open_error(index).startswith(f"{index}/CURRENT points to a missing build")
    (index / "CURRENT").unlink()
    assert _open_error(index) == f"no index in {index}. Build it with: {hint}"


def _open_error(index: Path) -> str:
    with pytest.raises((IndexCorruptError, IndexMissingError)) as caught:
        lifqa.open(str(index))
    return str(caught.value)


# ---- incompatible indexes ----------------------------------------------------------------

def _edit_manifest(index: Path, **changes) -> None:
    path = layout.active_build(index) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_index_of_another_format_is_refused_then_rebuilt_by_lifqa_index(tmp_path: Path, base_index: Path, small_corpus: Path):
    index = _copy(base_index, tmp_path / "index")
    _edit_manifest(index, format_version=0)
    with pytest.raises(IndexCorruptError) as caught:
        lifqa.open(str(index))
    assert str(caught.value) == (f"the index in {index} has format 0, this lifqa reads format {layout.FORMAT_VERSION}; "
                                 f"{_hint(index, small_corpus).replace('Rebuild', 'rebuild')}")
    run = _run("ask", QUESTION, "--index", str(index))  # the CLI says the same, without a traceback
    assert run.returncode == 1 and run.stderr == f"error: {caught.value}\n"

    assert build_index(small_corpus, index, make_settings()).rebuilt  # no --force needed: the format differs
    assert _chunk_ids(index) == _chunk_ids(base_index)


def test_index_of_another_model_is_refused(tmp_path: Path, base_index: Path, small_corpus: Path):
    hint = _hint(base_index, small_corpus).replace("Rebuild", "rebuild")
    with pytest.raises(IndexCorruptError) as caught:
        lifqa.open(str(base_index), model_id="another-model")
    assert str(caught.value) == (f"the index in {base_index} was built with model_id='all-MiniLM-L6-v2', "
                                 f"but the settings ask for 'another-model'; {hint}")
    index = _copy(base_index, tmp_path / "index")
    _edit_manifest(index, embedding_dim=768)  # as if built by a larger model
    with pytest.raises(IndexCorruptError, match=r"holds 768-dimensional vectors, but the model .* makes 384-dimensional ones\. "
                                                r"Use the model the index was built with, or rebuild with: lifqa index .* --force$"):
        lifqa.open(str(index))


def test_index_with_other_chunking_is_refused_and_rebuilt_when_asked(tmp_path: Path, base_index: Path, small_corpus: Path):
    index = _copy(base_index, tmp_path / "index")
    with pytest.raises(IndexCorruptError) as caught:
        lifqa.open(str(index), chunk_size=300)
    assert str(caught.value) == (f"the index in {index} was built with chunk_size=700, but the settings ask for 300; "
                                 f"{_hint(index, small_corpus).replace('Rebuild', 'rebuild')}")
    result = build_index(small_corpus, index, make_settings(chunk_size=300, chunk_overlap=50, sentence_vectors=False))
    assert result.rebuilt and lifqa.open(str(index)).settings.chunk_size == 300


# ---- SIGKILL during a build ------------------------------------------------------------------

def _build_state(index: Path, ignore: set[Path]) -> tuple[str, set[str]]:
    """The published build's name, and what the new build's temporary folder holds so far
    (``ignore``: folders left by earlier kills)."""
    pointer = (index / "CURRENT").read_text(encoding="utf-8").strip() if (index / "CURRENT").exists() else ""
    names: set[str] = set()
    for tmp in set(index.glob(".tmp-build-*")) - ignore:
        try:
            names |= {p.name for p in os.scandir(tmp)} | {"tmp"}
        except FileNotFoundError:  # renamed or removed between glob and scandir
            pass
    return pointer, names


# Moments to kill at, in build order: each is seen in the temporary build folder.
# (A kill while embedding costs another ~10 s subprocess start and adds no new state: the
# checksum moment comes after it, with every file but the manifest's list already written.)
KILL_AT = {
    "reading the corpus": "tmp",  # the folder exists, nothing written yet
    "building BM25": "bm25",  # store and reliability written; the model is not loaded yet
    "writing checksums and fsync": "manifest.json",  # everything written, not yet renamed or published
}


def _status(corpus: Path, index: Path) -> tuple[int, str]:
    run = _run("status", "--corpus", str(corpus), "--index", str(index))
    return run.returncode, json.loads(run.stdout)["status"]


def test_killed_builds_stale_corpus_and_two_concurrent_builds(tmp_path: Path, base_index: Path, small_corpus: Path):
    """One scenario, so the slow builds serve several checks: SIGKILL at three moments of
    ``lifqa index --force`` leaves the previous index published and loadable; the corpus
    changes and ``lifqa status`` says stale (exit 3); two ``lifqa index`` started together
    rebuild it exactly once, and the half-written folders of the killed builds do not
    disturb that build."""
    corpus = Path(shutil.copytree(small_corpus, tmp_path / "corpus"))
    index = _copy(base_index, tmp_path / "index")
    previous = layout.active_build(index).name
    expected = _chunk_ids(index)

    assert _status(corpus, index) == (0, "current")
    noop = _run("index", "--corpus", str(corpus), "--index", str(index))  # current: nothing to do
    assert noop.returncode == 0 and noop.stdout.startswith(f"{index} is up to date (2 documents, "), noop
    assert noop.stdout.endswith("nothing to do. Use --force to rebuild.\n") and layout.active_build(index).name == previous

    landed = {}
    for moment, marker in KILL_AT.items():
        strays = set(index.glob(".tmp-build-*"))
        proc = subprocess.Popen(_command("index", "--corpus", str(corpus), "--index", str(index), "--force"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = time.perf_counter()
        while proc.poll() is None and marker not in _build_state(index, strays)[1]:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        pointer, seen = _build_state(index, strays)
        landed[moment] = (proc.returncode, round(time.perf_counter() - started, 2), sorted(seen))
        assert proc.returncode == -signal.SIGKILL, (moment, proc.returncode, proc.stderr.read())  # killed mid-build
        assert pointer == previous, moment  # the previous index is still the published one...
        assert _chunk_ids(index) == expected, moment  # ...and it loads (checksums verified) and answers as before
    assert len(list(index.glob(".tmp-build-*"))) == len(KILL_AT), landed  # each kill left a half-written folder

    (corpus / "osm.txt").write_text(NEW_DOC, encoding="utf-8")
    assert _status(corpus, index) == (3, "stale")
    procs = [subprocess.Popen(_command("index", "--corpus", str(corpus), "--index", str(index)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = sorted((proc.communicate(timeout=600)[0] for proc in procs), key=lambda out: not out.startswith("built"))
    assert [proc.returncode for proc in procs] == [0, 0]
    assert outs[0].startswith(f"built {index}: 3 documents,"), outs  # one built it...
    assert outs[1].startswith(f"{index} is up to date (3 documents,"), outs  # ...the other waited on the lock, then found it current

    assert _status(corpus, index) == (0, "current")
    assert sorted(p.name for p in index.iterdir()) == sorted([".lock", "CURRENT", "embeddings", "documents.sqlite", layout.active_build(index).name])
    assert [p.suffix for p in (index / "embeddings").iterdir()] == [".sqlite"]  # one model's vectors, no leftovers
    # The killed builds and the new document cost no re-embedding of the old text: only the new document's.
    before, after = layout.read_manifest(layout.active_build(base_index)), layout.read_manifest(layout.active_build(index))
    new_texts = sum(after["counts"][n] - before["counts"][n] for n in ("chunks", "sentences"))
    assert after["embedding_cache"]["embedded"] == new_texts > 0, after["embedding_cache"]
    engine = lifqa.open(str(index))
    assert engine.source("osm").document.text == NEW_DOC
