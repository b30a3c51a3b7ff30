"""PDF text layers (pdfplumber): running headers, footers and page numbers dropped, tables one row per line."""

from __future__ import annotations

import logging
import math
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.core.errors import DocumentError
from rag.reading.loaders.common import (
    _PAGE_NUMBER_CN,
    _PAGE_NUMBER_OF,
    _PDF_CID,
    _SPACE_IN_CJK,
    _WHITESPACE_RUN,
    LoadedText,
    _check_readable,
    _inline,
    _is_boilerplate,
    _join_cjk,
    _join_paragraphs,
    _one_line,
    _running_key,
    clean_title,
)
from rag.text.normalize import CELL_SEPARATOR

logger = logging.getLogger(__name__)


# Kangxi radicals and CJK compatibility ideographs that PDF font maps emit instead of the ordinary
# ideographs (「⼯作」 for 「工作」): NFKC maps them back so search and gold evidence match.
_CJK_LOOKALIKES = re.compile(r"[\u2e80-\u2fdf\uf900-\ufaff]")

# Share of the page height at the top and bottom where running headers, footers and page numbers live.
PDF_BAND = 0.08

# A line that repeats (digits aside) on at least this share of the pages is a running header/footer.
PDF_REPEAT_SHARE = 0.5

# 「— 3 —」, 「- 3 -」, 「3」.
_PAGE_NUMBER_DASHED = re.compile(r"^[-—–－~·\s]*\d{1,4}[-—–－~·\s]*$")

# 「Page 3」, 「Page 3 of 15」, 「3 of 15」.
_PAGE_NUMBER_EN = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*of\s*\d{1,4})?$", re.I)

# A browser's print header: 「11/30/26, 9:19 AM 标题」 or 「2024/1/9 10:03 标题」.
_BROWSER_DATE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s|$)")

# A browser's print footer starts with the page's address.
_BROWSER_URL = re.compile(r"^(?:https?|file)://", re.I)

# Where a PDF line ends a paragraph: a sentence end or a colon, before any closing quote or bracket.
_PARAGRAPH_END = re.compile(r"[。！？：!?:][”’」』）)\]]*$")


@dataclass
class _PdfLine:
    """A text line (or a table row) of a PDF page with its position."""

    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    table: bool = False


def _load_pdf(path: Path) -> LoadedText:
    """The text layer of a PDF: running headers, footers and page numbers out, paragraphs re-joined, tables as rows."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    pages: list[list[_PdfLine]] = []
    heights: list[float] = []
    chars = 0
    images = 0
    try:
        with pdfplumber.open(path) as pdf:
            info = dict(pdf.metadata or {})
            for number, page in enumerate(pdf.pages):
                chars += len(page.chars)
                images += len(page.images)
                heights.append(float(page.height))
                pages.append(_pdf_page_lines(page, number))
    except DocumentError:
        raise
    except Exception as exc:  # pdfminer raises anything on broken files; pdfplumber wraps it
        logger.debug("%s: the PDF parser failed", path, exc_info=True)
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError) or isinstance(exc, PDFEncryptionError):
            raise DocumentError(f"{path}: encrypted PDF (password-protected); save an unprotected copy") from None
        raise DocumentError(f"{path}: corrupt PDF ({type(cause).__name__}: {_one_line(cause)})") from None
    if chars == 0 or (images and chars < 20 * len(pages)):
        raise DocumentError(f"{path}: has no text layer (scanned?); OCR is not supported")
    lines = _drop_page_furniture(pages, heights)
    text = _join_paragraphs(_pdf_paragraphs(lines))
    if unmapped := len(_PDF_CID.findall(text)):
        _check_readable(path, text, "pdf")  # unmapped glyphs count as unreadable before they go
        logger.warning("%s: %d glyphs without a Unicode mapping dropped", path, unmapped)
        text = _PDF_CID.sub("", text)
    metadata: dict[str, object] = {"pages": len(pages)}
    for key, name in (
        ("Title", "raw_title"),
        ("Author", "author"),
        ("Creator", "creator"),
        ("Producer", "producer"),
        ("CreationDate", "created"),
    ):
        if isinstance(info.get(key), str) and info[key].strip():
            metadata[name] = info[key].strip()
    # The PDF's creation date is when it was printed or exported, not the report's date: metadata only.
    return LoadedText(text, "pdf", clean_title(info.get("Title")), None, metadata)


def _pdf_page_lines(page: Any, number: int) -> list[_PdfLine]:
    """A page's text lines and table rows in reading order (tables' areas are not read as text)."""
    tables = []
    for table in page.find_tables():
        rows = [[_inline([c or ""]) for c in row] for row in table.extract()]
        # A lone framed box (a banner, a text frame) is not a table: at least two rows of two cells.
        if len(rows) >= 2 and sum(1 for row in rows if sum(1 for c in row if c) >= 2) >= 2:
            tables.append((table.bbox, rows))
    body = page
    for bbox, _ in tables:
        body = body.outside_bbox(bbox)
    out: list[_PdfLine] = []
    for line in body.extract_text_lines(return_chars=True, strip=True):
        upright = [c for c in line["chars"] if c.get("upright", True)]
        if not upright:
            continue
        text = _pdf_text(line["text"])
        if not text:
            continue
        size = statistics.median(float(c["size"]) for c in upright)
        out.append(_PdfLine(text, number, float(line["x0"]), float(line["x1"]), float(line["top"]), float(line["bottom"]), size))
    for (x0, top, x1, bottom), rows in tables:
        step = (bottom - top) / max(len(rows), 1)
        for i, row in enumerate(rows):
            if line_text := CELL_SEPARATOR.join(_pdf_text(c) for c in row if c):
                out.append(_PdfLine(line_text, number, x0, x1, top + i * step, top + (i + 1) * step, 0.0, table=True))
    out.sort(key=lambda line: (round(line.top, 1), line.x0))
    return out


def _pdf_text(text: str) -> str:
    text = _CJK_LOOKALIKES.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return _SPACE_IN_CJK.sub("", _WHITESPACE_RUN.sub(" ", text)).strip()


def _is_page_number(text: str) -> bool:
    return any(p.match(text) for p in (_PAGE_NUMBER_DASHED, _PAGE_NUMBER_OF, _PAGE_NUMBER_CN, _PAGE_NUMBER_EN))


def _drop_page_furniture(pages: list[list[_PdfLine]], heights: list[float]) -> list[_PdfLine]:
    """Drop running headers, footers and page numbers: lines in the top or bottom band of a page that
    are page numbers, a browser's print header/footer, or repeat (digits aside) on half the pages."""
    key = _running_key
    in_band = [
        [not line.table and (line.top < PDF_BAND * heights[n] or line.bottom > (1 - PDF_BAND) * heights[n]) for line in lines]
        for n, lines in enumerate(pages)
    ]
    counts: Counter[str] = Counter()
    for lines, bands in zip(pages, in_band, strict=True):
        counts.update({key(line.text) for line, band in zip(lines, bands, strict=True) if band})
    needed = max(2, math.ceil(PDF_REPEAT_SHARE * len(pages)))
    kept: list[_PdfLine] = []
    dropped = 0
    for lines, bands in zip(pages, in_band, strict=True):
        for line, band in zip(lines, bands, strict=True):
            furniture = band and (
                _is_page_number(line.text)
                or _BROWSER_DATE.match(line.text) is not None
                or _BROWSER_URL.match(line.text) is not None
                or (len(pages) >= 2 and counts[key(line.text)] >= needed)
            )
            if furniture or (not line.table and _is_boilerplate(line.text)):
                dropped += 1
            else:
                kept.append(line)
    logger.debug("dropped %d header/footer/page-number lines", dropped)
    return kept


def _pdf_paragraphs(lines: list[_PdfLine]) -> list[str]:
    """Re-join the lines of each paragraph; CJK lines are joined without a space."""
    body = [line for line in lines if not line.table]
    if not body:
        return [line.text for line in lines]
    size = Counter(round(line.size, 1) for line in body for _ in range(len(line.text))).most_common(1)[0][0]
    same_size = [line for line in body if abs(line.size - size) <= 0.5] or body
    left = Counter(round(line.x0) for line in same_size).most_common(1)[0][0]
    right_edges = sorted(line.x1 for line in same_size)
    right = right_edges[int(0.9 * (len(right_edges) - 1))]
    pitches = [
        b.top - a.top for a, b in zip(same_size, same_size[1:], strict=False) if a.page == b.page and 0 < b.top - a.top < 3 * size
    ]
    pitch = statistics.median(pitches) if pitches else 1.5 * size

    def layout_break(prev: _PdfLine, line: _PdfLine) -> bool:
        """What the page layout says: a new font size, an indented (or centred) line, a gap."""
        if abs(line.size - prev.size) > 0.15 * max(line.size, prev.size):
            return True
        if line.x0 - left > 0.8 * size:
            return True
        return prev.page == line.page and line.top - prev.top > 1.25 * pitch

    # When the layout marks most paragraph ends, a line that happens to end with 「。」 inside a
    # paragraph does not split it; without layout marks, a sentence end at a line end is a paragraph end.
    after_end = [(a, b) for a, b in zip(body, body[1:], strict=False) if _PARAGRAPH_END.search(a.text)]
    layout = len(after_end) >= 5 and sum(layout_break(a, b) for a, b in after_end) >= 0.6 * len(after_end)

    def breaks(prev: _PdfLine, line: _PdfLine) -> bool:
        if prev.table or line.table or layout_break(prev, line):
            return True
        if prev.x1 < right - 4 * size:  # the previous line stops well short of the margin
            return True
        return not layout and _PARAGRAPH_END.search(prev.text) is not None

    paragraphs: list[str] = []
    current = ""
    previous: _PdfLine | None = None
    for line in lines:
        if previous is not None and breaks(previous, line):
            paragraphs.append(current)
            current = ""
        current = _join_cjk([current, line.text])
        previous = line
    paragraphs.append(current)
    return [p for p in paragraphs if p.strip()]
