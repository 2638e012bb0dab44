"""Extractive answers: 1-3 sentences copied verbatim from the top passages, each cited.

No generator model: every answer sentence is a slice of a cited passage, so an
answer can never say what the corpus does not. When the question-level support
is under the threshold the answer abstains and still shows the passages.

``Answerer.answer`` takes a Question from search to Answer: it asks the searcher for the
passages, lets the selector choose sentences (``choose``), answers each part of a multi-part
question the passages do not yet answer (``cover_parts``), keeps every quoted passage on show
(``show_answer_passages``), resolves the citations, and states the disagreements between cited
sources (``state_disagreements``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from lifqa.answer.selector import SentenceSelector, best_score, eligible, feature_matrix, select_sentences
from lifqa.answer.sentences import Candidate, Passages
from lifqa.errors import SettingsError
from lifqa.references import citation_label, citation_pages, reference_of
from lifqa.search.question import Question, QuestionReader
from lifqa.search.rerank import Support
from lifqa.search.searcher import Found, Searcher
from lifqa.settings import Mode, Settings
from lifqa.types import Answer, AnswerSentence, Citation, Hit, ShortAnswer

NO_ANSWER = "No supported answer in the corpus."


class Answerer:
    """Answers Questions over one loaded index with a searcher, a sentence selector and an abstention model."""

    def __init__(self, store: Any, sentence_vectors: np.ndarray | None, tokenize: Callable[[str], list[str]],
                 conflicts: Sequence[dict[str, Any]], reader: QuestionReader, searcher: Searcher, support: Support,
                 selector: Callable[[], SentenceSelector], settings: Settings) -> None:
        self.store = store
        self.sentence_vectors = sentence_vectors
        self.tokenize = tokenize
        self.conflicts = conflicts
        self.reader = reader
        self.searcher = searcher
        self.support = support
        self._selector = selector  # loaded on first use: an engine that never selects opens with stale parameters
        self.settings = settings

    @property
    def selector(self) -> SentenceSelector:
        return self._selector()

    def depth(self, question: Question, k: int) -> int:
        """Passages the trained selector may quote from (more for definitions: often one sentence of a lower-ranked passage)."""
        depth = self.settings.answer_depth
        if question.kind in ("expansion", "definition"):
            depth = max(depth, self.settings.rerank_depth)
        return max(k, depth)

    def passages(self, found: Found) -> Passages:
        """The passages of one question, starting with what search found for it."""
        return Passages(self.store, self.sentence_vectors, self.tokenize).add(found.rows)

    def selector_inputs(self, question: Question, hits: Sequence[Hit], passages: Passages) -> tuple[list[Candidate], np.ndarray]:
        """The answer-eligible sentences of the passages and their selector features (also what training sees)."""
        candidates = eligible(passages.candidates(hits, question.vector), question, self.tokenize)
        return candidates, feature_matrix(question, candidates, self.tokenize)

    def answer(self, question: Question, k: int, mode: Mode, allowed: np.ndarray | None, timings: dict[str, float],
               started: float) -> Answer:
        s = self.settings
        deep = s.answer_selector == "trained"
        found = self.searcher.search(question, self.depth(question, k) if deep else k, mode, allowed, timings)
        hits = found.hits
        clock = time.perf_counter()
        passages = self.passages(found)  # the question and each of its parts read the same passages
        candidates, features = self.selector_inputs(question, hits, passages) if self.support.reads_answer_evidence else ([], None)
        top_support = self._support(found.evidence, features) if hits else 0.0
        threshold = self.support.threshold
        sentences: list[AnswerSentence] = []
        if deep and features is None and top_support >= threshold:  # an abstaining question needs no sentences
            candidates, features = self.selector_inputs(question, hits, passages)
        sure: dict[tuple[str, int], float] = {}  # the selector's probability of each chosen sentence, by text and place
        if deep:
            rated = self.choose(question, candidates, features) if top_support >= threshold else []
            sure = {(sentence.text, sentence.char_start): probability for sentence, probability in rated}
            picked = [sentence for sentence, _ in rated]
            if picked and len(question.parts) > 1:
                hits, picked = self.cover_parts(question, hits, picked, mode, allowed, timings, passages)
            hits, sentences = show_answer_passages(hits, picked, k)
        citations = tuple(self.citation(hit) for hit in hits)
        if deep:
            sentences = state_disagreements(sentences, citations, self.conflicts, passages)
        elif top_support >= threshold:  # the earlier heuristic (answer_selector="heuristic"), kept for comparison
            candidates = passages.heuristic_candidates(hits[: min(3, len(hits))])
            sentences = select_sentences(question, candidates, s.answer_max_sentences)
        abstained = not sentences
        short, notices = None, question.notices
        if sentences and s.short_answer:
            try:
                short = self.short_answer(question, sentences, [sure.get((x.text, x.char_start)) for x in sentences], timings)
            except SettingsError as exc:  # a broken reader costs the short answer, not the answer
                notices = notices + (f"No short answer: {exc}",)
        if abstained and not hits:
            notices = notices + ("No passages passed the filters; relax --exclude, --min-tier, --tag or --collection.",)
        timings["answer_ms"] = _ms(clock)
        timings["total_ms"] = _ms(started)
        cited = {key for s in sentences for key in s.citation_keys}
        conflicts = conflicts_for_answer(self.conflicts, [c for c in citations if c.key in cited], sentences)
        return Answer(
            question=question.text,
            answer=NO_ANSWER if abstained else render(sentences),
            abstained=abstained,
            citations=citations,
            mode=mode.value,
            sentences=tuple(sentences),
            timings_ms={name: round(value, 3) for name, value in timings.items()},
            notices=notices,
            conflicts=tuple(conflicts),
            support=round(top_support, 4),
            short_answer=short,
        )

    def short_answer(self, question: Question, sentences: Sequence[AnswerSentence], confidences: Sequence[float | None],
                     timings: dict[str, float]) -> ShortAnswer | None:
        """The exact words inside one answer sentence that answer the question, when the span reader is confident and the
        selector sure of the sentence (``confidences``, None for a sentence it did not rate)."""
        from lifqa.answer.short import get_span_reader, short_answer

        clock = time.perf_counter()
        reader = get_span_reader(runtime=self.settings.finetuned_runtime)
        short = short_answer(reader, question.text, question.kind, sentences, self.settings.short_answer_threshold,
                             confidences, self.settings.short_answer_confidence)
        timings["short_answer_ms"] = _ms(clock)
        return short

    def _support(self, evidence: np.ndarray, features: np.ndarray | None) -> float:
        """The probability that the question is answerable (a calibrated model may also read the best answer
        sentence's score, from the selector ``features``)."""
        return self.support.probability(evidence, best_score(features) if self.support.reads_answer_evidence else None)

    def rate(self, question: Question, candidates: Sequence[Candidate], features: np.ndarray) -> tuple[np.ndarray, SentenceSelector]:
        """Each candidate's probability of holding the answer, and the selector whose keep rule fits those numbers:
        with ``answer_model="relevance"`` the relevance model reads the question with each of the
        ``answer_candidates`` sentences the selector rates best, and its score is combined with the selector's (the
        rest keep a probability of 0); with ``"features"`` the selector's alone."""
        probabilities = self.selector.probabilities(features)
        if self.settings.answer_model != "relevance" or not len(candidates):
            return probabilities, self.selector
        from lifqa.relevance import rated_by_relevance  # torch and the model load only when sentences are rated

        return rated_by_relevance(question.text, candidates, features, probabilities, self.selector, self.settings)

    def choose(self, question: Question, candidates: Sequence[Candidate], features: np.ndarray) -> list[tuple[AnswerSentence, float]]:
        """The answer sentences, each with the selector's probability that it answers the question."""
        probabilities, selector = self.rate(question, candidates, features)
        chosen = selector.choose(candidates, probabilities, self.settings.answer_max_sentences, self.settings.answer_tier_lead)
        return [(AnswerSentence(c.text, (c.citation_key,), c.chunk_start, c.chunk_end), float(p)) for c, p in chosen]

    def cover_parts(self, question: Question, hits: list[Hit], picked: list[AnswerSentence], mode: Mode,
                    allowed: np.ndarray | None, timings: dict[str, float], passages: Passages) -> tuple[list[Hit], list[AnswerSentence]]:
        """A multi-part question: each part the answer does not yet answer (no picked sentence the
        selector rates at least keep_min for that part) gets its own best sentence, retrieved for the
        part alone; its passage joins the hits so that it is cited."""
        hits, picked = list(hits), list(picked)
        for part in self.reader.parts(question):
            # the picked sentences are rated for the part among all the passages' sentences, as the selector was
            # trained: its features compare each sentence with the question's best candidate
            candidates, features = self.selector_inputs(part, hits, passages)
            rated, selector = self.rate(part, candidates, features)
            mine = [i for i, c in enumerate(candidates)
                    if any(c.citation_key == p.citation_keys[0] and c.chunk_start == p.char_start for p in picked)]
            if mine and float(rated[mine].max()) >= selector.keep_min:
                continue  # already answered
            found = self.searcher.search(part, max(len(hits), self.settings.answer_depth), mode, allowed, timings)
            if not found.hits:
                continue
            passages.add(found.rows)
            candidates, features = self.selector_inputs(part, found.hits, passages)
            if self._support(found.evidence, features) < self.support.threshold:
                continue
            rated, selector = self.rate(part, candidates, features)
            best = selector.choose(candidates, rated, 1, self.settings.answer_tier_lead)
            if not best or best[0][1] < selector.keep_min:
                continue
            cand = best[0][0]
            hit = found.hits[cand.passage_rank - 1]
            row = next((h.rank for h in hits if h.chunk.chunk_id == hit.chunk.chunk_id), None)
            if row is None:
                hits.append(replace(hit, rank=len(hits) + 1))
                row = len(hits)
            sentence = AnswerSentence(cand.text, (row,), cand.chunk_start, cand.chunk_end)
            if all(p.text != sentence.text for p in picked):
                picked.append(sentence)
        return hits, picked

    def citation(self, hit: Hit) -> Citation:
        """A hit resolved to its source: title, tier, the source's and the passage's flags (both judged at build),
        and its reference."""
        record = self.store.sources[hit.chunk.doc_id]
        doc = record.document
        ref = reference_of(doc.doc_id, doc.title, doc.metadata)
        return Citation(
            key=hit.rank, doc_id=hit.chunk.doc_id, title=doc.title, chunk_id=hit.chunk.chunk_id,
            section=hit.chunk.section, text=hit.chunk.text, char_start=hit.chunk.char_start, char_end=hit.chunk.char_end,
            score=round(hit.score, 6), tier=record.tier, flags=record.flags + self.store.passage_flags(hit.chunk.chunk_id),
            page_start=hit.chunk.page_start, page_end=hit.chunk.page_end, page_label=hit.chunk.page_label,
            label=citation_label(ref, citation_pages(hit.chunk)), citation_key=ref.citation_key, authors=ref.authors,
            year=ref.year, doi=ref.doi, journal=ref.journal,
        )


def show_answer_passages(hits: list[Hit], sentences: list[AnswerSentence], k: int) -> tuple[list[Hit], list[AnswerSentence]]:
    """The first k hits, except that a passage an answer sentence quotes from beyond them takes the
    place of the last one not quoted: an answer is always cited. The place is taken from a document that
    keeps another passage on show where there is one, so quoting never hides a source (the per-document
    cap chose those sources). Ranks and citation keys renumbered."""
    quoted = [key for s in sentences for key in s.citation_keys]
    shown = list(hits[:k])
    for key in dict.fromkeys(quoted):
        hit = hits[key - 1]
        if hit in shown:
            continue
        replaceable = [i for i in range(len(shown)) if shown[i].rank not in quoted]
        shown_per_doc = Counter(h.chunk.doc_id for h in shown)
        shared = [i for i in replaceable if shown_per_doc[shown[i].chunk.doc_id] > 1 or shown[i].chunk.doc_id == hit.chunk.doc_id]
        if shared or replaceable:
            shown[(shared or replaceable)[-1]] = hit
    shown.sort(key=lambda h: h.rank)
    new_key = {hit.rank: i + 1 for i, hit in enumerate(shown)}
    sentences = [replace(s, citation_keys=tuple(new_key[key] for key in s.citation_keys)) for s in sentences]
    return [replace(hit, rank=i + 1) for i, hit in enumerate(shown)], sentences


def state_disagreements(sentences: list[AnswerSentence], citations: Sequence[Citation], conflicts: Sequence[dict[str, Any]],
                        passages: Passages) -> list[AnswerSentence]:
    """Each sentence stating a fact another cited source contradicts carries the other values
    (``disputed_by``); when the other source has the higher tier, its sentence leads instead.
    Benign differences (lifqa.reliability.facts) are not disagreements."""
    by_key = {c.key: c for c in citations}
    rank = {tier: i for i, tier in enumerate(("high", "medium", "unknown", "low"))}
    out: list[AnswerSentence] = []
    for sentence in sentences:
        cited = by_key[sentence.citation_keys[0]]
        start, end = cited.char_start + sentence.char_start, cited.char_start + sentence.char_end
        for conflict in conflicts:
            if conflict.get("status") != "conflict":
                continue
            own = [v for v in conflict["values"] if any(ev["doc_id"] == cited.doc_id and start <= ev["offset"] < end for ev in v["evidence"])]
            if not own:
                continue
            others = []
            for value in conflict["values"]:
                if value is own[0]:
                    continue
                for ev in value["evidence"]:
                    where = cited_sentence(ev["doc_id"], ev["offset"], citations, passages)
                    if where is not None and ev["doc_id"] != cited.doc_id:
                        others.append((value, ev, where))
                        break
            if not others:
                continue
            lead = min(others, key=lambda o: rank.get(o[2][0].tier, 2))
            if rank.get(lead[2][0].tier, 2) < rank.get(cited.tier, 2):  # the other source is more reliable: it leads
                other_citation, (lo, hi) = lead[2][0], lead[2][1]
                led = AnswerSentence(other_citation.text[lo:hi], (other_citation.key,), lo, hi)
                disputes = [(own[0], {"doc_id": cited.doc_id, "quote": sentence.text}, (cited, None))]
                disputes += [o for o in others if o is not lead]
                sentence = led
            else:
                disputes = others
            sentence = replace(sentence, disputed_by=tuple(
                {"value": value["value"], "field": conflict["field"], "label": conflict["label"], "doc_id": ev["doc_id"],
                 "citation_key": where[0].key, "tier": where[0].tier, "quote": ev["quote"]} for value, ev, where in disputes))
            break
        if not any(s.text == sentence.text and s.citation_keys == sentence.citation_keys for s in out):
            out.append(sentence)
    return out


def cited_sentence(doc_id: str, offset: int, citations: Sequence[Citation], passages: Passages) -> tuple[Citation, tuple[int, int]] | None:
    """The citation whose passage holds a document offset, and the span of the sentence there (inside the passage)."""
    for citation in citations:
        if citation.doc_id != doc_id or not citation.char_start <= offset < citation.char_end:
            continue
        span = passages.sentence_at(citation, offset)
        if span is not None:
            return citation, span
        return citation, (offset - citation.char_start, offset - citation.char_start)
    return None


def render(sentences: list[AnswerSentence]) -> str:
    """Answer text with citation markers after each sentence: ``Sentence. [1]``; a fact another cited
    source contradicts is said with it: ``Entrez 3976 [3]; another source gives 3977 [1]``."""
    parts = []
    for s in sentences:
        text = f"{s.text} " + "".join(f"[{key}]" for key in s.citation_keys)
        for other in s.disputed_by:
            text += f"; another source gives {other['value']} [{other['citation_key']}]"
        parts.append(text)
    return " ".join(parts)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


def conflicts_for_answer(conflicts: Iterable[Mapping[str, Any]], citations: Iterable[Any],
                         sentences: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The conflicts (and benign readings) whose fact is stated inside a cited passage: what an
    answer citing those passages must carry. ``citations`` are the cited Citations, ``sentences``
    the answer's AnswerSentences; a fact inside an answer sentence is marked ``in_answer`` and
    listed first, the others are facts of the same passages the answer did not quote."""
    citations = list(citations)
    by_key = {c.key: c for c in citations}
    passages = [(c.doc_id, c.char_start, c.char_end) for c in citations]
    quoted = [(by_key[k].doc_id, by_key[k].char_start + s.char_start, by_key[k].char_start + s.char_end)
              for s in sentences for k in s.citation_keys if k in by_key]
    out = []
    for conflict in conflicts:
        evidence = [(ev.get("doc_id"), ev.get("offset")) for v in conflict.get("values", []) for ev in v.get("evidence", [])]
        inside = lambda spans: any(d == doc_id and o is not None and a <= o < b for d, o in evidence for doc_id, a, b in spans)  # noqa: E731
        if inside(passages):
            out.append({**conflict, "in_answer": inside(quoted)})
    return sorted(out, key=lambda c: (not c["in_answer"], c.get("status") != "conflict"))
