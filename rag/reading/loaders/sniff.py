"""Which format a file is, by its content: magic bytes, a ZIP's table of contents, an HTML start, text that decodes."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

from rag.reading.loaders.common import _OLE_MAGIC, _ZIP_MAGIC, SNIFF_BYTES, Format
from rag.reading.loaders.text import _guess_decode

_PDF_MAGIC = b"%PDF-"

_RTF_MAGIC = b"{\\rtf"

_DOCX_MAIN_PART = "word/document.xml"

# An HTML document starts (after BOM/whitespace, an XML declaration and comments) with a doctype or <html>.
_HTML_START = re.compile(rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)

# HTML without a doctype/<html> (a fragment): only trusted when the extension also says HTML.
_HTML_TAG = re.compile(rb"<(?:head|body|meta|title|div|p|article|table)[\s>/]", re.I)


def sniff_format(head: bytes, name: str = "") -> Format | None:
    """The format of a file from its first bytes; ``None`` when it is none this service reads.

    Content decides: ``%PDF-``, a ZIP holding ``word/document.xml``, a doctype or ``<html>`` after
    any BOM and whitespace, else text when the bytes decode. The extension of ``name`` only breaks
    ties: a ZIP whose first entries do not show ``word/`` is a .docx if so named, and an HTML
    fragment without ``<html>`` is HTML if named .html/.htm.
    """
    suffix = Path(name).suffix.lower()
    if head.startswith(_ZIP_MAGIC):
        return "docx" if (b"word/" in head or suffix == ".docx") else None
    if _PDF_MAGIC in head[:1024]:
        return "pdf"
    if head.startswith((_OLE_MAGIC, _RTF_MAGIC)):
        return None
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if _HTML_START.match(start):
        return "html"
    if not _decodes(head):
        return None
    if suffix in (".html", ".htm", ".xhtml") and _HTML_TAG.search(start):
        return "html"
    return "text"


def sniff_file(path: Path) -> Format | None:
    """:func:`sniff_format` on a file, with a ZIP's table of contents instead of its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                return "docx" if _DOCX_MAIN_PART in archive.namelist() else None
        except (zipfile.BadZipFile, OSError):
            return sniff_format(head, path.name)
    return sniff_format(head, path.name)


def _decodes(head: bytes) -> bool:
    """Whether the start of a file reads as text (a multibyte character may be cut at the end)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return _guess_decode(head) is not None
