"""One way to spread per-file and per-document work over processes, in order, with a progress bar.

Readers start workers with ``spawn`` (the caller, e.g. the web app, may hold threads and a loaded model,
which a forked child would inherit half-copied); the build's per-document stages use ``fork``, because
their workers only run lifqa's regex and text code (never torch) and forking skips re-importing it.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

from tqdm import tqdm


def ordered_map(fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], *, workers: int, start: Literal["spawn", "fork"],
                desc: str | None = None, unit: str = "item", chunksize: int = 1) -> Iterator[Any]:
    """``fn(*job)`` for every job, yielded in order; in ``workers`` processes when there are two or more
    (and the start method exists here), else in this process. ``desc`` shows a bar on a terminal."""
    bar = tqdm(total=len(jobs), desc=desc, unit=unit, disable=desc is None or not sys.stderr.isatty() or len(jobs) < 2, leave=False)
    try:
        if workers < 2 or len(jobs) < 2 or start not in multiprocessing.get_all_start_methods():
            results: Iterable[Any] = (fn(*job) for job in jobs)
            for result in results:
                bar.update()
                yield result
            return
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(start)) as pool:
            for result in pool.map(fn, *zip(*jobs), chunksize=chunksize):
                bar.update()
                yield result
    finally:
        bar.close()
