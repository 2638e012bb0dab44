"""ASGI middleware in front of every route: who may ask, from which page, and how much they may send.

- **Token**: when the server has one, every request needs ``Authorization: Bearer <token>``
  (compared in constant time), /docs and /health included.
- **Host**: a server without a token answers only requests addressed to a loopback name, so a
  web page cannot reach it through DNS rebinding (a name of the attacker's resolving to 127.0.0.1).
- **Origin**: a request a browser sends from another site's page (it carries that site's
  Origin) is refused: a form on any page could otherwise upload into the corpus.
- **Body size**: a declared Content-Length over the route's limit is refused before reading;
  a body that grows past it while streaming is cut off with the same 413.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

from lifqa.service.config import ServeConfig, is_loopback, size_text

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


async def send_error(send: Callable[[dict], Awaitable[None]], status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """A JSON error response in the API's one error shape: {"error": ..., "status": ...}."""
    body = json.dumps({"error": message, "status": status}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app: ASGIApp, config: ServeConfig, upload_paths: tuple[str, ...] = ("/documents",)) -> None:
        self.app, self.config, self.upload_paths = app, config, upload_paths

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._refusal(headers)
        if problem is not None:
            status, message, extra = problem
            await send_error(send, status, message, extra)
            return
        limit = self.config.max_upload_bytes if scope["path"].rstrip("/") in self.upload_paths else self.config.max_json_bytes
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await send_error(send, 413, _too_large(limit, scope["path"]))
            return
        await self.app(scope, _limited(receive, limit, scope["path"]), send)

    def _refusal(self, headers: dict[str, str]) -> tuple[int, str, dict[str, str]] | None:
        token = self.config.token
        if token:
            given = headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                why = "this server needs a token" if not given else "the token is wrong"
                return 401, f"{why}: send the header 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
        host = headers.get("host", "")
        if not token and not is_loopback(_hostname(host)):
            return 421, f"this server answers requests to 127.0.0.1 or localhost only, not to '{host[:100]}'", {}
        origin = headers.get("origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
            return 403, "requests from another site's web page are refused (Origin does not match Host)", {}
        if origin == "null":
            return 403, "requests from an opaque origin (a sandboxed page or a local file) are refused", {}
        return None


def _hostname(host: str) -> str:
    """'127.0.0.1' from '127.0.0.1:8765', '::1' from '[::1]:8765'."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _too_large(limit: int, path: str) -> str:
    what = "an upload request" if path.rstrip("/").endswith("/documents") else "a request body"
    return f"{what} may be at most {size_text(limit)} (the server's limit)"


def _limited(receive: Callable[[], Awaitable[dict]], limit: int, path: str) -> Callable[[], Awaitable[dict]]:
    """``receive`` that raises a 413 once the body passes ``limit`` bytes (a body sent without Content-Length)."""
    seen = 0

    async def limited() -> dict:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, _too_large(limit, path))
        return message

    return limited


__all__ = ["Guard", "send_error"]
