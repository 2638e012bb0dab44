"""Read a Zotero data folder (``zotero.sqlite`` + ``storage/``) strictly read-only.

The database is opened with ``mode=ro&immutable=1`` and ``PRAGMA query_only``:
SQLite neither writes nor locks it, so this works while Zotero runs (Zotero holds
its own lock) and leaves the file's bytes and mtime untouched. Changes Zotero has
not yet written into the file itself are not seen until it does.

Plain SQL joins in the shape of Zotero's ``userdata.sql``: items -> itemData ->
fields/itemDataValues, itemCreators -> creators -> creatorTypes, itemTags -> tags,
collectionItems -> collections, itemAttachments (``storage:`` paths inside
``storage/<attachment key>/``, linked files by absolute path). Schemas from
Zotero 4 to today's differ in a few columns and tables (``sourceItemID`` vs
``parentItemID``, ``mimeType`` vs ``contentType``, ``creatorData``, no
``retractedItems``...); each is looked up before it is used.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lifqa.errors import CorpusError
from lifqa.library.items import Attachment, LibraryItem

DB_NAME = "zotero.sqlite"
_SKIP_TYPES = ("note", "attachment", "annotation")
_FIELD_KEYS = {  # Zotero field -> Document.metadata key
    "title": "title", "abstractNote": "abstract", "date": "date", "DOI": "doi", "publicationTitle": "journal",
    "bookTitle": "journal", "proceedingsTitle": "journal", "websiteTitle": "journal", "encyclopediaTitle": "journal",
    "volume": "volume", "issue": "issue", "pages": "page_range", "publisher": "publisher", "university": "publisher",
    "institution": "publisher", "url": "url", "ISSN": "issn", "ISBN": "isbn", "language": "language",
    "journalAbbreviation": "journal_abbreviation", "citationKey": "citation_key", "repository": "publisher",
}
_EXTRA = re.compile(r"^\s*(Citation Key|PMID|PMCID|DOI|tex\.ids)\s*:\s*(\S.*?)\s*$", re.I | re.M)
_LINKED_FILE = 2  # Zotero.Attachments.LINK_MODE_LINKED_FILE
_LINKED_URL = 3
# Limits for an untrusted database file: no value or SQL statement beyond these.
_SQLITE_LIMITS = ((getattr(sqlite3, "SQLITE_LIMIT_LENGTH", 0), 256 * 1024 * 1024),
                  (getattr(sqlite3, "SQLITE_LIMIT_SQL_LENGTH", 1), 1_000_000))


def is_zotero_folder(path: Path) -> bool:
    return path.is_dir() and (path / DB_NAME).is_file()


def open_readonly(db: Path) -> sqlite3.Connection:
    """The database, read-only and immutable: never written, never locked."""
    try:
        head = db.open("rb").read(16)
    except OSError as exc:
        raise CorpusError(f"cannot read the Zotero database {db}: {exc.strerror}") from None
    if head != b"SQLite format 3\x00":
        raise CorpusError(f"{db} is not an SQLite database; point --corpus at a Zotero data folder (the one holding zotero.sqlite and storage/)")
    uri = f"file:{quote(str(db.resolve()))}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True)
    for limit, value in _SQLITE_LIMITS:
        try:
            con.setlimit(limit, value)
        except (AttributeError, sqlite3.ProgrammingError):
            pass
    con.execute("PRAGMA query_only = ON")
    con.execute("PRAGMA trusted_schema = OFF")
    return con


def read_zotero(folder: Path) -> tuple[list[LibraryItem], list[str]]:
    """Every regular item of every library in the folder (items in the trash left out)."""
    db = folder / DB_NAME
    con = open_readonly(db)
    try:
        items, warnings = _read(con, folder)
    except sqlite3.DatabaseError as exc:
        raise CorpusError(f"cannot read the Zotero database {db}: {exc}. Is it a Zotero data folder? "
                          "If Zotero was writing it, close Zotero and run the command again.") from None
    finally:
        con.close()
    keys = _better_bibtex_keys(folder, warnings)
    return [_with_key(item, keys.get(item.key)) for item in items], warnings


BBT_DB = "better-bibtex.sqlite"


def _better_bibtex_keys(folder: Path, warnings: list[str]) -> dict[str, str]:
    """Citation keys Better BibTeX keeps in its own database (read-only too), by Zotero item key."""
    path = folder / BBT_DB
    if not path.is_file():
        return {}
    try:
        con = open_readonly(path)
        try:
            if "citationkey" not in _tables(con) or not {"itemKey", "citationKey"} <= _columns(con, "citationkey"):
                return {}
            return {str(k): str(v) for k, v in con.execute("SELECT itemKey, citationKey FROM citationkey") if k and v}
        finally:
            con.close()
    except (sqlite3.DatabaseError, CorpusError) as exc:
        warnings.append(f"{path}: Better BibTeX's citation keys cannot be read ({exc}); keys in Zotero's own fields are used")
        return {}


def _with_key(item: LibraryItem, key: str | None) -> LibraryItem:
    if not key or item.metadata.get("citation_key"):
        return item
    return replace(item, metadata={**item.metadata, "citation_key": key})


def _tables(con: sqlite3.Connection) -> set[str]:
    return {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")}


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}  # table names are ours, not input


def _read(con: sqlite3.Connection, folder: Path) -> tuple[list[LibraryItem], list[str]]:
    tables = _tables(con)
    missing = {"items", "itemTypes", "itemData", "itemDataValues"} - tables
    if missing or not ({"fields", "fieldsCombined"} & tables):
        raise CorpusError(f"{folder / DB_NAME} has no Zotero tables ({', '.join(sorted(missing)) or 'fields'} missing); "
                          "point --corpus at a Zotero data folder")
    item_cols = _columns(con, "items")
    fields_table = "fieldsCombined" if "fieldsCombined" in tables else "fields"
    types_table = "itemTypesCombined" if "itemTypesCombined" in tables else "itemTypes"
    version_col = "i.version" if "version" in item_cols else "0"
    deleted = "AND i.itemID NOT IN (SELECT itemID FROM deletedItems)" if "deletedItems" in tables else ""
    skip = ",".join("?" * len(_SKIP_TYPES))
    items: dict[int, dict[str, Any]] = {}
    for item_id, key, type_name, version, modified in con.execute(
            f"SELECT i.itemID, i.key, t.typeName, {version_col}, i.dateModified FROM items i "
            f"JOIN {types_table} t ON t.itemTypeID = i.itemTypeID WHERE t.typeName NOT IN ({skip}) {deleted} "
            f"ORDER BY i.itemID", _SKIP_TYPES):
        items[item_id] = {"key": str(key), "item_type": type_name, "version": f"{version}|{modified}", "fields": {}}
    if not items:
        return [], []
    for item_id, name, value in con.execute(
            f"SELECT d.itemID, f.fieldName, v.value FROM itemData d JOIN {fields_table} f ON f.fieldID = d.fieldID "
            "JOIN itemDataValues v ON v.valueID = d.valueID"):
        if item_id in items and value is not None:
            items[item_id]["fields"][name] = str(value)
    creators = _creators(con, tables)
    tags = _by_item(con, "SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID ORDER BY t.name"
                    if {"itemTags", "tags"} <= tables else None)
    collections = _collections(con, tables)
    retracted = {row[0] for row in con.execute("SELECT itemID FROM retractedItems")} if "retractedItems" in tables else set()
    attachments, warnings = _attachments(con, tables, folder, items)
    out = []
    for item_id, item in items.items():
        fields = item["fields"]
        meta: dict[str, Any] = {"item_type": item["item_type"], "zotero_key": item["key"]}
        for name, value in fields.items():
            target = _FIELD_KEYS.get(name)
            if target and value.strip() and target not in meta:
                meta[target] = value.strip()
        if "date" in meta:
            meta["date"] = _zotero_date(meta["date"])
        meta.update(_from_extra(fields.get("extra", ""), meta))
        people = creators.get(item_id, [])
        meta["authors"] = [name for role, name in people if role in ("author", "inventor", "programmer", "artist", "director", "presenter")] \
            or [name for role, name in people if role not in ("editor", "seriesEditor", "translator", "contributor", "reviewedAuthor")]
        meta["editors"] = [name for role, name in people if role == "editor"]
        meta["tags"] = tags.get(item_id, [])
        meta["collections"] = collections.get(item_id, [])
        if item_id in retracted:
            meta["retracted"] = True
        out.append(LibraryItem(key=item["key"], title=fields.get("title") or fields.get("caseName") or fields.get("nameOfAct") or "",
                               metadata=meta, attachments=tuple(attachments.get(item_id, ())), version=item["version"],
                               where=f"{DB_NAME} item {item['key']}"))
    return out, warnings


def _by_item(con: sqlite3.Connection, sql: str | None) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if sql:
        for item_id, value in con.execute(sql):
            if value is not None and str(value) not in out.setdefault(item_id, []):
                out[item_id].append(str(value))
    return out


def _creators(con: sqlite3.Connection, tables: set[str]) -> dict[int, list[tuple[str, str]]]:
    if not {"itemCreators", "creators"} <= tables:
        return {}
    if "creatorData" in tables:  # Zotero 4: names in creatorData
        names = "JOIN creatorData cd ON cd.creatorDataID = c.creatorDataID"
        first, last, mode = "cd.firstName", "cd.lastName", "cd.fieldMode"
    else:
        names, first, last, mode = "", "c.firstName", "c.lastName", "c.fieldMode"
    role = "ct.creatorType" if "creatorTypes" in tables else "'author'"
    role_join = "LEFT JOIN creatorTypes ct ON ct.creatorTypeID = ic.creatorTypeID" if "creatorTypes" in tables else ""
    out: dict[int, list[tuple[str, str]]] = {}
    for item_id, given, family, field_mode, kind in con.execute(
            f"SELECT ic.itemID, {first}, {last}, {mode}, {role} FROM itemCreators ic JOIN creators c ON c.creatorID = ic.creatorID "
            f"{names} {role_join} ORDER BY ic.itemID, ic.orderIndex"):
        family, given = (family or "").strip(), (given or "").strip()
        name = family if field_mode == 1 or not given else f"{family}, {given}"
        if name:
            out.setdefault(item_id, []).append((kind or "author", name))
    return out


def _collections(con: sqlite3.Connection, tables: set[str]) -> dict[int, list[str]]:
    """Each item's collections as paths "Parent/Child" (a filter on "Parent" also finds items of "Child")."""
    if not {"collections", "collectionItems"} <= tables:
        return {}
    deleted = "WHERE collectionID NOT IN (SELECT collectionID FROM deletedCollections)" if "deletedCollections" in tables else ""
    rows = {cid: (name, parent) for cid, name, parent in
            con.execute(f"SELECT collectionID, collectionName, parentCollectionID FROM collections {deleted}")}

    def path(cid: int) -> str:
        parts, seen = [], set()
        while cid in rows and cid not in seen:  # a cycle in a damaged database stops here
            seen.add(cid)
            name, parent = rows[cid]
            parts.append(str(name).replace("/", "∕"))
            cid = parent
        return "/".join(reversed(parts))

    out: dict[int, list[str]] = {}
    for cid, item_id in con.execute("SELECT collectionID, itemID FROM collectionItems"):
        if cid in rows:
            out.setdefault(item_id, []).append(path(cid))
    return {k: sorted(set(v)) for k, v in out.items()}


def _attachments(con: sqlite3.Connection, tables: set[str], folder: Path,
                 items: dict[int, dict[str, Any]]) -> tuple[dict[int, list[Attachment]], list[str]]:
    if "itemAttachments" not in tables:
        return {}, []
    cols = _columns(con, "itemAttachments")
    parent = "parentItemID" if "parentItemID" in cols else "sourceItemID"
    mime = "contentType" if "contentType" in cols else "mimeType" if "mimeType" in cols else "''"
    deleted = "AND a.itemID NOT IN (SELECT itemID FROM deletedItems)" if "deletedItems" in tables else ""
    out: dict[int, list[Attachment]] = {}
    warnings: list[str] = []
    for parent_id, key, link_mode, content_type, path in con.execute(
            f"SELECT a.{parent}, i.key, a.linkMode, a.{mime}, a.path FROM itemAttachments a JOIN items i ON i.itemID = a.itemID "
            f"WHERE a.{parent} IS NOT NULL {deleted}"):
        if parent_id not in items or link_mode == _LINKED_URL or not path:
            continue
        attachment = _locate(folder, str(key), int(link_mode or 0), str(content_type or ""), str(path))
        out.setdefault(parent_id, []).append(attachment)
    return out, warnings


def _locate(folder: Path, key: str, link_mode: int, mime: str, path: str) -> Attachment:
    storage = folder / "storage" / key
    if path.startswith("storage:"):
        name = path[len("storage:"):]
        if "/" in name or "\\" in name or name in ("", ".", ".."):  # a crafted path must not leave storage/<key>/
            return Attachment(None, mime, f"storage/{key}/{name} (not a plain file name)")
        return Attachment(storage / name, mime, f"storage/{key}/{name}")
    if path.startswith("attachments:"):  # relative to the "linked attachment base directory" preference, which lives outside the database
        return Attachment(None, mime, f"{path} (relative to Zotero's linked-attachment base folder, which lifqa cannot know)", linked=True)
    linked = Path(path)
    return Attachment(linked if linked.is_absolute() else None, mime, path, linked=True)


def _zotero_date(value: str) -> str:
    """Zotero stores "2010-05-00 May 2010" (sortable date, then what the user typed): keep what the user typed."""
    match = re.match(r"^\d{4}-\d{2}-\d{2} (.+)$", value)
    return match.group(1).strip() if match else value


def _from_extra(extra: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Better BibTeX's "Citation Key: ..." (and PMID/PMCID/DOI lines) in the Extra field."""
    found: dict[str, Any] = {}
    for name, value in _EXTRA.findall(extra or ""):
        name = name.lower()
        if name == "citation key" and not meta.get("citation_key"):
            found["citation_key"] = value
        elif name in ("pmid", "pmcid") and not meta.get(name):
            found[name] = value
        elif name == "doi" and not meta.get("doi"):
            found["doi"] = value
    return found
