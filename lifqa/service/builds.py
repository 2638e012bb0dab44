"""Incremental builds of a served corpus after uploads, one at a time, each ending in an engine swap.

A build runs in one background thread (builds queue, one at a time); when it publishes a
new index, :meth:`lifqa.service.engines.EngineSlot.refresh` puts an engine on it in the slot.
The build side is imported only when a build runs: a server that never builds never loads it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lifqa.errors import LifqaError
from lifqa.service.engines import EngineSlot

log = logging.getLogger(__name__)

BUILD_STATES = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class BuildStatus:
    """What ``GET /builds/{id}`` reports about one incremental build."""

    id: str
    state: str  # one of BUILD_STATES
    files: tuple[str, ...]  # the uploads that asked for this build
    stage: str = "waiting for an earlier build"
    fraction: float = 0.0
    created_at: str = ""
    finished_at: str | None = None
    seconds: float | None = None
    build: str | None = None  # the published build folder, once done
    rebuilt: bool | None = None
    documents: int | None = None  # documents in the index after the build
    added: tuple[str, ...] = ()  # doc ids the build added
    removed: tuple[str, ...] = ()  # doc ids the build dropped
    warnings: tuple[str, ...] = ()  # the build's warnings about the uploaded files
    error: str | None = None


class Builds:
    """Incremental builds of one index from its corpus folder, one at a time, each ending in an engine swap."""

    def __init__(self, corpus: Path, index_dir: Path, slot: EngineSlot, keep: int = 200) -> None:
        self.corpus, self.index_dir, self.slot = corpus, index_dir, slot
        self._jobs: dict[str, BuildStatus] = {}
        self._lock = threading.Lock()
        self._keep = keep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifqa-build")

    def submit(self, files: tuple[str, ...]) -> BuildStatus:
        job = BuildStatus(id=uuid.uuid4().hex[:16], state="queued", files=files, created_at=_now())
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:  # forget the oldest finished builds
                oldest = next((k for k, v in self._jobs.items() if v.state in ("done", "failed")), None)
                if oldest is None:
                    break
                del self._jobs[oldest]
        self._pool.submit(self._run, job.id)
        return job

    def status(self, build_id: str) -> BuildStatus | None:
        with self._lock:
            return self._jobs.get(build_id)

    def wait(self, build_id: str, timeout: float) -> BuildStatus | None:
        """The build's status once finished (or at the timeout): for tests and the app."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(build_id)
            if status is None or status.state in ("done", "failed"):
                return status
            time.sleep(0.05)
        return self.status(build_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _update(self, build_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[build_id] = replace(self._jobs[build_id], **changes)

    def _run(self, build_id: str) -> None:
        started = time.perf_counter()
        self._update(build_id, state="running", stage="starting")
        files = self.status(build_id).files  # type: ignore[union-attr]
        try:
            from lifqa.index.build import build_index  # the build side, only now
            from lifqa.settings import make_settings

            old = self.slot.engine
            settings = make_settings(**old.manifest.get("settings", {}))
            result = build_index(self.corpus, self.index_dir, settings,
                                 progress=lambda stage, fraction: self._update(build_id, stage=stage, fraction=round(fraction, 3)))
            changes: dict[str, Any] = {"rebuilt": result.rebuilt, "build": result.build_dir.name,
                                       "documents": result.manifest.get("counts", {}).get("documents"),
                                       "warnings": tuple(w for w in result.warnings if any(name in w for name in files))}
            if result.rebuilt:
                self._update(build_id, stage="opening the new index", fraction=0.99)
                self.slot.refresh()  # a no-op if the watcher (lifqa.service.api) got there first
                before, after = set(old.store.doc_ids), set(self.slot.engine.store.doc_ids)
                changes.update(added=tuple(sorted(after - before)), removed=tuple(sorted(before - after)))
            self._update(build_id, state="done", stage="done", fraction=1.0, **changes)
        except LifqaError as exc:
            self._update(build_id, state="failed", stage="failed", error=str(exc))
        except Exception as exc:  # a bug or a disk problem: reported on the build, logged with its traceback
            log.exception("build %s failed", build_id)
            self._update(build_id, state="failed", stage="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._update(build_id, finished_at=_now(), seconds=round(time.perf_counter() - started, 3))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["BUILD_STATES", "BuildStatus", "Builds"]
