"""`lifqa batch --ray`: questions spread over Ray actors, each holding an open engine.

Each actor opens the index once (``Engine.open``) and answers whole batches of questions;
``ray.util.ActorPool.map`` hands batches to idle actors and returns the answers in input order,
so ``lifqa.batch.run_batch`` writes the same records, in the same order, as a local run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from lifqa.index import layout
from lifqa.ray_cluster import connect


class EngineActor:
    """One open engine in a Ray worker process."""

    def __init__(self, index_dir: str, overrides: dict[str, Any]) -> None:
        from lifqa.engine import Engine

        self.engine = Engine.open(index_dir, **overrides)

    def ask_many(self, questions: list[str], k: int | None, mode: str | None, exclude_flags: tuple[str, ...],
                 min_tier: str | None, tags: tuple[str, ...] = (), collections: tuple[str, ...] = ()) -> list[Any]:
        return self.engine.ask_many(questions, k, mode, exclude_flags=exclude_flags, min_tier=min_tier,
                                    tags=tags, collections=collections)


class RayEngines:
    """Stands in for an Engine in ``run_batch``: ``answer_chunks`` answers lists of questions on ``workers`` actors."""

    def __init__(self, index_dir: str | Path, overrides: dict[str, Any] | None = None, address: str | None = None,
                 workers: int | None = None) -> None:
        layout.read_manifest(layout.active_build(index_dir))  # a missing index fails here, with its message, not in an actor
        self.ray = connect(address)
        from ray.util import ActorPool

        count = workers or max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        actor = self.ray.remote(num_cpus=1)(EngineActor)
        self.actors = [actor.remote(str(Path(index_dir).resolve()), dict(overrides or {})) for _ in range(count)]
        self.pool = ActorPool(self.actors)

    def answer_chunks(self, chunks: list[list[str]], k: int | None, mode: str | None, *, exclude_flags: Iterable[str] = (),
                      min_tier: str | None = None, tags: Iterable[str] = (), collections: Iterable[str] = ()) -> Iterator[list[Any]]:
        exclude, tags, collections = tuple(exclude_flags), tuple(tags), tuple(collections)
        return self.pool.map(lambda a, questions: a.ask_many.remote(questions, k, mode, exclude, min_tier, tags, collections), chunks)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
