"""Zotero data folders: read strictly read-only, every regular item one document, schemas of Zotero 5 to today."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds indexes of Zotero libraries

sys.path.insert(0, str(Path(__file__).parent))
from zotero_db import LINK_LINKED_FILE, ZoteroFolder, sample_library  # noqa: E402

from lifqa.errors import CorpusError  # noqa: E402
from lifqa.library import library_kind  # noqa: E402
from lifqa.library.zotero import read_zotero  # noqa: E402
from lifqa.sources import read_sources  # noqa: E402


@pytest.fixture()
def zotero(tmp_path: Path) -> Path:
    sample_library(tmp_path / "Zotero")
    return tmp_path / "Zotero"


def _by_key(items):
    return {item.key: item for item in items}


def test_items_metadata_from_the_real_schema(zotero: Path):
    items, _ = read_zotero(zotero)
    by_key = _by_key(items)
    assert library_kind(zotero) == "zotero"
    assert len(items) == 7  # notes, attachments and the trashed item are not items of their own
    datta = by_key["DATTA001"].metadata
    assert datta["authors"] == ["Datta, Sandeep", "Smith, Jane", "Ng, Wei"] and datta["editors"] == ["Itor, Ed"]
    assert datta["citation_key"] == "datta2010lif" and datta["pmid"] == "20123456"  # Better BibTeX key in Extra
    assert datta["tags"] == ["LIF", "cytokines"] and datta["collections"] == ["Signalling/Receptors"]
    assert datta["journal"] == "Cell Reports" and datta["date"] == "May 2010" and datta["page_range"] == "9-17"
    assert by_key["BONE0001"].metadata["citation_key"] == "ware2003osteo"  # Zotero 7's own citationKey field
    assert by_key["HANDBOOK"].metadata["authors"] == ["Cytokine Society"]  # a single-field (institutional) creator
    retracted = [i for i in items if i.metadata.get("retracted")]
    assert [i.title for i in retracted] == ["LIF cures everything"]
    assert all("trash" not in i.title for i in items)


def test_documents_text_sources_and_missing_files(zotero: Path):
    report = read_sources(zotero)
    docs = {d.doc_id: d for d in report.documents}
    datta = docs["zotero/DATTA001"]
    assert datta.metadata["text_source"] == "fulltext" and "STAT3" in datta.text
    assert datta.metadata["doi"] == "10.1016/j.celrep.2010.01.009" and datta.metadata["year"] == 2010
    assert datta.title == "LIF signals through the gp130 receptor complex"
    bone = docs["zotero/BONE0001"]  # a real PDF, read by lifqa.readers with its pages
    assert bone.metadata["text_source"] == "fulltext" and "reduced osteoclast numbers" in bone.text
    assert len(bone.page_starts) == 2 and bone.page_at(bone.text.index("reduced osteoclast")) == 2
    assert bone.metadata["citation_key"] == "ware2003osteo" and bone.title == "Osteoclast formation in LIF knockout mice"
    cached = docs["zotero/CACHED01"]  # its PDF is damaged: Zotero's own full-text cache is the text
    assert cached.metadata["text_source"] == "fulltext" and "protects the heart" in cached.text
    assert any("CACHED01" in w and "full-text cache" in w for w in report.warnings)
    assert docs["zotero/ABSTRACT"].metadata["text_source"] == "abstract_only"
    assert "blastocyst implantation" in docs["zotero/ABSTRACT"].text
    assert docs["zotero/HANDBOOK"].metadata["text_source"] == "metadata_only"
    assert "Academic Press" in docs["zotero/HANDBOOK"].text
    assert docs["zotero/RETRACT1"].metadata["retracted"] is True
    assert report.library["text_sources"] == {"fulltext": 4, "abstract_only": 2, "metadata_only": 1}
    assert report.library["missing_files"] == 1
    assert any("moved.pdf not found" in w and "linked file" in w for w in report.warnings)


def test_early_zotero5_schema_reads(tmp_path: Path):
    sample_library(tmp_path / "z5", today=False)  # no retractedItems, no deletedCollections, no citationKey field
    items, _ = read_zotero(tmp_path / "z5")
    assert len(items) == 7 and not any(i.metadata.get("retracted") for i in items)
    assert "citation_key" not in _by_key(items)["BONE0001"].metadata


def test_zotero4_columns_read(tmp_path: Path):
    """Zotero 4 named the parent column sourceItemID and kept names in creatorData; both are looked up, not assumed."""
    root = tmp_path / "z4"
    root.mkdir()
    con = sqlite3.connect(root / "zotero.sqlite")
    con.executescript("""
        CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT, templateItemTypeID INT, display INT DEFAULT 1);
        CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
        CREATE TABLE creatorTypes (creatorTypeID INTEGER PRIMARY KEY, creatorType TEXT);
        CREATE TABLE items (itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL, dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            libraryID INT, key TEXT NOT NULL, UNIQUE (libraryID, key));
        CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
        CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID));
        CREATE TABLE itemAttachments (itemID INTEGER PRIMARY KEY, sourceItemID INT, linkMode INT, mimeType TEXT, charsetID INT,
            path TEXT, originalPath TEXT, syncState INT DEFAULT 0, storageModTime INT, storageHash TEXT);
        CREATE TABLE creators (creatorID INTEGER PRIMARY KEY, creatorDataID INT NOT NULL, dateAdded TIMESTAMP, dateModified TIMESTAMP,
            clientDateModified TIMESTAMP, libraryID INT, key TEXT NOT NULL);
        CREATE TABLE creatorData (creatorDataID INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, shortName TEXT, fieldMode INT, birthYear INT);
        CREATE TABLE itemCreators (itemID INT, creatorID INT, creatorTypeID INT DEFAULT 1, orderIndex INT DEFAULT 0);
        CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY, dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL);
        INSERT INTO itemTypes VALUES (4, 'journalArticle', NULL, 2), (14, 'attachment', NULL, 0);
        INSERT INTO fields VALUES (110, 'title', NULL), (14, 'date', NULL);
        INSERT INTO creatorTypes VALUES (1, 'author');
        INSERT INTO items (itemID, itemTypeID, libraryID, key) VALUES (1, 4, NULL, 'OLDITEM1'), (2, 14, NULL, 'OLDATT01');
        INSERT INTO itemDataValues VALUES (1, 'An old Zotero 4 paper'), (2, '2009-00-00 2009');
        INSERT INTO itemData VALUES (1, 110, 1), (1, 14, 2);
        INSERT INTO creatorData VALUES (1, 'Ada', 'Lovelace', NULL, 0, NULL);
        INSERT INTO creators VALUES (1, 1, NULL, NULL, NULL, NULL, 'CREATOR1');
        INSERT INTO itemCreators VALUES (1, 1, 1, 0);
        INSERT INTO itemAttachments (itemID, sourceItemID, linkMode, mimeType, path) VALUES (2, 1, 0, 'text/plain', 'storage:old.txt');
    """)
    con.commit()
    con.close()
    (root / "storage" / "OLDATT01").mkdir(parents=True)
    (root / "storage" / "OLDATT01" / "old.txt").write_text("Babbage's engine could weave algebraic patterns.", encoding="utf-8")
    report = read_sources(root)
    (doc,) = report.documents
    assert doc.metadata["authors"] == ["Lovelace, Ada"] and doc.metadata["year"] == 2009
    assert "algebraic patterns" in doc.text and doc.metadata["text_source"] == "fulltext"


def test_database_never_written_even_while_zotero_holds_its_lock(zotero: Path):
    db = zotero / "zotero.sqlite"
    before = (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns)
    files_before = sorted(p.name for p in zotero.iterdir())
    zotero_app = sqlite3.connect(db)  # Zotero running: it keeps an exclusive lock on its database
    zotero_app.execute("PRAGMA locking_mode = EXCLUSIVE")
    zotero_app.execute("BEGIN EXCLUSIVE")
    try:
        report = read_sources(zotero)
    finally:
        zotero_app.rollback()
        zotero_app.close()
    assert len(report.documents) == 7
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns) == before
    assert sorted(p.name for p in zotero.iterdir()) == files_before  # no -journal, -wal or -shm file left beside it


def test_not_a_database_is_one_clear_error(tmp_path: Path):
    folder = tmp_path / "Zotero"
    folder.mkdir()
    (folder / "zotero.sqlite").write_text("this is not sqlite", encoding="utf-8")
    with pytest.raises(CorpusError, match="not an SQLite database"):
        read_sources(folder)


def test_attachment_path_cannot_leave_storage(tmp_path: Path):
    z = ZoteroFolder(tmp_path / "Z")
    item = z.item("journalArticle", {"title": "Sneaky", "abstractNote": "An abstract."})
    z.con.execute("INSERT INTO items (itemTypeID, libraryID, key) VALUES (?, 1, 'EVIL0001')",
                  (z._id("itemTypes", "itemTypeID", "typeName", "attachment"),))
    att = z.con.execute("SELECT itemID FROM items WHERE key = 'EVIL0001'").fetchone()[0]
    z.con.execute("INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) VALUES (?, ?, 0, 'text/plain', ?)",
                  (att, item, "storage:../../secret.txt"))
    z.close()
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    report = read_sources(tmp_path / "Z")
    (doc,) = report.documents
    assert "secret" not in doc.text and doc.metadata["text_source"] == "abstract_only"
    assert any("not a plain file name" in w for w in report.warnings)


def test_linked_file_is_followed(tmp_path: Path):
    z = ZoteroFolder(tmp_path / "Z")
    item = z.item("journalArticle", {"title": "Linked"})
    outside = tmp_path / "papers" / "linked.txt"
    outside.parent.mkdir()
    outside.write_text("Gp130 is shared by the IL-6 family of cytokines.", encoding="utf-8")
    z.attach(item, "linked.txt", None, "text/plain", LINK_LINKED_FILE, path=str(outside))
    z.close()
    (doc,) = read_sources(tmp_path / "Z").documents
    assert "IL-6 family" in doc.text and doc.metadata["text_source"] == "fulltext"
    assert json.dumps(dict(doc.metadata))  # metadata stays JSON-serialisable for the store
