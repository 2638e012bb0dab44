"""Encoder worker processes: the same index as an in-process build, a dead worker is a clear error
(never a hang) and the build resumes from the cache, settings name their valid values."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lifqa.encoder import get_encoder
from lifqa.errors import SettingsError, WorkerError
from lifqa.index import embed_cache, layout
from lifqa.index.build import build_index, index_status
from lifqa.index.dense import read_chunk_vectors
from lifqa.index.embed_cache import EmbeddingCache
from lifqa.encoder_pool import POOL_MIN_TEXTS, EncoderPool, PoolEmbedder, pool_size, usable_cores
from lifqa.settings import make_settings
from store_rows import store_rows

pytestmark = pytest.mark.slow  # starts encoder worker processes


def _new_children(before: set) -> list:
    return [p for p in multiprocessing.active_children() if p not in before]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float32), b.astype(np.float32)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_settings_take_auto_or_a_process_count_and_name_the_valid_values():
    assert make_settings().encode_workers == "auto"
    assert make_settings(encode_workers="2").encode_workers == 2  # from `--set encode_workers=2`
    for bad in (0, -1, 1000, "many", True, 2.5):
        with pytest.raises(SettingsError, match=r"setting 'encode_workers' = .*: use 'auto' or a number of processes from 1 to 256"):
            make_settings(encode_workers=bad)
    assert "encode_workers" not in make_settings().index_fingerprint()  # how a build runs, not what it holds


def test_auto_uses_every_usable_core_only_for_enough_texts():
    assert pool_size("auto", POOL_MIN_TEXTS - 1) == 1
    assert pool_size("auto", POOL_MIN_TEXTS) == usable_cores() == len(os.sched_getaffinity(0))
    assert pool_size(3, 1) == 3 and pool_size(1, 10**6) == 1
    assert pool_size("auto", POOL_MIN_TEXTS, "torch-fp32") == usable_cores()
    assert pool_size("auto", 10**6, "onnx-fp32") == pool_size("auto", 10**6, "onnx-int8") == 1  # ONNX Runtime's own threads
    assert pool_size(2, 10**6, "onnx-fp32") == 2  # asked for: a pool
    before = set(multiprocessing.active_children())
    embed = PoolEmbedder(get_encoder(), "auto")
    embed.expect(POOL_MIN_TEXTS - 1)  # a small stage: no processes started, embedded in this process
    assert embed.workers == 1 and not _new_children(before)
    assert np.array_equal(embed(["LIF binds gp130."]), get_encoder().encode_documents(["LIF binds gp130."]))


def test_build_on_two_workers_equals_the_in_process_build(lif_index: Path, corpus_dir: Path, tmp_path: Path):
    before = set(multiprocessing.active_children())
    local = layout.active_build(lif_index)
    local_manifest = layout.read_manifest(local)
    assert local_manifest["encode_workers"] == 1  # auto on a small corpus: in this process
    pooled = build_index(corpus_dir, tmp_path / "pooled", make_settings(encode_workers=2))
    assert pooled.manifest["encode_workers"] == 2
    assert pooled.manifest["counts"] == local_manifest["counts"]
    assert pooled.manifest["encoder"] == local_manifest["encoder"] and pooled.manifest["build_key"] == local_manifest["build_key"]
    for sql in ("SELECT * FROM chunks ORDER BY row", "SELECT * FROM sentences ORDER BY row"):
        assert store_rows(pooled.build_dir, sql) == store_rows(local, sql)
    for name, read in (("chunk vectors", read_chunk_vectors), ("sentence vectors", lambda build: np.load(build / layout.SENTENCE_VECTORS))):
        a, b = read(local), read(pooled.build_dir)
        assert a.shape == b.shape and _cosines(a, b).min() >= 1 - 1e-4, name
    # the worker count does not shape the index: the pooled build is current for the default settings
    assert index_status(corpus_dir, tmp_path / "pooled", make_settings()) == "current"
    assert not _new_children(before)  # the pool was shut down with the build


def test_a_worker_that_dies_is_a_clear_error_and_the_build_resumes_from_the_cache(tmp_path: Path, monkeypatch):
    before = set(multiprocessing.active_children())
    encoder = get_encoder()
    texts = [f"Sentence {i}: leukemia inhibitory factor signals through gp130 and STAT{i % 7} in cell line {i}." for i in range(400)]
    monkeypatch.setattr(embed_cache, "BLOCK", 200)
    embed = PoolEmbedder(encoder, 2)
    blocks: list[int] = []

    def kill_a_worker_after_the_first_block(batch: list[str]) -> np.ndarray:
        if blocks:
            victim = _new_children(before)[0]
            os.kill(victim.pid, signal.SIGKILL)  # what the kernel's OOM killer does
            victim.join(10)
            time.sleep(0.5)
        blocks.append(len(batch))
        return embed(batch)

    kill_a_worker_after_the_first_block.expect = embed.expect  # type: ignore[attr-defined]
    cache = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim, encoder.variant)
    clock = time.perf_counter()
    with embed, pytest.raises(WorkerError, match="an encoder worker process died while embedding.*run the build again to resume"):
        cache.encode(texts, kill_a_worker_after_the_first_block)
    assert time.perf_counter() - clock < 120 and embed.workers == 2
    cache.close()
    deadline = time.time() + 10
    while _new_children(before) and time.time() < deadline:
        time.sleep(0.1)
    assert not _new_children(before)  # the surviving worker was stopped too

    resumed = EmbeddingCache.open(tmp_path, encoder.model_path, encoder.dim, encoder.variant)
    embedded: list[str] = []

    def counting(batch: list[str]) -> np.ndarray:
        embedded.extend(batch)
        return encoder.encode_documents(batch)

    vectors = resumed.encode(texts, counting)
    resumed.close()
    assert embedded == texts[200:] and resumed.hits == 200  # the first block, from the workers, was committed
    assert _cosines(vectors, encoder.encode_documents(texts)).min() >= 1 - 1e-4


def test_a_worker_that_cannot_load_the_model_says_why(tmp_path: Path):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    before = set(multiprocessing.active_children())
    pool = EncoderPool(str(empty), 64, "torch-fp32", workers=2)
    with pytest.raises(WorkerError, match="could not load the model .*Check model_path, or build with encode_workers=1"):
        pool.encode(["LIF binds gp130."])
    assert not _new_children(before)


def test_workers_do_not_outlive_a_build_killed_outright(tmp_path: Path):
    script = ("import os, signal, multiprocessing\n"
              "from lifqa.encoder_pool import EncoderPool\n"
              "from lifqa.encoder import resolve_model_path\n"
              "if __name__ == '__main__':\n"
              "    pool = EncoderPool(resolve_model_path(None), 64, 'torch-fp32', workers=2)\n"
              "    pool.encode(['LIF binds gp130.'] * 8)\n"
              "    print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    (tmp_path / "killed_build.py").write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, str(tmp_path / "killed_build.py")], capture_output=True, text=True, timeout=300,
                          env=os.environ)
    assert done.returncode == -signal.SIGKILL
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) >= 2
    deadline = time.time() + 20
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_index_says_when_workers_cannot_embed_pooled_sentence_vectors(corpus_dir: Path, tmp_path: Path, capsys):
    from lifqa.cli import main

    assert main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "chunk"), "--encode-workers", "2",
                 "--sentence-pooling", "chunk"]) == 0
    said = capsys.readouterr().err
    assert "embedded in this process" in said and "--sentence-pooling encode" in said
    manifest = layout.read_manifest(layout.active_build(tmp_path / "chunk"))
    assert manifest["encode_workers"] == 1 and manifest["settings"]["sentence_pooling"] == "chunk"
    assert main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "encode"), "--encode-workers", "2"]) == 0
    assert "embedded in this process" not in capsys.readouterr().err
    manifest = layout.read_manifest(layout.active_build(tmp_path / "encode"))
    assert manifest["encode_workers"] == 2 and manifest["settings"]["sentence_pooling"] == "encode"
