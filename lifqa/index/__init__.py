"""The on-disk index: a folder of plain files (npy, json, SQLite, FAISS) plus a manifest."""

from lifqa.index.build import build_index, corpus_fingerprint
from lifqa.index.layout import active_build, read_manifest

__all__ = ["build_index", "corpus_fingerprint", "active_build", "read_manifest"]
