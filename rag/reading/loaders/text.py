"""Text files in any Chinese encoding (UTF-8/16, GB18030, Big5…), without their page numbers and running headers."""

from __future__ import annotations

import codecs
import logging
import re
from collections import Counter
from pathlib import Path

from rag.core.errors import DocumentError
from rag.reading.loaders.common import _PAGE_NUMBER_CN, _PAGE_NUMBER_OF, READABLE_KINDS, LoadedText, _running_key

logger = logging.getLogger(__name__)


# In a text file, where a bare 「3」 may be a list's or a table's: a number set off by dashes, 「— 3 —」 「- 3 -」.
_TEXT_PAGE_NUMBER = re.compile(r"^[-—–－~]\s*\d{1,4}\s*[-—–－~]$")

# A running header or footer is a short line (a title, a date, a site's name), never a paragraph.
MAX_RUNNING_LINE = 60


def _guess_decode(data: bytes) -> str | None:
    """Decode with charset_normalizer, Chinese encodings first (a short GBK text would pass for Korean)."""
    from charset_normalizer import from_bytes

    for isolation in (["gb18030", "big5"], None):
        best = from_bytes(data, cp_isolation=isolation).best()
        if best is not None:
            return str(best)
    return None


def decode_text(data: bytes, path: Path) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030/GBK/Big5 as guessed."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(f"{path}: corrupt UTF-16 text (it starts with a UTF-16 byte order mark)") from None
    if b"\x00" in data:
        raise DocumentError(f"{path} is not a report this service can read ({READABLE_KINDS}): binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data.startswith(codecs.BOM_UTF8):
            raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start}) although it starts with a UTF-8 BOM") from None
    text = _guess_decode(data)
    if text is None:
        raise DocumentError(f"{path} is not a report this service can read ({READABLE_KINDS}): undecodable text")
    return text


def _load_text(path: Path) -> LoadedText:
    """A text or markdown file, returned as decoded without its page furniture: the cleaner handles
    its line breaks and marks."""
    text = decode_text(path.read_bytes(), path)
    return LoadedText(text=drop_text_page_furniture(text), format="text")


def drop_text_page_furniture(text: str) -> str:
    """A PDF's text layer saved as text, without its page breaks' furniture: page-number lines
    (「— 7 —」「－ 3 －」「第3页」「2/15」), form feeds, and the running header or footer next to a page
    break — a line that stands right before or after one on at least two pages (digits aside). A line
    left in place would run into the sentence the page broke (「专项—1—债券资金」) or, when it names a
    year (「…工作报告（2025年1月）」), pass for a heading."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\f\n").split("\n")
    breaks = {i for i, line in enumerate(lines) if line == "\f" or _is_text_page_number(line.strip())}
    if not breaks:
        return text
    near: list[int] = []  # the nearest non-blank line on either side of each break
    for i in breaks:
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(lines) and (not lines[j].strip() or j in breaks):
                j += step
            if 0 <= j < len(lines) and j not in breaks:
                near.append(j)
    counts = Counter(_running_key(lines[j]) for j in set(near))
    drop = breaks | {j for j in near if counts[_running_key(lines[j])] >= 2 and len(lines[j].strip()) <= MAX_RUNNING_LINE}
    logger.debug("dropped %d page-break lines of a text file", len(drop))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _is_text_page_number(line: str) -> bool:
    return any(p.match(line) for p in (_TEXT_PAGE_NUMBER, _PAGE_NUMBER_OF, _PAGE_NUMBER_CN))
