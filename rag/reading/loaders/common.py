"""What every format's loader shares: the :class:`LoadedText` they give back, the readability check, titles,
web-site boilerplate, inline whitespace and the running lines of paged text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rag.core.errors import DocumentError
from rag.text.normalize import mark_columns, unmark_columns

Format = Literal["pdf", "docx", "html", "text"]

#: What :func:`sniff_format` reads of a file (enough for the magic bytes and a ZIP's first entries).
SNIFF_BYTES = 8192

#: Below this share of CJK characters, digits and punctuation among non-space characters the text is
#: not a Chinese report: a wrong encoding, a broken PDF font map, a binary file.
MIN_READABLE_SHARE = 0.3

READABLE_KINDS = "PDF, Word .docx, HTML or text"

_ZIP_MAGIC = b"PK\x03\x04"

# OLE2 compound file: old .doc/.xls/.wps, and also a password-protected .docx (an EncryptedPackage).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# A glyph pdfminer could not map to Unicode: counted as unreadable, then dropped.
_PDF_CID = re.compile(r"\(cid:\d+\)")

# Spaces that extraction puts between CJK characters, digits and CJK punctuation (justified lines).
_SPACE_IN_CJK = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])[ \t\u3000]+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])"
)

_WHITESPACE_RUN = re.compile(r"[ \t\u00a0\u3000]+")

# Site furniture: filing numbers, copyright, sponsoring office, site id, breadcrumb. Only short lines.
_SITE_BOILERPLATE = re.compile(
    r"ICP备|ICP证|公网安备|版权所有|主办单位|承办单位|网站标识码|网站地图|技术支持[：:]|^当前位置[：:]|^您(?:现在)?的位置[：:]"
)

MAX_BOILERPLATE_LINE = 120

# 「2/15」, 「2 / 15」.
_PAGE_NUMBER_OF = re.compile(r"^\d{1,4}\s*/\s*\d{1,4}$")

# 「第3页」, 「第 3 页 共 15 页」, 「共15页 第3页」.
_PAGE_NUMBER_CN = re.compile(r"^(?:共\s*\d+\s*页\s*[，,]?\s*)?第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?$")

# Runs of digits, for comparing running headers across pages (「— 3 —」 and 「— 4 —」 are one line).
_DIGITS = re.compile(r"\d+")

# Two pieces of text are joined with a space only between ASCII words (「GDP」 「growth」), never in CJK.
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9]$")

_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9]")

# What Word's PDF export puts before a document title: 「Microsoft Word - 」.
_TITLE_WORD_PREFIX = re.compile(r"^Microsoft Word\s*-\s*", re.I)

# A file name standing in as the title: 「2024年政府工作报告.docx」.
_TITLE_FILE_SUFFIX = re.compile(r"\.(?:docx?|wps|pdf|html?|txt)$", re.I)

# Separators between a page's own title and the site's name (「报告_太仓市人民政府」, 「报告 - 中国政府网」).
_TITLE_SEPARATOR = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s|——)\s*")

# One CJK ideograph (a title needs two; the readable share counts them).
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class LoadedText:
    """One report file as text, whatever its format.

    ``text`` has one paragraph per line and a blank line between paragraphs (what
    :func:`rag.reading.documents.clean` reads; a lone newline would be a soft wrap to it). ``title`` is the
    document's own title (PDF/Word properties, the page title), without a site name; ``date`` the
    publication date in ISO form when the file states one (a web page's); ``metadata`` the rest of
    what the file says about itself: ``raw_title`` (the title as written, site name and all), author,
    creator, producer, pages, the HTML extraction method.
    """

    text: str
    format: Format
    title: str | None = None
    date: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)


def readable_share(text: str) -> float:
    """Share of CJK characters, digits and punctuation among the non-space characters of ``text``."""
    text = _PDF_CID.sub("\ufffd", text)
    total = good = 0
    for char in text:
        if char.isspace():
            continue
        total += 1
        if char.isdigit() or _CJK_CHAR.match(char) or (char != "\ufffd" and unicodedata.category(char)[0] in "PS"):
            good += 1
    return good / total if total else 0.0


def _check_readable(path: Path, text: str, kind: Format) -> None:
    share = readable_share(text)
    if share < MIN_READABLE_SHARE:
        source = "its text layer" if kind == "pdf" else "its text"
        raise DocumentError(
            f"{path}: {source} is not readable Chinese ({share:.0%} CJK characters, digits and punctuation; "
            f"at least {MIN_READABLE_SHARE:.0%} expected): a broken font map or a wrong encoding"
        )


def _join_paragraphs(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p.strip())


def _is_boilerplate(line: str) -> bool:
    """A web site's footer or breadcrumb line (ICP备, 版权所有, 主办单位, 当前位置：…)."""
    return len(line) <= MAX_BOILERPLATE_LINE and bool(_SITE_BOILERPLATE.search(line))


def clean_title(raw: object) -> str | None:
    """A document title without editor prefixes, file extensions or the site's name; ``None`` if none."""
    if not isinstance(raw, str):
        return None
    title = _TITLE_FILE_SUFFIX.sub("", _TITLE_WORD_PREFIX.sub("", _WHITESPACE_RUN.sub(" ", raw).strip()))
    parts = [p for p in _TITLE_SEPARATOR.split(title) if p.strip()]
    if not parts:
        return None
    title = next((p for p in parts if "报告" in p), parts[0]).strip()
    return title if len(_CJK_CHAR.findall(title)) >= 2 else None


def _inline(parts: Iterable[str]) -> str:
    """Collapse whitespace of inline text; no space survives between CJK characters."""
    joined = mark_columns("".join(parts))
    text = _WHITESPACE_RUN.sub(" ", " ".join(joined.split())).strip()
    return unmark_columns(_SPACE_IN_CJK.sub("", text))


def _join_cjk(parts: Iterable[str]) -> str:
    """Join text pieces with no space, except one between two ASCII words."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out and _ASCII_WORD_END.search(out) and _ASCII_WORD_START.search(part):
            out += " "
        out += part
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _running_key(text: str) -> str:
    return _DIGITS.sub("#", "".join(text.split()))
