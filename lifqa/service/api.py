"""The HTTP JSON API of ``lifqa serve``: FastAPI routes over one engine slot.

Routes answer with the models of lifqa.schema (the ``ask --json`` shapes), errors with
``{"error": message, "status": code}`` and a 4xx for anything the client can fix, never a
traceback. Engine calls run in worker threads (at most ``threads`` at once) under the
per-request time limit. Every query response names the build that answered it in the
``X-Lifqa-Build`` header, so a client can tell when an upload has been indexed.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterator

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException

from lifqa import __version__
from lifqa.errors import InputError, LifqaError
from lifqa.schema import AnswerOut, HitOut, SourceOut, SourceTextOut
from lifqa.service.config import ServeConfig
from lifqa.service.engines import EngineSlot
from lifqa.service.guard import Guard
from lifqa.service.requests import AskRequest, BatchRequest, SearchRequest

log = logging.getLogger(__name__)

BUILD_HEADER = "X-Lifqa-Build"
_MEDIA = {"text": "text/plain", "markdown": "text/markdown", "bibtex": "application/x-bibtex",
          "ris": "application/x-research-info-systems", "csl-json": "application/vnd.citationstyles.csl+json"}


class _Service:
    """What the routes share: the engine slot and the limits."""

    def __init__(self, config: ServeConfig, slot: EngineSlot) -> None:
        self.config, self.slot = config, slot
        self.limiter: anyio.CapacityLimiter | None = None  # made in the server's event loop (lifespan)

    async def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` in a worker thread, at most ``threads`` at once, within the per-request time limit."""
        seconds = self.config.request_seconds
        try:
            with anyio.fail_after(seconds):
                return await anyio.to_thread.run_sync(fn, limiter=self.limiter, abandon_on_cancel=True)
        except TimeoutError:
            raise HTTPException(503, f"the request took longer than the server's limit of {seconds:g} s (--request-seconds)") from None


def create_app(config: ServeConfig, engine: Any = None) -> FastAPI:
    """The query API over the index of ``config`` (``engine``: one already open on it). Uploads are added by
    lifqa.service.upload_routes.add_upload_routes, so answering never imports the build side."""
    from lifqa.engine import Engine

    def open_engine() -> Any:
        return Engine.open(config.index_dir)

    slot = EngineSlot(engine if engine is not None else open_engine(), config.index_dir, open_engine)
    if slot.engine.settings.short_answer:  # ready before the first request that needs it
        from lifqa.answer.short import open_in_background

        open_in_background(slot.engine.settings.finetuned_runtime)
    service = _Service(config, slot)

    async def follow_published() -> None:  # builds of other processes (lifqa index, the app) are served too
        while True:
            await anyio.sleep(config.watch_seconds)
            await anyio.to_thread.run_sync(slot.refresh)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.limiter = anyio.CapacityLimiter(config.threads)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(follow_published)
            yield
            tasks.cancel_scope.cancel()
        if app.state.builds is not None:
            await anyio.to_thread.run_sync(app.state.builds.close)

    app = FastAPI(title="lifqa", version=__version__, lifespan=lifespan, docs_url=None,
                  description="Literature-grounded answers: verbatim sentences from your sources, each cited, each source "
                              "judged for reliability. The same JSON as `lifqa ask --json`.")
    app.state.slot, app.state.config = slot, config
    app.state.builds, app.state.no_uploads = None, "this server was started without uploads"  # see add_upload_routes
    app.add_middleware(Guard, config=config)
    _error_handlers(app)
    _query_routes(app, service)
    _source_routes(app, service)
    _docs_route(app)
    return app


def _docs_route(app: FastAPI) -> None:
    """Swagger UI at /docs from the files of the swagger-ui-bundle-v2 package: FastAPI's default page loads its script,
    style and icon from a CDN, which an offline machine cannot reach."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs/static", StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="lifqa API",
                                   swagger_js_url="/docs/static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/static/swagger-ui.css",
                                   swagger_favicon_url="/docs/static/favicon-32x32.png")


def _query_routes(app: FastAPI, service: _Service) -> None:
    slot, run = service.slot, service.run

    @app.post("/ask", response_model=AnswerOut, summary="Answer a question with cited verbatim sentences",
              responses={200: {"content": {media: {} for media in _MEDIA.values()}}})
    async def ask(body: AskRequest, response: Response) -> Any:
        engine = slot.engine
        answer = await run(lambda: engine.ask(body.question, **body.engine_options()))
        headers = {BUILD_HEADER: engine.build.name}
        if body.format == "json":
            response.headers.update(headers)
            return AnswerOut.of(answer)
        if body.format == "text":
            from lifqa.render import answer_text

            text = answer_text(answer)
        else:
            from lifqa.export import export_answer

            text = await run(lambda: export_answer(answer, lambda doc_id: engine.source(doc_id).document, body.format))
        return PlainTextResponse(text, media_type=_MEDIA[body.format], headers=headers)

    @app.post("/search", response_model=list[HitOut], summary="Ranked passages for a query, without an answer")
    async def search(body: SearchRequest, response: Response) -> Any:
        engine = slot.engine
        hits = await run(lambda: engine.search(body.query, **body.engine_options()))
        response.headers[BUILD_HEADER] = engine.build.name
        return [HitOut.of(h) for h in hits]

    @app.post("/batch", summary="Answer many questions; one JSON record per line (NDJSON), streamed in order",
              responses={200: {"content": {"application/x-ndjson": {}}}})
    async def batch(body: BatchRequest) -> StreamingResponse:
        engine = slot.engine
        items = _batch_items(body, service.config.max_batch)
        options = body.engine_options()
        await run(lambda: _check_options(engine, options))  # a bad option is a 400, not an error line in a 200
        seconds = min(service.config.max_batch_seconds, service.config.request_seconds * max(1, len(items)))
        return StreamingResponse(_ndjson(engine, items, options, body.batch_size, seconds), media_type="application/x-ndjson",
                                 headers={BUILD_HEADER: engine.build.name})


def _source_routes(app: FastAPI, service: _Service) -> None:
    slot, run = service.slot, service.run

    @app.get("/sources", response_model=list[SourceOut], summary="Every source with its tier, flags and reasons")
    async def sources(response: Response) -> Any:
        engine = slot.engine
        response.headers[BUILD_HEADER] = engine.build.name
        return await run(lambda: [SourceOut.of(r) for r in engine.sources()])

    @app.get("/sources/{doc_id:path}", response_model=SourceTextOut, summary="One source, with its normalised text")
    async def source(doc_id: str, response: Response) -> Any:
        engine = slot.engine
        if doc_id not in engine.store.doc_index:
            raise HTTPException(404, f"no source '{doc_id[:200]}' in this index; GET /sources lists them")
        response.headers[BUILD_HEADER] = engine.build.name
        return await run(lambda: SourceTextOut.of(engine.source(doc_id)))

    @app.get("/conflicts", summary="Facts on which the sources disagree")
    async def conflicts(response: Response) -> list[dict[str, Any]]:
        engine = slot.engine
        response.headers[BUILD_HEADER] = engine.build.name
        return engine.conflicts()

    @app.get("/health", summary="The served index: manifest, model, build time; whether uploads are accepted")
    async def health() -> dict[str, Any]:
        engine = slot.engine
        manifest = {k: v for k, v in engine.manifest.items() if k != "files"}
        return {"status": "ok", "lifqa_version": __version__, "build": engine.build.name, "built_at": manifest.get("built_at"),
                "model": {"id": manifest.get("model_id"), "path": manifest.get("model_path"), "encoder": manifest.get("encoder")},
                "counts": manifest.get("counts"), "uploads": {"accepted": app.state.builds is not None, "reason": app.state.no_uploads or None},
                "engine_swaps": slot.swaps, "manifest": manifest}


def _batch_items(body: BatchRequest, limit: int) -> list[Any]:
    from lifqa.batch import BatchItem

    if not body.questions:
        raise InputError("no questions: send a list of questions, e.g. {\"questions\": [\"What is LIF?\"]}")
    if len(body.questions) > limit:
        raise InputError(f"{len(body.questions)} questions in one request; at most {limit}: send the rest in another request")
    items, seen = [], set()
    for line, q in enumerate(body.questions, 1):
        qid, text = (str(line), q) if isinstance(q, str) else (q.id, q.question)
        if qid in seen:
            raise InputError(f"the id '{qid[:100]}' is used twice (question {line}); ids must be unique")
        seen.add(qid)
        items.append(BatchItem(qid, text, line))
    return items


def _check_options(engine: Any, options: dict[str, Any]) -> None:
    from lifqa.settings import parse_k, parse_mode

    if options["k"] is not None:
        parse_k(options["k"])
    if options["mode"] is not None:
        parse_mode(options["mode"])
    engine.allowed_rows(options["exclude_flags"], options["min_tier"], None, options["tags"], options["collections"])


def _ndjson(engine: Any, items: list[Any], options: dict[str, Any], batch_size: int, seconds: float) -> Iterator[str]:
    """Records of lifqa.batch.run_batch as lines; past the time limit, one error line says where it stopped."""
    from lifqa.batch import BatchInput, run_batch

    deadline = time.monotonic() + seconds
    done = 0
    for record in run_batch(engine, BatchInput(tuple(items), ()), batch_size=batch_size, **options):
        yield json.dumps(record, ensure_ascii=False) + "\n"
        done += 1
        if time.monotonic() > deadline and done < len(items):
            yield json.dumps({"error": f"time limit of {seconds:g} s reached after {done} of {len(items)} questions; "
                                       "send the rest again", "status": 503}) + "\n"
            return


def _error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, "status": status, **extra}, status_code=status)

    @app.exception_handler(LifqaError)
    async def lifqa_error(_: Request, exc: LifqaError) -> JSONResponse:
        status = getattr(exc, "status", 400) if isinstance(exc, InputError) else 503
        return error(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', 'invalid')}"
                    for e in exc.errors()]
        detail = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]  # never echo the input back
        return error(422, "; ".join(problems)[:1000] or "invalid request", detail=json.loads(json.dumps(detail, default=str)))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        response = error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error(500, f"internal error ({type(exc).__name__}); the server log has the details")


__all__ = ["BUILD_HEADER", "create_app"]
