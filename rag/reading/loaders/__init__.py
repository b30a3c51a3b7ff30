"""Reading report files of every format users bring (PDF, Word .docx, HTML, text) into one plain text.

Users bring what they downloaded: a PDF printed from a browser, a Word file from an office, a web
page saved from a government site, a GBK text file, often under a meaningless name such as
``W020240128…`` with no extension. :func:`load_document` decides the type by the file's content
(:func:`sniff_format`; the extension only breaks ties) and gives back a :class:`LoadedText` whose
``text`` is what :func:`rag.reading.documents.clean` reads: one paragraph per line, paragraphs separated by
blank lines (a single newline is a soft wrap to the cleaner), headings on lines of their own.
Where the file itself says a line is a heading (a Word heading style, an HTML ``<h2>``) or that a
paragraph opens with a bold lead phrase, the line carries the markdown marks the cleaner already
understands from the ``.md`` reports (``## …``, ``**…**``), so that knowledge is not lost.

Everything that is not report text is dropped here, per format: running headers and footers and
page numbers of PDFs (by position and by repetition across pages), Word page headers and footers,
a web page's navigation, breadcrumb and footer (ICP/备案 lines). Tables become one line per row,
cells joined with 「 | 」, so each figure keeps its label.

Every refusal is a :class:`~rag.core.errors.DocumentError` with one line naming the file: an unknown or
binary type, a PDF without a text layer (a scan: no OCR here), an encrypted or corrupt file, a ZIP
bomb posing as a .docx, a file without text, or a text layer that is not readable Chinese.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from rag.core.errors import DocumentError
from rag.reading.loaders.common import (
    _OLE_MAGIC,
    _ZIP_MAGIC,
    READABLE_KINDS,
    SNIFF_BYTES,
    Format,
    LoadedText,
    _check_readable,
    clean_title,
    readable_share,
)
from rag.reading.loaders.docx import _load_docx, check_zip
from rag.reading.loaders.html import _load_html
from rag.reading.loaders.pdf import _load_pdf
from rag.reading.loaders.sniff import _decodes, sniff_file, sniff_format
from rag.reading.loaders.text import _load_text, decode_text, drop_text_page_furniture

__all__ = [
    "Format",
    "LoadedText",
    "check_zip",
    "clean_title",
    "decode_text",
    "drop_text_page_furniture",
    "load_document",
    "readable_share",
    "sniff_file",
    "sniff_format",
]

logger = logging.getLogger(__name__)


#: The largest file read at all; a report, even with images, is far below.
MAX_FILE_BYTES = 256 * 1024 * 1024


def load_document(path: Path) -> LoadedText:
    """Read one report file of any supported format (see the module docstring)."""
    if not path.is_file():
        raise DocumentError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise DocumentError(f"{path}: {size / 2**20:.0f} MiB is too large for a report (at most {MAX_FILE_BYTES // 2**20} MiB)")
    kind = sniff_file(path)
    if kind is None:
        raise DocumentError(_unreadable_message(path))
    loaded = _LOADERS[kind](path)
    if not loaded.text.strip():
        raise DocumentError(f"{path}: empty document, no text in this {_KIND_NAMES[kind]}")
    _check_readable(path, loaded.text, kind)
    logger.debug("%s: %s, %d characters", path, kind, len(loaded.text))
    return loaded


_KIND_NAMES: dict[Format, str] = {"pdf": "PDF", "docx": "Word file", "html": "web page", "text": "text file"}


def _unreadable_message(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(_OLE_MAGIC) and path.suffix.lower() == ".docx":
        return f"{path}: encrypted (password-protected) Word file; save it without a password and try again"
    if head.startswith(_OLE_MAGIC):
        return f"{path} is not a report this service can read ({READABLE_KINDS}): an old binary Office file; save it as .docx"
    if head.startswith(_ZIP_MAGIC):
        return f"{path} is not a report this service can read ({READABLE_KINDS}): a ZIP archive without word/document.xml"
    what = "binary content" if b"\x00" in head or not _decodes(head) else "unknown content"
    return f"{path} is not a report this service can read ({READABLE_KINDS}): {what}"


_LOADERS: dict[Format, Callable[[Path], LoadedText]] = {
    "pdf": _load_pdf,
    "docx": _load_docx,
    "html": _load_html,
    "text": _load_text,
}
