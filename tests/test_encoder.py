"""Encoder variants: chosen from the CPU, close to fp32, ONNX graph cached and checksummed, the index's variant used for queries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifqa.encoder import Encoder, cpu_flags, fast_bf16, get_encoder, model_cache_dir, resolve_variant
from lifqa.errors import SettingsError

pytestmark = pytest.mark.slow  # loads the model in every variant

TEXTS = ["LIF binds the LIFR and gp130 receptor complex.", "STAT3 is phosphorylated within minutes.",
         "Leukemia inhibitory factor keeps mouse embryonic stem cells pluripotent in culture. " * 6]


def test_auto_follows_the_cpu_flags_and_bad_names_list_the_valid_ones(monkeypatch):
    import lifqa.encoder as encoder_module

    assert fast_bf16() == bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    assert resolve_variant("auto") == ("torch-bf16" if fast_bf16() else "onnx-fp32")
    monkeypatch.setattr(encoder_module, "cpu_flags", lambda: frozenset({"avx2", "fma"}))  # a CPU without bf16 units
    assert resolve_variant("auto") == "onnx-fp32"
    monkeypatch.setattr(encoder_module, "onnx_runtime_installed", lambda: False)
    assert resolve_variant("auto") == "torch-fp32"
    monkeypatch.setattr(encoder_module, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    assert resolve_variant("auto") == "torch-bf16"
    with pytest.raises(SettingsError, match="Valid encoders: auto, torch-fp32, torch-bf16, onnx-fp32, onnx-int8"):
        resolve_variant("tpu-fp8")


def test_variants_agree_with_fp32_and_length_sorting_keeps_order():
    reference = get_encoder(variant="torch-fp32").encode(TEXTS)
    alone = np.vstack([get_encoder(variant="torch-fp32").encode([t]) for t in TEXTS])
    assert np.allclose(reference, alone, atol=1e-5)  # batches sorted by length, results in input order
    bf16 = get_encoder(variant="torch-bf16").encode(TEXTS)
    assert (reference * bf16).sum(1).min() >= 0.999
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)


def test_span_pooling_is_the_mean_of_the_span_tokens_and_none_when_truncated():
    encoder = get_encoder(variant="torch-fp32")
    text = TEXTS[0] + " " + TEXTS[1]
    first = (0, len(TEXTS[0]))
    vectors, pooled = encoder.encode_with_spans([text, "x " * 400], [[first], [(790, 800)]])
    assert np.allclose(vectors[0], encoder.encode([text])[0], atol=1e-5)
    ids = encoder.tokenizer([text], return_offsets_mapping=True)
    offsets = ids["offset_mapping"][0]
    inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= first[0] and e <= first[1]]
    states = encoder._hidden(np.asarray(ids["input_ids"]), np.ones((1, len(offsets)), dtype=np.int64))[0]
    expected = states[inside].mean(0)
    assert np.allclose(pooled[0][0], expected / np.linalg.norm(expected), atol=1e-5)
    assert pooled[1] == [None]  # past the 256-token limit


def test_onnx_graph_is_exported_once_checksummed_and_replaced_when_damaged(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LIFQA_MODEL_CACHE", str(tmp_path))
    encoder = Encoder(variant="onnx-fp32")
    graphs = list(model_cache_dir().glob("*/model.onnx"))
    assert len(graphs) == 1 and graphs[0].with_name("model.onnx.sha256").is_file()
    reference = get_encoder(variant="torch-fp32").encode(TEXTS)
    assert (encoder.encode(TEXTS) * reference).sum(1).min() >= 0.99999
    graphs[0].write_bytes(graphs[0].read_bytes()[:1000])  # damaged: the checksum no longer matches
    again = Encoder(variant="onnx-fp32")
    assert (again.encode(TEXTS) * reference).sum(1).min() >= 0.99999


def test_queries_use_the_variant_that_built_the_index(tmp_path: Path):
    import lifqa
    from lifqa.index import layout
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lif.txt").write_text("LIF signalling\n\n" + " ".join(TEXTS[:2]), encoding="utf-8")
    built = build_index(corpus, tmp_path / "fp32", make_settings(encoder="torch-fp32"))
    assert built.manifest["encoder"]["variant"] == "torch-fp32"
    assert lifqa.open(str(tmp_path / "fp32")).encoder.variant == "torch-fp32"
    auto = build_index(corpus, tmp_path / "auto", make_settings())
    assert lifqa.open(str(tmp_path / "auto")).encoder.variant == auto.manifest["encoder"]["variant"] == resolve_variant("auto")
    # an index from before variants existed: opened, and queried with fp32 like it was built
    manifest_path = built.build_dir / layout.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["encoder"], manifest["settings"]["encoder"], manifest["settings"]["sentence_pooling"], manifest["settings"]["chunk_vectors"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    engine = lifqa.open(str(tmp_path / "fp32"))
    assert engine.encoder.variant == "torch-fp32" and engine.search("Which receptor does LIF bind?", k=1)


def test_an_onnx_built_index_is_queried_with_torch_fp32_where_onnx_runtime_is_missing(monkeypatch):
    import lifqa.engine as engine_module

    built = {"encoder": {"variant": "onnx-fp32"}}
    assert engine_module.encoder_variant(built) == "onnx-fp32"
    monkeypatch.setattr(engine_module, "onnx_runtime_installed", lambda: False)
    assert engine_module.encoder_variant(built) == "torch-fp32"  # the same vectors
    assert engine_module.encoder_variant({"encoder": {"variant": "onnx-int8"}}) == "onnx-int8"  # not the same: an error later


def test_encoding_hands_back_torchs_thread_count():
    """Short batches run on one thread; the process-wide setting must be restored afterwards, or a benchmark's next
    path (and a build's next stage) silently runs single-threaded."""
    import torch

    encoder = get_encoder(variant="torch-fp32")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        encoder.encode(TEXTS[:2])  # two short texts: encoded on one thread
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
