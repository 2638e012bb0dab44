"""Terminal renderings: what a researcher reads in `lifqa ask`."""

from dataclasses import replace
from html import escape

from lifqa.render import answer_text, emphasised, sentence_with_short_answer, short_answer_line, short_answer_of
from lifqa.types import Answer, AnswerSentence, Citation, ShortAnswer

GENE = "The NCBI Entrez Gene ID of human LIF is 3976."


def _answer(citation: Citation) -> Answer:
    return Answer(question="q", answer="LIF binds LIFR. [1]", abstained=False, citations=(citation,), mode="hybrid+rerank",
                  sentences=(AnswerSentence(text="LIF binds LIFR.", citation_keys=(1,), char_start=0, char_end=15),),
                  timings_ms={"total_ms": 1.0}, notices=(), conflicts=(), support=0.9)


def _gene_answer(short: ShortAnswer | None) -> Answer:
    """Two sentences; the short answer "3976" sits in the second, which cites [2] and [3]."""
    citations = tuple(Citation(key=k, doc_id=f"d{k}", title=f"Source {k}", chunk_id=f"d{k}#0", section="", text="LIF.",
                               char_start=0, char_end=4, score=0.9) for k in (1, 2, 3))
    return Answer(question="What is the Entrez Gene ID of human LIF?", answer=f"LIF is a cytokine. [1] {GENE} [2][3]",
                  abstained=False, citations=citations, mode="hybrid+rerank",
                  sentences=(AnswerSentence("LIF is a cytokine.", (1,)), AnswerSentence(GENE, (2, 3))),
                  timings_ms={"total_ms": 12.0}, support=0.8, short_answer=short)


SHORT = ShortAnswer("3976", 1, GENE.index("3976"), GENE.index("3976") + 4, 0.93)


def test_the_page_is_shown_once_whether_or_not_the_citation_has_a_label():
    base = dict(key=1, doc_id="d", title="LIF review", chunk_id="d#0", section="Results", text="LIF binds LIFR.",
                char_start=0, char_end=15, score=0.9, page_start=9, page_end=9)
    labelled = answer_text(_answer(Citation(**base, label="Datta et al. 2010, p. 9")))
    assert "[1] Datta et al. 2010, p. 9 · LIF review — Results" in labelled and labelled.count("p. 9") == 1
    plain = answer_text(_answer(Citation(**base)))
    assert "[1] LIF review, p. 9 — Results" in plain


def test_the_short_answer_is_the_first_line_with_the_markers_of_its_sentence():
    lines = answer_text(_gene_answer(SHORT)).splitlines()
    assert lines[0] == "3976 [2][3]"
    assert lines[1] == f"LIF is a cytokine. [1] {GENE} [2][3]"  # the sentences follow, unchanged


def test_without_a_short_answer_the_text_is_as_before():
    expected = "\n".join([
        f"LIF is a cytokine. [1] {GENE} [2][3]", "", "Sources:",
        *[line for k in (1, 2, 3) for line in (f"*[{k}] Source {k} — (start)  (score 0.900; tier unknown; no flags)",
                                              f"     d{k} chars 0-4: LIF.")],
        "", "mode hybrid+rerank; support 0.80; 12 ms"])
    assert answer_text(_gene_answer(None)) == expected
    assert short_answer_line(_gene_answer(None)) == ""
    assert answer_text(_gene_answer(SHORT)) == "3976 [2][3]\n" + expected


def test_a_short_answer_that_is_not_a_slice_of_its_sentence_is_not_shown():
    """A record edited or stored by hand may not hold the invariant; the views then show the sentences alone."""
    for bad in (replace(SHORT, text="3977"), replace(SHORT, sentence=5), replace(SHORT, sentence=0)):
        assert short_answer_of(_gene_answer(bad)) is None
        assert answer_text(_gene_answer(bad)).splitlines()[0].startswith("LIF is a cytokine.")
    abstained = replace(_gene_answer(SHORT), abstained=True)
    assert short_answer_of(abstained) is None


def test_the_span_is_escaped_and_bolded_inside_its_sentence_only():
    strong = lambda s: f"<b>{s}</b>"  # noqa: E731
    answer = _gene_answer(SHORT)
    assert sentence_with_short_answer(answer, 1, escape, strong) == "The NCBI Entrez Gene ID of human LIF is <b>3976</b>."
    assert sentence_with_short_answer(answer, 0, escape, strong) == "LIF is a cytokine."
    assert sentence_with_short_answer(_gene_answer(None), 1, escape, strong) == GENE
    # every piece escaped for its format; spaces at the span's edges stay outside; spans clipped to the text
    assert emphasised("a <x> & b", (1, 6), escape, strong) == "a <b>&lt;x&gt;</b> &amp; b"
    assert emphasised("ab", (1, 50), escape, strong) == "a<b>b</b>"
    assert emphasised("ab", (5, 9), escape, strong) == emphasised("ab", None, escape, strong) == "ab"
    assert emphasised("a  ", (1, 3), escape, strong) == "a  "
