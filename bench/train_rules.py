"""Question rules once written while reading LIF test failures, re-checked on train questions only.

    .venv/bin/python bench/train_rules.py [--cache indexes/eval] [--only TEXT]

lifqa no longer ships these rules: each was neutral on train. This bench adds each back in turn, in one run on the
same engines (COVID-QA train over its index, the LIF gold train split over the bundled corpus), and answers every
answerable train question the rule touches (its question kind or its parts change; for the identifier rule, every
identifier question) with and without it. A rule earns its place only by answering more of them (a gold answer of
every part inside the answer). The test split is not read.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run, save_result  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval" / "covid-qa"

# the rules as they were shipped before the check
_NOUNS = (r"(?:gene|protein|receptor|cytokine|virus|viruses|drug|drugs|molecule|enzyme|cell|cells|pathway|disease|diseases|"
          r"cancer|tumou?r|species|animal|animals|host|hosts|family|antibody|antibodies|subunit|kinase|factor|factors|"
          r"strain|vaccine|compound|organism|transcription factors?|hormone|protease|gene product)")
LEADING_ENTITY = ("entity", re.compile(rf"^\s*(?:which|what)\s+(?!(?:kind|type|class|sort)\s+of\b)(?:[\w'-]+\s+){{0,2}}{_NOUNS}\b", re.I))
MODIFIED_ENTITY = ("entity", re.compile(rf"\b(?:which|what)\s+(?:[\w'-]+\s+){{0,2}}{_NOUNS}\b|^\s*who\b", re.I))
ID_NAME = re.compile(r"\b(?:id|identifier|accession|entrez|ensembl|uniprot|refseq|omim|hgnc|pdb|mgi|cas|pubchem|chebi|kegg|doi|pmid)\b", re.I)
ID_VALUE = re.compile(r"(?<![\w.])[A-Za-z_]*\d[\w.:-]*(?![\w])")
QUESTION_MARK = r"|\?\s+(?=(?:which|what|how|where|when|who|whom|whose|why|is|are|does|do|did|can)\b)"


@contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    shipped = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, shipped)


def rules() -> dict[str, tuple[Callable[[], Any], Callable[[str], bool]]]:
    """name -> (a context adding the rule back, whether a question is touched by it)."""
    import lifqa.answer.compose as compose
    import lifqa.answer.selector as selector
    import lifqa.search.question as parts

    kinds = parts._QUESTION_KINDS
    entity_at = [i for i, (kind, _) in enumerate(kinds) if kind == "entity"]
    assert len(entity_at) == 1, "the entity rule changed; update this bench"
    with_leading = (LEADING_ENTITY, *kinds)
    with_modifiers = tuple(MODIFIED_ENTITY if i in entity_at else rule for i, rule in enumerate(kinds))
    with_both = (LEADING_ENTITY, *with_modifiers)
    with_question_mark = re.compile(parts._SPLIT.pattern + QUESTION_MARK, parts._SPLIT.flags)
    shipped_eligible = selector.eligible

    def eligible_naming_the_identifier(candidates, question, tokenize):
        out = shipped_eligible(candidates, question, tokenize)
        if question.kind != "identifier":
            return out
        asked = {m.group(0).lower() for m in ID_NAME.finditer(question.text)}
        named = [c for c in out if ID_VALUE.search(c.text) and any(re.search(rf"\b{re.escape(a)}\b", c.text, re.I) for a in asked)]
        return named or out

    def kind_changes(table: Any) -> Callable[[str], bool]:
        def touched(question: str) -> bool:
            with patched(parts, "_QUESTION_KINDS", table):
                other = parts.question_kind(question)
            return other != parts.question_kind(question)
        return touched

    def split_changes(question: str) -> bool:
        with patched(parts, "_SPLIT", with_question_mark):
            other = parts.split_question(question)
        return other != parts.split_question(question)

    def identifier_rule() -> ExitStack:
        stack = ExitStack()
        stack.enter_context(patched(selector, "eligible", eligible_naming_the_identifier))
        stack.enter_context(patched(compose, "eligible", eligible_naming_the_identifier))
        return stack

    return {
        "every entity revision at once (leading kind, modifiers, added nouns)":
            (lambda: patched(parts, "_QUESTION_KINDS", with_both), kind_changes(with_both)),
        "'Which gene does ... belong to?' asks for an entity (leading entity kind)":
            (lambda: patched(parts, "_QUESTION_KINDS", with_leading), kind_changes(with_leading)),
        "up to two modifiers between 'which' and its noun ('Which STAT transcription factors')":
            (lambda: patched(parts, "_QUESTION_KINDS", with_modifiers), kind_changes(with_modifiers)),
        "an identifier question answers from sentences naming that identifier":
            (identifier_rule, lambda q: parts.question_kind(q) == "identifier"),
        "two questions in one line split at the question mark":
            (lambda: patched(parts, "_SPLIT", with_question_mark), split_changes),
    }


def main() -> int:
    from lifqa.engine import Engine
    from lifqa.eval_metrics import answer_hit
    from lifqa.train import gold_training_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--only", default="", help="run only the rules whose name holds this text")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_rules.json")
    args = parser.parse_args()
    sets = [gold_training_set(EVAL / "gold.jsonl", EVAL / "corpus.jsonl", args.cache),
            gold_training_set(ROOT / "corpus" / "gold" / "lif_questions.jsonl", ROOT / "corpus", args.cache)]
    engines = {s.name: Engine.open(s.index) for s in sets}
    result: dict[str, Any] = {}
    for name, (with_rule, touched) in ((n, r) for n, r in rules().items() if args.only in n):
        result[name] = {}
        for s in sets:
            engine = engines[s.name]
            questions = [q for q in s.questions if q.answerable and q.answers and touched(engine.clean_question(q.question)[0])]

            def hits() -> int:
                return sum(bool(answer_hit(q.answers, " ".join(x.text for x in engine.ask(q.question).sentences), q.answer_parts))
                           for q in questions)

            without = hits()
            with with_rule():
                added = hits()
            result[name][s.name] = {"questions": len(questions), "with": added, "without": without, "ids": [q.id for q in questions]}
            print(f"{name} | {s.name}: {len(questions)} touched, answered {added} with the rule, {without} without",
                  file=sys.stderr, flush=True)
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run(main)
