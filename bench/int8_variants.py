"""Ways to quantise the encoder to int8 with ONNX Runtime, screened against onnx-fp32 on the same texts, in one run.

    LIFQA_EVAL_DATA=../shared/eval PYTHONPATH=. .venv/bin/python bench/int8_variants.py --chunks 96 --sentences 384

A screen, not the verdict: an int8 variant is only acceptable when retrieval and answers stay within 0.005 of fp32
in a side-by-side `lifqa eval` (BENCHMARKS.md, "The encoder"). This finds the candidates worth that run.

Variants (each a graph in a scratch folder, never the model cache):
- dynamic: weights int8 per channel, activations quantised on the fly (what ``encoder=onnx-int8`` ships today);
- dynamic, reduce_range: 7-bit weights, which avoid the int16 saturation of u8 x s8 products on CPUs without VNNI;
- dynamic, FFN outputs in fp32: the second matmul of each feed-forward block reads GELU outputs with outliers;
- static QDQ: weights per channel, activation ranges calibrated on texts that are not the measured ones (MinMax
  or percentile), with and without the FFN outputs kept in fp32.

Calibration texts are chunks and sentences from COVID-QA articles after the measured ones, so no text is both
calibrated on and measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run as run_main, save_result  # noqa: E402
from bench.encode import cosine, load_texts  # noqa: E402
from lifqa.encoder import Encoder, onnx_model  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader  # noqa: E402


def ffn_output_matmuls(path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(path)).graph
    return [node.name for node in graph.node if node.op_type == "MatMul" and "/output/dense/" in node.name
            and "attention" not in node.name]


class Calibration(CalibrationDataReader):
    """ONNX Runtime's calibration reader: batches of token ids padded to one width, with their attention mask."""

    def __init__(self, encoder: Encoder, texts: list[str], batch: int = 16) -> None:
        ids = [row.ids for row in encoder.tokenizer.encode(texts)]
        self.batches = []
        width = max(len(r) for r in ids)  # one width for all: the histogram calibrators stack batches
        for start in range(0, len(ids), batch):
            rows = ids[start:start + batch]
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for i, r in enumerate(rows):
                input_ids[i, :len(r)], mask[i, :len(r)] = r, 1
            self.batches.append({"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)})
        self._iter = iter(self.batches)

    def get_next(self):
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self.batches)


def build_variants(fp32: Path, folder: Path, calibration: Calibration) -> tuple[dict[str, Path], dict[str, float]]:
    """Each variant's graph in ``folder``, and the seconds it took to make."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ffn = ffn_output_matmuls(fp32)
    out: dict[str, Path] = {}
    made: dict[str, float] = {}

    def dynamic(name: str, **kwargs) -> None:
        clock = time.perf_counter()
        path = folder / f"{name}.onnx"
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True, **kwargs)
        out[name], made[name] = path, time.perf_counter() - clock

    dynamic("dynamic")
    dynamic("dynamic, reduce_range", reduce_range=True)
    dynamic("dynamic, FFN outputs fp32", nodes_to_exclude=ffn)
    prepared = folder / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)

    def static(name: str, method, **kwargs) -> None:
        clock = time.perf_counter()
        calibration.rewind()
        path = folder / f"{name}.onnx"
        quantize_static(str(prepared), str(path), calibration, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                        op_types_to_quantize=["MatMul"], **kwargs)
        out[name], made[name] = path, time.perf_counter() - clock

    static("static MinMax", CalibrationMethod.MinMax)
    static("static percentile", CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.99})
    static("static percentile, FFN outputs fp32", CalibrationMethod.Percentile, nodes_to_exclude=ffn,
           extra_options={"CalibPercentile": 99.99})
    return out, made


def run(args: argparse.Namespace) -> dict:
    import onnxruntime as ort

    chunks, sentences, _, _ = load_texts(args.chunks, args.sentences)
    more_chunks, more_sentences, _, _ = load_texts(args.chunks + args.calibration, args.sentences + args.calibration)
    calibration_texts = more_chunks[args.chunks:] + more_sentences[args.sentences:]
    reference = Encoder(variant="onnx-fp32")
    threads = reference._threads
    fp32 = onnx_model(lambda: reference._transformer, reference.model_path, "fp32")
    kinds = {"chunks": chunks, "sentences": sentences}
    with tempfile.TemporaryDirectory(prefix="lifqa-int8-") as scratch:
        here = os.getcwd()
        os.chdir(scratch)  # ONNX Runtime's quantisation tools leave temporary files in the working folder
        try:
            paths, build_seconds = build_variants(fp32, Path(scratch), Calibration(reference, calibration_texts))
        finally:
            os.chdir(here)
        encoders = {"onnx-fp32": reference}
        for name, path in paths.items():
            enc = Encoder(variant="onnx-fp32")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = threads, 1, 3
            enc._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            encoders[name] = enc
        best: dict[tuple[str, str], float] = {}
        vectors: dict[tuple[str, str], np.ndarray] = {}
        for enc in encoders.values():
            enc.encode(chunks[:8])
        for round_ in range(args.rounds):
            for kind, texts in kinds.items():
                for name, enc in encoders.items():
                    clock = time.perf_counter()
                    vectors[(name, kind)] = enc.encode(texts)
                    seconds = time.perf_counter() - clock
                    best[(name, kind)] = min(best.get((name, kind), 1e9), seconds)
                    print(f"round {round_ + 1} {kind:9s} {name:40s} {len(texts) / seconds:8.1f} texts/s", file=sys.stderr,
                          flush=True)
        sizes = {name: os.path.getsize(path) for name, path in paths.items()}
    table = []
    for name in encoders:
        entry = {"variant": name, "quantise_seconds": round(build_seconds.get(name, 0.0), 1),
                 "mb": round(sizes.get(name, os.path.getsize(fp32)) / 1e6, 1)}
        for kind, texts in kinds.items():
            low, mean = cosine(vectors[(name, kind)], vectors[("onnx-fp32", kind)])
            entry[kind] = {"texts_per_s": round(len(texts) / best[(name, kind)], 1),
                           "x_fp32": round(best[("onnx-fp32", kind)] / best[(name, kind)], 2),
                           "cos_min": round(low, 5), "cos_mean": round(mean, 5)}
        table.append(entry)
        print(f"| {name} | {entry['chunks']['texts_per_s']} | {entry['chunks']['x_fp32']} | {entry['chunks']['cos_min']:.5f} "
              f"({entry['chunks']['cos_mean']:.5f}) | {entry['sentences']['texts_per_s']} | {entry['sentences']['x_fp32']} | "
              f"{entry['sentences']['cos_min']:.5f} ({entry['sentences']['cos_mean']:.5f}) |", file=sys.stderr)
    return {"machine": {"threads": threads, "load_avg": os.getloadavg()}, "rounds": args.rounds,
            "texts": {"chunks": len(chunks), "sentences": len(sentences), "calibration": len(calibration_texts)},
            "table": table}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--sentences", type=int, default=384)
    parser.add_argument("--calibration", type=int, default=128, help="chunks and as many sentences to calibrate on")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "int8_variants.json")
    args = parser.parse_args()
    save_result(args.out, run(args))
    return 0


if __name__ == "__main__":
    run_main(main)
