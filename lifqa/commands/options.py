"""What the options several commands share mean: the engine they open, the filters they set, the Ray address."""

from __future__ import annotations

import argparse
from typing import Any


def ray_address(args: argparse.Namespace) -> str | None:
    if args.workers is not None and args.workers < 1:
        from lifqa.errors import InputError

        raise InputError(f"--workers {args.workers} must be at least 1")
    return None if args.ray == "local" else args.ray


def engine_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if getattr(args, "fusion", None):
        overrides["fusion"] = args.fusion
    if getattr(args, "reliability_weighting", False):
        overrides["reliability_weighting"] = True
    if getattr(args, "short_answer", None) is not None:
        overrides["short_answer"] = args.short_answer
    return overrides


def open_engine(args: argparse.Namespace):
    from lifqa.engine import Engine

    return Engine.open(args.index, **engine_overrides(args))


def query_filters(args: argparse.Namespace) -> dict[str, Any]:
    filters = {"exclude_flags": [f for f in args.exclude.split(",") if f.strip()], "min_tier": args.min_tier}
    from lifqa.search.searcher import split_values

    tags, collections = split_values(getattr(args, "tag", [])), split_values(getattr(args, "collection", []))
    if tags or collections:
        filters.update(tags=tags, collections=collections)
    return filters


def check_query_args(args: argparse.Namespace, text: str) -> None:
    """Reject bad input before the (slow) engine start."""
    from lifqa.search.question import clean_question
    from lifqa.settings import parse_k, parse_mode

    clean_question(text, 10**9)
    if args.mode is not None:
        parse_mode(args.mode)
    if args.k is not None:
        parse_k(args.k)
    if getattr(args, "exclude", ""):
        from lifqa.reliability import check_flag_kinds

        check_flag_kinds(f for f in args.exclude.split(",") if f.strip())
