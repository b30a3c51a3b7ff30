"""Comparisons computed, never asserted.

A question that compares two years, two places, or a target with a result (「2024年生产总值增速与2023年
相比」) is split into its sides by retrieval (:attr:`rag.retrieval.retrieve.SearchResult.sides`). Each side
is answered like a single fact: the first passage sentence of that side's place, year and period that
states a figure of what is asked (:func:`rag.answering.figures.asked_figure`). The comparison — higher or
lower, the difference in 个百分点 or in the unit — is computed here from the two figures and worded by a
template:

    2024年地区生产总值增长5.4%[1]，2023年地区生产总值增长5.5%[2]；2024年比2023年低0.1个百分点。

A side no passage states is named as missing, with no verdict. :func:`claims_against` is the check the
model's answers get: a comparative word (高于, 更快, 是高…) needs two cited figures that agree with it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rag.answering.figures import StatedFigure, asked_figure, worded
from rag.answering.terms import asked_terms, known
from rag.reading.chunking import Chunk
from rag.retrieval.query import QueryIntent, asks_plan_vs_actual
from rag.text.lexicon import lexicon

_RULES = lexicon().figures
_ASKS_COMPARE_RE = re.compile(_RULES.asks_compare)
_CLAIM_RE = re.compile(_RULES.comparative_claim)
#: Words of a claim that the first-named figure is the larger (the rest claim it is the smaller).
_UP = ("高", "快", "多", "超", "大")
_DOWN = ("低", "慢", "少", "不及", "不如", "小")


def asks_to_compare(question: str) -> bool:
    """Whether the question asks how two figures compare (「与2023年相比」「哪个高」), not just for both."""
    return bool(_ASKS_COMPARE_RE.search(question))


@dataclass(frozen=True)
class Comparison:
    """Both sides' figures (``None`` where no passage states one) and the composed answer line."""

    sides: tuple[QueryIntent, ...]
    figures: tuple[StatedFigure | None, ...]
    text: str

    @property
    def complete(self) -> bool:
        return all(f is not None for f in self.figures)


def compare(question: str, sides: Sequence[QueryIntent], chunks: Sequence[Chunk], ignore: Collection[str]) -> Comparison | None:
    """The comparison of two sides from ``chunks`` (passage numbers are their positions from 1);
    ``None`` when neither side is found, or the question has not exactly two sides."""
    if len(sides) != 2:
        return None
    found = tuple(_side_figure(question, side, chunks, ignore, len(sides)) for side in sides)
    if not any(found):
        return None
    labels = _labels(sides, found)
    if not all(found):
        return Comparison(tuple(sides), found, _one_missing(question, sides, found, labels, ignore))
    first, second = found
    assert first is not None and second is not None
    stated = "，".join(worded(f, label) for label, f in zip(labels, found, strict=True) if f is not None)
    verdict = verdict_of(first, second, labels)
    text = f"{stated}；{verdict}。" if verdict else f"{stated}。"
    return Comparison(tuple(sides), found, text)


def _side_figure(
    question: str, side: QueryIntent, chunks: Sequence[Chunk], ignore: Collection[str], count: int
) -> StatedFigure | None:
    # a side may ask only what its part of the question asks (「2022年新增就业人数和2023年的城镇新增就业
    # 目标比」: 城镇 only of 2023): that part first, when it names what is asked, then the whole question
    asks = [side.text] if count > 1 and side.text != question and any(map(known, asked_terms(side.text, ignore))) else []
    return asked_figure(question, side, chunks, ignore, asks=asks)


def _labels(sides: Sequence[QueryIntent], found: Sequence[StatedFigure | None]) -> list[str]:
    """How the answer names each side: its year where the years differ, its place where the places
    differ, 「目标」/「实际」 where a target meets a result of the same year and place."""
    labels = ["", ""]
    years = [s.year for s in sides]
    places = [s.region for s in sides]
    for i, side in enumerate(sides):
        parts = []
        if places[0] != places[1] and side.region:
            parts.append(side.region)
        if years[0] != years[1] and side.year:
            parts.append(f"{side.year}年")
        if not parts:
            figure = found[i]
            parts.append("目标" if (figure and figure.kind == "target") or side.period == "plan" else "实际")
        labels[i] = "".join(parts)
    return labels


def verdict_of(first: StatedFigure, second: StatedFigure, labels: Sequence[str]) -> str | None:
    """「2024年比2023年低0.1个百分点」, 「两者持平」; ``None`` when the two cannot be compared (other
    units: 亿元 and %)."""
    a, b = first.amount(), second.amount()
    if a is None or b is None or a[1] != b[1] or first.unit_kind != second.unit_kind:
        return None
    difference = a[0] - b[0]
    if difference == 0:
        # 「6%以上」 and 「6%左右」 are bounds of the same value: neither is known to be the higher
        return "两者持平" if not (first.qualifier or second.qualifier) else None
    share = first.unit_kind == "share"
    words = ("高", "低") if share else ("多", "少")
    word = words[0] if difference > 0 else words[1]
    return f"{labels[0]}比{labels[1]}{word}{_amount_text(abs(difference), first, share)}"


def _amount_text(difference: Decimal, like: StatedFigure, share: bool) -> str:
    """A difference in the first figure's unit: percentage points for shares, else 亿元/万人… as it has."""
    if share:
        unit = "个百分点" if like.unit == "%" else like.unit
        return f"{_plain(difference)}{unit}"
    whole = like.amount()
    assert whole is not None
    factor = abs(whole[0] / Decimal(like.value)) if Decimal(like.value) else Decimal(1)  # a fall's amount is below zero
    return f"{_plain(difference / factor)}{like.unit}"


def _plain(value: Decimal) -> str:
    """A decimal as written in a report: no exponent, no trailing zeros, at most four places."""
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


def _one_missing(
    question: str,
    sides: Sequence[QueryIntent],
    found: Sequence[StatedFigure | None],
    labels: Sequence[str],
    ignore: Collection[str],
) -> str:
    """「报告中未找到2023年的该项数据；2024年地区生产总值增长5.4%[1]。无法比较。」"""
    missing = [labels[i] or "另一方" for i, f in enumerate(found) if f is None]
    stated = [worded(f, labels[i]) for i, f in enumerate(found) if f is not None]
    cannot = "，无法比较" if asks_to_compare(question) or asks_plan_vs_actual(question) else ""
    return f"报告中未找到{'、'.join(missing)}的相应数据{cannot}；{'，'.join(stated)}。"


def claims_against(text: str, figures: Sequence[StatedFigure]) -> str | None:
    """Why a comparative claim of ``text`` is not backed (``None`` when every claim is): a claim
    (「高于」「更快」「是高」) needs two stated figures of the same kind whose order agrees with it —
    the first figure the text names is the side its claim is about."""
    claim = _CLAIM_RE.search(text)
    if claim is None:
        return None
    if len(figures) < 2:
        return f"the claim 「{claim.group()}」 is not backed by two cited figures"
    a, b = figures[0].amount(), figures[1].amount()
    if a is None or b is None or a[1] != b[1]:
        return f"the claim 「{claim.group()}」 compares figures of different units"
    word = claim.group()
    if any(w in word for w in ("持平", "相当")):
        return None if a[0] == b[0] else f"the claim 「{word}」 contradicts {figures[0].text} vs {figures[1].text}"
    up = any(w in word for w in _UP) and not any(w in word for w in _DOWN)
    if (a[0] > b[0]) != up or a[0] == b[0]:
        return f"the claim 「{word}」 contradicts {figures[0].text} vs {figures[1].text}"
    return None
