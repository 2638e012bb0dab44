"""PDF reading speed: pages/s and MB/s per file (one process) and for a folder (all cores).

    nice -n 10 .venv/bin/python bench/pdf_speed.py                              # real PDFs + generated ones
    nice -n 10 .venv/bin/python bench/pdf_speed.py --index indexes/eval/<key>   # + share of that index's build time

Folders: ../shared/corpora/real/pdf (3 real articles) and the COVID-QA journal PDFs that
bench/pdf_fidelity.py renders (bench/results/pdf_fidelity/pdfs; 20 are generated here if
that folder does not exist yet). The target is at least 50 pages/s for text PDFs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from common import run  # noqa: E402
from lifqa.readers import ReaderLimits, read_path  # noqa: E402

SHARED = ROOT.parent / "shared"
REAL = SHARED / "corpora" / "real" / "pdf"
GENERATED = ROOT / "bench" / "results" / "pdf_fidelity" / "pdfs"


def generated(folder: Path, count: int = 20) -> Path:
    if folder.is_dir() and any(folder.glob("*.pdf")):
        return folder
    from pdf_fidelity import render

    corpus = SHARED / "eval" / "covid-qa" / "corpus.jsonl"
    subset = folder.parent / "speed-subset.jsonl"
    subset.parent.mkdir(parents=True, exist_ok=True)
    subset.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(keepends=True)[:count]), encoding="utf-8")
    render(subset, folder)
    return folder


def per_file(folder: Path) -> dict[str, float]:
    """Each file read on its own in this process: pages, bytes and seconds summed."""
    pages = size = 0
    seconds = cpu = 0.0
    files = sorted(folder.glob("*.pdf"))
    for path in files:
        started, started_cpu = time.perf_counter(), time.process_time()
        docs, _ = read_path(path, path.name, {}, ReaderLimits())
        seconds += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        pages += sum(len(d.page_starts) for d in docs)
        size += path.stat().st_size
    return {"files": len(files), "pages": pages, "mb": round(size / 1e6, 2), "seconds": round(seconds, 3),
            "pages_per_s": round(pages / seconds, 1), "mb_per_s": round(size / 1e6 / seconds, 2),
            "cpu_seconds": round(cpu, 3), "pages_per_cpu_s": round(pages / cpu, 1), "load_average": round(os.getloadavg()[0], 1)}


def folder_read(folder: Path) -> dict[str, float]:
    """The whole folder through read_sources: parallel processes on every core, as `lifqa index` reads it."""
    from lifqa.sources import read_sources

    started = time.perf_counter()
    report = read_sources(folder)
    seconds = time.perf_counter() - started
    pages = sum(len(d.page_starts) for d in report.documents)
    size = sum(p.stat().st_size for p in folder.glob("*.pdf"))
    return {"cores": os.cpu_count(), "pages": pages, "seconds": round(seconds, 3), "pages_per_s": round(pages / seconds, 1),
            "mb_per_s": round(size / 1e6 / seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument("--generated", type=Path, default=GENERATED)
    parser.add_argument("--index", type=Path, help="an index built from --generated: report reading as a share of its build time")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pdf_speed.json")
    args = parser.parse_args()
    results = {}
    if args.real.is_dir():
        results["real"] = {"per_file": per_file(args.real), "folder": folder_read(args.real)}
    folder = generated(args.generated)
    results["generated"] = {"per_file": per_file(folder), "folder": folder_read(folder)}
    if args.index:
        from lifqa.index.layout import active_build, read_manifest

        manifest = read_manifest(active_build(args.index))
        build = float(manifest["build_seconds"])
        results["generated"]["build_seconds"] = build
        results["generated"]["read_share_of_build"] = round(results["generated"]["folder"]["seconds"] / build, 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    for name, result in results.items():
        one, many = result["per_file"], result["folder"]
        print(f"{name}: {one['files']} files, {one['pages']} pages, {one['mb']} MB — one process {one['pages_per_s']} pages/s, "
              f"{one['mb_per_s']} MB/s ({one['pages_per_cpu_s']} pages per CPU second; load average {one['load_average']}); folder on {many['cores']} cores {many['pages_per_s']} pages/s, {many['mb_per_s']} MB/s"
              + (f"; reading is {result['read_share_of_build']:.1%} of the {result['build_seconds']:.0f} s build" if "build_seconds" in result else ""))
    return 0


if __name__ == "__main__":
    run(main)
