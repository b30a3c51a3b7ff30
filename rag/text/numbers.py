"""Figures as reports and answers state them: Arabic or Chinese numerals, with their units.

「189.4亿元」, 「803.9万标箱」, 「3.5万千瓦」, 「三座」, 「居全省第三」, 「百分之五」 are all figures. Chinese
numerals are rewritten to Arabic ones first (:func:`arabize`, with cn2an), so 「三座」 in a passage
supports 「3座」 in an answer and the other way round; everything else compares Arabic figures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import cn2an

from rag.text.lexicon import lexicon
from rag.text.normalize import squash

logger = logging.getLogger(__name__)

#: The module's words (rag/text/lexicon/numbers.toml, where each is explained).
_RULES = lexicon().numbers

#: What multiplies a number (「1.2万亿元」 = 1.2 × 万亿 × 元), longest first.
MULTIPLIERS = _RULES.multipliers
#: Measure words and units a figure can carry; multipliers combine with each (万千瓦, 亿斤, 万人次).
MEASURES = list(_RULES.measures)
#: A unit: an optional multiplier, then a measure word (the longest that fits).
_MEASURED = (
    "(?:"
    + "|".join(re.escape(m) for m in MULTIPLIERS)
    + ")?(?:"
    + "|".join(re.escape(u) for u in sorted(MEASURES, key=len, reverse=True))
    + ")"
)
_UNIT = _MEASURED + "|" + "|".join(re.escape(m) for m in MULTIPLIERS)
_UNIT_RE = re.compile(f"(?:{_UNIT})")
_NUMBER_RE = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(" + _UNIT + ")?")
_YEAR_RE = re.compile(r"^(?:19|20)\d{2}$")

#: A run of Chinese numeral characters (「三」, 「一百零五」, 「十二点五」, 「两」); it needs a digit
#: (「万人」 is no number), and a lone 一 (「一批」「一个」) states no figure.
_CN_DIGIT = "〇一二两三四五六七八九十"
_CN_DIGITS = "零" + _CN_DIGIT + "百千万亿点"
_CN_RUN = f"[{_CN_DIGITS}]+"
#: Where a run of Chinese numerals is a figure: a rank (第三), a percentage (百分之五), or a count
#: followed by its measure word (三座, 两万人次). Elsewhere (一般, 十四五, 三农) it is part of a word.
_CN_FIGURE_RE = re.compile(rf"(?P<rank>第)(?P<r>{_CN_RUN})|百分之(?P<p>{_CN_RUN})|(?P<c>{_CN_RUN}?)(?={_MEASURED})")


def is_unit(word: str) -> bool:
    """「亿元」, 「万人次」, 「%」: a unit, which says how a figure is counted, not what it measures."""
    return bool(_UNIT_RE.fullmatch(word))


@lru_cache(maxsize=4096)
def cn_number(run: str) -> str | None:
    """「一百零五」 → 「105」, 「十二点五」 → 「12.5」; ``None`` when the run is no number (「五六」 is
    "five or six", 「二〇二三」 a year)."""
    if len(run) > 1 and not any(c in "十百千万亿点零" for c in run):
        return None
    try:
        value = cn2an.cn2an(run, "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _arabic(match: re.Match[str]) -> str:
    if match.group("r"):
        number = cn_number(match.group("r"))
        return f"第{number}" if number else match.group(0)
    if match.group("p"):
        number = cn_number(match.group("p"))
        return f"{number}%" if number else match.group(0)
    run = match.group("c")
    if run == "一" or not any(c in _CN_DIGIT for c in run):
        return run
    number = cn_number(run)
    return number if number else run


def arabize(text: str) -> str:
    """``text`` with its Chinese-numeral figures in Arabic digits: 「建成三座」 → 「建成3座」."""
    if not any(c in _CN_DIGITS for c in text):
        return text
    return _CN_FIGURE_RE.sub(_arabic, text)


def comparable(text: str) -> str:
    """Text as figures are compared in it: NFKC digits, no whitespace, no thousands separators,
    ASCII %, Chinese numerals in Arabic."""
    return arabize(squash(text)).replace(",", "").replace("％", "%")


@dataclass(frozen=True)
class Figure:
    """A number as the answer states it, with its unit when it has one (「189.4亿元」)."""

    number: str
    unit: str

    @property
    def text(self) -> str:
        return f"{self.number}{self.unit}"


def figures_in(clean: str) -> list[Figure]:
    """Numbers stated in already :func:`comparable` text (bare years like 「2023年」 and note markers like
    「[1]」 excluded)."""
    found: list[Figure] = []
    for match in _NUMBER_RE.finditer(clean):
        number, unit = match.group(1), match.group(2) or ""
        if _YEAR_RE.match(number) and (unit == "" or clean[match.end() : match.end() + 1] == "年"):
            continue
        if not unit and clean[match.start() - 1 : match.start()] == "[" and clean.startswith("]", match.end()):
            continue  # a report's note marker (「完成地方生产总值[1]202亿元」), no figure
        figure = Figure(number.replace(",", ""), unit)
        if figure not in found:
            found.append(figure)
    return found


def occurrences(figure: Figure, body: str) -> Iterator[re.Match[str]]:
    """Where ``body`` (:func:`comparable` text) states the figure's number, not as part of a longer one."""
    return re.finditer(rf"(?<![\d.]){re.escape(figure.number)}(?![\d]|\.\d)", body)


def stated_at(figure: Figure, body: str) -> Iterator[re.Match[str]]:
    """Where :func:`comparable` ``body`` states the number with the figure's unit (or any unit when the
    figure has none). 「3.5万千瓦」 matches 「3.5万千瓦」, not 「3.5亿元」."""
    return (m for m in occurrences(figure, body) if not figure.unit or body.startswith(figure.unit, m.end()))


def states(figure: Figure, body: str) -> bool:
    """Whether :func:`comparable` ``body`` states the number with the figure's unit (:func:`stated_at`)."""
    return next(stated_at(figure, body), None) is not None


#: Which units answer which kind of question (「多少吨」 → 吨; 收入/多少钱 → 元; 比重/增长 → %).
UNIT_KINDS: dict[str, tuple[str, ...]] = _RULES.unit_kinds


def unit_kind(unit: str) -> str | None:
    """The kind of a unit, multipliers aside: 「亿元」 → money, 「万人次」 → people, 「万件」 → 件 (a
    measure word of no wider kind is its own); ``None`` for no unit."""
    for multiplier in MULTIPLIERS:
        if unit.startswith(multiplier) and len(unit) > len(multiplier):
            unit = unit[len(multiplier) :]
            break
    if unit in MULTIPLIERS or not unit:
        return None
    return next((kind for kind, units in UNIT_KINDS.items() if unit in units), unit)


#: Kinds that measure an amount (money, shares, area, weight, energy, time, people) rather than count
#: things: 「多少个」 never asks for one of them.
AMOUNT_KINDS = frozenset(_RULES.amount_kinds)


def fits_kind(unit: str, kind: str | None) -> bool:
    """Whether a figure of ``unit`` can answer a question asking for unit ``kind`` (any when ``None``):
    the same kind, or for 个 — the measure word that stands in for any other (「发了多少个包裹」 of
    「快递业务量130.6亿件」) — a count of things of any measure word."""
    found = unit_kind(unit)
    if kind is None or found == kind:
        return True
    return kind == "个" and found is not None and found not in AMOUNT_KINDS


#: 「多少件」「几座」「多少万千瓦」: the question names the measure word of its answer.
ASKED_MEASURE_RE = re.compile(
    r"(?:多少|几)(?:万|亿)?(" + "|".join(re.escape(u) for u in sorted(MEASURES, key=len, reverse=True)) + ")"
)
