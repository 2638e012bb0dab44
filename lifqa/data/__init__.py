"""Parameter files shipped with lifqa: plain JSON (never pickle), read by the reranker and the sentence selector."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any


def load_json(name: str, path: str | Path | None = None) -> dict[str, Any]:
    """The parameter file ``path``, or the shipped ``lifqa/data/<name>`` when none is given."""
    if path is None:
        text = resources.files("lifqa.data").joinpath(name).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return json.loads(text)


def params_fingerprint(params: dict[str, Any]) -> str:
    """sha256 of a parameter set's content (key order and layout aside): what an evaluation report records, so a
    report made with other parameters than the shipped ones is known to be stale."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()
