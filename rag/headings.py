"""Recognising the heading vocabulary of government work reports.

Ranks, from the top: 0 = a period heading (「2023年工作回顾」, 「二、2024年主要任务」), 1 = 一、,
2 = （一）, 3 = 1. / 1、, 4 = (1). Markdown ``#`` levels are used inconsistently in the reports, so
the numbering, not the number of ``#``, decides the rank.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

Period = Literal["preamble", "review", "plan", "glossary"]

_CN_NUM = "一二三四五六七八九十"
_PERIOD_RE = re.compile(
    rf"^(?:[{_CN_NUM}]+、)?\s*(\d{{4}})\s*年.{{0,10}}?"
    r"(工作回顾|工作总结|回顾|主要任务|目标任务|工作安排|主要工作|工作任务|工作打算)"
)
_REVIEW_WORDS = ("回顾", "总结")
_RANKED = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[）)]")),
    (3, re.compile(r"^\d{1,2}[.、．](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
)
_GLOSSARY_RE = re.compile(r"名词解释|有关词、句及内容的说明|名词注释|附件")
_GLOSSARY_TERM_RE = re.compile(r"^\d{1,2}[.、．]\s*(?:P\s*\d+\s*)?(“[^”]{1,40}”|[^：:，。]{1,30})[：:]")
_TITLE_RE = re.compile(r"^(?:\d{4}年)?.{0,12}政府工作报告$")

#: Longest heading text taken from the start of a paragraph that also carries body text.
MAX_EMBEDDED_HEADING = 60


def period_of(text: str) -> tuple[Period, int] | None:
    """``("review", 2023)`` for 「2023年政府工作回顾」, ``("plan", 2024)`` for 「2024年主要任务」."""
    match = _PERIOD_RE.match(text)
    if not match or len(text) > 40:
        return None
    kind: Period = "review" if any(w in match.group(2) for w in _REVIEW_WORDS) else "plan"
    return kind, int(match.group(1))


def heading_rank(text: str) -> int | None:
    """The rank of a heading-shaped line (see module docstring); ``None`` for ordinary text."""
    if period_of(text):
        return 0
    for rank, pattern in _RANKED:
        if pattern.match(text):
            return rank
    return None


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
    """The year of the first plan heading: the report's year when no date line survives."""
    for text in texts:
        period = period_of(text)
        if period and period[0] == "plan":
            return period[1]
    return None
