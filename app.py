"""lifqa web app: ask the literature, read cited passages with each source's reliability.

Run with ``make app`` (or ``streamlit run app.py``). This file only lays out
widgets; the work is done by lifqa.web's views and the engine. Corpus text is shown as
text or through lifqa.web's escaped HTML (st.html, sanitised again by
DOMPurify); no corpus string reaches markdown or ``unsafe_allow_html``.
"""

from __future__ import annotations

import streamlit as st

from lifqa.errors import LifqaError
from lifqa.service import papers
from lifqa.service.uploads import KINDS
from lifqa.settings import MODES
from lifqa.web import answer_view, ask_options, batch_view, conflicts_view, eval_view, index_setup, page_view, sources_view, widgets

st.set_page_config(page_title="lifqa — literature QA", page_icon="📚", layout="wide")
st.html(widgets.PAGE_CSS)
ss = st.session_state


@st.cache_data(show_spinner="Rendering the page…", max_entries=64)
def page_image(target: page_view.PageTarget) -> tuple[bytes, bool]:
    return page_view.page_png(target)


def show_card(citation, sentences, cited: bool, short) -> None:
    """A passage card; for a PDF passage, a "Show on page" switch renders its page with the sentence marked."""
    st.html(answer_view.citation_card(citation, sentences, cited=cited, short=short))
    target = page_view.page_target(engine.source(citation.doc_id), citation, sentences)
    if target is not None and st.toggle(f"Show on page {target.name}", key=f"page_{citation.chunk_id}_{citation.key}"):
        png, found = page_image(target)
        st.image(png, caption=f"{citation.title}, page {target.name}" + (" — the cited sentence is highlighted" if found else
                                                                           " — the cited sentence could not be located on the page"))


@st.cache_resource(show_spinner="Loading the index and the embedding model…", max_entries=2)
def get_engine(index_dir: str, build: str):  # noqa: ARG001 - build is the cache key of a rebuilt index
    return index_setup.open_engine(index_dir)


def load_engine(paths: index_setup.AppPaths):
    slot = st.empty()
    bar = []  # created on the first progress report: only a build shows it

    def report(stage: str, fraction: float) -> None:
        if not bar:
            with slot.container():
                st.info("First start: building the search index of the corpus. This happens once; later starts open it in seconds.")
                bar.append(st.progress(0.0))
        bar[0].progress(min(max(fraction, 0.0), 1.0), text=f"{stage}…")

    try:
        index_setup.ensure_index(paths, progress=report)
        engine = get_engine(str(paths.index_dir), index_setup.build_name(paths.index_dir))
    except LifqaError as exc:
        slot.empty()
        st.error(f"The index cannot be opened: {exc}")
        st.stop()
    slot.empty()
    return engine


st.title("lifqa", anchor=False)
st.caption("Questions answered with sentences copied from the literature: every sentence cited, every source judged for reliability.")
paths = index_setup.AppPaths.from_env()
engine = load_engine(paths)
sources = engine.sources()
titles = {r.document.doc_id: r.document.title for r in sources}
kinds = ask_options.flag_kinds(sources)
library_tags, library_collections = ask_options.library_choices(sources)

if "lq_started" not in ss:  # first run of this browser session: take the question and controls from the URL
    url_options, ss.url_problems = ask_options.parse_query_params(st.query_params.to_dict(), kinds, library_tags, library_collections)
    ss.question, ss.asked = url_options.question, url_options.question
    ss.mode, ss.k, ss.exclude, ss.min_tier = url_options.mode, url_options.k, list(url_options.exclude), url_options.min_tier
    ss.tags, ss.collections = list(url_options.tags), list(url_options.collections)
    ss.lq_started = True


def submit() -> None:
    ss.asked = ss.question


def use_example() -> None:
    if ss.example:
        ss.question = ss.asked = ss.example
    ss.example = None


# ---- sidebar: controls ------------------------------------------------------------
with st.sidebar:
    st.header("Search settings")
    st.selectbox("Retrieval mode", MODES, key="mode", help="hybrid+rerank: BM25 and dense retrieval fused, then reranked (default).")
    st.slider("Passages", ask_options.K_MIN, ask_options.K_MAX, key="k", help="How many passages to retrieve and show.")
    st.multiselect("Exclude sources flagged as", kinds, key="exclude", format_func=lambda kind: kind.replace("_", " "),
                   placeholder="no exclusions" if kinds else "no source is flagged", disabled=not kinds,
                   help="Sources carrying any of these reliability flags are left out of retrieval.")
    st.selectbox("Minimum source tier", ask_options.TIER_CHOICES, key="min_tier",
                 help="Leave out sources below this reliability tier ('any' keeps all).")
    st.multiselect("Library tags", library_tags, key="tags", placeholder="all tags" if library_tags else "no library tags in this index",
                   disabled=not library_tags, help="Only sources carrying any of these tags (from Zotero, BibTeX keywords, RIS/CSL keywords).")
    st.multiselect("Library collections", library_collections, key="collections",
                   placeholder="all collections" if library_collections else "no library collections in this index",
                   disabled=not library_collections, help="Only sources in any of these Zotero collections (subcollections included).")
    st.subheader("Reading the badges")
    st.html(widgets.tier_legend_html())
    manifest = engine.manifest
    st.caption(f"Index: {manifest.get('counts', {}).get('documents', '?')} documents, "
               f"{manifest.get('counts', {}).get('chunks', '?')} passages · built {manifest.get('built_at', '?')}")

ask_tab, sources_tab, batch_tab, eval_tab = st.tabs(["Ask", "Sources", "Batch", "Evaluation"])

# ---- ask ---------------------------------------------------------------------------
with ask_tab:
    for problem in ss.url_problems:
        st.warning(f"Link parameter problem: {problem}")
    with st.form("ask_form", border=False):
        left, right = st.columns([7, 1], vertical_alignment="bottom")
        left.text_input("Question", key="question", placeholder="Ask a question about the corpus, e.g. Which receptor does LIF bind?")
        right.form_submit_button("Ask", type="primary", on_click=submit, width="stretch")
    st.pills("Examples", ask_options.EXAMPLE_QUESTIONS, key="example", on_change=use_example, label_visibility="collapsed")

    options = ask_options.AskOptions(ss.asked.strip(), ss.mode, ss.k, tuple(ss.exclude), ss.min_tier, tuple(ss.tags), tuple(ss.collections))
    if options.question and ss.get("answered_options") != options:
        try:
            with st.spinner("Searching the corpus…"):
                ss.answer, ss.ask_error = engine.ask(options.question, **options.ask_kwargs()), None
        except LifqaError as exc:
            ss.answer, ss.ask_error = None, str(exc)
        ss.answered_options = options
    if st.query_params.to_dict() != options.to_query_params():
        st.query_params.from_dict(options.to_query_params())  # the URL always shares what the page shows

    answer = ss.get("answer") if options.question and ss.get("answered_options") == options else None
    if options.question and ss.get("ask_error"):
        st.error(ss.ask_error)
    elif answer is not None:
        for notice in answer.notices:
            st.info(notice)
        st.html(answer_view.answer_html(answer))
        st.caption(f"{answer.mode} · {len(answer.citations)} passages · support {answer.support:.2f} · "
                   f"{answer.timings_ms.get('total_ms', 0) / 1000:.2f} s")
        markdown, downloads = answer_view.answer_exports(answer, lambda doc_id: engine.source(doc_id).document)
        with st.expander("Copy as Markdown"):
            st.code(markdown, language="markdown", wrap_lines=True)  # the code block's own button copies it
        for column, item in zip(st.columns(len(downloads)), downloads):
            column.download_button(item.label, item.data, item.file_name, item.mime, key=f"dl_answer_{item.fmt}", on_click="ignore")
        if note := answer_view.reliability_note_html(answer):
            st.html(note)
        if answer.conflicts:
            st.html(conflicts_view.conflicts_html(answer, titles))
        cited = answer_view.cited_keys(answer)
        first = [c for c in answer.citations if c.key in cited]
        rest = [c for c in answer.citations if c.key not in cited]
        if first:
            st.subheader("Evidence")
            for citation in first:
                show_card(citation, answer.sentences, cited=True, short=answer.short_answer)
        if rest:
            st.subheader("Closest passages" if answer.abstained else "Other retrieved passages")
            for citation in rest:
                show_card(citation, answer.sentences, cited=False, short=answer.short_answer)
    else:
        st.info("Type a question or pick an example. Answers are sentences copied from the sources, each with its citation; "
                "when no passage supports an answer, lifqa says so.")

# ---- sources -----------------------------------------------------------------------
def corpus_changed(change, bar) -> None:
    """Saved, moved or failed: said on the next run, which opens the new index."""
    bar.empty()
    ss.corpus_change = change
    st.rerun()


def build_bar():
    bar = st.progress(0.0, text="Saving…")
    return bar, lambda stage, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=f"Rebuilding the index: {stage}…")


with sources_tab:
    corpus, not_a_folder = papers.corpus_folder(index_setup.corpus_of(paths))
    change = ss.pop("corpus_change", None)
    if isinstance(change, str):
        st.error(change)
    elif change is not None:
        st.success(f"{', '.join(change.saved)}: the index now has {len(sources)} sources"
                   + (f"; added {', '.join(change.added)}" if change.added else "")
                   + (f"; removed {', '.join(change.removed)}" if change.removed else "") + ".")
        for warning in change.warnings:
            st.warning(warning)
    with st.expander("Add papers"):
        if corpus is None:
            st.info(not_a_folder)
        else:
            st.caption("PDF, JATS or PubMed XML, BibTeX, RIS, CSL-JSON, text, Markdown or HTML. Files are saved into the corpus "
                       "folder (never replacing a file of the same name) and the index is rebuilt; a reference library may "
                       "name attachments only inside the corpus folder.")
            new_files = st.file_uploader("Papers to add", type=sorted(s.lstrip(".") for s in KINDS), accept_multiple_files=True,
                                         key=f"add_papers_{ss.get('papers_round', 0)}")
            if st.button("Add to the corpus", type="primary", key="add_papers_run", disabled=not new_files):
                bar, report = build_bar()
                try:
                    done = papers.add_papers(corpus, paths.index_dir, [(f.name, f.getvalue()) for f in new_files], progress=report)
                    ss.papers_round = ss.get("papers_round", 0) + 1  # a fresh, empty uploader
                except LifqaError as exc:
                    done = str(exc)
                corpus_changed(done, bar)
    st.html(sources_view.sources_table_html(sources))
    chosen = st.selectbox("Document", [r.document.doc_id for r in sources],
                          format_func=lambda doc_id: f"{titles[doc_id]}  ({doc_id})", key="source_doc")
    record = engine.source(chosen)
    st.html(sources_view.source_header_html(record))
    if corpus is not None and papers.removable(corpus, record) is not None:
        left, right = st.columns([3, 1], vertical_alignment="center")
        sure = left.checkbox("Remove this source from the corpus (its file is moved to .removed/ in the corpus folder)",
                             key=f"remove_sure_{chosen}")
        if right.button("Remove source", key="remove_source", disabled=not sure):
            bar, report = build_bar()
            try:
                done = papers.remove_paper(corpus, paths.index_dir, record, progress=report)
                ss.pop("source_doc", None)
            except LifqaError as exc:
                done = str(exc)
            corpus_changed(done, bar)
    st.html(sources_view.metadata_html(record.document.metadata))
    st.html(widgets.flag_notes_html(record.flags, open_=True) or '<div class="lq-meta">No reliability flags for this source.</div>')
    st.markdown("**Full normalised text** (flag evidence marked)")
    st.html(sources_view.document_text_html(record))
    if record.document.noise:
        with st.expander(f"Removed during normalisation ({len(record.document.noise)} items)"):
            st.code("\n".join(record.document.noise), language=None, wrap_lines=True)
    conflicts = engine.conflicts()
    st.subheader("Facts the sources disagree on")
    if conflicts:
        for conflict in conflicts:
            st.html(conflicts_view.conflict_html(conflict, titles))
    else:
        st.caption("No conflicting facts found between sources.")

# ---- batch -------------------------------------------------------------------------
with batch_tab:
    st.markdown("Upload questions as **.txt** (one a line), **.csv** (header `id,question`) or **.jsonl** "
                "(`{\"id\": …, \"question\": …}`). They are answered with the settings in the sidebar.")
    upload = st.file_uploader("Questions file", type=["txt", "csv", "jsonl"], key="batch_file")
    if upload is not None:
        try:
            st.caption(batch_view.batch_preview(upload.getvalue(), upload.name))
        except LifqaError as exc:
            st.error(str(exc))
        if st.button("Answer all questions", type="primary", key="batch_run"):
            bar = st.progress(0.0, text="Answering…")
            try:
                ss.batch = batch_view.run_uploaded_batch(engine, upload.getvalue(), upload.name, options,
                                                  progress=lambda done, total: bar.progress(done / max(total, 1), text=f"Answered {done} of {total}"))
                ss.batch_name = upload.name
            except LifqaError as exc:
                ss.batch = None
                st.error(str(exc))
            bar.empty()
    result = ss.get("batch")
    if result is not None and upload is not None and ss.get("batch_name") == upload.name:
        a, b, c = st.columns(3)
        a.metric("Answered", result.answered)
        b.metric("Abstained", result.abstained)
        c.metric("Errors", result.errors)
        stem = upload.name.rsplit(".", 1)[0]
        left, right = st.columns(2)
        left.download_button("Download JSONL", result.jsonl, f"{stem}-answers.jsonl", "application/jsonl", key="dl_jsonl", on_click="ignore")
        right.download_button("Download CSV", result.csv, f"{stem}-answers.csv", "text/csv", key="dl_csv", on_click="ignore")
        st.dataframe(batch_view.batch_rows(result.records), hide_index=True, width="stretch")

# ---- evaluation --------------------------------------------------------------------
with eval_tab:
    try:
        report = eval_view.load_eval_report(paths.report_dir)
    except LifqaError as exc:
        report = None
        st.error(str(exc))
    if report is None:
        st.info(f"No evaluation report yet in {paths.report_dir}. Create one with:\n\n"
                f"    lifqa eval --report {paths.report_dir}")
    else:
        st.subheader("Retrieval and answer quality by mode")
        if report.facts:
            st.caption(" · ".join(f"{key.replace('_', ' ')}: {value}" for key, value in report.facts.items()))
        st.dataframe(report.table, hide_index=True, width="stretch",
                     column_config={mode: st.column_config.NumberColumn(format="%.3f") for mode in report.modes})
        columns = st.columns(2)
        for i, chart in enumerate(report.charts):
            columns[i % 2].image(str(chart))
        if report.questions:
            with st.expander(f"Per-question results ({len(report.questions)} rows)"):
                st.dataframe(report.questions, hide_index=True, width="stretch")
