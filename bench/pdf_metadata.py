"""PDF metadata as a citation needs it: title, author surnames, journal, year and the printed page, per file.

    nice -n 10 .venv/bin/python bench/pdf_metadata.py                        # the real articles in ../shared/corpora/real/pdf
    nice -n 10 .venv/bin/python bench/pdf_metadata.py --folder pdfs --gold gold.json

Each PDF is read bare (no library metadata beside it), as `lifqa index` reads a folder of PDFs.
The gold of the three real articles is written below, checked by hand against each article's first
page; ``--gold`` adds (or replaces) entries for other files, in the same shape:

    {"file.pdf": {"title": "...", "authors": ["Datta", "Ball"], "journal": ["Journal of ..."], "year": 2010,
                  "cited": {"2": "p. 9"}}}

``journal`` lists the accepted forms (the name the PDF prints may be abbreviated); ``cited`` maps a
physical page to what a citation of a passage on it must say. Reading speed (pages/s, one process, the
best of ``--repeat`` passes) is reported beside the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import run, save_result  # noqa: E402
from lifqa.errors import InputError  # noqa: E402
from lifqa.readers import read_path  # noqa: E402
from lifqa.references import family_name  # noqa: E402
from lifqa.types import page_text  # noqa: E402

SHARED = ROOT.parent / "shared"  # the shared data folder beside the repository
REAL = SHARED / "corpora" / "real" / "pdf"

GOLD: dict[str, dict[str, Any]] = {
    "datta2010_dvt_prophylaxis_trauma_bmc.pdf": {  # BMC; an excerpt: pages 1 and 9-11 of 11
        "title": "Complications related to deep venous thrombosis prophylaxis in trauma: a systematic review of the literature",
        "authors": ["Datta", "Ball", "Rudmik", "Hameed", "Kortbeek"],
        "journal": ["Journal of Trauma Management & Outcomes"], "year": 2010,
        "cited": {"1": "p. 1", "2": "p. 9", "3": "p. 10", "4": "p. 11"},
    },
    "sundstrom2014_life_events_dementia.pdf": {  # Cambridge University Press; pp. 147-154
        "title": "Stressful life events are not associated with the development of dementia",
        "authors": ["Sundström", "Rönnlund", "Adolfsson", "Nilsson"],
        "journal": ["International Psychogeriatrics"], "year": 2014,
        "cited": {"1": "p. 147", "3": "p. 149", "8": "p. 154"},
    },
    "webb2017_vespa_peerj.pdf": {  # PeerJ; printed "N/16", the physical page
        "title": "VESPA: Very large-scale Evolutionary and Selective Pressure Analyses",
        "authors": ["Webb", "Walsh", "O’Connell"],
        "journal": ["PeerJ Computer Science", "PeerJ Comput. Sci."], "year": 2017,
        "cited": {"1": "p. 1", "5": "p. 5", "16": "p. 16"},
    },
}


def _key(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def measure(path: Path, gold: dict[str, Any]) -> dict[str, Any]:
    """One PDF read bare, its fields against the gold."""
    docs, warnings = read_path(path, path.name, {})
    if not docs:
        return {"file": path.name, "error": "; ".join(warnings), "pages": 0}
    doc = docs[0]
    meta = doc.metadata
    families = [_key(family_name(a)) for a in meta.get("authors") or []]
    wanted = [_key(a) for a in gold.get("authors", [])]
    cited = {page: page_text(int(page), int(page), doc.page_labels[int(page) - 1] if int(page) <= len(doc.page_labels) else "")
             for page in gold.get("cited", {})}
    return {
        "file": path.name, "pages": len(doc.page_starts),
        "title": doc.title, "title_ok": _key(doc.title) == _key(gold.get("title", "")),
        "authors": list(meta.get("authors") or []), "surnames_found": sum(1 for a in wanted if a in families),
        "surnames": len(wanted), "first_author_ok": bool(wanted and families and families[0] == wanted[0]),
        "journal": meta.get("journal", ""), "journal_ok": _key(meta.get("journal", "")) in {_key(j) for j in gold.get("journal", [])},
        "year": meta.get("year"), "year_ok": meta.get("year") == gold.get("year"),
        "volume": meta.get("volume", ""), "issue": meta.get("issue", ""), "page_range": meta.get("page_range", ""), "doi": meta.get("doi", ""),
        "cited": cited, "cited_ok": sum(1 for page, text in cited.items() if text == gold["cited"][page]), "cited_checked": len(cited),
    }


def speed(files: list[Path], repeat: int) -> tuple[int, float]:
    """Pages and the best of ``repeat`` timed passes over the files (after one untimed pass: PDFium and imports warm)."""
    pages, best = 0, float("inf")
    for timed in range(repeat + 1):
        started, pages = time.perf_counter(), 0
        for path in files:
            docs, _ = read_path(path, path.name, {})
            pages += sum(len(d.page_starts) for d in docs)
        if timed:
            best = min(best, time.perf_counter() - started)
    return pages, best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=REAL, help="a folder of article PDFs (default: the real ones)")
    parser.add_argument("--gold", type=Path, help="a JSON file of expected fields per file name, added to the built-in ones")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes for pages/s (the best is kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pdf_metadata.json")
    args = parser.parse_args()
    if not args.folder.is_dir():
        raise InputError(f"no folder {args.folder}; pass --folder with article PDFs")
    gold = dict(GOLD)
    if args.gold:
        try:
            gold.update(json.loads(args.gold.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the gold file {args.gold}: {exc}") from None
    files = [p for p in sorted(args.folder.glob("*.pdf")) if p.name in gold]
    if not files:
        raise InputError(f"none of the PDFs in {args.folder} has gold fields; pass --gold")
    rows = [measure(path, gold[path.name]) for path in files]
    ok = [r for r in rows if "error" not in r]
    pages, seconds = speed(files, max(1, args.repeat))
    summary = {
        "files": len(rows), "read": len(ok),
        "titles_right": sum(r["title_ok"] for r in ok), "surnames_found": sum(r["surnames_found"] for r in ok),
        "surnames": sum(r["surnames"] for r in ok), "first_author_right": sum(r["first_author_ok"] for r in ok),
        "journal_right": sum(r["journal_ok"] for r in ok), "year_right": sum(r["year_ok"] for r in ok),
        "cited_pages_right": sum(r["cited_ok"] for r in ok), "cited_pages_checked": sum(r["cited_checked"] for r in ok),
        "pages": pages, "pages_per_s": round(pages / seconds, 1) if seconds else None, "timed_passes": max(1, args.repeat),
        "load_average": round(os.getloadavg()[0], 2),
    }
    save_result(args.out, {"summary": summary, "files": rows})
    print("\n| file | title | surnames | first author | journal | year | cited pages |\n|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['file']} | not read: {r['error']} | | | | | |")
            continue
        mark = lambda good: "right" if good else "WRONG"  # noqa: E731
        print(f"| {r['file']} | {mark(r['title_ok'])} | {r['surnames_found']}/{r['surnames']} | {mark(r['first_author_ok'])} | "
              f"{mark(r['journal_ok'])} ({r['journal']}) | {mark(r['year_ok'])} ({r['year']}) | {r['cited_ok']}/{r['cited_checked']} |")
    return 0


if __name__ == "__main__":
    run(main)
