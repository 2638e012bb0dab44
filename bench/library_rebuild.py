"""What the per-item library cache saves: reading a Zotero library cold, and again after one item changed.

    .venv/bin/python bench/library_rebuild.py                # 100 items, each with a generated 3-page PDF
    .venv/bin/python bench/library_rebuild.py --items 400

Builds a Zotero data folder with Zotero's own table definitions (tests/zotero_db.py) in a temporary folder, then
times, in one run: reading it without the item cache, with a cold cache, with a warm cache after one item's abstract
and version changed; and the whole `build_index` cold and after that change (embedding cache warm both times
it can be). The model is loaded before timing starts.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from common import run  # noqa: E402
from zotero_db import ZoteroFolder, make_pdf  # noqa: E402

from lifqa.encoder import get_encoder  # noqa: E402
from lifqa.index.build import build_index  # noqa: E402
from lifqa.sources import read_sources  # noqa: E402
from lifqa.settings import make_settings  # noqa: E402

WORDS = ("cytokine receptor signalling gp130 STAT3 JAK1 embryonic stem cell osteoclast liver regeneration implantation "
         "blastocyst neuron astrocyte inflammation cachexia muscle differentiation self-renewal pluripotency").split()


def make_library(root: Path, n_items: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    z = ZoteroFolder(root)
    for i in range(n_items):
        item = z.item("journalArticle", {"title": f"Paper {i} on " + " ".join(rng.sample(WORDS, 4)), "date": str(1990 + i % 30),
                                         "abstractNote": " ".join(rng.choices(WORDS, k=40))}, key=f"ITEM{i:04d}")
        z.creator(item, "author", "Ann", f"Author{i}")
        pages = ["\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(15)) for _ in range(3)]
        z.attach(item, f"paper{i}.pdf", make_pdf(pages), "application/pdf")
    z.close()


def change_one(root: Path, revision: int) -> None:
    con = sqlite3.connect(root / "zotero.sqlite")
    value = con.execute("INSERT INTO itemDataValues (value) VALUES (?)", (f"A revised abstract, revision {revision}.",)).lastrowid
    field = con.execute("SELECT fieldID FROM fields WHERE fieldName = 'abstractNote'").fetchone()[0]
    item = con.execute("SELECT itemID FROM items WHERE key = 'ITEM0000'").fetchone()[0]
    con.execute("UPDATE itemData SET valueID = ? WHERE itemID = ? AND fieldID = ?", (value, item, field))
    con.execute("UPDATE items SET version = version + 1 WHERE itemID = ?", (item,))
    con.commit()
    con.close()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    args = parser.parse_args()
    settings = make_settings()
    get_encoder(settings.model_path, settings.encode_batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        zotero, cache, index = Path(tmp) / "Zotero", Path(tmp) / "item-cache", Path(tmp) / "index"
        make_library(zotero, args.items)
        _, no_cache = timed(lambda: read_sources(zotero))
        cold, cold_s = timed(lambda: read_sources(zotero, cache_dir=cache))
        change_one(zotero, 1)
        _, no_cache_changed = timed(lambda: read_sources(zotero))
        warm, warm_s = timed(lambda: read_sources(zotero, cache_dir=cache))
        first, first_s = timed(lambda: build_index(zotero, index, settings))
        change_one(zotero, 2)
        again, again_s = timed(lambda: build_index(zotero, index, settings))
    print(f"{args.items} items, one 3-page PDF each")
    print(f"read, no item cache:                 {no_cache:7.2f} s")
    print(f"read, cold item cache:               {cold_s:7.2f} s  ({cold.library['items_read']} items read)")
    print(f"read after 1 item changed, no cache: {no_cache_changed:7.2f} s")
    print(f"read after 1 item changed, cache:    {warm_s:7.2f} s  ({warm.library['items_read']} read, {warm.library['items_reused']} reused)"
          f"  -> {no_cache_changed / warm_s:.1f}x faster")
    print(f"build_index cold:                    {first_s:7.2f} s")
    print(f"build_index after 1 item changed:    {again_s:7.2f} s  ({again.manifest['library']['items_read']} read; "
          f"{again.manifest['embedding_cache']['embedded']} texts embedded)")
    return 0


if __name__ == "__main__":
    run(main)
