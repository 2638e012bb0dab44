"""Gold question sets: lifqa's JSONL layout and BEIR folders, validated line by line."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from lifqa.errors import InputError
from lifqa.jsonl import jsonl_rows, not_json


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    relevant_doc_ids: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    answerable: bool = True
    split: str = "test"
    relevance: dict[str, int] = field(default_factory=dict)  # graded qrels where given (BEIR)
    # a question asking several things: the key phrases of each part ("answer_parts" in the file); answered only
    # when every part is. Empty: one part, whose key phrases are ``answers``
    answer_parts: tuple[tuple[str, ...], ...] = ()


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
        for number, row in jsonl_rows(handle):
            where = f"{path}:{number}"
            if isinstance(row, json.JSONDecodeError):
                errors.append(not_json(where, row))
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
            parts = row.get("answer_parts") or []
            if not isinstance(parts, list) or not all(isinstance(p, list) and p and all(isinstance(a, str) for a in p) for p in parts):
                errors.append(f"{where}: answer_parts must be a list of non-empty lists of key phrases, one list per part")
                continue
            answerable = bool(row.get("answerable", bool(relevant)))
            seen.add(qid)
            questions.append(GoldQuestion(qid, str(row["question"]), tuple(relevant), tuple(str(a) for a in answers),
                                          answerable, str(row.get("split", "test")), answer_parts=tuple(tuple(p) for p in parts)))
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
        for number, row in jsonl_rows(handle):
            if isinstance(row, json.JSONDecodeError):
                errors.append(not_json(f"{queries_path}:{number}", row))
                continue
            try:
                qid, text = str(row["_id"]), str(row["text"])
            except (KeyError, TypeError):
                errors.append(f"{queries_path}:{number}: expected an object with _id and text")
                continue
            if qid in relevance:
                rel = relevance[qid]
                questions.append(GoldQuestion(qid, text, tuple(rel), (), True, split, rel))
    return GoldSet(tuple(questions), tuple(errors), str(folder))


# Question words carry no topic: two questions sharing only "which ... does" are not near-duplicates.
_QUESTION_WORDS = frozenset("what which how where when who whom whose why does do did is are was were can could would "
                            "should may might many much kind type".split())
WORDING_CONTAINMENT = 0.75  # share of the shorter question's topic words found in the other: "most of its wording"


@dataclass(frozen=True)
class Overlap:
    """A held-out question that repeats a train question: what they share, so a split can be mended."""

    train_id: str
    held_out_id: str
    reason: str


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", unicodedata.normalize("NFKC", text).casefold()).split())


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def gold_sentences(question: GoldQuestion, documents: Mapping[str, str], tokenize: Callable[[str], list[str]]) -> set[str]:
    """The sentences that answer the question (normalised): of the relevant documents' sentences holding one of its
    answers, those sharing the most topic words with it. A sentence that merely mentions a common answer ("LIFR")
    is not the question's evidence."""
    from lifqa.chunking import split_sentences

    answers = [_normalise(a) for a in question.answers if _normalise(a)]
    topic = set(tokenize(question.question)) - set(tokenize(" ".join(_QUESTION_WORDS)))
    scored: dict[str, int] = {}
    for doc_id in question.relevant_doc_ids:
        for sentence in split_sentences(documents.get(doc_id, "")):
            text = _normalise(sentence.text)
            if any(_contains(text, a) for a in answers):
                scored[text] = len(topic & set(tokenize(sentence.text)))
    best = max(scored.values(), default=0)
    return {text for text, score in scored.items() if score == best and best > 0}


def split_overlaps(questions: Sequence[GoldQuestion], documents: Mapping[str, str] | None = None,
                   train: str = "train") -> list[Overlap]:
    """Every pair of a train question and a held-out (any other split) question that share an answer string (one
    inside the other, as whole words), a gold sentence (``gold_sentences`` of both: the same evidence), or
    most of their wording (``WORDING_CONTAINMENT`` of the shorter question's topic words). A held-out figure means
    something only when this list is empty."""
    from lifqa.tokenize import Tokenizer

    tokenize = Tokenizer()
    stop = set(tokenize(" ".join(_QUESTION_WORDS)))
    words = {q.id: set(tokenize(q.question)) - stop for q in questions}
    answers = {q.id: {_normalise(a) for a in q.answers} - {""} for q in questions}
    sentences = {q.id: gold_sentences(q, documents, tokenize) for q in questions} if documents is not None else {}
    train_set = [q for q in questions if q.split == train]
    out = []
    for held in (q for q in questions if q.split != train):
        for seen in train_set:
            shared = sorted(a for a in answers[held.id] for b in answers[seen.id] if _contains(a, b) or _contains(b, a))
            if shared:
                out.append(Overlap(seen.id, held.id, f"answer '{shared[0]}'"))
                continue
            common = sentences.get(held.id, set()) & sentences.get(seen.id, set())
            if common:
                out.append(Overlap(seen.id, held.id, f"gold sentence '{min(common)[:80]}'"))
                continue
            a, b = words[held.id], words[seen.id]
            if a and b and len(a & b) / min(len(a), len(b)) >= WORDING_CONTAINMENT:
                out.append(Overlap(seen.id, held.id, f"wording {sorted(a & b)}"))
    return out
