"""Tiers from flags, and the names of tiers, severities and flag kinds: what the query side needs.

Tier rule (``explain_tier`` returns the same reasons as a list)
    1. Each flag kind counts once, at its highest severity: high = 2 points,
       medium = 1, low and info = 0; cites_sources takes 1 point off.
    2. 0 points or fewer: high; 1-3: medium; 4 or more: low.
    3. A source typed as tertiary, promotional or unreviewed (ai_generated,
       commercial, not_peer_reviewed, encyclopedia, lay_summary) is at most medium,
       whatever its references.
    4. unknown: fewer than 50 words, no doc_type and no flag - nothing to judge.
    5. retracted: always low.

The rules that find the flags are in ``lifqa.reliability.flags`` (per source) and
``lifqa.reliability.passages`` (per passage); both run at build time.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from lifqa.errors import InputError
from lifqa.types import Document, Flag

TIERS = ("high", "medium", "low", "unknown")
SEVERITIES = ("info", "low", "medium", "high")
FLAG_KINDS = (
    "ai_generated", "commercial", "not_peer_reviewed", "encyclopedia", "lay_summary", "cites_sources",
    "no_references", "unverifiable_references", "off_topic_content", "extraction_noise", "conflicting_facts",
    "curator_override", "retracted",
)
DEFAULT_SEVERITY = {
    "ai_generated": "high", "commercial": "high", "not_peer_reviewed": "medium", "encyclopedia": "medium",
    "lay_summary": "medium", "cites_sources": "info", "no_references": "medium", "unverifiable_references": "medium",
    "off_topic_content": "medium", "extraction_noise": "low", "conflicting_facts": "medium", "curator_override": "info",
    "retracted": "high",
}
POSITIVE_KINDS = ("cites_sources",)
CAPPED_KINDS = ("ai_generated", "commercial", "not_peer_reviewed", "encyclopedia", "lay_summary")
MAX_PER_KIND = 3  # flags of one kind a source or passage carries at most
_POINTS = {"high": 2, "medium": 1, "low": 0, "info": 0}


def explain_tier(flags: Sequence[Flag], document: Document | None = None) -> tuple[str, list[str]]:
    """The tier the flags earn and the steps that led to it (see the module docstring)."""
    if not flags and document is not None and not document.metadata.get("doc_type") and len(document.text.split()) < 50:
        return "unknown", ["fewer than 50 words, no doc_type and no flags: nothing to judge"]
    worst: dict[str, str] = {}
    for flag in flags:
        if SEVERITIES.index(flag.severity if flag.severity in SEVERITIES else "info") >= SEVERITIES.index(worst.get(flag.kind, "info")):
            worst[flag.kind] = flag.severity if flag.severity in SEVERITIES else "info"
    points, reasons = 0, []
    for kind, severity in worst.items():
        if kind in POSITIVE_KINDS:
            points -= 1
            reasons.append(f"{kind}: -1")
        elif _POINTS[severity]:
            points += _POINTS[severity]
            reasons.append(f"{kind} ({severity}): +{_POINTS[severity]}")
    tier = "high" if points <= 0 else "medium" if points <= 3 else "low"
    reasons.append(f"{points} point{'s' * (abs(points) != 1)} -> {tier} (0 or fewer: high; 1-3: medium; 4 or more: low)")
    capped = [k for k in CAPPED_KINDS if k in worst]
    if tier == "high" and capped:
        tier = "medium"
        reasons.append(f"at most medium: flagged {', '.join(capped)}")
    if "retracted" in worst and tier != "low":
        tier = "low"
        reasons.append("always low: retracted")
    return tier, reasons


def check_flag_kinds(kinds: Iterable[str]) -> set[str]:
    """The flag kinds of an --exclude option, stripped; an unknown kind is an InputError naming the valid ones."""
    wanted = {k.strip() for k in kinds if k and k.strip()}
    unknown = sorted(wanted - set(FLAG_KINDS))
    if unknown:
        raise InputError(f"unknown flag kind(s) {', '.join(unknown)}. Valid kinds: {', '.join(FLAG_KINDS)}")
    return wanted
