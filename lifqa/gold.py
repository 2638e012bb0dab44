"""Gold question sets: lifqa's JSONL layout and BEIR folders, validated line by line."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from lifqa.errors import InputError


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    relevant_doc_ids: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    answerable: bool = True
    split: str = "test"
    relevance: dict[str, int] = field(default_factory=dict)  # graded qrels where given (BEIR)


@dataclass(frozen=True)
class GoldSet:
    questions: tuple[GoldQuestion, ...]
    errors: tuple[str, ...] = ()  # one message per skipped line: file, line, what was wrong
    source: str = ""

    def split(self, name: str | None) -> "GoldSet":
        if not name or name == "all":
            return self
        return GoldSet(tuple(q for q in self.questions if q.split == name), self.errors, self.source)


def load_gold(path: str | Path, known_doc_ids: set[str] | None = None) -> GoldSet:
    """Read ``{"id","question","relevant_doc_ids","answers","answerable","split"}`` lines.

    A bad line (malformed JSON, missing fields, duplicate id, unknown document)
    is reported with its file and line number and skipped; the rest is used.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gold file not found: {path}")
    questions, errors, seen = [], [], set()
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                errors.append(f"{where}: expected a JSON object")
                continue
            missing = [name for name in ("id", "question") if not row.get(name)]
            if missing:
                errors.append(f"{where}: missing field(s) {', '.join(missing)}")
                continue
            qid = str(row["id"])
            if qid in seen:
                errors.append(f"{where}: duplicate id '{qid}' (the first one is kept)")
                continue
            relevant = row.get("relevant_doc_ids") or []
            answers = row.get("answers") or []
            if not isinstance(relevant, list) or not isinstance(answers, list):
                errors.append(f"{where}: relevant_doc_ids and answers must be lists")
                continue
            relevant = [str(d) for d in relevant]
            if known_doc_ids is not None:
                unknown = [d for d in relevant if d not in known_doc_ids]
                if unknown:
                    errors.append(f"{where}: unknown document id(s) {', '.join(unknown)} for '{qid}'")
                    continue
            answerable = bool(row.get("answerable", bool(relevant)))
            seen.add(qid)
            questions.append(GoldQuestion(qid, str(row["question"]), tuple(relevant), tuple(str(a) for a in answers),
                                          answerable, str(row.get("split", "test"))))
    return GoldSet(tuple(questions), tuple(errors), str(path))


def load_beir(folder: str | Path, split: str = "test") -> GoldSet:
    """Queries with qrels from a BEIR folder (``queries.jsonl``, ``qrels/<split>.tsv``)."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    queries_path = folder / "queries.jsonl"
    for needed in (queries_path, qrels_path):
        if not needed.is_file():
            raise InputError(f"{needed} not found: a BEIR folder needs corpus.jsonl, queries.jsonl and qrels/{split}.tsv")
    relevance: dict[str, dict[str, int]] = {}
    errors: list[str] = []
    with qrels_path.open(encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for number, row in enumerate(reader, 1):
            if number == 1 and row and not row[-1].strip().lstrip("-").isdigit():
                continue  # header
            if not row:
                continue
            if len(row) < 3 or not row[-1].strip().lstrip("-").isdigit():
                errors.append(f"{qrels_path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score' with a whole-number score")
                continue
            score = int(row[-1])
            if score > 0:
                relevance.setdefault(row[0], {})[row[-2]] = score
    questions = []
    with queries_path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                qid, text = str(row["_id"]), str(row["text"])
            except json.JSONDecodeError as exc:
                errors.append(f"{queries_path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except (KeyError, TypeError):
                errors.append(f"{queries_path}:{number}: expected an object with _id and text")
                continue
            if qid in relevance:
                rel = relevance[qid]
                questions.append(GoldQuestion(qid, text, tuple(rel), (), True, split, rel))
    return GoldSet(tuple(questions), tuple(errors), str(folder))
