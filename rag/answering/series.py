"""Series: one figure over the years the library states it (「清苑区历年地区生产总值增速」「近五年一般公共
预算收入」).

Each year is a side of its own — the asked place in that year — answered like a single fact from that
year's passages (:func:`rag.answering.figures.asked_figure`): the figure of what is asked, of the year
the passage *describes* (a report delivered in 2024 reviews 2023), of the place itself (not 「全市」). A
year without such a figure is a gap and shown as one. The answer is a table (:class:`Row` per year,
figure, unit, report, citation) and a line composed from it:

    清苑区地区生产总值增长：2021年6.5%[1]；2022年（报告未载）；2023年5.5%[2]。
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace

from rag.answering.figures import StatedFigure, asked_figure, stated_figures
from rag.reading.chunking import Chunk
from rag.retrieval.query import QueryIntent
from rag.text.gazetteer import same_place
from rag.text.lexicon import lexicon

_ASKS_SERIES_RE = re.compile(lexicon().figures.asks_series)
_SINCE_RE = re.compile(lexicon().figures.since)
_ASKS_SPAN_FIGURE_RE = re.compile(lexicon().figures.asks_span_figure)
_PLAN_PERIOD_RE = re.compile(lexicon().query.plan_period)
#: Rows at most in one series (a library of 25 years of one place is the most we expect).
MAX_ROWS = 30


def asks_for_series(question: str, intent: QueryIntent) -> bool:
    """Whether the question asks for a figure over several years: a span (「2019到2023年」「近五年」) or
    a word for every year (「历年」「逐年」「走势」) — not one figure of the span, its average or total
    (「这五年经济每年平均涨了多少」), nor a five-year plan's period named without such a word (「“十四五”
    期间…目标」 asks for what that plan states)."""
    if _ASKS_SPAN_FIGURE_RE.search(question):
        return False
    if _ASKS_SERIES_RE.search(question):
        return True
    return intent.years is not None and not _PLAN_PERIOD_RE.search(question)


@dataclass(frozen=True)
class Row:
    """One year of a series: the figure the library states for it, or a gap (``figure`` is ``None``)."""

    year: int
    figure: StatedFigure | None

    def to_dict(self) -> dict[str, object]:
        f = self.figure
        if f is None:
            return {"year": self.year, "value": None, "unit": None, "text": None, "measures": None, "kind": None,
                    "citation": None, "source": None}  # fmt: skip
        return {"year": self.year, "value": f.value, "unit": f.unit, "text": f.stated, "measures": f.measures,
                "kind": f.kind, "citation": f.citation, "source": f.source}  # fmt: skip


@dataclass(frozen=True)
class Series:
    place: str | None
    rows: tuple[Row, ...]
    text: str

    def table(self) -> list[dict[str, object]]:
        return [row.to_dict() for row in self.rows]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def series_years(intent: QueryIntent, covered: Collection[int]) -> list[int]:
    """The years a series may have rows for: the asked span's, else every year the library covers for
    the place; at most :data:`MAX_ROWS`, the latest."""
    years = sorted(covered)
    if intent.years is not None:
        first, last = intent.years
        years = [y for y in years if first <= y <= last]
    elif (since := _SINCE_RE.search(intent.text)) is not None:  # 「2019年以来每年…」
        years = [y for y in years if y >= int(since.group(1))]
    return years[-MAX_ROWS:]


def build_series(
    question: str,
    intent: QueryIntent,
    by_year: Sequence[tuple[int, Sequence[Chunk], int]],
    ignore: Collection[str],
    *,
    other: Sequence[Chunk] = (),
) -> Series | None:
    """The series from each year's passages (``(year, chunks, number of the first)``: passage numbers
    run on across years), and from ``other`` passages of the place (numbered on after them) the
    figures whose sentence names their year (a five-year review's 「从2015年的87.55亿元增长到…」), for years
    no passage of their own states; ``None`` when no year states a figure of what is asked."""
    rows: dict[int, Row] = {}
    everything = [*(c for _, chunks, _ in by_year for c in chunks), *other]
    for year, chunks, first in by_year:
        side = QueryIntent(question, intent.region, year, None)
        found = asked_figure(question, side, chunks, ignore)
        rows[year] = Row(year, _renumbered(found, first) if found is not None else None)
    years = set(rows) | _named_years(question, intent, everything, ignore)
    for year in sorted(years):
        if rows.get(year) is None or rows[year].figure is None:
            side = QueryIntent(question, intent.region, year, None)
            found = asked_figure(question, side, everything, ignore, any_year=True)
            rows[year] = Row(year, found)  # numbered in ``everything``: by_year's chunks, then ``other``
    if intent.years is not None:
        rows = {y: r for y, r in rows.items() if intent.years[0] <= y <= intent.years[1]}
    elif (since := _SINCE_RE.search(intent.text)) is not None:
        rows = {y: r for y, r in rows.items() if y >= int(since.group(1))}
    ordered = _one_kind([rows[y] for y in sorted(rows)])
    stated = [i for i, row in enumerate(ordered) if row.figure is not None]
    if not stated:
        return None
    ordered = ordered[stated[0] : stated[-1] + 1]  # gaps inside the span the library states, not around it
    return Series(intent.region, tuple(ordered), _line(intent.region, ordered))


def _named_years(question: str, intent: QueryIntent, chunks: Sequence[Chunk], ignore: Collection[str]) -> set[int]:
    """Years the passages' sentences name for a figure of what is asked (「2015年的87.55亿元」)."""
    years: set[int] = set()
    for chunk in chunks:
        for stated in stated_figures([chunk]):
            if stated.named_year and stated.year is not None and not stated.span and same_place(stated.place, intent.region):
                years.add(stated.year)
    return years


def _one_kind(rows: list[Row]) -> list[Row]:
    """The rows of the unit kind most rows have (the first such row's on a tie); a year whose figure
    is of another kind (a growth rate among amounts) is a gap: it is not the same series."""
    kinds = [row.figure.unit_kind for row in rows if row.figure is not None]
    if not kinds:
        return rows
    common = max(kinds, key=lambda k: (kinds.count(k), -kinds.index(k)))
    return [row if row.figure is None or row.figure.unit_kind == common else Row(row.year, None) for row in rows]


def _renumbered(figure: StatedFigure, first: int) -> StatedFigure:
    return replace(figure, citation=(figure.citation or 1) + first - 1)


def _line(place: str | None, rows: Sequence[Row]) -> str:
    """「清苑区地区生产总值增长：2021年6.5%[1]；2022年（报告未载）；2023年5.5%[2]。」 The head names what
    the first row that is no fall measures; a year stated as a fall says its word (「2020年下降1.2%」), a
    year whose report names the place otherwise (renamed since) that name (「2012年（徐水县）139.5亿元」)."""
    stated = [row.figure for row in rows if row.figure is not None]
    named = next((f for f in stated if not f.fall), stated[0])
    measures = named.measures
    head = f"{place or ''}{measures}" if place and not measures.startswith(place) else measures
    parts = []
    for row in rows:
        f = row.figure
        if f is None:
            parts.append(f"{row.year}年（报告未载）")
            continue
        value = f.stated if f.fall == named.fall else f.said
        called = f"（{f.place}）" if place and f.place and f.place != place else ""  # its report's name: 徐水县 before 2015
        parts.append(f"{row.year}年{called}{value}[{f.citation}]")
    return f"{head}：{'；'.join(parts)}。"
