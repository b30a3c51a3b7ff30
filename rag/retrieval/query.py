"""Reading region, year and intent (actual result vs. target) off a question."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import cn2an

from rag.core.errors import QueryError
from rag.text.lexicon import lexicon

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000

#: The module's words and patterns (rag/text/lexicon/query.toml, where each is explained).
_RULES = lexicon().query

#: A year as questions name it: 「2023年」, 「2023」.
YEAR_RE = re.compile(_RULES.year)
_RELATIVE = _RULES.relative_years
#: Words that ask for what a report plans, not what happened.
_PLAN_WORDS = re.compile(_RULES.plan_words)
_YEAR_RANGE_RE = re.compile(_RULES.year_range)
#: 「近三年」「过去五年」「最近2年」: the last N years up to the reference year.
_RECENT_YEARS_RE = re.compile(_RULES.recent_years)
#: 「十三五」: a five-year plan's period.
_PLAN_PERIOD_RE = re.compile(_RULES.plan_period)
_SUFFIXES = _RULES.region_suffixes
#: A year with its 「年」: where a question's part about that year starts.
_YEAR_MARK_RE = re.compile(_RULES.year_mark)


@dataclass(frozen=True)
class RegionName:
    """A region known to the corpus and the short forms people type (「太仓市」 → 「太仓」)."""

    name: str
    parent: str | None = None

    @property
    def aliases(self) -> tuple[str, ...]:
        short = self.name
        for suffix in _SUFFIXES:
            if short.endswith(suffix) and len(short) - len(suffix) >= 2:
                short = short[: -len(suffix)]
                break
        return (self.name, short) if short != self.name else (self.name,)


@dataclass(frozen=True)
class QueryIntent:
    text: str
    region: str | None = None
    year: int | None = None
    period: str | None = None  # "plan" when the question asks for targets/tasks
    #: A span of years the question asks about (「2021到2023年」「近三年」), first and last; ``year`` is
    #: then ``None``.
    years: tuple[int, int] | None = None


def validate_query(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise QueryError("the question is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the question is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    return text


def find_region(text: str, regions: Iterable[RegionName]) -> str | None:
    """The most specific known region the text names: 「苏州市相城区」 → 相城区, 「苏州」 → 苏州市."""
    best: tuple[int, int, str] | None = None
    for region in regions:
        for alias in region.aliases:
            if alias in text:
                # a sub-region (it has a parent) is more specific than its city; then the longer alias
                score = (1 if region.parent else 0, len(alias), region.name)
                if best is None or score[:2] > best[:2]:
                    best = score
    return best[2] if best else None


def find_regions(text: str, regions: Iterable[RegionName]) -> list[str]:
    """Every known region the text names, in order of mention (「太仓和相城区…」 → 太仓市, 相城区); a city
    named only as part of its district's full name (「苏州市相城区」) does not count on its own."""
    regions = list(regions)
    spans = {r.name: [(m.start(), m.end()) for a in r.aliases for m in re.finditer(re.escape(a), text)] for r in regions}
    taken: set[tuple[int, int]] = set()
    found: dict[str, int] = {}
    for region in regions:
        # a mention is one region's: not one inside another's longer name (「清苑」 of 「清苑区」 is not
        # 清苑县, the district's name before 2015), nor one a region met first already names
        own = [
            span
            for span in spans[region.name]
            if span not in taken
            and not any(o[0] <= span[0] and span[1] <= o[1] and o != span for other in spans.values() for o in other)
        ]
        if own:
            found[region.name] = min(start for start, _ in own)
            taken.update(own)
    for region in regions:
        if region.parent in found and region.name in found:
            parent = next((r.aliases for r in regions if r.name == region.parent), (region.parent,))
            rest = text
            for full in sorted((p + c for p in parent for c in region.aliases), key=len, reverse=True):
                rest = rest.replace(full, "")
            if not any(alias in rest for alias in parent):
                del found[region.parent]
    return sorted(found, key=found.get)  # type: ignore[arg-type]


def find_years(text: str) -> list[tuple[int, str | None]]:
    """The years the text names explicitly, in order, each with the period its part of the text asks
    about: 「2023年研发投入强度是多少？2024年目标又是多少？」 → [(2023, None), (2024, "plan")]."""
    return [(year, period) for year, period, _ in year_parts(text)]


#: The year a change is measured from (「…城镇化率比2023年提高了多少」): the later report states the
#: change itself, so that year is no side of a comparison. Only before a verb of change: 「比2023年多还是
#: 少」「比2023年实际建成的多多少亩」 compare two figures.
_BASELINE_YEAR_RE = re.compile(_RULES.baseline_year)
#: 「与目标相比」「完成目标了吗」: a year's result against that year's target.
_PLAN_VS_ACTUAL_RE = re.compile(_RULES.plan_vs_actual)


def asks_plan_vs_actual(text: str) -> bool:
    """Whether the question compares a year's result with its target (two sides: actual, plan)."""
    return bool(_PLAN_VS_ACTUAL_RE.search(text))


def year_parts(text: str) -> list[tuple[int, str | None, str]]:
    """Per year the text names: the year, the period its part asks about, and that part (from the
    year to the next one; text before the first year belongs to the first): 「苏州2022年新增就业人数和
    2023年的城镇新增就业目标比」 → (2022, None, 「苏州2022年新增就业人数和」), (2023, "plan", 「2023年的城镇…」)."""
    baselines = {m.start(1) for m in _BASELINE_YEAR_RE.finditer(text)}
    marks = [m for m in _YEAR_MARK_RE.finditer(text) if m.start(1) not in baselines]
    parts: dict[int, tuple[str | None, str]] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        span = text[mark.start() : end]
        year, plan = int(mark.group(1)), bool(_PLAN_WORDS.search(span))
        period, before = parts.get(year, (None, ""))
        parts[year] = ("plan" if plan else period, before + (text[:end] if i == 0 else span))
    return [(year, period, part) for year, (period, part) in parts.items()]


def _number(text: str) -> int | None:
    """「2021」「二〇二一」「三」「两」 → an int, else ``None``."""
    if text.isdigit():
        return int(text)
    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        logger.debug("not a number: %r", text)
        return None


def find_year_range(text: str, reference_year: int | None = None) -> tuple[int, int] | None:
    """The span of years a question asks about, first and last: 「2021到2023年」「2021年至2023年」
    「2021—2023年」 → (2021, 2023); a five-year plan's 「十三五」 → (2016, 2020); 「近三年」「过去五年」 end at ``reference_year`` (``None`` without
    one). A single year is no span."""
    if match := _YEAR_RANGE_RE.search(text):
        first, last = (_number(group) for group in match.groups() if group)
        if first is not None and last is not None and first != last:
            return min(first, last), max(first, last)
    if match := _PLAN_PERIOD_RE.search(text):  # the Nth five-year plan, from the third (1966) on
        first = 1966 + 5 * (10 + "一二三四五六七八九".index(match.group(1)) + 1 - 3)
        return first, first + 4
    if reference_year is not None and (match := _RECENT_YEARS_RE.search(text)):
        count = _number(match.group(1))
        if count is not None and 2 <= count <= 30:
            return reference_year - count + 1, reference_year
    return None


def parse_query(
    text: str,
    regions: Iterable[RegionName] = (),
    *,
    reference_year: int | None = None,
    reference_years: dict[str, int] | None = None,
) -> QueryIntent:
    """Region, year (or span of years) and period of a question.

    Relative years (去年, 今年, 明年) count from the newest report of the named region
    (``reference_years[region]``) or of the corpus (``reference_year``): 「去年」 is the year that
    report reviews, 「今年/明年的目标」 the year it plans for; 「近三年」 ends at that report's year.
    A question about a span (「2021到2023年」) has ``years`` and no single ``year``.
    """
    text = validate_query(text)
    region = find_region(text, list(regions))
    ref = (reference_years or {}).get(region or "", reference_year)
    years = find_year_range(text, ref)
    year: int | None = None
    if years is None:
        if match := YEAR_RE.search(text):
            year = int(match.group(1))
        elif ref is not None:
            year = next((ref + offset for word, offset in _RELATIVE.items() if word in text), None)
    period = "plan" if _PLAN_WORDS.search(text) else None
    return QueryIntent(text=text, region=region, year=year, period=period, years=years)
