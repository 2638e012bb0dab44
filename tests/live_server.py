"""A real ``lifqa serve`` (uvicorn) on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx

from lifqa.service.config import ServeConfig
from lifqa.service.server import uvicorn_server


@dataclass(frozen=True)
class Live:
    url: str
    index: Path
    corpus: Path
    app: Any  # the FastAPI app (its state holds the engine slot and the builds)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


def copy_served(index: Path, corpus: Path, into: Path) -> tuple[Path, Path]:
    """A private copy of a built index and its corpus: uploads change them."""
    shutil.copytree(index, into / "index", ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(corpus, into / "corpus")
    return into / "index", into / "corpus"


@contextmanager
def live_server(index: Path, corpus: Path | None, **options: Any) -> Iterator[Live]:
    config = ServeConfig(index, corpus, port=0, **options)
    server = uvicorn_server(config, log_level="warning")
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(f"http://127.0.0.1:{port}", index, corpus, server.config.app)
    finally:
        server.should_exit = True
        thread.join(30)
