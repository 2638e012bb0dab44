"""Library side of the web app, one module per view; ``app.py`` only lays out widgets.

Everything testable without a browser lives here: ``index_setup`` (where the app finds
its index and corpus, the first build), ``ask_options`` (the question's controls and the
URL), ``widgets`` (the page's CSS, tier badges, flag chips and notes, highlighting),
``answer_view`` (the answer, its passage cards and downloads), ``page_view`` (a cited
PDF page), ``conflicts_view`` (facts the sources disagree on), ``sources_view`` (the
sources table and one source), ``batch_view`` (an uploaded file of questions) and
``eval_view`` (the latest evaluation report). This package imports none of them.

Corpus text is untrusted (a seed document carried a raw ``<iframe>``), so
every HTML string built here passes corpus-derived text through ``html.escape``
first, and the app shows it with ``st.html`` (which also sanitises with
DOMPurify) — never with ``unsafe_allow_html`` markdown.
"""
