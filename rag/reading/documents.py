"""Reading and cleaning report files: raw text in, a :class:`Report` with clean paragraphs and metadata out.

Cleaning never changes meaning. It removes extraction noise (watermark lines, page-continuation
markers, markdown marks, spaced-out titles), re-joins lines that PDF extraction broke in the middle of
a sentence, and normalises spacing and punctuation so that 「8000 亩」 and 「8000亩」 read the same.
Numbers are never altered beyond mapping full-width digits to ASCII.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.core.errors import DocumentError
from rag.reading.headings import divisions_in, heading_rank, is_title, numbered_rank, plan_year, region_in
from rag.reading.loaders import load_document, sniff_file
from rag.reading.places import most_named_division, report_level
from rag.reading.tables import with_units
from rag.text.gazetteer import adcode_level, division, division_codes
from rag.text.lexicon import lexicon
from rag.text.normalize import CELL_SEPARATOR, CJK, SPACES, normalize_inline

logger = logging.getLogger(__name__)

#: The version of the rules that turn a report into passage text; raise it when they change what a
#: passage says (an index built by other rules is then rebuilt by ``rag ingest --if-needed``).
#: 2: columns set apart inside a line by wide spaces are cells (「a | b」), as a table's.
#: 3: a numbered list's items (「1.地区生产总值增长7%左右；」) are text, not headings.
#: 4: a division the gazetteer lacks is read from the opening or the date line (the region of a passage).
#: 5: a unit a table states once (a unit column, 「（%）」 in a header, 「单位：亿元」) is written into its cells;
#:    a text file's page numbers and running headers go; a wrapped line that reads like a heading is joined.
#: 6: a review of several years, or an opening, without a year of its own describes the year before the
#:    report's (a report delivered in year N reviews N−1).
#: 7: a report whose title and opening name no place (「我代表区政府」, a text from 「一、」 on) is the place
#:    of its level its text names most often; the speaker's line (「涞源县人民政府县长」) and 「我代表…第十四届
#:    人民政府」 name it; a date alone in a line of the opening (「2020年1月9日」) is the delivery date; a
#:    five-year review counted from a term's first year (「1998年以来的五年」) was delivered five years on.
#: 8: the opening (preamble) of a report delivered in year N describes N−1, as its review does.
READING_VERSION = 8
#: Extensions a folder scan picks up; other files count only when their content sniffs as PDF, Word or HTML.
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm")
MANIFEST_NAME = "manifest.json"

# --- character classes ---------------------------------------------------------------------
_TERMINAL = "。！？；：…”」』）)!?;:"

# --- line-level noise ----------------------------------------------------------------------
_WATERMARK = re.compile(r"^更多数据尽在")
_PAGE_MARKER = re.compile(r"^[（(]\s*(?:上接|下转|转)第?\s*[0-9一二三四五六七八九十]+\s*版\s*[）)]$")
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_MD_HEADING = re.compile(r"^#{1,6}\s*")
_BOLD_LEAD = re.compile(r"^\*\*([^*]{2,40}?)\*\*")
_EMPHASIS = re.compile(r"\*\*|__")
_SPACED_TITLE = re.compile(rf"^(?:[{CJK}][{SPACES}]+)+[{CJK}]$")

# --- metadata ------------------------------------------------------------------------------
# The region patterns may be loose: what they catch counts only when it is a chain of divisions the
# gazetteer knows (rag.reading.headings.divisions_in), so 「…代表委员对市人民政府」 names no region 「委员对市」.
#: The opening: 「现在，我代表苏州市相城区人民政府，向大会报告工作」 (a league's: 「…盟行政公署」).
#: A new term's government names its term: 「我代表容城县第十四届人民政府」.
_REGION_RE = re.compile(rf"代表([{CJK}]{{2,24}}?)(?:第[一二三四五六七八九十]+届)?(?:人民政府|行政公署)")
#: A title, the report's own line or the file's title from its loader: 「2024年无锡市政府工作报告」,
#: 「宜兴市人民政府工作报告」, 「政府工作报告_无锡市人民政府」; no sentence (「2023年政府工作报告确定的…，」).
_TITLE_LINE_RE = re.compile(r"^[^，。；！？]*政府工作报告[^，。；！？]*$")
MAX_TITLE = 40
#: In a title the region is the place right before 「(人民)政府」, once the years are gone.
_TITLE_REGION_RE = re.compile(rf"([{CJK}]{{2,24}}?)(?:人民)?政府")
#: A title's year (「2024年无锡市政府工作报告」: the year the report plans for).
_TITLE_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年度?")
#: The date line: 「——2024年1月9日在…会议上」, also in brackets or with one dash left by extraction.
_DATE_RE = re.compile(r"(?:——|^[—（(－-])\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", re.M)
#: The session the date line names: 「…日在太仓市第十七届人民代表大会」, 「…日在苏州市十七届人大」.
_DATE_REGION_RE = re.compile(rf"日在([{CJK}]{{2,24}}?)第?[一二三四五六七八九十]+届")
#: The party committee, a last resort: 「中共太仓市委」.
_REGION_FALLBACK_RE = re.compile(rf"中共([{CJK}]{{2,24}}?)委")
_HEADINGS = lexicon().headings
#: The speaker's line: 「涞源县人民政府县长 周峰」, 「保定市徐水区人民政府区长 李志永」.
_SPEAKER_LINE_RE = re.compile(_HEADINGS.speaker_line)
#: A full date, which in a short line of the opening without sentence punctuation is the delivery date.
_DATE_LINE_RE = re.compile(_HEADINGS.date_line)
#: Longest such line: 「2019年1月29日保定市徐水区第二届人民代表大会第三次会议」 is 33.
MAX_DATE_LINE = 60
#: 「1998年以来的五年」「2007年换届以来」: a term's review counted from its first year.
_TERM_SINCE_RE = re.compile(_HEADINGS.term_since)
#: A term of government lasts five years: a review counted from its first year is delivered five years on.
TERM_YEARS = 5
#: How many paragraphs from the start a term's review is looked for in.
_TERM_PARAGRAPHS = 30
#: A chain of divisions as written, for names the gazetteer lacks: split on their suffixes.
_ADMIN_UNIT = rf"[{CJK}]{{1,8}}?(?:省|自治区|市|区|县|镇|乡|街道)"
_ADMIN_CHAIN_RE = re.compile(rf"(?:{_ADMIN_UNIT})+")
_UNIT_SPLIT_RE = re.compile(_ADMIN_UNIT)
#: 「市长  徐华东」「苏州市市长 吴庆文」「代市长…」: the title at a line's start or right after a place, so
#: that 「副市长」 or 「苏州长江…」 is no speaker.
_SPEAKER_RE = re.compile(
    rf"(?:^|(?<=[省市区县州盟旗镇乡代理]))(市长|区长|县长|镇长|乡长|省长|州长|旗长|盟长|主席)[{SPACES}]*([{CJK}]{{2,4}})", re.M
)


@dataclass(frozen=True)
class Paragraph:
    """One cleaned paragraph; ``heading`` is set when the source marked it as a heading (``#``)."""

    text: str
    heading: bool = False
    #: A bold lead phrase (``**永葆公心,提升政府效能。**…``), already normalised, without its marks.
    lead: str | None = None


@dataclass
class Report:
    """A cleaned report and its metadata."""

    doc_id: str
    source: str
    paragraphs: list[Paragraph]
    sha256: str
    region: str | None = None
    parent_region: str | None = None
    year: int | None = None
    date: date | None = None
    speaker: str | None = None
    title: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The cleaned full text: paragraphs separated by blank lines. Chunks are substrings of it."""
        return "\n\n".join(p.text for p in self.paragraphs)

    def metadata(self) -> dict[str, object]:
        """Plain-dict metadata for manifests, JSON output and the API."""
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "region": self.region,
            "parent_region": self.parent_region,
            "year": self.year,
            "date": self.date.isoformat() if self.date else None,
            "speaker": self.speaker,
            "title": self.title,
            "sha256": self.sha256,
        }


# --- reading -------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a report file of any supported format (:mod:`rag.reading.loaders`) as the text :func:`clean` reads.

    A ``.txt``/``.md`` file comes back exactly as decoded; PDF, Word and HTML files come back with
    their page furniture removed. Anything else raises :class:`DocumentError` naming the file.
    """
    return load_document(path).text


def file_sha256(path: Path) -> str:
    """Content hash of a report file: what the index manifest records to notice changed files."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(paths: list[Path]) -> list[Path]:
    """Expand directories into their report files (sorted); files are taken as given.

    A folder contributes its files with a known suffix, and also downloads with another or no suffix
    (「W020240128…」) whose first bytes are a PDF, a Word file or a web page: sniffing text as well would
    pick up every README and JSON file. Word's lock files (「~$…」) are never reports.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and _is_report_file(p)))
        elif path.exists():
            found.append(path)
        else:
            raise DocumentError(f"{path}: no such file or directory")
    if not found:
        raise DocumentError(f"no report files ({', '.join(SUPPORTED_SUFFIXES)}) in {', '.join(map(str, paths))}")
    return found


def _is_report_file(path: Path) -> bool:
    if path.name.startswith("~$"):
        return False
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return True
    if path.name.startswith(".") or path.name == MANIFEST_NAME:
        return False
    try:
        return sniff_file(path) in ("pdf", "docx", "html")
    except OSError:
        return False


def load_manifest(directory: Path) -> dict[str, dict[str, object]]:
    """Optional per-file metadata overrides in ``<dir>/manifest.json``: ``{file name: {region, year, ...}}``."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DocumentError(f"{path}: expected an object mapping file names to metadata objects")
    return data


def load_report(path: Path, overrides: dict[str, object] | None = None) -> Report:
    """Read, clean and describe one report file (any format :mod:`rag.reading.loaders` reads).

    The metadata read off the text wins; what the file says about itself fills gaps. Its title (a
    PDF's, Word file's or web page's, without the site's name) is the report's title, given to
    :func:`detect_metadata` as found, and becomes the first line when the text has no title line of
    its own, so that line-based detection sees it too. A web page's publication date stands in for a
    missing report date when it falls in the report's year.
    """
    loaded = load_document(path)
    raw = loaded.text
    title = loaded.title if loaded.title and is_title(loaded.title) else None
    if title and not _has_title_line(raw):
        raw = f"{title}\n\n{raw}"
    paragraphs = clean(raw)
    if loaded.format != "text":
        paragraphs = _from_title(paragraphs)
    if not paragraphs:
        raise DocumentError(f"{path}: no text left after cleaning")
    report = Report(
        doc_id=path.stem,
        source=path.name,
        paragraphs=paragraphs,
        sha256=file_sha256(path),
        title=title,
    )
    report.extra["format"] = loaded.format
    if loaded.metadata.get("raw_title"):
        report.extra["raw_title"] = loaded.metadata["raw_title"]
    detect_metadata(report)
    if report.date is None and loaded.date:
        published = date.fromisoformat(loaded.date)
        if report.year in (None, published.year):
            report.date = published
            report.year = published.year
    for key, value in (overrides or {}).items():
        if key == "date" and isinstance(value, str):
            value = date.fromisoformat(value)
        if not hasattr(report, key) or key in {"paragraphs", "sha256", "source"}:
            report.extra[key] = value
        else:
            setattr(report, key, value)
    if report.title is None and report.region and report.year:
        report.title = f"{report.region}{report.year}年政府工作报告"
    return report


#: How many leading lines may hold the report's own title line (after the site's or a date line).
_TITLE_LINES = 8


def _from_title(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Paragraphs from the report's title line on, when one of the first lines is the title.

    What comes before it in a printed web page or a PDF is the site's name, its navigation and a
    「发布日期」 line, not the report (and a title amid the preamble would break the sections). With
    several title lines (the site's banner 「…人民政府办公室政府工作报告」, then the report's), the last.
    """
    first = max((i for i, p in enumerate(paragraphs[:_TITLE_LINES]) if is_title(p.text)), default=0)
    if first:
        logger.debug("dropped %d lines before the title: %s", first, [p.text for p in paragraphs[:first]])
    return paragraphs[first:]


def _has_title_line(raw: str) -> bool:
    """Whether one of the first lines of ``raw`` is a title line (「政府工作报告」, 「政 府 工 作 报 告」)."""
    lines = [line for line in raw.splitlines() if line.strip()][:_TITLE_LINES]
    return any(is_title(re.sub(r"[\s#*]+", "", line)) for line in lines)


def load_reports(paths: list[Path]) -> list[Report]:
    """Load every report under ``paths``; manifests next to the files supply metadata overrides."""
    files = discover(paths)
    manifests: dict[Path, dict[str, dict[str, object]]] = {}
    reports = []
    for file in files:
        if file.name == MANIFEST_NAME:
            continue
        manifest = manifests.setdefault(file.parent, load_manifest(file.parent))
        reports.append(load_report(file, manifest.get(file.name)))
    return reports


# --- cleaning ------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    heading: bool
    lead: str | None
    hard_break: bool


def _clean_line(line: str) -> _Line | None:
    """Strip one raw line of its noise; ``None`` when the whole line is noise or blank."""
    hard_break = line.endswith("  ")
    line = _BOOKMARK.sub("", line).strip(SPACES + "\r")
    if not line or _WATERMARK.match(line) or _PAGE_MARKER.match(line):
        return None
    heading = False
    if _MD_HEADING.match(line):
        heading = True
        line = _MD_HEADING.sub("", line)
    lead = None
    bold = _BOLD_LEAD.match(line)
    if bold and len(line) > len(bold.group(0)):
        lead = normalize_inline(bold.group(1)).rstrip("。：:，,")
    line = _EMPHASIS.sub("", line).strip(SPACES)
    if _SPACED_TITLE.match(line):
        line = re.sub(f"[{SPACES}]+", "", line)
    line = normalize_inline(line)
    return _Line(line, heading, lead, hard_break) if line else None


def _ends_sentence(text: str) -> bool:
    return text.endswith(tuple(_TERMINAL))


def _joinable(prev: str, nxt: _Line, min_len: int) -> bool:
    """Whether ``nxt`` continues the sentence that ``prev`` left open (a PDF line break)."""
    return (
        (len(prev) >= min_len or "，" in prev or "。" in prev)
        and not _ends_sentence(prev)
        and CELL_SEPARATOR not in prev  # a table row (「指标 | 2023年 | 增长」) is a line of its own
        and CELL_SEPARATOR not in nxt.text
        and not nxt.heading
        and not nxt.text.startswith("——")
        and (not looks_like_heading(nxt.text) or _wrapped_into(prev, nxt.text))
        and not looks_like_heading(prev)
    )


#: A line at least this long that stops mid-sentence was wrapped, not ended.
MIN_WRAPPED_LINE = 20


def _wrapped_into(prev: str, nxt: str) -> bool:
    """Whether an unnumbered line that reads like a period heading (「主要目标任务。」) is the end of the
    sentence a long line before it left open (「…较好完成了市十五届人大四次会议确定的」): a heading
    never continues a sentence."""
    return len(prev) >= MIN_WRAPPED_LINE and numbered_rank(nxt) is None


def looks_like_heading(text: str) -> bool:
    """A short numbered line (一、 （一） 1. (1)) or a period heading (「2024年主要任务」) standing alone."""
    return heading_rank(text) is not None and len(text) <= 60 and "。" not in text.rstrip("。")


def clean(raw: str) -> list[Paragraph]:
    """Turn raw report text into clean paragraphs (see the module docstring for what changes)."""
    blocks: list[list[_Line]] = [[]]
    for raw_line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw_line.strip():
            if blocks[-1]:
                blocks.append([])
            continue
        line = _clean_line(raw_line)
        if line is not None:
            blocks[-1].append(line)

    merged: list[_Line] = []
    for block in filter(None, blocks):
        # Inside a block, a single newline is a soft wrap unless the line ends a sentence,
        # is a heading, or carries a markdown hard break (two trailing spaces).
        current = block[0]
        for line in block[1:]:
            if not current.hard_break and not current.heading and _joinable(current.text, line, min_len=1):
                current = _Line(current.text + line.text, False, current.lead, line.hard_break)
            else:
                merged.append(current)
                current = line
        merged.append(current)

    paragraphs: list[_Line] = []
    for line in merged:
        prev = paragraphs[-1] if paragraphs else None
        # Across a blank line, only prose (long, or with sentence punctuation) cut off mid-sentence
        # is continued; short unpunctuated lines (dates, speaker, titles) stay apart.
        if prev is not None and not prev.heading and _joinable(prev.text, line, min_len=40):
            paragraphs[-1] = _Line(prev.text + line.text, False, prev.lead, line.hard_break)
        else:
            paragraphs.append(line)
    texts = with_units([p.text for p in paragraphs])
    return [Paragraph(text, p.heading, p.lead) for text, p in zip(texts, paragraphs, strict=True)]


# --- metadata ------------------------------------------------------------------------------


def split_region(full: str) -> tuple[str, str | None]:
    """``苏州市相城区`` → (``相城区``, ``苏州市``); ``太仓市`` → (``太仓市``, None); ``昆山市玉山镇`` → (``玉山镇``,
    ``昆山市``). The gazetteer splits the chain (「黔东南苗族侗族自治州」 is one division); a name it lacks is
    split on the suffixes as written."""
    units = divisions_in(full) or _UNIT_SPLIT_RE.findall(full)
    if len(units) >= 2 and "".join(units) == full:
        return units[-1], "".join(units[:-1])
    return full, None


def detect_metadata(report: Report) -> None:
    """Fill region, date, year and speaker from the text where they can be read off it.

    The region is the first place that names divisions the gazetteer knows, read from, in this order:
    the opening (「我代表…人民政府」, 「我代表容城县第十四届人民政府」), the title (``report.title`` as the
    loader found it, or a title line), the date line's session (「…日在太仓市第十七届人民代表大会」), the
    speaker's line (「涞源县人民政府县长」). Else, for a division the gazetteer lacks, the opening's
    「我代表…人民政府」 or the date line's session, when shaped like a chain of divisions. Else the opening
    anywhere or the party committee (「中共太仓市委」) when of the report's level
    (:func:`rag.reading.places.report_level`: not 「中共河北省委」 in a county's report), else the place
    of that level the text names most often (:func:`rag.reading.places.most_named_division`, which
    gives its parent too). A parent region comes with it when one of the first four writes the chain
    (「苏州市相城区」), or, for a county-level place, when the text writes the chain further on
    (「保定市清苑区」). The date and year are the date line's (「——2024年1月9日在…」, else a short line
    of the opening with one date: 「2020年1月9日」), else the title's year, else the first part
    heading's, else five years after the first year a new term's review counts from (「1998年以来的五年」).
    """
    heads = [p.text for p in report.paragraphs[:12]]
    head = "\n".join(heads)
    body = report.text
    titles = [t for t in (report.title or "", *heads) if _TITLE_LINE_RE.search(t) and len(t) <= MAX_TITLE]
    opening_matches = list(_REGION_RE.finditer(head))
    openings = [m.group(1) for m in opening_matches]
    sworn = [m.group(1) for m in opening_matches if head[max(0, m.start() - 1) : m.start()] == "我"]
    sessions = [m.group(1) for m in _DATE_REGION_RE.finditer(head)]
    speakers = [said.group(1) for line in heads if (said := _SPEAKER_LINE_RE.match(line))]
    own = [
        *openings,
        *(region_in(m.group(1)) or "" for t in titles for m in _TITLE_REGION_RE.finditer(_TITLE_YEAR_RE.sub("", t))),
        *sessions,
        *speakers,
    ]
    elsewhere = itertools.chain(
        (m.group(1) for m in _REGION_RE.finditer(body)),
        (region_in(m.group(1)) or "" for m in _REGION_FALLBACK_RE.finditer(body)),
    )
    found = next((name for name in own if divisions_in(name)), None)
    # a division the gazetteer lacks (new, renamed, or no gazetteer data): the speaker's own words
    # 「我代表…人民政府」 or the date line's session, when shaped like a chain of divisions
    unknown = next((name for name in (*sworn, *sessions) if _ADMIN_CHAIN_RE.fullmatch(name)), None)
    if found is None and unknown is None:
        # nothing at the top names the place: a 「代表…人民政府」 or 「中共…委」 further on of the report's
        # level (not 「中共河北省委」 in a county's), else the place of that level the text names most
        level = report_level(body)
        found = next((name for name in elsewhere if divisions_in(name) and _of_level(name, level)), None)
        if found is None and (named := most_named_division(body)):
            report.region, report.parent_region = named
    found = found or unknown
    if found:
        report.region, report.parent_region = split_region(found)
        if report.parent_region is None:
            longer = (split_region(name) for name in own if name.endswith(found) and name != found)
            report.parent_region = next((parent for region, parent in longer if region == found and parent), None)
        if report.parent_region is None and _county_level(report.region):
            # the text writes the county's chain further on (「保定市容城县」): its prefecture
            above = division(report.region)
            if above and above.parent and f"{above.parent}{report.region}" in body:
                report.parent_region = above.parent

    if date_match := _DATE_RE.search(head) or _date_line(heads):
        y, m, d = map(int, date_match.groups())
        try:
            report.date = date(y, m, d)
            report.year = y
        except ValueError:
            logger.warning("%s: invalid report date %s", report.source, date_match.group(0))
    if report.year is None:
        report.year = next((int(year.group(1)) for t in titles if (year := _TITLE_YEAR_RE.search(t))), None)
    if report.year is None:
        report.year = plan_year(p.text for p in report.paragraphs)
    if report.year is None:
        report.year = _term_year(p.text for p in report.paragraphs[:_TERM_PARAGRAPHS])
    if speaker := _SPEAKER_RE.search(head):
        report.speaker = f"{speaker.group(1)}{speaker.group(2)}"


def _date_line(lines: list[str]) -> re.Match[str] | None:
    """The date of the first short line of the opening that carries one full date and no sentence
    punctuation (a 「？」 there is a character lost in extraction): 「2020年1月9日」, 「2021年2月5日在县十六届人民代表大会第五次会议上」, 「——在阜平县第十七届
    人民代表大会第一次会议上（2017年2月26日）」 (a date inside a sentence is not the report's)."""
    for line in lines:
        dates = list(_DATE_LINE_RE.finditer(line))
        if len(dates) == 1 and len(line) <= MAX_DATE_LINE and not re.search("[，。；]", line):
            return dates[0]
    return None


def _term_year(texts: Iterable[str]) -> int | None:
    """The year of a new term's report from its review: 「1998年以来的五年」 or 「2007年换届以来」 → five
    years on (2003, 2012)."""
    for text in texts:
        if since := _TERM_SINCE_RE.search(text):
            return int(since.group(1) or since.group(2)) + TERM_YEARS
    return None


#: How high a division of each suffix stands (1 a province); 「区」 may be a district or an autonomous region.
_RANKS = {"省": 1, "自治区": 1, "市": 2, "州": 2, "盟": 2, "地区": 2, "县": 3, "旗": 3, "镇": 4, "乡": 4, "街道": 4}


def _of_level(name: str, level: str | None) -> bool:
    """Whether a place named as a chain may be the report's, whose own place has the suffix ``level``:
    not a division above it (「中共河北省委」, 「中共保定市委」 in a county's report)."""
    place = split_region(name)[0]
    rank = next((r for suffix, r in _RANKS.items() if place.endswith(suffix)), None)
    own = _RANKS.get(level or "")
    return rank is None or own is None or rank >= own


def _county_level(name: str) -> bool:
    """Whether the gazetteer knows ``name`` as a county-level division only (区, 县, 县级市, 旗)."""
    codes = division_codes().get(name, [])
    return bool(codes) and all(adcode_level(code) == 3 for code in codes)
