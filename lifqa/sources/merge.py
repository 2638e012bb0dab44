"""One Document per work: identical texts indexed once, and a folder file that is a library item indexed as the item."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from lifqa.references import normalise_doi
from lifqa.types import Document


def merge_duplicates(docs: Iterable[Document]) -> tuple[list[Document], list[str]]:
    """Index identical texts once; the kept Document lists the other names."""
    by_hash: dict[str, Document] = {}
    order: list[str] = []
    warnings = []
    seen_ids: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen_ids:
            warnings.append(f"two documents share the id '{doc.doc_id}' ({doc.source_path}); the second was skipped. Give it a doc_id in the metadata file.")
            continue
        seen_ids.add(doc.doc_id)
        first = by_hash.get(doc.content_hash)
        if first is None:
            by_hash[doc.content_hash] = doc
            order.append(doc.content_hash)
            continue
        by_hash[doc.content_hash] = replace(first, also_named=first.also_named + (doc.metadata.get("file", doc.doc_id),))
        warnings.append(f"{doc.metadata.get('file', doc.doc_id)} has the same content as {first.metadata.get('file', first.doc_id)}; indexed once as '{first.doc_id}'")
    return [by_hash[h] for h in order], warnings


def one_per_item(items: list[Document], loose: list[Document], sha256: Callable[[Path], str]) -> tuple[list[Document], list[str]]:
    """A document file that is a library item (same DOI, or the same bytes as the item's attachment) is the item.
    ``sha256``: the build's file hash, which has already hashed every file involved."""
    if not items:
        return loose, []
    by_doi = {normalise_doi(d.metadata.get("doi")): i for i, d in enumerate(items) if normalise_doi(d.metadata.get("doi"))}
    by_hash = {d.content_hash: i for i, d in enumerate(items)}
    by_file: dict[str, int] = {}
    for i, d in enumerate(items):
        source = Path(d.source_path)
        if source.is_file():
            by_file[sha256(source)] = i
    kept, warnings = [], []
    for doc in loose:
        match = by_doi.get(normalise_doi(doc.metadata.get("doi"))) if normalise_doi(doc.metadata.get("doi")) else None
        why = "the same DOI"
        if match is None and doc.content_hash in by_hash:
            match, why = by_hash[doc.content_hash], "the same text"
        if match is None and doc.source_path and Path(doc.source_path).is_file():
            match, why = by_file.get(sha256(Path(doc.source_path))), "the same file"
        if match is None:
            kept.append(doc)
            continue
        item = items[match]
        name = doc.metadata.get("file", doc.doc_id)
        items[match] = replace(item, also_named=item.also_named + (str(name),))
        warnings.append(f"{name} has {why} as library item {item.doc_id}; indexed once, as the item")
    ids = {d.doc_id for d in items}
    for doc in kept:
        if doc.doc_id in ids:
            warnings.append(f"the document '{doc.doc_id}' has the id of a library item; the document was skipped. Rename the file.")
    return items + [d for d in kept if d.doc_id not in ids], warnings


__all__ = ["merge_duplicates", "one_per_item"]
