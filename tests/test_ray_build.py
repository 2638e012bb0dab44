"""A Ray build publishes the same index as a local one: chunks, vectors (1e-4 cosine), BM25 results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from lifqa.index import layout
from lifqa.index.bm25 import BM25Index
from lifqa.index.build import build_index
from lifqa.index.dense import read_chunk_vectors
from lifqa.settings import make_settings
from lifqa.tokenize import Tokenizer
from store_rows import store_rows

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _small_corpus(folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(CORPUS.glob("*.txt"))[:3]:
        (folder / path.name).write_text(path.read_text(encoding="utf-8")[:4000], encoding="utf-8")
    (folder / "copy.txt").write_text((folder / path.name).read_text(encoding="utf-8"), encoding="utf-8")  # a duplicate
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    return folder


def test_ray_build_equals_local_build(tmp_path: Path, ray_cluster):
    from lifqa.index.ray_build import RayRunner

    corpus = _small_corpus(tmp_path / "corpus")
    settings = make_settings()
    local = build_index(corpus, tmp_path / "local", settings)
    remote = build_index(corpus, tmp_path / "ray", settings, runner=RayRunner(workers=2))

    assert remote.manifest["counts"] == local.manifest["counts"]
    assert remote.manifest["encoder"] == local.manifest["encoder"]
    assert sorted(remote.warnings) == sorted(local.warnings) and any("same content" in w for w in local.warnings)
    for sql in ("SELECT doc_id, title, text, also_named, tier, flags FROM documents ORDER BY doc_id",
                "SELECT * FROM chunks ORDER BY row", "SELECT * FROM sentences ORDER BY row"):
        assert store_rows(remote.build_dir, sql) == store_rows(local.build_dir, sql)
    for name, read in (("chunk vectors", read_chunk_vectors), ("sentence vectors", lambda build: np.load(build / layout.SENTENCE_VECTORS))):
        a = read(local.build_dir).astype(np.float32)
        b = read(remote.build_dir).astype(np.float32)
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert a.shape == b.shape and cosine.min() >= 1 - 1e-4, name
    tokenizer = Tokenizer(stemming=True)
    bm25_local = BM25Index(local.build_dir / layout.BM25_DIR, tokenizer)
    bm25_ray = BM25Index(remote.build_dir / layout.BM25_DIR, tokenizer)
    for query in ("LIF receptor gp130", "STAT3 signalling in embryonic stem cells", "leukemia inhibitory factor"):
        assert np.array_equal(bm25_local.scores(query), bm25_ray.scores(query))


def test_ray_flag_without_ray_says_how_to_install(tmp_path: Path):
    corpus = _small_corpus(tmp_path / "corpus")
    code = ("import sys; sys.modules['ray'] = None; from lifqa.cli import main; "
            f"sys.exit(main(['index', '--corpus', {str(corpus)!r}, '--index', {str(tmp_path / 'idx')!r}, '--ray']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode != 0
    assert "pip install 'lifqa[ray]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "idx" / layout.CURRENT).exists()
