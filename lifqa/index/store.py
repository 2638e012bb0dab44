"""Documents, chunks and sentence spans: SQLite for texts and metadata, plain npy arrays for the per-row data.

An index of a million passages must open in seconds and fit in a few GB, so nothing holds a Python
object per chunk: the per-row arrays (which document each chunk belongs to, its sentence range, the
sentences' spans and heading marks) are memory-mapped ``.npy`` files, a few per-document lists come
from ``documents.json``, and a chunk's text, its passage flags or a document's record is read from
``store.sqlite`` by primary key when a query needs it (parameterised queries only), through a bounded cache.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from lifqa.errors import IndexCorruptError
from lifqa.index import layout
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
    page_start INTEGER NOT NULL DEFAULT 0, page_end INTEGER NOT NULL DEFAULT 0, page_label TEXT NOT NULL DEFAULT '',
    flags TEXT NOT NULL DEFAULT '[]'
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
                sentences: list[tuple[str, int, int, bool]], assessments: dict[str, tuple[str, list[Flag]]],
                chunk_flags: Sequence[Sequence[Flag]]) -> None:
    """``store.sqlite`` plus, beside it, the per-row arrays and per-document lists the engine maps at open.
    ``chunk_flags``: each chunk's passage flags (lifqa.reliability.passages), judged at build so a query only reads them."""
    if len(chunk_flags) != len(chunks):
        raise ValueError(f"{len(chunk_flags)} lists of passage flags for {len(chunks)} chunks")
    documents = list(documents)
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            ((d.doc_id, d.title, d.text, d.source_path, json.dumps(dict(d.metadata), ensure_ascii=False, default=str),
              d.content_hash, json.dumps(list(d.also_named)), json.dumps(list(d.noise), ensure_ascii=False),
              assessments.get(d.doc_id, ("unknown", []))[0],
              json.dumps([f.to_dict() for f in assessments.get(d.doc_id, ("unknown", []))[1]], ensure_ascii=False),
              _structure(d))
             for d in documents),
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ((row, c.chunk_id, c.doc_id, c.text, c.char_start, c.char_end, c.section, c.position, lo, hi,
              c.page_start, c.page_end, c.page_label, json.dumps([f.to_dict() for f in flags], ensure_ascii=False))
             for row, (c, (lo, hi), flags) in enumerate(zip(chunks, chunk_sentences, chunk_flags))),
        )
        con.executemany("INSERT INTO sentences VALUES (?,?,?,?,?)",
                        ((row, doc_id, s, e, int(h)) for row, (doc_id, s, e, h) in enumerate(sentences)))
        con.commit()
    finally:
        con.close()
    _write_arrays(path.parent, documents, chunks, chunk_sentences, sentences, assessments)


def _int_array(values: Iterable[int], count: int, width: int = 1) -> np.ndarray:
    """int32 where every value fits (it does below 2**31 sentences or characters), else int64."""
    flat = np.fromiter(values, dtype=np.int64, count=count * width)
    dtype = np.int32 if not len(flat) or (flat.min() >= np.iinfo(np.int32).min and flat.max() <= np.iinfo(np.int32).max) else np.int64
    return flat.astype(dtype).reshape((count, width) if width > 1 else (count,))


def _write_arrays(folder: Path, documents: list[Document], chunks: list[Chunk], chunk_sentences: list[tuple[int, int]],
                  sentences: list[tuple[str, int, int, bool]], assessments: dict[str, tuple[str, list[Flag]]]) -> None:
    index_of = {d.doc_id: i for i, d in enumerate(documents)}
    np.save(folder / layout.CHUNK_DOC, _int_array((index_of[c.doc_id] for c in chunks), len(chunks)))
    np.save(folder / layout.CHUNK_SENTENCES, _int_array((x for pair in chunk_sentences for x in pair), len(chunk_sentences), 2))
    np.save(folder / layout.SENTENCE_SPANS, _int_array((x for _, s, e, _ in sentences for x in (s, e)), len(sentences), 2))
    np.save(folder / layout.SENTENCE_HEADING, np.fromiter((bool(h) for *_, h in sentences), dtype=bool, count=len(sentences)))
    flags: dict[str, list[int]] = {}
    tags: dict[str, list[int]] = {}
    collections: dict[str, list[int]] = {}
    for i, doc in enumerate(documents):
        for kind in dict.fromkeys(f.kind for f in assessments.get(doc.doc_id, ("unknown", []))[1]):
            flags.setdefault(kind, []).append(i)
        for key, into in (("tags", tags), ("collections", collections)):
            value = doc.metadata.get(key) or []
            for item in dict.fromkeys(str(v) for v in (value if isinstance(value, (list, tuple)) else [value])):
                into.setdefault(item, []).append(i)
    (folder / layout.DOCUMENTS).write_text(json.dumps({
        "doc_ids": [d.doc_id for d in documents],
        "tiers": [assessments.get(d.doc_id, ("unknown", []))[0] for d in documents],
        "flags": flags, "tags": tags, "collections": collections,
    }, ensure_ascii=False), encoding="utf-8")


class _LRU:
    """A bounded, thread-safe cache (the engine is shared between threads)."""

    def __init__(self, size: int) -> None:
        self._size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# Constant SQL, values always bound as parameters (a list of rows as one JSON parameter).
_CHUNKS_BY_ROWS = ("SELECT row,chunk_id,doc_id,text,char_start,char_end,section,position,page_start,page_end,page_label "
                   "FROM chunks WHERE row IN (SELECT value FROM json_each(?))")
_CHUNKS_FROM = ("SELECT row,chunk_id,doc_id,text,char_start,char_end,section,position,page_start,page_end,page_label "
                "FROM chunks WHERE row >= ? AND row < ? ORDER BY row")
_ROW_OF_CHUNK = "SELECT row FROM chunks WHERE chunk_id = ?"
_FLAGS_OF_CHUNK = "SELECT flags FROM chunks WHERE chunk_id = ?"
_DOCUMENT = ("SELECT doc_id,title,text,source_path,metadata,content_hash,also_named,noise,tier,flags,structure "
             "FROM documents WHERE doc_id = ?")
_DOCUMENTS = ("SELECT doc_id,title,text,source_path,metadata,content_hash,also_named,noise,tier,flags,structure "
              "FROM documents ORDER BY rowid")
_ALIASES = "SELECT doc_id, also_named FROM documents WHERE also_named != '[]'"


def _chunk(row: tuple) -> Chunk:
    return Chunk(row[1], row[2], row[3], row[4], row[5], row[6] or "", row[7] or 0, row[8], row[9], row[10])


def _record(row: tuple) -> SourceRecord:
    structure = json.loads(row[10])
    doc = Document(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], tuple(json.loads(row[6])), tuple(json.loads(row[7])),
                   page_starts=tuple(structure.get("page_starts", ())), page_labels=tuple(structure.get("page_labels", ())),
                   sections=tuple(Section(*item) for item in structure.get("sections", ())))
    return SourceRecord(doc, row[8], tuple(Flag(**f) for f in json.loads(row[9])))


class Store:
    """The store of one build, read on demand. Per-row data are memory-mapped arrays; chunks and
    documents come from SQLite by primary key through a bounded cache.

    One read-only connection, shared by all threads under a lock: a point lookup takes microseconds,
    and a connection opened once keeps working after a newer build replaces (and deletes) this one,
    which a connection opened later by a new thread would not."""

    def __init__(self, build: Path, chunk_cache: int = 20_000, document_cache: int = 512) -> None:
        self.path = build / layout.STORE
        self._con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self.chunk_doc = np.load(build / layout.CHUNK_DOC, mmap_mode="r")  # document index of each chunk row
        self.chunk_sentences = np.load(build / layout.CHUNK_SENTENCES, mmap_mode="r")  # (n_chunks, 2) sentence rows [lo, hi)
        self.sentence_spans = np.load(build / layout.SENTENCE_SPANS, mmap_mode="r")  # (n_sentences, 2) char offsets in the document
        self.sentence_heading = np.load(build / layout.SENTENCE_HEADING, mmap_mode="r")  # (n_sentences,) bool
        meta = json.loads((build / layout.DOCUMENTS).read_text(encoding="utf-8"))
        self.doc_ids: list[str] = list(meta["doc_ids"])
        self.doc_index: dict[str, int] = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        self.doc_tiers: list[str] = list(meta["tiers"])
        self.doc_flags: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.int64) for k, v in meta["flags"].items()}
        self.doc_tags: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.int64) for k, v in meta["tags"].items()}
        self.doc_collections: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.int64) for k, v in meta["collections"].items()}
        self.n_chunks = int(len(self.chunk_doc))
        if not (len(self.doc_tiers) == len(self.doc_ids) and len(self.chunk_sentences) == self.n_chunks
                and len(self.sentence_spans) == len(self.sentence_heading)):
            raise ValueError("the store's arrays have inconsistent lengths")
        self._chunks, self._rows, self._documents = _LRU(chunk_cache), _LRU(chunk_cache), _LRU(document_cache)
        self._passage_flags = _LRU(chunk_cache)
        self.chunks = ChunkView(self)
        self.sources = SourceView(self)

    def _fetch(self, run: Callable[[sqlite3.Connection], sqlite3.Cursor]) -> list[tuple]:
        """Rows of ``run(connection)`` (one execute of a constant SQL string), under the connection's lock."""
        with self._lock:
            return run(self._con).fetchall()

    # ---- chunks -----------------------------------------------------------
    def chunks_at(self, rows: Iterable[int]) -> list[Chunk]:
        """The chunks of these rows, in the order given."""
        rows = [int(r) for r in rows]
        found = {r: self._chunks.get(r) for r in rows}
        missing = sorted({r for r, c in found.items() if c is None})
        if missing:
            for row in self._fetch(lambda con: con.execute(_CHUNKS_BY_ROWS, (json.dumps(missing),))):
                chunk = _chunk(row)
                found[row[0]] = chunk
                self._chunks.put(row[0], chunk)
                self._rows.put(chunk.chunk_id, row[0])
        if any(found[r] is None for r in rows):
            raise IndexError(f"no chunk row {next(r for r in rows if found[r] is None)} in {self.path}")
        return [found[r] for r in rows]

    def chunk(self, row: int) -> Chunk:
        return self.chunks_at([row])[0]

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk, by the UNIQUE index on chunk_id."""
        return int(self._lookup(self._rows, chunk_id, lambda con: con.execute(_ROW_OF_CHUNK, (chunk_id,)), lambda found: found[0]))

    def passage_flags(self, chunk_id: str) -> tuple[Flag, ...]:
        """The flags of one passage beyond its source's, as the build judged them (lifqa.reliability.passages)."""
        return self._lookup(self._passage_flags, chunk_id, lambda con: con.execute(_FLAGS_OF_CHUNK, (chunk_id,)),
                            lambda found: tuple(Flag(**f) for f in json.loads(found[0])))

    def _lookup(self, cache: Any, key: str, query: Callable[[sqlite3.Connection], sqlite3.Cursor], convert: Callable[[Any], Any]) -> Any:
        """One row by key through a cache; KeyError when the store has no such key. ``query`` runs a constant
        SQL string (tests/test_robustness.py checks every execute call site for that)."""
        value = cache.get(key)
        if value is None:
            found = self._fetch(query)
            if not found:
                raise KeyError(key)
            value = convert(found[0])
            cache.put(key, value)
        return value

    def iter_chunks(self, block: int = 4096) -> Iterator[Chunk]:
        """Every chunk in row order, read in blocks (not cached)."""
        for start in range(0, self.n_chunks, block):
            for row in self._fetch(lambda con: con.execute(_CHUNKS_FROM, (start, start + block))):
                yield _chunk(row)

    # ---- documents --------------------------------------------------------
    def source(self, doc_id: str) -> SourceRecord:
        """A document with its reliability judgement; KeyError when the index has no such document."""
        return self._lookup(self._documents, doc_id, lambda con: con.execute(_DOCUMENT, (doc_id,)), _record)

    def all_sources(self) -> list[SourceRecord]:
        """Every document, in build order (reads them all: for listing sources, not for queries)."""
        return [_record(row) for row in self._fetch(lambda con: con.execute(_DOCUMENTS))]

    def aliases(self) -> dict[str, tuple[str, ...]]:
        """Documents indexed once for several files: their ``also_named``."""
        return {doc_id: tuple(json.loads(names)) for doc_id, names in self._fetch(lambda con: con.execute(_ALIASES))}

    def close(self) -> None:
        with self._lock:
            self._con.close()


class ChunkView(Sequence):
    """``store.chunks``: the chunks by row, read from the store when indexed (no list held in memory)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.n_chunks

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._store.chunks_at(range(*index.indices(len(self))))
        row = int(index)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {index} out of range (0..{len(self) - 1})")
        return self._store.chunk(row)

    def __iter__(self) -> Iterator[Chunk]:
        return self._store.iter_chunks()


class SourceView(Mapping):
    """``store.sources``: doc_id -> SourceRecord, each read on demand; iterating yields the ids only."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, doc_id: str) -> SourceRecord:
        return self._store.source(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._store.doc_index

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.doc_ids)

    def __len__(self) -> int:
        return len(self._store.doc_ids)

    def values(self) -> Any:  # one query instead of one per document
        return self._store.all_sources()

    def items(self) -> Any:
        return [(r.document.doc_id, r) for r in self._store.all_sources()]


def open_store(build: Path) -> Store:
    return Store(build)


def load_index_reliability(index_dir: str | Path) -> tuple[list[SourceRecord], list[dict[str, Any]]]:
    """The stored sources and conflicts of a built index, checked against its manifest but without
    loading the encoder, so ``lifqa sources``/``conflicts`` answer at once."""
    build = layout.active_build(index_dir)
    manifest = layout.read_manifest(build)
    layout.verify_files(build, manifest)
    hint = f"Rebuild with: {layout.build_hint(Path(index_dir), manifest)} --force"
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {index_dir} has format {manifest.get('format_version')}, "
                                f"this lifqa reads format {layout.FORMAT_VERSION}. {hint}")
    try:
        store = open_store(build)
        try:
            sources = store.all_sources()
        finally:
            store.close()
        conflicts = json.loads((build / layout.RELIABILITY).read_text(encoding="utf-8")).get("conflicts", [])
    except Exception as exc:  # a file that passed the checksum but cannot be parsed
        raise IndexCorruptError(f"cannot read the reliability data in {build}: {exc}. {hint}") from None
    return sources, conflicts
