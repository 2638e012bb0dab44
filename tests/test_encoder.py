"""Encoder variants: chosen from the CPU, close to fp32, ONNX graph cached and checksummed; the model read from its own
files (sentence-transformers' vectors, its pooling checked); queries encoded without loading torch."""

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
    tokens = encoder.tokenizer.encode([text])[0]
    offsets = tokens.offsets
    inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= first[0] and e <= first[1]]
    states = encoder._hidden(np.asarray([tokens.ids]), np.ones((1, len(offsets)), dtype=np.int64))[0]
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


def test_queries_use_onnx_fp32_on_fp32_and_bf16_indexes_or_the_build_variant_when_asked(tmp_path: Path):
    import lifqa
    from lifqa.index import layout
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lif.txt").write_text("LIF signalling\n\n" + " ".join(TEXTS[:2]), encoding="utf-8")
    built = build_index(corpus, tmp_path / "fp32", make_settings(encoder="torch-fp32"))
    assert built.manifest["encoder"]["variant"] == "torch-fp32"
    assert lifqa.open(str(tmp_path / "fp32")).encoder.variant == "onnx-fp32"  # the same vectors, loaded without torch
    assert lifqa.open(str(tmp_path / "fp32"), query_encoder="build").encoder.variant == "torch-fp32"
    bf16 = build_index(corpus, tmp_path / "bf16", make_settings(encoder="torch-bf16"))
    assert bf16.manifest["encoder"]["variant"] == "torch-bf16"
    engine = lifqa.open(str(tmp_path / "bf16"))
    assert engine.encoder.variant == "onnx-fp32"
    assert engine.with_settings(query_encoder="build").encoder.variant == "torch-bf16"
    query = "Which receptor does LIF bind?"
    fp32, rounded = engine.encoder.encode([query]), engine.with_settings(query_encoder="build").encoder.encode([query])
    assert float((fp32 * rounded).sum()) >= 0.9999  # bf16 rounds fp32's maths
    # an index from before variants existed: opened, and queried like fp32
    manifest_path = built.build_dir / layout.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["encoder"], manifest["settings"]["encoder"], manifest["settings"]["sentence_pooling"], manifest["settings"]["chunk_vectors"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    engine = lifqa.open(str(tmp_path / "fp32"), query_encoder="build")
    assert engine.encoder.variant == "torch-fp32" and engine.search(query, k=1)


def test_the_query_encoder_without_onnx_runtime_is_the_build_variant(monkeypatch):
    import lifqa.engine as engine_module

    built = {"encoder": {"variant": "onnx-fp32"}}
    assert engine_module.encoder_variant(built) == "onnx-fp32"
    for variant in ("torch-fp32", "torch-bf16", "onnx-fp32"):
        assert engine_module.encoder_variant({"encoder": {"variant": variant}}, "auto") == "onnx-fp32"
    assert engine_module.encoder_variant({"encoder": {"variant": "onnx-int8"}}, "auto") == "onnx-int8"  # other vectors
    assert engine_module.encoder_variant({"encoder": {"variant": "torch-bf16"}}, "build") == "torch-bf16"
    monkeypatch.setattr(engine_module, "onnx_runtime_installed", lambda: False)
    assert engine_module.encoder_variant(built) == engine_module.encoder_variant(built, "auto") == "torch-fp32"  # the same vectors
    assert engine_module.encoder_variant({"encoder": {"variant": "torch-bf16"}}, "auto") == "torch-bf16"
    assert engine_module.encoder_variant({"encoder": {"variant": "onnx-int8"}}) == "onnx-int8"  # not the same: an error later


def test_a_fresh_process_answers_without_loading_torch_or_transformers(tmp_path: Path, monkeypatch):
    """The build exports the graphs its queries use (the encoder's and the span reader's), so the first question of a
    fresh process (the CLI's every question, the app's first) loads only ONNX Runtime and the tokenizer."""
    import subprocess
    import sys

    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    monkeypatch.setenv("LIFQA_MODEL_CACHE", str(tmp_path / "models"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lif.txt").write_text("LIF signalling\n\n" + " ".join(TEXTS[:2]), encoding="utf-8")
    build_index(corpus, tmp_path / "index", make_settings(encoder="torch-fp32"))
    assert list((tmp_path / "models").glob("minilm-*/model.onnx"))  # exported by the build: the query encoder
    assert list((tmp_path / "models").glob("span-reader-*/model.onnx"))  # and the short answer's reader
    script = ("import sys, lifqa\n"
              "from lifqa.answer.short import get_span_reader\n"
              "engine = lifqa.open(sys.argv[1])\n"
              "answer = engine.ask('Which receptor does LIF bind?')\n"
              "assert get_span_reader().spans('Which receptor does LIF bind?', [answer.sentences[0].text])[0]\n"
              "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sentence_transformers'})\n"
              "print(engine.encoder.variant, len(answer.sentences), loaded)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "index")], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}, timeout=120)
    assert done.returncode == 0, done.stderr
    variant, sentences, loaded = done.stdout.split(" ", 2)
    assert variant == "onnx-fp32" and int(sentences) >= 1 and loaded.strip() == "[]"


def test_vectors_are_sentence_transformers_own():
    """The encoder reads the model folder itself; its vectors must stay the ones sentence-transformers computes."""
    from sentence_transformers import SentenceTransformer

    encoder = get_encoder(variant="torch-fp32")
    reference = SentenceTransformer(encoder.model_path, device="cpu", local_files_only=True)
    assert encoder.max_length == reference.max_seq_length == 256 and encoder.dim == 384
    expected = reference.encode(TEXTS + ["x " * 400], normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(encoder.encode(TEXTS + ["x " * 400]), expected, atol=1e-5)
    ids = reference.tokenizer(TEXTS + ["x " * 400], truncation=True, max_length=256)["input_ids"]
    assert [row.ids for row in encoder.tokenizer.encode(TEXTS + ["x " * 400])] == ids


def _model_folder(tmp_path: Path, **changes: dict) -> Path:
    """A copy of the bundled model's JSON files (no weights: reading the layout needs none), some of them changed."""
    from lifqa.encoder import bundled_model_path

    source, folder = Path(bundled_model_path()), tmp_path / "model"
    for name in ("modules.json", "config.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    for name, value in changes.items():
        (folder / name.replace("__", "/")).write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return folder


def test_a_model_without_tokenizer_json_is_tokenised_from_its_vocabulary(tmp_path: Path):
    import shutil

    from lifqa.encoder import ModelTokenizer, bundled_model_path, read_model_layout

    folder = _model_folder(tmp_path)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(Path(bundled_model_path()) / name, folder / name)
    texts = TEXTS + ["Ünïcödé naïve façade (NCBI Gene ID: 3976)", "x " * 400]
    converted = ModelTokenizer(read_model_layout(str(folder))).encode(texts)
    shipped = ModelTokenizer(read_model_layout(bundled_model_path())).encode(texts)
    assert [row.ids for row in converted] == [row.ids for row in shipped]
    assert [row.offsets for row in converted] == [row.offsets for row in shipped]


def test_model_folders_lifqa_cannot_encode_faithfully_are_refused_by_name(tmp_path: Path):
    from lifqa.encoder import read_model_layout

    layout = read_model_layout(str(_model_folder(tmp_path / "ok")))
    assert (layout.dim, layout.max_length, layout.lowercase) == (384, 256, False)
    cls = {"word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
    with pytest.raises(SettingsError, match="pools by cls_token; lifqa's encoder mean-pools"):
        read_model_layout(str(_model_folder(tmp_path / "cls", **{"1_Pooling__config.json": cls})))
    dense = [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
    with pytest.raises(SettingsError, match=r"modules lifqa cannot run \(Dense\)"):
        read_model_layout(str(_model_folder(tmp_path / "dense", **{"modules.json": dense})))
    with pytest.raises(SettingsError, match="config.json.*damaged"):
        read_model_layout(str(_model_folder(tmp_path / "broken", **{"config.json": "{not json"})))
    with pytest.raises(SettingsError, match="no transformer config.json"):
        read_model_layout(str(_model_folder(tmp_path / "bare", **{"config.json": {"model_type": "bert"}})))


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
