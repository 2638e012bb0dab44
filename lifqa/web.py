"""Library side of the web app: index preparation, URL options, batch and report helpers, HTML snippets.

``app.py`` only lays out widgets; everything testable without a browser lives
here. Corpus text is untrusted (a seed document carried a raw ``<iframe>``), so
every HTML string built here passes corpus-derived text through ``html.escape``
first, and the app shows it with ``st.html`` (which also sanitises with
DOMPurify) — never with ``unsafe_allow_html`` markdown.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from lifqa.errors import InputError, LifqaError
from lifqa.jsonl import jsonl_rows
from lifqa.settings import MODES, Mode, make_settings
from lifqa.types import Answer, AnswerSentence, Citation, Flag

DEFAULT_MODE = Mode.HYBRID_RERANK.value
DEFAULT_K = 5
K_MIN, K_MAX = 1, 20
TIER_CHOICES = ("any", "high", "medium", "low")
QUERY_KEYS = ("q", "mode", "k", "exclude", "min_tier", "tag", "collection")
EXAMPLE_QUESTIONS = (
    "Which receptor subunit does LIF share with IL-6?",
    "What is the NCBI Entrez Gene ID for human LIF?",
    "On which chromosome is the human LIF gene located?",
    "How does LIF help the liver regenerate?",
)
TIER_LABELS = {"high": "High reliability", "medium": "Medium reliability", "low": "Low reliability", "unknown": "Tier not assessed"}
_BENIGN = ("benign", "explained", "compatible", "consistent")


# ---- where the app finds its data -------------------------------------------
@dataclass(frozen=True)
class AppPaths:
    """Index folder (LIFQA_INDEX, default indexes/), corpus (LIFQA_CORPUS) and evaluation report folder (LIFQA_REPORT).

    ``corpus_dir`` is None when LIFQA_CORPUS is not set: an existing index is then
    compared with the corpus it was built from, never rebuilt from another one.
    """

    index_dir: Path
    corpus_dir: Path | None
    report_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "AppPaths":
        corpus = environ.get("LIFQA_CORPUS")
        return cls(Path(environ.get("LIFQA_INDEX", "indexes")), Path(corpus) if corpus else None,
                   Path(environ.get("LIFQA_REPORT", "reports/latest")))


_checked: set[AppPaths] = set()
_check_lock = threading.Lock()


def _recorded(index_dir: Path) -> dict[str, Any] | None:
    """The manifest of the index in ``index_dir``, or None when there is no loadable one."""
    from lifqa.index import layout

    try:
        return layout.read_manifest(layout.active_build(index_dir))
    except LifqaError:
        return None


def corpus_of(paths: AppPaths) -> Path:
    """LIFQA_CORPUS if set, else the corpus the index was built from, else corpus/."""
    if paths.corpus_dir is not None:
        return paths.corpus_dir
    manifest = _recorded(paths.index_dir) or {}
    recorded = manifest.get("corpus", {}).get("path") if isinstance(manifest.get("corpus"), dict) else None
    return Path(recorded) if recorded else Path("corpus")


def index_state(paths: AppPaths) -> str:
    """'current', 'missing', 'stale', or 'no-corpus' (an index but no corpus to compare it with)."""
    from lifqa.index.build import index_status

    manifest = _recorded(paths.index_dir)
    corpus = _corpus_to_check(paths, manifest)
    if corpus is None:
        return "no-corpus"
    return index_status(corpus, paths.index_dir, make_settings(**(manifest or {}).get("settings", {})))


def _corpus_to_check(paths: AppPaths, manifest: dict[str, Any] | None) -> Path | None:
    """The corpus to compare the index with; None when only the index exists (it is used as is)."""
    corpus = corpus_of(paths)
    if corpus.exists():
        return corpus
    if manifest is not None:
        return None
    raise InputError(f"no index in {paths.index_dir} and no corpus {corpus} to build one from. "
                     "Set LIFQA_CORPUS to a folder of .txt/.md/.html documents (or LIFQA_INDEX to a built index).")


def ensure_index(paths: AppPaths, progress: Callable[[str, float], None] | None = None) -> str:
    """Build the index if it is missing or stale, with the settings it was built with; say which it was.

    One call decides: ``build_index`` fingerprints the corpus once and returns at once when the
    index is current, so a first start of a large corpus hashes it once, not twice. Checked once
    per process (a corpus edited while the app runs is picked up at the next start) and
    serialised, so sessions starting together build it once.
    """
    from lifqa.index.build import build_index

    with _check_lock:
        if paths in _checked:
            return "current"
        manifest = _recorded(paths.index_dir)
        corpus = _corpus_to_check(paths, manifest)
        if corpus is None:
            state = "no-corpus"
        else:
            result = build_index(corpus, paths.index_dir, make_settings(**(manifest or {}).get("settings", {})), progress=progress)
            state = "current" if not result.rebuilt else "stale" if manifest is not None else "missing"
        _checked.add(paths)
        return state


def build_name(index_dir: Path) -> str:
    """The active build folder's name: part of the engine cache key, so a rebuilt index is reopened."""
    from lifqa.index import layout

    return layout.active_build(index_dir).name


def open_engine(index_dir: Path) -> Any:
    from lifqa.engine import Engine

    return Engine.open(index_dir)


# ---- question options and the URL ---------------------------------------------
@dataclass(frozen=True)
class AskOptions:
    """One question with the controls it was asked with; round-trips through the URL."""

    question: str = ""
    mode: str = DEFAULT_MODE
    k: int = DEFAULT_K
    exclude: tuple[str, ...] = ()
    min_tier: str = "any"
    tags: tuple[str, ...] = ()  # library filters: sources with any of these tags / in any of these collections
    collections: tuple[str, ...] = ()

    def ask_kwargs(self) -> dict[str, Any]:
        kwargs = {"k": self.k, "mode": self.mode, "exclude_flags": list(self.exclude),
                  "min_tier": None if self.min_tier == "any" else self.min_tier}
        if self.tags or self.collections:
            kwargs.update(tags=list(self.tags), collections=list(self.collections))
        return kwargs

    def to_query_params(self) -> dict[str, str]:
        """Only what differs from the defaults, so shared links stay short."""
        params = {"q": self.question} if self.question else {}
        if self.mode != DEFAULT_MODE:
            params["mode"] = self.mode
        if self.k != DEFAULT_K:
            params["k"] = str(self.k)
        if self.exclude:
            params["exclude"] = ",".join(self.exclude)
        if self.min_tier != "any":
            params["min_tier"] = self.min_tier
        if self.tags:
            params["tag"] = ",".join(self.tags)
        if self.collections:
            params["collection"] = ",".join(self.collections)
        return params


def parse_query_params(params: Mapping[str, Any], flag_kinds: Iterable[str], tags: Iterable[str] = (),
                       collections: Iterable[str] = ()) -> tuple[AskOptions, tuple[str, ...]]:
    """Options from URL parameters plus one message per invalid parameter (which then keeps its default)."""
    kinds = sorted(set(flag_kinds))
    problems: list[str] = []
    values = {key: (value[-1] if isinstance(value, (list, tuple)) and value else value) for key, value in params.items()}
    for key in values:
        if key not in QUERY_KEYS:
            problems.append(f"unknown URL parameter '{key}' was ignored; the page understands {', '.join(QUERY_KEYS)}")
    question = str(values.get("q") or "").strip()
    mode = str(values.get("mode") or DEFAULT_MODE)
    if mode not in MODES:
        problems.append(f"mode={mode!r} is not a retrieval mode; used {DEFAULT_MODE}. Valid modes: {', '.join(MODES)}")
        mode = DEFAULT_MODE
    k = DEFAULT_K
    if values.get("k") not in (None, ""):
        raw = str(values["k"]).strip()
        if raw.isdigit() and K_MIN <= int(raw) <= K_MAX:
            k = int(raw)
        else:
            problems.append(f"k={raw!r} is not a number of passages from {K_MIN} to {K_MAX}; used {DEFAULT_K}")
    exclude: list[str] = []
    for kind in (part.strip() for part in str(values.get("exclude") or "").split(",")):
        if not kind or kind in exclude:
            continue
        if kind in kinds:
            exclude.append(kind)
        else:
            known = ", ".join(kinds) if kinds else "none (no source in this index is flagged)"
            problems.append(f"exclude={kind!r} is not a flag kind of any source in this index, so it was ignored. Kinds present: {known}")
    min_tier = str(values.get("min_tier") or "any")
    if min_tier not in TIER_CHOICES:
        problems.append(f"min_tier={min_tier!r} is not a tier; used 'any'. Valid tiers: {', '.join(TIER_CHOICES)}")
        min_tier = "any"
    chosen: dict[str, list[str]] = {"tag": [], "collection": []}
    for key, present in (("tag", list(tags)), ("collection", list(collections))):
        by_lower = {p.lower(): p for p in present}
        for value in (part.strip() for part in str(values.get(key) or "").split(",")):
            if not value or by_lower.get(value.lower()) in chosen[key]:
                continue
            if value.lower() in by_lower:
                chosen[key].append(by_lower[value.lower()])
            else:
                listed = ", ".join(present) if present else "none (this index holds no library items with them)"
                problems.append(f"{key}={value!r} is not a library {key} of any source in this index, so it was ignored. Present: {listed}")
    return AskOptions(question, mode, k, tuple(exclude), min_tier, tuple(chosen["tag"]), tuple(chosen["collection"])), tuple(problems)


def library_choices(sources: Iterable[Any]) -> tuple[list[str], list[str]]:
    """Library tags and collection paths present on the index's sources, for the sidebar filters."""
    from lifqa.search.searcher import known

    documents = [record.document for record in sources]
    return known(documents, "tags"), known(documents, "collections")


@dataclass(frozen=True)
class AnswerExport:
    """One way to take an answer away: a download button's label, content, file name and media type."""

    fmt: str
    label: str
    data: str
    file_name: str
    mime: str


def answer_exports(answer: Answer, document_of: Callable[[str], Any]) -> tuple[str, list[AnswerExport]]:
    """The answer as Markdown (for the copy box) and the Markdown, BibTeX and RIS downloads under it."""
    from lifqa.export import MEDIA_TYPES, SUFFIXES, export_answer

    stem = re.sub(r"[^a-z0-9]+", "-", answer.question.lower()).strip("-")[:60] or "answer"
    labels = {"markdown": "Download Markdown", "bibtex": "Download BibTeX", "ris": "Download RIS"}
    files = [AnswerExport(fmt, label, export_answer(answer, document_of, fmt), f"{stem}{SUFFIXES[fmt]}", MEDIA_TYPES[fmt])
             for fmt, label in labels.items()]
    return files[0].data, files


def flag_kinds(sources: Iterable[Any]) -> list[str]:
    """Flag kinds present on at least one source, for the exclude control."""
    return sorted({flag.kind for record in sources for flag in record.flags})


# ---- HTML snippets (every corpus string is escaped here) --------------------------
PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"]{padding-top:2.2rem}
.lq-legend{font-size:.8rem;color:#4b5563;line-height:1.5}
.lq-legend .lq-tier{display:inline-block;margin:.1rem .25rem .1rem 0}
.lq-answer{font-size:1.1rem;line-height:1.65;padding:.9rem 1.2rem;border-left:4px solid #2563eb;background:#f4f7ff;border-radius:0 8px 8px 0;color:#111827}
.lq-answer.lq-abstain{border-left-color:#9ca3af;background:#f6f6f7}
.lq-answer .lq-why{display:block;margin-top:.35rem;font-size:.88rem;color:#4b5563}
.lq-cite{font-size:.72em;vertical-align:super;text-decoration:none!important;color:#2563eb!important;font-weight:700;margin:0 1px;padding:0 2px;border-radius:3px}
.lq-cite:hover{background:#dbeafe}
.lq-meta{color:#6b7280;font-size:.82rem;margin:.35rem 0 .2rem}
.lq-card{border:1px solid #e5e7eb;border-radius:8px;padding:.75rem 1rem .6rem;margin:.55rem 0;background:#fff;scroll-margin-top:4rem}
.lq-card.lq-cited{border-left:4px solid #2563eb}
.lq-card:target{box-shadow:0 0 0 3px #bfdbfe}
.lq-head{display:flex;flex-wrap:wrap;gap:.45rem;align-items:baseline}
.lq-key{font-weight:700;color:#2563eb;min-width:1.6rem}
.lq-title{font-weight:600;color:#111827}
.lq-label{font-weight:600;color:#1e3a8a;white-space:nowrap}
.lq-section{color:#6b7280}
.lq-pages{color:#374151;font-weight:600;margin-right:.3em}
.lq-score{margin-left:auto;color:#6b7280;font-size:.8rem;font-variant-numeric:tabular-nums;white-space:nowrap}
.lq-id{color:#9ca3af;font-size:.75rem;font-family:ui-monospace,monospace}
.lq-badges{margin:.35rem 0 .1rem;display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}
.lq-tier{white-space:nowrap;border-radius:999px;padding:1px 10px;font-size:.74rem;font-weight:700;color:#fff;letter-spacing:.01em}
.lq-tier-high{background:#15803d}.lq-tier-medium{background:#b45309}.lq-tier-low{background:#b91c1c}.lq-tier-unknown{background:#6b7280}
.lq-chip{display:inline-block;border-radius:5px;padding:0 7px;font-size:.74rem;border:1px solid;cursor:help;line-height:1.5}
.lq-sev-high{background:#fef2f2;color:#991b1b;border-color:#fecaca}
.lq-sev-medium{background:#fff7ed;color:#9a3412;border-color:#fed7aa}
.lq-sev-low{background:#fefce8;color:#854d0e;border-color:#fde68a}
.lq-sev-info{background:#f0fdf4;color:#166534;border-color:#bbf7d0}
.lq-passage{margin-top:.45rem;line-height:1.6;white-space:pre-wrap;color:#1f2937;font-size:.95rem}
.lq-passage mark{background:#fde68a;color:inherit;padding:0 2px;border-radius:2px}
.lq-notes{margin-top:.4rem}
.lq-notes summary{cursor:pointer;color:#4b5563;font-size:.82rem}
.lq-more{margin:.3rem 0 .6rem}.lq-more summary{font-size:.9rem}
.lq-note{font-size:.85rem;margin:.45rem 0 .2rem;color:#374151}
.lq-quote{border-left:3px solid #d1d5db;margin:.2rem 0 .2rem .2rem;padding:.05rem .6rem;color:#4b5563;font-style:italic;white-space:pre-wrap}
.lq-conflict,.lq-caution{border:1px solid #fcd34d;background:#fffbeb;border-radius:8px;padding:.65rem 1rem;margin:.5rem 0;color:#78350f}
.lq-conflict.lq-benign{border-color:#bfdbfe;background:#eff6ff;color:#1e3a8a}
.lq-conflict ul{margin:.3rem 0 0 1.1rem;padding:0}
.lq-doctext{max-height:520px;overflow-y:auto;white-space:pre-wrap;line-height:1.6;border:1px solid #e5e7eb;border-radius:8px;padding:.8rem 1rem;background:#fcfcfd;font-size:.93rem;color:#1f2937}
.lq-doctext mark{background:#fee2e2;color:inherit}
.lq-tablewrap{max-height:560px;overflow:auto;border:1px solid #e5e7eb;border-radius:8px}
.lq-table{border-collapse:collapse;width:100%;font-size:.88rem}
.lq-table th{position:sticky;top:0;background:#f5f7fa;text-align:left;font-weight:600;color:#374151;padding:.45rem .6rem;border-bottom:1px solid #e5e7eb}
.lq-table td{padding:.45rem .6rem;border-bottom:1px solid #f0f1f3;vertical-align:top}
.lq-table td .lq-chip{margin:0 .2rem .2rem 0}
.lq-num{text-align:right;font-variant-numeric:tabular-nums}
.lq-dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;font-size:.9rem;margin:.4rem 0}
.lq-dl dt{color:#6b7280}.lq-dl dd{margin:0;color:#111827}
</style>"""


def tier_legend_html() -> str:
    """The sidebar key to the badge colours."""
    badges = "".join(tier_badge(tier) for tier in ("high", "medium", "low", "unknown"))
    return (f'<div class="lq-legend"><div>{badges}</div>A source’s tier follows from its flags: each warning flag adds points '
            "by severity, checkable references take one away. Chips name the flags; hover a chip or badge for the reasons, "
            "or open “Why these badges” under a passage for the evidence quotes.</div>")


def tier_badge(tier: str, reasons: Sequence[str] = ()) -> str:
    tier = tier if tier in TIER_LABELS else "unknown"
    why = "Reliability tier of this source" + (":\n" + "\n".join(reasons) if reasons else "")
    return f'<span class="lq-tier lq-tier-{tier}" data-tier="{tier}" title="{escape(why)}">{escape(TIER_LABELS[tier])}</span>'


_SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1, "info": 0}


def _evidence_label(flag: Flag) -> str:
    if flag.evidence.startswith("metadata:"):
        return f"from the curator's metadata ({flag.evidence.split(':', 1)[1]})"
    where = f" (character {flag.offset})" if flag.offset is not None else ""
    return f"evidence{where}: “{_clip(flag.evidence, 200)}”"


def flag_chip(flags: Sequence[Flag]) -> str:
    """One chip for one flag kind; hovering shows every reason with its evidence."""
    worst = max(flags, key=lambda f: _SEVERITY_RANK.get(f.severity, 1))
    severity = worst.severity if worst.severity in _SEVERITY_RANK else "low"
    tooltip = "\n".join(f"• {f.reason} — {_evidence_label(f)}" for f in flags[:4])
    if len(flags) > 4:
        tooltip += f"\n… and {len(flags) - 4} more"
    return (f'<span class="lq-chip lq-sev-{severity}" data-flag="{escape(worst.kind)}" title="{escape(tooltip)}">'
            f'{escape(worst.kind.replace("_", " "))}</span>')


def _by_kind(flags: Sequence[Flag]) -> list[list[Flag]]:
    """Flags grouped by kind (first appearance order), exact repeats dropped: a passage repeats its source's flags."""
    groups: dict[str, list[Flag]] = {}
    for flag in flags:
        group = groups.setdefault(flag.kind, [])
        if flag not in group:
            group.append(flag)
    return list(groups.values())


def badges_html(tier: str, flags: Sequence[Flag], reasons: Sequence[str] = ()) -> str:
    return '<div class="lq-badges">' + tier_badge(tier, reasons) + "".join(flag_chip(group) for group in _by_kind(flags)) + "</div>"


def flag_notes_html(flags: Sequence[Flag], open_: bool = False) -> str:
    """Each flag with its reason and evidence quote, folded in a <details> (the expand part of hover/expand)."""
    groups = _by_kind(flags)
    if not groups:
        return ""
    items = []
    for group in groups:
        lines = []
        for flag in group:
            if flag.evidence.startswith("metadata:"):
                evidence = f'<div class="lq-quote">{escape(_evidence_label(flag))}</div>'
            else:
                where = f"verbatim quote at character {flag.offset}" if flag.offset is not None else "verbatim quote"
                evidence = f'<div class="lq-quote" title="{where}">“{escape(flag.evidence)}”</div>'
            lines.append(f"<div>{escape(flag.reason)} <span class=\"lq-id\">({escape(flag.severity)})</span>{evidence}</div>")
        items.append(f'<div class="lq-note">{flag_chip(group)}{"".join(lines)}</div>')
    count = sum(len(group) for group in groups)
    return (f'<details class="lq-notes"{" open" if open_ else ""}><summary>Why these badges: {count} reliability '
            f'note{"s" if count != 1 else ""} with evidence</summary>{"".join(items)}</details>')


def highlight(text: str, spans: Iterable[tuple[int, int]], tag: str = "mark") -> str:
    """Escaped ``text`` with the given character spans wrapped in ``tag`` (overlaps merged, bad spans skipped)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, cursor = [], 0
    for start, end in merged:
        out.append(escape(text[cursor:start]))
        out.append(f"<{tag}>{escape(text[start:end])}</{tag}>")
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def answer_spans(citation: Citation, sentences: Sequence[AnswerSentence]) -> list[tuple[int, int]]:
    """Where the answer's sentences sit inside this cited passage (only spans that match verbatim)."""
    return [(s.char_start, s.char_end) for s in sentences
            if citation.key in s.citation_keys and citation.text[s.char_start:s.char_end] == s.text]


def cited_keys(answer: Answer) -> set[int]:
    return {key for sentence in answer.sentences for key in sentence.citation_keys}


def answer_html(answer: Answer) -> str:
    """The answer with a clickable [n] marker after each sentence, linking to its passage card."""
    if answer.abstained:
        why = ("None of the retrieved passages supports an answer"
               + (f" (best support {answer.support:.2f} is under the answer threshold)." if answer.citations else
                  ": no passage passed the filters.")
               + (" The closest passages are shown below." if answer.citations else ""))
        return (f'<div class="lq-answer lq-abstain"><b>{escape(answer.answer)}</b>'
                f'<span class="lq-why">{escape(why)}</span></div>')
    titles = {c.key: f"{c.title} — {c.section}" if c.section else c.title for c in answer.citations}
    parts = []
    for sentence in answer.sentences:
        markers = "".join(f'<a class="lq-cite" href="#lq-cite-{key}" title="{escape(titles.get(key, ""))}">[{key}]</a>'
                          for key in sentence.citation_keys)
        parts.append(f"{escape(sentence.text)}{markers}")
    return f'<div class="lq-answer">{" ".join(parts)}</div>'


def reliability_note_html(answer: Answer) -> str:
    """A caution when answer sentences rest on low-tier sources (empty when none do)."""
    if answer.abstained:
        return ""
    cited = cited_keys(answer)
    weak = [c for c in answer.citations if c.key in cited and c.tier == "low"]
    if not weak:
        return ""
    worst = max((_SEVERITY_RANK.get(f.severity, 0) for c in weak for f in c.flags), default=0)
    kinds = sorted({f.kind.replace("_", " ") for c in weak for f in c.flags if worst and _SEVERITY_RANK.get(f.severity, 0) == worst})
    keys = ", ".join(f"[{c.key}]" for c in weak)
    scope = "Every sentence of this answer comes" if len(weak) == len(cited) else f"The sentences citing {keys} come"
    flags = f" (flagged: {', '.join(kinds)})" if kinds else ""
    return (f'<div class="lq-caution">⚠️ {escape(scope)} from low-reliability sources{escape(flags)}. '
            "Set a minimum source tier in the sidebar to answer from stronger sources only.</div>")


def citation_card(citation: Citation, sentences: Sequence[AnswerSentence], cited: bool) -> str:
    """One passage: source title, section, tier badge and flag chips, the passage with the answer sentence marked."""
    show_section = citation.section and citation.section != citation.title
    section = f'<span class="lq-section">· {escape(citation.section)}</span>' if show_section else ""
    pages = f'<span class="lq-pages" data-page="{citation.page_start}">{escape(citation.pages)}</span>' if citation.page_start else ""
    return (
        f'<div class="lq-card{" lq-cited" if cited else ""}" id="lq-cite-{citation.key}" data-doc-id="{escape(citation.doc_id)}">'
        f'<div class="lq-head"><span class="lq-key">[{citation.key}]</span>{_label_html(citation)}<span class="lq-title">{escape(citation.title)}</span>{pages}{section}'
        f'<span class="lq-score" title="final ranking score">score {citation.score:.3f}</span></div>'
        f'{badges_html(citation.tier, citation.flags)}'
        f'<div class="lq-passage">{highlight(citation.text, answer_spans(citation, sentences))}</div>'
        f'<div class="lq-id">{escape(citation.doc_id)} · characters {citation.char_start}–{citation.char_end}</div>'
        f"{flag_notes_html(citation.flags)}</div>"
    )


def _label_html(citation: Citation) -> str:
    """Who and when ("Datta et al. 2010", else the citation key) beside the [n] marker; the pages have their own span."""
    from lifqa.references import author_label

    label = author_label(citation.authors, citation.year) or citation.citation_key
    return f'<span class="lq-label">{escape(label)}</span>' if label else ""


@dataclass(frozen=True)
class PageTarget:
    """Where a cited sentence stands in its PDF: the file, the 1-based page, the sentence text."""

    path: str
    page: int
    quote: str
    label: str = ""  # the number printed on that page, when the PDF prints one

    @property
    def name(self) -> str:
        """How the page is named to a reader: its printed number, with the PDF's own page where the two differ."""
        return f"{self.label} (PDF page {self.page})" if self.label and self.label != str(self.page) else str(self.page)


def page_target(record: Any, citation: Citation, sentences: Sequence[AnswerSentence]) -> PageTarget | None:
    """The page and sentence to show for a cited PDF passage: the answer's sentence in it when there
    is one, else the passage's first sentence; None when the source is not a PDF that is still there."""
    doc = record.document
    if not citation.page_start or not doc.page_starts or not doc.source_path:
        return None
    path = Path(doc.source_path)
    if not path.is_file():
        return None
    spans = answer_spans(citation, sentences)
    if spans:
        start, end = spans[0]
    else:
        end = next((i + 1 for i, ch in enumerate(citation.text) if ch in ".!?" and i > 20), len(citation.text))
        start = 0
    quote = citation.text[start:end]
    page = doc.page_at(citation.char_start + start)
    label = doc.page_labels[page - 1] if 0 < page <= len(doc.page_labels) else ""
    return PageTarget(str(path), page, quote, label)


def page_png(target: PageTarget) -> tuple[bytes, bool]:
    """The page as PNG with the sentence's characters highlighted; the flag says whether they were found."""
    from lifqa.readers.pdf_page_view import render_page, text_boxes

    boxes = text_boxes(target.path, target.page, target.quote)
    return render_page(target.path, target.page, boxes), bool(boxes)


def conflict_html(conflict: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    """A warning naming every disagreeing value, its sources and their quotes (an explained difference is a note)."""
    status = str(conflict.get("status") or "")
    benign = status.lower() in _BENIGN
    label = str(conflict.get("label") or conflict.get("field") or "a fact").replace("_", " ")
    rows = []
    for value in conflict.get("values", []):
        sources = ", ".join(f"{titles.get(doc, doc)} ({doc})" for doc in value.get("doc_ids", []))
        quotes = "".join(f'<div class="lq-quote">“{escape(_clip(quote, 200))}”</div>' for quote in _quotes(value.get("evidence")))
        rows.append(f"<li><b>{escape(str(value.get('value')))}</b> — {escape(sources)}{quotes}</li>")
    if benign:
        head = f"The sources give different values for {escape(label)}, with a known explanation"
    else:
        head = f"Sources disagree on {escape(label)}" + (f" ({escape(status)})" if status and status != "conflict" else "")
    note = f"<div>{escape(str(conflict['note']))}</div>" if conflict.get("note") else ""
    return (f'<div class="lq-conflict{" lq-benign" if benign else ""}" data-field="{escape(str(conflict.get("field", "")))}">'
            f'{"ℹ️" if benign else "⚠️"} <b>{head}</b><ul>{"".join(rows)}</ul>{note}</div>')


def conflicts_html(answer: Answer, titles: Mapping[str, str]) -> str:
    """The answer's conflicts: those about a value the answer states first, open; the rest folded away.

    An answer carries every conflict of its cited sources, and a wiki page can hold
    many; the ones touching the answer's own sentences are what the reader must see.
    """
    text = " ".join(s.text for s in answer.sentences).lower()

    def touches(conflict: Mapping[str, Any]) -> bool:
        values = conflict.get("values", [])
        return any(str(v.get("value", "")).lower() in text or any(q.lower() in text for q in _quotes(v.get("evidence")))
                   for v in values)

    def weight(conflict: Mapping[str, Any]) -> int:
        return 1 if str(conflict.get("status") or "").lower() in _BENIGN else 0

    shown = sorted((c for c in answer.conflicts if touches(c)), key=weight)
    other = sorted((c for c in answer.conflicts if not touches(c)), key=weight)
    out = "".join(conflict_html(c, titles) for c in shown)
    if other:
        fields = ", ".join(dict.fromkeys(str(c.get("label") or c.get("field", "")).replace("_", " ") for c in other))
        out += (f'<details class="lq-notes lq-more"><summary>{len(other)} other fact{"s" if len(other) != 1 else ""} the cited sources '
                f'report differently: {escape(fields)}</summary>{"".join(conflict_html(c, titles) for c in other)}</details>')
    return out


def _quotes(evidence: Any) -> list[str]:
    """Evidence of a conflict value: a quote, a list of quotes, or a list of {"doc_id","quote","offset"}."""
    items = evidence if isinstance(evidence, list) else [evidence]
    out = []
    for item in items[:3]:
        quote = item.get("quote") if isinstance(item, Mapping) else item
        if isinstance(quote, str) and quote:
            out.append(quote)
    return out


def source_header_html(record: Any) -> str:
    doc = record.document
    return (f'<div class="lq-head"><span class="lq-title" style="font-size:1.15rem">{escape(doc.title)}</span>'
            f'<span class="lq-id">{escape(doc.doc_id)}</span></div>{badges_html(record.tier, record.flags, tier_reasons(record))}')


def metadata_html(metadata: Mapping[str, Any]) -> str:
    rows = []
    for key, value in metadata.items():
        if str(key).startswith("_"):
            continue
        shown = "; ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        rows.append(f"<dt>{escape(str(key))}</dt><dd>{escape(shown)}</dd>")
    return f'<dl class="lq-dl">{"".join(rows)}</dl>' if rows else '<div class="lq-meta">No curator metadata for this document.</div>'


def document_text_html(record: Any) -> str:
    """The full normalised text, escaped, with each flag's evidence quote marked where its offset points."""
    text = record.document.text
    spans = [(f.offset, f.offset + len(f.evidence)) for f in record.flags
             if f.offset is not None and not f.evidence.startswith("metadata:") and text[f.offset:f.offset + len(f.evidence)] == f.evidence]
    return f'<div class="lq-doctext">{highlight(text, spans)}</div>'


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- tables -----------------------------------------------------------------
def sources_table_html(sources: Iterable[Any]) -> str:
    """Every document in one table: title, tier badge, flag chips, type, publisher, date, length."""
    rows = []
    for record in sources:
        doc, meta = record.document, record.document.metadata
        chips = "".join(flag_chip(group) for group in _by_kind(record.flags)) or '<span class="lq-meta">none</span>'
        rows.append(
            f'<tr data-doc-id="{escape(doc.doc_id)}"><td><div class="lq-title">{escape(doc.title)}</div>'
            f'<div class="lq-id">{escape(doc.doc_id)}</div></td><td>{tier_badge(record.tier, tier_reasons(record))}</td>'
            f'<td>{chips}</td><td>{escape(str(meta.get("doc_type", "")))}</td><td>{escape(str(meta.get("publisher", "")))}</td>'
            f'<td>{escape(str(meta.get("date", "")))}</td><td class="lq-num">{len(doc.text.split()):,}</td></tr>')
    head = "".join(f"<th>{name}</th>" for name in ("Source", "Tier", "Flags", "Type", "Publisher", "Date", "Words"))
    return f'<div class="lq-tablewrap"><table class="lq-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def tier_reasons(record: Any) -> list[str]:
    """How the source's tier follows from its flags, when the reliability rules can explain it."""
    from lifqa.reliability import explain_tier

    tier, reasons = explain_tier(record.flags, record.document)
    return list(reasons) if tier == record.tier else []


# ---- batch ------------------------------------------------------------------
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


# ---- evaluation report -----------------------------------------------------------
@dataclass(frozen=True)
class EvalReport:
    """The latest ``lifqa eval --report`` output: metrics x modes, other summary facts, charts, per-question rows."""

    folder: Path
    modes: tuple[str, ...]
    table: tuple[dict[str, Any], ...]  # one row per metric: {"metric": name, MODE: value, ...}
    facts: Mapping[str, Any] = field(default_factory=dict)
    charts: tuple[Path, ...] = ()
    questions: tuple[dict[str, Any], ...] = ()


def load_eval_report(folder: Path) -> EvalReport | None:
    """None when no report was written yet; InputError naming the file when it cannot be read."""
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        return None
    summary = _read_json(summary_file, folder)
    modes = summary.get("modes") if isinstance(summary, dict) else None
    if not isinstance(modes, dict) or not all(isinstance(m, dict) for m in modes.values()):
        raise InputError(f"{summary_file} has no 'modes' object of per-mode metrics; rerun lifqa eval --report {folder}")
    metrics = list(dict.fromkeys(name for values in modes.values() for name, v in values.items() if not isinstance(v, (dict, list))))
    table = tuple({"metric": name, **{mode: _number(values.get(name)) for mode, values in modes.items()}} for name in metrics)
    facts = {key: value for key, value in summary.items() if key != "modes" and isinstance(value, (str, int, float, bool))}
    questions: list[dict[str, Any]] = []
    per_question = folder / "per_question.jsonl"
    if per_question.is_file():
        for _, row in jsonl_rows(per_question.read_text(encoding="utf-8", errors="replace").splitlines()):
            if isinstance(row, dict):  # a line that is not a JSON object is left out
                questions.append({key: ", ".join(map(str, value)) if isinstance(value, list) else value for key, value in row.items()})
    return EvalReport(folder, tuple(modes), table, facts, _charts_in_order(folder, metrics), tuple(questions))


def _charts_in_order(folder: Path, metrics: Sequence[str]) -> tuple[Path, ...]:
    """PNG charts in the table's metric order (a chart is named after its metric), then any others."""
    order = {re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"): i for i, name in enumerate(metrics)}
    return tuple(sorted(folder.glob("*.png"), key=lambda path: (order.get(path.stem, len(order)), path.name)))


def _read_json(path: Path, folder: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}); rerun lifqa eval --report {folder}") from None


def _number(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 4)
    return value
