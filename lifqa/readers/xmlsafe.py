"""Parse untrusted XML safely: no DTD loading, no entity expansion, no network, bounded size.

lxml's parser is configured to never load a DTD or fetch anything and to leave
entities unexpanded; on top of that a file that declares its own entities in an
internal DTD subset (the XXE and "billion laughs" attacks; real JATS and PubMed
files only name an external DTD) is refused before parsing.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

MAX_XML_BYTES = 512 * 1024 * 1024
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


class UnsafeXml(ValueError):
    """The file declares entities or is too large: refused, with the reason."""


def safe_parser(**extra: object) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, **extra)


def check_xml_file(path: Path) -> None:
    """Refuse a file that is too large or declares entities in its DOCTYPE (checked before parsing)."""
    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise UnsafeXml(f"it is {size / 1e6:.0f} MB, larger than the {MAX_XML_BYTES // 2**20} MiB limit for one XML file; split it")
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    doctype_end = _doctype_end(head)
    if doctype_end and doctype_end >= len(head) and len(head) == 1 << 20:
        raise UnsafeXml("its DOCTYPE runs past the first MiB; lifqa refuses such files (entity-expansion risk)")
    if doctype_end and _ENTITY_DECL.search(head, 0, doctype_end):
        raise UnsafeXml("its DOCTYPE declares entities (<!ENTITY>), which lifqa never expands (XXE / entity-expansion risk); "
                        "remove the declarations")


def _doctype_end(head: bytes) -> int:
    start = head.find(b"<!DOCTYPE")
    if start == -1:
        return 0
    bracket = head.find(b"[", start)
    close = head.find(b">", start)
    if bracket != -1 and (close == -1 or bracket < close):
        end = head.find(b"]>", bracket)
        return end + 2 if end != -1 else len(head)
    return close + 1 if close != -1 else len(head)


def parse_file(path: Path) -> etree._ElementTree:
    check_xml_file(path)
    return etree.parse(str(path), safe_parser())


def local(el: etree._Element) -> str:
    """An element's tag without its namespace ("" for comments, PIs and entity references)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
