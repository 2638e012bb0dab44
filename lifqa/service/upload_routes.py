"""Uploads into a served corpus: ``POST /documents`` saves papers and queues an incremental build,
``GET /builds/{id}`` reports on it.

The build side of the service: lifqa.service.server adds these routes to the query API of
lifqa.service.api, which imports nothing from here.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from lifqa.service.builds import BuildStatus, Builds
from lifqa.service.config import ServeConfig

_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


def upload_folder(config: ServeConfig, manifest: dict[str, Any]) -> tuple[Path | None, str]:
    """The corpus folder uploads go into, or None and why there is none."""
    from lifqa.library.zotero import is_zotero_folder

    recorded = manifest.get("corpus", {}).get("path") if isinstance(manifest.get("corpus"), dict) else None
    corpus = config.corpus_dir or (Path(recorded) if recorded else None)
    if corpus is None:
        return None, "the index does not record its corpus folder; start the server with --corpus FOLDER to accept uploads"
    if not corpus.is_dir():
        return None, f"the corpus {corpus} is not a folder; uploads need a folder of documents (start with --corpus FOLDER)"
    if is_zotero_folder(corpus):
        return None, f"the corpus {corpus} is a Zotero data folder; add papers to it through Zotero"
    return corpus, ""


def add_upload_routes(app: FastAPI) -> None:
    """``POST /documents`` and ``GET /builds/{id}`` on the API of lifqa.service.api.create_app. Uploads are
    accepted when the served index has a corpus folder; otherwise each one is a 409 that says why."""
    config, slot = app.state.config, app.state.slot
    corpus, no_uploads = upload_folder(config, slot.engine.manifest)
    builds = Builds(corpus, config.index_dir, slot) if corpus is not None else None
    app.state.builds, app.state.no_uploads = builds, no_uploads

    @app.post("/documents", status_code=202, summary="Add papers to the corpus; an incremental build follows",
              openapi_extra=_UPLOAD_BODY)
    async def documents(request: Request, response: Response) -> dict[str, Any]:
        if builds is None:
            raise HTTPException(409, f"this server does not accept uploads: {no_uploads}")
        from lifqa.service.multipart import receive_files
        from lifqa.service.uploads import save_uploads

        incoming = await receive_files(request.stream(), request.headers.get("content-type", ""), builds.corpus,
                                       max_files=config.max_files, max_file_bytes=config.max_upload_bytes)
        saved = await anyio.to_thread.run_sync(save_uploads, builds.corpus, incoming)
        job = builds.submit(tuple(s.name for s in saved))
        response.headers["Location"] = f"/builds/{job.id}"
        return {"saved": [asdict(s) for s in saved], "build": asdict(job), "status_url": f"/builds/{job.id}"}

    @app.get("/builds/{build_id}", response_model=BuildStatus, summary="Progress and result of an upload's build")
    async def build_status(build_id: str) -> Any:
        status = builds.status(build_id) if builds is not None else None
        if status is None:
            raise HTTPException(404, f"no build '{build_id[:100]}' (builds are kept while the server runs)")
        return status


__all__ = ["add_upload_routes", "upload_folder"]
