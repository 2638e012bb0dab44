"""What ``lifqa serve`` is told: where the index and corpus are, where to listen, and its limits.

Safe by default: it listens on 127.0.0.1. Any other address needs a token (``--token`` or
``LIFQA_API_TOKEN``), which every request must then carry; without one the server refuses
to start. Validation errors name the valid values, as the settings' do.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from lifqa.errors import InputError

LOOPBACK_NAMES = ("localhost",)
MIN_TOKEN = 16
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe())'"



def size_text(n: int) -> str:
    """A byte limit as a person reads it (the limits' messages)."""
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n / 1024:g} KB"

@dataclass(frozen=True)
class ServeConfig:
    index_dir: Path
    corpus_dir: Path | None = None  # None: the folder the index was built from (uploads need a folder)
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    max_json_bytes: int = 1 << 20  # bodies of /ask, /search and /batch
    max_upload_bytes: int = 100 << 20  # a /documents request, all its files together
    max_files: int = 20  # files in one /documents request
    request_seconds: float = 60.0  # one /ask or /search; a /batch gets this per question, up to max_batch_seconds
    max_batch: int = 1000  # questions in one /batch request
    max_batch_seconds: float = 3600.0
    threads: int = 4  # requests answered at once (the engine is shared between threads)
    watch_seconds: float = 2.0  # how often the index's CURRENT pointer is checked for a build published elsewhere

    def __post_init__(self) -> None:
        checks = [
            (1 <= self.port <= 65535 or self.port == 0, f"port {self.port} is out of range: use 1-65535"),
            (self.max_json_bytes >= 1024, "max_json_bytes must be at least 1024"),
            (self.max_upload_bytes >= 1024, "--max-upload-mb must be positive"),
            (1 <= self.max_files <= 1000, f"max_files={self.max_files}: use 1-1000"),
            (0 < self.request_seconds <= 3600, f"--request-seconds {self.request_seconds}: use more than 0 and at most 3600"),
            (1 <= self.max_batch <= 100_000, f"max_batch={self.max_batch}: use 1-100000"),
            (1 <= self.threads <= 64, f"--threads {self.threads}: use 1-64"),
            (0.05 <= self.watch_seconds <= 3600, f"watch_seconds={self.watch_seconds}: use 0.05-3600"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        check_bind(self.host, self.token)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def check_bind(host: str, token: str | None) -> None:
    """Refuse, in one line, to listen beyond this machine without a token, or with a guessable one."""
    if token is not None and len(token) < MIN_TOKEN:
        raise InputError(f"the API token is {len(token)} characters; use at least {MIN_TOKEN}, e.g. from: {TOKEN_HINT}")
    if not is_loopback(host) and not token:
        raise InputError(f"refusing to listen on {host} without a token: other machines could query and change the corpus. "
                         f"Set LIFQA_API_TOKEN (or --token), e.g. from: {TOKEN_HINT}, or listen on 127.0.0.1")


__all__ = ["ServeConfig", "check_bind", "is_loopback", "size_text"]
