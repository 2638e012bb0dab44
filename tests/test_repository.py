"""The repository speaks of lifqa only: no absolute machine paths and no wording about who ran what when."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SKIPPED_DIRS = {".git", ".venv", "indexes", "__pycache__", ".pytest_cache", ".hypothesis", "test-artifacts", "build"}
_BINARY = {".png", ".pdf", ".npy", ".sqlite", ".faiss", ".onnx", ".bin", ".safetensors"}

# a path on the machine that ran something (the work, root or home folders at the top of the file system), not a URL's path or a relative one
MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(?:work|root|home)/[\w.]")
# how the work was organised, which belongs to git history, not to the product
ORGANISATION = re.compile(r"\b[Ss]ession \d+\b|\bother agent(?:s)?\b|\banother [s]ession\b|\bthe lea[d]'s\b|\bhelper's (?:branch|run|text)\b|"
                          r"\bwork periods?\b")


def tracked_files() -> list[Path]:
    """The files git tracks; outside a checkout, every file of the tree but the generated folders."""
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
        return [ROOT / name for name in listed.decode("utf-8").split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if p.is_file() and not _SKIPPED_DIRS & set(p.relative_to(ROOT).parts)]


def _texts() -> list[tuple[str, str]]:
    out = []
    for path in tracked_files():
        if path.suffix.lower() in _BINARY or not path.is_file():
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:4096]:
            continue
        out.append((path.relative_to(ROOT).as_posix(), raw.decode("utf-8", errors="replace")))
    return out


def test_the_checks_find_what_they_look_for():
    root = "/" + "root"  # spelled in two pieces so that this file passes its own check
    assert MACHINE_PATH.search(f'DATA = Path("/{"work"}/shared/eval")') and MACHINE_PATH.search(f"see {root}/.cache/x")
    assert not MACHINE_PATH.search("https://example.org/home/page and ../shared/eval and ~/Zotero")
    assert ORGANISATION.search("Re-measured after sess" + "ion 14's changes") and ORGANISATION.search("four other " + "agents")
    assert not ORGANISATION.search("an HTTP session; the SQLite session cache")


def test_no_absolute_machine_path_in_the_repository():
    found = [f"{name}:{n}: {line.strip()[:120]}" for name, text in _texts()
             for n, line in enumerate(text.splitlines(), 1) if MACHINE_PATH.search(line)]
    assert not found, "write paths relative to the repository (or ../shared):\n" + "\n".join(found)


def test_no_wording_about_how_the_work_was_organised():
    found = [f"{name}:{n}: {line.strip()[:120]}" for name, text in _texts()
             for n, line in enumerate(text.splitlines(), 1) if ORGANISATION.search(line)]
    assert not found, "say it as a fact about lifqa, or leave it to git history:\n" + "\n".join(found)
