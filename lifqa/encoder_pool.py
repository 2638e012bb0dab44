"""Embedding a build's texts in worker processes, one single-threaded encoder in each.

On a small CPU, torch wastes time at thread barriers on small matmuls (BENCHMARKS.md, "Encoder
throughput"), so one process per core with one thread each embeds more texts per second than one
process using every core: measured, about 10 % more on 2 idle cores (bf16), after a start-up of about
6 s, and nothing when another job holds a core. Hence ``auto`` uses it only for large stages.

Each worker loads the build's encoder once (same model folder, batch size and variant, so the vectors
are the ones an in-process build makes, within bf16 rounding). A block of texts is cut into pieces,
longest texts first, handed to whichever worker is free, and put back in order; the caller (the
embedding cache) commits each block, so a killed build resumes as before.

Workers are started with ``spawn``: the build process has torch loaded, and a forked copy of its thread
pools can deadlock. A worker that dies makes the call fail with a clear error, never a hang, and the
pool is shut down when the build ends, fails or is interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from lifqa.errors import WorkerError

# Texts still to embed in a stage from which `encode_workers=auto` starts the pool. Measured on 2 cores
# (BENCHMARKS.md, "Encoder worker processes"): start-up 5.9 s; bf16 pays for it from about 2,900 chunks or
# 7,500 sentences on an idle machine, and whole builds of up to 9,500 texts were slower with the pool when
# another job held a core. Below this, the build process embeds alone, as before.
POOL_MIN_TEXTS = 10_000


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's or taskset's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pool_size(setting: int | str, texts: int, variant: str = "torch-bf16") -> int:
    """Processes that embed ``texts`` texts: the setting, or for ``auto`` one per usable core from
    POOL_MIN_TEXTS texts on, else 1 (this process, no pool). ``auto`` never pools an ONNX Runtime variant: its
    own threads embed sentences, all a default build encodes (chunk vectors are composed from them), faster than
    one-thread processes do (bench/encode.py, onnx-fp32 on 2 cores: 224.9 against 187.4 sentences/s; the torch
    variants embed 1.2x the sentences with the pool)."""
    if setting == "auto":
        return usable_cores() if texts >= POOL_MIN_TEXTS and not variant.startswith("onnx") else 1
    return int(setting)


# ---- worker side ----------------------------------------------------------------
_encoder: Any = None
_failure = ""


def _start_worker(model_path: str, batch_size: int, variant: str, device: str) -> None:
    """Pool initializer: load the encoder once, on one thread. A failure is kept and reported by every
    task (a raising initializer would only print a traceback and break the pool without its reason)."""
    global _encoder, _failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle: it shuts the pool down
    parent = multiprocessing.parent_process()
    if parent is not None:  # a build killed outright (kill -9, out of memory) leaves no workers waiting forever
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
        from lifqa.encoder import Encoder

        _encoder = Encoder(model_path, batch_size, variant, device=device)
    except Exception as exc:  # noqa: BLE001 - reported to the build by _encode_piece
        _failure = f"{type(exc).__name__}: {exc}"


def _exit_with(parent: Any) -> None:
    parent.join()  # returns when the parent process is gone
    os._exit(1)


def _encode_piece(texts: list[str]) -> np.ndarray:
    if _encoder is None:
        raise WorkerError(f"an encoder worker process could not load the model ({_failure}). "
                          "Check model_path, or build with encode_workers=1")
    return _encoder.encode_documents(texts)


# ---- build side -----------------------------------------------------------------
class EncoderPool:
    """``workers`` processes, each holding one single-threaded encoder of the given model and variant."""

    def __init__(self, model_path: str, batch_size: int, variant: str, workers: int, device: str = "cpu") -> None:
        self.workers = workers
        self.batch_size = batch_size
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(model_path, batch_size, variant, device))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` in order. Raises WorkerError if a worker dies or cannot load the model."""
        if self._executor is None:
            raise WorkerError("the encoder worker pool is closed")
        # Longest texts first: the last pieces handed out are the shortest, so the workers finish together.
        # Pieces of one encoder batch, smaller when there are few texts so every worker gets several.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        piece = max(1, min(self.batch_size, -(-len(texts) // (4 * self.workers))))
        pieces = [order[s:s + piece] for s in range(0, len(order), piece)]
        try:
            futures: list[Future] = [self._executor.submit(_encode_piece, [texts[i] for i in rows]) for rows in pieces]
            results = [future.result() for future in futures]
        except BrokenProcessPool:
            self.close(failed=True)
            raise WorkerError("an encoder worker process died while embedding (killed, or out of memory?). What was "
                              "embedded before is kept in the embedding cache: run the build again to resume, or build "
                              "with encode_workers=1 (one process, less memory)") from None
        except BaseException:
            self.close(failed=True)
            raise
        out = np.zeros((len(texts), results[0].shape[1] if results else 0), dtype=np.float32)
        for rows, vectors in zip(pieces, results):
            out[rows] = vectors
        return out

    def close(self, failed: bool = False) -> None:
        """Stop the workers: after their work when all went well, at once after a failure or Ctrl-C."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if not failed:
            executor.shutdown(wait=True)
            return
        # Python < 3.14 has no public way to stop a pool's busy workers (3.14: terminate_workers()).
        processes = list((getattr(executor, "_processes", None) or {}).values())
        manager = getattr(executor, "_executor_manager_thread", None)
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        if manager is not None:
            # A broken pool's manager thread may already have taken the workers off _processes and be reaping
            # them itself: wait for it, so no worker outlives close().
            manager.join(timeout=10)


class PoolEmbedder:
    """A build's embed function (``Runner.embedder``): texts embedded in this process, or on an
    :class:`EncoderPool` started once enough texts are to be embedded (``encode_workers``).

    The embedding cache tells it how many texts a stage still has to embed (:meth:`expect`) before the
    first block, so a rebuild that embeds little never starts the workers. ``workers``: the processes
    that embedded (1: this one). Close it (or use it as a context manager) to stop the workers."""

    def __init__(self, encoder: Any, setting: int | str = "auto") -> None:
        self.encoder = encoder
        self.setting = setting
        self.workers = 1
        self._pool: EncoderPool | None = None

    def expect(self, texts: int) -> None:
        """``texts`` texts are about to be embedded: start the pool if the setting wants one for that many."""
        workers = pool_size(self.setting, texts, self.encoder.variant)
        if self.setting == "auto" and self.encoder.device != "cpu":
            workers = 1  # one GPU serves one process best
        if self._pool is None and workers > 1:
            self._pool = EncoderPool(self.encoder.model_path, self.encoder.batch_size, self.encoder.variant, workers,
                                     self.encoder.device)
            self.workers = workers

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self._pool is None and self.setting != "auto":
            self.expect(len(texts))  # a caller that never said how many: a fixed worker count still applies
        if self._pool is None:
            return self.encoder.encode_documents(texts)
        return self._pool.encode(texts)

    def close(self, failed: bool = False) -> None:
        if self._pool is not None:
            self._pool.close(failed=failed)

    def __enter__(self) -> "PoolEmbedder":
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self.close(failed=kind is not None)

