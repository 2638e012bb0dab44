"""The relevance model: a cross-encoder fine-tuned here from the bundled MiniLM that reads a question with one
candidate sentence and scores how well the sentence answers it.

Only what differs from the bundled weights ships (``data/relevance.safetensors``: the fine-tuned top layers and the
head, fp16), beside a record (``data/relevance.json``: layers, input length, the file's sha256, how it was trained).
Loading checks the sha256 before reading a byte of the weights, never unpickles (safetensors) and never touches the
network: the lower layers come from the bundled MiniLM. Answering runs its exported graph on ONNX Runtime in fp32
(``GraphRelevanceModel``); training, and ``finetuned_runtime=torch``, the torch model (bf16 where the CPU has bf16
units, else fp32).
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lifqa.errors import SettingsError
from lifqa.finetuned import DeltaRecord, GraphModel, Kind, fresh_parts, load_parts, pooled_logits, save_parts

WEIGHTS = "relevance.safetensors"
RECORD = "relevance.json"
KIND = Kind("relevance model", "reinstall lifqa or run make cross-encoder",
            "Train one with make cross-encoder (lifqa train-cross-encoder), use answer_model=features, or give your own "
            "with cross_encoder_path=FOLDER", outputs=1, slug="relevance", pooled=True)


def bundled_paths() -> tuple[Path, Path]:
    data = Path(str(resources.files("lifqa") / "data"))
    return data / WEIGHTS, data / RECORD


class RelevanceModel:
    """Scores (question, sentence) pairs; thread-safe (one forward pass at a time, as with the encoder)."""

    def __init__(self, tokenizer: Any, body: Any, head: Any, record: DeltaRecord, bf16: bool | None = None) -> None:
        from lifqa.encoder import fast_bf16

        self.tokenizer, self.body, self.head, self.record = tokenizer, body, head, record
        self.bf16 = fast_bf16() if bf16 is None else bf16
        self._lock = threading.Lock()

    @classmethod
    def from_bundled(cls, layers: int, frozen_layers: int, max_length: int, seed: int) -> "RelevanceModel":
        """The starting point of training: MiniLM's first ``layers`` layers and a fresh head."""
        return cls(*fresh_parts(layers, frozen_layers, max_length, seed, KIND))

    @classmethod
    def load(cls, weights: Path | None = None, record: Path | None = None, bf16: bool | None = None) -> "RelevanceModel":
        """The shipped model (or another delta file and its record): sha256 checked before the weights are read."""
        default_weights, default_record = bundled_paths()
        return cls(*load_parts(weights or default_weights, record or default_record, KIND), bf16)

    def save(self, weights: Path, record: Path, training: dict[str, Any]) -> DeltaRecord:
        """Write the fine-tuned layers and the head in fp16 (safetensors) and the record with their sha256."""
        self.record = save_parts(self.body, self.head, self.record, weights, record, training)
        return self.record

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


class GraphRelevanceModel(GraphModel):
    """The shipped model as answering runs it: its graph on ONNX Runtime in fp32, opened on the first sentences
    scored."""

    kind = KIND

    @classmethod
    def default_paths(cls) -> tuple[Path, Path]:
        return bundled_paths()

    def scores(self, question: str, sentences: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One logit per sentence: higher answers the question better (``RelevanceModel.scores``)."""
        out = [self.run([(question, s) for s in sentences[start:start + batch_size]])[0]
               for start in range(0, len(sentences), batch_size)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


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


_shared: dict[tuple[str, str, str], GraphRelevanceModel | RelevanceModel] = {}
_shared_lock = threading.Lock()


def get_relevance_model(weights: Path | None = None, record: Path | None = None,
                        runtime: str = "onnx") -> GraphRelevanceModel | RelevanceModel:
    """One model per file and runtime per process: "onnx" (answering) or "torch" (training's own model)."""
    key = (str(weights), str(record), runtime)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = (GraphRelevanceModel.load(weights, record) if runtime == "onnx"
                            else RelevanceModel.load(weights, record))
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
    model = get_relevance_model(runtime=settings.finetuned_runtime)
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
