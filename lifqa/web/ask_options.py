"""The question's controls: their defaults and choices, their round trip through the URL, the sidebar's filter choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lifqa.settings import MODES, Mode

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


def flag_kinds(sources: Iterable[Any]) -> list[str]:
    """Flag kinds present on at least one source, for the exclude control."""
    return sorted({flag.kind for record in sources for flag in record.flags})
