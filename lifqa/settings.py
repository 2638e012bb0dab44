"""One validated settings model for indexing and querying.

Index-shaping settings (model, chunking, BM25 parameters) are recorded in the
index manifest; an index built with different ones is refused. Query-time
settings can change on every call.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from lifqa.errors import InputError, SettingsError


class Mode(str, Enum):
    """Retrieval modes; ``hybrid+rerank`` is the default chosen in BENCHMARKS.md."""

    BM25 = "bm25"
    DENSE = "dense"
    HYBRID = "hybrid"
    HYBRID_RERANK = "hybrid+rerank"


MODES = tuple(m.value for m in Mode)
FUSIONS = ("minmax", "zscore", "rrf")

# Settings that change what is written to the index; a mismatch means rebuild.
INDEX_SETTINGS = (
    "model_id",
    "chunk_size",
    "chunk_overlap",
    "bm25_k1",
    "bm25_b",
    "bm25_method",
    "stemming",
    "ann_threshold",
    "hnsw_m",
    "sentence_vectors",
    "ann_index",
    "ivf_nlist",
    "pq_m",
    "encoder",
    "sentence_pooling",
    "chunk_vectors",
)


class Settings(BaseModel):
    """Every tunable of lifqa, with ranges; unknown names are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # embedding model
    model_path: str | None = Field(None, description="Folder of a sentence-transformers model; default: the bundled all-MiniLM-L6-v2.")
    model_id: str = Field("all-MiniLM-L6-v2", description="Name recorded in the manifest; an index is refused if it differs.")
    encode_batch_size: int = Field(64, ge=1, le=4096)
    encoder: Literal["auto", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8"] = Field(
        "auto", description="Encoder backend and precision; auto: torch bf16 where the CPU has bf16 instructions, else "
                            "ONNX Runtime fp32 (torch fp32's vectors, faster; BENCHMARKS.md).")
    query_encoder: Literal["auto", "build"] = Field(
        "auto", description="How questions are encoded. auto: with ONNX Runtime fp32 when the index was built in fp32 "
                            "or bf16 (torch fp32's vectors; an engine opens in about a second, loading neither torch "
                            "nor transformers), with int8 when it was built in int8; build: with the variant that "
                            "built the index. Without ONNX Runtime, auto is build.")
    encode_workers: int | Literal["auto"] = Field(
        "auto", description="Processes that embed a build's texts, each with a one-thread encoder of the same variant; "
                            "1: the build process alone. auto: one per usable core when a stage has at least 10,000 texts "
                            "to embed, else 1; never for an onnx variant, whose own threads embed sentences faster "
                            "(BENCHMARKS.md). Not index-shaping: the vectors are the same.")

    # chunking (characters)
    chunk_size: int = Field(700, ge=100, le=20000, description="Target chunk length in characters; sentences are never cut.")
    chunk_overlap: int = Field(150, ge=0, le=5000, description="Characters of trailing sentences repeated at the start of the next chunk.")

    # sparse retrieval
    bm25_k1: float = Field(1.2, ge=0.0, le=5.0)
    bm25_b: float = Field(0.75, ge=0.0, le=1.0)
    bm25_method: Literal["lucene", "robertson", "atire"] = "lucene"
    stemming: bool = True

    # dense index: exact below the threshold, approximate (ann_index) from it
    ann_threshold: int = Field(100_000, ge=1, description="Chunk count from which an approximate FAISS index (ann_index) replaces exact IndexFlatIP.")
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_search: int = Field(128, ge=8, le=4096)
    ann_index: Literal["ivfpq", "hnsw"] = Field(
        "ivfpq", description="Approximate index from ann_threshold chunks: IVF-PQ (48 bytes a vector in RAM) or HNSW (every float "
                             "in RAM plus its graph: over 1.5 GB at 1 M passages). BENCHMARKS.md, 'Serving a million passages'.")
    ivf_nlist: int = Field(0, ge=0, le=1_000_000, description="IVF-PQ inverted lists; 0: about 2 sqrt(chunks) (2,000 at 1 M).")
    pq_m: int = Field(48, ge=1, le=384, description="IVF-PQ sub-quantisers (bytes per vector); must divide the embedding dimension (384: 8, 12, 16, 24, 32, 48, 64, 96).")
    ivf_nprobe: int = Field(256, ge=1, le=65_536, description="IVF lists searched per query (query time).")
    ann_rescore: int = Field(16, ge=1, le=64, description="An approximate index proposes ann_rescore x k candidates, re-scored exactly "
                                                         "with the stored vectors (query time).")
    sentence_vectors: bool = Field(True, description="Store one vector per sentence for reranking and answer extraction.")
    sentence_pooling: Literal["encode", "chunk"] = Field(
        "encode", description="encode: every sentence is encoded on its own. chunk: pooled from its chunk's token states, "
                              "chunks then encoded in a pass of their own (slower than the default now that chunk vectors "
                              "are composed from sentence vectors; the shipped models were trained on encode, BENCHMARKS.md).")
    chunk_vectors: Literal["auto", "sentences", "encode"] = Field(
        "auto", description="sentences: each chunk's retrieval vector is composed from its sentences' vectors and its "
                            "title/section line's (no pass over the chunk: a build encodes half the text, and retrieves as "
                            "well or better on the train splits, BENCHMARKS.md). encode: each chunk is encoded in a pass of "
                            "its own. auto: sentences when sentence vectors are encoded alone, else encode.")

    # reading untrusted files (not index-shaping for queries; part of the build key)
    pdf_max_pages: int = Field(2000, ge=1, le=100_000, description="Pages read from one PDF; the rest is skipped with a warning.")
    pdf_max_seconds: float = Field(120.0, gt=0, le=86_400, description="Seconds spent reading one PDF; the rest is skipped with a warning.")

    # query time
    mode: Mode = Mode.HYBRID_RERANK
    k: int = Field(5, ge=1, le=100, description="Passages returned.")
    candidate_k: int = Field(100, ge=1, le=2000, description="Candidates taken from each retriever before fusion.")
    fusion: Literal["minmax", "zscore", "rrf"] = "minmax"
    fusion_alpha: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the dense run in normalised fusion.")
    rrf_k: int = Field(60, ge=1, le=1000)
    rerank_depth: int = Field(30, ge=1, le=500, description="Fused candidates the reranker rescores.")
    max_per_doc: int = Field(2, ge=0, le=100, description="Most passages one document may take in the top k (0: no limit); 2 keeps at least 3 sources in 5 passages (BENCHMARKS.md).")
    reranker: Literal["features", "cross-encoder"] = "features"
    cross_encoder_path: str | None = None
    reliability_weighting: bool = Field(False, description="Down-weight low-tier sources in the final ranking.")
    passage_diversity: Literal["adaptive", "cap"] = Field(
        "adaptive", description="How max_per_doc applies: 'cap' always; 'adaptive' lets a document that dominates the evidence "
                                "take more passages (BENCHMARKS.md).")

    # answering
    answer_max_sentences: int = Field(3, ge=1, le=3)
    answer_depth: int = Field(20, ge=1, le=100, description="Passages whose sentences the trained selector may quote; an answer "
                                                           "passage beyond the top k replaces the last passage shown. 20 "
                                                           "chosen on the train splits (bench/selector_cv.py, BENCHMARKS.md).")
    answer_tier_lead: bool = Field(True, description="Among near-equal answer sentences, the one from the higher-tier source leads.")
    answer_model: Literal["relevance", "features"] = Field(
        "features", description="How answer sentences are rated: 'relevance', the cross-encoder fine-tuned here (or "
        "cross_encoder_path's) combined with the selector; 'features', the selector alone (the earlier path).")
    answer_candidates: int = Field(20, ge=1, le=500, description="Sentences per question the relevance model reads "
                                   "(the selector's best; chosen on train under the latency budget, BENCHMARKS.md).")
    answer_selector: Literal["trained", "heuristic"] = Field(
        "trained", description="How answer sentences are chosen: the trained sentence model (lifqa/data/selector.json) or the "
                               "earlier cosine + term-coverage heuristic, kept for side-by-side comparison.")
    short_answer: bool = Field(True, description="Mark the short answer (\"3976\") inside one answer sentence: the value of a "
                               "labelled row the question names, or the span reader's (lifqa/data/span_reader.*) when it and "
                               "the selector are both confident enough (gates chosen on held train questions: 16 of the 17 "
                               "shown on COVID-QA dev overlap the gold answer; BENCHMARKS.md, \"Short answers\").")
    short_answer_threshold: float | None = Field(None, ge=0.0, le=1.0, description="Span probability a short answer "
                                                 "needs to be shown; default: the one chosen on train, shipped with the reader.")
    short_answer_confidence: float | None = Field(None, ge=0.0, le=1.0, description="The selector's probability that the "
                                                  "sentence holding a short answer answers the question, needed for it to be "
                                                  "shown; default: the one chosen on train with the threshold, shipped with "
                                                  "the reader.")
    finetuned_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="How the models fine-tuned here (the span reader, the relevance model) run: 'onnx', their "
        "graphs on ONNX Runtime in fp32 (exported once into the model cache; a question never loads torch); 'torch', the "
        "models training fine-tunes (bf16 where the CPU has bf16 units), for side-by-side comparison.")
    abstain_threshold: float | None = Field(None, ge=0.0, le=1.0, description="Minimum support score to answer; default: the index's own calibration (lifqa calibrate), else the value shipped with the reranker.")
    use_calibration: bool = Field(True, description="Use the abstention threshold stored with the index by 'lifqa calibrate' (when abstain_threshold is not set).")
    max_question_chars: int = Field(2000, ge=10, le=100_000)

    @field_validator("encode_workers", mode="before")
    @classmethod
    def _workers_auto_or_count(cls, value: Any) -> Any:
        """One error naming both kinds of valid value (the union type alone reports one error per member)."""
        if value == "auto":
            return value
        try:
            count = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            count = None
        if count is None or not 1 <= count <= 256:
            raise PydanticCustomError("encode_workers", "use 'auto' or a number of processes from 1 to 256")
        return count

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Settings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    @model_validator(mode="after")
    def _composable_chunk_vectors(self) -> "Settings":
        if self.chunk_vectors == "sentences" and not (self.sentence_vectors and self.sentence_pooling == "encode"):
            raise ValueError(
                "chunk_vectors=sentences composes each chunk's vector from its sentences' own vectors, so it needs "
                "sentence_vectors=true and sentence_pooling=encode; otherwise use chunk_vectors=encode or auto"
            )
        return self

    def composes_chunk_vectors(self) -> bool:
        """Whether a build composes chunk vectors from sentence vectors (``chunk_vectors``, with auto resolved)."""
        return self.chunk_vectors == "sentences" or (
            self.chunk_vectors == "auto" and self.sentence_vectors and self.sentence_pooling == "encode")

    def index_fingerprint(self) -> dict[str, Any]:
        """The settings that shape an index, as stored in its manifest."""
        return {name: getattr(self, name) for name in INDEX_SETTINGS}

    def replace(self, **changes: Any) -> "Settings":
        """A validated copy with some settings changed."""
        return make_settings(**{**self.model_dump(), **changes})


def make_settings(**values: Any) -> Settings:
    """Build Settings, turning pydantic's errors into one readable message."""
    values = {name: value for name, value in values.items() if value is not None or name in _NULLABLE}
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


_NULLABLE = {"model_path", "abstain_threshold", "cross_encoder_path", "short_answer_threshold", "short_answer_confidence"}


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "settings"
        given = err.get("input")
        field = Settings.model_fields.get(name)
        if not err["loc"]:  # a rule across settings (overlap < size): its message says it all
            lines.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            valid = ", ".join(sorted(Settings.model_fields))
            lines.append(f"unknown setting '{name}'. Valid settings: {valid}")
        elif err["type"] in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"} and field is not None:
            low, high = _bounds(field)
            lines.append(f"setting '{name}' = {given!r} is out of range: use a value from {low} to {high}")
        elif err["type"] in {"enum", "literal_error"}:
            lines.append(f"setting '{name}' = {given!r} is not valid: {err['msg'].replace('Input should be ', 'use ')}")
        else:
            lines.append(f"setting '{name}' = {given!r}: {err['msg']}")
    return "invalid settings: " + "; ".join(lines)


def _bounds(field: Any) -> tuple[Any, Any]:
    low = high = None
    for meta in field.metadata:
        low = getattr(meta, "ge", low) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", high) if getattr(meta, "le", None) is not None else high
    return low, high


def parse_mode(mode: str | Mode) -> Mode:
    """A query's retrieval mode, by name."""
    try:
        return Mode(mode)
    except ValueError:
        raise InputError(f"unknown mode '{mode}'. Valid modes: {', '.join(MODES)}") from None


def parse_k(k: Any) -> int:
    """A query's number of passages: a whole number from 1 to 100."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise InputError(f"k={k!r} is out of range: use a whole number from 1 to 100")
    return k
