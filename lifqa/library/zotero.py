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
            return {str(k): str(v) for k, v in con.execute(SQL_BBT_KEYS) if k and v}
        finally:
            con.close()
    except (sqlite3.DatabaseError, CorpusError) as exc:
        warnings.append(f"{path}: Better BibTeX's citation keys cannot be read ({exc}); keys in Zotero's own fields are used")
        return {}


def _with_key(item: LibraryItem, key: str | None) -> LibraryItem:
    if not key or item.metadata.get("citation_key"):
        return item
    return replace(item, metadata={**item.metadata, "citation_key": key})


# Every statement is a constant: the schema differences between Zotero versions are handled by choosing
# among these (and by reading rows as dicts by column name), never by building SQL text.
SQL_TABLES = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
SQL_COLUMNS = "SELECT name FROM pragma_table_info(?)"
SQL_ITEMS = "SELECT * FROM items ORDER BY itemID"
SQL_ITEM_TYPES = "SELECT itemTypeID, typeName FROM itemTypes"
SQL_ITEM_TYPES_COMBINED = "SELECT itemTypeID, typeName FROM itemTypesCombined"
SQL_FIELDS = "SELECT fieldID, fieldName FROM fields"
SQL_FIELDS_COMBINED = "SELECT fieldID, fieldName FROM fieldsCombined"
SQL_ITEM_DATA = "SELECT d.itemID, d.fieldID, v.value FROM itemData d JOIN itemDataValues v ON v.valueID = d.valueID"
SQL_DELETED_ITEMS = "SELECT itemID FROM deletedItems"
SQL_CREATORS = ("SELECT ic.itemID, c.firstName, c.lastName, c.fieldMode, ic.creatorTypeID FROM itemCreators ic "
                "JOIN creators c ON c.creatorID = ic.creatorID ORDER BY ic.itemID, ic.orderIndex")
SQL_CREATORS_ZOTERO4 = ("SELECT ic.itemID, cd.firstName, cd.lastName, cd.fieldMode, ic.creatorTypeID FROM itemCreators ic "
                        "JOIN creators c ON c.creatorID = ic.creatorID JOIN creatorData cd ON cd.creatorDataID = c.creatorDataID "
                        "ORDER BY ic.itemID, ic.orderIndex")
SQL_CREATOR_TYPES = "SELECT creatorTypeID, creatorType FROM creatorTypes"
SQL_TAGS = "SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID ORDER BY t.name"
SQL_COLLECTIONS = "SELECT collectionID, collectionName, parentCollectionID FROM collections"
SQL_DELETED_COLLECTIONS = "SELECT collectionID FROM deletedCollections"
SQL_COLLECTION_ITEMS = "SELECT collectionID, itemID FROM collectionItems"
SQL_RETRACTED = "SELECT itemID FROM retractedItems"
SQL_ATTACHMENTS = "SELECT * FROM itemAttachments"
SQL_BBT_KEYS = "SELECT itemKey, citationKey FROM citationkey"


def _tables(con: sqlite3.Connection) -> set[str]:
    return {row[0] for row in con.execute(SQL_TABLES)}


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[0] for row in con.execute(SQL_COLUMNS, (table,))}


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """Rows by column name: a column one Zotero version lacks is just absent from the dict."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _read(con: sqlite3.Connection, folder: Path) -> tuple[list[LibraryItem], list[str]]:
    tables = _tables(con)
    missing = {"items", "itemTypes", "itemData", "itemDataValues"} - tables
    if missing or not ({"fields", "fieldsCombined"} & tables):
        raise CorpusError(f"{folder / DB_NAME} has no Zotero tables ({', '.join(sorted(missing)) or 'fields'} missing); "
                          "point --corpus at a Zotero data folder")
    if "itemTypesCombined" in tables:  # Zotero 5.0.80+: built-in and custom types
        type_names = dict(con.execute(SQL_ITEM_TYPES_COMBINED).fetchall())
    else:
        type_names = dict(con.execute(SQL_ITEM_TYPES).fetchall())
    if "fieldsCombined" in tables:
        field_names = dict(con.execute(SQL_FIELDS_COMBINED).fetchall())
    else:
        field_names = dict(con.execute(SQL_FIELDS).fetchall())
    deleted = {row[0] for row in con.execute(SQL_DELETED_ITEMS)} if "deletedItems" in tables else set()
    items: dict[int, dict[str, Any]] = {}
    for row in _dicts(con.execute(SQL_ITEMS)):
        type_name = type_names.get(row.get("itemTypeID"))
        if row["itemID"] in deleted or type_name is None or type_name in _SKIP_TYPES:
            continue
        items[row["itemID"]] = {"key": str(row.get("key")), "item_type": type_name,
                                "version": f"{row.get('version', 0)}|{row.get('dateModified', '')}", "fields": {}}
    if not items:
        return [], []
    for item_id, field_id, value in con.execute(SQL_ITEM_DATA):
        name = field_names.get(field_id)
        if item_id in items and name and value is not None:
            items[item_id]["fields"][name] = str(value)
    creators = _creators(con, tables)
    tags = _by_item(con.execute(SQL_TAGS) if {"itemTags", "tags"} <= tables else [])
    collections = _collections(con, tables)
    retracted = {row[0] for row in con.execute(SQL_RETRACTED)} if "retractedItems" in tables else set()
    attachments = _attachments(con, tables, folder, items, deleted)
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
    return out, []


def _by_item(rows: Any) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for item_id, value in rows:
        if value is not None and str(value) not in out.setdefault(item_id, []):
            out[item_id].append(str(value))
    return out


def _creators(con: sqlite3.Connection, tables: set[str]) -> dict[int, list[tuple[str, str]]]:
    if not {"itemCreators", "creators"} <= tables:
        return {}
    roles = dict(con.execute(SQL_CREATOR_TYPES).fetchall()) if "creatorTypes" in tables else {}
    out: dict[int, list[tuple[str, str]]] = {}
    if "creatorData" in tables:  # Zotero 4 kept names in creatorData
        rows = con.execute(SQL_CREATORS_ZOTERO4)
    else:
        rows = con.execute(SQL_CREATORS)
    for item_id, given, family, field_mode, role in rows:
        family, given = (family or "").strip(), (given or "").strip()
        name = family if field_mode == 1 or not given else f"{family}, {given}"
        if name:
            out.setdefault(item_id, []).append((roles.get(role) or "author", name))
    return out


def _collections(con: sqlite3.Connection, tables: set[str]) -> dict[int, list[str]]:
    """Each item's collections as paths "Parent/Child" (a filter on "Parent" also finds items of "Child")."""
    if not {"collections", "collectionItems"} <= tables:
        return {}
    deleted = {row[0] for row in con.execute(SQL_DELETED_COLLECTIONS)} if "deletedCollections" in tables else set()
    rows = {cid: (name, parent) for cid, name, parent in con.execute(SQL_COLLECTIONS) if cid not in deleted}

    def path(cid: int) -> str:
        parts, seen = [], set()
        while cid in rows and cid not in seen:  # a cycle in a damaged database stops here
            seen.add(cid)
            name, parent = rows[cid]
            parts.append(str(name).replace("/", "∕"))
            cid = parent
        return "/".join(reversed(parts))

    out: dict[int, list[str]] = {}
    for cid, item_id in con.execute(SQL_COLLECTION_ITEMS):
        if cid in rows:
            out.setdefault(item_id, []).append(path(cid))
    return {k: sorted(set(v)) for k, v in out.items()}


def _attachments(con: sqlite3.Connection, tables: set[str], folder: Path, items: dict[int, dict[str, Any]],
                 deleted: set[int]) -> dict[int, list[Attachment]]:
    """Files of the items: Zotero 5+ names the parent parentItemID and the type contentType; Zotero 4 sourceItemID, mimeType."""
    if "itemAttachments" not in tables:
        return {}
    keys = {row["itemID"]: str(row.get("key")) for row in _dicts(con.execute(SQL_ITEMS))}
    out: dict[int, list[Attachment]] = {}
    for row in _dicts(con.execute(SQL_ATTACHMENTS)):
        parent = row.get("parentItemID", row.get("sourceItemID"))
        path, link_mode = row.get("path"), int(row.get("linkMode") or 0)
        if parent not in items or row["itemID"] in deleted or link_mode == _LINKED_URL or not path:
            continue
        mime = str(row.get("contentType") or row.get("mimeType") or "")
        out.setdefault(parent, []).append(_locate(folder, keys.get(row["itemID"], ""), link_mode, mime, str(path)))
    return out


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
