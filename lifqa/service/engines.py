"""The engine a server answers with, and its replacement when a new build is published.

Requests read :attr:`EngineSlot.engine` once and use that engine to the end, so a
request never mixes two indexes. When a build is published (by an upload's build, see
lifqa.service.builds, or by another process: ``lifqa index``, the app), a new engine is opened
beside the old one and put in the slot in one assignment; the server checks the index's
CURRENT pointer every few seconds. Requests already running finish on the old
engine: its files stay readable after the build removes its folder (open handles and
memory maps outlive the unlink; see lifqa.index.store.Store).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from lifqa.errors import LifqaError

log = logging.getLogger(__name__)


class EngineSlot:
    """Holds the current engine; :meth:`refresh` replaces it, atomically, by one on the published build."""

    def __init__(self, engine: Any, index_dir: Path, open_engine: Callable[[], Any]) -> None:
        self._engine = engine
        self.index_dir, self._open = index_dir, open_engine
        self._lock = threading.Lock()
        self._failed: str | None = None  # a published build that would not open: not retried
        self.swaps = 0

    @property
    def engine(self) -> Any:
        return self._engine  # one reference read: a request holds on to the engine it got

    def refresh(self) -> bool:
        """Serve the published build if it is not the one served (built here, by ``lifqa index`` or by the app); True if swapped."""
        from lifqa.index.layout import active_build

        with self._lock:
            try:
                published = active_build(self.index_dir).name
            except LifqaError:
                return False
            if published in (self._engine.build.name, self._failed):
                return False
            try:
                engine = self._open()
            except LifqaError as exc:
                self._failed = published
                log.warning("the published build %s cannot be opened (%s); still serving %s", published, exc, self._engine.build.name)
                return False
            self._engine = engine  # the swap: one assignment
            self.swaps += 1
            return True


__all__ = ["EngineSlot"]
