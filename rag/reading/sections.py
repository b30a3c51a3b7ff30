"""Splitting a cleaned report into sections along its own heading hierarchy.

Each section knows its heading path, the part of the report it belongs to (preamble, review of the
past year, plan for the report's year, glossary) and which year it speaks about: from the part
headings (「2023年工作回顾」, 「今年的主要任务」) where the report has them, else from the opening words
of the paragraph where it turns to the coming year (「今年是…之年」, 「…主要预期目标是」) or, right
after its opening, to the past one (「过去一年，…」) — the review comes before the targets.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from rag.reading.documents import Paragraph, Report
from rag.reading.headings import (
    Period,
    embedded_heading,
    glossary_term,
    is_glossary_start,
    is_list_item,
    is_title,
    names_year,
    numbered_rank,
    period_of,
    period_opening,
)
from rag.text.normalize import CELL_SEPARATOR

logger = logging.getLogger(__name__)

#: An unnumbered standalone line this short, with no punctuation, inside the body is a heading
#: (「加强政府自身建设」).
MAX_BARE_HEADING = 16
_PUNCT_RE = re.compile(r"[，。：；！？、,.;:!?]")
#: Paragraphs before the first period heading that make a leading, headless review (a continuation page).
MIN_HEADLESS_REVIEW = 3


@dataclass
class Section:
    """A run of paragraphs under one heading path."""

    report: Report
    path: list[str]
    period: Period
    year: int | None
    paragraphs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Section body; a substring of ``report.text`` because its paragraphs are consecutive there."""
        return "\n\n".join(self.paragraphs)

    @property
    def heading(self) -> str:
        return " > ".join(self.path)


@dataclass
class _State:
    period: Period = "preamble"
    year: int | None = None
    stack: list[tuple[int, str]] = field(default_factory=list)


def _part_name(kind: Period, year: int | None) -> str:
    """The heading of a part the report does not head itself (a continuation page, targets without a heading)."""
    when = f"{year}年" if year else ""
    return f"{when}工作回顾" if kind == "review" else f"{when}目标任务"


def _turns_to(state: _State, kind: Period, year: int | None) -> bool:
    """Whether a paragraph's opening words move the report to another part: only forward, from the
    preamble to the review or the plan, from the review to the plan, from a plan of several years
    (「今后五年」) to the report's year; never inside the plan or the glossary."""
    if kind == "review":
        return state.period == "preamble"
    return state.period in ("preamble", "review") or (state.period == "plan" and state.year is None and year is not None)


def _is_bare_heading(paragraph: Paragraph) -> bool:
    text = paragraph.text
    return (
        len(text) <= MAX_BARE_HEADING
        and not _PUNCT_RE.search(text)
        and not text.startswith("——")
        and CELL_SEPARATOR not in text  # a table row (「总量 | 比上年增长」) is no heading
    )


def split_sections(report: Report) -> list[Section]:
    """Split ``report`` into sections (see module docstring). Sections without text are dropped."""
    paragraphs = report.paragraphs
    state = _State(year=report.year)
    sections: list[Section] = []
    seen_period = False

    def open_section() -> Section:
        section = Section(report, [h for _, h in state.stack], state.period, state.year)
        sections.append(section)
        return section

    titles = [is_title(p.text) for p in paragraphs]
    periods = [None if titled else period_of(p.text, report.year) for p, titled in zip(paragraphs, titles, strict=True)]
    # A continuation page (report 000) starts inside the review of the previous year, without its heading.
    body = [(p, period) for p, period, titled in zip(paragraphs, periods, titles, strict=True) if not titled]
    first_period = next((i for i, (_, period) in enumerate(body) if period), None)
    if first_period is not None and first_period >= MIN_HEADLESS_REVIEW:
        kind, year = body[first_period][1]  # type: ignore[misc]
        opens_speech = any(p.text.startswith("各位代表") for p, _ in body[:MIN_HEADLESS_REVIEW])
        has_review = any(p and p[0] == "review" for p in periods)
        if kind == "plan" and year is not None and not opens_speech and not has_review:
            state.period, state.year = "review", year - 1
            state.stack = [(0, _part_name("review", year - 1))]

    current = open_section()
    list_rank: int | None = None  # the numbering rank of the list item just read
    for paragraph, period, titled in zip(paragraphs, periods, titles, strict=True):
        text = paragraph.text
        if titled:  # the report's title is no passage; one further down (a web page's link 「图解：2025年…
            # 政府工作报告」) ends the section it interrupts, as sections are runs of consecutive paragraphs
            if current.paragraphs:
                current = open_section()
            continue
        continues_list, list_rank = list_rank, None
        # A part heading that neither names its year nor changes the part (「一、聚焦重点任务」 inside
        # the plan) is an ordinary heading of that part.
        demoted = period is not None and period == (state.period, state.year) and not names_year(text)
        if period is not None and not demoted:
            seen_period = True
            state.period, state.year = period
            state.stack = [(0, text)]
            current = open_section()
            continue
        if is_glossary_start(text) and (paragraph.heading or len(text) <= 40):
            if state.period != "glossary":
                state.period, state.year, state.stack = "glossary", None, []
            state.stack.append((1, text))
            current = open_section()
            continue
        if state.period == "glossary" and (term := glossary_term(text)):
            state.stack = [s for s in state.stack if s[0] < 2] + [(2, term)]
            current = open_section()
            current.paragraphs.append(text)
            continue

        rank = numbered_rank(text)
        if rank is not None and is_list_item(text, in_list=rank == continues_list):
            # 「1.地区生产总值增长7%左右；」 … 「9.…完成下达的目标任务。」: a list's items are text of the
            # section they are in, not headings (a heading with nothing under it would lose them)
            current.paragraphs.append(text)
            list_rank = rank
            continue
        opening = period_opening(text, report.year) if rank is None and not demoted else None
        if opening is not None and _turns_to(state, *opening):
            # the heading just opened, with nothing under it yet, heads the new part; else the part
            # gets a heading of its own, not the old part's (「2023年工作回顾 > （七）…」)
            seen_period = True
            state.period, state.year = opening
            if current.paragraphs or not state.stack or state.stack[-1][0] != 1:
                state.stack = [(0, _part_name(*opening))]
            else:
                state.stack = state.stack[-1:]
            if current.paragraphs:
                current = open_section()
            else:
                current.path, current.period, current.year = [h for _, h in state.stack], state.period, state.year

        standalone = paragraph.heading or (rank is not None and embedded_heading(text) == text.rstrip("。"))
        if rank is None and (demoted or (seen_period and (paragraph.heading or _is_bare_heading(paragraph)))):
            rank, standalone = 1, True
        if rank is None and paragraph.lead:
            rank, standalone = 5, False
        if rank is None:
            current.paragraphs.append(text)
            continue

        title = text.rstrip("。") if standalone else (paragraph.lead if rank == 5 else embedded_heading(text))
        state.stack = [s for s in state.stack if s[0] < rank] + [(rank, title or text)]
        current = open_section()
        if not standalone:
            current.paragraphs.append(text)

    kept = [s for s in sections if s.paragraphs]
    logger.debug("%s: %d sections", report.source, len(kept))
    return kept
