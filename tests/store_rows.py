"""Read rows straight from a built index's store: how the build tests compare two builds table by table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lifqa.index import layout


def store_rows(build: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(build / layout.STORE)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
