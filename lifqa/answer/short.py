"""The short answer: the exact words inside an answer sentence that answer the question ("3976", "5.2 days").

A span reader fine-tuned here from the bundled MiniLM (``lifqa/finetuned.py``) reads "question [SEP] sentence" and
scores every token of the sentence as the answer's first and last token, the SQuAD 2.0 recipe: [CLS] stands for "no
answer in this sentence". The reader only ever points into the sentence, so the short answer is a verbatim slice of a
verbatim, cited sentence. It is shown only when the reader's probability for its span reaches the threshold chosen
on held train questions (a wrong short answer is worse than none), and never for questions whose answer is an
explanation or a definition (why, how, what is X), which have no short answer to mark.

A labelled row of a record or table ("Entrez 3976", "UniProt ID: P15018") is read before the reader: when the question
names the row's label, the row's value is the short answer. The reader learned from running prose and rarely sees a
row (3 of 1,455 train answers hold one), where it finds the value but puts its probability near zero.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bm25s.stopwords import STOPWORDS_EN

from lifqa.finetuned import DeltaRecord, GraphModel, Kind, fresh_parts, load_parts, save_parts
from lifqa.types import AnswerSentence, ShortAnswer

WEIGHTS = "span_reader.safetensors"
RECORD = "span_reader.json"
KIND = Kind("span reader", "reinstall lifqa or run make span-reader",
            "Train one with make span-reader (lifqa train-span-reader), or answer without short answers "
            "(short_answer=false)", outputs=2, slug="span-reader")
MAX_ANSWER_TOKENS = 48  # longer spans are clauses, not short answers (COVID-QA train gold answers: 91 % fit, median 15)
_EXPLANATION = re.compile(r"^\s*(?:why|how)\b", re.I)
# "What is X?" of a thing named in a few words (not "What is the incubation period of ...?", which asks for a value)
_DEFINITION = re.compile(r"^\s*(?:define\b|describe\b|what (?:kind|type|class) of\b|"
                         r"what (?:is|are|was|were) (?:an? )?[\w-]+(?: [\w-]+){0,3}\s*\?*\s*$)", re.I)


# A row: a capitalised label of up to four words, an optional colon, then one value holding a digit (an identifier, a
# count, a locus). A label holds no stop word: "epidemic control on Feb 15." ends a sentence, it is not a row.
_ROW = re.compile(r"^\s*(?P<label>[A-Z][\w().\-/ ]{0,40}?)\s*(?::\s*|\s+)"
                  r"(?P<value>[A-Za-z0-9][\w.\-:/]*\d[\w.\-:/]*?)\s*\.?\s*$")
_WORD = re.compile(r"[A-Za-z][\w-]*")
_LABEL_WORDS = 4
_STOPWORDS = frozenset(STOPWORDS_EN)


def bundled_paths() -> tuple[Path, Path]:
    data = Path(str(resources.files("lifqa") / "data"))
    return data / WEIGHTS, data / RECORD


def asks_for_short_answer(text: str, kind: str) -> bool:
    """Whether a question's answer can be a few words: not a definition ("What is LIF?") and not an explanation ("Why
    ...?", "How does ...?"; "How many/long/much" are numbers and quantities, which the question reader tells apart)."""
    if kind == "definition":
        return False
    return not (kind in ("other", "entity") and (_EXPLANATION.match(text) or _DEFINITION.match(text)))


class _Gates:
    record: DeltaRecord

    @property
    def threshold(self) -> float:
        """The score a short answer needs to be shown, chosen on held train questions."""
        return float(self.record.training.get("threshold", 0.5))

    @property
    def confidence(self) -> float:
        """The selector's probability the sentence holding a short answer needs, chosen with the threshold (0: none,
        as for a reader trained before the selector's confidence was a gate)."""
        return float(self.record.training.get("confidence", 0.0))


class GraphSpanReader(GraphModel, _Gates):
    """The shipped reader as answering runs it: its exported graph on ONNX Runtime in fp32, no torch. Its scores match
    the torch reader's in fp32 (within 1e-5 of a logit). The graph is opened on the first sentences read: a question
    answered by a row, or whose sentences the selector is not sure of, never waits for it."""

    kind = KIND

    @classmethod
    def default_paths(cls) -> tuple[Path, Path]:
        return bundled_paths()

    def spans(self, question: str, sentences: Sequence[str]) -> list[tuple[int, int, float] | None]:
        """Per sentence, the most probable span (char_start, char_end, probability), or None (``SpanReader.spans``)."""
        if not sentences:
            return []
        scores, offsets, inside = self.run([(question, s) for s in sentences])
        return [best_span(scores[i, :, 0], scores[i, :, 1], inside[i], offsets[i]) for i in range(len(sentences))]


def open_in_background(runtime: str = "onnx") -> threading.Thread:
    """Open the shipped reader on a background thread, for a long-running app or server: its first short answer then
    need not wait the few hundred milliseconds the graph takes to check and open (a one-question CLI process does not
    do this: most questions never need the reader). A reader that cannot open says why when an answer needs it."""
    from lifqa.errors import LifqaError

    def opening() -> None:
        try:
            reader = get_span_reader(runtime=runtime)
            if isinstance(reader, GraphSpanReader):
                reader.open()
        except LifqaError:
            pass

    thread = threading.Thread(target=opening, name="lifqa-span-reader", daemon=True)
    thread.start()
    return thread


class SpanReader(_Gates):
    """Start and end probabilities over the tokens of answer sentences, in torch: what training fine-tunes (bf16 where
    the CPU has bf16 units); thread-safe (one forward pass at a time)."""

    def __init__(self, tokenizer: Any, body: Any, head: Any, record: DeltaRecord, bf16: bool | None = None) -> None:
        from lifqa.encoder import fast_bf16

        self.tokenizer, self.body, self.head, self.record = tokenizer, body, head, record
        self.bf16 = fast_bf16() if bf16 is None else bf16
        self._lock = threading.Lock()

    @classmethod
    def from_bundled(cls, layers: int, frozen_layers: int, max_length: int, seed: int) -> "SpanReader":
        return cls(*fresh_parts(layers, frozen_layers, max_length, seed, KIND))

    @classmethod
    def load(cls, weights: Path | None = None, record: Path | None = None, bf16: bool | None = None) -> "SpanReader":
        """The shipped reader (or another delta file and its record): sha256 checked before the weights are read."""
        default_weights, default_record = bundled_paths()
        return cls(*load_parts(weights or default_weights, record or default_record, KIND), bf16)

    def save(self, weights: Path, record: Path, training: dict[str, Any]) -> DeltaRecord:
        self.record = save_parts(self.body, self.head, self.record, weights, record, training)
        return self.record

    def parameters(self) -> list[Any]:
        return [p for p in self.body.parameters() if p.requires_grad] + list(self.head.parameters())

    def encode(self, pairs: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray, np.ndarray]:
        """The batch of (question, sentence) pairs, each token's character span inside its sentence, and which tokens
        are the sentence's."""
        batch = self.tokenizer([q for q, _ in pairs], [s for _, s in pairs], truncation="only_second",
                               max_length=self.record.max_length, padding=True, return_tensors="pt",
                               return_offsets_mapping=True)
        offsets = batch.pop("offset_mapping").numpy()
        inside = np.array([[sid == 1 for sid in batch.sequence_ids(i)] for i in range(len(pairs))], dtype=bool)
        return batch, offsets, inside

    def logits(self, batch: Any) -> tuple[Any, Any]:
        """Start and end logits per token (differentiable; training)."""
        out = self.head(self.body(**batch).last_hidden_state).float()
        return out[..., 0], out[..., 1]

    def spans(self, question: str, sentences: Sequence[str]) -> list[tuple[int, int, float] | None]:
        """Per sentence, the most probable span (char_start, char_end, probability), or None when the sentence has no
        token the reader may point at."""
        import torch

        if not sentences:
            return []
        with self._lock, torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            batch, offsets, inside = self.encode([(question, s) for s in sentences])
            start, end = (t.float().numpy() for t in self.logits(batch))
        return [best_span(start[i], end[i], inside[i], offsets[i]) for i in range(len(sentences))]


def best_span(start: np.ndarray, end: np.ndarray, inside: np.ndarray, offsets: np.ndarray,
              max_tokens: int = MAX_ANSWER_TOKENS) -> tuple[int, int, float] | None:
    """The sentence's span with the highest start + end logit, and its score: the reader's probability for that span
    against "no answer in this sentence" ([CLS]), p(span) / (p(span) + p(none)), the SQuAD 2.0 margin as a number
    in [0, 1]. None when the sentence has no token the reader may point at."""
    tokens = np.flatnonzero(inside)
    if not len(tokens):
        return None
    joint = start[tokens].astype(np.float64)[:, None] + end[tokens].astype(np.float64)[None, :]
    band = np.triu(np.ones_like(joint, dtype=bool)) & ~np.triu(np.ones_like(joint, dtype=bool), k=max_tokens)
    joint = np.where(band, joint, -np.inf)
    i, j = np.unravel_index(int(np.argmax(joint)), joint.shape)
    margin = float(joint[i, j]) - float(start[0]) - float(end[0])
    return int(offsets[tokens[i]][0]), int(offsets[tokens[j]][1]), float(1.0 / (1.0 + np.exp(-margin)))


def row_value(question: str, sentence: str) -> tuple[int, int] | None:
    """Where the value of a labelled row lies in ``sentence`` when the question names the row's label ("What is the
    Entrez Gene ID ...?" and "Entrez 3976"), or None. A value the question already states is not its answer ("Which
    protein has UniProt accession P15018?")."""
    match = _ROW.match(sentence)
    if not match:
        return None
    label = [w.lower() for w in _WORD.findall(match.group("label"))]
    asked = {w.lower() for w in _WORD.findall(question)}
    if len(label) > _LABEL_WORDS or _STOPWORDS.intersection(label):
        return None
    named = [w for w in label if len(w) >= 3 and w in asked]
    if not named or match.group("value").lower() in question.lower():
        return None
    return match.start("value"), match.end("value")


def short_answer(reader: GraphSpanReader | SpanReader, question: str, kind: str, sentences: Sequence[AnswerSentence],
                 threshold: float | None = None, confidences: Sequence[float | None] | None = None,
                 confidence: float | None = None) -> ShortAnswer | None:
    """The short answer inside one of the answer's sentences, or None: no short answer to this kind of question, or the
    reader's best span is not probable enough, or the selector is not sure enough of the sentence holding it
    (``confidences``: its probability for each sentence, None where it has none, e.g. a sentence quoted from another
    source that disagrees)."""
    if not sentences or not asks_for_short_answer(question, kind):
        return None
    for index, sentence in enumerate(sentences):
        value = row_value(question, sentence.text)
        if value:  # the label names what is asked: neither gate is needed
            start, end = answer_bounds(sentence.text, *value)
            return ShortAnswer(text=sentence.text[start:end], sentence=index, char_start=start, char_end=end, score=1.0,
                               method="row")
    gate = reader.confidence if confidence is None else confidence
    sure = list(confidences) if confidences is not None else [None] * len(sentences)
    if gate > 0 and not any(c is not None and c >= gate for c in sure):
        return None  # no sentence could hold a short answer shown: the reader need not read them
    found = reader.spans(question, [s.text for s in sentences])
    scored = [(span[2], index, span) for index, span in enumerate(found) if span and span[1] > span[0]]
    if not scored:
        return None
    score, index, (start, end, _) = max(scored, key=lambda item: (item[0], -item[1]))
    if score < (reader.threshold if threshold is None else threshold):
        return None
    if gate > 0 and (index >= len(sure) or sure[index] is None or sure[index] < gate):
        return None
    text = sentences[index].text
    start, end = answer_bounds(text, start, end)
    return ShortAnswer(text=text[start:end], sentence=index, char_start=start, char_end=end, score=round(score, 4))


def answer_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where a span the reader marked becomes a short answer: widened to whole words, so a value is never cut inside
    ("22q12" of "22q12.2", "IL" of "IL-6": word pieces the reader may stop at), then trimmed of surrounding spaces, a
    trailing comma, semicolon or colon, and the sentence's closing full stop."""
    start, end = _whole_words(text, start, end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"
                           or (text[end - 1] == "." and end == len(text.rstrip()))):
        end -= 1
    return start, end


_JOINER = ".-/,"  # inside a word when letters or digits stand on both sides: 22q12.2, IL-6, 3,976, 1/1000


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    def inside(i: int) -> bool:  # text[i] belongs to the word around it
        return 0 <= i < len(text) and (text[i].isalnum() or (text[i] in _JOINER and 0 < i < len(text) - 1
                                                              and text[i - 1].isalnum() and text[i + 1].isalnum()))

    while start > 0 and inside(start - 1) and inside(start):
        start -= 1
    while end < len(text) and inside(end) and inside(end - 1):
        end += 1
    return start, end


_shared: dict[tuple[str, str, str], GraphSpanReader | SpanReader] = {}
_shared_lock = threading.Lock()


def get_span_reader(weights: Path | None = None, record: Path | None = None,
                    runtime: str = "onnx") -> GraphSpanReader | SpanReader:
    """One reader per file and runtime per process: "onnx" (answering) or "torch" (training's own model)."""
    key = (str(weights), str(record), runtime)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = GraphSpanReader.load(weights, record) if runtime == "onnx" else SpanReader.load(weights, record)
        return _shared[key]
