"""Web pages: the article by trafilatura, else by BeautifulSoup without the site's navigation, breadcrumb and footer."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path
from typing import Any

from rag.core.errors import DocumentError
from rag.reading.loaders.common import LoadedText, _inline, _is_boilerplate, _join_paragraphs, clean_title
from rag.reading.loaders.text import decode_text
from rag.text.normalize import CELL_SEPARATOR

logger = logging.getLogger(__name__)


#: A web page whose article text (after the fallback extraction) is shorter than this is not a report.
MIN_HTML_ARTICLE_CHARS = 100

# The charset a web page declares for itself (<meta charset=…> or http-equiv Content-Type).
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)

# trafilatura's heading element says its level as rend="h2".
_HEADING_REND = re.compile(r"h[1-6]")

# HTML publication dates in meta tags a government CMS writes (PubDate, article:published_time, …).
_META_DATE_NAMES = ("pubdate", "publishdate", "article:published_time", "og:published_time", "dc.date", "dcterms.created", "date")

# A date as sites write it: 「2024-01-09」, 「2024/1/9 10:00」, 「2024年1月9日」.
_ISO_DATE = re.compile(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")


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
