"""What every build cache shares: one SQLite file beside the builds that is only ever a cache.

A file that cannot be opened, fails SQLite's quick check or holds another format is set aside
(renamed ``*.damaged``) with a warning, and a new one is started: the build does the work again.
After a build a cache keeps only the keys that build used, so it never outgrows one index.
Used by the document cache, the embedding cache and the library item cache; one build at a
time writes to each (the build lock).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)


class SqliteCache:
    """Subclasses say what they are (``kind``), how a file is prepared (``_create``) and checked (``_open``)."""

    kind = "cache"  # names the cache in the warning about a damaged file
    after_damage = ""  # what the warning adds about the work done again

    def __init__(self, path: Path | None) -> None:
        """``path`` None: a cache that holds nothing (every lookup misses)."""
        self.path = path
        self.warnings: list[str] = []
        self._con = self._connect() if path is not None else None

    def _create(self, con: sqlite3.Connection) -> None:
        """Make the tables of a new (or emptied) file; run on every file that could not be used."""
        raise NotImplementedError

    def _open(self, con: sqlite3.Connection) -> None:
        """Prepare an existing file; raise sqlite3.DatabaseError if it cannot be used."""
        self._create(con)
        con.execute("PRAGMA quick_check").fetchone()

    def _connect(self) -> sqlite3.Connection | None:
        assert self.path is not None
        con = None
        try:
            con = sqlite3.connect(self.path)
            self._open(con)
            return con
        except sqlite3.DatabaseError as exc:
            if con is not None:
                con.close()
            damaged = self.path.with_suffix(".damaged")
            if self.path.exists():
                self.path.replace(damaged)
            self.warnings.append(f"{self.kind} {self.path} could not be used ({exc}); set aside as {damaged.name}{self.after_damage}")
            log.warning(self.warnings[-1])
            try:
                con = sqlite3.connect(self.path)
                self._create(con)
                return con
            except sqlite3.DatabaseError:
                return None

    def _give_back_space(self, dropped: int) -> None:
        """Commit a deletion of unused rows and give the space back if any went. Each cache runs its own DELETE: SQL
        stays a constant string (tests/test_robustness.py checks every execute)."""
        assert self._con is not None
        self._con.commit()
        if dropped:
            self._con.execute("VACUUM")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self):  # noqa: ANN204 - the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SqliteCache"]
