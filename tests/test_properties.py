"""Property-based tests: arbitrary Unicode never breaks the normaliser, tokenizer or chunker.

Corpus text is untrusted: whatever it holds (control characters, bidi overrides, half
tags, emoji, scripts without spaces), reading must not raise, and every chunk's offsets
must slice back to exactly its text, so a citation always points at what it quotes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifqa.chunking import chunk_document, split_sentences
from lifqa.readers.text import make_document, normalise
from lifqa.tokenize import Tokenizer, identifiers

# Pieces that exercise the rules (sentence ends, abbreviations, headings, bullets, tables,
# markup, links, entities, control and invisible characters) mixed with arbitrary text.
PIECES = st.sampled_from([
    "\n", "\n\n", "\r\n", ". ", "? ", "! ", "… ", "e.g. ", "et al. ", "Fig. 2. ", "1. ", "# ", "## Results\n", "- ", "• ",
    "<p>", "</p>", "<td>", "<tr>", "<table>", "<script>", "<b ", ">", "&amp;", "&#x1F9EC;", "&nbsp;", "[gp130](https://x.org/a(b))",
    "LIF", "gp130", "LIFR-α", "22q12.2", "Cys12-Cys134", " | ", ": ", "\x00", "\x1b[31m", "\x9b", "\u200b", "\u202e", "\ufeff",
    "\t", "  ", "A", "The cytokine binds.", "白血病抑制因子", "ЛИФ", "🧬", "ǅ", "ﬁ", "\u0301",
])
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=60).map("".join)
CHECKS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENIZER = Tokenizer()


@CHECKS
@given(TEXT)
def test_normalise_accepts_anything_and_removes_control_characters(raw):
    text = normalise(raw).text
    assert text == text.strip()
    assert not any(ch in text for ch in "\r\x00\x1b\x9b\u200b\u202e\ufeff")


@CHECKS
@given(TEXT)
def test_tokenizer_accepts_anything_and_yields_clean_terms(raw):
    for term in TOKENIZER(raw):
        assert term and not any(ch.isspace() for ch in term)
    assert all(token == token.lower() for token in identifiers(raw))


@CHECKS
@given(TEXT)
def test_sentence_offsets_slice_back_on_raw_text(raw):
    for sentence in split_sentences(raw):
        assert raw[sentence.start:sentence.end] == sentence.text and sentence.text.strip()


@CHECKS
@given(TEXT, st.integers(100, 1500), st.integers(0, 400))
def test_chunk_offsets_slice_back_and_cover_every_word(raw, size, overlap):
    overlap = min(overlap, size - 1)
    doc = make_document("doc.txt", raw)
    chunks = chunk_document(doc, size, overlap)
    covered = bytearray(len(doc.text))
    for position, chunk in enumerate(chunks):
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text  # a citation quotes exactly what it points at
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.position == position and chunk.chunk_id == f"doc#{position}"
        assert len(chunk.text) <= 6 * size  # no giant chunk
        covered[chunk.char_start:chunk.char_end] = b"\x01" * (chunk.char_end - chunk.char_start)
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)
    lost = [i for i, ch in enumerate(doc.text) if not covered[i] and not ch.isspace()]
    assert lost == []  # every character of the document is in some chunk
