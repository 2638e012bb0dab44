"""Terminal renderings: what a researcher reads in `lifqa ask`."""

from lifqa.render import answer_text
from lifqa.types import Answer, AnswerSentence, Citation


def _answer(citation: Citation) -> Answer:
    return Answer(question="q", answer="LIF binds LIFR. [1]", abstained=False, citations=(citation,), mode="hybrid+rerank",
                  sentences=(AnswerSentence(text="LIF binds LIFR.", citation_keys=(1,), char_start=0, char_end=15),),
                  timings_ms={"total_ms": 1.0}, notices=(), conflicts=(), support=0.9)


def test_the_page_is_shown_once_whether_or_not_the_citation_has_a_label():
    base = dict(key=1, doc_id="d", title="LIF review", chunk_id="d#0", section="Results", text="LIF binds LIFR.",
                char_start=0, char_end=15, score=0.9, page_start=9, page_end=9)
    labelled = answer_text(_answer(Citation(**base, label="Datta et al. 2010, p. 9")))
    assert "[1] Datta et al. 2010, p. 9 · LIF review — Results" in labelled and labelled.count("p. 9") == 1
    plain = answer_text(_answer(Citation(**base)))
    assert "[1] LIF review, p. 9 — Results" in plain
