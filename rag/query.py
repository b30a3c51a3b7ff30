"""Reading region, year and intent (actual result vs. target) off a question."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.errors import QueryError

MAX_QUERY_CHARS = 2000

_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年?")
_RELATIVE = {"前年": -2, "去年": -1, "上一年": -1, "上年": -1, "今年": 0, "本年": 0, "明年": 0}
#: Words that ask for what a report plans, not what happened.
_PLAN_WORDS = re.compile(r"目标|计划|预期|力争|打算|任务|安排|部署|将要|要实现|准备|拟|明年|今年要")
_SUFFIXES = ("自治区", "街道", "省", "市", "区", "县", "镇", "乡")


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
    found: dict[str, int] = {}
    for region in regions:
        at = [text.find(alias) for alias in region.aliases if alias in text]
        if at:
            found[region.name] = min(at)
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
    marks = list(re.finditer(r"((?:19|20)\d{2})\s*年", text))
    years: dict[int, str | None] = {}
    for i, mark in enumerate(marks):
        part = text[mark.start() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        year, plan = int(mark.group(1)), bool(_PLAN_WORDS.search(part))
        if year not in years or plan:
            years[year] = "plan" if plan else None
    return list(years.items())


#: Cities people ask about by their bare name; any 「…市/县/省」 the corpus lacks is caught by the pattern.
OTHER_PLACES = (
    "北京 上海 天津 重庆 南京 杭州 广州 深圳 武汉 成都 西安 无锡 常州 南通 扬州 镇江 泰州 徐州 盐城 淮安 "
    "宿迁 连云港 宁波 温州 嘉兴 合肥 济南 青岛 郑州 长沙 福州 厦门 昆山 常熟 张家港 江阴 吴江 吴中 姑苏 "
    "昆明 贵阳 南宁 海口 石家庄 太原 沈阳 大连 长春 哈尔滨 南昌 兰州 西宁 银川 乌鲁木齐 拉萨 呼和浩特"
).split()
_PLACE_RE = re.compile(r"([\u4e00-\u9fff]{2,4}?)(?:市|县|省)")
_NOT_PLACES = (
    "城市", "都市", "全市", "本市", "该市", "各市", "县级", "地级", "省级", "全省", "全县", "上市", "超市", "夜市", "强县", "强市",
)
_LEADING_WORDS = "年的在和与及对比同去今明前是"


def foreign_region(text: str, regions: Iterable[RegionName]) -> str | None:
    """A place the question names that no indexed report covers (「南京市」, 「杭州」), else ``None``.

    A parent of an indexed region counts as covered only next to it: 「昆山市玉山镇」 is 玉山镇, while
    「昆山市」 alone asks about a city whose own report is not indexed.
    """
    regions = list(regions)
    known = {alias for r in regions for alias in r.aliases}
    known |= {
        a for r in regions if r.parent and any(alias in text for alias in r.aliases) for a in RegionName(r.parent).aliases
    }
    for match in _PLACE_RE.finditer(text):
        name = match.group(0).lstrip(_LEADING_WORDS)
        if len(name) < 3 or any(bad in text[max(0, match.start() - 2) : match.end()] for bad in _NOT_PLACES):
            continue
        if not any(k in name or name in k for k in known):
            return name
    for place in OTHER_PLACES:
        if place in text and not any(place in k or k in place for k in known):
            return place
    return None


def parse_query(
    text: str,
    regions: Iterable[RegionName] = (),
    *,
    reference_year: int | None = None,
    reference_years: dict[str, int] | None = None,
) -> QueryIntent:
    """Region, year and period of a question.

    Relative years (去年, 今年, 明年) count from the newest report of the named region
    (``reference_years[region]``) or of the corpus (``reference_year``): 「去年」 is the year that
    report reviews, 「今年/明年的目标」 the year it plans for.
    """
    text = validate_query(text)
    region = find_region(text, list(regions))
    year: int | None = None
    if match := _YEAR_RE.search(text):
        year = int(match.group(1))
    else:
        ref = (reference_years or {}).get(region or "", reference_year)
        for word, offset in _RELATIVE.items():
            if word in text and ref is not None:
                year = ref + offset
                break
    period = "plan" if _PLAN_WORDS.search(text) else None
    return QueryIntent(text=text, region=region, year=year, period=period)
