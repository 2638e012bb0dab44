"""Batch questions: read JSONL/CSV/TXT questions, answer them in batches, write JSONL/CSV records.

A bad input line never stops a run: it becomes an error record with its line
number. Output is appended one flushed record at a time and a rerun skips what
is already there, so a killed run loses nothing it wrote.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from lifqa.errors import InputError
from lifqa.jsonl import jsonl_rows
from lifqa.types import Answer

INPUT_FORMATS = ("jsonl", "csv", "txt")
OUTPUT_FORMATS = ("jsonl", "csv")
# Answers with their references (lifqa.export): records are kept in OUTPUT.records.jsonl (resumable as
# above) and the export file is rewritten from all of them at the end of every run.
EXPORT_FORMATS = ("markdown", "bibtex", "ris", "csl-json")
_EXPORT_SUFFIX = {".md": "markdown", ".markdown": "markdown", ".bib": "bibtex", ".ris": "ris"}
CSV_COLUMNS = ("id", "question", "answer", "short_answer", "abstained", "mode", "citations", "error", "line")
_SUFFIX_FORMAT = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".txt": "txt", ".text": "txt"}


@dataclass(frozen=True)
class BatchItem:
    """One input question."""

    id: str
    question: str
    line: int  # 1-based line number in the input (the CSV header is line 1)


@dataclass(frozen=True)
class BatchInput:
    items: tuple[BatchItem, ...]
    errors: tuple[dict, ...]  # {"id": str | None, "line": int, "error": str} for malformed lines/rows

    def __len__(self) -> int:
        return len(self.items) + len(self.errors)


# ---- reading ---------------------------------------------------------------
def read_questions(source: str | Path | bytes, name: str | None = None, format: str | None = None) -> BatchInput:  # noqa: A002
    """JSONL (``{"id","question"}``), CSV (``id,question`` header) or TXT (one question a line; id = line number).

    The format comes from ``format``, else the suffix of ``name`` or of the path,
    else the content (``{`` starts JSONL, an ``id,question`` header means CSV).
    ``bytes`` are an upload; ``name`` then gives the suffix and the name in messages.
    """
    if isinstance(source, bytes):
        data, label = source, name or "upload"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"question file not found: {path}. Give a .jsonl, .csv or .txt file of questions.")
        data, label = path.read_bytes(), name or str(path)
    text = _decode(data, label)
    fmt = _input_format(format, label, text)
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "txt": _read_txt}[fmt]
    items, errors = reader(text, label)
    return _drop_duplicates(items, errors, label)


def _decode(data: bytes, label: str) -> str:
    if b"\x00" in data[:65536]:
        raise InputError(f"{label} looks like a binary file; give questions as UTF-8 text (.jsonl, .csv or .txt)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _input_format(format: str | None, label: str, text: str) -> str:  # noqa: A002
    if format is not None:
        if format not in INPUT_FORMATS:
            raise InputError(f"unknown question format '{format}'. Valid formats: {', '.join(INPUT_FORMATS)}")
        return format
    suffix = Path(label).suffix.lower()
    if suffix in _SUFFIX_FORMAT:
        return _SUFFIX_FORMAT[suffix]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith("{"):
        return "jsonl"
    if [c.strip().lower() for c in first.split(",")][:2] == ["id", "question"]:
        return "csv"
    return "txt"


def _error(label: str, line: int, message: str, qid: str | None = None) -> dict:
    return {"id": qid, "line": line, "error": f"{label}:{line}: {message}"}


def _read_jsonl(text: str, label: str) -> tuple[list[BatchItem], list[dict]]:
    items, errors = [], []
    for number, row in jsonl_rows(text.splitlines()):
        if isinstance(row, json.JSONDecodeError):
            errors.append(_error(label, number, f"not valid JSON ({row.msg} at column {row.colno}); "
                                                'each line must be an object like {"id": "q1", "question": "..."}'))
            continue
        if not isinstance(row, dict):
            errors.append(_error(label, number, 'expected a JSON object like {"id": "q1", "question": "..."}'))
            continue
        qid = None if row.get("id") in (None, "") else str(row["id"])
        missing = [field for field, value in (("id", qid), ("question", row.get("question"))) if value is None]
        if missing:
            errors.append(_error(label, number, f"missing field(s) {', '.join(missing)}", qid))
        elif not isinstance(row["question"], str):
            errors.append(_error(label, number, f"the question must be text, not {type(row['question']).__name__}", qid))
        else:
            items.append(BatchItem(qid, row["question"], number))
    return items, errors


def _read_csv(text: str, label: str) -> tuple[list[BatchItem], list[dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        return [], []
    except csv.Error as exc:
        raise InputError(f"{label}:1: cannot read the CSV header ({exc})") from None
    if "id" not in header or "question" not in header:
        raise InputError(f"{label}:1: the CSV header must name the columns id and question (found: {', '.join(header) or 'nothing'}); "
                         "add a first line 'id,question'")
    id_col, q_col = header.index("id"), header.index("question")
    items, errors = [], []
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(_error(label, number, f"malformed CSV row ({exc})"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            qid = row[id_col].strip() if len(row) > id_col and row[id_col].strip() else None
            errors.append(_error(label, number, f"expected {len(header)} columns ({', '.join(header)}), found {len(row)}; "
                                                "quote a question that contains commas", qid))
            continue
        qid = row[id_col].strip()
        if not qid:
            errors.append(_error(label, number, "missing id"))
            continue
        items.append(BatchItem(qid, row[q_col], number))
    return items, errors


def _read_txt(text: str, label: str) -> tuple[list[BatchItem], list[dict]]:
    items = [BatchItem(str(number), line, number) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    return items, []


def _drop_duplicates(items: list[BatchItem], errors: list[dict], label: str) -> BatchInput:
    first_line: dict[str, int] = {}
    kept = []
    for item in items:
        if item.id in first_line:
            errors.append(_error(label, item.line, f"duplicate id '{item.id}' (first used on line {first_line[item.id]}); "
                                                   "give every question its own id", item.id))
            continue
        first_line[item.id] = item.line
        kept.append(item)
    return BatchInput(tuple(kept), tuple(sorted(errors, key=lambda e: e["line"])))


# ---- records ---------------------------------------------------------------
def answer_record(item: BatchItem, answer: Answer | InputError) -> dict:
    """One output record: the ``ask --json`` object plus ``id`` (or ``{"id","line","error"}`` for a bad question)."""
    if isinstance(answer, InputError):
        return {"id": item.id, "line": item.line, "question": item.question, "error": f"line {item.line}: {answer}"}
    from lifqa.schema import AnswerOut

    return {"id": item.id, **AnswerOut.of(answer).model_dump(mode="json")}


def _compact_citation(citation: dict) -> str:
    kinds = ",".join(sorted({flag["kind"] for flag in citation.get("flags", [])}))
    return "|".join(str(part) for part in (citation["key"], citation["doc_id"], citation["chunk_id"],
                                           citation["score"], citation.get("tier", ""), kinds))


def csv_row(record: dict) -> dict[str, Any]:
    """The flat CSV columns of one record; the short answer's text (empty without one); citations compacted to
    ``key|doc_id|chunk_id|score|tier|flag kinds``."""
    abstained = record.get("abstained")
    return {
        "id": record.get("id") or "",
        "question": record.get("question", ""),
        "answer": record.get("answer", ""),
        "short_answer": (record.get("short_answer") or {}).get("text", ""),
        "abstained": "" if abstained is None else str(bool(abstained)).lower(),
        "mode": record.get("mode", ""),
        "citations": ";".join(_compact_citation(c) for c in record.get("citations", [])),
        "error": record.get("error", ""),
        "line": record.get("line", ""),
    }


def to_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def to_csv(records: Iterable[dict], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for record in records:
        writer.writerow(csv_row(record))
    return out.getvalue()


# ---- running ---------------------------------------------------------------
def run_batch(engine: Any, input: BatchInput, *, k: int | None = None, mode: str | None = None,  # noqa: A002
              exclude_flags: Iterable[str] = (), min_tier: str | None = None, batch_size: int = 32,
              progress: Callable[[int, int], None] | None = None, tags: Iterable[str] = (),
              collections: Iterable[str] = ()) -> Iterator[dict]:
    """Yield records in input order (error records at their line), encoding questions in batches via ``engine.ask_many``."""
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size} must be at least 1")
    exclude = tuple(exclude_flags)
    total, done = len(input), 0
    errors = list(input.errors)
    items = list(input.items)
    chunks = [items[start:start + batch_size] for start in range(0, len(items), batch_size)]
    library = {"tags": tuple(tags), "collections": tuple(collections)} if (tags or collections) else {}
    if hasattr(engine, "answer_chunks"):  # several engines (lifqa.ray_batch): chunks answered in parallel, in order
        answered = engine.answer_chunks([[item.question for item in chunk] for chunk in chunks], k, mode,
                                        exclude_flags=exclude, min_tier=min_tier, **library)
    else:
        answered = (engine.ask_many([item.question for item in chunk], k, mode, exclude_flags=exclude, min_tier=min_tier, **library)
                    for chunk in chunks)
    for chunk, answers in zip(chunks, answered):
        for item, answer in zip(chunk, answers):
            while errors and errors[0]["line"] < item.line:
                done += 1
                yield errors.pop(0)
                _report(progress, done, total)
            done += 1
            yield answer_record(item, answer)
            _report(progress, done, total)
    for error in errors:
        done += 1
        yield error
        _report(progress, done, total)


def _report(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# ---- resuming --------------------------------------------------------------
def output_format(output: str | Path, format: str | None = None) -> str:  # noqa: A002
    if format is not None:
        if format not in OUTPUT_FORMATS + EXPORT_FORMATS:
            raise InputError(f"unknown output format '{format}'. Valid formats: {', '.join(OUTPUT_FORMATS + EXPORT_FORMATS)}")
        return format
    suffix = Path(output).suffix.lower()
    return "csv" if suffix == ".csv" else _EXPORT_SUFFIX.get(suffix, "jsonl")


def records_path(output: str | Path) -> Path:
    """Where the records of an export-format batch are kept (and resumed from)."""
    return Path(f"{output}.records.jsonl")


@dataclass(frozen=True)
class Done:
    """What an earlier run already wrote: answered ids, and (id, line) of error records."""

    ids: frozenset[str] = frozenset()
    errors: frozenset[tuple[str | None, int]] = frozenset()

    def __len__(self) -> int:
        return len(self.ids) + len(self.errors)


def read_done(output: str | Path, format: str | None = None) -> Done:  # noqa: A002
    """Records already in OUTPUT; a partial last line (a run killed mid-write) is cut off so it is redone."""
    path = Path(output)
    if not path.is_file() or path.stat().st_size == 0:
        return Done()
    _cut_partial_line(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    if output_format(path, format) == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        if reader.fieldnames is not None:  # None: nothing but a cut-off first line, so the run starts afresh
            _check_csv_columns(path, list(reader.fieldnames))
        records = [{**row, "line": int(row["line"]) if str(row.get("line", "")).isdigit() else None} for row in rows]
    else:
        records = []
        for number, row in jsonl_rows(text.splitlines()):
            if isinstance(row, json.JSONDecodeError):
                raise InputError(f"{path}:{number} is not a JSON record, so {path} is not an earlier batch output; "
                                 "choose another output file")
            records.append(row)
    ids, errors = set(), set()
    for record in records:
        if record.get("error"):
            errors.add((record.get("id") or None, record.get("line")))
        elif record.get("id"):
            ids.add(str(record["id"]))
    return Done(frozenset(ids), frozenset(errors))


def _check_csv_columns(path: Path, columns: list[str]) -> None:
    """Rows are appended under the file's header, so a file with other columns (another program's, or an earlier lifqa's
    without the short_answer column) cannot be resumed without shifting every later cell."""
    if tuple(columns) != CSV_COLUMNS:
        raise InputError(f"{path} has the columns {','.join(columns)}, not the batch columns {','.join(CSV_COLUMNS)}; "
                         "choose another output file (or rename this one) to start a fresh run")


def _cut_partial_line(path: Path) -> None:
    with path.open("rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)


def pending(input: BatchInput, done: Done) -> BatchInput:  # noqa: A002
    """The part of ``input`` an earlier run has not written yet."""
    items = tuple(item for item in input.items if item.id not in done.ids and (item.id, item.line) not in done.errors)
    errors = tuple(error for error in input.errors if (error["id"], error["line"]) not in done.errors)
    return BatchInput(items, errors)


def write_batch(records: Iterable[dict], output: str | Path, format: str | None = None) -> int:  # noqa: A002
    """Append records to OUTPUT, one flushed line each (a killed run keeps them); returns how many were written."""
    path = Path(output)
    fmt = output_format(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.is_file() or path.stat().st_size == 0
    written = 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        if fmt == "csv" and fresh:
            handle.write(to_csv([], header=True))
        for record in records:
            handle.write(to_csv([record], header=False) if fmt == "csv" else to_jsonl([record]))
            handle.flush()
            written += 1
    return written


@dataclass(frozen=True)
class BatchSummary:
    written: int
    errors: int
    skipped: int  # records an earlier run had already written
    output: str


def answer_file(engine_factory: Callable[[], Any], input_path: str | Path, output: str | Path, *, format: str | None = None,  # noqa: A002
                progress_factory: Callable[[int], Callable[[int, int], None] | None] | None = None, **options: Any) -> BatchSummary:
    """Answer every question of a file not yet in OUTPUT, appending records; the engine is only opened if work remains."""
    if options.get("batch_size", 1) < 1:
        raise InputError(f"batch size {options['batch_size']} must be at least 1")
    fmt = output_format(output, format)
    if fmt in EXPORT_FORMATS:
        return _answer_file_export(engine_factory, input_path, output, fmt, progress_factory, **options)
    questions = read_questions(input_path)
    todo = pending(questions, read_done(output, fmt))
    errors = 0
    if len(todo):
        engine = engine_factory()
        progress = progress_factory(len(todo)) if progress_factory else None

        def counted(records: Iterable[dict]) -> Iterator[dict]:
            nonlocal errors
            for record in records:
                errors += bool(record.get("error"))
                yield record

        written = write_batch(counted(run_batch(engine, todo, progress=progress, **options)), output, fmt)
    else:
        written = write_batch([], output, fmt)
    return BatchSummary(written, errors, len(questions) - len(todo), str(output))


def _answer_file_export(engine_factory: Callable[[], Any], input_path: str | Path, output: str | Path, fmt: str,
                        progress_factory: Callable[[int], Callable[[int, int], None] | None] | None, **options: Any) -> BatchSummary:
    """Answer into the JSONL records file, then write OUTPUT (atomically) from every record in it."""
    import os

    from lifqa.export import batch_export

    opened: list[Any] = []

    def engine() -> Any:
        if not opened:
            opened.append(engine_factory())
        return opened[0]

    records = records_path(output)
    summary = answer_file(engine, input_path, records, format="jsonl", progress_factory=progress_factory, **options)
    stored = []
    for number, row in jsonl_rows(records.read_text(encoding="utf-8").splitlines()):
        if isinstance(row, json.JSONDecodeError):
            raise row  # the records this call just wrote
        stored.append(row)
    text = batch_export(stored, lambda doc_id: engine().source(doc_id).document, fmt)
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return BatchSummary(summary.written, summary.errors, summary.skipped, str(output))
