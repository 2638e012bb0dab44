from __future__ import annotations

from lifqa.chunking import chunk_document, split_sentences
from lifqa.sources import read_sources


def test_chunk_offsets_slice_back_and_end_on_sentence_boundaries(corpus_dir):
    for doc in read_sources(corpus_dir).documents:
        sentence_ends = {s.end for s in split_sentences(doc.text)}
        sentence_starts = {s.start for s in split_sentences(doc.text)}
        chunks = chunk_document(doc, 700, 150)
        assert chunks
        for chunk in chunks:
            assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
            assert chunk.char_end in sentence_ends and chunk.char_start in sentence_starts


def test_chunk_ids_are_stable_and_sections_carried(corpus_dir):
    docs = read_sources(corpus_dir).documents
    first = [c.chunk_id for d in docs for c in chunk_document(d, 700, 150)]
    second = [c.chunk_id for d in read_sources(corpus_dir).documents for c in chunk_document(d, 700, 150)]
    assert first == second and len(set(first)) == len(first)
    review = next(d for d in docs if d.doc_id.startswith("003"))
    sections = {c.section for c in chunk_document(review, 700, 150)}
    assert {"Overview", "Structure", "Function", "Clinical Significance", "Interactions"} <= sections


def test_overlap_repeats_trailing_sentences(corpus_dir):
    review = next(d for d in read_sources(corpus_dir).documents if d.doc_id.startswith("003"))
    chunks = chunk_document(review, 400, 150)
    same_section = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.section == b.section]
    assert same_section and any(b.char_start < a.char_end for a, b in same_section)
    no_overlap = chunk_document(review, 400, 0)
    assert all(b.char_start >= a.char_end for a, b in zip(no_overlap, no_overlap[1:]))


def test_sentence_splitter_respects_abbreviations_and_initials():
    text = "LIF (e.g. in mice) acts fast. Authors: Zhou, W., Diemer, T. and others. Next one!"
    assert [s.text for s in split_sentences(text)] == [
        "LIF (e.g. in mice) acts fast.", "Authors: Zhou, W., Diemer, T. and others.", "Next one!"]
