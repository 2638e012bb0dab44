"""The Batch tab: an uploaded file of questions, previewed, answered with the sidebar's options, and offered as downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from lifqa.errors import InputError
from lifqa.web.ask_options import AskOptions


@dataclass(frozen=True)
class BatchResult:
    """A finished batch: the records and both download files."""

    records: tuple[dict[str, Any], ...]
    jsonl: str
    csv: str
    answered: int
    abstained: int
    errors: int


def run_uploaded_batch(engine: Any, data: bytes, name: str, options: AskOptions,
                       progress: Callable[[int, int], None] | None = None) -> BatchResult:
    from lifqa.batch import read_questions, run_batch, to_csv, to_jsonl

    questions = read_questions(data, name=name)
    if not len(questions):
        raise InputError(f"{name} holds no questions. Give one question a line (.txt), an id,question CSV, or JSONL objects with id and question.")
    kwargs = options.ask_kwargs()
    records = tuple(run_batch(engine, questions, k=kwargs["k"], mode=kwargs["mode"], exclude_flags=kwargs["exclude_flags"],
                              min_tier=kwargs["min_tier"], progress=progress, tags=kwargs.get("tags", ()),
                              collections=kwargs.get("collections", ())))
    errors = sum(1 for r in records if r.get("error"))
    abstained = sum(1 for r in records if r.get("abstained"))
    return BatchResult(records, to_jsonl(records), to_csv(records), len(records) - errors - abstained, abstained, errors)


def batch_preview(data: bytes, name: str) -> str:
    """What an uploaded file holds, said before the run: questions found and malformed lines."""
    from lifqa.batch import read_questions

    questions = read_questions(data, name=name)
    found = f"{len(questions.items)} question{'s' if len(questions.items) != 1 else ''} found in {name}"
    if not questions.errors:
        return found + "."
    lines = ", ".join(str(e["line"]) for e in questions.errors[:10]) + ("…" if len(questions.errors) > 10 else "")
    return f"{found}; {len(questions.errors)} malformed (line {lines}) will be reported as errors in the output."


def batch_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A readable preview table of batch records."""
    rows = []
    for r in records:
        cited = {key for s in r.get("sentences", []) for key in s.get("citation_keys", [])}
        sources = sorted({c["doc_id"] for c in r.get("citations", []) if c.get("key") in cited})
        status = "error" if r.get("error") else "abstained" if r.get("abstained") else "answered"
        rows.append({"id": r.get("id") or "", "status": status, "question": r.get("question", ""),
                     "answer": r.get("error") or r.get("answer", ""), "cited sources": ", ".join(sources)})
    return rows
