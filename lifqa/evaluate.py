"""Evaluation runs: every retrieval mode against a gold question set, in one run.

``run_eval`` is what ``lifqa eval`` does: find or build the index (``eval_cache``), load the
questions, then rank and answer each one under every mode with ``Engine.ask`` exactly as a
user would get it. The metrics are ``eval_metrics``'s; ``eval_report`` writes the report.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from lifqa import __version__
from lifqa.data import params_fingerprint
from lifqa.errors import InputError
from lifqa.eval_cache import DEFAULT_CACHE, cached_index, index_settings_fingerprint
from lifqa.eval_metrics import (EvalResult, QuestionResult, answer_found, answer_hit, answer_text, answer_token_recall, document_ranking,
                                mean_of_known, mode_metrics, ranking_metrics, short_answer_scores)
from lifqa.gold import GoldQuestion, GoldSet, load_beir, load_gold
from lifqa.index.layout import file_sha256
from lifqa.settings import MODES, make_settings

Progress = Callable[[int, int], None]


def evaluate(engine: Any, gold: GoldSet, modes: Sequence[str] = MODES, k: int | None = None,
             progress: Progress | None = None, variants: Mapping[str, Mapping[str, Any]] | None = None) -> EvalResult:
    """Rank and answer every gold question under every mode; metrics per mode plus per-question results.

    ``variants`` maps a name to query-time setting changes (e.g. ``{"before": {"answer_selector": "heuristic"}}``);
    each is run in the engine's default mode over the same index and questions, as the column
    ``<mode>:<name>``, so an old path and a new one are measured side by side in one run."""
    from lifqa.settings import parse_k, parse_mode

    modes = [parse_mode(m).value for m in modes]
    k = engine.settings.k if k is None else parse_k(k)
    questions = list(gold.questions)
    if not questions:
        raise InputError(f"no gold questions to evaluate in {gold.source or 'the gold set'} (check --split)")
    # (column, engine, mode): the modes, then each variant in the default mode
    runs = [(mode, engine, mode) for mode in modes]
    for name, changes in (variants or {}).items():
        runs.append((f"{engine.settings.mode.value}:{name}", engine.with_settings(**changes), engine.settings.mode.value))
    alias = _aliases(engine)
    analysed = engine.questions([q.question for q in questions])
    qrels = {q.id: _qrels(q, alias) for q in questions if q.answerable}
    total, done = len(questions) * len(runs), 0
    for _, eng, mode in runs:  # warm-up, not timed: first calls page in the index files
        eng.ask(questions[0].question, k=k, mode=mode)
    raw: dict[str, list[tuple[GoldQuestion, list[str], Any]]] = {column: [] for column, _, _ in runs}
    for q, question in zip(questions, analysed):
        for column, eng, mode in runs:  # interleaved per question, so caches warm up alike for every mode's latency
            ranked = document_ranking(hit.chunk.doc_id for hit in eng.ranking(question, mode))
            raw[column].append((q, ranked, eng.ask(q.question, k=k, mode=mode)))
            done += 1
            if progress is not None:
                progress(done, total)
    results: list[QuestionResult] = []
    metrics: dict[str, dict[str, float | None]] = {}
    for column, _, _ in runs:
        per_query = ranking_metrics(qrels, {q.id: ranked for q, ranked, _ in raw[column]})
        rows = [_question_result(q, column, ranked, answer, qrels.get(q.id, {}), per_query.get(q.id), k)
                for q, ranked, answer in raw[column]]
        metrics[column] = mode_metrics(rows, per_query)
        results.extend(rows)
    info = {
        "n_questions": len(questions),
        "n_answerable": sum(q.answerable for q in questions),
        "n_unanswerable": sum(not q.answerable for q in questions),
        "k": k,
        "corpus_fingerprint": engine.manifest.get("corpus", {}).get("fingerprint", ""),
        "corpus": project_relative(engine.manifest.get("corpus", {}).get("path", "")),
        "index": project_relative(engine.index_dir),
        "gold": gold.source,
        "gold_errors": list(gold.errors),
        "settings": {name: _plain(getattr(engine.settings, name)) for name in _REPORTED_SETTINGS},
        "variants": {name: dict(changes) for name, changes in (variants or {}).items()},
        "abstain_threshold_used": round(float(engine.abstain_threshold), 4),
        "calibrated": bool(engine.settings.use_calibration and engine.calibration is not None and engine.settings.abstain_threshold is None),
        "reranker_fingerprint": engine.feature_reranker.params.get("trained_on", {}).get("fingerprint", ""),
        # what the figures were made with, so a report can be checked against what ships (tests/test_evaluate.py)
        "made_with": {"reranker": params_fingerprint(engine.feature_reranker.params),
                      "selector": params_fingerprint(engine.selector.params),
                      "index_settings": index_settings_fingerprint(engine.settings),
                      "gold_sha256": file_sha256(Path(gold.source)) if Path(gold.source).is_file() else ""},
        "lifqa_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return EvalResult(metrics, tuple(results), info)


def project_relative(path: str | Path) -> str:
    """A path as seen from the project (the working directory), so a shipped report reads the same on every machine."""
    if not str(path):
        return ""
    return Path(os.path.relpath(Path(path).resolve(), Path.cwd().resolve())).as_posix()


_REPORTED_SETTINGS = ("chunk_size", "chunk_overlap", "candidate_k", "fusion", "fusion_alpha", "rrf_k", "rerank_depth",
                      "max_per_doc", "reranker", "abstain_threshold", "answer_selector", "passage_diversity")


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _aliases(engine: Any) -> dict[str, str]:
    """Ids of documents indexed once because their text duplicates another: they count as the kept one."""
    out = {}
    for doc_id, names in engine.store.aliases().items():  # only the documents that have other names
        for name in names:
            out[name] = doc_id
            out[str(Path(name).with_suffix(""))] = doc_id
    return out


def _qrels(q: GoldQuestion, alias: Mapping[str, str]) -> dict[str, int]:
    graded = q.relevance or {doc: 1 for doc in q.relevant_doc_ids}
    out: dict[str, int] = {}
    for doc, grade in graded.items():
        kept = alias.get(doc, doc)
        out[kept] = max(out.get(kept, 0), int(grade))
    return out


def _question_result(q: GoldQuestion, mode: str, ranked: list[str], answer: Any, relevant: Mapping[str, int],
                     scores: Mapping[str, float] | None, k: int) -> QuestionResult:
    cited_keys = {key for s in answer.sentences for key in s.citation_keys}
    cited = [c for c in answer.citations if c.key in cited_keys]
    first = next((i + 1 for i, doc in enumerate(ranked) if doc in relevant), None)
    said = "" if answer.abstained else answer_text(answer.sentences)
    short = None if answer.abstained or answer.short_answer is None else answer.short_answer.text
    held = answer_hit(q.answers, said, q.answer_parts) if q.answerable else None
    return QuestionResult(
        id=q.id, question=q.question, mode=mode, answerable=q.answerable,
        relevant_doc_ids=tuple(relevant), retrieved_doc_ids=tuple(ranked[:10]), first_relevant_rank=first,
        hit=(first is not None and first <= k) if relevant else None,
        ndcg10=round(scores["ndcg@10"], 4) if scores else None,
        answer=answer.answer, abstained=answer.abstained, support=answer.support,
        cited_doc_ids=tuple(c.doc_id for c in cited),
        answer_found=answer_found(q.answers, [c.text for c in answer.citations[:k]]) if q.answerable else None,
        citation_precision=mean_of_known(c.doc_id in relevant for c in cited) if q.answerable and cited else None,
        latency_ms=float(answer.timings_ms.get("total_ms", 0.0)),
        answer_hit=held,
        answer_hit_any_part=answer_hit(q.answers, said) if q.answerable else None,
        answer_token_recall=answer_token_recall(q.answers, said) if q.answerable else None,
        answer_words=None if answer.abstained else len(said.split()),
        short_answer=short,
        **(short_answer_scores(q.answers, said, short, held) if q.answerable else {}),
    )


def run_eval(*, gold: str | Path | None = None, beir: str | Path | None = None, corpus: str | Path | None = None,
             index: str | Path | None = None, split: str | None = "test", modes: Sequence[str] = MODES, k: int | None = None,
             cache_root: str | Path = DEFAULT_CACHE, overrides: Mapping[str, Any] | None = None, reranker: str | Path | None = None,
             progress: Progress | None = None, build_progress: Callable[[str, float], None] | None = None,
             variants: Mapping[str, Mapping[str, Any]] | None = None) -> EvalResult:
    """What ``lifqa eval`` does: find or build the index, load the questions, evaluate every mode.

    ``beir`` is a BEIR folder (its corpus.jsonl is the corpus); otherwise ``gold`` is a lifqa gold
    file over ``corpus`` (a folder or a BEIR corpus.jsonl), or over an already built ``index``.
    ``reranker`` is a parameter file to use instead of the shipped one (to compare before shipping).
    """
    from lifqa.engine import Engine
    from lifqa.settings import parse_mode

    for mode in modes:
        parse_mode(mode)
    if (gold is None) == (beir is None):
        raise InputError("give either a gold file (--gold FILE) or a BEIR folder (--beir DIR)")
    overrides = dict(overrides or {})
    if beir is not None:
        beir = Path(beir)
        if not beir.is_dir():
            raise InputError(f"BEIR folder not found: {beir}. It needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
        questions = load_beir(beir, split or "test")
        corpus = beir / "corpus.jsonl"
    elif gold is not None and not Path(gold).is_file():
        raise InputError(f"gold file not found: {gold}")
    if index is None:
        if corpus is None:
            raise InputError("give the corpus the gold questions are about (--corpus PATH) or a built index (--index DIR)")
        index = cached_index(corpus, make_settings(**overrides), cache_root, build_progress)
    engine = Engine.open(index, reranker_params=_reranker_params(reranker), **overrides)
    if beir is None:
        questions = load_gold(gold, known_doc_ids=set(engine.store.sources) | set(_aliases(engine))).split(split)
    return evaluate(engine, questions, modes, k, progress, variants)


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``["fusion=rrf", "fusion_alpha=0.6"]`` -> settings overrides (values read as JSON where they parse)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {pair!r}: write NAME=VALUE, e.g. --set fusion=rrf")
        try:
            out[name.strip().replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip().replace("-", "_")] = value
    make_settings(**out)  # reject unknown names and bad values before any work
    return out


def parse_variants(specs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``["before:answer_selector=heuristic,passage_diversity=cap"]`` -> ``{"before": {...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, pairs = spec.partition(":")
        if not sep or not name.strip() or not pairs.strip():
            raise InputError(f"--compare {spec!r}: write NAME:SETTING=VALUE[,SETTING=VALUE], e.g. --compare before:answer_selector=heuristic")
        out[name.strip()] = parse_overrides(p for p in pairs.split(",") if p.strip())
    return out


def _reranker_params(path: str | Path | None) -> dict[str, Any] | None:
    from lifqa.search.rerank import load_params

    if path is None:
        return None
    try:
        return load_params(path)
    except FileNotFoundError:
        raise InputError(f"reranker parameter file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a reranker parameter file (JSON): {exc}") from None
