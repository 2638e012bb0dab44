"""The Evaluation tab: the latest ``lifqa eval --report`` folder read back as tables, facts and charts."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from lifqa.errors import InputError
from lifqa.jsonl import jsonl_rows


@dataclass(frozen=True)
class EvalReport:
    """The latest ``lifqa eval --report`` output: metrics x modes, other summary facts, charts, per-question rows."""

    folder: Path
    modes: tuple[str, ...]
    table: tuple[dict[str, Any], ...]  # one row per metric: {"metric": name, MODE: value, ...}
    facts: Mapping[str, Any] = field(default_factory=dict)
    charts: tuple[Path, ...] = ()
    questions: tuple[dict[str, Any], ...] = ()


def load_eval_report(folder: Path) -> EvalReport | None:
    """None when no report was written yet; InputError naming the file when it cannot be read."""
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        return None
    summary = _read_json(summary_file, folder)
    modes = summary.get("modes") if isinstance(summary, dict) else None
    if not isinstance(modes, dict) or not all(isinstance(m, dict) for m in modes.values()):
        raise InputError(f"{summary_file} has no 'modes' object of per-mode metrics; rerun lifqa eval --report {folder}")
    metrics = list(dict.fromkeys(name for values in modes.values() for name, v in values.items() if not isinstance(v, (dict, list))))
    table = tuple({"metric": name, **{mode: _number(values.get(name)) for mode, values in modes.items()}} for name in metrics)
    facts = {key: value for key, value in summary.items() if key != "modes" and isinstance(value, (str, int, float, bool))}
    questions: list[dict[str, Any]] = []
    per_question = folder / "per_question.jsonl"
    if per_question.is_file():
        for _, row in jsonl_rows(per_question.read_text(encoding="utf-8", errors="replace").splitlines()):
            if isinstance(row, dict):  # a line that is not a JSON object is left out
                questions.append({key: ", ".join(map(str, value)) if isinstance(value, list) else value for key, value in row.items()})
    return EvalReport(folder, tuple(modes), table, facts, _charts_in_order(folder, metrics), tuple(questions))


def _charts_in_order(folder: Path, metrics: Sequence[str]) -> tuple[Path, ...]:
    """PNG charts in the table's metric order (a chart is named after its metric), then any others."""
    order = {re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"): i for i, name in enumerate(metrics)}
    return tuple(sorted(folder.glob("*.png"), key=lambda path: (order.get(path.stem, len(order)), path.name)))


def _read_json(path: Path, folder: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}); rerun lifqa eval --report {folder}") from None


def _number(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 4)
    return value
