"""A build's vectors: chunk vectors composed from the sentence vectors instead of a pass over each chunk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifqa.index import layout
from lifqa.index.dense import read_chunk_vectors

TEXT = ("Leukaemia inhibitory factor\n\nLIF binds a receptor made of LIFR and gp130. The complex signals through "
        "JAK1 and STAT3 in embryonic stem cells. Without LIF, mouse embryonic stem cells differentiate within days.\n\n"
        "Clinical use\n\nRecombinant LIF was tested in women with implantation failure. It did not raise the rate of "
        "live births in that trial. Emfilermin is the name of the recombinant protein used.")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "lif.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "notes.txt").write_text("Notes on gp130\n\nThe gp130 subunit is shared by the IL-6 family. "
                                      "Oncostatin M also signals through it.", encoding="utf-8")
    return corpus


def test_chunk_vectors_are_composed_from_sentence_and_title_vectors_weighted_by_tokens(lif_index: Path):
    """The shipped default: every chunk's vector is the token-weighted mean of its sentences' vectors and its
    title/section line's vector, recomputed here from the encoder itself."""
    import lifqa
    from lifqa.chunking import context_line

    engine = lifqa.open(str(lif_index))
    build = layout.active_build(lif_index)
    assert engine.manifest["encoder"]["chunk_vectors"] == "sentences"
    chunk_vectors = read_chunk_vectors(build)
    spans = np.load(build / layout.CHUNK_SENTENCES)
    sentence_spans = np.load(build / layout.SENTENCE_SPANS)
    from transformers import AutoTokenizer

    from lifqa.encoder import get_encoder

    encoder = get_encoder(variant=engine.manifest["encoder"]["variant"])  # the build's encoder (queries may use another)
    words = AutoTokenizer.from_pretrained(encoder.model_path, local_files_only=True)  # counted apart from lifqa's tokenizer
    worst = 1.0
    for row in range(0, engine.store.n_chunks, 7):
        chunk = engine.store.chunk(row)
        doc = engine.store.source(chunk.doc_id).document
        lo, hi = spans[row]
        texts = [doc.text[s:e] for s, e in sentence_spans[lo:hi]] + [context_line(doc, chunk)]
        vectors = encoder.encode_documents(texts)
        weights = np.asarray([len(words(t, add_special_tokens=False)["input_ids"]) for t in texts], dtype=np.float32)
        expected = weights @ vectors
        expected /= np.linalg.norm(expected)
        worst = min(worst, float(expected @ chunk_vectors[row]))
    assert worst > 0.999


def test_a_composed_build_encodes_sentences_and_title_lines_never_a_chunk(tmp_path: Path, monkeypatch):
    from lifqa.chunking import retrieval_text
    from lifqa.encoder import Encoder
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    encoded: list[str] = []
    original = Encoder.encode_documents

    def recording(self, texts, show_progress=False):
        encoded.extend(texts)
        return original(self, texts, show_progress)

    monkeypatch.setattr(Encoder, "encode_documents", recording)
    # chunks shorter than a section, so that later chunks of a section open with a "title\nsection" line
    built = build_index(_corpus(tmp_path), tmp_path / "index", make_settings(encode_workers=1, chunk_size=120, chunk_overlap=0))
    assert built.manifest["encoder"]["chunk_vectors"] == "sentences"
    import lifqa

    engine = lifqa.open(str(tmp_path / "index"))
    chunks = list(engine.store.iter_chunks())
    retrieval_texts = {retrieval_text(engine.store.source(c.doc_id).document, c) for c in chunks}
    assert encoded and not retrieval_texts & set(encoded)
    assert {"Leukaemia inhibitory factor\nClinical use", "Notes on gp130"} <= set(encoded)
    assert engine.search("Which subunit is shared by the IL-6 family?", k=1)[0].chunk.doc_id == "notes"

    encoded.clear()  # the chunk's own pass, asked for: every retrieval text is encoded
    build_index(_corpus(tmp_path / "again"), tmp_path / "encode", make_settings(encode_workers=1, chunk_size=120, chunk_overlap=0,
                                                                                chunk_vectors="encode"))
    assert retrieval_texts <= set(encoded)


def test_without_sentence_vectors_chunks_are_encoded_and_asking_to_compose_them_says_what_to_set(tmp_path: Path):
    from lifqa.errors import SettingsError
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    assert make_settings().composes_chunk_vectors()
    assert not make_settings(sentence_vectors=False).composes_chunk_vectors()
    assert not make_settings(sentence_pooling="chunk").composes_chunk_vectors()
    with pytest.raises(SettingsError, match="chunk_vectors=sentences .* needs sentence_vectors=true and sentence_pooling=encode"):
        make_settings(chunk_vectors="sentences", sentence_vectors=False)
    with pytest.raises(SettingsError, match="'auto', 'sentences' or 'encode'"):
        make_settings(chunk_vectors="pooled")
    built = build_index(_corpus(tmp_path), tmp_path / "index", make_settings(sentence_vectors=False))
    assert built.manifest["encoder"]["chunk_vectors"] == "encode"
    assert not (built.build_dir / layout.SENTENCE_VECTORS).exists()
    assert json.loads((built.build_dir / layout.MANIFEST).read_text())["settings"]["chunk_vectors"] == "auto"


def test_a_rebuild_composes_only_the_chunks_that_changed(tmp_path: Path, monkeypatch):
    import lifqa.index.embed as embed
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    corpus = _corpus(tmp_path)
    settings = make_settings(encode_workers=1, chunk_size=120, chunk_overlap=0)
    first = build_index(corpus, tmp_path / "index", settings)
    vectors = read_chunk_vectors(first.build_dir)
    counted: list[str] = []
    shipped = embed.token_weights

    def counting(encoder, texts):
        counted.extend(texts)
        return shipped(encoder, texts)

    monkeypatch.setattr(embed, "token_weights", counting)
    again = build_index(corpus, tmp_path / "index", settings, force=True)
    assert again.manifest["embedding_cache"]["embedded"] == 0
    assert not set(counted) - {"Leukaemia inhibitory factor", "Leukaemia inhibitory factor\nClinical use", "Notes on gp130"}
    assert np.array_equal(read_chunk_vectors(again.build_dir), vectors)
    (corpus / "notes.txt").write_text("Notes on gp130\n\nThe gp130 subunit is shared by the IL-6 family. "
                                      "Ciliary neurotrophic factor also signals through it.", encoding="utf-8")
    counted.clear()
    changed = build_index(corpus, tmp_path / "index", settings)
    assert "Ciliary neurotrophic factor also signals through it." in counted
    assert not any("Recombinant LIF" in text for text in counted)  # the unchanged document's chunks: from the cache
    assert changed.manifest["embedding_cache"]["embedded"] == 1
