"""A Zotero data folder for tests, built with the table definitions of Zotero's own schema.

The CREATE TABLE statements are copied from zotero/zotero ``resource/schema/userdata.sql``
(userdata version 107, Zotero 5) for the tables lifqa reads, plus the system tables
``itemTypes``/``fields``/``creatorTypes`` as Zotero's schema code creates them. ``today=True``
adds what later Zotero versions added (``deletedCollections``, ``retractedItems``,
``itemAttachments.lastProcessedModificationTime``; userdata 123); ``today=False`` leaves out
``retractedItems`` and ``deletedCollections`` as the first Zotero 5 releases had no such tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SYSTEM = """
CREATE TABLE itemTypes (
    itemTypeID INTEGER PRIMARY KEY,
    typeName TEXT,
    templateItemTypeID INT,
    display INT DEFAULT 1
);
CREATE TABLE fields (
    fieldID INTEGER PRIMARY KEY,
    fieldName TEXT,
    fieldFormatID INT
);
CREATE TABLE creatorTypes (
    creatorTypeID INTEGER PRIMARY KEY,
    creatorType TEXT
);
"""

USERDATA = """
CREATE TABLE version (
    schema TEXT PRIMARY KEY,
    version INT NOT NULL
);
CREATE TABLE libraries (
    libraryID INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    editable INT NOT NULL,
    filesEditable INT NOT NULL,
    version INT NOT NULL DEFAULT 0,
    storageVersion INT NOT NULL DEFAULT 0,
    lastSync INT NOT NULL DEFAULT 0,
    archived INT NOT NULL DEFAULT 0
);
CREATE TABLE items (
    itemID INTEGER PRIMARY KEY,
    itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL,
    key TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0,
    synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, key),
    FOREIGN KEY (libraryID) REFERENCES libraries(libraryID) ON DELETE CASCADE
);
CREATE INDEX items_synced ON items(synced);
CREATE TABLE itemDataValues (
    valueID INTEGER PRIMARY KEY,
    value UNIQUE
);
CREATE TABLE itemData (
    itemID INT,
    fieldID INT,
    valueID,
    PRIMARY KEY (itemID, fieldID),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (fieldID) REFERENCES fieldsCombined(fieldID),
    FOREIGN KEY (valueID) REFERENCES itemDataValues(valueID)
);
CREATE INDEX itemData_fieldID ON itemData(fieldID);
CREATE TABLE itemNotes (
    itemID INTEGER PRIMARY KEY,
    parentItemID INT,
    note TEXT,
    title TEXT,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (parentItemID) REFERENCES items(itemID) ON DELETE CASCADE
);
CREATE TABLE itemAttachments (
    itemID INTEGER PRIMARY KEY,
    parentItemID INT,
    linkMode INT,
    contentType TEXT,
    charsetID INT,
    path TEXT,
    syncState INT DEFAULT 0,
    storageModTime INT,
    storageHash TEXT,{extra_attachment_columns}
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (parentItemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (charsetID) REFERENCES charsets(charsetID) ON DELETE SET NULL
);
CREATE INDEX itemAttachments_parentItemID ON itemAttachments(parentItemID);
CREATE TABLE tags (
    tagID INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE itemTags (
    itemID INT NOT NULL,
    tagID INT NOT NULL,
    type INT NOT NULL,
    PRIMARY KEY (itemID, tagID),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (tagID) REFERENCES tags(tagID) ON DELETE CASCADE
);
CREATE TABLE creators (
    creatorID INTEGER PRIMARY KEY,
    firstName TEXT,
    lastName TEXT,
    fieldMode INT,
    UNIQUE (lastName, firstName, fieldMode)
);
CREATE TABLE itemCreators (
    itemID INT NOT NULL,
    creatorID INT NOT NULL,
    creatorTypeID INT NOT NULL DEFAULT 1,
    orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (itemID, creatorID, creatorTypeID, orderIndex),
    UNIQUE (itemID, orderIndex),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (creatorID) REFERENCES creators(creatorID) ON DELETE CASCADE,
    FOREIGN KEY (creatorTypeID) REFERENCES creatorTypes(creatorTypeID)
);
CREATE TABLE collections (
    collectionID INTEGER PRIMARY KEY,
    collectionName TEXT NOT NULL,
    parentCollectionID INT DEFAULT NULL,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL,
    key TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0,
    synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, key),
    FOREIGN KEY (libraryID) REFERENCES libraries(libraryID) ON DELETE CASCADE,
    FOREIGN KEY (parentCollectionID) REFERENCES collections(collectionID) ON DELETE CASCADE
);
CREATE TABLE collectionItems (
    collectionID INT NOT NULL,
    itemID INT NOT NULL,
    orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (collectionID, itemID),
    FOREIGN KEY (collectionID) REFERENCES collections(collectionID) ON DELETE CASCADE,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE
);
CREATE INDEX collectionItems_itemID ON collectionItems(itemID);
CREATE TABLE deletedItems (
    itemID INTEGER PRIMARY KEY,
    dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE
);
"""

TODAY = """
CREATE TABLE deletedCollections (
    collectionID INTEGER PRIMARY KEY,
    dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL,
    FOREIGN KEY (collectionID) REFERENCES collections(collectionID) ON DELETE CASCADE
);
CREATE TABLE retractedItems (
	itemID INTEGER PRIMARY KEY,
	data TEXT,
	flag INT DEFAULT 0,
	FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE
);
"""

LINK_IMPORTED_FILE, LINK_IMPORTED_URL, LINK_LINKED_FILE, LINK_LINKED_URL = 0, 1, 2, 3


class ZoteroFolder:
    """Fill a Zotero data folder item by item, as Zotero stores them."""

    def __init__(self, root: Path, today: bool = True) -> None:
        self.root = root
        self.today = today
        root.mkdir(parents=True, exist_ok=True)
        (root / "storage").mkdir(exist_ok=True)
        self.con = sqlite3.connect(root / "zotero.sqlite")
        columns = "\n    lastProcessedModificationTime INT," if today else ""
        self.con.executescript(SYSTEM + USERDATA.replace("{extra_attachment_columns}", columns) + (TODAY if today else ""))
        self.con.execute("INSERT INTO version VALUES ('userdata', ?)", (123 if today else 107,))
        self.con.execute("INSERT INTO libraries (libraryID, type, editable, filesEditable) VALUES (1, 'user', 1, 1)")
        self._keys = 0

    def _id(self, table: str, id_col: str, name_col: str, name: str) -> int:
        row = self.con.execute(f"SELECT {id_col} FROM {table} WHERE {name_col} = ?", (name,)).fetchone()
        if row:
            return row[0]
        return self.con.execute(f"INSERT INTO {table} ({name_col}) VALUES (?)", (name,)).lastrowid

    def key(self) -> str:
        self._keys += 1
        return f"K{self._keys:07d}"

    def item(self, kind: str, fields: dict[str, str], key: str | None = None, version: int = 1, modified: str = "2024-01-01 10:00:00") -> int:
        type_id = self._id("itemTypes", "itemTypeID", "typeName", kind)
        item_id = self.con.execute("INSERT INTO items (itemTypeID, libraryID, key, version, dateModified) VALUES (?, 1, ?, ?, ?)",
                                   (type_id, key or self.key(), version, modified)).lastrowid
        for name, value in fields.items():
            field_id = self._id("fields", "fieldID", "fieldName", name)
            value_id = self._id("itemDataValues", "valueID", "value", value)
            self.con.execute("INSERT INTO itemData VALUES (?, ?, ?)", (item_id, field_id, value_id))
        return item_id

    def creator(self, item_id: int, role: str, first: str, last: str, single: bool = False) -> None:
        role_id = self._id("creatorTypes", "creatorTypeID", "creatorType", role)
        self.con.execute("INSERT OR IGNORE INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, ?)", (first, last, int(single)))
        creator_id = self.con.execute("SELECT creatorID FROM creators WHERE firstName = ? AND lastName = ? AND fieldMode = ?",
                                      (first, last, int(single))).fetchone()[0]
        order = self.con.execute("SELECT COUNT(*) FROM itemCreators WHERE itemID = ?", (item_id,)).fetchone()[0]
        self.con.execute("INSERT INTO itemCreators VALUES (?, ?, ?, ?)", (item_id, creator_id, role_id, order))

    def tag(self, item_id: int, name: str) -> None:
        self.con.execute("INSERT INTO itemTags VALUES (?, ?, 0)", (item_id, self._id("tags", "tagID", "name", name)))

    def collection(self, name: str, parent: int | None = None) -> int:
        return self.con.execute("INSERT INTO collections (collectionName, parentCollectionID, libraryID, key) VALUES (?, ?, 1, ?)",
                                (name, parent, self.key())).lastrowid

    def place(self, collection_id: int, item_id: int) -> None:
        self.con.execute("INSERT INTO collectionItems (collectionID, itemID) VALUES (?, ?)", (collection_id, item_id))

    def attach(self, parent: int, name: str, data: bytes | None, mime: str, link_mode: int = LINK_IMPORTED_FILE,
               path: str | None = None, ft_cache: str | None = None) -> Path:
        """An attachment item; an imported file goes to storage/<key>/name (not written when data is None)."""
        key = self.key()
        item_id = self.item("attachment", {}, key=key)
        stored = self.root / "storage" / key / name
        if link_mode in (LINK_IMPORTED_FILE, LINK_IMPORTED_URL):
            stored.parent.mkdir(parents=True, exist_ok=True)
            if data is not None:
                stored.write_bytes(data)
            if ft_cache is not None:
                (stored.parent / ".zotero-ft-cache").write_text(ft_cache, encoding="utf-8")
            path = f"storage:{name}"
        else:
            stored = Path(path or name)
        self.con.execute("INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) VALUES (?, ?, ?, ?, ?)",
                         (item_id, parent, link_mode, mime, path))
        return stored

    def note(self, parent: int, html: str) -> None:
        item_id = self.item("note", {})
        self.con.execute("INSERT INTO itemNotes (itemID, parentItemID, note, title) VALUES (?, ?, ?, '')", (item_id, parent, html))

    def trash(self, item_id: int) -> None:
        self.con.execute("INSERT INTO deletedItems (itemID) VALUES (?)", (item_id,))

    def retract(self, item_id: int) -> None:
        self.con.execute("INSERT INTO retractedItems (itemID, data) VALUES (?, '{}')", (item_id,))

    def update(self, item_id: int, name: str, value: str, version: int, modified: str) -> None:
        field_id = self._id("fields", "fieldID", "fieldName", name)
        value_id = self._id("itemDataValues", "valueID", "value", value)
        self.con.execute("INSERT OR REPLACE INTO itemData VALUES (?, ?, ?)", (item_id, field_id, value_id))
        self.con.execute("UPDATE items SET version = ?, dateModified = ? WHERE itemID = ?", (version, modified, item_id))

    def close(self) -> None:
        self.con.commit()
        self.con.close()


DATTA_HTML = """<html><body><h1>LIF signals through the gp130 receptor complex</h1>
<p>Leukemia inhibitory factor (LIF) binds the LIF receptor beta subunit, which then pairs with gp130 to form a high-affinity signalling complex.</p>
<p>Binding activates JAK1 and the transcription factor STAT3, which maintains the self-renewal of mouse embryonic stem cells.</p>
<p>Without LIF, mouse embryonic stem cells differentiate within a few days in serum-containing medium.</p>
</body></html>"""

PDF_TEXT = ("Gp130 signalling in the heart\n\nCardiomyocytes lacking gp130 undergo apoptosis under pressure overload; "
            "gp130 signalling through STAT3 protects the heart.")


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF, one page per string (reportlab), with a text layer the PDF reader extracts."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for text in pages:
        y = 780
        for line in text.split("\n"):
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return out.getvalue()


BONE_PAGES = ["Osteoclast formation in LIF knockout mice\nCarol Ware\nIntroduction: bone remodelling needs osteoclasts.",
              "Results\nMice lacking leukemia inhibitory factor show reduced osteoclast numbers and thicker trabecular bone.\n"
              "LIF released by osteoblasts promotes osteoclast differentiation in co-culture."]


def sample_library(root: Path, today: bool = True) -> dict[str, int]:
    """Nine items of the kinds a real library holds; returns their itemIDs by name."""
    z = ZoteroFolder(root, today=today)
    ids: dict[str, int] = {}
    signalling = z.collection("Signalling")
    receptors = z.collection("Receptors", parent=signalling)
    bone = z.collection("Bone")

    ids["datta"] = z.item("journalArticle", {
        "title": "LIF signals through the gp130 receptor complex", "publicationTitle": "Cell Reports", "volume": "12", "issue": "3",
        "pages": "9-17", "date": "2010-05-00 May 2010", "DOI": "https://doi.org/10.1016/J.CELREP.2010.01.009",
        "extra": "Citation Key: datta2010lif\nPMID: 20123456", "abstractNote": "How LIF binds its receptor."}, key="DATTA001")
    for first, last in (("Sandeep", "Datta"), ("Jane", "Smith"), ("Wei", "Ng")):
        z.creator(ids["datta"], "author", first, last)
    z.creator(ids["datta"], "editor", "Ed", "Itor")
    z.tag(ids["datta"], "cytokines")
    z.tag(ids["datta"], "LIF")
    z.place(receptors, ids["datta"])
    z.attach(ids["datta"], "Datta 2010.html", DATTA_HTML.encode(), "text/html", LINK_IMPORTED_URL)
    z.note(ids["datta"], "<p>My note about gp130</p>")

    ids["bone"] = z.item("journalArticle", {
        "title": "Osteoclast formation in LIF knockout mice", "publicationTitle": "Bone", "date": "2003-00-00 2003",
        "DOI": "10.1016/S8756-3282(03)00001-1", **({"citationKey": "ware2003osteo"} if today else {})}, key="BONE0001")
    z.creator(ids["bone"], "author", "Carol", "Ware")
    z.tag(ids["bone"], "bone")
    z.place(bone, ids["bone"])
    z.attach(ids["bone"], "Ware 2003.pdf", make_pdf(BONE_PAGES), "application/pdf")

    ids["cached"] = z.item("journalArticle", {"title": "Gp130 signalling in the heart", "date": "2001-00-00 2001"}, key="CACHED01")
    z.creator(ids["cached"], "author", "Kenji", "Hirota")
    z.attach(ids["cached"], "Hirota 2001.pdf", b"%PDF-1.4\n% a PDF whose body is damaged\n", "application/pdf", ft_cache=PDF_TEXT)

    ids["abstract"] = z.item("journalArticle", {
        "title": "LIF in blastocyst implantation", "publicationTitle": "Nature", "date": "1992-11-00 November 1992",
        "abstractNote": "Maternal expression of leukemia inhibitory factor in the uterus is essential for blastocyst implantation."},
        key="ABSTRACT")
    z.creator(ids["abstract"], "author", "Colin", "Stewart")
    z.place(signalling, ids["abstract"])

    ids["book"] = z.item("book", {"title": "Cytokine Receptors Handbook", "publisher": "Academic Press", "date": "1999"}, key="HANDBOOK")
    z.creator(ids["book"], "author", "", "Cytokine Society", single=True)

    ids["trashed"] = z.item("journalArticle", {"title": "A paper in the trash about LIF"})
    z.trash(ids["trashed"])

    ids["retracted"] = z.item("journalArticle", {"title": "LIF cures everything", "date": "2015", "publicationTitle": "J Dubious"},
                             key="RETRACT1")
    z.creator(ids["retracted"], "author", "Ima", "Fraud")
    z.attach(ids["retracted"], "fraud.txt", b"LIF cures every disease in every patient, this study claims.\n", "text/plain")
    if today:
        z.retract(ids["retracted"])

    ids["linked"] = z.item("journalArticle", {"title": "A linked paper whose file moved", "date": "2020",
                                              "abstractNote": "The file of this paper lives outside Zotero's storage."}, key="LINKED01")
    z.attach(ids["linked"], "moved.pdf", None, "application/pdf", LINK_LINKED_FILE, path=str(root / "elsewhere" / "moved.pdf"))
    z.close()
    return ids
