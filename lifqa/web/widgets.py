"""What every view shows alike: the page's CSS, tier badges, flag chips and notes, highlighted text (every corpus string escaped)."""

from __future__ import annotations

from html import escape
from typing import Iterable, Sequence

from lifqa.render import emphasised
from lifqa.types import Flag

TIER_LABELS = {"high": "High reliability", "medium": "Medium reliability", "low": "Low reliability", "unknown": "Tier not assessed"}

PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"]{padding-top:2.2rem}
.lq-legend{font-size:.8rem;color:#4b5563;line-height:1.5}
.lq-legend .lq-tier{display:inline-block;margin:.1rem .25rem .1rem 0}
.lq-answer{font-size:1.1rem;line-height:1.65;padding:.9rem 1.2rem;border-left:4px solid #2563eb;background:#f4f7ff;border-radius:0 8px 8px 0;color:#111827}
.lq-answer.lq-abstain{border-left-color:#9ca3af;background:#f6f6f7}
.lq-answer .lq-short{margin-bottom:.3rem}
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


SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1, "info": 0}


def _evidence_label(flag: Flag) -> str:
    if flag.evidence.startswith("metadata:"):
        return f"from the curator's metadata ({flag.evidence.split(':', 1)[1]})"
    where = f" (character {flag.offset})" if flag.offset is not None else ""
    return f"evidence{where}: “{clip(flag.evidence, 200)}”"


def flag_chip(flags: Sequence[Flag]) -> str:
    """One chip for one flag kind; hovering shows every reason with its evidence."""
    worst = max(flags, key=lambda f: SEVERITY_RANK.get(f.severity, 1))
    severity = worst.severity if worst.severity in SEVERITY_RANK else "low"
    tooltip = "\n".join(f"• {f.reason} — {_evidence_label(f)}" for f in flags[:4])
    if len(flags) > 4:
        tooltip += f"\n… and {len(flags) - 4} more"
    return (f'<span class="lq-chip lq-sev-{severity}" data-flag="{escape(worst.kind)}" title="{escape(tooltip)}">'
            f'{escape(worst.kind.replace("_", " "))}</span>')


def flags_by_kind(flags: Sequence[Flag]) -> list[list[Flag]]:
    """Flags grouped by kind (first appearance order), exact repeats dropped: a passage repeats its source's flags."""
    groups: dict[str, list[Flag]] = {}
    for flag in flags:
        group = groups.setdefault(flag.kind, [])
        if flag not in group:
            group.append(flag)
    return list(groups.values())


def badges_html(tier: str, flags: Sequence[Flag], reasons: Sequence[str] = ()) -> str:
    return '<div class="lq-badges">' + tier_badge(tier, reasons) + "".join(flag_chip(group) for group in flags_by_kind(flags)) + "</div>"


def flag_notes_html(flags: Sequence[Flag], open_: bool = False) -> str:
    """Each flag with its reason and evidence quote, folded in a <details> (the expand part of hover/expand)."""
    groups = flags_by_kind(flags)
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


def bold_html(escaped: str) -> str:
    """Already escaped text in bold (the short answer inside its sentence)."""
    return f"<b>{escaped}</b>"


def highlight(text: str, spans: Iterable[tuple[int, int]], tag: str = "mark", strong: tuple[int, int] | None = None) -> str:
    """Escaped ``text`` with the given character spans wrapped in ``tag`` (overlaps merged, bad spans skipped) and the
    characters of ``strong`` in bold."""
    def piece(start: int, end: int) -> str:
        inner = (strong[0] - start, strong[1] - start) if strong else None
        return emphasised(text[start:end], inner, escape, bold_html)

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
        out.append(piece(cursor, start))
        out.append(f"<{tag}>{piece(start, end)}</{tag}>")
        cursor = end
    out.append(piece(cursor, len(text)))
    return "".join(out)


def clip(text: str, limit: int) -> str:
    """Runs of whitespace as one space, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
