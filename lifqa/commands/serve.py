"""lifqa serve and mcp: the HTTP JSON API and the Model Context Protocol server over an index."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_serve(args: argparse.Namespace) -> int:
    from lifqa.service.config import ServeConfig
    from lifqa.service.server import serve

    serve(ServeConfig(Path(args.index), Path(args.corpus) if args.corpus else None, host=args.host, port=args.port, token=args.token,
                      max_upload_bytes=args.max_upload_mb << 20 if args.max_upload_mb > 0 else 0,
                      request_seconds=args.request_seconds, threads=args.threads))
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from lifqa.service.mcp_server import run_stdio

    run_stdio(Path(args.index))
    return 0
