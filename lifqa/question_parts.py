"""Multi-part questions: "Which brain tumour and which blood cancer involve LIF?" asks two things.

Each part is retrieved and answered on its own, so one part's evidence cannot
crowd out the other's. A question splits where ``and`` (or ``, and``) is
followed by a question word; a part that lacks a verb borrows the predicate of
the other part ("Which brain tumour" + "involve LIF"), and a part that only
refers back ("what is its code?") borrows the other part's identifiers and
rarest words for retrieval. Questions joining two nouns ("LIF and IL-6") are
not split.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r",?\s+and\s+(?=(?:which|what|how|where|when|who|whom|whose|why|is|are|does|do|did|can)\b)", re.I)
_WH = re.compile(r"^(?:which|what|how|where|when|who|whom|whose|why)\b", re.I)
_VERB = re.compile(r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|can|could|may|might|will|would|should|must|"
                   r"\w+(?:ed|es)|involve|bind|cause|encode|share|form|make|use|play|regulate|act|appear|stand|"
                   r"mediate|signal|promote|inhibit|activate|express|affect)\b", re.I)
_WORD = re.compile(r"[\w'-]+")
_STOP = {"the", "a", "an", "of", "in", "on", "for", "to", "and", "or", "is", "are", "was", "were", "does", "do", "did", "its",
         "it", "their", "they", "this", "that", "what", "which", "how", "where", "when", "who", "why", "there", "with", "by"}


def split_question(question: str, max_parts: int = 3) -> list[str]:
    """The parts of a question asking several things, each a question of its own; ``[question]`` otherwise."""
    text = question.strip()
    pieces = [p.strip(" ,;") for p in _SPLIT.split(text) if p.strip(" ,;")]
    if len(pieces) < 2 or len(pieces) > max_parts or any(len(_WORD.findall(p)) < 2 for p in pieces):
        return [question]
    ending = "?" if text.endswith("?") else ""
    pieces = [p.rstrip("?").strip() for p in pieces]
    # a verbless part borrows the predicate of the last part: "Which brain tumour" + "involve LIF"
    last_words = pieces[-1].split()
    parts = []
    for piece in pieces:
        words = piece.split()
        if not _VERB.search(piece) and piece is not pieces[-1] and len(last_words) > len(words):
            piece = " ".join(words + last_words[len(words):])
        parts.append(piece)
    # a part that refers back ("what is its code") borrows the first part's specific words for retrieval
    first = parts[0]
    out = [first + ending]
    for part in parts[1:]:
        if re.search(r"\b(?:it|its|they|their|this|that|them)\b", part, re.I):
            own = {w.lower() for w in _WORD.findall(part)}
            borrowed = [w for w in _WORD.findall(first) if w.lower() not in own and w.lower() not in _STOP and
                        (any(ch.isupper() for ch in w[1:]) or any(ch.isdigit() for ch in w) or len(w) > 6)]
            if borrowed:
                part = f"{part} ({' '.join(dict.fromkeys(borrowed))})"
        out.append(part + ending)
    return out
