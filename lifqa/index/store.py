"""Documents, chunks and sentence spans in one SQLite file (parameterised queries only)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from lifqa.types import Chunk, Document, Flag, Section


def _structure(doc: Document) -> str:
    """Pages and reader-known sections of a document, as stored."""
    return json.dumps({"page_starts": list(doc.page_starts), "page_labels": list(doc.page_labels),
                       "sections": [[s.title, s.start, s.end, s.kind] for s in doc.sections]}, ensure_ascii=False)

SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source_path TEXT,
    metadata TEXT NOT NULL, content_hash TEXT, also_named TEXT NOT NULL, noise TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'unknown', flags TEXT NOT NULL DEFAULT '[]', structure TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    text TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, section TEXT, position INTEGER,
    sent_lo INTEGER NOT NULL, sent_hi INTEGER NOT NULL,
    page_start INTEGER NOT NULL DEFAULT 0, page_end INTEGER NOT NULL DEFAULT 0, page_label TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    is_heading INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SourceRecord:
    """A document as stored, with its reliability judgement."""

    document: Document
    tier: str
    flags: tuple[Flag, ...]


def write_store(path: Path, documents: Iterable[Document], chunks: list[Chunk], chunk_sentences: list[tuple[int, int]],
                sentences: list[tuple[str, int, int, bool]], assessments: dict[str, tuple[str, list[Flag]]]) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(d.doc_id, d.title, d.text, d.source_path, json.dumps(dict(d.metadata), ensure_ascii=False, default=str),
              d.content_hash, json.dumps(list(d.also_named)), json.dumps(list(d.noise), ensure_ascii=False),
              assessments.get(d.doc_id, ("unknown", []))[0],
              json.dumps([f.to_dict() for f in assessments.get(d.doc_id, ("unknown", []))[1]], ensure_ascii=False),
              _structure(d))
             for d in documents],
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(row, c.chunk_id, c.doc_id, c.text, c.char_start, c.char_end, c.section, c.position, lo, hi,
              c.page_start, c.page_end, c.page_label)
             for row, (c, (lo, hi)) in enumerate(zip(chunks, chunk_sentences))],
        )
        con.executemany("INSERT INTO sentences VALUES (?,?,?,?,?)",
                        [(row, doc_id, s, e, int(h)) for row, (doc_id, s, e, h) in enumerate(sentences)])
        con.commit()
    finally:
        con.close()


@dataclass
class LoadedStore:
    """Everything the query path needs from the store, in memory."""

    chunks: list[Chunk]
    chunk_sentences: np.ndarray  # (n_chunks, 2) sentence row range [lo, hi)
    sentence_spans: np.ndarray  # (n_sentences, 2) char offsets in the document
    sentence_heading: np.ndarray  # (n_sentences,) bool
    sources: dict[str, SourceRecord]


def load_store(path: Path) -> LoadedStore:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        sources = {}
        for row in con.execute("SELECT doc_id,title,text,source_path,metadata,content_hash,also_named,noise,tier,flags,structure FROM documents"):
            structure = json.loads(row[10])
            doc = Document(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], tuple(json.loads(row[6])), tuple(json.loads(row[7])),
                           page_starts=tuple(structure.get("page_starts", ())), page_labels=tuple(structure.get("page_labels", ())),
                           sections=tuple(Section(*item) for item in structure.get("sections", ())))
            flags = tuple(Flag(**f) for f in json.loads(row[9]))
            sources[doc.doc_id] = SourceRecord(doc, row[8], flags)
        chunks, ranges = [], []
        for row in con.execute("SELECT chunk_id,doc_id,text,char_start,char_end,section,position,sent_lo,sent_hi,page_start,page_end,page_label FROM chunks ORDER BY row"):
            chunks.append(Chunk(row[0], row[1], row[2], row[3], row[4], row[5] or "", row[6] or 0, row[9], row[10], row[11]))
            ranges.append((row[7], row[8]))
        spans, heading = [], []
        for row in con.execute("SELECT char_start,char_end,is_heading FROM sentences ORDER BY row"):
            spans.append((row[0], row[1]))
            heading.append(bool(row[2]))
    finally:
        con.close()
    return LoadedStore(
        chunks=chunks,
        chunk_sentences=np.asarray(ranges, dtype=np.int64).reshape(-1, 2),
        sentence_spans=np.asarray(spans, dtype=np.int64).reshape(-1, 2),
        sentence_heading=np.asarray(heading, dtype=bool),
        sources=sources,
    )


def flags_from_json(items: list[dict[str, Any]]) -> tuple[Flag, ...]:
    return tuple(Flag(**item) for item in items)
