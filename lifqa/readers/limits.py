"""Bounds on reading one untrusted file, in a module of its own so that every reader can import
them without importing the dispatch in ``lifqa.readers`` (which imports the readers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReaderLimits:
    """Bounds on one untrusted file (from Settings: pdf_max_pages, pdf_max_seconds)."""

    max_pages: int = 2000
    max_seconds: float = 120.0
