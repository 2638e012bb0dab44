"""lifqa: literature-grounded question answering with cited passages and source reliability flags.

    import lifqa
    engine = lifqa.open("indexes")
    answer = engine.ask("Which receptor subunit does LIF share with IL-6?")
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifqa.engine import Engine


def open(index_dir: str = "indexes", **settings: Any) -> "Engine":  # noqa: A001 - the documented entry point
    """Open a built index for querying; settings override query-time defaults."""
    from lifqa.engine import Engine

    return Engine.open(index_dir, **settings)


__all__ = ["open", "__version__"]
