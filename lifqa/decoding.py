"""A text file's bytes as str: UTF-8, else Windows-1252 or Latin-1; binary files refused.

Shared by the readers (which read every text source with it) and the reliability rules (which
read the raw file again to quote what normalisation removed), so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path


def decode_file(path: Path) -> tuple[str | None, str | None]:
    """Decode bytes as UTF-8, falling back to Windows-1252/Latin-1; refuse binary files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"skipped {path.name}: cannot read it ({exc.strerror})"
    if b"\x00" in data[:65536] or _looks_binary(data[:65536]):
        return None, f"skipped {path.name}: it looks like a binary file, not text (convert it to .txt/.md/.html first)"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), f"{path.name} is not valid UTF-8; decoded it as {encoding}"
        except UnicodeDecodeError:
            continue
    return None, f"skipped {path.name}: it cannot be decoded as text"  # unreachable: latin-1 decodes anything


_CONTROLS = bytes(b for b in range(32) if b < 9 or 13 < b)  # control bytes that text files do not hold


def _looks_binary(head: bytes) -> bool:
    """More than 5 % control bytes. Counted by bytes.translate in C: a loop over 64 KiB in Python took 1 ms a file."""
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROLS))
    return controls / len(head) > 0.05
