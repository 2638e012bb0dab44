"""An evaluation run written down: the metrics x modes table, report.md, summary.json, per-question rows and PNG charts."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from lifqa.eval_metrics import METRICS, EvalResult, QuestionResult

DEFAULT_REPORT = "reports/latest"
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
              "sentence_f1: SQuAD token F1 of the answer's sentences against the best-matching key phrase, over answerable "
              "questions (abstaining scores 0); short_answer_f1 and short_answer_em: SQuAD token F1 and exact match of the short "
              "answer, over the same questions (no short answer, or abstaining, scores 0); short_answer_f1_held: short_answer_f1 "
              "over the answerable questions whose answer sentences hold a key phrase (answer_hit); short_answer_shown: share of "
              "answerable questions shown a short answer; short_answer_precision: share of the short answers shown to answerable "
              "questions that share a word with a key phrase (F1 > 0). "
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
