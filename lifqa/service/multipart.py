"""Receive uploaded files from a multipart/form-data request, streamed into the corpus folder.

Starlette's own form parser spools large files to the system temporary folder; this one
writes each file part straight into ``.lifqa/incoming`` inside the corpus (so nothing is
written elsewhere) and stops a file at the size limit instead of after it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from lifqa.service.config import size_text
from lifqa.service.uploads import Incoming, UploadError, UploadTooLarge, UnsupportedUpload, stage_file

FIELDS = ("files", "file")  # the form field names files may come under (curl -F files=@paper.pdf)


class _Part:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.name, self.filename = "", ""
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0


async def receive_files(stream: AsyncIterator[bytes], content_type: str, corpus: Path, *, max_files: int,
                        max_file_bytes: int) -> list[Incoming]:
    """Every file part of the body, staged in the corpus's incoming folder. On any error the staged files are removed."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UnsupportedUpload("send the files as multipart/form-data, e.g. curl -F files=@paper.pdf URL/documents")
    if not params.get(b"boundary"):
        raise UploadError("the multipart/form-data body has no boundary in its Content-Type header")
    parts: list[_Part] = []
    header: list[bytes] = [b"", b""]
    pending: list[tuple[_Part, bytes]] = []

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_headers_finished() -> None:
        part = parts[-1]
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options or part.name not in FIELDS:
            raise UploadError(f"unexpected form field '{part.name[:50]}'; send each file as a 'files' field, e.g. -F files=@paper.pdf")
        if sum(1 for p in parts if p.fd is not None or p.path is not None) >= max_files:
            raise UploadError(f"more than {max_files} files in one request; send them in several requests")
        part.filename = options[b"filename"].decode("utf-8", "replace")
        part.fd, part.path = stage_file(corpus, part.filename)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        if part.fd is None:
            return
        part.size += end - start
        if part.size > max_file_bytes:
            raise UploadTooLarge(f"{part.filename[:100]} is larger than the {size_text(max_file_bytes)} an upload may be (--max-upload-mb)")
        pending.append((part, data[start:end]))

    callbacks: Any = {"on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
                      "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data}
    parser = python_multipart.MultipartParser(params[b"boundary"], callbacks)

    def flush() -> None:
        for part, data in pending:
            os.write(part.fd, data)  # type: ignore[arg-type]
        pending.clear()

    try:
        async for chunk in stream:
            parser.write(chunk)
            await anyio.to_thread.run_sync(flush)  # disk writes off the event loop
        parser.finalize()
        flush()
    except BaseException as exc:
        _discard(parts)
        if isinstance(exc, FormParserError):
            raise UploadError("the multipart/form-data body is malformed") from None
        raise
    finally:
        for part in parts:
            if part.fd is not None:
                os.close(part.fd)
                part.fd = None
    files = [Incoming(p.filename, p.path, p.size) for p in parts if p.path is not None]
    if not files:
        raise UploadError("no files in the request; send one or more as 'files' fields, e.g. -F files=@paper.pdf")
    return files


def _discard(parts: list[_Part]) -> None:
    for part in parts:
        if part.fd is not None:
            os.close(part.fd)
            part.fd = None
        if part.path is not None:
            part.path.unlink(missing_ok=True)
