"""Run the API on uvicorn: ``lifqa serve``."""

from __future__ import annotations

import logging
from typing import Any

from lifqa.errors import InputError
from lifqa.service.config import ServeConfig

INSTALL_HINT = "pip install 'lifqa[serve]'"


def uvicorn_server(config: ServeConfig, engine: Any = None, log_level: str = "info") -> Any:
    """A uvicorn Server for the API (``.run()`` serves until interrupted; tests run it in a thread)."""
    try:
        import uvicorn
    except ImportError:
        raise InputError(f"lifqa serve needs FastAPI and uvicorn: {INSTALL_HINT}") from None
    from lifqa.service.api import create_app
    from lifqa.service.upload_routes import add_upload_routes

    app = create_app(config, engine)
    add_upload_routes(app)
    return uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level=log_level, access_log=False,
                                         timeout_graceful_shutdown=10, server_header=False))


def serve(config: ServeConfig) -> None:
    logging.getLogger("lifqa").setLevel(logging.INFO)
    server = uvicorn_server(config)
    where = f"http://{'[' + config.host + ']' if ':' in config.host else config.host}:{config.port}"
    print(f"lifqa API on {where} (index {config.index_dir}; OpenAPI at {where}/docs)"
          + ("; every request needs the token" if config.token else ""), flush=True)
    server.run()


__all__ = ["serve", "uvicorn_server"]
