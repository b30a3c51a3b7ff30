"""Recognising the structure vocabulary of government work reports: parts, headings, titles, places.

Ranks, from the top: 0 = a part heading that says which year it speaks about (「2023年工作回顾」,
「二、2024年主要任务」, 「今年的主要任务」), 1 = 一、, 2 = （一）, 3 = 1. / 1、, 4 = (1). Markdown ``#``
levels are used inconsistently in the reports, so the numbering, not the number of ``#``, decides the rank.

Parts are read by general rules, not by the titles of the reports we have seen: a short heading that
names a time (a year, 今年, 过去一年) and ends in the words of a review (回顾, 总结) or of a plan (安排,
任务, 重点, 目标, 建议, 计划, 部署) is a part heading; so is a heading made of those words alone
(「主要任务」). Where a report has no such heading, the opening words of a paragraph say when the report
turns to the coming year (「今年是…之年」, 「今年经济社会发展的主要预期目标是」).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from rag.text.gazetteer import DIVISION_SUFFIXES, TOWN_SUFFIXES, division_names
from rag.text.lexicon import lexicon
from rag.text.numbers import comparable, figures_in

Period = Literal["preamble", "review", "plan", "glossary"]

#: The module's words and patterns (rag/text/lexicon/headings.toml, where each is explained).
_RULES = lexicon().headings

_RANKED = tuple((r.rank, re.compile(r.pattern)) for r in _RULES.ranked)
#: How a line that goes on (a list item, a clause) ends; a heading does not.
_CLAUSE_ENDS = _RULES.clause_ends
_GLOSSARY_RE = re.compile(_RULES.glossary)
_GLOSSARY_TERM_RE = re.compile(_RULES.glossary_term)
_TITLE_RE = re.compile(_RULES.title)

#: Longest heading text taken from the start of a paragraph that also carries body text.
MAX_EMBEDDED_HEADING = 60
#: Longest part heading (「二、2024年政府工作的总体要求和主要目标任务」 is 22).
MAX_PART_HEADING = 40

# --- part headings ---------------------------------------------------------------------------
# A part is numbered like a top-level heading (「二、」「第二部分」) or not at all, never （一） or 1.:
# those number the subsections inside a part, which may well name a year (「（三）2024年重点项目」).
_PART_NUMBER_RE = re.compile(_RULES.part_number)
# A heading is one phrase: no punctuation inside (「2023年，我们坚持…」 is a sentence).
_INNER_PUNCT_RE = re.compile(_RULES.inner_punct)
# The time a part speaks about, each kind its own group: a year written out, the report's own year,
# the year before it, several past years (a new term's review), several coming years (its plan).
_WHEN_RE = re.compile(_RULES.when)
# At most a verb or two before the time: 「关于2024年工作安排」, 「做好今年工作」 (never a number: 「（三）2024年…」).
_BEFORE_WHEN_RE = re.compile(_RULES.before_when)
# What a review part says it is: 「工作回顾」「工作总结」「主要工作完成情况」.
_REVIEW_WORDS_RE = re.compile(_RULES.review_words)
# What a plan part says it is: 「工作安排」「主要任务」「重点工作」「主要目标」「工作建议」「总体要求」「工作展望」.
_PLAN_WORDS_RE = re.compile(_RULES.plan_words)
# Those words close the heading: 「2024年重点工作」 is a part, 「2024年重点项目建设取得新突破」 a claim.
_PART_END_RE = re.compile(_RULES.part_end)
# 「2023年工作」「2024年政府工作」「2023年主要工作」: a year and 「工作」 alone, no word of either kind.
_BARE_WORK_RE = re.compile(_RULES.bare_work)
# A heading made of the parts' own vocabulary only, with no time: 「主要任务」「工作回顾」「重点工作」
# 「目标任务」「下一步工作安排」 (but not 「全面完成目标任务」, a subsection's claim).
_PART_WORDS_ONLY_RE = re.compile(_RULES.part_words_only)


def _part_text(text: str) -> str | None:
    """The heading without its part number, or ``None`` when the text is not shaped like a part heading."""
    if len(text) > MAX_PART_HEADING:
        return None
    rest = _PART_NUMBER_RE.sub("", text.strip()).rstrip("。：:")
    if not rest or _INNER_PUNCT_RE.search(rest):
        return None
    return rest


def _kind_of(words: str) -> Period | None:
    if _REVIEW_WORDS_RE.search(words):
        return "review"
    if _PLAN_WORDS_RE.search(words):
        return "plan"
    return None


def period_of(text: str, report_year: int | None = None) -> tuple[Period, int | None] | None:
    """The part a heading opens and the year it speaks about, or ``None`` for any other text.

    ``("review", 2023)`` for 「2023年政府工作回顾」, ``("plan", 2024)`` for 「二、2024年主要任务」 and for
    「2024年重点工作」; with the report's year known, 「今年的主要任务」 is its plan and 「过去一年工作回顾」
    or 「2023年工作」 the review of the year before. A plan for a year before the report's cannot be,
    so there the heading is a review (「2023年主要任务」 in a 2024 report: what was to be done).
    """
    rest = _part_text(text)
    if rest is None:
        return None
    when = _WHEN_RE.search(rest)
    if when is None or not _BEFORE_WHEN_RE.match(rest[: when.start()]):
        # no time named: the vocabulary alone places the part (「二、主要任务」「一、工作回顾」)
        kind = _kind_of(rest) if _PART_WORDS_ONLY_RE.match(rest) else None
        if kind is None:
            return None
        return kind, _year_of(kind, report_year)
    words = rest[when.end() :]
    if not _PART_END_RE.search(words) or len(words) > MAX_PART_HEADING // 2:
        return None
    kind = _kind_of(words)
    if when.group("year"):
        year = int(when.group("year"))
        if kind is None and not _BARE_WORK_RE.match(words):
            return None
        if kind == "review":
            return "review", year
        # a plan for a year already past cannot be: it is what was to be done
        if report_year is not None and year < report_year:
            return "review", year
        # 「2023年工作」 alone, the report's year unknown, looks back
        if kind is None and report_year is None:
            return "review", year
        return "plan", year
    if when.group("this") or when.group("next"):
        if kind != "plan" and not _BARE_WORK_RE.match(words):
            return None
        return "plan", report_year if when.group("this") else None
    if kind == "plan":  # 「过去一年的主要任务」 is no part heading
        return None
    # the year before the report's; a new term's 「过去五年工作回顾」 ends with it too
    return "review", report_year - 1 if report_year else None


def _year_of(kind: Period, report_year: int | None) -> int | None:
    """The year a part without a written year speaks about: the report's own for a plan, the one before for a review."""
    if report_year is None:
        return None
    return report_year if kind == "plan" else report_year - 1


def names_year(text: str) -> bool:
    """Whether a part heading writes its year out (「2024年重点工作」, not 「今年的主要任务」)."""
    rest = _part_text(text) or ""
    when = _WHEN_RE.search(rest)
    return when is not None and when.group("year") is not None and bool(_BEFORE_WHEN_RE.match(rest[: when.start()]))


# --- parts opened by a paragraph ---------------------------------------------------------------
# The report's own year at the very start of a paragraph speaks about the year ahead: 「今年是…之年」,
# 「今年经济社会发展的主要预期目标是」, 「新的一年，重点做好…」, 「做好今年工作…」 (but 「今年以来」 looks back).
_THIS_YEAR_OPENING_RE = re.compile(_RULES.this_year_opening)
# A written year opening a statement about that year: 「2024年是…之年」, 「2024年，」, 「2024年经济社会
# 发展的主要预期目标」; the plan when the year is the report's own or later, the review when earlier.
_YEAR_OPENING_RE = re.compile(_RULES.year_opening)
# Targets announced without a year (a report never announces targets for a year past): 「全市经济社会
# 发展的主要预期目标：」, 「建议全年经济社会发展的主要预期目标为」 — not 「全面完成…预期目标，」.
_TARGETS_OPENING_RE = re.compile(_RULES.targets_opening)
# The coming year's general requirement: 「政府工作的总体要求是」 (the review never states one).
_REQUIREMENT_OPENING_RE = re.compile(_RULES.requirement_opening)
# The year before, at the start of a paragraph: 「过去一年，」「刚刚过去的一年」「一年来，」「过去五年」.
_LAST_YEAR_OPENING_RE = re.compile(_RULES.last_year_opening)


def period_opening(text: str, report_year: int | None) -> tuple[Period, int | None] | None:
    """The part a paragraph's opening words move to, for reports that lack the heading: ``("plan",
    2024)`` for 「今年是…之年」 in a 2024 report, ``("review", 2023)`` for 「过去一年，…」; ``None`` when
    the opening says nothing about the time."""
    if _THIS_YEAR_OPENING_RE.match(text) or _TARGETS_OPENING_RE.match(text) or _REQUIREMENT_OPENING_RE.match(text):
        return "plan", report_year
    if match := _YEAR_OPENING_RE.match(text):
        year = int(match.group(1))
        if report_year is None:
            return None
        return ("plan", year) if year >= report_year else ("review", year)
    if _LAST_YEAR_OPENING_RE.match(text):
        return "review", report_year - 1 if report_year else None
    return None


# --- headings --------------------------------------------------------------------------------


def numbered_rank(text: str) -> int | None:
    """The rank its numbering gives a line (一、 → 1, （一） → 2, 1. → 3, (1) → 4); ``None`` when unnumbered."""
    for rank, pattern in _RANKED:
        if pattern.match(text):
            return rank
    return None


def heading_rank(text: str) -> int | None:
    """The rank of a heading-shaped line (see module docstring); ``None`` for ordinary text."""
    if period_of(text):
        return 0
    return numbered_rank(text)


def is_list_item(text: str, *, in_list: bool = False) -> bool:
    """A numbered line that is an item of a list, not a heading: one sentence at most, that ends as a
    clause does (「1.地区生产总值增长7%左右；」), states a measured figure (「2.一般公共预算收入增长5%。」)
    or follows an item of the same list (``in_list``). A numbered paragraph of several sentences is a
    heading with its text (「（一）坚持党的领导，强化政治担当。旗帜鲜明…」)."""
    if numbered_rank(text) is None or "。" in text.rstrip("。"):
        return False
    return in_list or text.rstrip().endswith(_CLAUSE_ENDS) or any(f.unit for f in figures_in(comparable(text)))


def embedded_heading(text: str) -> str | None:
    """The heading at the start of a long numbered paragraph: 「一、坚持质效优先，经济运行回升向好。工业…」."""
    if heading_rank(text) is None:
        return None
    end = text.find("。")
    if end < 0 and len(text) <= MAX_EMBEDDED_HEADING:
        return text
    if 0 < end <= MAX_EMBEDDED_HEADING:
        return text[:end]
    return text[:MAX_EMBEDDED_HEADING].rstrip("，、；") + "…"


def is_glossary_start(text: str) -> bool:
    """「附件」 / 「名词解释」 / 「…有关词、句及内容的说明」: the notes at the end of a report."""
    return len(text) <= 40 and bool(_GLOSSARY_RE.search(text))


def glossary_term(text: str) -> str | None:
    """「1.P4 “五大行动”：指…」 → 「“五大行动”」."""
    match = _GLOSSARY_TERM_RE.match(text)
    return match.group(1).strip() if match else None


def is_title(text: str) -> bool:
    """The report's own title line (「政府工作报告」, 「2023年苏州市政府工作报告」)."""
    return len(text) <= 24 and bool(_TITLE_RE.match(text))


def plan_year(texts: Iterable[str]) -> int | None:
    """The report's year when no date line or title gives it: the year of the first plan heading
    (「2024年主要任务」), else the year after the first review heading (「2023年工作回顾」)."""
    review: int | None = None
    for text in texts:
        period = period_of(text)
        if period and period[1] is not None:
            if period[0] == "plan":
                return period[1]
            review = review or period[1] + 1
    return review


# --- places ----------------------------------------------------------------------------------
#: Longest division name (「黔东南苗族侗族自治州」 is 10), and a town's stem.
_MAX_DIVISION = 14
_TOWN_STEM = (2, 5)


def divisions_in(name: str) -> list[str] | None:
    """``name`` as the chain of divisions it writes, top first: 「苏州市相城区」 → [苏州市, 相城区],
    「昆山市玉山镇」 → [昆山市, 玉山镇]; ``None`` when it is not one (「委员对市」, 「人民政府」).

    Every division must be in the gazetteer, except that the last may be a town (镇/乡/街道, which
    the gazetteer lacks) with a stem of two to five characters; without gazetteer data a division is
    any name with a known suffix and a stem of one to eight characters."""
    known = division_names()
    chain: list[str] = []
    rest = name
    while rest:
        unit = next((rest[:n] for n in range(min(len(rest), _MAX_DIVISION), 1, -1) if rest[:n] in known), None)
        if unit is None and not known:
            match = re.match(rf"^.{{1,8}}?(?:{'|'.join(DIVISION_SUFFIXES)})", rest)
            unit = match.group(0) if match else None
        if unit is None:
            suffix = next((s for s in TOWN_SUFFIXES if rest.endswith(s)), "")
            town = bool(suffix) and _TOWN_STEM[0] <= len(rest) - len(suffix) <= _TOWN_STEM[1]
            return [*chain, rest] if town else None
        chain.append(unit)
        rest = rest[len(unit) :]
    return chain or None


def region_in(text: str) -> str | None:
    """The divisions that end ``text``, as written: 「年无锡市」 → 无锡市 (a title's leftovers dropped),
    「苏州市相城区」 → 苏州市相城区; ``None`` when no tail of it is a division."""
    for start in range(len(text)):
        if divisions_in(text[start:]):
            return text[start:]
    return None
