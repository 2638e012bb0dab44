"""Extraction fidelity on text nobody wrote for the test: COVID-QA rendered as journal PDFs.

    nice -n 10 .venv/bin/python bench/pdf_fidelity.py            # render, index, evaluate both, check pages

Renders each of the 124 COVID-QA articles (corpus.jsonl) into a journal-like PDF
(tests/pdf_factory.py: two justified columns, words hyphenated at line ends,
running header with the journal name, page numbers, bold headings, a full-width
title), indexes the PDF folder, and runs `lifqa eval` on COVID-QA dev against
both the PDF index and the corpus.jsonl index, side by side. Then every gold
answer span is looked for in the PDF documents: found at all, on the page the
renderer printed it on, and inside a passage whose pages include that page.
Results: bench/results/pdf_fidelity/summary.json and table.md.
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
from lifqa.eval_metrics import METRICS  # noqa: E402
from lifqa.eval_report import format_metric  # noqa: E402
from lifqa.evaluate import parse_overrides, run_eval  # noqa: E402
from lifqa.settings import MODES  # noqa: E402

DATA = Path(os.environ.get("LIFQA_EVAL_DATA", ROOT.parent / "shared" / "eval"))
JOURNAL = "COVID-QA Journal of Rendered Articles"
SHOWN = ("ndcg@10", "recall@5", "recall@100", "mrr@10", "answer_recall@k", "citation_precision")


def render(corpus: Path, out: Path) -> dict[str, list]:
    """One PDF per article, named by its id; returns where each text block went (offset, placed pages)."""
    from pdf_factory import JournalPdf

    placements_file = out / "placements.json"
    if placements_file.is_file():
        return json.loads(placements_file.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    placements: dict[str, list] = {}
    rows = [json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip()]
    for number, row in enumerate(rows, 1):
        text = (row.get("title") + "\n\n" if row.get("title") else "") + row["text"]
        lines = text.split("\n")
        title = lines[0].strip()
        pdf = JournalPdf(out / f"{row['_id']}.pdf", journal=JOURNAL, title=title)
        pdf.title(title, size=15)
        blocks = []
        offset = len(lines[0]) + 1
        for line in lines[1:]:
            stripped = line.strip()
            if stripped:
                start = offset + line.index(stripped)
                heading = len(stripped) < 70 and not stripped.endswith((".", ":", ";", ",")) and len(stripped.split()) <= 9
                placed = pdf.heading(stripped) if heading else pdf.paragraph(stripped)
                blocks.append([start, placed.text, placed.pages])
            offset += len(line) + 1
        pdf.save()
        placements[row["_id"]] = [[start, len(text_), pages] for start, text_, pages in blocks]
        if number % 20 == 0:
            print(f"  rendered {number}/{len(rows)}", file=sys.stderr, flush=True)
    placements_file.write_text(json.dumps(placements), encoding="utf-8")
    return placements


def _key(text: str) -> tuple[str, list[int]]:
    """Letters and digits only, lower case, with the text offset of each (as the page view matches)."""
    from lifqa.readers.build import clean_inline

    chars, index = [], []
    for i, ch in enumerate(text):
        for c in clean_inline(ch).lower() if not ch.isascii() else ch.lower():
            if c.isalnum():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


def page_check(corpus: Path, pdf_dir: Path, placements: dict[str, list], gold: Path, split: str) -> dict[str, float]:
    """Every dev answer span: found in the PDF document's text, on the printed page, in a passage with the right pages."""
    from lifqa.chunking import chunk_document
    from lifqa.sources import read_sources
    from lifqa.settings import make_settings

    settings = make_settings()
    sources = {json.loads(line)["_id"]: json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip()}
    docs = {d.doc_id: d for d in read_sources(pdf_dir).documents}
    keys = {doc_id: _key(doc.text) for doc_id, doc in docs.items()}
    chunks = {doc_id: chunk_document(doc, settings.chunk_size, settings.chunk_overlap) for doc_id, doc in docs.items()}
    total = found = page_right = chunk_right = 0
    misses = []
    for line in gold.open(encoding="utf-8"):
        item = json.loads(line)
        if item.get("split") != split:
            continue
        for doc_id in item["relevant_doc_ids"]:
            row = sources[doc_id]
            text = (row.get("title") + "\n\n" if row.get("title") else "") + row["text"]
            for answer in item.get("answers", []):
                at = text.find(answer)
                if at == -1:
                    continue
                total += 1
                before = [b for b in placements[doc_id] if b[0] <= at]
                expected = 1  # the title, printed at the top of page 1
                if before:
                    block = max(before, key=lambda b: b[0])
                    expected = block[2][0][1]
                    for start, page in block[2]:
                        if start <= at - block[0]:
                            expected = page
                key, index = keys[doc_id]
                answer_key, _ = _key(answer)
                hit = key.find(answer_key)
                if hit == -1 or not answer_key:
                    misses.append({"id": item["id"], "doc": doc_id, "answer": answer[:80]})
                    continue
                found += 1
                offset = index[hit]
                doc = docs[doc_id]
                page_right += doc.page_at(offset) == expected
                end = index[hit + len(answer_key) - 1]
                chunk_right += any(c.char_start <= offset and end < c.char_end and c.page_start <= expected <= c.page_end
                                   for c in chunks[doc_id])
    return {"answer_spans": total, "found": found, "found_share": round(found / max(total, 1), 4),
            "on_printed_page": round(page_right / max(found, 1), 4), "in_passage_with_right_pages": round(chunk_right / max(found, 1), 4),
            "misses": misses[:20]}


def word_fidelity(corpus: Path, pdf_dir: Path) -> dict[str, float]:
    """Words (\\w+ tokens) of each article missing from, or added to, what the PDF reader returns."""
    import collections
    import re

    from lifqa.sources import read_sources

    docs = {d.doc_id: d for d in read_sources(pdf_dir).documents}
    words = missing = extra = 0
    for line in corpus.open(encoding="utf-8"):
        if not line.strip():
            continue
        row = json.loads(line)
        source = collections.Counter(re.findall(r"\w+", row["text"]))
        read = collections.Counter(re.findall(r"\w+", docs[row["_id"]].text))
        words += sum(source.values())
        missing += sum((source - read).values())
        extra += sum((read - source).values())
    return {"words": words, "missing_share": round(missing / words, 5), "extra_share": round(extra / words, 5)}


def share_embeddings(source: Path, target: Path, overrides: dict, cache_root: str) -> None:
    """Give the PDF index the embedding cache of the corpus.jsonl index: text the reader reproduced
    exactly is then not embedded twice (a consistent SQLite snapshot, never a file copy)."""
    import sqlite3

    from lifqa.eval_cache import cache_dir
    from lifqa.settings import make_settings

    settings = make_settings(**overrides)
    src_dir, dst_dir = cache_dir(source, settings, cache_root) / "embeddings", cache_dir(target, settings, cache_root) / "embeddings"
    dst_dir.mkdir(parents=True, exist_ok=True)
    for file in src_dir.glob("*.sqlite"):
        src, dst = sqlite3.connect(f"file:{file}?mode=ro", uri=True), sqlite3.connect(dst_dir / file.name)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pdf_fidelity")
    parser.add_argument("--cache", default=str(ROOT / "indexes" / "eval"))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--check-only", action="store_true", help="only the word and page checks (no indexing, no eval)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="setting override for both runs, e.g. sentence_vectors=false (halves the embedding work)")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    corpus, gold = args.data / "covid-qa" / "corpus.jsonl", args.data / "covid-qa" / "gold.jsonl"
    if not corpus.is_file() or not gold.is_file():
        parser.error(f"COVID-QA not found in {args.data}/covid-qa; give --data DIR or set LIFQA_EVAL_DATA")
    pdf_dir = args.out / "pdfs"
    started = time.perf_counter()
    placements = render(corpus, pdf_dir)
    render_seconds = time.perf_counter() - started
    pages = sum(max((p for b in blocks for _, p in b[2]), default=0) for blocks in placements.values())
    if args.check_only:
        checks, words = page_check(corpus, pdf_dir, placements, gold, args.split), word_fidelity(corpus, pdf_dir)
        (args.out / "checks.json").write_text(json.dumps({"pages": pages, "pages_check": checks, "words": words}, indent=2), encoding="utf-8")
        print(json.dumps({"pages": pages, "pages_check": {k: v for k, v in checks.items() if k != "misses"}, "words": words}))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    results = {}
    for name, source in (("corpus.jsonl", corpus), ("PDF", pdf_dir)):
        if name == "PDF":
            share_embeddings(corpus, pdf_dir, overrides, args.cache)
        started = time.perf_counter()
        result = run_eval(gold=gold, corpus=source, split=args.split, modes=modes, cache_root=args.cache, overrides=overrides,
                          build_progress=lambda stage, fraction, name=name: print(f"  [{name}] {stage}", file=sys.stderr, flush=True))
        print(f"{name}: {result.info['n_questions']} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results[name] = result
    (args.out / "metrics.json").write_text(json.dumps({name: {mode: r.modes[mode] for mode in modes} for name, r in results.items()},
                                                      indent=2, default=str), encoding="utf-8")
    checks = page_check(corpus, pdf_dir, placements, gold, args.split)
    words = word_fidelity(corpus, pdf_dir)
    lines = [f"**COVID-QA {args.split}: corpus.jsonl vs the same articles rendered as {len(placements)} journal PDFs ({pages} pages)**"
             + (f" — settings {json.dumps(overrides)}" if overrides else ""), "",
             "| metric | " + " | ".join(f"{mode} jsonl | {mode} PDF | Δ" for mode in modes) + " |",
             "|---|" + "---:|---:|---:|" * len(modes)]
    for metric in (m for m in METRICS if m in SHOWN):
        cells = []
        for mode in modes:
            a, b = results["corpus.jsonl"].modes[mode].get(metric), results["PDF"].modes[mode].get(metric)
            delta = f"{b - a:+.3f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else ""
            cells += [format_metric(a, metric), format_metric(b, metric), delta]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", f"Answer spans of the {args.split} questions: {checks['answer_spans']}; found in the PDF text "
              f"{checks['found_share']:.1%}; on the page they were printed on {checks['on_printed_page']:.1%}; "
              f"inside a passage whose pages include that page {checks['in_passage_with_right_pages']:.1%}.",
              f"Words of the {len(placements)} articles (\\w+ tokens, {words['words']:,}): missing from the PDF text "
              f"{words['missing_share']:.2%}, added {words['extra_share']:.2%}."]
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text + "\n", encoding="utf-8")
    summary = {"settings": overrides, "pages": pages, "pdfs": len(placements), "render_seconds": round(render_seconds, 1), "pages_check": checks, "words": words,
               "metrics": {name: {mode: r.modes[mode] for mode in modes} for name, r in results.items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    run(main)
