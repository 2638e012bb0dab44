"""`lifqa batch --ray` writes the same records as a local run (timings aside)."""

from __future__ import annotations

import json
from pathlib import Path

import lifqa
from lifqa.batch import answer_file


def _records(path: Path) -> list[dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        record.pop("timings_ms", None)
    return records


def test_ray_batch_writes_the_same_output(tmp_path: Path, lif_index: Path, gold, ray_cluster):
    from lifqa.ray_batch import RayEngines

    questions = [q.question for q in gold.split("test").questions[:7]] + ["   ", "Who won the 2014 FIFA World Cup final?"]
    source = tmp_path / "questions.jsonl"
    source.write_text("".join(json.dumps({"id": f"q{i}", "question": q}) + "\n" for i, q in enumerate(questions)), encoding="utf-8")
    local = answer_file(lambda: lifqa.open(str(lif_index)), source, tmp_path / "local.jsonl", batch_size=2)
    engines = RayEngines(lif_index, workers=2)
    try:
        remote = answer_file(lambda: engines, source, tmp_path / "ray.jsonl", batch_size=2)
    finally:
        engines.close()
    assert (remote.written, remote.errors) == (local.written, local.errors) == (len(questions), 1)
    assert _records(tmp_path / "ray.jsonl") == _records(tmp_path / "local.jsonl")
