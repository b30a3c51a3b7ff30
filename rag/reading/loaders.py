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

import codecs
import logging
import math
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rag.core.errors import DocumentError
from rag.text.normalize import CELL_SEPARATOR, mark_columns, unmark_columns

logger = logging.getLogger(__name__)

Format = Literal["pdf", "docx", "html", "text"]

#: What :func:`sniff_format` reads of a file (enough for the magic bytes and a ZIP's first entries).
SNIFF_BYTES = 8192
#: The largest file read at all; a report, even with images, is far below.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: A .docx is a ZIP: refuse one that would inflate beyond this, or by more than this ratio (a ZIP bomb).
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100
#: Ratios are judged only on entries this large: tiny entries have meaningless ratios.
ZIP_RATIO_MIN_ENTRY = 1024 * 1024
#: Below this share of CJK characters, digits and punctuation among non-space characters the text is
#: not a Chinese report: a wrong encoding, a broken PDF font map, a binary file.
MIN_READABLE_SHARE = 0.3
#: A web page whose article text (after the fallback extraction) is shorter than this is not a report.
MIN_HTML_ARTICLE_CHARS = 100

READABLE_KINDS = "PDF, Word .docx, HTML or text"

# --- magic bytes -------------------------------------------------------------------------------
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
# OLE2 compound file: old .doc/.xls/.wps, and also a password-protected .docx (an EncryptedPackage).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RTF_MAGIC = b"{\\rtf"
_DOCX_MAIN_PART = "word/document.xml"
# An HTML document starts (after BOM/whitespace, an XML declaration and comments) with a doctype or <html>.
_HTML_START = re.compile(rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
# HTML without a doctype/<html> (a fragment): only trusted when the extension also says HTML.
_HTML_TAG = re.compile(rb"<(?:head|body|meta|title|div|p|article|table)[\s>/]", re.I)
# The charset a web page declares for itself (<meta charset=…> or http-equiv Content-Type).
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)

# --- text quality ------------------------------------------------------------------------------
# A glyph pdfminer could not map to Unicode: counted as unreadable, then dropped.
_PDF_CID = re.compile(r"\(cid:\d+\)")
# Kangxi radicals and CJK compatibility ideographs that PDF font maps emit instead of the ordinary
# ideographs (「⼯作」 for 「工作」): NFKC maps them back so search and gold evidence match.
_CJK_LOOKALIKES = re.compile(r"[\u2e80-\u2fdf\uf900-\ufaff]")
# Spaces that extraction puts between CJK characters, digits and CJK punctuation (justified lines).
_SPACE_IN_CJK = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])[ \t\u3000]+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])"
)
_WHITESPACE_RUN = re.compile(r"[ \t\u00a0\u3000]+")
# --- boilerplate lines of web pages (also in browser-printed PDFs) -------------------------------
# Site furniture: filing numbers, copyright, sponsoring office, site id, breadcrumb. Only short lines.
_SITE_BOILERPLATE = re.compile(
    r"ICP备|ICP证|公网安备|版权所有|主办单位|承办单位|网站标识码|网站地图|技术支持[：:]|^当前位置[：:]|^您(?:现在)?的位置[：:]"
)
MAX_BOILERPLATE_LINE = 120

# --- PDF page furniture --------------------------------------------------------------------------
# Share of the page height at the top and bottom where running headers, footers and page numbers live.
PDF_BAND = 0.08
# A line that repeats (digits aside) on at least this share of the pages is a running header/footer.
PDF_REPEAT_SHARE = 0.5
# 「— 3 —」, 「- 3 -」, 「3」.
_PAGE_NUMBER_DASHED = re.compile(r"^[-—–－~·\s]*\d{1,4}[-—–－~·\s]*$")
# 「2/15」, 「2 / 15」.
_PAGE_NUMBER_OF = re.compile(r"^\d{1,4}\s*/\s*\d{1,4}$")
# 「第3页」, 「第 3 页 共 15 页」, 「共15页 第3页」.
_PAGE_NUMBER_CN = re.compile(r"^(?:共\s*\d+\s*页\s*[，,]?\s*)?第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?$")
# 「Page 3」, 「Page 3 of 15」, 「3 of 15」.
_PAGE_NUMBER_EN = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*of\s*\d{1,4})?$", re.I)
# In a text file, where a bare 「3」 may be a list's or a table's: a number set off by dashes, 「— 3 —」 「- 3 -」.
_TEXT_PAGE_NUMBER = re.compile(r"^[-—–－~]\s*\d{1,4}\s*[-—–－~]$")
# A running header or footer is a short line (a title, a date, a site's name), never a paragraph.
MAX_RUNNING_LINE = 60
# A browser's print header: 「11/30/26, 9:19 AM 标题」 or 「2024/1/9 10:03 标题」.
_BROWSER_DATE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s|$)")
# A browser's print footer starts with the page's address.
_BROWSER_URL = re.compile(r"^(?:https?|file)://", re.I)
# Runs of digits, for comparing running headers across pages (「— 3 —」 and 「— 4 —」 are one line).
_DIGITS = re.compile(r"\d+")
# Where a PDF line ends a paragraph: a sentence end or a colon, before any closing quote or bracket.
_PARAGRAPH_END = re.compile(r"[。！？：!?:][”’」』）)\]]*$")
# Two pieces of text are joined with a space only between ASCII words (「GDP」 「growth」), never in CJK.
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9]")

# trafilatura's heading element says its level as rend="h2".
_HEADING_REND = re.compile(r"h[1-6]")

# --- titles ------------------------------------------------------------------------------------
# What Word's PDF export puts before a document title: 「Microsoft Word - 」.
_TITLE_WORD_PREFIX = re.compile(r"^Microsoft Word\s*-\s*", re.I)
# A file name standing in as the title: 「2024年政府工作报告.docx」.
_TITLE_FILE_SUFFIX = re.compile(r"\.(?:docx?|wps|pdf|html?|txt)$", re.I)
# Separators between a page's own title and the site's name (「报告_太仓市人民政府」, 「报告 - 中国政府网」).
_TITLE_SEPARATOR = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s|——)\s*")
# One CJK ideograph (a title needs two; the readable share counts them).
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
# HTML publication dates in meta tags a government CMS writes (PubDate, article:published_time, …).
_META_DATE_NAMES = ("pubdate", "publishdate", "article:published_time", "og:published_time", "dc.date", "dcterms.created", "date")
# A date as sites write it: 「2024-01-09」, 「2024/1/9 10:00」, 「2024年1月9日」.
_ISO_DATE = re.compile(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")


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


# --- sniffing ----------------------------------------------------------------------------------


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


# --- entry point -------------------------------------------------------------------------------


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


# --- text --------------------------------------------------------------------------------------


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


# --- HTML --------------------------------------------------------------------------------------


def _decode_html(data: bytes, path: Path) -> str:
    """A page's markup as text: its BOM, else its declared charset, else UTF-8, else a guess."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data, path)
    if declared := _META_CHARSET.search(data[:4096]):
        name = declared.group(1).decode("ascii", "replace").lower()
        # Pages that say gb2312 or gbk routinely contain GB18030-only characters.
        name = "gb18030" if name in ("gb2312", "gbk", "x-gbk") else name
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            logger.info("%s: the declared charset %s does not decode the page; guessing", path, name)
    return decode_text(data, path)


def _load_html(path: Path) -> LoadedText:
    """The article of a web page: trafilatura, else the page's <article>/main content with BeautifulSoup."""
    import trafilatura

    markup = _decode_html(path.read_bytes(), path)
    try:
        extracted = trafilatura.extract(
            markup,
            output_format="xml",
            include_formatting=True,
            include_tables=True,
            include_comments=False,
            include_links=False,
            include_images=False,
            deduplicate=False,
        )
        meta = trafilatura.extract_metadata(markup, extensive=False)
    except Exception as exc:  # trafilatura/lxml on hostile markup: fall back rather than fail
        logger.info("%s: trafilatura failed (%s); using the fallback", path, exc)
        extracted, meta = None, None
    paragraphs = [p for p in (_trafilatura_paragraphs(extracted) if extracted else []) if not _is_boilerplate(p.lstrip("#* "))]
    method = "trafilatura"
    soup = _soup(markup)
    # title and date first: reading the content element removes the page's furniture from ``soup``
    raw_title = (meta.title if meta else None) or _soup_title(soup)
    published = _iso_date(meta.date if meta else None) or _meta_date(soup)
    blocks, in_content = _fallback_paragraphs(soup)
    if sum(map(len, paragraphs)) < MIN_HTML_ARTICLE_CHARS:  # nothing, or only a menu that looked like text
        method, paragraphs = "fallback", blocks
        if sum(map(len, paragraphs)) < MIN_HTML_ARTICLE_CHARS:
            raise DocumentError(f"{path}: this web page has no article text (a navigation or index page?)")
    elif in_content and _holds(blocks, paragraphs):
        # trafilatura drops what it judges not to be prose (on some pages every heading and list; on
        # one whose paragraphs are <span>s between <br>s, all but the headings): the page's own content
        # element, when it holds all trafilatura kept and little more — or when trafilatura kept little
        # of it —, is read whole
        method, paragraphs = "content element", blocks
    metadata: dict[str, object] = {"extraction": method}
    if meta and meta.sitename:
        metadata["site"] = meta.sitename
    if raw_title:
        metadata["raw_title"] = raw_title
    return LoadedText(_join_paragraphs(paragraphs), "html", clean_title(raw_title), published, metadata)


def _trafilatura_paragraphs(xml: str) -> list[str]:
    """Paragraphs of trafilatura's XML: <head> as ``#`` lines, <p> split at <lb/>, lists, table rows."""
    from lxml import etree

    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return []
    main = root.find("main")
    out: list[str] = []
    for element in main if main is not None else root:
        _trafilatura_block(element, out)
    return [p for p in out if p.strip()]


def _trafilatura_block(element: Any, out: list[str]) -> None:
    tag = element.tag
    if tag == "head":
        rend = str(element.get("rend", ""))
        level = int(rend[1]) if _HEADING_REND.fullmatch(rend) else 2
        text = _inline(element.itertext())
        if text:
            out.append(f"{'#' * max(1, min(level, 6))} {text}")
    elif tag == "table":
        for row in element.iter("row"):
            cells = [_inline(cell.itertext()) for cell in row.iter("cell")]
            if line := CELL_SEPARATOR.join(c for c in cells if c):
                out.append(line)
    elif tag == "list":
        for item in element.iter("item"):
            if text := _inline(item.itertext()):
                out.append(text)
    elif tag in ("p", "quote", "code"):
        out.extend(_trafilatura_paragraph(element))
    elif tag in ("div", "main", "section"):
        for child in element:
            _trafilatura_block(child, out)
    elif text := _inline(element.itertext()):
        out.append(text)


def _trafilatura_paragraph(element: Any) -> list[str]:
    """One <p> (split at <lb/> line breaks), keeping a bold lead phrase as ``**…**``."""
    pieces: list[list[str]] = [[]]
    if element.text:
        pieces[-1].append(element.text)
    for child in element:
        if child.tag == "lb":
            pieces.append([])
        else:
            if child.tag == "hi" and "#b" in str(child.get("rend", "")) and not "".join(pieces[-1]).strip():
                pieces[-1].append("**" + _inline(child.itertext()) + "**")
            else:
                pieces[-1].append("".join(child.itertext()))
        if child.tail:
            pieces[-1].append(child.tail)
    return [t for t in (_inline(p) for p in pieces) if t.strip("* ")]


def _inline(parts: Iterable[str]) -> str:
    """Collapse whitespace of inline text; no space survives between CJK characters."""
    joined = mark_columns("".join(parts))
    text = _WHITESPACE_RUN.sub(" ", " ".join(joined.split())).strip()
    return unmark_columns(_SPACE_IN_CJK.sub("", text))


def _soup(markup: str) -> Any:
    from bs4 import BeautifulSoup

    return BeautifulSoup(markup, "lxml")


_FALLBACK_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
)
# class/id words of site furniture around an article.
_FURNITURE = re.compile(r"nav|menu|breadcrumb|crumb|footer|header|sidebar|share|copyright|banner|toolbar", re.I)
_CONTENT_SELECTORS = ("article", "[role=main]", "main", ".TRS_Editor", "#zoom", ".article", "#content", ".content")
_BLOCK_TAGS = {"p", "div", "section", "li", "blockquote", "pre", "dd", "dt", "center", "td", "th", "caption", "figcaption"}


#: How much longer than trafilatura's article the page's content element may be and still be read
#: instead (more is site furniture: related links, share bars).
MAX_CONTENT_SURPLUS = 1.3
#: The share of trafilatura's article text the content element must hold.
MIN_CONTENT_HELD = 0.98
_BARE_RE = re.compile(r"[#*|\s]")
_SENTENCE_END_RE = re.compile(r"(?<=[。；！？])")


#: trafilatura's article at most this share of the content element's text: it kept little of it.
MAX_ARTICLE_SHARE = 0.5


def _holds(blocks: list[str], article: list[str]) -> bool:
    """Whether the content element's ``blocks`` hold (nearly) every paragraph of trafilatura's
    ``article``, and either not much more (:data:`MAX_CONTENT_SURPLUS` times its text) or much more
    (the article at most :data:`MAX_ARTICLE_SHARE` of the element's text: trafilatura kept little of
    it); cell marks and markup aside."""

    def bare(text: str) -> str:
        return _BARE_RE.sub("", text)

    whole = bare("".join(blocks))
    # sentence by sentence: trafilatura may run a page's <div> paragraphs into one, and leave out a table
    # between them, so that whole paragraph is found nowhere
    kept = [piece for p in article for piece in _SENTENCE_END_RE.split(bare(p)) if piece]
    held = sum(len(p) for p in kept if p in whole)
    total = sum(map(len, kept))
    if held < MIN_CONTENT_HELD * total:
        return False
    return len(whole) <= MAX_CONTENT_SURPLUS * total or total <= MAX_ARTICLE_SHARE * len(whole)


def _fallback_paragraphs(soup: Any) -> tuple[list[str], bool]:
    """The page's main content element's blocks as lines (the body's when no element is marked as the
    content), and whether such an element was found."""
    for tag in soup(list(_FALLBACK_DROP)):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.attrs is None:  # already removed with a parent
            continue
        marks = " ".join([*tag.get("class", []), tag.get("id", "") or ""])
        if marks and _FURNITURE.search(marks) and tag.name not in ("html", "body"):
            tag.decompose()
    content = next((found for selector in _CONTENT_SELECTORS if (found := soup.select_one(selector)) is not None), None)
    content = content or _prose_element(soup)
    out: list[str] = []
    _soup_blocks(content or soup.body or soup, out)
    return [p for p in out if p.strip() and not _is_boilerplate(p)], content is not None


#: The smallest element holding at least this share of the page's prose is its content element.
PROSE_HELD = 0.85
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_CONTAINER_TAGS = ("article", "main", "section", "div", "td")


def _prose_element(soup: Any) -> Any | None:
    """The page's content element when no class or id names it: the smallest container holding
    :data:`PROSE_HELD` of the page's prose (Chinese characters outside links), ``None`` when that is
    the whole body."""
    body = soup.body or soup
    linked = {id(s) for link in body.find_all("a") for s in link.find_all(string=True)}

    def prose(node: Any) -> int:
        return sum(len(_CJK_RE.findall(str(s))) for s in node.find_all(string=True) if id(s) not in linked)

    total = prose(body)
    held = [(n, tag) for tag in body.find_all(_CONTAINER_TAGS) if (n := prose(tag)) >= PROSE_HELD * total > 0]
    return min(held, key=lambda found: found[0])[1] if held else None


def _soup_blocks(node: Any, out: list[str]) -> None:
    """Walk a content element: headings as ``#`` lines, table rows joined, each block its own line."""
    from bs4 import NavigableString, Tag

    buffer: list[str] = []

    def flush() -> None:
        if text := _inline(buffer):
            out.append(text)
        buffer.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a Comment, CData or Doctype
                buffer.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            flush()
        elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            if text := _inline(child.stripped_strings):
                out.append(f"{'#' * int(name[1])} {text}")
        elif name == "tr":
            flush()
            cells = [_inline(cell.stripped_strings) for cell in child.find_all(["td", "th"], recursive=False)]
            if line := CELL_SEPARATOR.join(c for c in cells if c):
                out.append(line)
        elif name in _BLOCK_TAGS or name in ("table", "tbody", "thead", "tfoot", "ul", "ol", "dl"):
            flush()
            _soup_blocks(child, out)
        elif name in ("strong", "b") and not "".join(buffer).strip():
            buffer.append("**" + child.get_text() + "**")  # a bold lead phrase, as trafilatura's is kept
        else:
            buffer.append(child.get_text())
    flush()


def _soup_title(soup: Any) -> str | None:
    for selector, attribute in (("meta[property='og:title']", "content"), ("title", None), ("h1", None)):
        found = soup.select_one(selector)
        if found is not None:
            value = found.get(attribute) if attribute else found.get_text(" ", strip=True)
            if value:
                return str(value)
    return None


def _meta_date(soup: Any) -> str | None:
    for tag in soup.find_all("meta"):
        key = str(tag.get("name") or tag.get("property") or "").lower()
        if key in _META_DATE_NAMES and (value := _iso_date(tag.get("content"))):
            return value
    return None


def _iso_date(value: object) -> str | None:
    """``2024-01-09`` from 「2024-01-09」, 「2024/1/9 10:00」, 「2024年1月9日」; ``None`` otherwise."""
    if not isinstance(value, str) or not (match := _ISO_DATE.search(value)):
        return None
    year, month, day = map(int, match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


# --- DOCX --------------------------------------------------------------------------------------


def check_zip(path: Path) -> None:
    """Refuse a ZIP bomb before parsing: the declared sizes bound what zipfile will inflate."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"{path}: corrupt Word file ({exc})") from None
    total = sum(entry.file_size for entry in entries)
    if total > MAX_ZIP_UNCOMPRESSED:
        raise DocumentError(
            f"{path}: refused, its parts would inflate to {total / 2**20:.0f} MiB (at most {MAX_ZIP_UNCOMPRESSED // 2**20} MiB; a ZIP bomb?)"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= ZIP_RATIO_MIN_ENTRY and ratio > MAX_ZIP_RATIO:
            raise DocumentError(
                f"{path}: refused, {entry.filename} is compressed {ratio:.0f}:1 (at most {MAX_ZIP_RATIO}:1; a ZIP bomb?)"
            )


def _load_docx(path: Path) -> LoadedText:
    """Body paragraphs and tables in document order; heading styles as ``#`` lines; no page headers/footers."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    check_zip(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise DocumentError(f"{path}: corrupt Word file ({type(exc).__name__}: {_one_line(exc)})") from None
    styles = _docx_style_names(document)
    paragraphs = list(_docx_blocks(document.element.body, styles))
    props = document.core_properties
    metadata: dict[str, object] = {"raw_title": props.title} if props.title else {}
    for key in ("author", "last_modified_by"):
        if value := getattr(props, key, None):
            metadata[key] = value
    for key in ("created", "modified"):
        if value := getattr(props, key, None):
            metadata[key] = value.isoformat()
    return LoadedText(_join_paragraphs(paragraphs), "docx", clean_title(props.title), None, metadata)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Word and WPS heading styles, English or Chinese names: 「Heading 2」, 「heading 2」, 「标题 2」.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
# The document title style: 「Title」, 「标题」.
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.I)


def _docx_style_names(document: Any) -> dict[str, str]:
    """Paragraph style id → name (ids are what paragraphs reference; names say 「Heading 1」)."""
    names: dict[str, str] = {}
    for style in document.styles.element.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId")
        name = style.find(f"{_W}name")
        if style_id and name is not None:
            names[style_id] = str(name.get(f"{_W}val") or "")
    return names


def _docx_blocks(container: Any, styles: dict[str, str]) -> Iterator[str]:
    """Paragraph and table lines of a body (or content control) in document order."""
    for child in container.iterchildren():
        if child.tag == f"{_W}p":
            if line := _docx_paragraph(child, styles):
                yield line
        elif child.tag == f"{_W}tbl":
            yield from _docx_table(child)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _docx_blocks(content, styles)


def _docx_heading_level(p: Any, styles: dict[str, str]) -> int | None:
    ppr = p.find(f"{_W}pPr")
    if ppr is None:
        return None
    style = ppr.find(f"{_W}pStyle")
    name = styles.get(str(style.get(f"{_W}val")), str(style.get(f"{_W}val"))) if style is not None else ""
    if match := _HEADING_STYLE.match(name):
        return int(match.group(1))
    if _TITLE_STYLE.match(name):
        return 1
    outline = ppr.find(f"{_W}outlineLvl")
    if outline is not None and str(outline.get(f"{_W}val", "9")).isdigit() and int(outline.get(f"{_W}val")) < 9:
        return int(outline.get(f"{_W}val")) + 1
    return None


def _docx_runs(p: Any) -> Iterator[tuple[str, bool]]:
    """(text, bold) of each run of a paragraph, including hyperlinks and tracked insertions, not deletions."""
    for run in p.iter(f"{_W}r"):
        if any(a.tag in (f"{_W}del", _MC_FALLBACK, f"{_W}txbxContent") for a in run.iterancestors()):
            continue
        parts: list[str] = []
        for node in run:
            if node.tag == f"{_W}t":
                parts.append(node.text or "")
            elif node.tag in (f"{_W}tab",):
                parts.append(" ")
            elif node.tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
        if parts:
            yield "".join(parts), _docx_bold(run)


def _docx_bold(run: Any) -> bool:
    rpr = run.find(f"{_W}rPr")
    bold = rpr.find(f"{_W}b") if rpr is not None else None
    return bold is not None and str(bold.get(f"{_W}val", "true")).lower() not in ("0", "false", "off")


def _docx_paragraph(p: Any, styles: dict[str, str]) -> str:
    runs = list(_docx_runs(p))
    text = _inline_lines("".join(t for t, _ in runs))
    if not text:
        return ""
    if (level := _docx_heading_level(p, styles)) is not None:
        return f"{'#' * min(level, 6)} {text.replace(chr(10), '')}"
    lead: list[str] = []
    for run_text, bold in runs:
        if not bold and run_text.strip():
            break
        lead.append(run_text)
    bold_prefix = _inline("".join(lead))
    if bold_prefix and bold_prefix != text and text.startswith(bold_prefix):
        return f"**{bold_prefix}**{text[len(bold_prefix) :]}"
    return text


def _inline_lines(text: str) -> str:
    """A paragraph's text; a manual line break inside it starts a new paragraph line."""
    return "\n\n".join(line for line in (_inline([part]) for part in text.split("\n")) if line)


def _docx_table(tbl: Any) -> Iterator[str]:
    """One line per row, cells joined with 「 | 」.

    A cell spanning several columns appears once in its row (python-docx repeats it per grid column:
    deduplicated by the ``_tc`` element). A cell merged down several rows gives its text to each of
    them, so every row keeps its label. A nested table's text stays inside its cell.
    """
    from docx.table import Table

    for row in Table(tbl, None).rows:  # type: ignore[arg-type]  # no parent: only the XML is read
        try:
            tcs = [cell._tc for cell in row.cells]
        except (ValueError, IndexError):  # a malformed merge: the row's own cells
            tcs = list(row._tr.tc_lst)
        seen: list[Any] = []  # the elements themselves: lxml keeps one proxy per element while referenced
        cells: list[str] = []
        for tc in tcs:
            if any(tc is other for other in seen):
                continue
            seen.append(tc)
            texts = ["".join(t for t, _ in _docx_runs(p)) for p in tc.iter(f"{_W}p")]
            if text := _inline([_join_cjk(t.strip() for t in texts)]):
                cells.append(text)
        if cells:
            yield CELL_SEPARATOR.join(cells)


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


# --- PDF ---------------------------------------------------------------------------------------


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


def _running_key(text: str) -> str:
    return _DIGITS.sub("#", "".join(text.split()))


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


_LOADERS: dict[Format, Callable[[Path], LoadedText]] = {
    "pdf": _load_pdf,
    "docx": _load_docx,
    "html": _load_html,
    "text": _load_text,
}
