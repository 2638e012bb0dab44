"""Where an index lives on disk, and checking that it is whole.

``INDEX_DIR/CURRENT`` names the active build folder. A build is written to a
temporary folder and published by atomically replacing ``CURRENT``, so a build
killed at any moment leaves the previous index loadable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path
from typing import Any

from lifqa.errors import IndexCorruptError, IndexMissingError

FORMAT_VERSION = 2  # 2: documents carry pages and sections; chunks carry pages
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
BM25_DIR = "bm25"
FAISS_FILE = "dense.faiss"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
RELIABILITY = "reliability.json"

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
    """Size and sha256 of every file of a build except the manifest itself."""
    out = {}
    for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != MANIFEST):
        out[path.relative_to(build).as_posix()] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    return out


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:  # hashlib reads it in blocks
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_files(build: Path, manifest: dict[str, Any]) -> None:
    """Refuse a build whose files differ from what its manifest recorded."""
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
        if sha256_file(path) != expected.get("sha256"):
            raise IndexCorruptError(f"index file {path} does not match its recorded checksum (altered). Rebuild with: {hint} --force")


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
