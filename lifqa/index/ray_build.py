"""Index builds on a Ray cluster: reading, chunking and embedding as Ray Data pipelines.

The build itself (`lifqa.index.build.build_index`) is the same as a local one; only where the
per-document work and the embedding run changes, so a Ray build publishes the same index:
same documents and chunks, vectors from the same :class:`lifqa.encoder.Encoder` class (one per
actor, loaded once), BM25 built from the same texts. Embedding goes through the index's
embedding cache like a local build, so a rebuild sends only new text to the cluster.

Ray is optional (``pip install 'lifqa[ray]'``). ``address=None`` starts a local cluster
on this machine's cores; ``"auto"`` or ``"ray://host:10001"``/``"host:6379"`` joins a running one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lifqa.index.build import DocChunks, chunk_one
from lifqa.ray_cluster import connect
from lifqa.readers import ReaderLimits, read_path
from lifqa.sources import CorpusScan, SourcesReport, read_sources
from lifqa.types import Document

log = logging.getLogger(__name__)

READ_BATCH = 16  # files per reading task
CHUNK_BATCH = 32  # documents per chunking task
EMBED_BATCH = 256  # texts per embedding call on an actor
# Texts per pipeline: all of a build's missing texts in one, because every pipeline starts its own actors
# (each loading the model), and on a small cluster a new pipeline can wait for the previous one's actors to
# be released. The price: a Ray build commits its vectors to the embedding cache when embedding ends.
RAY_BLOCK = 1 << 40


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object column (np.asarray would turn equal-length tuples into a 2-d array). Ray carries the
    objects between its processes itself; lifqa never pickles or unpickles anything."""
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        column[i] = value
    return column


def _rows(items: list[Any]) -> list[dict[str, Any]]:
    return [{"i": i, "item": item} for i, item in enumerate(items)]


def _in_order(rows: list[dict[str, Any]]) -> list[Any]:
    return [row["item"] for row in sorted(rows, key=lambda row: int(row["i"]))]


def _read_batch(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """Ray task: read files with the same reader as a local build -> (documents, warnings) each."""
    out = []
    for path, rel, meta, limits in batch["item"]:
        out.append(read_path(Path(path), rel, meta, limits))
    return {"i": batch["i"], "item": _objects(out)}


def _chunk_batch(batch: dict[str, np.ndarray], chunk_size: int, chunk_overlap: int) -> dict[str, Any]:
    """Ray task: chunk documents (the same per-document function as a local build)."""
    return {"i": batch["i"], "item": _objects([chunk_one(doc, chunk_size, chunk_overlap) for doc in batch["item"]])}


class EmbedWorker:
    """Ray actor: loads the encoder once, then embeds batch after batch (Ray Data's callable-class shape)."""

    def __init__(self, model_path: str | None, batch_size: int, variant: str) -> None:
        from lifqa.encoder import Encoder

        self.encoder = Encoder(model_path, batch_size, variant)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        vectors = self.encoder.encode_documents([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": list(vectors)}


class RayRunner:
    """The Ray counterpart of ``lifqa.index.build.LocalRunner``."""

    def __init__(self, address: str | None = None, workers: int | None = None, num_cpus: int | None = None) -> None:
        self.ray = connect(address, num_cpus)
        self.workers = workers or max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def _dataset(self, items: list[Any], per_block: int) -> Any:
        return self.ray.data.from_items(_rows(items), override_num_blocks=max(1, min(len(items), -(-len(items) // per_block))))

    def read(self, sources: CorpusScan, metadata_path: str | Path | None, limits: ReaderLimits, cache_dir: Path) -> SourcesReport:
        """The corpus reader of a local build, with a folder's files read on the cluster (PDF, XML, text alike);
        a library's item list and a BEIR file are read by the driver."""
        return read_sources(sources, metadata_path, cache_dir=cache_dir, limits=limits, read_files=self._read_files)

    def _read_files(self, jobs: list[tuple[Path, str, dict[str, Any]]], limits: ReaderLimits) -> list[tuple[list[Any], list[str]]]:
        if not jobs:
            return []
        items = [(str(path), rel, meta, limits) for path, rel, meta in jobs]
        return _in_order(self._dataset(items, READ_BATCH).map_batches(_read_batch, batch_size=READ_BATCH).take_all())

    def chunk(self, documents: list[Document], chunk_size: int, chunk_overlap: int) -> list[DocChunks]:
        dataset = self._dataset(documents, CHUNK_BATCH)
        return _in_order(dataset.map_batches(_chunk_batch, batch_size=CHUNK_BATCH,
                                           fn_kwargs={"chunk_size": chunk_size, "chunk_overlap": chunk_overlap}).take_all())

    def embedder(self, encoder: Any) -> Callable[[list[str]], np.ndarray]:
        """Embeds on ``workers`` actors, each holding an encoder of the same model and variant as ``encoder``."""
        def embed(texts: list[str]) -> np.ndarray:
            if not texts:
                return np.zeros((0, encoder.dim), dtype=np.float32)
            dataset = self.ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)],
                                               override_num_blocks=max(1, min(len(texts) // EMBED_BATCH + 1, 4 * self.workers)))
            rows = dataset.map_batches(
                EmbedWorker, batch_size=EMBED_BATCH, num_cpus=1,
                compute=self.ray.data.ActorPoolStrategy(size=min(self.workers, -(-len(texts) // EMBED_BATCH))),
                fn_constructor_kwargs={"model_path": encoder.model_path, "batch_size": encoder.batch_size,
                                       "variant": encoder.variant},
            ).take_all()
            out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
            for row in rows:
                out[int(row["row"])] = np.asarray(row["vector"], dtype=np.float32)
            return out

        embed.block = RAY_BLOCK  # type: ignore[attr-defined]
        return embed
