"""The relevance model: a cross-encoder fine-tuned here from the bundled MiniLM that reads a question with one
candidate sentence and scores how well the sentence answers it.

Only what differs from the bundled weights ships (``data/relevance.safetensors``: the fine-tuned top layers and the
head, fp16), beside a record (``data/relevance.json``: layers, input length, the file's sha256, how it was trained).
Loading checks the sha256 before reading a byte of the weights, never unpickles (safetensors) and never touches the
network: the lower layers come from the bundled MiniLM. bf16 where the CPU has bf16 units, else fp32.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lifqa.errors import SettingsError
from lifqa.index.layout import file_sha256

WEIGHTS = "relevance.safetensors"
RECORD = "relevance.json"


@dataclass(frozen=True)
class RelevanceRecord:
    """What the delta file needs to be put back together: how many MiniLM layers, which were fine-tuned, and the
    input length it was trained with."""

    layers: int
    frozen_layers: int
    max_length: int
    sha256: str
    training: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> "RelevanceRecord":
        if not path.is_file():
            raise SettingsError(f"no relevance model here: {path.name} is missing. Train one with make cross-encoder "
                                "(lifqa train-cross-encoder), use answer_model=features, or give your own with "
                                "cross_encoder_path=FOLDER")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(data["layers"]), int(data["frozen_layers"]), int(data["max_length"]), str(data["sha256"]),
                       dict(data.get("training", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SettingsError(f"relevance model record {path.name} is unreadable ({exc}); reinstall lifqa or run "
                                "make cross-encoder") from None


def bundled_paths() -> tuple[Path, Path]:
    data = Path(str(resources.files("lifqa") / "data"))
    return data / WEIGHTS, data / RECORD


class RelevanceModel:
    """Scores (question, sentence) pairs; thread-safe (one forward pass at a time, as with the encoder)."""

    def __init__(self, tokenizer: Any, body: Any, head: Any, record: RelevanceRecord, bf16: bool | None = None) -> None:
        from lifqa.encoder import fast_bf16

        self.tokenizer, self.body, self.head, self.record = tokenizer, body, head, record
        self.bf16 = fast_bf16() if bf16 is None else bf16
        self._lock = threading.Lock()

    @classmethod
    def from_bundled(cls, layers: int, frozen_layers: int, max_length: int, seed: int) -> "RelevanceModel":
        """The starting point of training: MiniLM's first ``layers`` layers and a fresh head; the embeddings and the
        first ``frozen_layers`` layers stay as shipped, so only what differs from the bundled weights is saved."""
        import torch

        torch.manual_seed(seed)
        tokenizer, body, head = _bundled_parts(layers)
        torch.nn.init.zeros_(head.bias)
        torch.nn.init.normal_(head.weight, std=0.02)
        for module in [body.embeddings, *body.encoder.layer[:frozen_layers]]:
            for parameter in module.parameters():
                parameter.requires_grad = False
        return cls(tokenizer, body, head, RelevanceRecord(layers, frozen_layers, max_length, "", {}))

    @classmethod
    def load(cls, weights: Path | None = None, record: Path | None = None, bf16: bool | None = None) -> "RelevanceModel":
        """The shipped model (or another delta file and its record): sha256 checked before the weights are read."""
        from safetensors.torch import load_file

        default_weights, default_record = bundled_paths()
        weights, record_path = weights or default_weights, record or default_record
        info = RelevanceRecord.read(record_path)
        if not weights.is_file():
            raise SettingsError(f"relevance model file {weights.name} is missing; reinstall lifqa or run make cross-encoder")
        if file_sha256(weights) != info.sha256:
            raise SettingsError(f"relevance model file {weights.name} does not match the sha256 in {record_path.name} "
                                "(damaged or replaced); reinstall lifqa or run make cross-encoder")
        tokenizer, body, head = _bundled_parts(info.layers)
        delta = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
        head_state = {k.removeprefix("head."): v for k, v in delta.items() if k.startswith("head.")}
        body_state = {k.removeprefix("body."): v for k, v in delta.items() if k.startswith("body.")}
        expected = set(trainable_names(body, info.frozen_layers))
        missing, unexpected = expected - set(body_state), set(body_state) - expected
        if unexpected:
            raise SettingsError(f"relevance model file {weights.name} holds weights this lifqa does not know "
                                f"({sorted(unexpected)[:3]}); reinstall lifqa or run make cross-encoder")
        if missing or set(head_state) != {"weight", "bias"}:
            raise SettingsError(f"relevance model file {weights.name} lacks {sorted(missing)[:3] or 'the head'}; "
                                "reinstall lifqa or run make cross-encoder")
        body.load_state_dict(body_state, strict=False)
        head.load_state_dict(head_state)
        body.eval()
        return cls(tokenizer, body, head, info, bf16)

    def save(self, weights: Path, record: Path, training: dict[str, Any]) -> RelevanceRecord:
        """Write the fine-tuned layers and the head in fp16 (safetensors) and the record with their sha256."""
        from safetensors.torch import save_file

        names = trainable_names(self.body, self.record.frozen_layers)
        state = dict(self.body.named_parameters())
        delta = {f"body.{n}": state[n].detach().to("cpu").half().contiguous() for n in names}
        delta.update({f"head.{n}": p.detach().half().contiguous() for n, p in self.head.named_parameters()})
        save_file(delta, str(weights))
        info = RelevanceRecord(self.record.layers, self.record.frozen_layers, self.record.max_length, file_sha256(weights), training)
        record.write_text(json.dumps({"layers": info.layers, "frozen_layers": info.frozen_layers, "max_length": info.max_length,
                                      "sha256": info.sha256, "training": training}, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
        self.record = info
        return info

    def parameters(self) -> list[Any]:
        return [p for p in self.body.parameters() if p.requires_grad] + list(self.head.parameters())

    def logits(self, question: str, sentences: Sequence[str]) -> Any:
        """Differentiable logits of one question's sentences (training)."""
        batch = self.tokenizer([question] * len(sentences), list(sentences), truncation="only_second",
                               max_length=self.record.max_length, padding=True, return_tensors="pt")
        return pooled_logits(self.body, self.head, batch).float()

    def scores(self, question: str, sentences: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One logit per sentence: higher answers the question better."""
        import torch

        if not sentences:
            return np.zeros(0, dtype=np.float32)
        out = []
        with self._lock, torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for start in range(0, len(sentences), batch_size):
                out.append(self.logits(question, sentences[start:start + batch_size]).numpy())
        return np.concatenate(out).astype(np.float32)


def _bundled_parts(layers: int) -> tuple[Any, Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from lifqa.encoder import resolve_model_path

    path = resolve_model_path(None)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    body = AutoModel.from_pretrained(path, local_files_only=True)
    if not 1 <= layers <= len(body.encoder.layer):
        raise SettingsError(f"the relevance model needs 1 to {len(body.encoder.layer)} MiniLM layers, not {layers}")
    body.encoder.layer = body.encoder.layer[:layers]
    return tokenizer, body, torch.nn.Linear(body.config.hidden_size, 1)


def pooled_logits(body: Any, head: Any, batch: Any) -> Any:
    """The head over the mean of the token states (MiniLM was trained with mean pooling)."""
    states = body(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return head(pooled).squeeze(-1)


def trainable_names(body: Any, frozen_layers: int) -> list[str]:
    """The body's parameter names that fine-tuning changes: every layer from ``frozen_layers`` up."""
    keep = tuple(f"encoder.layer.{i}." for i in range(frozen_layers, len(body.encoder.layer)))
    return [name for name, _ in body.named_parameters() if name.startswith(keep)]


def heuristic_scores(features: np.ndarray) -> np.ndarray:
    """Today's heuristic sentence score (the selector's ``score`` feature), z-scored over the question's candidates:
    what the relevance model was trained on top of."""
    from lifqa.answer.selector import FEATURES

    score = features[:, FEATURES.index("score")].astype(np.float64)
    return (score - score.mean()) / (score.std() + 1e-9)


STACK_FEATURES = ("selector_logit", "relevance", "relevance_gap")


def stack_features(selector_probabilities: np.ndarray, relevance: np.ndarray, heuristic_weight: float,
                   heuristic: np.ndarray) -> np.ndarray:
    """What the combiner reads per sentence: the selector's logit, the relevance model's score on top of the heuristic
    (as trained), and how far that score is below the question's best."""
    p = np.clip(selector_probabilities.astype(np.float64), 1e-6, 1 - 1e-6)
    combined = relevance.astype(np.float64) + heuristic_weight * heuristic
    return np.column_stack([np.log(p / (1 - p)), combined, combined - combined.max()]).astype(np.float32)


def combined_probabilities(combiner: dict[str, Any], selector_probabilities: np.ndarray, relevance: np.ndarray,
                           heuristic: np.ndarray) -> np.ndarray:
    x = stack_features(selector_probabilities, relevance, float(combiner["heuristic_weight"]), heuristic)
    logits = x @ np.asarray(combiner["coef"], dtype=np.float32) + float(combiner["intercept"])
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


_shared: dict[tuple[str, str], RelevanceModel] = {}
_shared_lock = threading.Lock()


def get_relevance_model(weights: Path | None = None, record: Path | None = None) -> RelevanceModel:
    key = (str(weights), str(record))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RelevanceModel.load(weights, record)
        return _shared[key]


def rated_by_relevance(question: str, candidates: Sequence[Any], features: np.ndarray, probabilities: np.ndarray,
                       selector: Any, settings: Any) -> tuple[np.ndarray, Any]:
    """The answer path's sentence probabilities with the relevance model (see ``Answerer.rate``): the shipped model
    combined with the selector under the keep rule chosen with it, or a user's own cross-encoder
    (``cross_encoder_path``) whose sigmoid is the probability, under the selector's keep rule."""
    from lifqa.answer.selector import SentenceSelector

    top = np.argsort(-probabilities, kind="stable")[: settings.answer_candidates]
    texts = [candidates[int(i)].text for i in top]
    rated = np.zeros(len(candidates), dtype=np.float32)
    if settings.cross_encoder_path:
        scores = get_local_cross_encoder(settings.cross_encoder_path).scores(question, texts)
        rated[top] = 1.0 / (1.0 + np.exp(-scores))
        return rated, selector
    model = get_relevance_model()
    training = model.record.training
    rated[top] = combined_probabilities(training["combiner"], probabilities[top], model.scores(question, texts),
                                        heuristic_scores(features)[top])
    return rated, SentenceSelector({**selector.params, **training["keep_rule"]})


class LocalCrossEncoder:
    """A sentence-transformers CrossEncoder folder of the user's (a larger model, or one on a GPU): one logit per pair."""

    def __init__(self, path: str) -> None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise SettingsError(f"cross_encoder_path '{path}' is not a folder; give a sentence-transformers CrossEncoder "
                                "model folder saved with model.save(FOLDER)")
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(str(folder), device=None, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to read the folder is the user's folder, named here
            raise SettingsError(f"cross_encoder_path '{path}' is not a loadable CrossEncoder folder ({type(exc).__name__}: "
                                f"{str(exc)[:200]})") from None
        self._lock = threading.Lock()

    def scores(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        import torch

        with self._lock:
            raw = self.model.predict([(question, s) for s in sentences], show_progress_bar=False,
                                     activation_fn=torch.nn.Identity(), convert_to_numpy=True)
        raw = np.asarray(raw, dtype=np.float32)
        return raw.reshape(len(sentences), -1)[:, -1]  # a two-label model: the 'relevant' column


def get_local_cross_encoder(path: str) -> LocalCrossEncoder:
    with _shared_lock:
        if path not in _local:
            _local[path] = LocalCrossEncoder(path)
        return _local[path]


_local: dict[str, LocalCrossEncoder] = {}
