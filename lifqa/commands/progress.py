"""Progress on a terminal: one line per build stage, a tqdm bar of questions; nothing in a pipe."""

from __future__ import annotations

import sys
from typing import Callable


def stage_printer() -> Callable[[str, float], None] | None:
    """A line per build stage on a terminal; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None
    last = ""

    def show(stage: str, fraction: float) -> None:  # a stage reports many fractions; one line per stage
        nonlocal last
        if stage != last:
            last = stage
            print(f"[{fraction:4.0%}] {stage}", file=sys.stderr)

    return show


def progress_bar(total: int) -> Callable[[int, int], None] | None:
    """A tqdm bar on a terminal; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="q", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total  # eval learns its total only after loading the questions
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update
