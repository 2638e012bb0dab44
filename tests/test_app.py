"""The web app through streamlit's AppTest: ask, abstain, filters, URL parameters, sources, batch, evaluation, escaping.

AppTest runs app.py in-process against the session's real index, so the page is
checked against what the engine itself answers for the same question.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import run_app
from lifqa.types import Answer, AnswerSentence, Citation, Flag, ShortAnswer
from lifqa.web import answer_view, ask_options, batch_view, index_setup, page_view, widgets

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTION = "Which receptor subunit does LIF share with IL-6?"
UNANSWERABLE = "Who won the 2014 FIFA World Cup final?"
CARD = re.compile(r'<div class="lq-card[^"]*" id="lq-cite-(\d+)" data-doc-id="([^"]+)"')


@pytest.fixture
def app_env(lif_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LIFQA_INDEX", str(lif_index))
    monkeypatch.setenv("LIFQA_CORPUS", str(CORPUS))
    monkeypatch.setenv("LIFQA_REPORT", str(tmp_path / "report"))
    return tmp_path / "report"


def page_html(at: AppTest) -> str:
    return "\n".join(h.value for h in at.html)


def cards(at: AppTest) -> list[tuple[int, str]]:
    """(citation key, doc id) of every passage card, in page order."""
    return [(int(key), doc) for key, doc in CARD.findall(page_html(at))]


def answer_box(at: AppTest) -> str:
    return next(h.value for h in at.html if 'class="lq-answer' in h.value)


def test_url_question_is_answered_on_load_with_citations_and_badges(app_env, engine):
    expected = engine.ask(QUESTION)
    assert not expected.abstained
    at = run_app(q=QUESTION)
    box = answer_box(at)
    for sentence in expected.sentences:
        assert escape(sentence.text) in box
        for key in sentence.citation_keys:
            assert f'href="#lq-cite-{key}"' in box
    cited = answer_view.cited_keys(expected)
    shown = cards(at)
    assert sorted(shown) == sorted((c.key, c.doc_id) for c in expected.citations)
    assert [key for key, _ in shown[: len(cited)]] == sorted(cited)  # cited passages come first
    html = page_html(at)
    for citation in expected.citations:
        card = html[html.index(f'id="lq-cite-{citation.key}"'):]
        card = card[: card.index("</details>") if "</details>" in card else len(card)]
        assert f'data-tier="{citation.tier}"' in card
        for kind in {flag.kind for flag in citation.flags}:
            assert f'data-flag="{kind}"' in card
    assert "<mark>" in html  # the answer sentence is highlighted inside its passage
    assert at.query_params.get("q") == QUESTION


def test_the_page_shows_the_short_answer_first_and_in_bold_inside_its_passage(app_env, engine):
    """The engine's own answer with a short answer set (the shipped reader's threshold decides when there is one)."""
    real = engine.ask(QUESTION)
    index = next(i for i, s in enumerate(real.sentences) if "gp130" in s.text)
    sentence = real.sentences[index]
    start = sentence.text.index("gp130")
    answer = replace(real, short_answer=ShortAnswer("gp130", index, start, start + 5, 0.9))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["q"] = QUESTION
    at.session_state["answer"] = answer  # as if just asked: the page shows the answer of these options
    at.session_state["answered_options"] = ask_options.AskOptions(QUESTION)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    keys = sentence.citation_keys
    box = answer_box(at)
    origin = escape(answer_view.short_answer_origin(answer, answer.short_answer))
    assert box.startswith(f'<div class="lq-answer"><div class="lq-short" title="{origin}"><b>gp130</b>'
                          + "".join(f'<a class="lq-cite" href="#lq-cite-{key}"' for key in keys[:1]))
    assert escape(sentence.text[:start]) + "<b>gp130</b>" in box and box.count("<b>") == 2
    html = page_html(at)
    card = html[html.index(f'id="lq-cite-{keys[0]}"'):]
    passage = card[card.index('<div class="lq-passage">'):card.index('<div class="lq-id">')]
    assert re.search(r"<mark>[^<]*<b>gp130</b>[^<]*</mark>", passage), passage
    markdown = next(c.value for c in at.code if "## References" in c.value)
    assert f"**Answer:** **gp130** {''.join(f'[{k}]' for k in keys)}" in markdown.splitlines()


def _short_answer_case(short: ShortAnswer | None) -> tuple[Answer, tuple[Citation, ...]]:
    """Two sentences, one passage each; the span of the short answer carries markup that must stay text."""
    first, second = "LIF signals through gp130.", 'Its gene is <img src=x onerror=alert(1)> 3976 & "LIF".'
    citations = (Citation(1, "a", "A <b>", "a#0", "", f"Intro. {first}", 0, 40, 0.9),
                 Citation(2, "b", "B", "b#0", "Results", f"{second} More.", 0, 60, 0.8))
    sentences = (AnswerSentence(first, (1,), 7, 7 + len(first)), AnswerSentence(second, (2,), 0, len(second)))
    return Answer("q", f"{first} [1] {second} [2]", False, citations, "hybrid+rerank", sentences, short_answer=short), citations


HOSTILE_SPAN = "<img src=x onerror=alert(1)> 3976"
SECOND = 'Its gene is <img src=x onerror=alert(1)> 3976 & "LIF".'
HOSTILE_SHORT = ShortAnswer(HOSTILE_SPAN, 1, SECOND.index("<"), SECOND.index("<") + len(HOSTILE_SPAN), 0.9)


def test_a_row_short_answer_says_which_row_on_hover():
    sentence = 'Entrez <b>"3976"</b>'
    answer = Answer("q", f"{sentence} [1]", False, (Citation(1, "a", "A", "a#0", "", sentence, 0, len(sentence), 0.9),),
                    "hybrid+rerank", (AnswerSentence(sentence, (1,), 0, len(sentence)),),
                    short_answer=ShortAnswer('"3976"</b>', 0, 10, len(sentence), 1.0, "row"))
    box = answer_view.answer_html(answer)
    assert box.startswith('<div class="lq-answer"><div class="lq-short" title="The value of the labelled row '
                          '&quot;Entrez &lt;b&gt;&quot;3976&quot;&lt;/b&gt;&quot;, whose label the question names">')
    assert _tags(box) == {"div", "b", "a"}


def test_short_answer_html_is_escaped_bold_and_first():
    answer, citations = _short_answer_case(HOSTILE_SHORT)
    box = answer_view.answer_html(answer)
    marker_2 = '<a class="lq-cite" href="#lq-cite-2" title="B — Results">[2]</a>'
    origin = "Marked inside answer sentence 2 by the span reader trained here (probability 0.90 against no answer in the sentence)"
    assert box.startswith(f'<div class="lq-answer"><div class="lq-short" title="{origin}"><b>{escape(HOSTILE_SPAN)}</b>{marker_2}</div>'
                          "LIF signals through gp130.")
    assert f"Its gene is <b>{escape(HOSTILE_SPAN)}</b> &amp; &quot;LIF&quot;.{marker_2}" in box
    assert _tags(box) == {"div", "b", "a"}  # the span's markup is text
    card = answer_view.citation_card(citations[1], answer.sentences, True, answer.short_answer)
    assert f'<div class="lq-passage"><mark>Its gene is <b>{escape(HOSTILE_SPAN)}</b> &amp; &quot;LIF&quot;.</mark> More.</div>' in card
    other = answer_view.citation_card(citations[0], answer.sentences, True, answer.short_answer)
    assert "<b>" not in other and "<mark>LIF signals through gp130.</mark>" in other  # the short answer is not in this passage


def test_without_a_short_answer_the_answer_html_is_as_before():
    answer, citations = _short_answer_case(None)
    box = answer_view.answer_html(answer)
    assert box == ('<div class="lq-answer">LIF signals through gp130.<a class="lq-cite" href="#lq-cite-1" title="A &lt;b&gt;">[1]</a> '
                   f'{escape(SECOND)}<a class="lq-cite" href="#lq-cite-2" title="B — Results">[2]</a></div>')
    card = answer_view.citation_card(citations[1], answer.sentences, True)
    assert f'<div class="lq-passage"><mark>{escape(SECOND)}</mark> More.</div>' in card
    stale = replace(HOSTILE_SHORT, text="3977")  # not a slice of its sentence: not shown anywhere
    assert answer_view.answer_html(replace(answer, short_answer=stale)) == box
    assert answer_view.citation_card(citations[1], answer.sentences, True, stale) == card


def test_asking_in_the_page_updates_the_url_and_controls_rerun(app_env):
    at = run_app()
    assert not cards(at)
    at.text_input(key="question").input(QUESTION)
    next(b for b in at.button if b.label == "Ask").click().run()
    assert len(cards(at)) == ask_options.DEFAULT_K
    assert at.query_params == {"q": QUESTION}
    at.slider(key="k").set_value(3).run()
    assert len(cards(at)) == 3
    assert at.query_params == {"q": QUESTION, "k": "3"}
    at.selectbox(key="mode").set_value("bm25").run()
    assert at.query_params["mode"] == "bm25"
    assert "bm25 · 3 passages" in " ".join(c.value for c in at.caption)


def test_example_question_is_answered(app_env):
    at = run_app()
    at.button_group(key="example").set_value(ask_options.EXAMPLE_QUESTIONS[0]).run()
    assert at.text_input(key="question").value == ask_options.EXAMPLE_QUESTIONS[0]
    assert cards(at)
    assert at.query_params["q"] == ask_options.EXAMPLE_QUESTIONS[0]


def test_abstention_says_so_and_still_shows_the_closest_passages(app_env, engine):
    assert engine.ask(UNANSWERABLE, k=4).abstained
    at = run_app(q=UNANSWERABLE, k="4")
    box = answer_box(at)
    assert "lq-abstain" in box and "No supported answer in the corpus." in box
    assert "lq-cite" not in box
    assert len(cards(at)) == 4
    assert "Closest passages" in [s.value for s in at.subheader]


def _question_citing(engine, kind: str) -> str | None:
    for question in (QUESTION, *ask_options.EXAMPLE_QUESTIONS):
        if any(kind in {f.kind for f in engine.source(c.doc_id).flags} for c in engine.ask(question).citations):
            return question
    return None


def test_excluding_a_flag_kind_removes_those_sources(app_env, engine):
    flagged = {kind: {r.document.doc_id for r in engine.sources() if kind in {f.kind for f in r.flags}}
               for kind in ask_options.flag_kinds(engine.sources())}
    candidates = [(kind, docs) for kind, docs in flagged.items() if 0 < len(docs) < len(engine.sources())]
    assert candidates, "the bundled corpus is of mixed quality: some flag kind is on some but not all of its sources"
    kind, docs = next(((k, d) for k, d in candidates if _question_citing(engine, k)), (None, None))
    assert kind is not None, "some question should retrieve a flagged source"
    question = _question_citing(engine, kind)
    at = run_app(q=question)
    assert {doc for _, doc in cards(at)} & docs
    at.multiselect(key="exclude").set_value([kind]).run()
    shown = {doc for _, doc in cards(at)}
    assert shown and not shown & docs
    assert at.query_params["exclude"] == kind
    # the same filter given in a shared link
    assert {doc for _, doc in cards(run_app(q=question, exclude=kind))} == shown


def test_minimum_tier_removes_lower_tier_sources(app_env, engine):
    tiers = {r.document.doc_id: r.tier for r in engine.sources()}
    assert set(tiers.values()) - {"high"}, "the bundled corpus has sources below high tier to filter out"
    at = run_app(q=QUESTION, min_tier="high")
    shown = cards(at)
    assert all(tiers[doc] == "high" for _, doc in shown)
    if not shown:
        assert any("No passages passed the filters" in i.value for i in at.info)
    at.selectbox(key="min_tier").set_value("any").run()
    assert any(tiers[doc] != "high" for _, doc in cards(at))


def test_invalid_url_parameters_give_clear_messages_not_a_crash(app_env):
    at = run_app(q=QUESTION, mode="telepathy", k="500", min_tier="best", exclude="made_up_kind", colour="blue")
    warnings = " ".join(w.value for w in at.warning)
    for text in ("mode='telepathy'", "k='500'", "min_tier='best'", "exclude='made_up_kind'", "'colour'"):
        assert text in warnings
    assert len(cards(at)) == ask_options.DEFAULT_K  # answered with the defaults
    assert at.selectbox(key="mode").value == ask_options.DEFAULT_MODE


def test_bad_question_is_an_error_message(app_env):
    at = run_app(q="???")
    assert any("no letters or digits" in e.value for e in at.error)
    assert not cards(at)


def test_sources_view_lists_every_document_with_tier_flags_and_full_text(app_env, engine):
    at = run_app()
    records = engine.sources()
    table = next(h.value for h in at.html if 'class="lq-table"' in h.value)
    for record in records:
        row = table[table.index(f'data-doc-id="{escape(record.document.doc_id)}"'):]
        row = row[: row.index("</tr>")]
        assert escape(record.document.title) in row and f'data-tier="{record.tier}"' in row
        for kind in {f.kind for f in record.flags}:
            assert f'data-flag="{kind}"' in row
    picker = at.selectbox(key="source_doc")
    assert list(picker.options) == [f"{r.document.title}  ({r.document.doc_id})" for r in records]
    for record in records:
        picker.set_value(record.document.doc_id).run()
        html = page_html(at)
        assert escape(record.document.text) in re.sub(r"</?mark>", "", html)
        for flag in record.flags:
            assert escape(flag.reason) in html
            if not flag.evidence.startswith("metadata:"):
                assert escape(flag.evidence) in html
        picker = at.selectbox(key="source_doc")


def test_batch_upload_runs_and_offers_downloads(app_env, engine):
    data = f"id,question\nq1,{QUESTION}\nq2,{UNANSWERABLE}\nq3\n".encode()
    at = run_app()
    at.file_uploader(key="batch_file").set_value(("questions.csv", data, "text/csv")).run()
    assert any("2 questions found in questions.csv; 1 malformed (line 4)" in c.value for c in at.caption)
    at.button(key="batch_run").click().run()
    assert [m.value for m in at.metric] == ["1", "1", "1"]  # answered, abstained, errors
    assert {b.label for b in at.download_button} == {"Download JSONL", "Download CSV"}
    rows = at.dataframe[-1].value
    assert list(rows["id"]) == ["q1", "q2", "q3"] and list(rows["status"]) == ["answered", "abstained", "error"]

    result = batch_view.run_uploaded_batch(engine, data, "questions.csv", ask_options.AskOptions(k=3))
    records = [json.loads(line) for line in result.jsonl.splitlines()]
    assert [r["id"] for r in records] == ["q1", "q2", "q3"]
    assert records[0]["citations"] and all("flags" in c and "tier" in c for c in records[0]["citations"])
    assert len(records[0]["citations"]) == 3
    assert "questions.csv:4" in records[2]["error"]
    assert result.csv.splitlines()[0].startswith("id,question,answer")


def test_evaluation_view_shows_the_report_or_how_to_make_one(app_env: Path):
    at = run_app()
    assert any("lifqa eval --report" in i.value for i in at.info)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    app_env.mkdir()
    summary = {"modes": {"bm25": {"ndcg@10": 0.61, "recall@5": 0.7}, "hybrid+rerank": {"ndcg@10": 0.83, "recall@5": 0.9}},
               "n_questions": 48}
    (app_env / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(["bm25", "hybrid+rerank"], [0.61, 0.83])
    fig.savefig(app_env / "ndcg_10.png")
    plt.close(fig)
    at = run_app()
    table = at.dataframe[0].value
    assert list(table["metric"]) == ["ndcg@10", "recall@5"] and list(table["hybrid+rerank"]) == [0.83, 0.9]
    assert len(at.image) == 1
    assert any("n questions: 48" in c.value for c in at.caption)

    (app_env / "summary.json").write_text("{not json", encoding="utf-8")
    assert any("summary.json is not valid JSON" in e.value for e in run_app().error)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.add(tag)


def _tags(html: str) -> set[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


HOSTILE = """<html><body><h1>&lt;img src=x onerror=alert(1)&gt; Hostile LIF page</h1>
<p>Leukemia inhibitory factor binds the LIF receptor and gp130. &lt;script&gt;alert("corpus")&lt;/script&gt; and
&lt;iframe src="http://evil.example/x"&gt;&lt;/iframe&gt; are written in this text.</p>
<script>alert("raw")</script><iframe src="http://evil.example/raw"></iframe>
<p>LIF belongs to the interleukin-6 family of cytokines and signals through JAK and STAT3.</p></body></html>
"""


@pytest.mark.slow
def test_corpus_markup_is_shown_as_text_never_as_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "hostile.html").write_text(HOSTILE, encoding="utf-8")
    (corpus / "plain.txt").write_text("Plain notes on LIF\nLIF signals through gp130 and the LIF receptor.\n", encoding="utf-8")
    monkeypatch.setenv("LIFQA_INDEX", str(index))
    monkeypatch.setenv("LIFQA_CORPUS", str(corpus))
    monkeypatch.setenv("LIFQA_REPORT", str(tmp_path / "report"))
    at = run_app(q="What does leukemia inhibitory factor bind?")  # no index yet: the app builds it on first start
    assert (index / "CURRENT").is_file()
    at.selectbox(key="source_doc").set_value("hostile").run()
    html = page_html(at)
    assert "&lt;script&gt;alert(&quot;corpus&quot;)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;iframe src=&quot;http://evil.example/x&quot;&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    for element in at.html:
        assert not _tags(element.value) & {"script", "iframe", "img", "object", "embed"}, element.value[:200]
    for element in [*at.markdown, *at.caption, *at.info, *at.warning]:
        assert "<script" not in element.value and "<iframe" not in element.value


def test_query_params_round_trip_and_snippets_escape():
    options = ask_options.AskOptions("What is LIF? <b>", "bm25", 7, ("ai_generated", "commercial"), "medium")
    parsed, problems = ask_options.parse_query_params(options.to_query_params(), ["ai_generated", "commercial"])
    assert parsed == options and problems == ()
    assert ask_options.AskOptions("q").to_query_params() == {"q": "q"}
    flag = Flag("commercial", "high", 'says "buy" <now>', "<script>alert(1)</script>", 3)
    chip = widgets.flag_chip([flag])
    assert "<script>" not in chip and "&lt;script&gt;" in chip and 'data-flag="commercial"' in chip
    assert widgets.highlight("a <b> c & d", [(2, 5), (4, 7), (50, 60)]) == "a <mark>&lt;b&gt; c</mark> &amp; d"
    assert widgets.highlight("a <b> c & d", [(2, 7)], strong=(6, 11)) == "a <mark>&lt;b&gt; <b>c</b></mark> <b>&amp; d</b>"


def test_index_is_checked_against_its_own_corpus_unless_one_is_given(lif_index: Path, tmp_path: Path):
    from lifqa.errors import InputError

    report = tmp_path / "report"
    assert index_setup.corpus_of(index_setup.AppPaths(lif_index, None, report)).resolve() == CORPUS.resolve()
    assert index_setup.index_state(index_setup.AppPaths(lif_index, None, report)) == "current"
    assert index_setup.index_state(index_setup.AppPaths(lif_index, tmp_path / "gone", report)) == "no-corpus"  # the index is used as is
    with pytest.raises(InputError, match="LIFQA_CORPUS"):
        index_setup.index_state(index_setup.AppPaths(tmp_path / "no-index", tmp_path / "gone", report))
    assert index_setup.AppPaths.from_env({"LIFQA_INDEX": "x"}) == index_setup.AppPaths(Path("x"), None, Path("reports/latest"))


@pytest.mark.slow
def test_first_start_decides_with_one_fingerprint_of_the_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app's start-up check and the build are one call: a large corpus is hashed once per start, not twice."""
    import shutil

    from lifqa.index import build

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(CORPUS.glob("*.txt")), corpus)
    hashed: list[Path] = []
    real = build.scan_sources
    monkeypatch.setattr(build, "scan_sources", lambda path: hashed.append(Path(path)) or real(path))
    paths = index_setup.AppPaths(tmp_path / "index", corpus, tmp_path / "report")

    def first_start() -> tuple[str, int]:
        index_setup._checked.discard(paths)  # a new process
        before = len(hashed)
        return index_setup.ensure_index(paths), len(hashed) - before

    assert first_start() == ("missing", 1)
    assert first_start() == ("current", 1)
    (corpus / "added.txt").write_text("Leukemia inhibitory factor signals through gp130.\n", encoding="utf-8")
    assert first_start() == ("stale", 1)
    assert index_setup.index_state(paths) == "current"


def test_answer_resting_on_low_tier_sources_carries_a_caution(app_env, engine):
    question = "How does LIF help the liver regenerate?"
    answer = engine.ask(question)
    weak = [c for c in answer.citations if c.key in answer_view.cited_keys(answer) and c.tier == "low"]
    assert weak, "the liver question is answered from the low-tier AI summary in the bundled corpus"
    at = run_app(q=question)
    assert any("from low-reliability sources" in h.value for h in at.html)
    strong = run_app(q=question, min_tier="medium")
    assert not any("from low-reliability sources" in h.value for h in strong.html)


def test_conflicting_facts_are_a_warning_naming_both_values_and_sources(app_env, engine):
    question = "What is the NCBI Entrez Gene ID for human LIF?"
    answer = engine.ask(question)
    assert answer.conflicts, "the bundled sources disagree on the Entrez Gene ID (3976 vs 3977)"
    at = run_app(q=question)
    box = next(h.value for h in at.html if "lq-conflict" in h.value)
    for conflict in answer.conflicts:
        for value in conflict["values"]:
            assert escape(str(value["value"])) in box
            assert all(escape(doc) in box for doc in value["doc_ids"])
    stated = " ".join(s.text for s in answer.sentences)
    touching = [c for c in answer.conflicts if any(str(v["value"]) in stated for v in c["values"])]
    assert touching, "the answer states a value some source contradicts"
    open_part = box.split('<details class="lq-notes lq-more">')[0]  # shown without a click
    for conflict in touching:
        assert f'data-field="{escape(conflict["field"])}"' in open_part
        if conflict.get("status") not in ("benign",):
            assert "⚠️ <b>Sources disagree" in open_part


def test_every_answer_can_be_copied_as_markdown_and_downloaded(app_env, engine):
    at = run_app(q=QUESTION)
    assert "Copy as Markdown" in [e.label for e in at.expander]
    markdown = next(c.value for c in at.code if "## References" in c.value)
    assert markdown.startswith(f"**Question:** {QUESTION}")
    assert {b.label for b in at.download_button} >= {"Download Markdown", "Download BibTeX", "Download RIS"}
    answer = engine.ask(QUESTION)
    text, downloads = answer_view.answer_exports(answer, lambda doc_id: engine.source(doc_id).document)
    assert text.rstrip() == markdown.rstrip()
    files = {d.fmt: d for d in downloads}
    import bibtexparser
    import rispy

    cited = {c.doc_id for c in answer.citations if c.key in answer_view.cited_keys(answer)}
    assert len(bibtexparser.parse_string(files["bibtex"].data).entries) == len(cited)
    assert len(rispy.loads(files["ris"].data)) == len(cited)
    assert files["ris"].file_name.endswith(".ris") and files["bibtex"].mime == "application/x-bibtex"


@pytest.fixture
def library_env(zotero_index, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    zotero, index = zotero_index
    monkeypatch.setenv("LIFQA_INDEX", str(index))
    monkeypatch.setenv("LIFQA_CORPUS", str(zotero))
    monkeypatch.setenv("LIFQA_REPORT", str(tmp_path / "report"))
    return zotero


def test_library_tag_and_collection_filters_in_the_sidebar(library_env):
    question = "What does LIF do?"
    at = run_app(q=question)
    assert at.multiselect(key="tags").options == ["bone", "cytokines", "LIF"]
    assert "Signalling/Receptors" in at.multiselect(key="collections").options
    assert len({doc for _, doc in cards(at)}) > 1
    at.multiselect(key="tags").set_value(["bone"]).run()
    assert {doc for _, doc in cards(at)} == {"zotero/BONE0001"} and at.query_params["tag"] == "bone"
    at.multiselect(key="tags").set_value([]).run()
    at.multiselect(key="collections").set_value(["Signalling"]).run()
    assert {doc for _, doc in cards(at)} == {"zotero/DATTA001", "zotero/ABSTRACT"}
    shared = run_app(q=question, collection="Signalling")  # the same filter from a shared link
    assert {doc for _, doc in cards(shared)} == {"zotero/DATTA001", "zotero/ABSTRACT"}
    bad = run_app(q=question, tag="nonexistent")
    assert any("tag='nonexistent'" in w.value for w in bad.warning)


def test_library_label_beside_the_marker(library_env):
    at = run_app(q="Which transcription factor does LIF activate in embryonic stem cells?")
    assert '<span class="lq-key">[1]</span><span class="lq-label">Datta et al. 2010</span>' in page_html(at)


def test_pdf_passage_shows_its_page_and_renders_it_with_the_sentence_highlighted(pdf_index, pdf_corpus, tmp_path, monkeypatch):
    from conftest import PDF_QUESTION

    monkeypatch.setenv("LIFQA_INDEX", str(pdf_index))
    monkeypatch.setenv("LIFQA_CORPUS", str(pdf_corpus))
    monkeypatch.setenv("LIFQA_REPORT", str(tmp_path / "report"))
    at = run_app(q=PDF_QUESTION)
    html = page_html(at)
    assert '<span class="lq-pages" data-page="2">p. 2</span>' in html
    switches = [t for t in at.toggle if t.label.startswith("Show on page")]
    assert switches and switches[0].label == "Show on page 2" and not at.image
    switches[0].set_value(True).run()
    assert not at.exception
    assert len(at.image) == 1 and "page 2 — the cited sentence is highlighted" in at.image[0].proto.imgs[0].caption


def test_a_page_is_named_by_its_printed_number_beside_the_pdfs_own():
    """A passage cited "p. 307" opens the file's third page: the switch says both, so neither surprises the reader."""
    assert page_view.PageTarget("a.pdf", 3, "q", "307").name == "307 (PDF page 3)"
    assert page_view.PageTarget("a.pdf", 2, "q", "2").name == "2" and page_view.PageTarget("a.pdf", 2, "q").name == "2"


def test_page_png_highlights_the_cited_sentence(pdf_index, pdf_corpus):
    import lifqa
    from conftest import PDF_QUESTION, PDF_SENTENCE

    engine = lifqa.open(str(pdf_index))
    answer = engine.ask(PDF_QUESTION)
    citation = next(c for c in answer.citations if c.doc_id == "zebrafish" and PDF_SENTENCE in c.text)
    target = page_view.page_target(engine.source("zebrafish"), citation, answer.sentences)
    assert target is not None and target.page == 2 and target.path.endswith("zebrafish.pdf")
    png, found = page_view.page_png(target)
    assert found and png.startswith(b"\x89PNG")
    other = next((c for c in answer.citations if c.doc_id == "notes"), None)
    if other is not None:
        assert page_view.page_target(engine.source("notes"), other, answer.sentences) is None
