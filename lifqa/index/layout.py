"""Where an index lives on disk, and checking that it is whole.

``INDEX_DIR/CURRENT`` names the active build folder. A build is written to a
temporary folder and published by atomically replacing ``CURRENT``, so a build
killed at any moment leaves the previous index loadable.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lifqa.errors import IndexCorruptError, IndexMissingError

if TYPE_CHECKING:
    from lifqa.settings import Settings

# 2: documents carry pages and sections; chunks carry pages. 3: per-row arrays as npy, read on demand.
# 4: chunks carry their passage flags, judged at build (a query no longer analyses documents).
FORMAT_VERSION = 4
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
BM25_DIR = "bm25"
FAISS_FILE = "dense.faiss"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
RELIABILITY = "reliability.json"
CHUNK_DOC = "chunk_doc.npy"  # document index (into documents.json) of each chunk row
CHUNK_SENTENCES = "chunk_sentences.npy"
SENTENCE_SPANS = "sentence_spans.npy"
SENTENCE_HEADING = "sentence_heading.npy"
DOCUMENTS = "documents.json"  # doc ids, tiers, and the documents of each flag kind, tag and collection

# Files from this size are checked at open by their size and a digest of SAMPLE_BLOCKS evenly spread
# blocks, recorded at build time: sha256 of a multi-GB index takes longer than the 5 s an open may take.
# ``verify="full"`` (``lifqa verify``) hashes every byte.
SAMPLE_FROM = 64 * 1024 * 1024
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_SIZE = 64 * 1024

def build_hint(index_dir: Path, manifest: dict[str, Any] | None = None) -> str:
    """The command that rebuilds an index, naming the corpus its manifest recorded when there is one."""
    recorded = (manifest or {}).get("corpus")
    corpus = recorded.get("path") if isinstance(recorded, dict) else None
    return f"lifqa index --corpus {shlex.quote(str(corpus)) if corpus else 'CORPUS_DIR'} --index {shlex.quote(str(index_dir))}"


def active_build(index_dir: str | Path) -> Path:
    """The folder of the published build, or a clear error naming the build command."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexMissingError(f"no index in {index_dir}. Build it with: {build_hint(index_dir)}")
    name = pointer.read_text(encoding="utf-8", errors="replace").strip()
    build = index_dir / name
    if not name.startswith("build-") or "/" in name or not build.is_dir():
        raise IndexCorruptError(f"{pointer} points to a missing build '{name}'. Rebuild with: {build_hint(index_dir)}")
    return build


def read_manifest(build: Path) -> dict[str, Any]:
    path = build / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing. Rebuild with: {build_hint(build.parent)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}). Rebuild with: {build_hint(build.parent)}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path} is damaged (not a JSON object). Rebuild with: {build_hint(build.parent)}")
    return manifest


def file_checksums(build: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file of a build except the manifest itself; large files also get a sampled digest."""
    out = {}
    for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != MANIFEST):
        entry: dict[str, Any] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
        if entry["size"] >= SAMPLE_FROM:
            entry["sample_sha256"] = sampled_sha256(path)
        out[path.relative_to(build).as_posix()] = entry
    return out


def sampled_sha256(path: Path) -> str:
    """sha256 over the size and SAMPLE_BLOCKS blocks spread evenly over the file (first and last included)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    last = max(0, size - SAMPLE_BLOCK_SIZE)
    with path.open("rb") as handle:
        for i in range(SAMPLE_BLOCKS):
            handle.seek(last * i // (SAMPLE_BLOCKS - 1))
            digest.update(handle.read(SAMPLE_BLOCK_SIZE))
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks: the one file hash (builds, libraries, models, uploads)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_files(build: Path, manifest: dict[str, Any], full: bool = False) -> None:
    """Refuse a build whose files differ from what its manifest recorded. Every file's size is checked,
    and its sha256; a file of SAMPLE_FROM bytes or more by its sampled digest instead unless ``full``."""
    hint = build_hint(build.parent, manifest)
    recorded = manifest.get("files")
    if not isinstance(recorded, dict) or not recorded:
        raise IndexCorruptError(f"{build / MANIFEST} lists no files; the index is incomplete. Rebuild with: {hint} --force")
    for name, expected in recorded.items():
        path = build / name
        if not path.is_file():
            raise IndexCorruptError(f"index file {path} is missing. Rebuild with: {hint} --force")
        size = path.stat().st_size
        if size != expected.get("size"):
            raise IndexCorruptError(
                f"index file {path} has {size} bytes but the manifest recorded {expected.get('size')} (truncated or altered). "
                f"Rebuild with: {hint} --force"
            )
        sampled = not full and size >= SAMPLE_FROM and "sample_sha256" in expected
        if (sampled_sha256(path) != expected["sample_sha256"]) if sampled else (file_sha256(path) != expected.get("sha256")):
            raise IndexCorruptError(f"index file {path} does not match its recorded checksum (altered). Rebuild with: {hint} --force")


def map_rows(path: Path) -> np.ndarray:
    """An npy file of vectors, memory-mapped read-only and advised for random access (MADV_RANDOM): a query reads a
    few scattered rows, and the kernel's default read-ahead pulls whole neighbourhoods in with each (800 questions
    to a million passages, served cold, left 2.5 GB of the files resident without the advice and 1.3 GB with it)."""
    with path.open("rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{path.name}: npy format {version} is not one lifqa writes")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(handle)
        offset = handle.tell()
        count = int(np.prod(shape))
        if count == 0:  # nothing to map
            empty = np.zeros(shape, dtype=dtype)
            empty.flags.writeable = False
            return empty
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, dtype=dtype, count=count, offset=offset).reshape(shape, order="F" if fortran_order else "C")


# settings added after indexes existed, with the value such an index was built with
LEGACY_SETTINGS = {"encoder": "auto", "sentence_pooling": "encode", "chunk_vectors": "encode"}


def check_compatible(build: Path, manifest: dict[str, Any], settings: "Settings") -> None:
    """Refuse an index made with another format, model or chunking than the settings ask for."""
    hint = f"rebuild with: {build_hint(build.parent, manifest)} --force"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {build.parent} has format {manifest.get('format_version')}, this lifqa reads format {FORMAT_VERSION}; {hint}")
    recorded = manifest.get("settings", {})
    for name, wanted in settings.index_fingerprint().items():
        if name not in recorded and LEGACY_SETTINGS.get(name, object()) == wanted:
            continue  # an index from before the setting existed was built the default way (its variant: the manifest's)
        if recorded.get(name) != wanted:
            raise IndexCorruptError(f"the index in {build.parent} was built with {name}={recorded.get(name)!r}, but the settings ask for {wanted!r}; {hint}")


def fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def modules_fingerprint(names: tuple[str, ...]) -> str:
    """sha256 over the source of lifqa modules (paths relative to the package): changes when their code does."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in names:
        path = package / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
