"""Library filters: keep sources by their library tags and collections (``--tag``, ``--collection``).

Matching is case-insensitive. A collection is stored as its path ("Signalling/Receptors");
asking for "Signalling" also keeps items of its subcollections, and a leaf name
("Receptors") matches wherever that collection sits.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from lifqa.errors import InputError


def split_values(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Values from repeated or comma-separated options, stripped, duplicates dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        for part in str(value).split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return tuple(out)


def _values(metadata: Mapping[str, Any], key: str) -> list[str]:
    value = metadata.get(key) or []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def known(documents: Iterable[Any], key: str) -> list[str]:
    """Every tag (key="tags") or collection path (key="collections") of the documents, sorted."""
    return sorted({v for doc in documents for v in _values(doc.metadata, key)}, key=str.lower)


def collection_matches(path: str, wanted: str) -> bool:
    path, wanted = path.lower().strip("/"), wanted.lower().strip("/")
    return path == wanted or path.startswith(wanted + "/") or path.rsplit("/", 1)[-1] == wanted


def check_known(present_tags: Iterable[str], present_collections: Iterable[str], tags: tuple[str, ...], collections: tuple[str, ...]) -> None:
    """An unknown tag or collection is an error naming the ones this index has (a typo should not silently match nothing)."""
    for what, key, asked, present in (("tag", "tags", tags, present_tags), ("collection", "collections", collections, present_collections)):
        present = sorted(set(present), key=str.lower)
        for value in asked:
            hit = any(value.lower() == p.lower() for p in present) if key == "tags" else any(collection_matches(p, value) for p in present)
            if not hit:
                listed = ", ".join(present[:30]) + (" ..." if len(present) > 30 else "") if present else "none (index a Zotero or BibTeX library to get them)"
                raise InputError(f"no source in this index has the {what} '{value}'. {what.capitalize()}s present: {listed}")


def library_documents(doc_tags: Mapping[str, Any], doc_collections: Mapping[str, Any], count: int,
                      tags: tuple[str, ...], collections: tuple[str, ...]) -> Any:
    """Boolean mask over ``count`` documents that :func:`keep` keeps, from the documents of each tag and
    collection path (index arrays), so an index need not read every document's metadata."""
    mask = np.ones(count, dtype=bool)
    if tags:
        wanted, chosen = {t.lower() for t in tags}, np.zeros(count, dtype=bool)
        for tag, docs in doc_tags.items():
            if tag.lower() in wanted:
                chosen[np.asarray(docs, dtype=np.int64)] = True
        mask &= chosen
    if collections:
        chosen = np.zeros(count, dtype=bool)
        for path, docs in doc_collections.items():
            if any(collection_matches(path, c) for c in collections):
                chosen[np.asarray(docs, dtype=np.int64)] = True
        mask &= chosen
    return mask
