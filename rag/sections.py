"""Splitting a cleaned report into sections along its own heading hierarchy.

Each section knows its heading path, the part of the report it belongs to (preamble, review of the
past year, plan for the report's year, glossary) and which year it speaks about.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from rag.documents import Paragraph, Report
from rag.headings import (
    Period,
    embedded_heading,
    glossary_term,
    heading_rank,
    is_glossary_start,
    is_title,
    period_of,
)

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


def _is_bare_heading(paragraph: Paragraph) -> bool:
    text = paragraph.text
    return len(text) <= MAX_BARE_HEADING and not _PUNCT_RE.search(text) and not text.startswith("——")


def split_sections(report: Report) -> list[Section]:
    """Split ``report`` into sections (see module docstring). Sections without text are dropped."""
    paragraphs = [p for p in report.paragraphs if not is_title(p.text)]
    state = _State(year=report.year)
    sections: list[Section] = []
    seen_period = False

    def open_section() -> Section:
        section = Section(report, [h for _, h in state.stack], state.period, state.year)
        sections.append(section)
        return section

    # A continuation page (report 000) starts inside the review of the previous year, without its heading.
    first_period = next((i for i, p in enumerate(paragraphs) if period_of(p.text)), None)
    if first_period is not None and first_period >= MIN_HEADLESS_REVIEW:
        kind, year = period_of(paragraphs[first_period].text)  # type: ignore[misc]
        opens_speech = any(p.text.startswith("各位代表") for p in paragraphs[:MIN_HEADLESS_REVIEW])
        has_review = any((period_of(p.text) or ("",))[0] == "review" for p in paragraphs)
        if kind == "plan" and not opens_speech and not has_review:
            state.period, state.year = "review", year - 1
            state.stack = [(0, f"{year - 1}年工作回顾")]

    current = open_section()
    for paragraph in paragraphs:
        text = paragraph.text
        period = period_of(text)
        if period is not None:
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

        rank = heading_rank(text)
        standalone = paragraph.heading or (rank is not None and embedded_heading(text) == text.rstrip("。"))
        if rank is None and seen_period and (paragraph.heading or _is_bare_heading(paragraph)):
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
