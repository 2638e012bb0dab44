"""Evaluation runs: every retrieval mode against a gold question set, in one run, with a report.

Ranking metrics are computed at document level (a document's rank is its best
chunk's rank) by pytrec_eval, the Python binding of trec_eval, rather than by
hand-written formulas. Answer metrics (answer recall, citation precision,
abstention) come from ``Engine.ask`` exactly as a user would get them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from lifqa import __version__
from lifqa.data import params_fingerprint
from lifqa.errors import InputError
from lifqa.gold import GoldQuestion, GoldSet, load_beir, load_gold
from lifqa.index.layout import file_sha256
from lifqa.settings import MODES, Settings, make_settings

if TYPE_CHECKING:
    from lifqa.sources import CorpusScan

DEFAULT_CACHE = "indexes/eval"
DEFAULT_REPORT = "reports/latest"
RANK_CUTOFFS = (5, 10, 100)
METRICS = ("ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10", "answer_recall@k", "answer_hit", "answer_hit_any_part", "answer_token_recall",
           "answer_words", "citation_precision", "abstention_accuracy", "wrong_abstention", "latency_p50_ms", "latency_p95_ms")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class QuestionResult:
    """One question under one mode: what was retrieved and answered, for error analysis."""

    id: str
    question: str
    mode: str
    answerable: bool
    relevant_doc_ids: tuple[str, ...]
    retrieved_doc_ids: tuple[str, ...]  # top 10 documents of the ranking
    first_relevant_rank: int | None  # document rank of the best relevant document (None: not in the ranking)
    hit: bool | None  # a relevant document among the top k (None: no relevant documents)
    ndcg10: float | None
    answer: str
    abstained: bool
    support: float
    cited_doc_ids: tuple[str, ...]
    answer_found: bool | None  # a key phrase in the top-k passages (None: the question has no answers)
    citation_precision: float | None  # share of cited passages from relevant documents (None: nothing cited)
    latency_ms: float
    answer_hit: bool | None = None  # a key phrase of every part inside the answer's own sentences (None: no answers)
    answer_hit_any_part: bool | None = None  # a key phrase of any part: the same as answer_hit for a one-part question
    answer_token_recall: float | None = None  # best share of a key phrase's words found in the answer's sentences
    answer_words: int | None = None  # words in the answer's sentences (None: abstained)


@dataclass(frozen=True)
class EvalResult:
    modes: Mapping[str, Mapping[str, float | None]]
    questions: tuple[QuestionResult, ...]
    info: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The object ``lifqa eval --json`` prints and the report's summary.json holds."""
        return {"modes": {mode: dict(values) for mode, values in self.modes.items()}, **self.info}


# ---- ranking metrics -------------------------------------------------------
def ranking_metrics(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10, Recall@5/10/100 and MRR@10 of ranked document lists, via pytrec_eval.

    A query in ``qrels`` that retrieved nothing scores 0 on every metric.
    """
    import pytrec_eval

    qrels = {q: {d: int(r) for d, r in rel.items()} for q, rel in qrels.items() if rel}
    scored = {q: _run_scores(run.get(q, ())) for q in qrels}
    cut = ",".join(str(c) for c in RANK_CUTOFFS)
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", f"recall.{cut}"}).evaluate(scored)
    # MRR@10: trec_eval's recip_rank has no cut-off, so it is computed on the top 10 only.
    top10 = {q: dict(list(s.items())[:10]) for q, s in scored.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out = {}
    for q in qrels:
        values = full.get(q, {})
        out[q] = {"ndcg@10": values.get("ndcg_cut_10", 0.0), "mrr@10": rr.get(q, {}).get("recip_rank", 0.0),
                  **{f"recall@{c}": values.get(f"recall_{c}", 0.0) for c in RANK_CUTOFFS}}
    return out


def _run_scores(ranked: Sequence[str]) -> dict[str, float]:
    """Distinct descending scores, so trec_eval's tie-breaking (by document id) never reorders the ranking."""
    return {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)}


def document_ranking(chunk_doc_ids: Iterable[str]) -> list[str]:
    """Documents in the order of their best chunk."""
    return list(dict.fromkeys(chunk_doc_ids))


# ---- answer metrics ----------------------------------------------------------
def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def answer_found(answers: Sequence[str], passages: Sequence[str]) -> bool | None:
    """Whether any key phrase occurs in any passage, ignoring case and runs of whitespace."""
    phrases = [_squash(a) for a in answers if a.strip()]
    if not phrases:
        return None
    texts = [_squash(p) for p in passages]
    return any(phrase in text for phrase in phrases for text in texts)


_WORD = re.compile(r"\w+")


def answer_text(sentences: Sequence[Any]) -> str:
    """The answer's own words: its sentences joined, without citation markers (a key phrase may span two)."""
    return " ".join(s.text for s in sentences)


def answer_hit(answers: Sequence[str], text: str, parts: Sequence[Sequence[str]] = ()) -> bool | None:
    """Whether a key phrase occurs inside the answer's own text, ignoring case and runs of whitespace; for a question
    asking several things (``parts``: each part's key phrases), whether one of every part's does."""
    if parts:
        return all(answer_found(part, [text]) for part in parts)
    return answer_found(answers, [text])


def answer_token_recall(answers: Sequence[str], text: str) -> float | None:
    """The best share, over key phrases, of a phrase's words that occur in the answer (SQuAD-style recall)."""
    phrases = [_WORD.findall(a.lower()) for a in answers if a.strip()]
    phrases = [p for p in phrases if p]
    if not phrases:
        return None
    words = set(_WORD.findall(text.lower()))
    return max(sum(w in words for w in p) / len(p) for p in phrases)


def _mean(values: Iterable[float | bool | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


def mode_metrics(results: Sequence[QuestionResult], per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    latencies = [r.latency_ms for r in results]
    out: dict[str, float | None] = {}
    for name in ("ndcg@10", *(f"recall@{c}" for c in RANK_CUTOFFS), "mrr@10"):
        out[name] = _mean(per_query[r.id][name] for r in answerable if r.id in per_query)
    out["answer_recall@k"] = _mean(r.answer_found for r in answerable)
    out["answer_hit"] = _mean(r.answer_hit for r in answerable)
    out["answer_hit_any_part"] = _mean(r.answer_hit_any_part for r in answerable)
    out["answer_token_recall"] = _mean(r.answer_token_recall for r in answerable)
    words = [r.answer_words for r in results if r.answer_words is not None]
    out["answer_words"] = round(float(np.mean(words)), 1) if words else None
    out["citation_precision"] = _mean(r.citation_precision for r in answerable)
    out["abstention_accuracy"] = _mean(r.abstained for r in unanswerable)
    out["wrong_abstention"] = _mean(r.abstained for r in answerable)
    out["latency_p50_ms"] = round(float(np.percentile(latencies, 50)), 1) if latencies else None
    out["latency_p95_ms"] = round(float(np.percentile(latencies, 95)), 1) if latencies else None
    return out


# ---- running -----------------------------------------------------------------
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
    return QuestionResult(
        id=q.id, question=q.question, mode=mode, answerable=q.answerable,
        relevant_doc_ids=tuple(relevant), retrieved_doc_ids=tuple(ranked[:10]), first_relevant_rank=first,
        hit=(first is not None and first <= k) if relevant else None,
        ndcg10=round(scores["ndcg@10"], 4) if scores else None,
        answer=answer.answer, abstained=answer.abstained, support=answer.support,
        cited_doc_ids=tuple(c.doc_id for c in cited),
        answer_found=answer_found(q.answers, [c.text for c in answer.citations[:k]]) if q.answerable else None,
        citation_precision=_mean(c.doc_id in relevant for c in cited) if q.answerable and cited else None,
        latency_ms=float(answer.timings_ms.get("total_ms", 0.0)),
        answer_hit=answer_hit(q.answers, said, q.answer_parts) if q.answerable else None,
        answer_hit_any_part=answer_hit(q.answers, said) if q.answerable else None,
        answer_token_recall=answer_token_recall(q.answers, said) if q.answerable else None,
        answer_words=None if answer.abstained else len(said.split()),
    )


# ---- index cache ---------------------------------------------------------------
def index_settings_fingerprint(settings: Settings) -> str:
    """sha256 of the settings that shape an index (chunking, encoder, ...), not of the query-time ones."""
    return hashlib.sha256(json.dumps(settings.index_fingerprint(), sort_keys=True).encode()).hexdigest()


def cache_dir(corpus: str | Path | CorpusScan, settings: Settings, cache_root: str | Path = DEFAULT_CACHE) -> Path:
    """``<cache_root>/<corpus fingerprint[:12]>-<index settings hash[:8]>``: one index per corpus and settings."""
    from lifqa.sources.fingerprint import corpus_fingerprint

    return Path(cache_root) / f"{corpus_fingerprint(corpus)[:12]}-{index_settings_fingerprint(settings)[:8]}"


def cached_index(corpus: str | Path, settings: Settings, cache_root: str | Path = DEFAULT_CACHE,
                 progress: Callable[[str, float], None] | None = None) -> Path:
    """Build the corpus's index once; later calls with the same corpus and settings reuse it. The folder name and the
    build key come from one scan of the corpus, so it is listed and hashed once."""
    from lifqa.index.build import build_index
    from lifqa.sources import scan_sources

    sources = scan_sources(corpus)
    folder = cache_dir(sources, settings, cache_root)
    build_index(sources, folder, settings, progress=progress)
    return folder


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


# ---- report ------------------------------------------------------------------
_MILLISECONDS = {"latency_p50_ms", "latency_p95_ms"}
_COUNTS = {"answer_words"}


def metrics_table(result: EvalResult) -> list[str]:
    """The metrics x modes table as Markdown lines (also readable as plain text)."""
    modes = list(result.modes)
    lines = ["| metric | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    for metric in METRICS:
        cells = [format_metric(result.modes[m].get(metric), metric) for m in modes]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return lines


def report_markdown(result: EvalResult) -> str:
    info = result.info
    modes = list(result.modes)
    lines = [f"# lifqa evaluation: {Path(str(info.get('gold', ''))).name or 'gold set'}", "",
             f"{info.get('n_questions')} questions ({info.get('n_answerable')} answerable, {info.get('n_unanswerable')} "
             f"unanswerable); corpus fingerprint `{str(info.get('corpus_fingerprint', ''))[:12]}`; k = {info.get('k')}; "
             f"created {info.get('created')}.", "", *metrics_table(result)]
    lines += ["", "Ranking metrics are at document level (a document's rank is its best chunk's rank), computed by pytrec_eval. "
              "answer_recall@k: share of answerable questions whose top-k passages contain a key phrase. "
              "answer_hit: share of answerable questions whose answer's own sentences contain a key phrase, of every part for a "
              "question asking several things (abstaining counts as a miss); answer_hit_any_part: of any part; "
              "answer_token_recall: share of a key phrase's words in the answer; answer_words: mean words per answer given. "
              "citation_precision: share of passages cited in answers that come from a relevant document. "
              "abstention_accuracy: share of unanswerable questions that abstained; wrong_abstention: share of answerable ones that did.",
              "", f"Settings: `{json.dumps(info.get('settings', {}))}`"]
    if info.get("gold_errors"):
        lines += ["", "Skipped gold lines:", *(f"- {e}" for e in info["gold_errors"])]
    misses = [r for r in result.questions if r.hit is False or (r.answer_found is False) or (not r.answerable and not r.abstained)]
    if misses:
        lines += ["", "## Failures", "", "| mode | id | question | what went wrong |", "|---|---|---|---|"]
        for r in misses[:200]:
            lines.append(f"| {r.mode} | {r.id} | {_md(r.question[:90])} | {_md(_failure(r))} |")
    charts = [f"![{m}]({_chart_name(m)})" for m in METRICS if any(result.modes[x].get(m) is not None for x in modes)]
    if charts:
        lines += ["", "## Charts", "", *charts]
    return "\n".join(lines) + "\n"


def _failure(r: QuestionResult) -> str:
    if not r.answerable:
        return f"answered an unanswerable question (support {r.support:.2f})"
    parts = []
    if r.hit is False:
        where = f"first relevant document at rank {r.first_relevant_rank}" if r.first_relevant_rank else "no relevant document retrieved"
        parts.append(f"{where}; top: {', '.join(r.retrieved_doc_ids[:3])}")
    if r.answer_found is False:
        parts.append("no key phrase in the top passages" + (" (abstained)" if r.abstained else ""))
    return "; ".join(parts)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_metric(value: float | None, metric: str) -> str:
    """3 decimals, milliseconds as whole numbers, a dash where the metric does not apply."""
    if value is None:
        return "–"
    if metric in _COUNTS:
        return f"{value:.1f}"
    return f"{value:.0f}" if metric in _MILLISECONDS else f"{value:.3f}"


def _chart_name(metric: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", metric.lower()).strip("_") + ".png"


def write_report(result: EvalResult, folder: str | Path) -> list[Path]:
    """report.md, summary.json, per_question.jsonl and one PNG bar chart per metric; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    modes = list(result.modes)
    for metric in METRICS:
        values = [result.modes[m].get(metric) for m in modes]
        if all(v is None for v in values):
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=110)
        bars = ax.bar(modes, [v or 0.0 for v in values], color=["#7a9cc6", "#9cc67a", "#c6a77a", "#c67a9c", "#8a8a8a"][: len(modes)])
        for bar, value in zip(bars, values):
            ax.annotate(format_metric(value, metric), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
        ax.set_title(metric)
        if metric in _COUNTS:
            ax.set_ylabel("words")
        elif metric not in _MILLISECONDS:
            ax.set_ylim(0, 1.08)
        else:
            ax.set_ylabel("ms")
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        path = folder / _chart_name(metric)
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    _write_atomic(folder / "summary.json", json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")
    _write_atomic(folder / "per_question.jsonl", "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in result.questions))
    _write_atomic(folder / "report.md", report_markdown(result))
    return [folder / "report.md", folder / "summary.json", folder / "per_question.jsonl", *written]


def _write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader (the web app) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
